/*
 * A busy multi-threaded workload for the trigger tests (signal, interval,
 * atomic files). Output depends only on the program, never on timing, pids
 * or addresses, so a plain run and a profiled run print the same.
 *
 *   trigger_busy busy [THREADS]
 *       Prints "busy: started", runs THREADS (default 8) threads that
 *       malloc/realloc/free continuously and hand every 16th block to the next
 *       thread, which frees it (cross-thread frees), until stdin reaches EOF;
 *       then stops them, checks every block's contents and prints the result.
 *       Exit status 0, or 1 if a block was corrupted.
 *   trigger_busy own-handler
 *       Installs its own SIGUSR2 handler, prints "own: started", waits for
 *       EOF on stdin and prints whether its handler ran. Exit status 0.
 *   trigger_busy tags N THREADS
 *       Like busy, but first allocates under N different tags (so each
 *       stats.json is large) and the threads keep switching among them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <heapprof.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 32
#define WINDOW 256
#define HANDOFF 512

struct handoff {
    pthread_mutex_t lock;
    unsigned char *slot[HANDOFF];
    size_t len[HANDOFF];
    int n;
};

static struct handoff queues[MAX_THREADS];
static int nthreads = 8, ntags;
static atomic_int stop, corrupt;

static uint64_t rng(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Blocks carry a pattern derived from their length; checked before free. */
static unsigned char *fill(size_t len) {
    unsigned char *p = malloc(len);
    if (!p) return NULL;
    memset(p, (int)(len & 0xff), len);
    return p;
}

static void check_free(unsigned char *p, size_t len) {
    if (!p) return;
    if (p[0] != (unsigned char)(len & 0xff) || p[len - 1] != (unsigned char)(len & 0xff) ||
        p[len / 2] != (unsigned char)(len & 0xff))
        atomic_store(&corrupt, 1);
    free(p);
}

static void tag_name(char *buf, size_t cap, int i) {
    snprintf(buf, cap, "trigger-tag-%05d", i);
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    unsigned char *blk[WINDOW] = {0};
    size_t len[WINDOW] = {0};
    struct handoff *next = &queues[(id + 1) % nthreads], *mine = &queues[id];
    unsigned long iter = 0;
    char tag[64];
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        if (ntags && heapprof_available() && iter % 64 == 0) {
            tag_name(tag, sizeof tag, (int)(rng(&s) % (uint64_t)ntags));
            heapprof_tag_set(tag);
        }
        int k = (int)(rng(&s) % WINDOW);
        uint64_t r = rng(&s);
        size_t want = (r % 8 == 0) ? 4096 + (size_t)(r >> 8) % 60000 : 16 + (size_t)(r >> 8) % 500;
        if (blk[k] && r % 5 == 0) {
            /* realloc keeps the prefix; refill so the pattern matches the new length */
            unsigned char *p = realloc(blk[k], want);
            if (p) {
                memset(p, (int)(want & 0xff), want);
                blk[k] = p;
                len[k] = want;
            }
        } else if (blk[k] && iter % 16 == 0) {
            pthread_mutex_lock(&next->lock);
            if (next->n < HANDOFF) {
                next->slot[next->n] = blk[k];
                next->len[next->n] = len[k];
                next->n++;
                blk[k] = NULL;
            }
            pthread_mutex_unlock(&next->lock);
            if (blk[k]) check_free(blk[k], len[k]);
            blk[k] = fill(want);
            len[k] = want;
        } else {
            check_free(blk[k], len[k]);
            blk[k] = fill(want);
            len[k] = want;
        }
        if (iter % 32 == 0) { /* free what the previous thread handed over */
            unsigned char *take[HANDOFF];
            size_t tlen[HANDOFF];
            int n;
            pthread_mutex_lock(&mine->lock);
            n = mine->n;
            memcpy(take, mine->slot, sizeof take[0] * (size_t)n);
            memcpy(tlen, mine->len, sizeof tlen[0] * (size_t)n);
            mine->n = 0;
            pthread_mutex_unlock(&mine->lock);
            for (int i = 0; i < n; i++)
                check_free(take[i], tlen[i]);
        }
        iter++;
    }
    for (int i = 0; i < WINDOW; i++)
        check_free(blk[i], len[i]);
    return NULL;
}

static void wait_stdin_eof(void) {
    char buf[256];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0) return;
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
    }
}

static int busy(void) {
    if (ntags && heapprof_available()) {
        char tag[64];
        for (int i = 0; i < ntags; i++) {
            tag_name(tag, sizeof tag, i);
            heapprof_tag_push(tag);
            free(fill(100 + (size_t)i % 300));
            heapprof_tag_pop();
        }
    }
    for (int i = 0; i < nthreads; i++)
        pthread_mutex_init(&queues[i].lock, NULL);
    pthread_t th[MAX_THREADS];
    for (int i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    printf("busy: started %d threads\n", nthreads);
    fflush(stdout);
    wait_stdin_eof();
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < nthreads; i++)
        for (int j = 0; j < queues[i].n; j++)
            check_free(queues[i].slot[j], queues[i].len[j]);
    printf("busy: stopped, blocks %s\n", atomic_load(&corrupt) ? "CORRUPTED" : "intact");
    return atomic_load(&corrupt) ? 1 : 0;
}

static volatile sig_atomic_t own_calls;
static void own_handler(int sig) {
    (void)sig;
    own_calls++;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "busy";
    if (!strcmp(mode, "busy")) {
        if (argc > 2) nthreads = atoi(argv[2]);
        if (nthreads < 1 || nthreads > MAX_THREADS) nthreads = 8;
        return busy();
    }
    if (!strcmp(mode, "tags") && argc > 3) {
        ntags = atoi(argv[2]);
        nthreads = atoi(argv[3]);
        if (nthreads < 1 || nthreads > MAX_THREADS) nthreads = 8;
        return busy();
    }
    if (!strcmp(mode, "own-handler")) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = own_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR2, &sa, NULL);
        printf("own: started\n");
        fflush(stdout);
        unsigned long sum = 0;
        for (int i = 0; i < 1000; i++) {
            char *p = malloc(100 + (size_t)i);
            sum += (unsigned long)(p != NULL);
            free(p);
        }
        wait_stdin_eof();
        printf("own: %lu allocations, handler ran: %s\n", sum, own_calls > 0 ? "yes" : "no");
        return 0;
    }
    fprintf(stderr, "usage: %s busy [THREADS] | own-handler | tags N THREADS\n", argv[0]);
    return 2;
}

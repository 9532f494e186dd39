/*
 * Allocation micro-workloads for bench/run.sh. One binary, one workload per
 * sub-command; each takes a scale factor (1.0 = the size used for the
 * committed results, about 0.5-3 s under glibc on a 2-core machine):
 *
 *   workloads churn    SCALE   small-object churn, one thread
 *   workloads prodcons SCALE   producer/consumer threads, every free is cross-thread
 *   workloads realloc  SCALE   buffers grown by small appends through realloc
 *   workloads large    SCALE   repeated 5-25 MiB blocks, up to 20 live, each written whole
 *   workloads gen-words N      N lines of random words on stdout (input for sort)
 *   workloads gen-c N          a C file with N functions on stdout (input for gcc)
 *
 * Every run is deterministic (fixed seeds) and prints a checksum so the
 * compiler cannot drop the work. Exit status 0 on success.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64*: small, fast, good enough to pick sizes and slots. */
typedef struct {
    uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

static size_t rng_below(rng_t *r, size_t n) {
    return (size_t)(rng_next(r) % n);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "workloads: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

static long scaled(double scale, long base) {
    long n = (long)(scale * (double)base);
    return n < 1 ? 1 : n;
}

/* Size classes typical of C/C++ programs: mostly tiny, a tail to 4 KiB. */
static size_t small_size(rng_t *r) {
    uint64_t x = rng_next(r);
    switch (x & 15) {
    case 0:
        return 512 + (size_t)((x >> 8) % 3584);
    case 1:
    case 2:
        return 128 + (size_t)((x >> 8) % 384);
    default:
        return 8 + (size_t)((x >> 8) % 120);
    }
}

/* ---- churn: random replacement in a live set, plus LIFO bursts ---- */

struct node {
    struct node *next;
    char payload[40];
};

static int run_churn(double scale) {
    enum { SLOTS = 1 << 15 };
    rng_t r = {0x9E3779B97F4A7C15ULL};
    char **slot = calloc(SLOTS, sizeof *slot);
    if (!slot) return 2;
    uint64_t sum = 0;
    long rounds = scaled(scale, 280);
    for (long round = 0; round < rounds; round++) {
        for (int i = 0; i < 100000; i++) {
            size_t k = rng_below(&r, SLOTS), n = small_size(&r);
            free(slot[k]);
            slot[k] = xmalloc(n);
            slot[k][0] = (char)i;
            slot[k][n - 1] = (char)n;
            sum += (unsigned char)slot[k][0];
        }
        /* a burst: build a list, then tear it down */
        struct node *head = NULL;
        for (int i = 0; i < 20000; i++) {
            struct node *nd = xmalloc(sizeof *nd);
            nd->next = head;
            nd->payload[0] = (char)i;
            head = nd;
        }
        while (head) {
            struct node *next = head->next;
            sum += (unsigned char)head->payload[0];
            free(head);
            head = next;
        }
    }
    for (int k = 0; k < SLOTS; k++)
        free(slot[k]);
    free(slot);
    printf("churn %llu\n", (unsigned long long)sum);
    return 0;
}

/* ---- prodcons: producers allocate batches, consumers free them ---- */

enum { BATCH = 256, QCAP = 64, PAIRS = 2 };

struct batch {
    char *obj[BATCH];
    size_t len[BATCH];
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    struct batch *q[QCAP];
    int head, count, producers_left;
} queue = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0};

static long batches_per_producer;

static void *producer(void *arg) {
    rng_t r = {0xD1B54A32D192ED03ULL + (uint64_t)(uintptr_t)arg};
    for (long b = 0; b < batches_per_producer; b++) {
        struct batch *bt = xmalloc(sizeof *bt);
        for (int i = 0; i < BATCH; i++) {
            size_t n = small_size(&r);
            bt->obj[i] = xmalloc(n);
            memset(bt->obj[i], (int)i, n < 64 ? n : 64);
            bt->len[i] = n;
        }
        pthread_mutex_lock(&queue.lock);
        while (queue.count == QCAP)
            pthread_cond_wait(&queue.not_full, &queue.lock);
        queue.q[(queue.head + queue.count) % QCAP] = bt;
        queue.count++;
        pthread_cond_signal(&queue.not_empty);
        pthread_mutex_unlock(&queue.lock);
    }
    pthread_mutex_lock(&queue.lock);
    queue.producers_left--;
    pthread_cond_broadcast(&queue.not_empty);
    pthread_mutex_unlock(&queue.lock);
    return NULL;
}

static void *consumer(void *arg) {
    uint64_t *sum = arg;
    for (;;) {
        pthread_mutex_lock(&queue.lock);
        while (queue.count == 0 && queue.producers_left > 0)
            pthread_cond_wait(&queue.not_empty, &queue.lock);
        if (queue.count == 0) {
            pthread_mutex_unlock(&queue.lock);
            return NULL;
        }
        struct batch *bt = queue.q[queue.head];
        queue.head = (queue.head + 1) % QCAP;
        queue.count--;
        pthread_cond_signal(&queue.not_full);
        pthread_mutex_unlock(&queue.lock);
        for (int i = 0; i < BATCH; i++) {
            *sum += (unsigned char)bt->obj[i][0] + bt->len[i];
            free(bt->obj[i]);
        }
        free(bt);
    }
}

static int run_prodcons(double scale) {
    pthread_t prod[PAIRS], cons[PAIRS];
    uint64_t sums[PAIRS] = {0}, sum = 0;
    batches_per_producer = scaled(scale, 24000);
    queue.producers_left = PAIRS;
    for (uintptr_t i = 0; i < PAIRS; i++) {
        if (pthread_create(&prod[i], NULL, producer, (void *)i) ||
            pthread_create(&cons[i], NULL, consumer, &sums[i])) {
            fprintf(stderr, "workloads: pthread_create failed\n");
            return 2;
        }
    }
    for (int i = 0; i < PAIRS; i++)
        pthread_join(prod[i], NULL);
    for (int i = 0; i < PAIRS; i++) {
        pthread_join(cons[i], NULL);
        sum += sums[i];
    }
    printf("prodcons %llu\n", (unsigned long long)sum);
    return 0;
}

/* ---- realloc: many buffers grown by small appends, reset when "full" ---- */

static int run_realloc(double scale) {
    enum { BUFS = 256 };
    rng_t r = {0xA0761D6478BD642FULL};
    char *buf[BUFS] = {0};
    size_t len[BUFS] = {0}, limit[BUFS];
    uint64_t sum = 0;
    for (int i = 0; i < BUFS; i++)
        limit[i] = 64 + rng_below(&r, 4096);
    long steps = scaled(scale, 24000000);
    for (long s = 0; s < steps; s++) {
        size_t k = rng_below(&r, BUFS), add = 1 + rng_below(&r, 48);
        if (len[k] + add > limit[k]) {
            sum += len[k];
            free(buf[k]);
            buf[k] = NULL;
            len[k] = 0;
            /* mostly small strings, sometimes a big one */
            limit[k] =
                (rng_next(&r) & 15) ? 64 + rng_below(&r, 4096) : 4096 + rng_below(&r, 28 * 1024);
        }
        char *p = realloc(buf[k], len[k] + add);
        if (!p) {
            fprintf(stderr, "workloads: realloc failed\n");
            return 2;
        }
        memset(p + len[k], (int)s, add);
        buf[k] = p;
        len[k] += add;
    }
    for (int i = 0; i < BUFS; i++) {
        if (len[i]) sum += (unsigned char)buf[i][len[i] - 1];
        free(buf[i]);
    }
    printf("realloc %llu\n", (unsigned long long)sum);
    return 0;
}

/* ---- large: repeated multi-MiB blocks, each written in full ---- */

static int run_large(double scale) {
    enum { LIVE = 20 };
    const size_t min = (size_t)5 << 20, max = (size_t)25 << 20;
    rng_t r = {0x853C49E6748FEA9BULL};
    char *slot[LIVE] = {0};
    uint64_t sum = 0;
    long iters = scaled(scale, 800);
    for (long i = 0; i < iters; i++) {
        size_t k = rng_below(&r, LIVE), n = min + rng_below(&r, max - min + 1);
        char *p = xmalloc(n);
        /* Write every byte, as value-initialising a new buffer does. Not
         * zero: the compiler would turn malloc + memset(0) into calloc, which
         * lets an allocator skip the writes on fresh OS memory. */
        memset(p, 1 + (int)(i % 251), n);
        p[n / 2] = (char)i;
        sum += (unsigned char)p[n / 2] + n;
        free(slot[k]);
        slot[k] = p;
    }
    for (int k = 0; k < LIVE; k++)
        free(slot[k]);
    printf("large %llu\n", (unsigned long long)sum);
    return 0;
}

/* ---- input generators for the real-program workloads ---- */

static int gen_words(long lines) {
    static const char *syll[] = {"ka", "lo", "mi", "ne", "su", "ta", "vo", "re",
                                 "zi", "pa", "qu", "ex", "an", "or", "el", "ut"};
    rng_t r = {0x2545F4914F6CDD1DULL};
    for (long i = 0; i < lines; i++) {
        int words = 1 + (int)rng_below(&r, 6);
        for (int w = 0; w < words; w++) {
            int parts = 1 + (int)rng_below(&r, 4);
            for (int s = 0; s < parts; s++)
                fputs(syll[rng_below(&r, 16)], stdout);
            putchar(w + 1 < words ? ' ' : '\n');
        }
    }
    return 0;
}

static int gen_c(long funcs) {
    rng_t r = {0x6A09E667F3BCC909ULL};
    printf("#include <stddef.h>\n#include <string.h>\n\n");
    printf("struct item { int key; double weight; const char *name; struct item *next; };\n\n");
    for (long f = 0; f < funcs; f++) {
        unsigned a = (unsigned)rng_below(&r, 97) + 1, b = (unsigned)rng_below(&r, 89) + 1;
        printf("static int helper_%ld(const int *v, size_t n) {\n"
               "    int acc = %u;\n"
               "    for (size_t i = 0; i < n; i++) {\n"
               "        if (v[i] %% %u == 0) acc += v[i] * %u;\n"
               "        else if (v[i] > acc) acc ^= v[i] >> 1;\n"
               "        else acc -= (int)i;\n"
               "    }\n"
               "    return acc;\n"
               "}\n\n",
               f, a, b, a);
        printf("double compute_%ld(struct item *it, const char *s) {\n"
               "    int buf[32];\n"
               "    double total = 0;\n"
               "    for (int i = 0; i < 32; i++) buf[i] = (int)strlen(s) * i + %u;\n"
               "    for (; it; it = it->next) {\n"
               "        switch (it->key %% 5) {\n"
               "        case 0: total += it->weight * helper_%ld(buf, 32); break;\n"
               "        case 1: total -= it->weight / (1 + helper_%ld(buf, 16)); break;\n"
               "        case 2: total += strcmp(it->name, s) * %u.5; break;\n"
               "        default: total *= 0.5;\n"
               "        }\n"
               "    }\n"
               "    return total;\n"
               "}\n\n",
               f, b, f, f, a);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: workloads churn|prodcons|realloc|large SCALE\n"
                        "       workloads gen-words|gen-c COUNT\n");
        return 2;
    }
    const char *w = argv[1];
    double scale = strtod(argv[2], NULL);
    if (!(scale > 0)) {
        fprintf(stderr, "workloads: bad scale or count '%s'\n", argv[2]);
        return 2;
    }
    if (!strcmp(w, "churn")) return run_churn(scale);
    if (!strcmp(w, "prodcons")) return run_prodcons(scale);
    if (!strcmp(w, "realloc")) return run_realloc(scale);
    if (!strcmp(w, "large")) return run_large(scale);
    if (!strcmp(w, "gen-words")) return gen_words((long)scale);
    if (!strcmp(w, "gen-c")) return gen_c((long)scale);
    fprintf(stderr, "workloads: unknown workload '%s'\n", w);
    return 2;
}

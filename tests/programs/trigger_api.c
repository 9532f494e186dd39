/*
 * heapprof_dump() from the program, for tests/integration/triggers_api.sh.
 * Prints the same lines with or without the runtime; what the API returned
 * goes to RESULTS (one "name rc" line per call), only when it is loaded.
 *
 *   trigger_api checkpoint RESULTS   dump("checkpoint"), dump(NULL), exit
 *   trigger_api twice RESULTS        dump("a"), dump("b"), exit 0 (for an
 *                                    unwritable HEAPPROF_OUT)
 *   trigger_api rename RESULTS       dump("first"); copies the stats file of
 *                                    it to RESULTS.first; makes a directory
 *                                    where seq 1's stats file goes and one
 *                                    where the final stats link goes;
 *                                    dump("second"); exit
 *   trigger_api fsize RESULTS        dump("before"); file size limit 64
 *                                    bytes (SIGXFSZ ignored); dump("toobig");
 *                                    limit lifted; dump("after"); exit
 *   trigger_api threads RESULTS      8 threads call dump("t<i>") 5 times
 *                                    each at the same time; exit
 *   trigger_api reasons RESULTS      dumps with reasons that need JSON
 *                                    escaping, invalid UTF-8, 5000 bytes,
 *                                    and the empty string; exit
 */
#define _GNU_SOURCE
#include <heapprof.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static FILE *results;
static char *keep[64];

static void work(int round) {
    for (int i = 0; i < 64; i++) {
        free(keep[i]);
        keep[i] = malloc(1000 + (size_t)(i * 37 + round) % 5000);
        memset(keep[i], i, 1000);
    }
}

static void dump(const char *reason) {
    if (!heapprof_available()) return;
    int rc = heapprof_dump(reason);
    /* the reason only if it is a plain word (others are checked in the files) */
    fprintf(results, "%s %d\n",
            !reason ? "NULL"
            : strspn(reason, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(reason) &&
                    *reason && strlen(reason) < 32
                ? reason
                : "odd",
            rc);
    fflush(results);
}

static void out_path(char *buf, size_t cap, const char *what) {
    const char *out = getenv("HEAPPROF_OUT");
    snprintf(buf, cap, "%s/heapprof.%d.%s", out ? out : ".", (int)getpid(), what);
}

static int copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb"), *o = fopen(to, "wb");
    if (!in || !o) {
        if (in) fclose(in);
        if (o) fclose(o);
        return -1;
    }
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, o);
    fclose(in);
    return fclose(o);
}

static pthread_barrier_t barrier;
static void *dump_thread(void *arg) {
    char reason[16];
    snprintf(reason, sizeof reason, "t%d", (int)(long)arg);
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < 5; i++) {
        free(malloc(100 + (size_t)i));
        dump(reason);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s checkpoint|twice|rename|fsize RESULTS\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    results = fopen(argv[2], "w");
    if (!results) {
        perror(argv[2]);
        return 2;
    }
    work(0);
    printf("%s: start\n", mode);
    if (!strcmp(mode, "checkpoint")) {
        dump("checkpoint");
        work(1);
        printf("checkpoint: after the first dump\n");
        dump(NULL);
    } else if (!strcmp(mode, "twice")) {
        dump("a");
        work(1);
        printf("twice: after a\n");
        dump("b");
        work(2);
        printf("twice: after b\n");
    } else if (!strcmp(mode, "rename")) {
        dump("first");
        if (heapprof_available()) {
            char path[4096], copy[4096];
            out_path(path, sizeof path, "0.stats.json");
            snprintf(copy, sizeof copy, "%s.first", argv[2]);
            if (copy_file(path, copy)) fprintf(results, "copy-failed 1\n");
            out_path(path, sizeof path, "1.stats.json");
            if (mkdir(path, 0700)) fprintf(results, "mkdir-failed 1\n");
            out_path(path, sizeof path, "final.stats.json");
            if (mkdir(path, 0700)) fprintf(results, "mkdir-failed 2\n");
        }
        work(1);
        printf("rename: after first\n");
        dump("second");
        work(2);
        printf("rename: after second\n");
    } else if (!strcmp(mode, "fsize")) {
        dump("before");
        struct rlimit old, small;
        getrlimit(RLIMIT_FSIZE, &old);
        small = old;
        small.rlim_cur = 64;
        signal(SIGXFSZ, SIG_IGN);
        if (heapprof_available()) setrlimit(RLIMIT_FSIZE, &small);
        dump("toobig");
        setrlimit(RLIMIT_FSIZE, &old);
        work(1);
        printf("fsize: after toobig\n");
        dump("after");
    } else if (!strcmp(mode, "threads")) {
        pthread_t th[8];
        pthread_barrier_init(&barrier, NULL, 8);
        for (long i = 0; i < 8; i++)
            pthread_create(&th[i], NULL, dump_thread, (void *)i);
        for (int i = 0; i < 8; i++)
            pthread_join(th[i], NULL);
        printf("threads: joined\n");
    } else if (!strcmp(mode, "reasons")) {
        static char longer[5001];
        memset(longer, 'r', 5000);
        dump("quote \" backslash \\ newline \n tab \t ctrl \x01 utf8 \xc3\xa9");
        dump("bad utf8 \xff\xfe end");
        dump(longer);
        dump("");
        printf("reasons: done\n");
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    for (int i = 0; i < 64; i++)
        free(keep[i]);
    printf("%s: done\n", mode);
    fclose(results);
    return 0;
}

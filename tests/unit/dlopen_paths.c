/*
 * Allocation from the dynamic loader's paths. The loader (ld.so) allocates
 * link maps, scopes, search lists, dlerror strings and dynamic TLS blocks
 * through the interposed malloc once the process is running, and frees them
 * on dlclose, on the next dlerror, or when a thread's stack is reused. Under
 * heapprof none of this may crash, and the counters must stay exact: after a
 * warm-up (the first dlopen of a library leaves some lasting state), each
 * further open/close cycle must leave live bytes and objects exactly where
 * they were, while the loader's allocations are seen (alloc_objects grows).
 *
 * Covers: dlopen/dlsym/dlclose of a small system library not loaded yet
 * (libuuid, libacl, ... libz) with several flag combinations, a
 * failing dlopen and dlsym with dlerror, re-opening an already loaded library,
 * dlmopen into a new namespace, glibc's own dlopen of iconv (gconv) modules,
 * loader calls from several threads at once, and dynamic TLS of a dlopen'd
 * library (when one with an exported TLS symbol is installed).
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <dlfcn.h>
#include <iconv.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static const char *phase = "start";

static heapprof_stats_t now(void) {
    heapprof_stats_t s;
    heapprof_stats(&s, sizeof s);
    return s;
}

static int sane(const heapprof_stats_t *s) {
    return s->freed_bytes == s->alloc_bytes - s->live_bytes &&
           s->freed_objects == s->alloc_objects - s->live_objects &&
           s->peak_bytes >= s->live_bytes && s->peak_objects >= s->live_objects &&
           s->live_bytes < ((uint64_t)1 << 40);
}

/* live bytes/objects moved by exactly (bytes, objs); the loader did allocate */
static void expect_net_(int line, heapprof_stats_t a, heapprof_stats_t b, int64_t bytes,
                        int64_t objs, int loader_allocates) {
    int64_t lb = (int64_t)(b.live_bytes - a.live_bytes);
    int64_t lo = (int64_t)(b.live_objects - a.live_objects);
    if (lb != bytes || lo != objs) {
        fprintf(stderr, "%s:%d [%s] live delta %lld bytes / %lld objects, want %lld / %lld\n",
                __FILE__, line, phase, (long long)lb, (long long)lo, (long long)bytes,
                (long long)objs);
        check_failures++;
    }
    if (loader_allocates && b.alloc_objects == a.alloc_objects) {
        fprintf(stderr, "%s:%d [%s] the loader's allocations were not seen\n", __FILE__, line,
                phase);
        check_failures++;
    }
    if (!sane(&b)) {
        fprintf(stderr, "%s:%d [%s] counters not consistent\n", __FILE__, line, phase);
        check_failures++;
    }
}
#define EXPECT_NET(a, b, bytes, objs, loader) expect_net_(__LINE__, a, b, bytes, objs, loader)

/* A small library of the base system that nothing in this process has
 * loaded yet (libheapprof's own dependencies change as it grows): the first
 * of these that dlopen(RTLD_NOLOAD) does not find. Opening it really maps
 * and relocates it, and dlclose really unloads it. */
static const char *candidates[][2] = {
    {"libuuid.so.1", "uuid_parse"},         {"libacl.so.1", "acl_init"},
    {"libattr.so.1", "attr_get"},           {"libcap.so.2", "cap_init"},
    {"libmd.so.0", "MD5Init"},              {"libcrypt.so.1", "crypt"},
    {"libgmp.so.10", "__gmpz_init"},        {"libbz2.so.1.0", "BZ2_bzlibVersion"},
    {"liblzma.so.5", "lzma_version_string"}, {"libzstd.so.1", "ZSTD_versionNumber"},
    {"libz.so.1", "zlibVersion"},
};
static const char *lib, *lib_sym;

static int pick_library(void) {
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        void *h = dlopen(candidates[i][0], RTLD_LAZY | RTLD_NOLOAD);
        if (h) { /* already loaded: it would only be reference-counted */
            dlclose(h);
            continue;
        }
        h = dlopen(candidates[i][0], RTLD_LAZY);
        if (!h) continue; /* not installed */
        int ok = dlsym(h, candidates[i][1]) != NULL;
        dlclose(h);
        h = dlopen(candidates[i][0], RTLD_LAZY | RTLD_NOLOAD);
        if (h) { /* does not unload (NODELETE or pulled in by something) */
            dlclose(h);
            continue;
        }
        if (ok) {
            lib = candidates[i][0];
            lib_sym = candidates[i][1];
            fprintf(stderr, "dlopen_paths: using %s\n", lib);
            return 0;
        }
    }
    dlerror();
    return -1;
}

/* One dlopen/dlsym/dlclose cycle; returns 0 on success. Single-threaded
 * callers also check the library is unmapped again afterwards. */
static int single_threaded = 1;

static int lib_cycle(int flags) {
    void *h = dlopen(lib, flags);
    if (!h) {
        fprintf(stderr, "dlopen(%s): %s\n", lib, dlerror());
        return -1;
    }
    int rc = 0;
    if (dlsym(h, lib_sym) == NULL) rc = -1;
    /* a missing symbol: NULL, and dlerror explains (the message is malloc'd) */
    if (dlsym(h, "no_such_symbol_in_this_library") != NULL) rc = -1;
    const char *err = dlerror();
    if (!err || !strstr(err, "no_such_symbol_in_this_library")) rc = -1;
    if (dlclose(h) != 0) rc = -1;
    /* it is really gone again */
    void *again = single_threaded ? dlopen(lib, RTLD_LAZY | RTLD_NOLOAD) : NULL;
    if (again) {
        dlclose(again);
        rc = -1;
    }
    return rc;
}

static const int flag_sets[] = {RTLD_NOW, RTLD_LAZY, RTLD_NOW | RTLD_GLOBAL,
                                RTLD_LAZY | RTLD_LOCAL, RTLD_NOW | RTLD_DEEPBIND};
#define NFLAGS (int)(sizeof flag_sets / sizeof *flag_sets)

static void test_open_close(void) {
    phase = "dlopen/dlclose";
    for (int i = 0; i < 2 * NFLAGS; i++) CHECK(lib_cycle(flag_sets[i % NFLAGS]) == 0);
    for (int round = 0; round < 3; round++) {
        heapprof_stats_t a = now();
        for (int i = 0; i < 40; i++) CHECK(lib_cycle(flag_sets[i % NFLAGS]) == 0);
        EXPECT_NET(a, now(), 0, 0, 1);
    }

    /* the program's own blocks interleaved with the loader's */
    phase = "own blocks across dlopen/dlclose";
    enum { N = 50 };
    void *kept[N];
    int64_t kept_bytes = 0;
    heapprof_stats_t a = now();
    for (int i = 0; i < N; i++) {
        void *p = malloc(100 + (size_t)i * 10);
        void *h = dlopen(lib, RTLD_NOW);
        CHECK(h != NULL);
        kept[i] = calloc(1, 3000 + (size_t)i);
        CHECK(kept[i] != NULL);
        kept_bytes += (int64_t)malloc_usable_size(kept[i]);
        free(p);
        CHECK(h && dlclose(h) == 0);
    }
    heapprof_stats_t b = now();
    EXPECT_NET(a, b, kept_bytes, N, 1);
    for (int i = 0; i < N; i++) free(kept[i]);
    EXPECT_NET(a, now(), 0, 0, 0);
}

static void failing_calls(void) {
    CHECK(dlopen("libheapprof-test-no-such-library.so.9", RTLD_NOW) == NULL);
    const char *e = dlerror();
    CHECK(e != NULL && strstr(e, "no-such-library") != NULL);
    CHECK(dlerror() == NULL); /* the message is consumed */
    CHECK(dlopen("/nonexistent/dir/libz.so.1", RTLD_LAZY) == NULL);
    /* a new error replaces the unread one */
    CHECK(dlsym(RTLD_DEFAULT, "heapprof_no_such_symbol_anywhere") == NULL);
    e = dlerror();
    CHECK(e != NULL && strstr(e, "heapprof_no_such_symbol_anywhere") != NULL);
}

static void test_failures(void) {
    phase = "failing dlopen + dlerror";
    for (int i = 0; i < 3; i++) failing_calls();
    heapprof_stats_t a = now();
    for (int i = 0; i < 50; i++) failing_calls();
    EXPECT_NET(a, now(), 0, 0, 1);

    phase = "re-open an already loaded library";
    for (int i = 0; i < 2; i++) {
        void *h = dlopen("libm.so.6", RTLD_NOW);
        CHECK(h != NULL);
        if (h) dlclose(h);
    }
    a = now();
    for (int i = 0; i < 50; i++) {
        void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_NOLOAD);
        CHECK(h != NULL);
        double (*cosine)(double) = (double (*)(double))(uintptr_t)dlsym(h, "cos");
        CHECK(cosine != NULL && cosine(0.0) == 1.0);
        if (h) dlclose(h);
    }
    EXPECT_NET(a, now(), 0, 0, 0);
}

static void test_dlmopen(void) {
    phase = "dlmopen(LM_ID_NEWLM)";
    for (int round = 0; round < 6; round++) {
        heapprof_stats_t a = now();
        void *h = dlmopen(LM_ID_NEWLM, lib, RTLD_NOW);
        if (!h) { /* namespaces may run out on exotic setups; not our concern */
            fprintf(stderr, "dlmopen unavailable: %s\n", dlerror());
            return;
        }
        CHECK(dlsym(h, lib_sym) != NULL);
        CHECK(dlclose(h) == 0);
        /* the first two rounds grow glibc's TLS slot tables for the new
         * namespace's libc, for good */
        if (round >= 2) EXPECT_NET(a, now(), 0, 0, 1);
    }
}

/* glibc dlopens gconv modules for iconv by itself */
static void test_iconv(void) {
    phase = "iconv gconv modules";
    static const char *pairs[][2] = {{"EUC-JP", "UTF-8"}, {"UTF-16", "ISO-8859-15"},
                                     {"IBM037", "UTF-8"}};
    for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++) {
        int ok = 1;
        for (int round = 0; round < 12 && ok; round++) {
            heapprof_stats_t a = now();
            iconv_t cd = iconv_open(pairs[k][0], pairs[k][1]);
            if (cd == (iconv_t)-1) {
                fprintf(stderr, "iconv %s<-%s not available, skipped\n", pairs[k][0],
                        pairs[k][1]);
                ok = 0;
                break;
            }
            char in[] = "heap profile", out[128];
            char *ip = in, *op = out;
            size_t il = strlen(in), ol = sizeof out;
            CHECK(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
            CHECK(iconv_close(cd) == 0);
            /* glibc unloads a module a few releases after its last use */
            if (round >= 6) EXPECT_NET(a, now(), 0, 0, 1);
        }
    }
}

/* ---- threads ------------------------------------------------------------- */

static void *loader_thread(void *arg) {
    int idx = (int)(intptr_t)arg;
    int failures = 0;
    for (int i = 0; i < 60; i++) {
        if (lib_cycle(flag_sets[(i + idx) % NFLAGS]) != 0 && failures++ == 0)
            CHECK(!"dlopen/dlsym/dlclose cycle failed in a thread");
        void *p = malloc(64 + (size_t)i);
        CHECK(p != NULL);
        free(p);
    }
    return NULL;
}

static void *idle_thread(void *arg) { return arg; }

static void run4(void *(*fn)(void *), pthread_attr_t *attr) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], attr, fn, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < 4; i++) CHECK(pthread_join(t[i], NULL) == 0);
}

static void test_threads(pthread_attr_t *attr) {
    phase = "threads idle (calibration)";
    run4(idle_thread, attr);
    run4(idle_thread, attr);
    heapprof_stats_t a = now();
    run4(idle_thread, attr);
    EXPECT_NET(a, now(), 0, 0, 0);

    phase = "dlopen/dlclose from 4 threads at once";
    single_threaded = 0;
    run4(loader_thread, attr); /* warm-up: each thread's dlerror buffer etc. */
    for (int round = 0; round < 3; round++) {
        a = now();
        run4(loader_thread, attr);
        EXPECT_NET(a, now(), 0, 0, 1);
    }
    single_threaded = 1;
    CHECK(lib_cycle(RTLD_NOW) == 0); /* unloaded after all the threads' closes */
}

/* Libraries with an exported thread-local symbol: dlsym of it allocates this
 * thread's block of the library's dynamic TLS (through malloc). */
static const char *tls_libs[][2] = {
    {"libabsl_raw_hash_set.so.20220623",
     "_ZZN4absl7debian318container_internal10RandomSeedEvE7counter"},
    {"libabsl_cordz_functions.so.20220623", "_ZN4absl7debian313cord_internal17cordz_next_sampleE"},
    {"libglapi.so.0", "_glapi_tls_Dispatch"},
};
static void *tls_handle;
static const char *tls_sym;

static void *tls_thread(void *arg) {
    volatile char *p = dlsym(tls_handle, tls_sym);
    CHECK(p != NULL);
    if (p) p[0] = 1;
    return (void *)p + 0 * (intptr_t)arg;
}

static void test_dynamic_tls(pthread_attr_t *attr) {
    phase = "dynamic TLS of a dlopen'd library";
    for (size_t i = 0; i < sizeof tls_libs / sizeof *tls_libs && !tls_handle; i++) {
        void *h = dlopen(tls_libs[i][0], RTLD_NOW);
        if (h && dlsym(h, tls_libs[i][1])) {
            tls_handle = h;
            tls_sym = tls_libs[i][1];
        } else if (h) {
            dlclose(h);
        }
    }
    if (!tls_handle) {
        dlerror();
        fprintf(stderr, "no library with an exported TLS symbol installed; TLS part skipped\n");
        return;
    }
    /* per thread addresses differ */
    pthread_t t[4];
    void *addr[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], attr, tls_thread, NULL) == 0);
    for (int i = 0; i < 4; i++) CHECK(pthread_join(t[i], &addr[i]) == 0);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < i; j++) CHECK(addr[i] != addr[j]);
    /* each round allocates the new threads' TLS blocks and frees the previous
     * round's (glibc frees them when it reuses the cached stacks) */
    run4(tls_thread, attr);
    for (int round = 0; round < 3; round++) {
        heapprof_stats_t a = now();
        run4(tls_thread, attr);
        EXPECT_NET(a, now(), 0, 0, 1);
    }
}

static void on_alarm(int sig) {
    (void)sig;
    char buf[160];
    int n = snprintf(buf, sizeof buf, "dlopen_paths: watchdog fired in '%s' (hang)\n", phase);
    if (write(2, buf, (size_t)n) < 0) {
    }
    _exit(96);
}

int main(void) {
    if (!heapprof_available()) {
        fprintf(stderr, "libheapprof.so is not preloaded\n");
        return 1;
    }
    signal(SIGALRM, on_alarm);
    alarm(120);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);

    if (pick_library() != 0) {
        fprintf(stderr, "no unloaded base-system library found to dlopen\n");
        return 1;
    }
    test_open_close();
    test_failures();
    test_dlmopen();
    test_iconv();
    test_threads(&attr);
    test_dynamic_tls(&attr);

    heapprof_stats_t s = now();
    CHECK(sane(&s));
    pthread_attr_destroy(&attr);
    return CHECK_DONE();
}

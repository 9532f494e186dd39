/*
 * Starting GPU tracking: libcupti is dlopen'd (never linked), so a program
 * that does not ask for GPU tracking never loads CUDA code. heapprof
 * subscribes with the callback API and enables only the allocation and free
 * callback ids (hp_gpu_apis), so every other CUDA call costs nothing extra.
 *
 * Any failure — no libcupti, no driver, no device, another CUPTI client
 * already subscribed — ends in one "heapprof:" line, and the program runs
 * on unchanged without GPU tracking.
 */
#define _GNU_SOURCE
#include "cupti_callback.h"
#include "cupti_decode.h"
#include "gpu.h"
#include "gpu_frames.h"
#include "gpu_table.h"
#include "../heapprof/config.h"
#include "../heapprof/log.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef CUptiResult(CUPTIAPI *subscribe_fn)(CUpti_SubscriberHandle *, CUpti_CallbackFunc, void *);
typedef CUptiResult(CUPTIAPI *subscribe_v2_fn)(CUpti_SubscriberHandle *, CUpti_CallbackFunc, void *,
                                               CUpti_SubscriberParams *);
typedef CUptiResult(CUPTIAPI *unsubscribe_fn)(CUpti_SubscriberHandle);
typedef CUptiResult(CUPTIAPI *enable_fn)(uint32_t, CUpti_SubscriberHandle, CUpti_CallbackDomain,
                                         CUpti_CallbackId);
typedef CUptiResult(CUPTIAPI *result_string_fn)(CUptiResult, const char **);
typedef CUptiResult(CUPTIAPI *device_id_fn)(CUcontext, uint32_t *);

static atomic_int started, tracking;

/* Where CUDA installs libcupti; a program that already loaded one (a
 * framework's own copy) is served by that copy. */
static void *open_cupti(char *tried, size_t cap) {
    if (hp_cfg.cupti_path[0]) {
        void *h = dlopen(hp_cfg.cupti_path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char *err = dlerror();
            snprintf(tried, cap, "HEAPPROF_CUPTI_PATH=%s: %s", hp_cfg.cupti_path,
                     err ? err : "cannot be loaded");
        }
        return h;
    }
    static const char *const loaded[] = {"libcupti.so", "libcupti.so.13", "libcupti.so.12",
                                         "libcupti.so.11.8"};
    for (size_t i = 0; i < sizeof loaded / sizeof loaded[0]; i++) {
        void *h = dlopen(loaded[i], RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
        if (h) return h;
    }
    char paths[5][PATH_MAX];
    int n = 0;
    const char *home = getenv("CUDA_HOME");
    if (home && home[0] == '/') {
        snprintf(paths[n++], PATH_MAX, "%s/lib64/libcupti.so", home);
        snprintf(paths[n++], PATH_MAX, "%s/extras/CUPTI/lib64/libcupti.so", home);
    }
    snprintf(paths[n++], PATH_MAX, "/usr/local/cuda/lib64/libcupti.so");
    snprintf(paths[n++], PATH_MAX, "/usr/local/cuda/lib/libcupti.so");
    snprintf(paths[n++], PATH_MAX, "/usr/local/cuda/extras/CUPTI/lib64/libcupti.so");
    for (int i = 0; i < n; i++) {
        void *h = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
        if (h) return h;
    }
    /* The dynamic linker's own search: LD_LIBRARY_PATH, ld.so.cache (Debian's
     * nvidia-cuda-toolkit puts it in /usr/lib/x86_64-linux-gnu). */
    for (size_t i = 0; i < sizeof loaded / sizeof loaded[0]; i++) {
        void *h = dlopen(loaded[i], RTLD_NOW | RTLD_LOCAL);
        if (h) return h;
    }
    snprintf(tried, cap,
             "libcupti.so not found in %s/usr/local/cuda/{lib64,lib,extras/CUPTI/lib64} or the "
             "library search path; set HEAPPROF_CUPTI_PATH",
             home && home[0] == '/' ? "$CUDA_HOME, " : "");
    return NULL;
}

static const char *result_name(result_string_fn fn, CUptiResult r) {
    const char *s = NULL;
    if (fn && fn(r, &s) == CUPTI_SUCCESS && s) return s;
    return "an unknown CUPTI error";
}

/* Subscribes through cuptiSubscribe_v2 when the library has it (it names
 * us to other tools and tells us who holds the subscription otherwise). */
static CUptiResult subscribe(void *h, CUpti_SubscriberHandle *sub, char *other, size_t cap) {
    subscribe_v2_fn v2 = (subscribe_v2_fn)dlsym(h, "cuptiSubscribe_v2");
    if (v2) {
        CUpti_SubscriberParams p;
        memset(&p, 0, sizeof p);
        p.structSize = CUpti_SubscriberParams_STRUCT_SIZE;
        p.subscriberName = "heapprof";
        p.oldSubscriberName = other;
        p.oldSubscriberSize = cap;
        return v2(sub, hp_gpu_cupti_callback, NULL, &p);
    }
    subscribe_fn v1 = (subscribe_fn)dlsym(h, "cuptiSubscribe");
    return v1 ? v1(sub, hp_gpu_cupti_callback, NULL) : CUPTI_ERROR_NOT_INITIALIZED;
}

static int start(const char *route) {
    char tried[PATH_MAX + 256] = "";
    void *h = open_cupti(tried, sizeof tried);
    if (!h) {
        hp_info("GPU tracking is off: %s", tried);
        return 0;
    }
    result_string_fn result_string = (result_string_fn)dlsym(h, "cuptiGetResultString");
    enable_fn enable = (enable_fn)dlsym(h, "cuptiEnableCallback");
    unsubscribe_fn unsubscribe = (unsubscribe_fn)dlsym(h, "cuptiUnsubscribe");
    void *any = dlsym(h, "cuptiSubscribe");
    Dl_info info;
    const char *path = any && dladdr(any, &info) && info.dli_fname ? info.dli_fname : "libcupti";
    if (!enable || !any) {
        hp_info("GPU tracking is off: %s lacks the CUPTI callback API", path);
        dlclose(h);
        return 0;
    }
    hp_gpu_set_device_query((device_id_fn)dlsym(h, "cuptiGetDeviceId"));
    CUpti_SubscriberHandle sub = NULL;
    char other[CUPTI_OLD_SUBSCRIBER_NAME_MIN_LEN + 1] = "";
    CUptiResult r = subscribe(h, &sub, other, sizeof other - 1);
    if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED) {
        hp_info("GPU tracking is off: another CUPTI client is subscribed (%s; Nsight and other "
                "profilers hold the only subscription)",
                other[0] ? other : "CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED");
        dlclose(h);
        return 0;
    }
    if (r != CUPTI_SUCCESS) {
        hp_info("GPU tracking is off: cuptiSubscribe failed with %s (no NVIDIA driver or GPU?)",
                result_name(result_string, r));
        dlclose(h);
        return 0;
    }
    hp_gpu_frames_init(any); /* before the first callback can arrive */
    size_t enabled = 0;
    for (size_t i = 0; i < hp_gpu_napis; i++) {
        r = enable(1, sub, hp_gpu_apis[i].domain, hp_gpu_apis[i].cbid);
        if (r == CUPTI_SUCCESS)
            enabled++;
        else
            hp_debug("GPU: cannot enable callback %u of domain %d: %s", hp_gpu_apis[i].cbid,
                     (int)hp_gpu_apis[i].domain, result_name(result_string, r));
    }
    if (!enabled) {
        hp_info("GPU tracking is off: CUPTI enabled none of the allocation callbacks (%s)",
                result_name(result_string, r));
        if (unsubscribe) unsubscribe(sub);
        dlclose(h);
        return 0;
    }
    hp_gpu_table_activate(route, path);
    hp_debug("GPU tracking on (%s, %s, %zu callbacks)", route, path, enabled);
    return 1; /* libcupti stays loaded for the life of the process */
}

int hp_gpu_start(const char *route) {
    int expected = 0;
    if (atomic_compare_exchange_strong(&started, &expected, 1))
        atomic_store(&tracking, start(route));
    return atomic_load(&tracking);
}

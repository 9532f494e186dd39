/*
 * A stand-in for libcupti.so, for machines without a GPU: heapprof dlopens
 * it through HEAPPROF_CUPTI_PATH and subscribes to it exactly as to the real
 * library. Tests then drive the callback with fake_cupti_fire(), passing the
 * CUpti_CallbackData CUPTI passes (the real headers' layout, with
 * functionParams pointing at the real *_params structs).
 *
 * Built as a shared library by tests/gpu.mk (build/tests/gpu/fake/libcupti.so,
 * and without cuptiSubscribe_v2 as build/tests/gpu/fake_v1/libcupti.so).
 * FAKE_CUPTI_SUBSCRIBE selects how cuptiSubscribe answers: unset or "ok"
 * succeeds, "multiple" reports another subscriber (as under Nsight),
 * "unknown" fails as libcupti does without a driver.
 */
#include <cupti.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define API __attribute__((visibility("default")))
#define MAX_CBID 2048

static CUpti_CallbackFunc callback;
static void *callback_userdata;
static int subscribed;
static unsigned char enabled[CUPTI_CB_DOMAIN_SIZE][MAX_CBID];
static struct CUpti_Subscriber_st { int dummy; } the_subscriber;

static CUptiResult refusal(void) {
    const char *mode = getenv("FAKE_CUPTI_SUBSCRIBE");
    if (mode && !strcmp(mode, "multiple")) return CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED;
    if (mode && !strcmp(mode, "unknown")) return CUPTI_ERROR_UNKNOWN;
    return CUPTI_SUCCESS;
}

API CUptiResult cuptiSubscribe(CUpti_SubscriberHandle *sub, CUpti_CallbackFunc fn, void *ud) {
    if (!sub) return CUPTI_ERROR_INVALID_PARAMETER;
    CUptiResult r = refusal();
    if (r == CUPTI_SUCCESS && subscribed) r = CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED;
    if (r != CUPTI_SUCCESS) return r;
    callback = fn;
    callback_userdata = ud;
    subscribed = 1;
    *sub = &the_subscriber;
    return CUPTI_SUCCESS;
}

#ifndef FAKE_CUPTI_NO_V2 /* built both ways: older libcupti has only cuptiSubscribe */
API CUptiResult cuptiSubscribe_v2(CUpti_SubscriberHandle *sub, CUpti_CallbackFunc fn, void *ud,
                                  CUpti_SubscriberParams *params) {
    if (params && params->structSize < CUpti_SubscriberParams_STRUCT_SIZE)
        return CUPTI_ERROR_INVALID_PARAMETER;
    CUptiResult r = cuptiSubscribe(sub, fn, ud);
    if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED && params &&
        params->oldSubscriberName && params->oldSubscriberSize > 0) {
        strncpy(params->oldSubscriberName, "CUPTI for Nsight Systems",
                params->oldSubscriberSize - 1);
        params->oldSubscriberName[params->oldSubscriberSize - 1] = 0;
    }
    return r;
}
#endif

API CUptiResult cuptiUnsubscribe(CUpti_SubscriberHandle sub) {
    if (sub != &the_subscriber || !subscribed) return CUPTI_ERROR_INVALID_PARAMETER;
    subscribed = 0;
    callback = NULL;
    memset(enabled, 0, sizeof enabled);
    return CUPTI_SUCCESS;
}

API CUptiResult cuptiEnableCallback(uint32_t enable, CUpti_SubscriberHandle sub,
                                    CUpti_CallbackDomain domain, CUpti_CallbackId cbid) {
    if (sub != &the_subscriber || !subscribed || domain <= CUPTI_CB_DOMAIN_INVALID ||
        domain >= CUPTI_CB_DOMAIN_SIZE || cbid >= MAX_CBID)
        return CUPTI_ERROR_INVALID_PARAMETER;
    enabled[domain][cbid] = enable != 0;
    return CUPTI_SUCCESS;
}

API CUptiResult cuptiEnableDomain(uint32_t enable, CUpti_SubscriberHandle sub,
                                  CUpti_CallbackDomain domain) {
    if (sub != &the_subscriber || !subscribed || domain <= CUPTI_CB_DOMAIN_INVALID ||
        domain >= CUPTI_CB_DOMAIN_SIZE)
        return CUPTI_ERROR_INVALID_PARAMETER;
    memset(enabled[domain], enable != 0, MAX_CBID);
    return CUPTI_SUCCESS;
}

API CUptiResult cuptiGetResultString(CUptiResult result, const char **str) {
    if (!str) return CUPTI_ERROR_INVALID_PARAMETER;
    switch (result) {
    case CUPTI_SUCCESS:
        *str = "CUPTI_SUCCESS";
        break;
    case CUPTI_ERROR_INVALID_PARAMETER:
        *str = "CUPTI_ERROR_INVALID_PARAMETER";
        break;
    case CUPTI_ERROR_INVALID_DEVICE:
        *str = "CUPTI_ERROR_INVALID_DEVICE";
        break;
    case CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED:
        *str = "CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED";
        break;
    case CUPTI_ERROR_UNKNOWN:
        *str = "CUPTI_ERROR_UNKNOWN";
        break;
    default:
        return CUPTI_ERROR_INVALID_PARAMETER;
    }
    return CUPTI_SUCCESS;
}

/* Contexts of the test's devices are the numbers FAKE_CONTEXT_BASE + device
 * (tests/programs/gpu_fake_api.h); anything else is not a context. */
#define FAKE_CONTEXT_BASE 0xC0DE00u
static uint32_t current_device;

API CUptiResult cuptiGetDeviceId(CUcontext ctx, uint32_t *device) {
    if (!device) return CUPTI_ERROR_INVALID_PARAMETER;
    uintptr_t c = (uintptr_t)ctx;
    if (!c) {
        *device = current_device;
        return CUPTI_SUCCESS;
    }
    if ((c & ~(uintptr_t)0xff) != FAKE_CONTEXT_BASE) return CUPTI_ERROR_INVALID_DEVICE;
    *device = (uint32_t)(c & 0xff);
    return CUPTI_SUCCESS;
}

/* ---- test-only entry points ---- */

API void fake_cupti_set_current_device(uint32_t device) {
    current_device = device;
}

API int fake_cupti_enabled(CUpti_CallbackDomain domain, CUpti_CallbackId cbid) {
    return subscribed && domain > CUPTI_CB_DOMAIN_INVALID && domain < CUPTI_CB_DOMAIN_SIZE &&
           cbid < MAX_CBID && enabled[domain][cbid];
}

/* Delivers one callback as CUPTI would: only to a subscriber that enabled
 * this id. Returns 1 if the callback ran. */
API __attribute__((noinline)) int fake_cupti_fire(CUpti_CallbackDomain domain,
                                                  CUpti_CallbackId cbid,
                                                  const CUpti_CallbackData *data) {
    if (!fake_cupti_enabled(domain, cbid) || !callback) return 0;
    callback(callback_userdata, domain, cbid, data);
    return 1;
}

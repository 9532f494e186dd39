/*
 * One POST to Pyroscope with libcurl, and what its outcome means. libcurl is
 * reached through a table of function pointers: the CLI fills it with the
 * functions it links, the runtime with ones it dlopen'd (the preloaded
 * library must not link libcurl, so programs that do not push never load it).
 */
#ifndef HP_PYROSCOPE_HTTP_H
#define HP_PYROSCOPE_HTTP_H

#include <curl/curl.h>
#include <stddef.h>

#define HP_PYRO_HTTP_HIDDEN __attribute__((visibility("hidden")))

typedef struct hp_curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_reset)(CURL *);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} hp_curl_api;

typedef struct hp_pyro_request {
    const char *url;
    const char *content_type; /* full header value, e.g. multipart/form-data; boundary=B */
    const char *tenant;       /* X-Scope-OrgID, or NULL */
    const char *user_agent;
    const char *resolve; /* "host:port:address" to skip libcurl's resolver, or NULL */
    const void *body;
    size_t len;
    long connect_timeout_ms, timeout_ms;
    /* Asked while the transfer runs; nonzero aborts it (process exit). */
    int (*abort_requested)(void);
} hp_pyro_request;

typedef struct hp_pyro_response {
    long status;                 /* HTTP status, 0 if no answer */
    CURLcode curl_code;          /* CURLE_OK when an answer came */
    long retry_after_s;          /* Retry-After of a 429/503, 0 if none */
    char error[CURL_ERROR_SIZE]; /* why there was no answer */
    char body[1024];             /* start of the answer's body */
    size_t body_len;
} hp_pyro_response;

/* Sends the request on `easy` (reset first, so its connection is reused).
 * Always fills *rs. */
void hp_pyro_post(const hp_curl_api *api, CURL *easy, const hp_pyro_request *rq,
                  hp_pyro_response *rs) HP_PYRO_HTTP_HIDDEN;

enum hp_pyro_outcome {
    HP_PYRO_SENT,    /* 2xx */
    HP_PYRO_RETRY,   /* no answer, or 408/429/5xx: worth another try later */
    HP_PYRO_REFUSED, /* any other answer: trying again sends the same thing */
};
enum hp_pyro_outcome hp_pyro_outcome(const hp_pyro_response *rs) HP_PYRO_HTTP_HIDDEN;

#endif

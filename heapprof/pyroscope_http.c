#define _GNU_SOURCE
#include "pyroscope_http.h"

#include <stdio.h>
#include <string.h>

static size_t keep_body(char *data, size_t size, size_t n, void *arg) {
    hp_pyro_response *rs = arg;
    size_t room = sizeof rs->body - 1 - rs->body_len, take = size * n < room ? size * n : room;
    memcpy(rs->body + rs->body_len, data, take);
    rs->body_len += take;
    rs->body[rs->body_len] = 0;
    return size * n; /* the rest is not needed, but the transfer must not fail */
}

static int progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                    curl_off_t ulnow) {
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const hp_pyro_request *rq = arg;
    return rq->abort_requested() ? 1 : 0;
}

void hp_pyro_post(const hp_curl_api *api, CURL *easy, const hp_pyro_request *rq,
                  hp_pyro_response *rs) {
    memset(rs, 0, sizeof *rs);
    char header[320];
    struct curl_slist *headers = NULL, *resolve = NULL, *t;
    snprintf(header, sizeof header, "Content-Type: %s", rq->content_type);
    headers = api->slist_append(headers, header);
    /* libcurl would wait up to a second for "100 Continue" on large bodies */
    if (headers && (t = api->slist_append(headers, "Expect:"))) headers = t;
    if (headers && rq->tenant) {
        snprintf(header, sizeof header, "X-Scope-OrgID: %s", rq->tenant);
        if ((t = api->slist_append(headers, header))) headers = t;
    }
    if (rq->resolve) resolve = api->slist_append(NULL, rq->resolve);

    api->easy_reset(easy);
    api->easy_setopt(easy, CURLOPT_URL, rq->url);
    api->easy_setopt(easy, CURLOPT_POST, 1L);
    api->easy_setopt(easy, CURLOPT_POSTFIELDS, rq->body);
    api->easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
    api->easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    api->easy_setopt(easy, CURLOPT_USERAGENT, rq->user_agent);
    /* No SIGALRM for timeouts: signals belong to the host program. */
    api->easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    api->easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms);
    api->easy_setopt(easy, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    api->easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep_body);
    api->easy_setopt(easy, CURLOPT_WRITEDATA, rs);
    api->easy_setopt(easy, CURLOPT_ERRORBUFFER, rs->error);
    if (resolve) api->easy_setopt(easy, CURLOPT_RESOLVE, resolve);
    if (rq->abort_requested) {
        api->easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, progress);
        api->easy_setopt(easy, CURLOPT_XFERINFODATA, (void *)rq);
        api->easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    }

    rs->curl_code = headers ? api->easy_perform(easy) : CURLE_OUT_OF_MEMORY;
    if (rs->curl_code == CURLE_OK) {
        api->easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &rs->status);
        curl_off_t after = 0;
        if (api->easy_getinfo(easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
            rs->retry_after_s = after > 3600 ? 3600 : (long)after;
    } else if (!rs->error[0]) {
        snprintf(rs->error, sizeof rs->error, "%s", api->easy_strerror(rs->curl_code));
    }
    /* The handle must not keep pointers into this call's memory. */
    api->easy_setopt(easy, CURLOPT_ERRORBUFFER, (char *)NULL);
    api->easy_setopt(easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    api->easy_setopt(easy, CURLOPT_RESOLVE, (struct curl_slist *)NULL);
    api->slist_free_all(headers);
    api->slist_free_all(resolve);
}

enum hp_pyro_outcome hp_pyro_outcome(const hp_pyro_response *rs) {
    if (rs->curl_code != CURLE_OK) {
        switch (rs->curl_code) {
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_ABORTED_BY_CALLBACK:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_LOGIN_DENIED:
            return HP_PYRO_REFUSED;
        default:
            return HP_PYRO_RETRY; /* refused connection, timeout, reset, ... */
        }
    }
    if (rs->status >= 200 && rs->status < 300) return HP_PYRO_SENT;
    if (rs->status == 408 || rs->status == 429 || rs->status >= 500) return HP_PYRO_RETRY;
    return HP_PYRO_REFUSED;
}

#define _GNU_SOURCE
#include "push_http.h"
#include "../heapprof/pyroscope_wire.h"
#include "../heapprof/version.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define FIRST_BACKOFF_MS 500 /* then 1 s, 2 s, 4 s, ... */
#define MAX_BACKOFF_MS 30000

int push_conn_open(push_conn *c) {
    c->api =
        (hp_curl_api){curl_global_init,  curl_easy_init,     curl_easy_setopt,  curl_easy_perform,
                      curl_easy_getinfo, curl_easy_reset,    curl_easy_cleanup, curl_easy_strerror,
                      curl_slist_append, curl_slist_free_all};
    if (c->api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c->easy = c->api.easy_init())) {
        cli_error("push: cannot initialise libcurl");
        return -1;
    }
    return 0;
}

void push_conn_close(push_conn *c) {
    if (c->easy) c->api.easy_cleanup(c->easy);
    c->easy = NULL;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts)) {
    }
}

enum hp_pyro_outcome push_send(push_conn *c, const char *url, const char *content_type,
                               const void *body, size_t len, hp_pyro_response *rs, int *attempts) {
    hp_pyro_request rq = {
        .url = url,
        .content_type = content_type,
        .tenant = c->tenant,
        .user_agent = "heapprof/" HEAPPROF_VERSION,
        .body = body,
        .len = len,
        .connect_timeout_ms = c->timeout_ms < 10000 ? c->timeout_ms : 10000,
        .timeout_ms = c->timeout_ms,
    };
    long backoff = FIRST_BACKOFF_MS;
    enum hp_pyro_outcome out = HP_PYRO_RETRY;
    for (*attempts = 0; *attempts < c->tries;) {
        hp_pyro_post(&c->api, c->easy, &rq, rs);
        ++*attempts;
        out = hp_pyro_outcome(rs);
        if (out != HP_PYRO_RETRY || *attempts == c->tries) break;
        long wait = rs->retry_after_s > 0 ? rs->retry_after_s * 1000 : backoff;
        sleep_ms(wait < MAX_BACKOFF_MS ? wait : MAX_BACKOFF_MS);
        backoff *= 2;
    }
    return out;
}

static const char *hint(const hp_pyro_response *rs) {
    if (rs->curl_code != CURLE_OK)
        return "is Pyroscope running there? (docs/pyroscope.md shows how to start one)";
    switch (rs->status) {
    case 400:
        return "check --app and --label (Pyroscope's name syntax: app{key=value,...})";
    case 401:
        return "the server is multi-tenant: give --tenant ID, or credentials as "
               "http://user:password@host";
    case 403:
        return "the credentials or tenant are not allowed to write";
    case 404:
        return "is --url the Pyroscope server's base URL (e.g. http://localhost:4040)?";
    case 413:
        return "the profile is larger than the server accepts "
               "(distributor.ingestion-body-limit-mb)";
    case 422:
        return "the server could not ingest this profile; profiles older than 1 h are refused "
               "by default (--now restamps them)";
    case 429:
        return "the server's ingestion rate limit was hit; try again later or raise "
               "distributor.ingestion-rate-limit-mb";
    default:
        return rs->status >= 500 ? "the server failed; see its log" : "unexpected answer";
    }
}

void push_explain(const hp_pyro_response *rs, int attempts, char *out, size_t cap) {
    char tries[32] = "";
    if (attempts > 1) snprintf(tries, sizeof tries, " (after %d tries)", attempts);
    if (rs->curl_code != CURLE_OK) {
        snprintf(out, cap, "%s%s; %s", rs->error, tries, hint(rs));
        return;
    }
    char msg[512];
    hp_pyro_server_message(rs->body, rs->body_len, msg, sizeof msg);
    snprintf(out, cap, "HTTP %ld%s%s%s; %s", rs->status, msg[0] ? ": " : "", msg, tries, hint(rs));
}

int push_failure_is_global(const hp_pyro_response *rs) {
    if (rs->curl_code != CURLE_OK) return 1;
    return rs->status == 400 || rs->status == 401 || rs->status == 403 || rs->status == 404 ||
           rs->status == 405 || rs->status == 429 || rs->status >= 500;
}

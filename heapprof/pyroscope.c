#define _GNU_SOURCE
#include "pyroscope.h"
#include "../alloc/counters.h"
#include "../alloc/thread_state.h"
#include "config.h"
#include "dump.h"
#include "log.h"
#include "pyroscope_curl.h"
#include "pyroscope_delta.h"
#include "pyroscope_wire.h"
#include "version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONNECT_TIMEOUT_MS 2000
#define TOTAL_TIMEOUT_MS 10000
/* At exit, how long to let an upload in flight notice and stop. */
#define EXIT_WAIT_MS 2000

/* Touched by the background thread only, except where atomic. */
static struct {
    int curl; /* 0 not loaded yet, 1 loaded, -1 unavailable: export off */
    hp_curl_api api;
    CURL *easy;
    char app[256];
    char url_shown[1024]; /* the URL without credentials, for messages */
    hp_pyro_baseline base;
    uint64_t last_delivered_ns; /* wall-clock time of the last delivered upload */
    unsigned streak;            /* uploads dropped in a row */
} ex;

static atomic_uint delivered, dropped;
static atomic_int in_flight, stopping, exit_bracket, reported;

uint64_t hp_pyroscope_interval_ns(void) {
    if (!hp_cfg.pyroscope_url[0]) return 0;
    double s = hp_cfg.interval > 0 ? hp_cfg.interval : HP_PYRO_DEFAULT_INTERVAL_S;
    return (uint64_t)(s * 1e9);
}

/*
 * libcurl and OpenSSL allocate on this thread, and some of it is freed on
 * another: OpenSSL's atexit cleanup runs on the thread that calls exit().
 * The thread is in internal mode, so these blocks are the profiler's; with
 * the slow-path guard raised as well, the allocator tracks each one as the
 * profiler's own block (alloc/slow_path.c: internal && busy > 1), and a free
 * on any thread is then charged to the profiler, not to the program.
 */
static void foreign_code_enter(void) {
    hp_self.busy++;
}
static void foreign_code_leave(void) {
    hp_self.busy--;
}

static int is_stopping(void) {
    return atomic_load(&stopping);
}

static void report(void) {
    unsigned d = atomic_load(&delivered), x = atomic_load(&dropped);
    hp_log(x ? HP_LOG_INFO : HP_LOG_DEBUG, "pyroscope: %u profile(s) delivered to %s, %u dropped",
           d, ex.url_shown, x);
}

static void report_at_exit(void) {
    if (!atomic_exchange(&reported, 1)) report();
}

/*
 * Exit. atexit handlers run last-registered first, so these two bracket the
 * handlers libcurl's start-up registered (OpenSSL's cleanup, which
 * allocates and frees on the exiting thread):
 *   before_foreign_exit, registered after libcurl started, runs first: it
 *     stops any transfer (none may use OpenSSL while it is torn down),
 *     reports, and makes the exiting thread's allocations the profiler's;
 *   after_foreign_exit, registered just before libcurl started, runs after
 *     them and gives the thread back to the program (its own atexit
 *     handlers, the exit dump).
 * report_at_exit reports when libcurl never started (a name that does not
 * resolve).
 */
static void before_foreign_exit(void) {
    atomic_store(&stopping, 1);
    for (int waited = 0; atomic_load(&in_flight) && waited < EXIT_WAIT_MS; waited += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    report_at_exit();
    hp_internal_enter();
    atomic_store(&exit_bracket, 1);
}

static void after_foreign_exit(void) {
    if (atomic_exchange(&exit_bracket, 0)) hp_internal_leave();
}

/* The service name: HEAPPROF_APP, else the program's name with anything
 * Pyroscope does not allow in a name replaced. */
static void choose_app(void) {
    const char *src = hp_cfg.app[0] ? hp_cfg.app : program_invocation_short_name;
    size_t n = 0;
    for (; src && src[n] && n < sizeof ex.app - 1; n++) {
        char c = src[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '/' || c == '-';
        ex.app[n] = ok ? c : '_';
    }
    ex.app[n] = 0;
    if (!n) snprintf(ex.app, sizeof ex.app, "unknown");
}

/* scheme://user:password@host/... -> scheme://host/... */
static void hide_credentials(const char *url, char *out, size_t cap) {
    const char *host = strstr(url, "://"), *at = NULL;
    host = host ? host + 3 : url;
    for (const char *c = host; *c && *c != '/'; c++)
        if (*c == '@') at = c;
    if (at)
        snprintf(out, cap, "%.*s%s", (int)(host - url), url, at + 1);
    else
        snprintf(out, cap, "%s", url);
}

static int start_curl(void) {
    char err[512];
    atexit(after_foreign_exit);
    foreign_code_enter();
    int rc = hp_curl_load(&ex.api, err, sizeof err);
    if (rc == 0) {
        /* what curl_easy_init would do implicitly; a program using libcurl
         * itself shares it (reference counted) */
        if (ex.api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
            !(ex.easy = ex.api.easy_init())) {
            snprintf(err, sizeof err, "libcurl failed to initialise");
            rc = -1;
        }
    }
    foreign_code_leave();
    if (rc) {
        hp_info(
            "HEAPPROF_PYROSCOPE_URL is set but libcurl cannot be used (%s); install libcurl4 to "
            "push profiles to Pyroscope; pushing is off",
            err);
        ex.curl = -1;
        return -1;
    }
    ex.curl = 1;
    atexit(before_foreign_exit);
    return 0;
}

/* libcurl resolves names on a thread of its own, which would not be the
 * profiler's; resolving here and handing it the addresses (up to 4, so it
 * can still fall back from IPv6 to IPv4) avoids that. Returns 0 with
 * "host:port:addr[,addr...]" in out ("" for a numeric host), or -1 when
 * the name does not resolve. */
static int resolve(char *out, size_t cap, char *host, size_t host_cap) {
    int port;
    out[0] = 0;
    if (hp_pyro_url_host(hp_cfg.pyroscope_url, host, host_cap, &port) || host[0] == '[') return 0;
    unsigned char bin[16];
    if (inet_pton(AF_INET, host, bin) == 1) return 0; /* an address already */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) || !res) return -1;
    size_t n = (size_t)snprintf(out, cap, "%s:%d:", host, port);
    int count = 0;
    for (struct addrinfo *a = res; a && count < 4 && n < cap; a = a->ai_next) {
        char addr[INET6_ADDRSTRLEN] = "";
        if (a->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr, addr, sizeof addr);
        else if (a->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, addr, sizeof addr);
        if (!addr[0] || strstr(out, addr)) continue;
        int v6 = strchr(addr, ':') != NULL;
        n += (size_t)snprintf(out + n, cap - n, "%s%s%s%s", count ? "," : "", v6 ? "[" : "", addr,
                              v6 ? "]" : "");
        count++;
    }
    freeaddrinfo(res);
    if (!count || n >= cap) out[0] = 0;
    return 0;
}

static int adjust(hp_profile_snapshot *s, void *arg) {
    return hp_pyro_baseline_apply(arg, s);
}

static void dropped_one(const char *why) {
    unsigned n = atomic_fetch_add(&dropped, 1) + 1;
    /* one line when a streak starts, not one per interval while it lasts */
    if (ex.streak++ == 0)
        hp_info(
            "pyroscope: profile not delivered to %s: %s; dropping profiles until it takes them "
            "(%u dropped so far; allocations since the last delivered profile go with the next)",
            ex.url_shown, why, n);
}

static void delivered_one(uint64_t time_ns) {
    hp_pyro_baseline_commit(&ex.base);
    ex.last_delivered_ns = time_ns;
    atomic_fetch_add(&delivered, 1);
    if (ex.streak) hp_info("pyroscope: %s takes profiles again", ex.url_shown);
    ex.streak = 0;
}

/* Sends a built profile. Curl runs only inside in_flight, and only while the
 * process is not exiting (before_foreign_exit waits for it). */
static void upload(const hp_buf *pprof, uint64_t time_ns, uint64_t uptime_ns) {
    hp_buf name = {0}, url = {0}, body = {0};
    char boundary[64], type[128], resolved[512], why[600], host[256];
    uint64_t from_ns = ex.last_delivered_ns ? ex.last_delivered_ns : time_ns - uptime_ns;
    hp_pyro_name(&name, ex.app, NULL, 0);
    hp_pyro_ingest_url(&url, hp_cfg.pyroscope_url, name.data ? name.data : "", HP_PYRO_SPY_NAME,
                       (int64_t)(from_ns / 1000000000u), (int64_t)(time_ns / 1000000000u));
    hp_pyro_multipart(&body, boundary, pprof->data, pprof->len, time_ns);
    snprintf(type, sizeof type, "multipart/form-data; boundary=%s", boundary);
    int unresolved = resolve(resolved, sizeof resolved, host, sizeof host);
    hp_pyro_request rq = {
        .url = url.data,
        .content_type = type,
        .user_agent = "heapprof/" HEAPPROF_VERSION,
        .resolve = resolved[0] ? resolved : NULL,
        .body = body.data,
        .len = body.len,
        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
        .timeout_ms = TOTAL_TIMEOUT_MS,
        .abort_requested = is_stopping,
    };
    static hp_pyro_response rs; /* this thread only; kept off its stack */
    int outcome = -1;
    if (name.failed || url.failed || body.failed) {
        snprintf(why, sizeof why, "out of memory");
    } else if (unresolved) {
        snprintf(why, sizeof why, "cannot resolve host name '%s'", host);
    } else {
        /* in_flight before looking at stopping: before_foreign_exit sets
         * stopping first, so either it waits for this or this sees it */
        atomic_store(&in_flight, 1);
        if (!atomic_load(&stopping) && (ex.curl == 1 || start_curl() == 0) && !ex.easy) {
            foreign_code_enter(); /* a fork left the handle behind */
            ex.easy = ex.api.easy_init();
            foreign_code_leave();
        }
        if (!atomic_load(&stopping) && ex.easy) {
            foreign_code_enter();
            hp_pyro_post(&ex.api, ex.easy, &rq, &rs);
            foreign_code_leave();
            outcome = (int)hp_pyro_outcome(&rs);
        }
        atomic_store(&in_flight, 0);
        if (outcome < 0 && ex.curl == 1 && !ex.easy && !is_stopping())
            snprintf(why, sizeof why, "libcurl cannot create a handle");
    }
    if (outcome == HP_PYRO_SENT) {
        delivered_one(time_ns);
    } else if (is_stopping() || ex.curl < 0) {
        /* cut off by the program's exit, or libcurl is missing (said once) */
    } else if (outcome < 0) {
        dropped_one(why);
    } else if (rs.curl_code != CURLE_OK) {
        dropped_one(rs.error);
    } else {
        char msg[400];
        hp_pyro_server_message(rs.body, rs.body_len, msg, sizeof msg);
        snprintf(why, sizeof why, "HTTP %ld%s%s", rs.status, msg[0] ? ": " : "", msg);
        dropped_one(why);
    }
    hp_buf_free(&name);
    hp_buf_free(&url);
    hp_buf_free(&body);
}

void hp_pyroscope_push(void) {
    if (!hp_cfg.pyroscope_url[0] || ex.curl < 0 || is_stopping()) return;
    if (hp_cfg.rate <= 0) {
        hp_info(
            "HEAPPROF_PYROSCOPE_URL is set but HEAPPROF_RATE=0 records no stacks; pushing is off");
        ex.curl = -1;
        return;
    }
    if (!ex.app[0]) { /* the first upload */
        char err[1200];
        if (hp_pyro_check_url(hp_cfg.pyroscope_url, err, sizeof err)) {
            hp_info("HEAPPROF_PYROSCOPE_URL: %s; pushing is off", err);
            ex.curl = -1;
            return;
        }
        choose_app();
        hide_credentials(hp_cfg.pyroscope_url, ex.url_shown, sizeof ex.url_shown);
        atexit(report_at_exit);
    }
    hp_buf pprof = {0};
    uint64_t time_ns, uptime_ns;
    if (hp_dump_pprof_now(&pprof, adjust, &ex.base, &time_ns, &uptime_ns))
        dropped_one("out of memory while building the profile");
    else
        upload(&pprof, time_ns, uptime_ns);
    hp_buf_free(&pprof);
}

void hp_pyroscope_after_fork_child(void) {
    /* The handle's connection is the parent's socket: abandon it (a small
     * leak) rather than close or reuse what the parent still talks on. The
     * child reports its own uploads. */
    ex.easy = NULL;
    ex.streak = 0;
    atomic_store(&in_flight, 0);
    atomic_store(&delivered, 0);
    atomic_store(&dropped, 0);
}

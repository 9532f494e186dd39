#define _GNU_SOURCE
#include "pyroscope_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Label keys and service names as the server's labelset package allows
 * (api/model/labelset/validate.go). */
static int key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
}

static int app_char(char c) {
    return key_char(c) || c == '-' || c == '/';
}

/* Series label limits of the server's validation (§C.8). */
#define MAX_KEY_LEN 1024
#define MAX_VALUE_LEN 2048

int hp_pyro_check_app(const char *app, char *err, size_t cap) {
    if (!app || !*app) {
        snprintf(err, cap, "the application name is empty; give one such as --app myservice");
        return -1;
    }
    for (const char *c = app; *c; c++) {
        if (app_char(*c)) continue;
        if (*c == '{')
            snprintf(err, cap,
                     "application name '%s': give labels with --label KEY=VALUE, not in braces",
                     app);
        else
            snprintf(err, cap,
                     "application name '%s': character '%c' is not allowed; use letters, digits "
                     "and _ . / -",
                     app, *c);
        return -1;
    }
    return 0;
}

int hp_pyro_check_label(const char *key, const char *value, char *err, size_t cap) {
    if (!key || !*key) {
        snprintf(err, cap, "label '=%s': the key is empty; give KEY=VALUE", value ? value : "");
        return -1;
    }
    for (const char *c = key; *c; c++) {
        if (key_char(*c)) continue;
        snprintf(err, cap,
                 "label key '%s': character '%c' is not allowed; use letters, digits, _ and .", key,
                 *c);
        return -1;
    }
    if (!strncmp(key, "__", 2)) {
        snprintf(err, cap, "label key '%s': keys starting with __ are reserved by Pyroscope", key);
        return -1;
    }
    if (strlen(key) > MAX_KEY_LEN) {
        snprintf(err, cap, "label key '%.40s...': longer than %d bytes", key, MAX_KEY_LEN);
        return -1;
    }
    if (!value || !*value) {
        /* the server drops a label with an empty value without a word */
        snprintf(err, cap, "label '%s': the value is empty; give %s=VALUE", key, key);
        return -1;
    }
    size_t n = strlen(value);
    if (value[0] == ' ' || value[n - 1] == ' ') {
        snprintf(err, cap, "label '%s=%s': the server trims spaces around values; remove them", key,
                 value);
        return -1;
    }
    for (const char *c = value; *c; c++) {
        if (*c == ',' || *c == '}') {
            /* the name syntax app{k=v,...} has no escaping */
            snprintf(err, cap,
                     "label '%s=%s': values cannot contain '%c' (Pyroscope's name syntax "
                     "has no escaping)",
                     key, value, *c);
            return -1;
        }
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            snprintf(err, cap, "label '%s': the value contains a control character", key);
            return -1;
        }
    }
    if (n > MAX_VALUE_LEN) {
        snprintf(err, cap, "label '%s': the value is longer than %d bytes", key, MAX_VALUE_LEN);
        return -1;
    }
    return 0;
}

static int by_key(const void *a, const void *b) {
    return strcmp(((const hp_pyro_label *)a)->key, ((const hp_pyro_label *)b)->key);
}

void hp_pyro_name(hp_buf *out, const char *app, const hp_pyro_label *labels, size_t n) {
    hp_buf_append(out, app, strlen(app));
    if (!n) return;
    hp_pyro_label *sorted = hp_malloc(n * sizeof *sorted);
    if (!sorted) {
        out->failed = 1;
        return;
    }
    memcpy(sorted, labels, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_key);
    hp_buf_append(out, "{", 1);
    for (size_t i = 0; i < n; i++)
        hp_buf_printf(out, "%s%s=%s", i ? "," : "", sorted[i].key, sorted[i].value);
    hp_buf_append(out, "}", 1);
    hp_free(sorted);
}

/* Length of "http://" or "https://", 0 for anything else. */
static size_t scheme_len(const char *url) {
    if (!strncmp(url, "http://", 7)) return 7;
    if (!strncmp(url, "https://", 8)) return 8;
    return 0;
}

int hp_pyro_check_url(const char *url, char *err, size_t cap) {
    size_t s = url ? scheme_len(url) : 0;
    if (!s) {
        snprintf(err, cap,
                 "URL '%s': give an http:// or https:// URL such as http://localhost:4040",
                 url ? url : "");
        return -1;
    }
    if (strchr(url, '?') || strchr(url, '#')) {
        snprintf(err, cap,
                 "URL '%s': give the server's base URL without a query (heapprof adds "
                 "/ingest and its parameters)",
                 url);
        return -1;
    }
    char host[256];
    int port;
    if (hp_pyro_url_host(url, host, sizeof host, &port) || port <= 0 || port > 65535) {
        snprintf(err, cap, "URL '%s': no host name or a bad port; give e.g. http://localhost:4040",
                 url);
        return -1;
    }
    for (const char *c = url; *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f) {
            snprintf(err, cap, "URL '%s': contains a space or control character", url);
            return -1;
        }
    }
    return 0;
}

int hp_pyro_url_host(const char *url, char *host, size_t cap, int *port) {
    size_t s = scheme_len(url);
    if (!s) return -1;
    const char *h = url + s, *end = h + strcspn(h, "/?#");
    const char *at = memrchr(h, '@', (size_t)(end - h)); /* user:password@host */
    if (at) h = at + 1;
    const char *colon = NULL, *name_end;
    if (*h == '[') { /* [IPv6 literal] */
        const char *close = memchr(h, ']', (size_t)(end - h));
        if (!close) return -1;
        name_end = close + 1;
        if (name_end < end && *name_end == ':')
            colon = name_end;
        else if (name_end != end)
            return -1;
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        name_end = colon ? colon : end;
    }
    size_t n = (size_t)(name_end - h);
    if (n == 0 || n >= cap) return -1;
    memcpy(host, h, n);
    host[n] = 0;
    *port = s == 8 ? 443 : 80;
    if (colon) {
        char *stop;
        long p = strtol(colon + 1, &stop, 10);
        if (stop != end || colon + 1 == end) return -1;
        *port = (int)p;
    }
    return 0;
}

static void url_encode(hp_buf *out, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            hp_buf_append(out, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            hp_buf_append(out, e, 3);
        }
    }
}

void hp_pyro_ingest_url(hp_buf *out, const char *base, const char *name, const char *spy,
                        int64_t from_s, int64_t until_s) {
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    hp_buf_append(out, base, n);
    if (n < 7 || strncmp(base + n - 7, "/ingest", 7)) hp_buf_append(out, "/ingest", 7);
    hp_buf_append(out, "?name=", 6);
    url_encode(out, name);
    /* Pyroscope reads an all-digit value of 10 digits as seconds (§C.2). */
    hp_buf_printf(out, "&from=%lld&until=%lld&spyName=", (long long)from_s, (long long)until_s);
    url_encode(out, spy);
}

int hp_pyro_check_spy(const char *spy, char *err, size_t cap) {
    /* these make the server rewrite function names as if from Python, Ruby or .NET */
    static const char *const rewriting[] = {"pyspy", "rbspy", "scripting", "dotnetspy"};
    if (!spy || !*spy) {
        snprintf(err, cap, "the spy name is empty; leave the default (%s)", HP_PYRO_SPY_NAME);
        return -1;
    }
    for (const char *c = spy; *c; c++) {
        if (app_char(*c)) continue;
        snprintf(err, cap,
                 "spy name '%s': character '%c' is not allowed; use letters, digits and _ . -", spy,
                 *c);
        return -1;
    }
    for (size_t i = 0; i < sizeof rewriting / sizeof *rewriting; i++) {
        if (strcmp(spy, rewriting[i])) continue;
        snprintf(err, cap,
                 "spy name '%s' makes Pyroscope rewrite C/C++ function names; use another "
                 "(default %s)",
                 spy, HP_PYRO_SPY_NAME);
        return -1;
    }
    return 0;
}

static void part_header(hp_buf *b, const char *boundary, const char *name, const char *filename,
                        const char *type) {
    hp_buf_printf(b,
                  "--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                  "Content-Type: %s\r\n\r\n",
                  boundary, name, filename, type);
}

void hp_pyro_multipart(hp_buf *body, char boundary[64], const void *pprof, size_t len,
                       uint64_t seed) {
    /* The boundary must not occur in the data; a gzip stream is close to
     * random bytes, so a fresh 64-bit tag almost always works first time. */
    for (uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;;
         x = x * 6364136223846793005ull + 1442695040888963407ull) {
        snprintf(boundary, 64, "heapprof-%016llx", (unsigned long long)x);
        if (!memmem(pprof, len, boundary, strlen(boundary))) break;
    }
    body->len = 0;
    part_header(body, boundary, "profile", "profile.pprof", "application/octet-stream");
    hp_buf_append(body, pprof, len);
    hp_buf_append(body, "\r\n", 2);
    part_header(body, boundary, "sample_type_config", "sample_type_config.json",
                "application/json");
    hp_buf_append(body, HP_PYRO_SAMPLE_TYPE_CONFIG, sizeof HP_PYRO_SAMPLE_TYPE_CONFIG - 1);
    hp_buf_printf(body, "\r\n--%s--\r\n", boundary);
}

/* Copies a JSON string literal's content starting after its opening quote. */
static void json_string_at(const char *p, const char *end, char *out, size_t cap) {
    size_t n = 0;
    for (; p < end && *p != '"' && n + 1 < cap; p++) {
        char c = *p;
        if (c == '\\' && p + 1 < end) {
            c = *++p;
            if (c == 'n' || c == 't' || c == 'r')
                c = ' ';
            else if (c == 'u') { /* keep it simple: one placeholder for \uXXXX */
                c = '?';
                p += p + 4 < end ? 4 : 0;
            }
        }
        out[n++] = c;
    }
    out[n] = 0;
}

void hp_pyro_server_message(const char *body, size_t len, char *out, size_t cap) {
    out[0] = 0;
    if (!body || !len || cap < 2) return;
    const char *end = body + len, *key = memmem(body, len, "\"message\"", 9);
    if (key) {
        const char *p = key + 9;
        while (p < end && (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n'))
            p++;
        if (p < end && *p == '"') {
            json_string_at(p + 1, end, out, cap);
            return;
        }
    }
    size_t n = 0;
    for (const char *p = body; p < end && *p != '\n' && n + 1 < cap; p++)
        out[n++] = (unsigned char)*p < 0x20 ? ' ' : *p;
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = 0;
}

/* heapprof push's connection to Pyroscope: libcurl (linked), one reused
 * handle, retries with exponential backoff for answers that may change
 * (429, 5xx, no connection), and one-line explanations of failures. */
#ifndef HP_CLI_PUSH_HTTP_H
#define HP_CLI_PUSH_HTTP_H

#include "../heapprof/pyroscope_http.h"

typedef struct push_conn {
    hp_curl_api api;
    CURL *easy;
    const char *tenant; /* X-Scope-OrgID, or NULL */
    int tries;          /* attempts per upload, >= 1 */
    long timeout_ms;    /* per attempt */
} push_conn;

/* Returns 0, or -1 after an error line. */
int push_conn_open(push_conn *c);
void push_conn_close(push_conn *c);

/* Uploads one body, retrying as described; *rs is the last attempt's
 * outcome and *attempts how many were made. */
enum hp_pyro_outcome push_send(push_conn *c, const char *url, const char *content_type,
                               const void *body, size_t len, hp_pyro_response *rs, int *attempts);

/* "HTTP 422: <server's message>; <what to do>" or "<curl's reason> (after N
 * tries); <what to do>", for one error line. */
void push_explain(const hp_pyro_response *rs, int attempts, char *out, size_t cap);

/* Whether a refusal concerns every upload (bad name, no tenant, wrong
 * endpoint, unreachable server) rather than this one profile. */
int push_failure_is_global(const hp_pyro_response *rs);

#endif

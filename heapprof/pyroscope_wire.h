/*
 * What a Pyroscope /ingest request looks like on the wire (FORMATS.md §C):
 * the `name` query value app{k=v,...} and its validation, the URL with
 * name/from/until/spyName, and the multipart body with the two file parts
 * `profile` and `sample_type_config`. Shared by the CLI (`heapprof push`)
 * and the runtime's continuous export; no I/O, memory from hp_buf only.
 */
#ifndef HP_PYROSCOPE_WIRE_H
#define HP_PYROSCOPE_WIRE_H

#include "internal_alloc.h"

#include <stddef.h>
#include <stdint.h>

#define HP_PYRO_HIDDEN __attribute__((visibility("hidden")))

/* spyName: a neutral one. pyspy, rbspy, scripting and dotnetspy make the
 * server rewrite function names (§C.2). */
#define HP_PYRO_SPY_NAME "heapprof"

/* The sample types heapprof sends, in Go's order, with Go's units, so the
 * server files them as memory:alloc_space:bytes:space:bytes etc. (§C.6). */
#define HP_PYRO_SAMPLE_TYPE_CONFIG                                                                 \
    "{\"alloc_objects\":{\"units\":\"objects\"},"                                                  \
    "\"alloc_space\":{\"units\":\"bytes\"},"                                                       \
    "\"inuse_objects\":{\"units\":\"objects\",\"aggregation\":\"average\"},"                       \
    "\"inuse_space\":{\"units\":\"bytes\",\"aggregation\":\"average\"}}"

typedef struct hp_pyro_label {
    const char *key, *value;
} hp_pyro_label;

/* Validation per §C.5 (the server's labelset parser). Each returns 0, or -1
 * with a sentence naming the problem and the fix in err. */
int hp_pyro_check_app(const char *app, char *err, size_t cap) HP_PYRO_HIDDEN;
int hp_pyro_check_label(const char *key, const char *value, char *err, size_t cap) HP_PYRO_HIDDEN;

/* "app{k1=v1,k2=v2}" with keys sorted (the SDK's canonical form), or just
 * "app" without labels. Inputs must have passed the checks above. */
void hp_pyro_name(hp_buf *out, const char *app, const hp_pyro_label *labels,
                  size_t n) HP_PYRO_HIDDEN;

/* An http(s) base URL such as http://host:4040 (a path prefix allowed, a
 * trailing /ingest accepted): 0, or -1 with the problem in err. */
int hp_pyro_check_url(const char *url, char *err, size_t cap) HP_PYRO_HIDDEN;

/* <base>/ingest?name=..&from=..&until=..&spyName=.. (no format=: the body
 * is multipart, and format wins over the content type, §C.3). */
void hp_pyro_ingest_url(hp_buf *out, const char *base, const char *name, const char *spy,
                        int64_t from_s, int64_t until_s) HP_PYRO_HIDDEN;

/* A spyName the server leaves alone: 0, or -1 with the problem in err. */
int hp_pyro_check_spy(const char *spy, char *err, size_t cap) HP_PYRO_HIDDEN;

/* Host name and port of an http(s) URL, for resolving it ahead of libcurl.
 * Returns 0, or -1 if the URL has no host. */
int hp_pyro_url_host(const char *url, char *host, size_t cap, int *port) HP_PYRO_HIDDEN;

/* The multipart/form-data body: part `profile` (filename profile.pprof) with
 * the pprof bytes, part `sample_type_config` (filename
 * sample_type_config.json). Both carry filenames because the server reads
 * only file parts (§C.3). Writes the boundary (< 64 bytes) into boundary;
 * `seed` varies it between calls. */
void hp_pyro_multipart(hp_buf *body, char boundary[64], const void *pprof, size_t len,
                       uint64_t seed) HP_PYRO_HIDDEN;

/* The server's explanation in an error body: the "message" of a JSON error
 * ({"code":..,"message":".."}), else the body's first line; "" if empty.
 * Control characters become spaces so it fits in one log line. */
void hp_pyro_server_message(const char *body, size_t len, char *out, size_t cap) HP_PYRO_HIDDEN;

#endif

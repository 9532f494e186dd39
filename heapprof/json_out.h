/* JSON text helpers for the in-process writers. The runtime writes JSON with
 * these rather than cJSON because libcjson's allocator hooks are global to
 * the process: setting them would change the host program's cJSON, and not
 * setting them would route our allocations through the profiled malloc.
 * The CLI, outside the process, uses cJSON. */
#ifndef HP_JSON_OUT_H
#define HP_JSON_OUT_H

#include "internal_alloc.h"

/* Appends s as a JSON string literal (quotes included), escaping as RFC 8259
 * requires and replacing invalid UTF-8 bytes with U+FFFD. */
void hp_json_string(hp_buf *b, const char *s) __attribute__((visibility("hidden")));

#endif

/* libcurl for the continuous export, dlopen'd on first use: the preloaded
 * library does not link it, so a program that does not push to Pyroscope
 * never has it (or OpenSSL) mapped. */
#ifndef HP_PYROSCOPE_CURL_H
#define HP_PYROSCOPE_CURL_H

#include "pyroscope_http.h"

#include <stddef.h>

/* Fills api from libcurl.so.4. Returns 0, or -1 with the reason in err. */
int hp_curl_load(hp_curl_api *api, char *err, size_t cap) __attribute__((visibility("hidden")));

#endif

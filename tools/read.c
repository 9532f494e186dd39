/* profile_read: loads a file, undoes gzip or zstd, and picks the reader by
 * content (JSON is DHAT, "heap profile:" or "heap_v2/" text is a legacy
 * heap profile of gperftools, Go or jemalloc, anything else is tried as
 * pprof). */
#define _GNU_SOURCE
#include "read.h"
#include "legacy_symbols.h"
#include "progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "heapprof: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    size_t cap = fstat(fileno(f), &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
    uint8_t *data = malloc(cap);
    size_t n = 0;
    progress bar;
    progress_start(&bar, "reading", cap);
    while (data) {
        if (n == cap) {
            uint8_t *t = realloc(data, cap *= 2);
            if (!t) break;
            data = t;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        if (!got) break;
        n += got;
        progress_update(&bar, n);
    }
    progress_end(&bar);
    int err = ferror(f) ? errno : 0; /* EISDIR for a directory */
    fclose(f);
    if (err) {
        fprintf(stderr, "heapprof: %s: %s\n", path, strerror(err));
        free(data);
        return NULL;
    }
    if (!data) fprintf(stderr, "heapprof: %s: out of memory\n", path);
    *len = n;
    return data;
}

static uint8_t *gunzip(const uint8_t *in, size_t len, size_t *out_len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) return NULL;
    size_t cap = len * 4 + 4096, n = 0;
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    int rc = Z_OK;
    while (out && rc == Z_OK) {
        if (n == cap) {
            uint8_t *t = realloc(out, cap *= 2);
            if (!t) break;
            out = t;
        }
        z.next_out = out + n;
        z.avail_out = (uInt)(cap - n);
        rc = inflate(&z, Z_NO_FLUSH);
        n = cap - z.avail_out;
        if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
        if (rc == Z_BUF_ERROR) rc = Z_OK;
        /* concatenated members (cat a.gz b.gz, bgzip) are one stream to gzip -d */
        if (rc == Z_STREAM_END && z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b)
            rc = inflateReset(&z);
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    *out_len = n;
    return out;
}

static uint8_t *unzstd(const uint8_t *in, size_t len, size_t *out_len) {
    unsigned long long size = ZSTD_getFrameContentSize(in, len);
    size_t cap =
        size != ZSTD_CONTENTSIZE_UNKNOWN && size != ZSTD_CONTENTSIZE_ERROR ? (size_t)size : len * 8;
    for (int tries = 0; tries < 6; tries++, cap *= 4) {
        uint8_t *out = malloc(cap + 1);
        if (!out) return NULL;
        size_t n = ZSTD_decompress(out, cap, in, len);
        if (!ZSTD_isError(n)) {
            *out_len = n;
            return out;
        }
        free(out);
        if (ZSTD_getErrorCode(n) != ZSTD_error_dstSize_tooSmall) return NULL;
    }
    return NULL;
}

profile *profile_read(const char *path) {
    size_t len;
    uint8_t *data = slurp(path, &len);
    if (!data) return NULL;
    if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        size_t n;
        uint8_t *plain = gunzip(data, len, &n);
        free(data);
        if (!plain) {
            fprintf(stderr, "heapprof: %s: damaged gzip data\n", path);
            return NULL;
        }
        data = plain;
        len = n;
    } else if (len >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f &&
               data[3] == 0xfd) {
        size_t n;
        uint8_t *plain = unzstd(data, len, &n);
        free(data);
        if (!plain) {
            fprintf(stderr, "heapprof: %s: damaged zstd data\n", path);
            return NULL;
        }
        data = plain;
        len = n;
    }
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r'))
        i++;
    profile *p;
    if (len == 0) {
        fprintf(stderr, "heapprof: %s: empty file\n", path);
        p = NULL;
    } else if (i < len && (data[i] == '{' || legacy_heap_detect((const char *)data + i, len - i))) {
        uint8_t *text = realloc(data, len + 1);
        if (text) {
            data = text;
            data[len] = 0;
        }
        p = !text            ? NULL
            : data[i] == '{' ? read_dhat((const char *)data, path)
                             : read_legacy_heap((char *)data + i, path);
    } else {
        p = read_pprof(data, len, path);
    }
    free(data);
    return p;
}

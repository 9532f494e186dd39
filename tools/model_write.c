/* Writing the model back out: pprof, DHAT JSON (optionally zstd), and
 * collapsed stacks for flamegraph.pl. Files are written atomically. */
#define _GNU_SOURCE
#include "../heapprof/id_map.h"
#include "../heapprof/internal_alloc.h"
#include "../heapprof/json_out.h"
#include "../heapprof/protobuf.h"
#include "model.h"
#include "output.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

/* ---- pprof ---- */

typedef struct pw {
    hp_buf out, strings, msg;
    hp_id_map strs, funcs, locs;
} pw;

static uint64_t pw_str(pw *w, const char *s) {
    if (!s || !*s) return 0;
    int added;
    uint32_t id =
        hp_id_map_get(&w->strs, hash_bytes(s, strlen(s), 14695981039346656037ull), &added);
    if (added) hp_pb_bytes(&w->strings, 6, s, strlen(s));
    return id;
}

static uint64_t pw_location(pw *w, const frame *f) {
    uint64_t key = 14695981039346656037ull;
    key = hash_bytes(&f->function, sizeof f->function, key); /* interned pointers */
    key = hash_bytes(&f->file, sizeof f->file, key);
    key = hash_bytes(&f->line, sizeof f->line, key);
    key = hash_bytes(&f->address, sizeof f->address, key);
    int added;
    uint32_t id = hp_id_map_get(&w->locs, key, &added);
    if (!added) return id;
    uint64_t fkey =
        hash_bytes(&f->file, sizeof f->file, hash_bytes(&f->function, sizeof f->function, 1));
    int fadded;
    uint32_t fid = hp_id_map_get(&w->funcs, fkey, &fadded);
    if (fadded) {
        w->msg.len = 0;
        hp_pb_varint(&w->msg, 1, fid);
        hp_pb_varint(&w->msg, 2, pw_str(w, f->function));
        hp_pb_varint(&w->msg, 3, pw_str(w, f->function));
        hp_pb_varint(&w->msg, 4, pw_str(w, f->file));
        hp_pb_bytes(&w->out, 5, w->msg.data, w->msg.len);
    }
    hp_buf line = {0};
    hp_pb_varint(&line, 1, fid);
    hp_pb_varint(&line, 2, (uint64_t)(f->line > 0 ? f->line : 0));
    w->msg.len = 0;
    hp_pb_varint(&w->msg, 1, id);
    hp_pb_varint(&w->msg, 3, f->address);
    hp_pb_bytes(&w->msg, 4, line.data ? line.data : "", line.len);
    hp_buf_free(&line);
    hp_pb_bytes(&w->out, 4, w->msg.data, w->msg.len);
    return id;
}

static void pw_label(pw *w, hp_buf *s, const char *key, const char *value) {
    hp_buf l = {0};
    hp_pb_varint(&l, 1, pw_str(w, key));
    hp_pb_varint(&l, 2, pw_str(w, value));
    hp_pb_bytes(s, 3, l.data ? l.data : "", l.len);
    hp_buf_free(&l);
}

static int gzip_buf(const hp_buf *in, hp_buf *out) {
    uLong bound = compressBound(in->len) + 64;
    char *dst = malloc(bound);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (!dst ||
        deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(dst);
        return -1;
    }
    z.next_in = (Bytef *)in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = (Bytef *)dst;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    deflateEnd(&z);
    if (rc == Z_STREAM_END) hp_buf_append(out, dst, bound - z.avail_out);
    free(dst);
    return rc == Z_STREAM_END ? 0 : -1;
}

/* A value as profile.proto's int64: rounded, and clamped where llround's
 * result is unspecified (a damaged input's 1e300 became INT64_MIN, a huge
 * negative). */
static int64_t pprof_value(double v) {
    if (v != v) return 0;
    if (v >= 0x1p63) return INT64_MAX;
    if (v <= -0x1p63) return INT64_MIN;
    return llround(v);
}

int profile_write_pprof(const profile *p, const char *path) {
    pw w;
    memset(&w, 0, sizeof w);
    hp_pb_bytes(&w.strings, 6, "", 0);
    for (size_t m = 0; m < p->nmetrics; m++) {
        hp_buf vt = {0};
        hp_pb_varint(&vt, 1, pw_str(&w, p->metrics[m].name));
        hp_pb_varint(&vt, 2, pw_str(&w, p->metrics[m].unit));
        hp_pb_bytes(&w.out, 1, vt.data ? vt.data : "", vt.len);
        hp_buf_free(&vt);
    }
    for (size_t i = 0; i < p->nsamples; i++) {
        const sample *s = &p->samples[i];
        uint64_t *locs = malloc((s->nframes + 1) * sizeof *locs), vals[MODEL_MAX_METRICS];
        if (!locs) return -1;
        for (size_t f = 0; f < s->nframes; f++)
            locs[f] = pw_location(&w, &s->frames[f]);
        for (size_t m = 0; m < p->nmetrics; m++)
            vals[m] = (uint64_t)pprof_value(s->values[m]);
        hp_buf sb = {0};
        hp_pb_packed(&sb, 1, locs, s->nframes);
        hp_pb_packed(&sb, 2, vals, p->nmetrics);
        if (s->tag) pw_label(&w, &sb, "tag", s->tag);
        for (size_t l = 0; l < s->nlabels; l++)
            pw_label(&w, &sb, s->labels[l].key, s->labels[l].value);
        hp_pb_bytes(&w.out, 2, sb.data ? sb.data : "", sb.len);
        hp_buf_free(&sb);
        free(locs);
    }
    hp_pb_varint(&w.out, 9, (uint64_t)p->time_nanos);
    hp_pb_varint(&w.out, 10, (uint64_t)p->duration_nanos);
    hp_buf pt = {0};
    hp_pb_varint(&pt, 1, pw_str(&w, "space"));
    hp_pb_varint(&pt, 2, pw_str(&w, "bytes"));
    hp_pb_bytes(&w.out, 11, pt.data, pt.len);
    hp_buf_free(&pt);
    hp_pb_varint(&w.out, 12, (uint64_t)(p->period > 0 ? p->period : 0));
    char comment[512];
    snprintf(comment, sizeof comment, "converted by heapprof from %s (%s)", p->path ? p->path : "?",
             p->source ? p->source : "?");
    hp_pb_varint(&w.out, 13, pw_str(&w, comment));
    hp_buf_append(&w.out, w.strings.data, w.strings.len);
    hp_buf gz = {0};
    int rc = -1;
    if (!w.out.failed && !w.strings.failed && gzip_buf(&w.out, &gz) == 0 && !gz.failed)
        rc = output_write(path, gz.data, gz.len);
    else
        fprintf(stderr, "heapprof: %s: out of memory while encoding\n", path);
    hp_buf_free(&gz);
    hp_buf_free(&w.out);
    hp_buf_free(&w.strings);
    hp_buf_free(&w.msg);
    hp_id_map_free(&w.strs);
    hp_id_map_free(&w.funcs);
    hp_id_map_free(&w.locs);
    return rc;
}

/* ---- DHAT ---- */

static double value_of(const profile *p, const sample *s, const char *name, const char *fallback) {
    int m = profile_metric(p, name);
    if (m < 0 && fallback) m = profile_metric(p, fallback);
    return m >= 0 ? s->values[m] : 0;
}

static void dhat_frame_text(const frame *f, char *out, size_t cap) {
    const char *fn = f->function && strcmp(f->function, "??") ? f->function : "???";
    int n = snprintf(out, cap, "0x%llX: ", (unsigned long long)f->address);
    if (f->file && f->line)
        snprintf(out + n, cap - (size_t)n, "%s (%s:%d)", fn, f->file, f->line);
    else if (f->module)
        snprintf(out + n, cap - (size_t)n, "%s (in %s)", fn, f->module);
    else
        snprintf(out + n, cap - (size_t)n, "%s", fn);
}

typedef struct point {
    uint32_t *fs;
    size_t nfs;
    double tb, tbk, tl, mb, mbk, gb, gbk, eb, ebk;
} point;

int profile_write_dhat(const profile *p, const char *path, int zstd) {
    hp_buf ftbl = {0}, b = {0};
    hp_id_map frame_ids = {0}, point_ids = {0};
    point *points = calloc(p->nsamples + 1, sizeof *points);
    size_t npoints = 0;
    hp_json_string(&ftbl, "[root]");
    for (size_t i = 0; points && i < p->nsamples; i++) {
        const sample *s = &p->samples[i];
        uint32_t *fs = malloc((s->nframes + 1) * sizeof *fs);
        size_t nfs = 0;
        char text[2048];
        for (size_t f = 0; fs && f <= s->nframes; f++) {
            if (f == s->nframes) {
                if (!s->tag) break;
                snprintf(text, sizeof text, "[tag: %s]", s->tag);
            } else {
                dhat_frame_text(&s->frames[f], text, sizeof text);
            }
            int added;
            uint32_t id = hp_id_map_get(&frame_ids, hash_bytes(text, strlen(text), 7), &added);
            if (added) {
                hp_buf_append(&ftbl, ",\n ", 3);
                hp_json_string(&ftbl, text);
            }
            fs[nfs++] = id;
        }
        /* the viewer rejects repeated stacks: samples with equal frames merge */
        int added;
        uint32_t pid = hp_id_map_get(&point_ids, hash_bytes(fs, nfs * sizeof *fs, nfs), &added);
        point *pt = &points[pid - 1];
        if (added) {
            npoints++;
            pt->fs = fs;
            pt->nfs = nfs;
        } else {
            free(fs);
        }
        pt->tb += value_of(p, s, "alloc_space", NULL);
        pt->tbk += value_of(p, s, "alloc_objects", NULL);
        pt->tl += value_of(p, s, "lifetime", NULL);
        pt->mb += value_of(p, s, "peak_space", "inuse_space");
        pt->mbk += value_of(p, s, "peak_objects", "inuse_objects");
        pt->gb += value_of(p, s, "gpeak_space", "inuse_space");
        pt->gbk += value_of(p, s, "gpeak_objects", "inuse_objects");
        pt->eb += value_of(p, s, "inuse_space", NULL);
        pt->ebk += value_of(p, s, "inuse_objects", NULL);
    }
    hp_buf_printf(&b, "{\"dhatFileVersion\": 2, \"mode\": \"converted by heapprof\", "
                      "\"verb\": \"Allocated\", \"bklt\": true, \"bkacc\": false, "
                      "\"tu\": \"\xC2\xB5s\", \"Mtu\": \"s\", \"tuth\": 10, \"cmd\": ");
    hp_json_string(&b, p->command ? p->command : (p->path ? p->path : ""));
    hp_buf_printf(&b, ", \"pid\": 0, \"te\": %lld, \"tg\": 0, \"sampleRate\": %lld,\n\"pps\": [",
                  (long long)(p->duration_nanos / 1000), (long long)p->period);
    for (size_t i = 0; i < npoints; i++) {
        point *pt = &points[i];
        hp_buf_printf(
            &b,
            "%s\n {\"tb\": %.0f, \"tbk\": %.0f, \"tl\": %.0f, \"mb\": %.0f, "
            "\"mbk\": %.0f, \"gb\": %.0f, \"gbk\": %.0f, \"eb\": %.0f, \"ebk\": %.0f, \"fs\": [",
            i ? "," : "", pt->tb, pt->tbk, pt->tl, pt->mb, pt->mbk, pt->gb, pt->gbk, pt->eb,
            pt->ebk);
        for (size_t f = 0; f < pt->nfs; f++)
            hp_buf_printf(&b, "%s%u", f ? ", " : "", pt->fs[f]);
        hp_buf_printf(&b, "]}");
        free(pt->fs);
    }
    hp_buf_printf(&b, "\n],\n\"ftbl\": [\n ");
    hp_buf_append(&b, ftbl.data, ftbl.len);
    hp_buf_printf(&b, "\n]\n}\n");
    int rc = -1;
    if (!points || b.failed || ftbl.failed || frame_ids.failed || point_ids.failed) {
        fprintf(stderr, "heapprof: %s: out of memory while encoding\n", path);
    } else if (zstd) {
        size_t bound = ZSTD_compressBound(b.len);
        char *dst = malloc(bound);
        size_t n = dst ? ZSTD_compress(dst, bound, b.data, b.len, 3) : 0;
        rc = dst && !ZSTD_isError(n) ? output_write(path, dst, n) : -1;
        free(dst);
    } else {
        rc = output_write(path, b.data, b.len);
    }
    free(points);
    hp_buf_free(&b);
    hp_buf_free(&ftbl);
    hp_id_map_free(&frame_ids);
    hp_id_map_free(&point_ids);
    return rc;
}

/* ---- collapsed stacks: "root;...;leaf value" per line ---- */

int profile_write_collapsed(const profile *p, const char *path, int metric) {
    hp_buf b = {0};
    for (size_t i = 0; i < p->nsamples; i++) {
        const sample *s = &p->samples[i];
        double v = s->values[metric];
        if (v <= 0) continue;
        if (s->tag) hp_buf_printf(&b, "[tag: %s];", s->tag);
        for (size_t f = s->nframes; f-- > 0;) {
            /* flamegraph.pl splits on ';' and the last space */
            for (const char *c = s->frames[f].function; *c; c++) {
                char ch = *c == ';' ? ':' : *c;
                hp_buf_append(&b, &ch, 1);
            }
            if (f) hp_buf_append(&b, ";", 1);
        }
        if (!s->nframes) hp_buf_printf(&b, "[no stack]");
        hp_buf_printf(&b, " %.0f\n", v);
    }
    int rc = b.failed ? -1 : output_write(path, b.data ? b.data : "", b.len);
    hp_buf_free(&b);
    return rc;
}

/*
 * pprof heap profile, shaped like Go's (FORMATS.md §B): sample types
 * alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 * inuse_space/bytes; period_type space/bytes and period = the sampling rate;
 * values already unbiased; one sample per site (stack, tag, label set) with
 * a string label "tag", the user's labels, and a numeric "bytes" label (the
 * mean block size). Locations carry return address - 1, their mapping
 * (path, build-id, file offset) and the inline chain as Lines, so the file
 * reads without the binary and can still be re-symbolized later.
 */
#define _GNU_SOURCE
#include "pprof_writer.h"
#include "id_map.h"
#include "protobuf.h"
#include "site_view.h"
#include "symbolize.h"
#include "tags.h"
#include "version.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

/* Profile message field numbers (profile.proto). */
enum {
    P_SAMPLE_TYPE = 1,
    P_SAMPLE,
    P_MAPPING,
    P_LOCATION,
    P_FUNCTION,
    P_STRING_TABLE,
    P_TIME_NANOS = 9,
    P_DURATION_NANOS,
    P_PERIOD_TYPE,
    P_PERIOD,
    P_COMMENT
};

typedef struct writer {
    hp_buf out;             /* the Profile message being built */
    hp_buf strings;         /* string_table fields, in index order */
    hp_id_map string_ids;   /* content hash -> index + 1 */
    hp_id_map location_ids; /* pc -> id */
    hp_id_map function_ids; /* (name, system name, file) pointers -> id */
    uint8_t *module_done;   /* mapping emitted, by module index */
    uint32_t module_cap;
    hp_buf msg, sub; /* scratch for nested messages */
} writer;

static uint64_t str_index(writer *w, const char *s) {
    if (!s || !*s) return 0;
    size_t n = strlen(s);
    int added;
    uint32_t id = hp_id_map_get(&w->string_ids, XXH3_64bits(s, n), &added);
    if (added) hp_pb_bytes(&w->strings, P_STRING_TABLE, s, n);
    return id; /* index 0 is "" */
}

static void value_type(writer *w, unsigned field, const char *type, const char *unit) {
    hp_buf m = {0};
    hp_pb_varint(&m, 1, str_index(w, type));
    hp_pb_varint(&m, 2, str_index(w, unit));
    hp_pb_bytes(&w->out, field, m.data ? m.data : "", m.len);
    hp_buf_free(&m);
}

static void emit_mapping(writer *w, const hp_module *mod) {
    if (mod->index >= w->module_cap) {
        uint32_t cap = w->module_cap ? w->module_cap : 64;
        while (cap <= mod->index)
            cap *= 2;
        uint8_t *t = hp_realloc(w->module_done, cap);
        if (!t) return;
        memset(t + w->module_cap, 0, cap - w->module_cap);
        w->module_done = t;
        w->module_cap = cap;
    }
    if (w->module_done[mod->index]) return;
    w->module_done[mod->index] = 1;
    hp_buf *m = &w->msg;
    m->len = 0;
    hp_pb_varint(m, 1, mod->index);
    hp_pb_varint(m, 2, mod->start);
    hp_pb_varint(m, 3, mod->limit);
    hp_pb_varint(m, 4, mod->file_offset);
    hp_pb_varint(m, 5, str_index(w, mod->path));
    hp_pb_varint(m, 6, str_index(w, mod->build_id));
    /* What this file holds for the module: pprof symbolizes a mapping
     * itself only when none of the first three is set. */
    hp_pb_varint(m, 7, mod->has_functions); /* has_functions */
    hp_pb_varint(m, 8, mod->has_lines);     /* has_filenames */
    hp_pb_varint(m, 9, mod->has_lines);     /* has_line_numbers */
    hp_pb_varint(m, 10, mod->has_lines);    /* has_inline_frames */
    hp_pb_bytes(&w->out, P_MAPPING, m->data, m->len);
}

static uint64_t function_id(writer *w, const hp_frame *f) {
    uint64_t key = XXH3_64bits(f, sizeof(const char *) * 3); /* the interned pointers */
    int added;
    uint32_t id = hp_id_map_get(&w->function_ids, key, &added);
    if (added) {
        hp_buf *m = &w->msg;
        m->len = 0;
        hp_pb_varint(m, 1, id);
        hp_pb_varint(m, 2, str_index(w, f->function));
        hp_pb_varint(m, 3, str_index(w, f->system_name));
        hp_pb_varint(m, 4, str_index(w, f->file));
        hp_pb_bytes(&w->out, P_FUNCTION, m->data, m->len);
    }
    return id;
}

/* A location for a return address, or a synthetic one (pc 0) named `name`. */
static uint64_t location_id(writer *w, uintptr_t pc, const char *name) {
    int added;
    uint64_t key = pc ? pc : XXH3_64bits(name, strlen(name)) | 1ull << 63;
    uint32_t id = hp_id_map_get(&w->location_ids, key, &added);
    if (!added) return id;
    union {
        hp_location loc;
        char room[sizeof(hp_location) + sizeof(hp_frame)];
    } synthetic;
    synthetic.loc.pc = 0;
    synthetic.loc.module = NULL;
    synthetic.loc.nframes = 1;
    synthetic.loc.frames[0] = (hp_frame){name, name, NULL, 0};
    const hp_location *loc = pc ? hp_symbolize(pc) : &synthetic.loc;
    uint64_t fids[64];
    uint32_t n = loc->nframes < 64 ? loc->nframes : 64;
    for (uint32_t i = 0; i < n; i++)
        fids[i] = function_id(w, &loc->frames[i]);
    if (loc->module) emit_mapping(w, loc->module);
    hp_buf *m = &w->msg;
    m->len = 0;
    hp_pb_varint(m, 1, id);
    if (loc->module) hp_pb_varint(m, 2, loc->module->index);
    if (pc) hp_pb_varint(m, 3, pc - 1); /* the call instruction, as Go writes it */
    for (uint32_t i = 0; i < n; i++) {  /* inlined callees first, the caller last */
        hp_buf *line = &w->sub;
        line->len = 0;
        hp_pb_varint(line, 1, fids[i]);
        hp_pb_varint(line, 2, (uint64_t)loc->frames[i].line);
        hp_pb_bytes(m, 4, line->data ? line->data : "", line->len);
    }
    hp_pb_bytes(&w->out, P_LOCATION, m->data, m->len);
    return id;
}

static int64_t rounded(double v) {
    return v > 0 ? (int64_t)llround(v) : 0;
}

static void label_str(hp_buf *sample, writer *w, const char *key, const char *value) {
    hp_buf l = {0};
    hp_pb_varint(&l, 1, str_index(w, key));
    hp_pb_varint(&l, 2, str_index(w, value));
    hp_pb_bytes(sample, 3, l.data ? l.data : "", l.len);
    hp_buf_free(&l);
}

static void emit_sample(writer *w, const uint64_t *locs, size_t nlocs, const hp_site_values *v,
                        uint32_t tag, uint32_t labels, const hp_pprof_space *space,
                        const hp_site_snapshot *site) {
    uint64_t values[4] = {(uint64_t)rounded(v->alloc_objs), (uint64_t)rounded(v->alloc_bytes),
                          (uint64_t)rounded(v->inuse_objs), (uint64_t)rounded(v->inuse_bytes)};
    hp_buf s = {0};
    hp_pb_packed(&s, 1, locs, nlocs);
    hp_pb_packed(&s, 2, values, 4); /* one per sample type, zeros included */
    if (tag) label_str(&s, w, "tag", hp_tag_name(tag));
    const hp_label_set *ls = hp_label_set_get(labels);
    for (uint32_t i = 0; ls && i < ls->count; i++)
        label_str(&s, w, ls->keys[i], ls->values[i]);
    if (space && space->labels && site) { /* another space's own labels (gpu/: device, kind) */
        const char *keys[HP_PPROF_MAX_LABELS], *values[HP_PPROF_MAX_LABELS];
        char room[HP_PPROF_MAX_LABELS][32];
        int n = space->labels(site, keys, values, room, space->arg);
        for (int i = 0; i < n && i < HP_PPROF_MAX_LABELS; i++)
            label_str(&s, w, keys[i], values[i]);
    }
    if (v->alloc_objs > 0) {
        hp_buf l = {0};
        hp_pb_varint(&l, 1, str_index(w, "bytes"));
        hp_pb_varint(&l, 3, (uint64_t)rounded(v->alloc_bytes / v->alloc_objs));
        hp_pb_bytes(&s, 3, l.data ? l.data : "", l.len);
        hp_buf_free(&l);
    }
    hp_pb_bytes(&w->out, P_SAMPLE, s.data ? s.data : "", s.len);
    hp_buf_free(&s);
}

static int gzip_into(hp_buf *out, const hp_buf *raw) {
    z_stream z;
    memset(&z, 0, sizeof z);
    /* level 1, as Go's runtime/pprof: a profile is written at exit, on the
     * program's time. On cc1 in full mode level 6 took 2.5x the instructions
     * (17.8 M against 7.2 M) for a 10% smaller file. */
    /* A window no larger than the input (zlib's state is ~4 windows plus its
     * hash table, zeroed at init: 260 KiB at the defaults, most of the cost
     * of writing a small profile); the stream stays plain gzip. */
    int window_bits = 9, mem_level = 1;
    while (window_bits < 15 && ((size_t)1 << window_bits) < raw->len)
        window_bits++;
    mem_level = window_bits - 7;
    if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, window_bits + 16, mem_level,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t bound = deflateBound(&z, raw->len) + 64;
    out->len = 0;
    hp_buf_append(out, "", 0);
    if (out->failed) return -1;
    char *dst = hp_malloc(bound);
    if (!dst) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)raw->data;
    z.avail_in = (uInt)raw->len;
    z.next_out = (Bytef *)dst;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    if (rc == Z_STREAM_END) hp_buf_append(out, dst, bound - z.avail_out);
    deflateEnd(&z);
    hp_free(dst);
    return rc == Z_STREAM_END ? 0 : -1;
}

void hp_pprof_profile(hp_buf *result, const hp_dump_info *d) {
    hp_pprof_write(result, d, &d->profile, NULL);
}

void hp_pprof_write(hp_buf *result, const hp_dump_info *d, const hp_profile_snapshot *profile,
                    const hp_pprof_space *space) {
    writer w;
    memset(&w, 0, sizeof w);
    hp_pb_bytes(&w.strings, P_STRING_TABLE, "", 0); /* index 0 must be "" */
    value_type(&w, P_SAMPLE_TYPE, "alloc_objects", "count");
    value_type(&w, P_SAMPLE_TYPE, "alloc_space", "bytes");
    value_type(&w, P_SAMPLE_TYPE, "inuse_objects", "count");
    value_type(&w, P_SAMPLE_TYPE, "inuse_space", "bytes");

    hp_site_view view;
    hp_symbolize_begin();
    if (hp_site_view_make(&view, profile, HP_MAX_SITES_PER_FILE) == 0) {
        uint64_t locs[HP_MAX_DEPTH];
        for (size_t i = 0; i < view.n; i++) {
            const hp_site_snapshot *s = view.sites[i];
            size_t n = 0;
            for (uint32_t f = 0; f < s->stack->depth && n < HP_MAX_DEPTH; f++)
                locs[n++] = location_id(&w, s->stack->pcs[f], NULL);
            if (!n) locs[n++] = location_id(&w, 0, "[no stack captured]");
            emit_sample(&w, locs, n, &s->v, s->tag, s->labels, space, s);
        }
        if (view.nfolded) {
            char name[64];
            snprintf(name, sizeof name, "[other: %zu smaller sites]", view.nfolded);
            locs[0] = location_id(&w, 0, name);
            emit_sample(&w, locs, 1, &view.folded, 0, 0, NULL, NULL);
        }
        hp_site_view_free(&view);
    } else {
        w.out.failed = 1;
    }
    hp_symbolize_end();

    hp_pb_varint(&w.out, P_TIME_NANOS, d->time_unix_ns);
    hp_pb_varint(&w.out, P_DURATION_NANOS, d->uptime_ns);
    value_type(&w, P_PERIOD_TYPE, "space", "bytes");
    int64_t rate = space ? space->rate : d->rate;
    hp_pb_varint(&w.out, P_PERIOD, (uint64_t)(rate > 0 ? rate : 0));
    char comment[200];
    snprintf(comment, sizeof comment, "heapprof %s; %sreason %s; sampling rate %lld bytes%s",
             HEAPPROF_VERSION, space && space->what ? space->what : "", d->reason, (long long)rate,
             rate == 1 ? " (every allocation)" : "");
    hp_pb_varint(&w.out, P_COMMENT, str_index(&w, comment));
    hp_buf_append(&w.out, w.strings.data, w.strings.len);

    if (w.out.failed || w.strings.failed || w.msg.failed || w.sub.failed || w.string_ids.failed ||
        w.location_ids.failed || w.function_ids.failed || gzip_into(result, &w.out))
        result->failed = 1;
    hp_buf_free(&w.out);
    hp_buf_free(&w.strings);
    hp_buf_free(&w.msg);
    hp_buf_free(&w.sub);
    hp_id_map_free(&w.string_ids);
    hp_id_map_free(&w.location_ids);
    hp_id_map_free(&w.function_ids);
    hp_free(w.module_done);
}

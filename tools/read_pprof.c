/* Reads a pprof profile (profile.proto, already decompressed) into the model. */
#define _GNU_SOURCE
#include "read.h"
#include "../heapprof/id_map.h"
#include "pb_decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slice {
    const uint8_t *data;
    size_t len;
} slice;

typedef struct slices {
    slice *v;
    size_t n, cap;
} slices;

static int push(slices *s, const uint8_t *data, size_t len) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        slice *t = realloc(s->v, cap * sizeof *t);
        if (!t) return -1;
        s->v = t;
        s->cap = cap;
    }
    s->v[s->n++] = (slice){data, len};
    return 0;
}

typedef struct function_info {
    const char *name, *file;
} function_info;

typedef struct location_info {
    frame *frames;
    size_t n;
} location_info;

typedef struct reader {
    slices strings, sample_types, samples, locations, functions, mappings;
    const char **str;
    hp_id_map function_ids, location_ids, mapping_ids;
    function_info *fn_info;  /* by dense function index */
    location_info *loc_info; /* by dense location index */
    const char **mapping_files;
    uint32_t nfunction_ids, nlocation_ids, nmapping_ids; /* defined ones */
} reader;

static const char *str_at(reader *r, uint64_t i) {
    return i < r->strings.n ? r->str[i] : NULL;
}

/* The dense index of an id the profile defined, 0 for any other. The map
 * numbers ids 1..n in the order it first sees them, and looking up an id
 * never defined adds it past the `defined` ones (whose tables hold only
 * those): such an index must not be used. */
static uint32_t lookup(hp_id_map *m, uint32_t defined, uint64_t id) {
    int added;
    uint32_t idx = hp_id_map_get(m, id, &added);
    return idx <= defined ? idx : 0;
}

static void value_type(reader *r, slice s, const char **type, const char **unit) {
    pb_reader pr = {s.data, s.data + s.len, 0};
    pb_field f;
    *type = *unit = NULL;
    while (pb_next(&pr, &f)) {
        if (f.number == 1) *type = str_at(r, f.value);
        if (f.number == 2) *unit = str_at(r, f.value);
    }
}

typedef struct u64s {
    uint64_t *v;
    size_t n, cap;
} u64s;

static void collect(uint64_t v, void *arg) {
    u64s *a = arg;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        uint64_t *t = realloc(a->v, cap * sizeof *t);
        if (!t) return;
        a->v = t;
        a->cap = cap;
    }
    a->v[a->n++] = v;
}

static int decode_tables(reader *r) {
    r->mapping_files = calloc(r->mappings.n + 1, sizeof *r->mapping_files);
    r->fn_info = calloc(r->functions.n + 1, sizeof *r->fn_info);
    r->loc_info = calloc(r->locations.n + 1, sizeof *r->loc_info);
    if (!r->mapping_files || !r->fn_info || !r->loc_info) return -1;
    for (size_t i = 0; i < r->mappings.n; i++) {
        pb_reader pr = {r->mappings.v[i].data, r->mappings.v[i].data + r->mappings.v[i].len, 0};
        pb_field f;
        uint64_t id = 0;
        const char *file = NULL;
        while (pb_next(&pr, &f)) {
            if (f.number == 1) id = f.value;
            if (f.number == 5) file = str_at(r, f.value);
        }
        int added;
        uint32_t idx = hp_id_map_get(&r->mapping_ids, id, &added);
        if (idx && added) r->mapping_files[idx] = file;
    }
    r->nmapping_ids = r->mapping_ids.n;
    for (size_t i = 0; i < r->functions.n; i++) {
        pb_reader pr = {r->functions.v[i].data, r->functions.v[i].data + r->functions.v[i].len, 0};
        pb_field f;
        uint64_t id = 0;
        function_info fi = {NULL, NULL};
        const char *system = NULL;
        while (pb_next(&pr, &f)) {
            if (f.number == 1) id = f.value;
            if (f.number == 2) fi.name = str_at(r, f.value);
            if (f.number == 3) system = str_at(r, f.value);
            if (f.number == 4) fi.file = str_at(r, f.value);
        }
        if (!fi.name || !*fi.name) fi.name = system && *system ? system : "??";
        int added;
        uint32_t idx = hp_id_map_get(&r->function_ids, id, &added);
        if (idx && added) r->fn_info[idx] = fi;
    }
    r->nfunction_ids = r->function_ids.n;
    for (size_t i = 0; i < r->locations.n; i++) {
        pb_reader pr = {r->locations.v[i].data, r->locations.v[i].data + r->locations.v[i].len, 0};
        pb_field f;
        uint64_t id = 0, mapping = 0, address = 0;
        location_info li = {NULL, 0};
        size_t cap = 0;
        while (pb_next(&pr, &f)) {
            if (f.number == 1) id = f.value;
            if (f.number == 2) mapping = f.value;
            if (f.number == 3) address = f.value;
            if (f.number == 4) {
                pb_reader lr = {f.data, f.data + f.len, 0};
                pb_field lf;
                uint64_t fid = 0, line = 0;
                while (pb_next(&lr, &lf)) {
                    if (lf.number == 1) fid = lf.value;
                    if (lf.number == 2) line = lf.value;
                }
                if (li.n == cap) {
                    cap = cap ? cap * 2 : 2;
                    frame *t = realloc(li.frames, cap * sizeof *t);
                    if (!t) return -1;
                    li.frames = t;
                }
                uint32_t fidx = lookup(&r->function_ids, r->nfunction_ids, fid);
                function_info fi = fidx ? r->fn_info[fidx] : (function_info){"??", NULL};
                li.frames[li.n++] =
                    (frame){model_str(fi.name), model_str(fi.file), (int)line, NULL, address};
            }
        }
        uint32_t midx = mapping ? lookup(&r->mapping_ids, r->nmapping_ids, mapping) : 0;
        const char *module = midx ? model_str(r->mapping_files[midx]) : NULL;
        if (li.n == 0) { /* unsymbolized: the address is all there is */
            char name[32];
            snprintf(name, sizeof name, "0x%llx", (unsigned long long)address);
            li.frames = malloc(sizeof *li.frames);
            if (!li.frames) return -1;
            li.frames[0] = (frame){model_str(name), NULL, 0, NULL, address};
            li.n = 1;
        }
        for (size_t k = 0; k < li.n; k++)
            li.frames[k].module = module;
        int added;
        uint32_t idx = hp_id_map_get(&r->location_ids, id, &added);
        if (idx && added)
            r->loc_info[idx] = li;
        else
            free(li.frames);
    }
    r->nlocation_ids = r->location_ids.n;
    return 0;
}

static int decode_sample(reader *r, profile *p, slice s) {
    sample *out = profile_add_sample(p);
    if (!out) return -1;
    pb_reader pr = {s.data, s.data + s.len, 0};
    pb_field f;
    u64s locs = {0}, values = {0};
    size_t label_cap = 0;
    while (pb_next(&pr, &f)) {
        if (f.number == 1) pb_each_int(&f, collect, &locs);
        if (f.number == 2) pb_each_int(&f, collect, &values);
        if (f.number == 3) {
            pb_reader lr = {f.data, f.data + f.len, 0};
            pb_field lf;
            const char *key = NULL, *str = NULL;
            while (pb_next(&lr, &lf)) {
                if (lf.number == 1) key = str_at(r, lf.value);
                if (lf.number == 2) str = str_at(r, lf.value);
            }
            if (!key || !str || !*str) continue; /* numeric labels are not kept */
            if (!strcmp(key, "tag")) {
                out->tag = model_str(str);
                continue;
            }
            if (out->nlabels == label_cap) {
                label_cap = label_cap ? label_cap * 2 : 4;
                label *t = realloc(out->labels, label_cap * sizeof *t);
                if (!t) continue;
                out->labels = t;
            }
            out->labels[out->nlabels++] = (label){model_str(key), model_str(str)};
        }
    }
    for (size_t i = 0; i < values.n && i < MODEL_MAX_METRICS; i++)
        out->values[i] = (double)(int64_t)values.v[i];
    size_t nframes = 0;
    for (size_t i = 0; i < locs.n; i++) {
        uint32_t idx = lookup(&r->location_ids, r->nlocation_ids, locs.v[i]);
        nframes += idx ? r->loc_info[idx].n : 0;
    }
    out->frames = nframes ? malloc(nframes * sizeof *out->frames) : NULL;
    for (size_t i = 0; out->frames && i < locs.n; i++) {
        uint32_t idx = lookup(&r->location_ids, r->nlocation_ids, locs.v[i]);
        if (!idx) continue;
        memcpy(out->frames + out->nframes, r->loc_info[idx].frames,
               r->loc_info[idx].n * sizeof *out->frames);
        out->nframes += r->loc_info[idx].n;
    }
    free(locs.v);
    free(values.v);
    return 0;
}

profile *read_pprof(const uint8_t *data, size_t len, const char *path) {
    reader r;
    memset(&r, 0, sizeof r);
    profile *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->path = model_str(path);
    p->source = "pprof";
    pb_reader pr = {data, data + len, 0};
    pb_field f;
    uint64_t default_type = 0;
    u64s comments = {0};
    while (pb_next(&pr, &f)) {
        switch (f.number) {
        case 1:
            push(&r.sample_types, f.data, f.len);
            break;
        case 2:
            push(&r.samples, f.data, f.len);
            break;
        case 3:
            push(&r.mappings, f.data, f.len);
            break;
        case 4:
            push(&r.locations, f.data, f.len);
            break;
        case 5:
            push(&r.functions, f.data, f.len);
            break;
        case 6:
            push(&r.strings, f.data, f.len);
            break;
        case 9:
            p->time_nanos = (int64_t)f.value;
            break;
        case 10:
            p->duration_nanos = (int64_t)f.value;
            break;
        case 12:
            p->period = (int64_t)f.value;
            break;
        case 13:
            pb_each_int(&f, collect, &comments);
            break;
        case 14:
            default_type = f.value;
            break;
        }
    }
    (void)default_type;
    const char *error = NULL;
    if (pr.error)
        error = "not a pprof profile (damaged protobuf)";
    else if (r.strings.n == 0 || r.strings.v[0].len != 0)
        error = "not a pprof profile (its string table does not start with \"\")";
    if (!error) {
        r.str = calloc(r.strings.n, sizeof *r.str);
        for (size_t i = 0; r.str && i < r.strings.n; i++)
            r.str[i] = model_strn((const char *)r.strings.v[i].data, r.strings.v[i].len);
        for (size_t i = 0; i < r.sample_types.n; i++) {
            const char *type, *unit;
            value_type(&r, r.sample_types.v[i], &type, &unit);
            if (p->nmetrics < MODEL_MAX_METRICS)
                p->metrics[p->nmetrics++] = (metric){type ? type : "?", unit ? unit : ""};
        }
        if (!r.str || decode_tables(&r)) error = "out of memory";
        for (size_t i = 0; !error && i < r.samples.n; i++)
            if (decode_sample(&r, p, r.samples.v[i])) error = "out of memory";
        for (size_t i = 0; !error && i < comments.n; i++) {
            const char *c = str_at(&r, comments.v[i]);
            if (!c) continue;
            if (!p->comment) p->comment = c;
            if (!strncmp(c, "heapprof ", 9)) p->source = "heapprof pprof";
        }
    }
    for (size_t i = 1; r.loc_info && i <= r.locations.n; i++)
        free(r.loc_info[i].frames);
    free(r.loc_info);
    free(r.fn_info);
    free(r.locations.v);
    free(r.mapping_files);
    free(r.str);
    free(comments.v);
    free(r.strings.v);
    free(r.sample_types.v);
    free(r.samples.v);
    free(r.mappings.v);
    free(r.functions.v);
    hp_id_map_free(&r.function_ids);
    hp_id_map_free(&r.location_ids);
    hp_id_map_free(&r.mapping_ids);
    if (error) {
        fprintf(stderr, "heapprof: %s: %s\n", path, error);
        profile_free(p);
        return NULL;
    }
    return p;
}

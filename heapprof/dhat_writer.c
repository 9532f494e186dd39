/*
 * DHAT JSON ("dhatFileVersion": 2) in the shape dhat-rs writes (FORMATS.md
 * §A): times in µs, block lifetimes on, no access counts. Each site is a
 * program point; values are the site's unbiased estimates in *requested*
 * bytes (what DHAT counts), rounded. mb/mbk is each point's own peak, gb/gbk
 * its share at the global peak, eb/ebk what is alive at the dump. The
 * viewer rejects two points with the same frames, so sites that differ only
 * by user labels are merged, and the tag is the outermost frame
 * "[tag: NAME]" whenever the profile has more than one tag.
 */
#define _GNU_SOURCE
#include "dhat_writer.h"
#include "id_map.h"
#include "json_out.h"
#include "site_view.h"
#include "symbolize.h"
#include "tags.h"
#include "version.h"
#include "zstd_load.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

typedef struct program_point {
    const hp_stack *stack;
    uint32_t tag;
    const hp_site_snapshot *site; /* one of its sites, for another space's root frame */
    const char *folded_name;      /* for the "[other]" point */
    hp_site_values v;
} program_point;

typedef struct frames {
    hp_buf table;  /* the ftbl array's JSON text, "[root]" first */
    hp_id_map ids; /* string hash -> index */
    /* A return address's frame texts all carry that address, so they are
     * its own: formatted and hashed once per dump, then found by address.
     * pcs maps an address to a dense id; first[id] is the index of its
     * first (innermost) text, the others follow it. */
    hp_id_map pcs;
    uint32_t *first;
    size_t first_cap;
} frames;

static uint32_t frame_index(frames *f, const char *text) {
    int added;
    uint32_t id = hp_id_map_get(&f->ids, XXH3_64bits(text, strlen(text)), &added);
    if (added) {
        hp_buf_append(&f->table, ",\n  ", 4);
        hp_json_string(&f->table, text);
    }
    return id; /* "[root]" is index 0, so the first real frame is 1 */
}

/* Valgrind's frame text: "0xADDR: fn (file:line)" or "0xADDR: fn (in obj)". */
static void frame_text(char *out, size_t cap, uintptr_t addr, const hp_frame *fr,
                       const hp_module *mod) {
    /* unknown, or only the file's name in brackets: Valgrind writes "???" */
    const char *fn =
        fr->function && strcmp(fr->function, "??") && fr->function[0] != '[' ? fr->function : "???";
    if (fr->file && fr->line)
        snprintf(out, cap, "0x%" PRIXPTR ": %s (%s:%d)", addr, fn, fr->file, fr->line);
    else if (mod)
        snprintf(out, cap, "0x%" PRIXPTR ": %s (in %s)", addr, fn, mod->path);
    else
        snprintf(out, cap, "0x%" PRIXPTR ": %s", addr, fn);
}

/* Appends ", " unless first, then the index. */
static void append_index(hp_buf *b, uint32_t index, int *n) {
    if ((*n)++) hp_buf_append(b, ", ", 2);
    hp_buf_u64(b, index);
}

/* Appends the indices of pc's frame texts, numbering them on first sight. */
static void append_pc_frames(hp_buf *b, frames *f, uintptr_t pc, int *n) {
    int added;
    uint32_t id = hp_id_map_get(&f->pcs, pc, &added);
    if (!id) { /* out of memory: the output is marked failed */
        f->table.failed = 1;
        return;
    }
    if (id >= f->first_cap) {
        size_t cap = f->first_cap ? f->first_cap * 2 : 1024;
        uint32_t *grown = hp_realloc(f->first, cap * sizeof *grown);
        if (!grown) {
            f->table.failed = 1;
            return;
        }
        f->first = grown, f->first_cap = cap;
    }
    static const hp_frame unnamed = {"??", "??", NULL, 0};
    const hp_location *loc = hp_symbolize(pc);
    uint32_t count = loc->nframes ? loc->nframes : 1; /* unsymbolized: "???" */
    if (added) {
        char text[1024];
        for (uint32_t k = 0; k < count; k++) {
            frame_text(text, sizeof text, pc - 1, loc->nframes ? &loc->frames[k] : &unnamed,
                       loc->module);
            uint32_t index = frame_index(f, text);
            if (k == 0) f->first[id] = index;
        }
    }
    for (uint32_t k = 0; k < count; k++)
        append_index(b, f->first[id] + k, n);
}

static void merge_into(hp_site_values *to, const hp_site_values *v) {
    double *dst = (double *)to;
    const double *src = (const double *)v;
    for (size_t i = 0; i < offsetof(hp_site_values, samples) / sizeof(double); i++)
        dst[i] += src[i];
    to->samples += v->samples;
}

static long long r(double v) {
    return v > 0 ? llround(v) : 0;
}

static void write_point(hp_buf *b, frames *f, const program_point *pp, int show_tag, int first,
                        const hp_dhat_space *space) {
    static const char *const keys[] = {
        "\"tb\": ",   ", \"tbk\": ", ", \"tl\": ", ", \"mb\": ", ", \"mbk\": ",
        ", \"gb\": ", ", \"gbk\": ", ", \"eb\": ", ", \"ebk\": "};
    const long long values[] = {
        r(pp->v.alloc_req_bytes), r(pp->v.alloc_objs),      r(pp->v.lifetime_ns / 1000),
        r(pp->v.peak_req_bytes),  r(pp->v.peak_req_objs),   r(pp->v.gpeak_req_bytes),
        r(pp->v.gpeak_objs),      r(pp->v.inuse_req_bytes), r(pp->v.inuse_objs)};
    hp_buf_append(b, first ? "\n  {" : ",\n  {", first ? 4 : 5);
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        hp_buf_append(b, keys[i], strlen(keys[i]));
        hp_buf_u64(b, (uint64_t)values[i]);
    }
    hp_buf_append(b, ", \"fs\": [", 9);
    char text[1024];
    int n = 0;
    if (pp->folded_name) append_index(b, frame_index(f, pp->folded_name), &n);
    for (uint32_t i = 0; pp->stack && i < pp->stack->depth; i++)
        append_pc_frames(b, f, pp->stack->pcs[i], &n);
    if (show_tag && pp->tag) {
        snprintf(text, sizeof text, "[tag: %s]", hp_tag_name(pp->tag));
        append_index(b, frame_index(f, text), &n);
    }
    if (space && space->root && pp->site) { /* e.g. "[gpu:0]", outermost */
        space->root(pp->site, text, sizeof text, space->arg);
        append_index(b, frame_index(f, text), &n);
    }
    hp_buf_append(b, "]}", 2);
}

void hp_dhat_json(hp_buf *b, const hp_dump_info *d) {
    hp_dhat_write(b, d, &d->profile, NULL);
}

void hp_dhat_write(hp_buf *b, const hp_dump_info *d, const hp_profile_snapshot *profile,
                   const hp_dhat_space *space) {
    hp_site_view view;
    if (hp_site_view_make(&view, profile, HP_MAX_SITES_PER_FILE)) {
        b->failed = 1;
        return;
    }
    /* One point per (stack, tag, root frame): label sets merge. */
    program_point *pps = hp_calloc(view.n + 1, sizeof *pps);
    hp_id_map point_ids = {0};
    size_t npps = 0;
    int many_tags = 0;
    for (size_t i = 0; pps && i < view.n; i++) {
        const hp_site_snapshot *s = view.sites[i];
        if (s->tag != view.sites[0]->tag) many_tags = 1;
        int added;
        uint64_t key =
            XXH3_64bits(&s->stack, sizeof s->stack) ^ ((uint64_t)s->tag * 0x9e3779b97f4a7c15ULL);
        if (space && space->root)
            key ^= space->root(s, NULL, 0, space->arg) * 0xc2b2ae3d27d4eb4fULL;
        uint32_t id = hp_id_map_get(&point_ids, key, &added);
        if (!id) break;
        if (added) {
            pps[npps].stack = s->stack;
            pps[npps].tag = s->tag;
            pps[npps].site = s;
            npps++;
        }
        merge_into(&pps[id - 1].v, &s->v);
    }
    char folded_name[64];
    if (pps && view.nfolded) {
        snprintf(folded_name, sizeof folded_name, "[other: %zu smaller sites]", view.nfolded);
        pps[npps].folded_name = folded_name;
        pps[npps].v = view.folded;
        npps++;
    }

    hp_buf_printf(b, "{\"dhatFileVersion\": 2,\n\"mode\": ");
    char mode[96];
    int64_t rate = space ? space->rate : d->rate;
    const char *what = space && space->what ? space->what : "";
    if (rate == 1)
        snprintf(mode, sizeof mode, "heapprof %s(every allocation)", what);
    else if (rate <= 0)
        snprintf(mode, sizeof mode, "heapprof %s(sampling off)", what);
    else
        snprintf(mode, sizeof mode, "heapprof %s(sampled every %lld bytes on average)", what,
                 (long long)rate);
    hp_json_string(b, mode);
    hp_buf_printf(b, ",\n\"verb\": \"Allocated\",\n\"bklt\": true,\n\"bkacc\": false,\n"
                     "\"tu\": \"\xC2\xB5s\",\n\"Mtu\": \"s\",\n\"tuth\": 10,\n\"cmd\": ");
    hp_json_string(b, d->cmdline);
    hp_buf_printf(b,
                  ",\n\"pid\": %d,\n\"te\": %" PRIu64 ",\n\"tg\": %" PRIu64 ",\n"
                  "\"sampleRate\": %lld,\n\"heapprofVersion\": \"%s\",\n\"pps\": [",
                  d->pid, d->uptime_ns / 1000, profile->peak_uptime_ns / 1000, (long long)rate,
                  HEAPPROF_VERSION);
    frames f = {0};
    hp_buf_append(&f.table, "[\n  \"[root]\"", 12);
    hp_symbolize_begin();
    for (size_t i = 0; pps && i < npps; i++)
        write_point(b, &f, &pps[i], many_tags, i == 0, space);
    hp_symbolize_end();
    hp_buf_printf(b, "\n],\n\"ftbl\": ");
    hp_buf_append(b, f.table.data, f.table.len);
    hp_buf_printf(b, "\n]\n}\n");
    if (!pps || f.table.failed || f.ids.failed || f.pcs.failed || point_ids.failed) b->failed = 1;
    hp_buf_free(&f.table);
    hp_id_map_free(&f.ids);
    hp_id_map_free(&f.pcs);
    hp_free(f.first);
    hp_id_map_free(&point_ids);
    hp_free(pps);
    hp_site_view_free(&view);
}

void hp_dhat_json_zst(hp_buf *out, const hp_dump_info *d) {
    hp_dhat_zst_of(out, d, hp_dhat_json);
}

void hp_dhat_zst_of(hp_buf *out, const hp_dump_info *d,
                    void (*render)(hp_buf *, const hp_dump_info *)) {
    const hp_zstd *z = hp_zstd_loaded(); /* dump.c loads it before its lock */
    if (!z) {
        out->failed = 1;
        return;
    }
    hp_buf plain = {0};
    render(&plain, d);
    size_t bound = z->compress_bound(plain.len);
    char *dst = plain.failed ? NULL : hp_malloc(bound);
    size_t n = dst ? z->compress(dst, bound, plain.data, plain.len, 3) : 0;
    if (!dst || z->is_error(n))
        out->failed = 1;
    else
        hp_buf_append(out, dst, n);
    hp_free(dst);
    hp_buf_free(&plain);
}

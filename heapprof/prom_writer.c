#define _GNU_SOURCE
#include "prom_writer.h"
#include "tags.h"
#include "../gpu/gpu.h"

#include <inttypes.h>

/* Label values escape backslash, double quote and newline. */
static void label_value(hp_buf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '\\') hp_buf_append(b, "\\\\", 2);
        else if (*s == '"') hp_buf_append(b, "\\\"", 2);
        else if (*s == '\n') hp_buf_append(b, "\\n", 2);
        else hp_buf_append(b, s, 1);
    }
}

static void header(hp_buf *b, const char *name, const char *type, const char *help) {
    hp_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void process_metric(hp_buf *b, const char *name, const char *type, const char *help,
                           uint64_t v, int pid) {
    header(b, name, type, help);
    hp_buf_printf(b, "%s{pid=\"%d\"} %" PRIu64 "\n", name, pid, v);
}

typedef double (*tag_value)(const hp_dump_info *d, uint32_t tag);

static const hp_tag_estimate *estimate(const hp_dump_info *d, uint32_t tag) {
    static const hp_tag_estimate none;
    return tag < d->profile.ntags ? &d->profile.tags[tag] : &none;
}
static double live_bytes(const hp_dump_info *d, uint32_t t) { return estimate(d, t)->inuse_bytes; }
static double live_objs(const hp_dump_info *d, uint32_t t) { return estimate(d, t)->inuse_objs; }
static double peak_bytes(const hp_dump_info *d, uint32_t t) { return estimate(d, t)->peak_bytes; }
static double alloc_bytes(const hp_dump_info *d, uint32_t t) { return (double)d->tag_alloc_bytes[t]; }
static double alloc_objs(const hp_dump_info *d, uint32_t t) { return (double)d->tag_alloc_objs[t]; }

static void tag_metric(hp_buf *b, const hp_dump_info *d, const char *name, const char *type,
                       const char *help, tag_value value) {
    header(b, name, type, help);
    for (uint32_t id = 1; id <= d->ntags; id++) {
        if (!d->tag_alloc_objs[id] && !estimate(d, id)->inuse_objs) continue;
        hp_buf_printf(b, "%s{pid=\"%d\",tag=\"", name, d->pid);
        label_value(b, hp_tag_name(id));
        hp_buf_printf(b, "\"} %.0f\n", value(d, id));
    }
}

void hp_prom_text(hp_buf *b, const hp_dump_info *d) {
    const heapprof_stats_t *s = &d->process;
    process_metric(b, "heapprof_process_live_bytes", "gauge", "Heap bytes allocated and not freed.",
                   s->live_bytes, d->pid);
    process_metric(b, "heapprof_process_live_objects", "gauge", "Heap blocks allocated and not freed.",
                   s->live_objects, d->pid);
    process_metric(b, "heapprof_process_peak_bytes", "gauge", "Highest live heap bytes so far.",
                   s->peak_bytes, d->pid);
    process_metric(b, "heapprof_process_alloc_bytes_total", "counter",
                   "Heap bytes allocated since start.", s->alloc_bytes, d->pid);
    process_metric(b, "heapprof_process_alloc_objects_total", "counter",
                   "Heap blocks allocated since start.", s->alloc_objects, d->pid);
    process_metric(b, "heapprof_process_rss_bytes", "gauge", "Resident set size.", d->rss_bytes,
                   d->pid);
    process_metric(b, "heapprof_profiler_bytes", "gauge", "Memory heapprof uses for itself.",
                   s->profiler_bytes, d->pid);
    tag_metric(b, d, "heapprof_live_bytes", "gauge",
               "Live heap bytes per tag (estimated unless sampling every allocation).", live_bytes);
    tag_metric(b, d, "heapprof_live_objects", "gauge", "Live heap blocks per tag (estimated).",
               live_objs);
    tag_metric(b, d, "heapprof_peak_bytes", "gauge", "Peak live heap bytes per tag (estimated).",
               peak_bytes);
    tag_metric(b, d, "heapprof_alloc_bytes_total", "counter", "Heap bytes allocated per tag.",
               alloc_bytes);
    tag_metric(b, d, "heapprof_alloc_objects_total", "counter", "Heap blocks allocated per tag.",
               alloc_objs);
    hp_gpu_prom_text(b, d); /* gpu/: heapprof_gpu_* while GPU tracking is on */
}

void hp_prom_label_value(hp_buf *b, const char *s) { label_value(b, s); }

/*
 * GPU counters in the host's stats.json ("gpu" object) and Prometheus file
 * (heapprof_gpu_* metrics); docs/formats.md#gpu. All values are exact.
 */
#include "gpu.h"
#include "gpu_table.h"
#include "../heapprof/json_out.h"
#include "../heapprof/prom_writer.h"
#include "../heapprof/tags.h"

#include <inttypes.h>

static void json_counts(hp_buf *b, const hp_gpu_counts *c) {
    hp_buf_printf(b,
                  "\"live_bytes\": %" PRIu64 ", \"live_objects\": %" PRIu64
                  ", \"peak_bytes\": %" PRIu64 ", \"peak_objects\": %" PRIu64
                  ", \"alloc_bytes\": %" PRIu64 ", \"alloc_objects\": %" PRIu64
                  ", \"freed_bytes\": %" PRIu64 ", \"freed_objects\": %" PRIu64,
                  c->live_bytes, c->live_objects, c->peak_bytes, c->peak_objects, c->alloc_bytes,
                  c->alloc_objects, c->freed_bytes, c->freed_objects);
}

/* The rows of g->tags for one device (HP_GPU_ALL_DEVICES: over all). */
static void json_tags(hp_buf *b, const hp_gpu_snapshot *g, int32_t device, const char *indent) {
    hp_buf_printf(b, "\"tags\": [");
    int first = 1;
    for (size_t i = 0; i < g->ntags; i++) {
        if (g->tags[i].device != device) continue;
        hp_buf_printf(b, "%s\n%s  {\"name\": ", first ? "" : ",", indent);
        first = 0;
        hp_json_string(b, hp_tag_name(g->tags[i].tag));
        hp_buf_printf(b, ", ");
        json_counts(b, &g->tags[i].c);
        hp_buf_printf(b, "}");
    }
    hp_buf_printf(b, "\n%s]", indent);
}

static void json_device(hp_buf *b, const hp_gpu_snapshot *g, const hp_gpu_device_counts *dev) {
    hp_buf_printf(b, "\n      {\"device\": %d, ", (int)dev->device);
    json_counts(b, &dev->all);
    hp_buf_printf(b, ",\n       \"kinds\": {");
    int first = 1;
    for (int k = 0; k < HP_GPU_NKINDS; k++) {
        if (!dev->kind[k].alloc_objects) continue;
        hp_buf_printf(b, "%s\n         \"%s\": {", first ? "" : ",", hp_gpu_kind_name(k));
        first = 0;
        json_counts(b, &dev->kind[k]);
        hp_buf_printf(b, "}");
    }
    hp_buf_printf(b, "\n       },\n       ");
    json_tags(b, g, dev->device, "       ");
    hp_buf_printf(b, "}");
}

void hp_gpu_stats_json(hp_buf *b, const hp_dump_info *d) {
    const hp_gpu_snapshot *g = d->gpu;
    if (!g) return;
    hp_buf_printf(b, "  \"gpu\": {\n    \"activation\": ");
    hp_json_string(b, g->route);
    hp_buf_printf(b, ",\n    \"cupti\": ");
    hp_json_string(b, g->library);
    hp_buf_printf(b, ",\n    \"exact\": true,\n    ");
    json_counts(b, &g->total);
    hp_buf_printf(b,
                  ",\n    \"sites\": %zu,\n    \"events\": {\"failed_calls\": %" PRIu64
                  ", \"nested_driver_calls\": %" PRIu64 ", \"unknown_frees\": %" PRIu64
                  ", \"reused_addresses\": %" PRIu64 ", \"dropped\": %" PRIu64 "},\n"
                  "    \"devices\": [",
                  g->profile.nsites, g->notes[HP_GPU_NOTE_FAILED_CALL],
                  g->notes[HP_GPU_NOTE_NESTED_CALL], g->notes[HP_GPU_NOTE_UNKNOWN_FREE],
                  g->notes[HP_GPU_NOTE_REUSED], g->notes[HP_GPU_NOTE_DROPPED]);
    for (size_t i = 0; i < g->ndevices; i++) {
        json_device(b, g, &g->devices[i]);
        if (i + 1 < g->ndevices) hp_buf_printf(b, ",");
    }
    hp_buf_printf(b, "\n    ],\n    ");
    json_tags(b, g, HP_GPU_ALL_DEVICES, "    ");
    hp_buf_printf(b, "\n  },\n");
}

/* ---- Prometheus ---- */

static void header(hp_buf *b, const char *name, const char *type, const char *help) {
    hp_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

typedef uint64_t (*count_of)(const hp_gpu_counts *c);
static uint64_t live_bytes(const hp_gpu_counts *c) {
    return c->live_bytes;
}
static uint64_t live_objects(const hp_gpu_counts *c) {
    return c->live_objects;
}
static uint64_t peak_bytes(const hp_gpu_counts *c) {
    return c->peak_bytes;
}
static uint64_t alloc_bytes(const hp_gpu_counts *c) {
    return c->alloc_bytes;
}
static uint64_t alloc_objects(const hp_gpu_counts *c) {
    return c->alloc_objects;
}

/* One series per device and memory kind that ever allocated. */
static void by_kind(hp_buf *b, const hp_dump_info *d, const char *name, const char *type,
                    const char *help, count_of value) {
    const hp_gpu_snapshot *g = d->gpu;
    header(b, name, type, help);
    for (size_t i = 0; i < g->ndevices; i++) {
        char dev[32];
        hp_gpu_device_name(g->devices[i].device, dev, sizeof dev);
        for (int k = 0; k < HP_GPU_NKINDS; k++) {
            const hp_gpu_counts *c = &g->devices[i].kind[k];
            if (!c->alloc_objects) continue;
            hp_buf_printf(b, "%s{pid=\"%d\",device=\"%s\",kind=\"%s\"} %" PRIu64 "\n", name, d->pid,
                          dev, hp_gpu_kind_name(k), value(c));
        }
    }
}

/* One series per device and tag. */
static void by_tag(hp_buf *b, const hp_dump_info *d, const char *name, const char *type,
                   const char *help, count_of value) {
    const hp_gpu_snapshot *g = d->gpu;
    header(b, name, type, help);
    for (size_t i = 0; i < g->ntags; i++) {
        if (g->tags[i].device == HP_GPU_ALL_DEVICES) continue;
        char dev[32];
        hp_gpu_device_name(g->tags[i].device, dev, sizeof dev);
        hp_buf_printf(b, "%s{pid=\"%d\",device=\"%s\",tag=\"", name, d->pid, dev);
        hp_prom_label_value(b, hp_tag_name(g->tags[i].tag));
        hp_buf_printf(b, "\"} %" PRIu64 "\n", value(&g->tags[i].c));
    }
}

void hp_gpu_prom_text(hp_buf *b, const hp_dump_info *d) {
    const hp_gpu_snapshot *g = d->gpu;
    if (!g) return;
    by_kind(b, d, "heapprof_gpu_live_bytes", "gauge", "GPU memory allocated and not freed.",
            live_bytes);
    by_kind(b, d, "heapprof_gpu_live_objects", "gauge", "GPU allocations not freed.", live_objects);
    by_kind(b, d, "heapprof_gpu_alloc_bytes_total", "counter", "GPU memory allocated since start.",
            alloc_bytes);
    by_kind(b, d, "heapprof_gpu_alloc_objects_total", "counter", "GPU allocations since start.",
            alloc_objects);
    header(b, "heapprof_gpu_peak_bytes", "gauge", "Highest live GPU memory per device so far.");
    for (size_t i = 0; i < g->ndevices; i++) {
        char dev[32];
        hp_gpu_device_name(g->devices[i].device, dev, sizeof dev);
        hp_buf_printf(b, "heapprof_gpu_peak_bytes{pid=\"%d\",device=\"%s\"} %" PRIu64 "\n", d->pid,
                      dev, g->devices[i].all.peak_bytes);
    }
    by_tag(b, d, "heapprof_gpu_tag_live_bytes", "gauge", "Live GPU memory per device and tag.",
           live_bytes);
    by_tag(b, d, "heapprof_gpu_tag_peak_bytes", "gauge", "Peak live GPU memory per device and tag.",
           peak_bytes);
    by_tag(b, d, "heapprof_gpu_tag_alloc_bytes_total", "counter",
           "GPU memory allocated per device and tag.", alloc_bytes);
}

#include "stats_writer.h"
#include "config.h"
#include "json_out.h"
#include "version.h"

#include "tags.h"
#include "../gpu/gpu.h"

#include <inttypes.h>
#include <math.h>

/* Per tag: exact lifetime totals, and live/peak from the sample (exact in
 * full mode) with standard errors. Tags never used are left out. */
static void write_tags(hp_buf *b, const hp_dump_info *d) {
    const hp_profile_snapshot *p = &d->profile;
    hp_buf_printf(b, "  \"tags\": [");
    int first = 1;
    for (uint32_t id = 1; id <= d->ntags; id++) {
        static const hp_tag_estimate none;
        const hp_tag_estimate *e = id < p->ntags ? &p->tags[id] : &none;
        if (!d->tag_alloc_objs[id] && !e->inuse_objs && !e->peak_objs) continue;
        hp_buf_printf(b, "%s\n    {\"name\": ", first ? "" : ",");
        first = 0;
        hp_json_string(b, hp_tag_name(id));
        hp_buf_printf(b,
                      ", \"alloc_bytes\": %" PRIu64 ", \"alloc_objects\": %" PRIu64
                      ", \"live_bytes\": %.0f, \"live_objects\": %.0f, \"peak_bytes\": %.0f"
                      ", \"peak_objects\": %.0f, \"freed_bytes\": %.0f, \"freed_objects\": %.0f"
                      ", \"live_bytes_stderr\": %.1f, \"live_objects_stderr\": %.2f"
                      ", \"exact\": %s}",
                      d->tag_alloc_bytes[id], d->tag_alloc_objs[id], e->inuse_bytes, e->inuse_objs,
                      e->peak_bytes, e->peak_objs, e->freed_bytes, e->freed_objs,
                      sqrt(e->inuse_var_bytes > 0 ? e->inuse_var_bytes : 0),
                      sqrt(e->inuse_var_objs > 0 ? e->inuse_var_objs : 0),
                      d->rate == 1 ? "true" : "false");
    }
    hp_buf_printf(b, "\n  ],\n");
}

void hp_stats_json(hp_buf *b, const hp_dump_info *d) {
    const heapprof_stats_t *s = &d->process;
    hp_buf_printf(b, "{\n  \"schema\": \"heapprof-stats/1\",\n  \"heapprof_version\": ");
    hp_json_string(b, HEAPPROF_VERSION);
    hp_buf_printf(b, ",\n  \"pid\": %d,\n  \"cmd\": ", d->pid);
    hp_json_string(b, d->cmdline);
    hp_buf_printf(b, ",\n  \"reason\": ");
    hp_json_string(b, d->reason);
    hp_buf_printf(b,
                  ",\n  \"seq\": %u,\n  \"time_unix_ns\": %" PRIu64 ",\n  \"uptime_ns\": %" PRIu64
                  ",\n  \"sample_rate\": %" PRId64 ",\n",
                  d->seq, d->time_unix_ns, d->uptime_ns, d->rate);
    hp_buf_printf(b,
                  "  \"process\": {\n"
                  "    \"live_bytes\": %" PRIu64 ",\n    \"live_objects\": %" PRIu64 ",\n"
                  "    \"peak_bytes\": %" PRIu64 ",\n    \"peak_objects\": %" PRIu64 ",\n"
                  "    \"alloc_bytes\": %" PRIu64 ",\n    \"alloc_objects\": %" PRIu64 ",\n"
                  "    \"freed_bytes\": %" PRIu64 ",\n    \"freed_objects\": %" PRIu64 ",\n"
                  "    \"rss_bytes\": %" PRIu64 ",\n    \"peak_rss_bytes\": %" PRIu64 ",\n"
                  "    \"threads_seen\": %" PRIu64 "\n  },\n",
                  s->live_bytes, s->live_objects, s->peak_bytes, s->peak_objects, s->alloc_bytes,
                  s->alloc_objects, s->freed_bytes, s->freed_objects, d->rss_bytes,
                  d->peak_rss_bytes, s->threads_seen);
    const hp_profile_snapshot *p = &d->profile;
    hp_buf_printf(b,
                  "  \"sampling\": {\n    \"rate\": %" PRId64 ",\n    \"exact\": %s,\n"
                  "    \"samples\": %" PRIu64 ",\n    \"live_samples\": %" PRIu64 ",\n"
                  "    \"sites\": %zu,\n    \"stacks\": %" PRIu64 "\n  },\n",
                  d->rate, d->rate == 1 ? "true" : "false", p->samples, p->live_samples, p->nsites,
                  p->stacks);
    write_tags(b, d);
    hp_gpu_stats_json(b, d); /* gpu/: a "gpu" object while GPU tracking is on */
    hp_buf_printf(b, "  \"profiler\": {\n    \"bytes\": %" PRIu64 "\n  }\n}\n", s->profiler_bytes);
}

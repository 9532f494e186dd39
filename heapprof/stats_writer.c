#include "stats_writer.h"
#include "config.h"
#include "json_out.h"
#include "version.h"

#include <inttypes.h>

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
                  d->seq, d->time_unix_ns, d->uptime_ns, hp_cfg.rate);
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
    hp_buf_printf(b, "  \"profiler\": {\n    \"bytes\": %" PRIu64 "\n  }\n}\n", s->profiler_bytes);
}

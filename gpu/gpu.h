/*
 * GPU memory through CUPTI (docs/gpu.md): what the rest of the runtime sees
 * of gpu/. Every function here exists whether or not CUDA support was
 * compiled in; without it, or without a driver, tracking stays off and the
 * snapshot is NULL, so the dump writes nothing GPU-related.
 */
#ifndef HP_GPU_H
#define HP_GPU_H

#include "../heapprof/dump.h"
#include "../heapprof/internal_alloc.h"

#include <stdint.h>

#define HP_GPU_HIDDEN __attribute__((visibility("hidden")))

/* Called from the runtime's constructor: starts tracking when HEAPPROF_GPU=1,
 * or when CUDA_INJECTION64_PATH names this library (the driver will call
 * InitializeInjection too; starting is idempotent). */
void hp_gpu_autostart(void) HP_GPU_HIDDEN;

/* Loads libcupti and subscribes. `route` names the activation for messages
 * and stats.json ("HEAPPROF_GPU", "CUDA_INJECTION64_PATH"). Only the first
 * call does anything; on any failure it prints one "heapprof:" line and
 * tracking stays off. Returns 1 if tracking is on. */
int hp_gpu_start(const char *route) HP_GPU_HIDDEN;

/* A consistent copy of the GPU table for a dump, or NULL when tracking is
 * off (then no GPU file or section is written). */
struct hp_gpu_snapshot *hp_gpu_snapshot_take(uint64_t now_ns) HP_GPU_HIDDEN;
void hp_gpu_snapshot_free(struct hp_gpu_snapshot *s) HP_GPU_HIDDEN;

/* Writers, called with d->gpu non-NULL (docs/formats.md#gpu). */
void hp_gpu_pprof(hp_buf *out, const hp_dump_info *d) HP_GPU_HIDDEN;
void hp_gpu_dhat_json(hp_buf *out, const hp_dump_info *d) HP_GPU_HIDDEN;
void hp_gpu_dhat_json_zst(hp_buf *out, const hp_dump_info *d) HP_GPU_HIDDEN;
/* Append to the host's stats.json and .prom documents; write nothing when
 * d->gpu is NULL. */
void hp_gpu_stats_json(hp_buf *b, const hp_dump_info *d) HP_GPU_HIDDEN;
void hp_gpu_prom_text(hp_buf *b, const hp_dump_info *d) HP_GPU_HIDDEN;

#endif

/*
 * The GPU's own profile files, written by the host writers from the GPU
 * table's sites (docs/formats.md#gpu):
 *   heapprof.<pid>.<seq>.gpu.pb.gz      pprof, the host's four sample types,
 *                                       labels tag, device, kind
 *   heapprof.<pid>.<seq>.gpu.dhat.json  DHAT, each point under a "[gpu:N]"
 *                                       root frame
 * DHAT gets a file of its own rather than points in the host file: a DHAT
 * file has one global peak (tg, and gb/gbk at it), and the GPU's peak is
 * not the host heap's.
 */
#include "gpu.h"
#include "gpu_table.h"
#include "../heapprof/dhat_writer.h"
#include "../heapprof/pprof_writer.h"

#include <stdio.h>

static const hp_gpu_site_attr *attr_of(const hp_gpu_snapshot *g, const hp_site_snapshot *s) {
    return &g->attrs[s - g->profile.sites]; /* s points into g->profile.sites */
}

static int pprof_labels(const hp_site_snapshot *site, const char **keys, const char **values,
                        char room[][32], void *arg) {
    const hp_gpu_site_attr *a = attr_of(arg, site);
    hp_gpu_device_name(a->device, room[0], 32);
    keys[0] = "device";
    values[0] = room[0];
    keys[1] = "kind";
    values[1] = hp_gpu_kind_name(a->kind);
    return 2;
}

void hp_gpu_pprof(hp_buf *out, const hp_dump_info *d) {
    hp_gpu_snapshot *g = d->gpu;
    hp_pprof_space space = {1, "GPU memory through CUPTI; ", pprof_labels, g};
    hp_pprof_write(out, d, &g->profile, &space);
}

/* "[gpu:0]"; the device number (unknown: 0) keeps devices' points apart. */
static uint32_t dhat_root(const hp_site_snapshot *site, char *text, size_t cap, void *arg) {
    const hp_gpu_site_attr *a = attr_of(arg, site);
    if (cap) {
        char dev[32];
        hp_gpu_device_name(a->device, dev, sizeof dev);
        snprintf(text, cap, "[gpu:%s]", dev);
    }
    return (uint32_t)(a->device + 1);
}

void hp_gpu_dhat_json(hp_buf *out, const hp_dump_info *d) {
    hp_gpu_snapshot *g = d->gpu;
    hp_dhat_space space = {1, "GPU memory ", dhat_root, g};
    hp_dhat_write(out, d, &g->profile, &space);
}

void hp_gpu_dhat_json_zst(hp_buf *out, const hp_dump_info *d) {
    hp_dhat_zst_of(out, d, hp_gpu_dhat_json);
}

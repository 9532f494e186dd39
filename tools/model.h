/*
 * The CLI's one in-memory model of a heap profile, whatever file it came
 * from (heapprof's pprof or DHAT, Valgrind's or dhat-rs's DHAT, any pprof
 * heap profile such as Go's). Every command works on this.
 *
 * A profile is a list of samples; each sample has a stack of frames (leaf
 * first, inlined frames expanded), an optional tag, string labels, and one
 * value per metric. Metrics are named as in pprof heap profiles:
 * alloc_objects, alloc_space, inuse_objects, inuse_space, plus, when the
 * source has them, peak_space/peak_objects (DHAT mb/mbk), gpeak_space,
 * gpeak_objects (gb/gbk) and lifetime (tl).
 */
#ifndef HP_CLI_MODEL_H
#define HP_CLI_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define MODEL_MAX_METRICS 16

typedef struct frame {
    const char *function; /* "??" when unknown */
    const char *file;     /* NULL when unknown */
    int line;
    const char *module; /* object file, NULL when unknown */
    uint64_t address;   /* 0 when unknown or synthetic */
} frame;

typedef struct label {
    const char *key, *value;
} label;

typedef struct sample {
    frame *frames; /* leaf first */
    size_t nframes;
    const char *tag; /* NULL: none */
    label *labels;
    size_t nlabels;
    double values[MODEL_MAX_METRICS];
} sample;

typedef struct metric {
    const char *name; /* alloc_space, inuse_objects, ... */
    const char *unit; /* bytes, count, µs */
} metric;

typedef struct profile {
    const char *source; /* "heapprof pprof", "pprof", "heapprof DHAT", "DHAT", "jemalloc heap
                         * profile", ... */
    const char *path;
    metric metrics[MODEL_MAX_METRICS];
    size_t nmetrics;
    sample *samples;
    size_t nsamples, cap;
    int64_t period;     /* sampling rate (pprof period), 0 unknown */
    int64_t time_nanos; /* when written, 0 unknown */
    int64_t duration_nanos;
    const char *command; /* DHAT cmd, or NULL */
    const char *comment;
} profile;

/* Reads any supported file (gzip or zstd compressed or not). On failure
 * returns NULL and prints one "heapprof: PATH: ..." line naming the
 * problem. `quiet_progress` suppresses the progress bar. */
profile *profile_read(const char *path);
void profile_free(profile *p);

/* Index of the metric named `name` (also accepts "space"/"objects" suffix
 * aliases such as "alloc" for alloc_space), or -1. */
int profile_metric(const profile *p, const char *name);
/* Adds a metric if absent; returns its index or -1 when full. */
int profile_add_metric(profile *p, const char *name, const char *unit);

/* Appends an empty sample and returns it (NULL on OOM). */
sample *profile_add_sample(profile *p);

/* Interns a string for the profile's lifetime (all profiles share one pool). */
const char *model_str(const char *s);
const char *model_strn(const char *s, size_t n);

/* Writers (model_write.c). Return 0 or -1 after an error line. */
int profile_write_pprof(const profile *p, const char *path);
int profile_write_dhat(const profile *p, const char *path, int zstd);
int profile_write_collapsed(const profile *p, const char *path, int metric);

/* "function (file:line)" style name of a frame, for display and matching. */
const char *frame_display(const frame *f, char *buf, size_t cap);

#endif

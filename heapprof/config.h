/* Run-time configuration: HEAPPROF_* environment variables, and the same keys
 * in lower case in the file named by HEAPPROF_CONFIG (the environment wins).
 * A bad value never stops the program: it is reported in one line naming the
 * key, the value and what is used instead. */
#ifndef HP_CONFIG_H
#define HP_CONFIG_H

#include <limits.h>
#include <stdint.h>

enum hp_format {
    HP_FMT_PPROF = 1 << 0,
    HP_FMT_DHAT = 1 << 1,
    HP_FMT_STATS = 1 << 2,
    HP_FMT_PROM = 1 << 3,
    HP_FMT_DHAT_ZST = 1 << 4,
};

/* How much a dump resolves (docs/configuration.md, SYMBOLIZE). */
enum hp_symbolize_mode { HP_SYM_FAST = 0, HP_SYM_FULL, HP_SYM_NONE };

typedef struct hp_config {
    char out[PATH_MAX];
    /* out is the default ${TMPDIR:-/tmp}/heapprof-<euid>, under out_base */
    int out_default;
    char out_base[PATH_MAX];
    int64_t rate;     /* mean bytes between samples; 1 = all; 0 = counters only */
    unsigned formats; /* enum hp_format bits */
    double interval;  /* seconds between periodic dumps; 0 = off */
    int signal;       /* 0 = none */
    double peak_dump; /* factor over the last peak; 0 = off */
    char tag[256];
    int depth;
    uint64_t seed;
    int seed_set;
    int gpu;
    char pyroscope_url[1024];
    char app[256];
    int log_level;
    int follow_exec;
    char cupti_path[PATH_MAX];
    char config_file[PATH_MAX];
    int symbolize; /* enum hp_symbolize_mode */
    int thp_arena; /* enum hp_thp_arena (alloc/mi_tuning.h) */
} hp_config;

extern hp_config hp_cfg __attribute__((visibility("hidden")));

/* Fills hp_cfg from defaults, the config file and the environment. */
void hp_config_load(void) __attribute__((visibility("hidden")));

/* Parses one key (lower case, without the HEAPPROF_ prefix). Returns 0 if the
 * key is known (a bad value is reported and replaced), -1 if it is not.
 * `origin` names where the value came from, for messages. */
int hp_config_set(const char *key, const char *value, const char *origin)
    __attribute__((visibility("hidden")));

#endif

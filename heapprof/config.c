#define _GNU_SOURCE
#include "config.h"
#include "../alloc/mi_tuning.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

hp_config hp_cfg;

#define DEFAULT_RATE 524288
#define DEFAULT_DEPTH 64
#define MAX_DEPTH 256

static void defaults(void) {
    memset(&hp_cfg, 0, sizeof hp_cfg);
    const char *tmp = getenv("TMPDIR");
    if (!tmp || tmp[0] != '/') tmp = "/tmp";
    snprintf(hp_cfg.out_base, sizeof hp_cfg.out_base, "%s", tmp);
    snprintf(hp_cfg.out, sizeof hp_cfg.out, "%s/heapprof-%u", tmp, (unsigned)geteuid());
    hp_cfg.out_default = 1;
    hp_cfg.rate = DEFAULT_RATE;
    hp_cfg.formats = HP_FMT_PPROF | HP_FMT_DHAT | HP_FMT_STATS;
    strcpy(hp_cfg.tag, "main");
    hp_cfg.depth = DEFAULT_DEPTH;
    hp_cfg.log_level = HP_LOG_INFO;
    hp_cfg.follow_exec = 1;
    hp_cfg.symbolize = HP_SYM_FAST;
    hp_cfg.thp_arena = HP_THP_ARENA_OFF;
}

/* Whole number with an optional binary suffix: 512K, 4M, 1G (or KiB, MiB, GiB). */
static int parse_bytes(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || s[0] == '-') return -1;
    unsigned shift = 0;
    if (*end) {
        switch (toupper((unsigned char)*end)) {
        case 'K':
            shift = 10;
            break;
        case 'M':
            shift = 20;
            break;
        case 'G':
            shift = 30;
            break;
        default:
            return -1;
        }
        end++;
        if (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0) end += strlen(end);
        if (*end) return -1;
    }
    if (v > ((unsigned long long)INT64_MAX >> shift)) return -1;
    *out = (int64_t)(v << shift);
    return 0;
}

static int parse_number(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < 0) return -1;
    *out = v;
    return 0;
}

/* The index of s among names (case-insensitive) in *out; -1 if none. */
static int parse_choice(const char *s, const char *const *names, int n, int *out) {
    for (int i = 0; i < n; i++) {
        if (!strcasecmp(s, names[i])) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

static int parse_bool(const char *s, int *out) {
    if (!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes") ||
        !strcasecmp(s, "on")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no") ||
        !strcasecmp(s, "off")) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int parse_signal(const char *s, int *out) {
    if (!strcasecmp(s, "none") || !strcmp(s, "0") || !*s) {
        *out = 0;
        return 0;
    }
    const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
    if (!strncasecmp(name, "RTMIN", 5)) {
        int off = 0;
        if (name[5] == '+') {
            char *end;
            off = (int)strtol(name + 6, &end, 10);
            if (end == name + 6 || *end) return -1;
        } else if (name[5]) {
            return -1;
        }
        if (SIGRTMIN + off > SIGRTMAX || off < 0) return -1;
        *out = SIGRTMIN + off;
        return 0;
    }
    static const struct {
        const char *name;
        int sig;
    } allowed[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2},   {"HUP", SIGHUP},
                   {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"URG", SIGURG}};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        if (!strcasecmp(name, allowed[i].name)) {
            *out = allowed[i].sig;
            return 0;
        }
    }
    return -1;
}

static int parse_formats(const char *s, unsigned *out) {
    unsigned bits = 0;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ", ");
        if (n == 5 && !strncasecmp(p, "pprof", n))
            bits |= HP_FMT_PPROF;
        else if (n == 4 && !strncasecmp(p, "dhat", n))
            bits |= HP_FMT_DHAT;
        else if (n == 8 && !strncasecmp(p, "dhat.zst", n))
            bits |= HP_FMT_DHAT_ZST;
        else if (n == 5 && !strncasecmp(p, "stats", n))
            bits |= HP_FMT_STATS;
        else if (n == 4 && !strncasecmp(p, "prom", n))
            bits |= HP_FMT_PROM;
        else if (n != 0)
            return -1;
        p += n;
        while (*p == ',' || *p == ' ')
            p++;
    }
    if (!bits) return -1;
    *out = bits;
    return 0;
}

static int copy_string(const char *s, char *dst, size_t cap, int need_abs_path) {
    size_t n = strlen(s);
    if (n == 0 || n >= cap) return -1;
    if (need_abs_path && s[0] != '/') return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

/* The value as it can be shown on one line: control characters escaped
 * (\n, \t, \xNN), very long values cut with a note of their length. */
static const char *shown(const char *value, char *buf, size_t cap) {
    size_t o = 0, n = strlen(value);
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == '\n')
            o += (size_t)snprintf(buf + o, cap - o, "\\n");
        else if (c == '\t')
            o += (size_t)snprintf(buf + o, cap - o, "\\t");
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
        if (o + 8 >= cap && i + 1 < n) {
            o += (size_t)snprintf(buf + o, cap - o, "...");
            break;
        }
    }
    buf[o] = 0;
    return buf;
}

#define BAD(fix)                                                                                   \
    do {                                                                                           \
        char show_[6000];                                                                          \
        hp_info("%s%s=\"%s\" is not valid (%s); using %s", prefix, key_shown,                      \
                shown(value, show_, sizeof show_), fix, fallback);                                 \
        return 0;                                                                                  \
    } while (0)

int hp_config_set(const char *key, const char *value, const char *origin) {
    char key_shown[64], fallback[300];
    int from_env = strcmp(origin, "environment") == 0;
    const char *prefix = from_env ? "HEAPPROF_" : "";
    size_t i;
    for (i = 0; key[i] && i < sizeof key_shown - 1; i++)
        key_shown[i] = (char)(from_env ? toupper((unsigned char)key[i]) : key[i]);
    key_shown[i] = 0;

    if (!strcmp(key, "out")) {
        snprintf(fallback, sizeof fallback, "the default directory");
        /* A relative directory is resolved against the working directory at dump time. */
        if (copy_string(value, hp_cfg.out, sizeof hp_cfg.out, 0)) BAD("give a directory path");
        hp_cfg.out_default = 0;
    } else if (!strcmp(key, "rate")) {
        snprintf(fallback, sizeof fallback, "%lld", (long long)hp_cfg.rate);
        if (parse_bytes(value, &hp_cfg.rate))
            BAD("give mean bytes between samples, e.g. 524288 or 512K; 1 = every allocation, 0 = "
                "off");
    } else if (!strcmp(key, "format")) {
        snprintf(fallback, sizeof fallback, "the previous list");
        if (parse_formats(value, &hp_cfg.formats))
            BAD("give a comma list of pprof, dhat, dhat.zst, stats, prom");
    } else if (!strcmp(key, "interval")) {
        snprintf(fallback, sizeof fallback, "%g", hp_cfg.interval);
        if (parse_number(value, &hp_cfg.interval)) BAD("give seconds, e.g. 30; 0 = off");
    } else if (!strcmp(key, "signal")) {
        snprintf(fallback, sizeof fallback, "%s", hp_cfg.signal ? "the previous signal" : "none");
        if (parse_signal(value, &hp_cfg.signal))
            BAD("give SIGUSR1, SIGUSR2, SIGHUP, SIGPROF, SIGWINCH, SIGURG, SIGRTMIN+N or none");
    } else if (!strcmp(key, "peak_dump")) {
        snprintf(fallback, sizeof fallback, "%s", hp_cfg.peak_dump ? "the previous factor" : "off");
        double f;
        if (!strcasecmp(value, "off") || !strcmp(value, "0"))
            hp_cfg.peak_dump = 0;
        else if (parse_number(value, &f) || f <= 1.0)
            BAD("give a factor above 1, e.g. 1.5, or off");
        else
            hp_cfg.peak_dump = f;
    } else if (!strcmp(key, "tag")) {
        snprintf(fallback, sizeof fallback, "\"%s\"", hp_cfg.tag);
        if (copy_string(value, hp_cfg.tag, sizeof hp_cfg.tag, 0))
            BAD("give a name of 1 to 255 bytes");
    } else if (!strcmp(key, "depth")) {
        snprintf(fallback, sizeof fallback, "%d", hp_cfg.depth);
        int64_t d;
        if (parse_bytes(value, &d) || d < 1 || d > MAX_DEPTH) BAD("give 1 to 256 frames");
        hp_cfg.depth = (int)d;
    } else if (!strcmp(key, "seed")) {
        snprintf(fallback, sizeof fallback, "a random seed");
        char *end;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 0);
        if (end == value || *end || errno || value[0] == '-') BAD("give a whole number");
        hp_cfg.seed = v;
        hp_cfg.seed_set = 1;
    } else if (!strcmp(key, "gpu")) {
        snprintf(fallback, sizeof fallback, "%d", hp_cfg.gpu);
        if (parse_bool(value, &hp_cfg.gpu)) BAD("give 1 or 0");
    } else if (!strcmp(key, "pyroscope_url")) {
        snprintf(fallback, sizeof fallback, "no push");
        if (strncmp(value, "http://", 7) && strncmp(value, "https://", 8)) {
            hp_cfg.pyroscope_url[0] = 0;
            BAD("give an http:// or https:// URL");
        }
        if (copy_string(value, hp_cfg.pyroscope_url, sizeof hp_cfg.pyroscope_url, 0))
            BAD("URL too long");
    } else if (!strcmp(key, "app")) {
        snprintf(fallback, sizeof fallback, "the program name");
        size_t n = strlen(value);
        if (n == 0 || n >= sizeof hp_cfg.app ||
            strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-") !=
                n)
            BAD("give a name of letters, digits and _ . / -");
        memcpy(hp_cfg.app, value, n + 1);
    } else if (!strcmp(key, "log")) {
        static const char *const names[] = {"quiet", "info", "debug"}; /* enum hp_log_level */
        snprintf(fallback, sizeof fallback, "info");
        if (parse_choice(value, names, 3, &hp_cfg.log_level)) BAD("give quiet, info or debug");
        hp_log_set_level(hp_cfg.log_level);
    } else if (!strcmp(key, "follow_exec")) {
        snprintf(fallback, sizeof fallback, "%d", hp_cfg.follow_exec);
        if (parse_bool(value, &hp_cfg.follow_exec)) BAD("give 1 or 0");
    } else if (!strcmp(key, "cupti_path")) {
        snprintf(fallback, sizeof fallback, "the usual CUDA locations");
        if (copy_string(value, hp_cfg.cupti_path, sizeof hp_cfg.cupti_path, 1))
            BAD("give an absolute path to libcupti.so");
    } else if (!strcmp(key, "symbolize")) {
        static const char *const names[] = {"fast", "full", "none"}; /* enum hp_symbolize_mode */
        snprintf(fallback, sizeof fallback, "%s", names[hp_cfg.symbolize]);
        if (parse_choice(value, names, 3, &hp_cfg.symbolize)) BAD("give fast, full or none");
    } else if (!strcmp(key, "thp_arena")) {
        static const char *const names[] = {"0", "1", "auto"}; /* enum hp_thp_arena */
        snprintf(fallback, sizeof fallback, "%s", names[hp_cfg.thp_arena]);
        int on;
        if (!parse_choice(value, names, 3, &hp_cfg.thp_arena)) return 0;
        if (parse_bool(value, &on)) BAD("give auto, 1 or 0");
        hp_cfg.thp_arena = on ? HP_THP_ARENA_NOW : HP_THP_ARENA_OFF;
    } else if (!strcmp(key, "config")) {
        return 0; /* only meaningful in the environment; handled by hp_config_load */
    } else {
        return -1;
    }
    return 0;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

/* The config file's lines, parsed once (open/read into a static buffer: no
 * stdio, no allocation). */
#define MAX_FILE_ENTRIES 256
static struct file_entry {
    const char *key, *value;
    int lineno;
} entries[MAX_FILE_ENTRIES];
static int nentries;

static void read_file(const char *path) {
    static char text[64 * 1024];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        hp_info("HEAPPROF_CONFIG=\"%s\" cannot be read (%s); fix the path; using the "
                "environment and defaults only",
                path, strerror(errno));
        return;
    }
    size_t len = 0;
    ssize_t n = 0;
    while (len < sizeof text - 1 && (n = read(fd, text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)n;
    int read_error = n < 0 ? errno : 0;
    close(fd);
    if (read_error) {
        hp_info("HEAPPROF_CONFIG=\"%s\" cannot be read (%s); fix the path; using the environment "
                "and defaults only",
                path, strerror(read_error));
        return;
    }
    text[len] = 0;
    if (len == sizeof text - 1)
        hp_info("%s is larger than %zu bytes; the rest is ignored", path, sizeof text - 1);

    int lineno = 0;
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        char *key = s, *value = NULL; /* no '=': reported once the log level is known */
        if (eq) {
            *eq = 0;
            key = trim(s);
            value = trim(eq + 1);
            for (char *k = key; *k; k++)
                *k = (char)tolower((unsigned char)*k);
            if (!strncmp(key, "heapprof_", 9)) key += 9;
        }
        if (nentries == MAX_FILE_ENTRIES) {
            hp_info("%s:%d: more than %d settings; the rest are ignored", path, lineno,
                    MAX_FILE_ENTRIES);
            break;
        }
        entries[nentries++] = (struct file_entry){key, value, lineno};
    }
}

/* Applies the file's entries: `log` alone, or everything but `log`. */
static void apply_file(const char *path, int log_only) {
    for (int i = 0; i < nentries; i++) {
        const struct file_entry *e = &entries[i];
        if (!e->value) {
            if (!log_only)
                hp_info("%s:%d: \"%s\" is not a key = value line; ignored", path, e->lineno,
                        e->key);
            continue;
        }
        if ((strcmp(e->key, "log") == 0) != log_only) continue;
        if (!strcmp(e->key, "config")) {
            hp_info("%s:%d: config = \"%s\" only works as HEAPPROF_CONFIG in the environment; "
                    "ignored",
                    path, e->lineno, e->value);
            continue;
        }
        if (hp_config_set(e->key, e->value, path) < 0) {
            char show[6000];
            hp_info("%s:%d: unknown key \"%s\" = \"%s\"; ignored (see docs/configuration.md)", path,
                    e->lineno, e->key, shown(e->value, show, sizeof show));
        }
    }
}

void hp_config_load(void) {
    defaults();
    /* The log level comes first, so that it governs every message below:
     * HEAPPROF_LOG, else the file's `log`. */
    const char *log = getenv("HEAPPROF_LOG");
    const char *file = getenv("HEAPPROF_CONFIG");
    if (log) hp_config_set("log", log, "environment");
    if (file && *file) {
        copy_string(file, hp_cfg.config_file, sizeof hp_cfg.config_file, 0);
        read_file(file);
        if (!log) apply_file(file, 1);
        apply_file(file, 0);
    }
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "HEAPPROF_", 9)) continue;
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        char key[256];
        size_t n = (size_t)(eq - (*e + 9));
        if (n < sizeof key) {
            for (size_t i = 0; i < n; i++)
                key[i] = (char)tolower((unsigned char)(*e)[9 + i]);
            key[n] = 0;
            if (!strcmp(key, "log")) continue; /* applied first, above */
            if (n && hp_config_set(key, eq + 1, "environment") == 0) continue;
        }
        char show[6000];
        hp_info("HEAPPROF_%.*s=\"%s\" is not a known setting; ignored (see docs/configuration.md)",
                (int)(n < 200 ? n : 200), *e + 9, shown(eq + 1, show, sizeof show));
    }
}

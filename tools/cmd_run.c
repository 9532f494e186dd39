/*
 * heapprof run [options] -- CMD ARGS...
 *
 * Starts CMD with libheapprof.so preloaded (ahead of any LD_PRELOAD already
 * set), profiles into ./heapprof-<prog>-<pid>/ unless --out says otherwise,
 * waits, prints a short summary of the heap to stderr, and ends the way CMD
 * ended: same exit status, or the same fatal signal re-raised.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <cjson/cJSON.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Options that become HEAPPROF_* variables of the child. */
static const struct {
    const char *flag, *var, *arg;
    const char *help;
} env_options[] = {
    {"--out", "HEAPPROF_OUT", "DIR", "where profiles go (default ./heapprof-<prog>-<pid>/)"},
    {"--rate", "HEAPPROF_RATE", "BYTES", "mean bytes between samples; 1 = all, 0 = counters only"},
    {"--format", "HEAPPROF_FORMAT", "LIST", "comma list of pprof, dhat, stats, prom"},
    {"--interval", "HEAPPROF_INTERVAL", "SECONDS", "also dump every SECONDS"},
    {"--signal", "HEAPPROF_SIGNAL", "SIG", "also dump when the program receives SIG"},
    {"--peak-dump", "HEAPPROF_PEAK_DUMP", "FACTOR", "also dump when live bytes pass FACTOR x peak"},
    {"--tag", "HEAPPROF_TAG", "NAME", "initial attribution tag"},
    {"--depth", "HEAPPROF_DEPTH", "FRAMES", "maximum stack depth"},
    {"--seed", "HEAPPROF_SEED", "N", "sampling seed (reproducible runs)"},
    {"--config", "HEAPPROF_CONFIG", "FILE", "read settings from FILE"},
    {"--log", "HEAPPROF_LOG", "LEVEL", "quiet, info or debug"},
    {"--symbolize", "HEAPPROF_SYMBOLIZE", "MODE", "fast, full or none (names in the profiles)"},
    {"--pyroscope-url", "HEAPPROF_PYROSCOPE_URL", "URL", "push profiles to Pyroscope from the program"},
    {"--app", "HEAPPROF_APP", "NAME", "application name for Pyroscope"},
};

static void run_usage(FILE *out) {
    fprintf(out, "usage: heapprof run [options] [--] CMD [ARGS...]\n\n"
                 "Runs CMD with the heap profiler preloaded and prints a summary when it ends.\n"
                 "The exit status (or fatal signal) is CMD's own.\n\noptions:\n");
    for (size_t i = 0; i < sizeof env_options / sizeof env_options[0]; i++) {
        char left[40];
        snprintf(left, sizeof left, "%s %s", env_options[i].flag, env_options[i].arg);
        fprintf(out, "  %-22s %s\n", left, env_options[i].help);
    }
    fprintf(out, "  %-22s %s\n", "--gpu", "also track CUDA device memory (HEAPPROF_GPU=1)");
    fprintf(out, "  %-22s %s\n", "--no-follow-exec", "do not profile programs CMD execs");
    fprintf(out, "  %-22s %s\n", "--lib PATH", "libheapprof.so to preload");
    fprintf(out, "  %-22s %s\n", "-q, --quiet", "no summary");
}

/* The library sits next to the CLI in build/, or in ../lib when installed. */
static int find_library(char *out, size_t cap) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = 0;
    const char *dir = dirname(exe);
    const char *candidates[] = {"%s/libheapprof.so", "%s/../lib/libheapprof.so",
                                "%s/../lib/heapprof/libheapprof.so"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, candidates[i], dir);
        if (access(path, R_OK) == 0 && realpath(path, out)) return 0;
    }
    (void)cap;
    return -1;
}

static pid_t child;

static void forward(int sig) {
    if (child > 0) kill(child, sig);
}

static cJSON *read_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *t = realloc(text, cap);
            if (!t) break;
            text = t;
        }
        size_t r = fread(text + len, 1, cap - len - 1, f);
        if (r == 0) break;
        len += r;
    }
    fclose(f);
    if (!text) return NULL;
    text[len] = 0;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    return doc;
}

static double num(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void summarise(const char *out_dir, pid_t pid, const char *prog, int status) {
    char how[64];
    if (WIFEXITED(status)) snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
    else snprintf(how, sizeof how, "was killed by signal %d (%s)", WTERMSIG(status),
                  strsignal(WTERMSIG(status)));
    fprintf(stderr, "heapprof: %s (pid %d) %s\n", prog, (int)pid, how);

    char path[PATH_MAX + 400];
    snprintf(path, sizeof path, "%s/heapprof.%d.final.stats.json", out_dir, (int)pid);
    cJSON *doc = read_json(path);
    const cJSON *proc = doc ? cJSON_GetObjectItemCaseSensitive(doc, "process") : NULL;
    if (!proc) {
        fprintf(stderr, "heapprof:   no final profile in %s (a program that ends by a signal or "
                        "_exit, or is statically linked, writes none)\n", out_dir);
        cJSON_Delete(doc);
        return;
    }
    char b1[32], b2[32], b3[32], c1[32], c2[32], c3[32];
    fprintf(stderr, "heapprof:   peak %s in %s blocks; allocated %s in %s blocks; live at exit %s "
                    "in %s blocks\n",
            fmt_bytes(b1, sizeof b1, num(proc, "peak_bytes")),
            fmt_count(c1, sizeof c1, (uint64_t)num(proc, "peak_objects")),
            fmt_bytes(b2, sizeof b2, num(proc, "alloc_bytes")),
            fmt_count(c2, sizeof c2, (uint64_t)num(proc, "alloc_objects")),
            fmt_bytes(b3, sizeof b3, num(proc, "live_bytes")),
            fmt_count(c3, sizeof c3, (uint64_t)num(proc, "live_objects")));
    fprintf(stderr, "heapprof:   profiles in %s/\n", out_dir);
    cJSON_Delete(doc);
}

static void end_like(int status) {
    if (WIFEXITED(status)) exit(WEXITSTATUS(status));
    int sig = WTERMSIG(status);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core); /* the core, if any, was the child's to write */
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    exit(128 + sig);
}

/* The file execvp would run for name: itself if it has a slash, else the
 * first executable match on PATH. 0 if found. */
static int resolve_command(const char *name, char *out, size_t cap) {
    if (strchr(name, '/')) {
        snprintf(out, cap, "%s", name);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        snprintf(out, cap, "%.*s/%s", (int)len, len ? p : ".", name);
        if (access(out, X_OK) == 0) return 0;
        if (!end) break;
        p = end + 1;
    }
    return -1;
}

/* 1 if path is an ELF executable without an interpreter (statically
 * linked, static-pie included): LD_PRELOAD never reaches it. */
static int statically_linked(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    Elf64_Ehdr eh;
    int is_static = 0;
    if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
        (eh.e_type == ET_EXEC || eh.e_type == ET_DYN) && eh.e_phnum > 0) {
        is_static = 1;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph ||
                ph.p_type == PT_INTERP) {
                is_static = 0;
                break;
            }
        }
    }
    close(fd);
    return is_static;
}

int cmd_run(int argc, char **argv) {
    const char *settings[sizeof env_options / sizeof env_options[0]] = {0};
    const char *lib_arg = NULL;
    int gpu = 0, no_follow = 0, quiet = 0, i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-') break;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            run_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--gpu")) { gpu = 1; continue; }
        if (!strcmp(a, "--no-follow-exec")) { no_follow = 1; continue; }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) { quiet = 1; continue; }
        const char *eq = strchr(a, '=');
        size_t flag_len = eq ? (size_t)(eq - a) : strlen(a);
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        int known = 0;
        if (flag_len == 5 && !strncmp(a, "--lib", 5)) {
            lib_arg = value;
            known = 1;
        }
        for (size_t k = 0; !known && k < sizeof env_options / sizeof env_options[0]; k++) {
            if (strlen(env_options[k].flag) == flag_len && !strncmp(a, env_options[k].flag, flag_len)) {
                settings[k] = value;
                known = 1;
            }
        }
        if (!known) {
            cli_error("run: unknown option '%s'; see 'heapprof run --help'", a);
            return 2;
        }
        if (!value) {
            cli_error("run: option '%.*s' needs a value", (int)flag_len, a);
            return 2;
        }
        if (!eq) i++;
    }
    if (i >= argc) {
        cli_error("run: no command given; usage: heapprof run [options] -- CMD [ARGS...]");
        return 2;
    }
    char **cmd = argv + i;

    char lib[PATH_MAX];
    if (lib_arg) {
        if (!realpath(lib_arg, lib)) {
            cli_error("run: --lib %s: %s", lib_arg, strerror(errno));
            return 2;
        }
    } else if (find_library(lib, sizeof lib)) {
        cli_error("run: libheapprof.so not found next to this program or in ../lib; pass --lib PATH");
        return 2;
    }

    char resolved[PATH_MAX + 256];
    if (resolve_command(cmd[0], resolved, sizeof resolved) == 0 && statically_linked(resolved))
        fprintf(stderr, "heapprof: %s is statically linked: LD_PRELOAD cannot load the profiler "
                        "into it, so it runs unprofiled and writes no profile\n", cmd[0]);

    char prog[256];
    snprintf(prog, sizeof prog, "%s", cmd[0]);
    const char *base = basename(prog);

    int sync_pipe[2];
    if (pipe2(sync_pipe, O_CLOEXEC)) {
        cli_error("run: pipe: %s", strerror(errno));
        return 2;
    }
    fflush(NULL);
    child = fork();
    if (child < 0) {
        cli_error("run: fork: %s", strerror(errno));
        return 2;
    }
    /* Absolute, so a command that changes directory still writes here. */
    char out_dir[PATH_MAX + 300], cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
    const char *out_setting = settings[0];
    if (out_setting && out_setting[0] == '/')
        snprintf(out_dir, sizeof out_dir, "%s", out_setting);
    else if (out_setting)
        snprintf(out_dir, sizeof out_dir, "%s/%s", cwd, out_setting);
    else
        snprintf(out_dir, sizeof out_dir, "%s/heapprof-%s-%d", cwd, base,
                 child == 0 ? (int)getpid() : (int)child);
    if (child == 0) {
        close(sync_pipe[0]);
        const char *old = getenv("LD_PRELOAD");
        char *preload = NULL;
        if (old && *old) {
            if (asprintf(&preload, "%s:%s", lib, old) < 0) _exit(127);
        } else {
            preload = lib;
        }
        setenv("LD_PRELOAD", preload, 1);
        setenv("HEAPPROF_OUT", out_dir, 1);
        for (size_t k = 1; k < sizeof env_options / sizeof env_options[0]; k++)
            if (settings[k]) setenv(env_options[k].var, settings[k], 1);
        if (gpu) setenv("HEAPPROF_GPU", "1", 1);
        if (no_follow) setenv("HEAPPROF_FOLLOW_EXEC", "0", 1);
        execvp(cmd[0], cmd);
        int err = errno;
        cli_error("run: cannot run '%s': %s", cmd[0], strerror(err));
        ssize_t ignored = write(sync_pipe[1], &err, sizeof err);
        (void)ignored;
        _exit(err == ENOENT ? 127 : 126);
    }
    close(sync_pipe[1]);
    int exec_errno = 0;
    ssize_t got = read(sync_pipe[0], &exec_errno, sizeof exec_errno);
    close(sync_pipe[0]);

    /* The terminal sends ^C and ^\ to the child as well; other signals sent
     * to us are passed on so the child decides how to end. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    int forwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGCONT, SIGWINCH};
    for (size_t k = 0; k < sizeof forwarded / sizeof forwarded[0]; k++) signal(forwarded[k], forward);

    int status;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            cli_error("run: waitpid: %s", strerror(errno));
            return 2;
        }
    }
    if (got == sizeof exec_errno) end_like(status); /* exec failed: already reported */
    if (!quiet) summarise(out_dir, child, base, status);
    end_like(status);
    return 0;
}

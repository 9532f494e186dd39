/*
 * fork and exec under the profiler, for tests/integration/fork_*.sh.
 * stdout is the same with or without the runtime (no pids, no timings);
 * pids and what heapprof_dump returned go to the file RESULTS as
 * "key value" lines (appended, one write each, so processes may share it).
 *
 *   trigger_fork fork RESULTS
 *       keeps 3 MiB live, dump("parent-before"), forks a child that dumps
 *       ("child"), frees half of the inherited blocks, allocates its own and
 *       exits through exit(); the parent waits, dump("parent-after"), exits.
 *   trigger_fork busyfork N RESULTS
 *       one thread allocates and frees continuously and another calls
 *       heapprof_dump("loop") every 50 ms while the main thread forks N
 *       children; each child allocates and exits through exit() (so it
 *       writes its exit dump); a child not done within 20 s is killed
 *       (SIGKILL) and counted as stuck.
 *   trigger_fork childtriggers RESULTS
 *       forks a child that raises SIGUSR2 once (only when the runtime is
 *       loaded), allocates for 1.2 s and exits;
 *       the parent allocates meanwhile, waits and exits (run with
 *       HEAPPROF_INTERVAL and HEAPPROF_SIGNAL=SIGUSR2).
 *   trigger_fork exec RESULTS
 *       forks a child that execs this program as "probe RESULTS"; waits.
 *   trigger_fork probe RESULTS
 *       allocates, then records whether libheapprof is mapped into this
 *       process and whether LD_PRELOAD names it, and LD_PRELOAD itself.
 *   trigger_fork execself RESULTS
 *       dump("before-exec"), then execs this program as "probe RESULTS"
 *       in the same process (same pid).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <heapprof.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *results;

static void note(const char *fmt, ...) {
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    int fd = open(results, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    ssize_t ignored = write(fd, line, (size_t)n);
    (void)ignored;
    close(fd);
}

static void dump(const char *reason) {
    if (!heapprof_available()) return;
    int rc = heapprof_dump(reason);
    note("dump %d %s %d", (int)getpid(), reason, rc);
}

static unsigned long churn(int n, size_t base) {
    unsigned long sum = 0;
    char **v = malloc(sizeof *v * (size_t)n);
    for (int i = 0; i < n; i++) {
        size_t len = base + (size_t)(i % 61);
        v[i] = malloc(len);
        memset(v[i], 'a' + i % 26, len);
        sum += (unsigned char)v[i][len - 1];
    }
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return sum;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t fork_checked(void) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    return pid;
}

/* Waits up to `seconds` for pid; kills it if it is still running. Returns
 * 0 if it exited 0, 1 if it ended otherwise, 2 if it was stuck. */
static int wait_child(pid_t pid, double seconds) {
    double end = now() + seconds;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
        if (r < 0) return 1;
        if (now() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return 2;
        }
        usleep(2000);
    }
}

static void self_path(char *buf, size_t cap) {
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0) n = 0;
    buf[n] = 0;
}

static atomic_int stop;
static void *allocator(void *arg) {
    (void)arg;
    unsigned long n = 0;
    while (!atomic_load(&stop))
        n += churn(64, 16 + n % 2000);
    return NULL;
}
static void *dumper(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        if (heapprof_available()) heapprof_dump("loop");
        usleep(50000);
    }
    return NULL;
}

static int mode_fork(void) {
    char *inherited[48];
    for (int i = 0; i < 48; i++) {
        inherited[i] = malloc(64 * 1024);
        memset(inherited[i], i, 64 * 1024);
    }
    printf("parent: churn %lu\n", churn(500, 32));
    dump("parent-before");
    pid_t pid = fork_checked();
    if (pid == 0) {
        note("child %d", (int)getpid());
        dump("child");
        for (int i = 0; i < 48; i += 2)
            free(inherited[i]);
        printf("child: churn %lu\n", churn(2000, 48));
        exit(0);
    }
    int rc = wait_child(pid, 30);
    printf("parent: child %s\n", rc == 0 ? "ok" : rc == 2 ? "stuck" : "failed");
    dump("parent-after");
    for (int i = 0; i < 48; i++)
        free(inherited[i]);
    return rc;
}

static int mode_busyfork(int n) {
    pthread_t a, d;
    pthread_create(&a, NULL, allocator, NULL);
    pthread_create(&d, NULL, dumper, NULL);
    int ok = 0, stuck = 0;
    for (int k = 0; k < n; k++) {
        pid_t pid = fork_checked();
        if (pid == 0) {
            alarm(30);
            note("child %d", (int)getpid());
            unsigned long s = churn(300, 24);
            char *p = realloc(malloc(10), 200000);
            free(p);
            exit(s ? 0 : 1);
        }
        int rc = wait_child(pid, 20);
        ok += rc == 0;
        stuck += rc == 2;
    }
    atomic_store(&stop, 1);
    pthread_join(a, NULL);
    pthread_join(d, NULL);
    printf("busyfork: %d of %d children fine, %d stuck\n", ok, n, stuck);
    return ok == n ? 0 : 1;
}

static int mode_childtriggers(void) {
    pid_t pid = fork_checked();
    if (pid == 0) {
        note("child %d", (int)getpid());
        /* with HEAPPROF_SIGNAL=SIGUSR2: a signal dump (a plain run would die) */
        if (heapprof_available()) raise(SIGUSR2);
        double end = now() + 1.2;
        unsigned long s = 0;
        while (now() < end) {
            s += churn(100, 64);
            usleep(5000);
        }
        printf("child: done\n");
        exit(s ? 0 : 1);
    }
    double end = now() + 0.6;
    while (now() < end) {
        churn(100, 64);
        usleep(5000);
    }
    int rc = wait_child(pid, 30);
    printf("parent: child %s\n", rc == 0 ? "ok" : rc == 2 ? "stuck" : "failed");
    return rc;
}

static int mode_probe(void) {
    printf("probe: churn %lu\n", churn(3000, 40));
    int mapped = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "libheapprof")) mapped = 1;
    if (f) fclose(f);
    const char *pre = getenv("LD_PRELOAD");
    note("probe %d mapped %d preload-names-it %d", (int)getpid(), mapped,
         pre && strstr(pre, "libheapprof") ? 1 : 0);
    note("probe-preload %d %s", (int)getpid(), pre ? pre : "(unset)");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s fork|busyfork N|childtriggers|exec|probe|execself RESULTS\n",
                argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    results = argv[argc - 1];
    note("pid %d %s", (int)getpid(), mode);
    if (!strcmp(mode, "fork")) return mode_fork();
    if (!strcmp(mode, "busyfork") && argc > 3) return mode_busyfork(atoi(argv[2]));
    if (!strcmp(mode, "childtriggers")) return mode_childtriggers();
    if (!strcmp(mode, "probe")) return mode_probe();
    char self[4096];
    self_path(self, sizeof self);
    if (!strcmp(mode, "exec")) {
        printf("parent: churn %lu\n", churn(500, 32));
        pid_t pid = fork_checked();
        if (pid == 0) {
            execl(self, self, "probe", results, (char *)NULL);
            _exit(127);
        }
        int rc = wait_child(pid, 30);
        printf("parent: exec child %s\n", rc == 0 ? "ok" : rc == 2 ? "stuck" : "failed");
        return rc;
    }
    if (!strcmp(mode, "execself")) {
        printf("execself: churn %lu\n", churn(500, 32));
        dump("before-exec");
        fflush(NULL);
        execl(self, self, "probe", results, (char *)NULL);
        perror("execl");
        return 127;
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}

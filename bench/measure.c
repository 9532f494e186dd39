/*
 * measure: runs one command and prints what it cost, for bench/run.sh.
 *
 *   measure [-o LOG] [-t SECONDS] [NAME=VALUE ...] -- PROGRAM [ARG ...]
 *
 * The assignments are added to the child's environment only, so the
 * measuring process itself never runs under a preloaded allocator. The
 * child's stdout goes to /dev/null and its stderr to LOG (default
 * /dev/null). Prints one line:
 *
 *   wall_s user_s sys_s maxrss_kib minor_faults status
 *
 * where the times and the peak resident set come from wait4() (so they
 * cover the child and every descendant it waited for) and status is the
 * exit code, or 128+N when the child died of signal N. With -t, the child's
 * process group is killed (SIGKILL) after SECONDS and status is 124, as with
 * timeout(1). Exits 0 whenever the
 * measurement itself worked; the child's failure is reported in `status`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig) {
    (void)sig;
    timed_out = 1;
    kill(-child, SIGKILL);
}

static double seconds(struct timeval tv) {
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static int redirect(int fd, const char *path, int flags) {
    int f = open(path, flags, 0644);
    if (f < 0) return -1;
    if (f != fd) {
        if (dup2(f, fd) < 0) return -1;
        close(f);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *log = "/dev/null";
    unsigned limit = 0;
    int i = 1;
    for (;;) {
        if (i + 1 < argc && !strcmp(argv[i], "-o"))
            log = argv[i + 1];
        else if (i + 1 < argc && !strcmp(argv[i], "-t"))
            limit = (unsigned)atoi(argv[i + 1]);
        else
            break;
        i += 2;
    }
    int first_env = i;
    while (i < argc && strcmp(argv[i], "--") != 0) {
        if (!strchr(argv[i], '=')) {
            fprintf(stderr, "measure: expected NAME=VALUE or --, got '%s'\n", argv[i]);
            return 2;
        }
        i++;
    }
    int last_env = i;
    if (i >= argc || i + 1 >= argc) {
        fprintf(stderr,
                "usage: measure [-o LOG] [-t SECONDS] [NAME=VALUE ...] -- PROGRAM [ARG ...]\n");
        return 2;
    }
    char **cmd = &argv[i + 1];

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = child = fork();
    if (pid < 0) {
        perror("measure: fork");
        return 2;
    }
    if (pid == 0) {
        setpgid(0, 0); /* so a time-out can kill the whole tree */
        for (int e = first_env; e < last_env; e++)
            putenv(argv[e]);
        if (redirect(STDIN_FILENO, "/dev/null", O_RDONLY) ||
            redirect(STDOUT_FILENO, "/dev/null", O_WRONLY) ||
            redirect(STDERR_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC)) {
            perror("measure: redirect");
            _exit(126);
        }
        execvp(cmd[0], cmd);
        fprintf(stderr, "measure: cannot run %s: %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also here: whichever runs first */
    if (limit) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sigaction(SIGALRM, &sa, NULL);
        alarm(limit);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("measure: wait4");
            return 2;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    alarm(0);
    int code = timed_out ? 124 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("%.4f %.4f %.4f %ld %ld %d\n", wall, seconds(ru.ru_utime), seconds(ru.ru_stime),
           ru.ru_maxrss, ru.ru_minflt, code);
    return 0;
}

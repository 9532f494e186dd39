/*
 * fork/exec under the profiler. The parent allocates, then:
 *   1. forks a child that execs this program again with "exec-child" (which
 *      allocates 5,000 blocks, prints, exits 0);
 *   2. forks a child that does not exec: it frees blocks inherited from the
 *      parent, allocates 20,000 blocks of its own, prints and exits 0 through
 *      exit() (so it writes its own final profile);
 *   3. starts a thread that allocates and frees in a loop and, while it runs,
 *      forks 20 children that malloc/free and _exit(0) (the allocator's locks
 *      must be in a usable state after fork; a child stuck for 20 s is killed
 *      by its alarm and the parent reports that);
 *   4. forks a child that calls abort() (reported as a signal death).
 * Output depends on nothing but the program (no pids, no addresses); the
 * exit status is 0 when every child ended as expected, else 1.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int bad;

static unsigned long churn(int n, size_t base) {
    unsigned long sum = 0;
    char **v = malloc(sizeof *v * (size_t)n);
    for (int i = 0; i < n; i++) {
        size_t len = base + (size_t)(i % 61);
        v[i] = malloc(len);
        memset(v[i], 'a' + i % 26, len);
        sum += (unsigned char)v[i][len - 1];
    }
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
    return sum;
}

static void report(const char *who, int status, int want_exit, int want_sig) {
    if (WIFEXITED(status)) {
        printf("%s: exited %d\n", who, WEXITSTATUS(status));
        if (want_sig || WEXITSTATUS(status) != want_exit) bad = 1;
    } else if (WIFSIGNALED(status)) {
        printf("%s: killed by signal %d\n", who, WTERMSIG(status));
        if (WTERMSIG(status) != want_sig) bad = 1;
    }
}

static pid_t checked_fork(void) {
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) alarm(20);
    return pid;
}

static atomic_int stop;
static void *allocator_thread(void *arg) {
    (void)arg;
    unsigned long n = 0;
    while (!atomic_load(&stop)) n += churn(50, 16 + n % 300);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "exec-child")) {
        printf("exec child: churn %lu\n", churn(5000, 40));
        fprintf(stderr, "exec child: stderr line\n");
        return 0;
    }
    /* blocks the children inherit */
    char *inherited[100];
    for (int i = 0; i < 100; i++) {
        inherited[i] = malloc(100 + (size_t)i);
        snprintf(inherited[i], 100, "inherited-%d", i);
    }
    printf("parent: churn %lu\n", churn(300, 24));

    pid_t pid = checked_fork();
    if (pid == 0) {
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) _exit(126);
        self[n] = 0;
        execl(self, self, "exec-child", (char *)NULL);
        perror("execl");
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    report("exec child", status, 0, 0);

    pid = checked_fork();
    if (pid == 0) {
        unsigned long len = 0;
        for (int i = 0; i < 100; i += 2) {
            len += strlen(inherited[i]);
            free(inherited[i]);
            inherited[i] = NULL;
        }
        char **mine = malloc(sizeof *mine * 20000);
        for (int i = 0; i < 20000; i++) mine[i] = strdup("a block of the forked child");
        for (int i = 0; i < 20000; i += 3) free(mine[i]);
        printf("fork child: inherited %lu chars, churn %lu\n", len, churn(1000, 8));
        fprintf(stderr, "fork child: stderr line\n");
        exit(0);
    }
    waitpid(pid, &status, 0);
    report("fork child", status, 0, 0);

    pthread_t th;
    pthread_create(&th, NULL, allocator_thread, NULL);
    int ok = 0;
    for (int k = 0; k < 20; k++) {
        pid = checked_fork();
        if (pid == 0) {
            unsigned long s = churn(200, 32);
            char *p = realloc(malloc(10), 100000);
            free(p);
            _exit(s == 0 ? 1 : 0);
        }
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ok++;
        else report("fork during allocation", status, 0, 0);
    }
    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    printf("forks while another thread allocates: %d of 20 fine\n", ok);
    if (ok != 20) bad = 1;

    pid = checked_fork();
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    waitpid(pid, &status, 0);
    report("abort child", status, 0, SIGABRT);

    for (int i = 1; i < 100; i += 2) free(inherited[i]);
    for (int i = 0; i < 100; i += 2) free(inherited[i]);
    printf("parent: done\n");
    fprintf(stderr, "parent: stderr line\n");
    return bad;
}

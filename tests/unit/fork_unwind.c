/*
 * fork() while another thread is in the middle of capturing a stack for a
 * sampled allocation. The unwinder (libunwind) holds internal locks while it
 * steps through frames it has not cached; a fork child inherits them locked
 * if the fork happens at that moment, and its own next stack capture then
 * waits forever. The profiler must keep fork away from captures in progress
 * (or otherwise make the child safe).
 *
 * To make the moment deterministic, this program interposes dl_iterate_phdr,
 * which libunwind calls, with its locks held, when it meets a frame missing
 * from its caches: a designated "victim" thread is parked inside that call
 * while main forks. A helper releases the victim after a second, so a
 * profiler that makes fork wait for the capture to end still completes. The
 * child allocates (sampled: HEAPPROF_RATE=1, set by re-executing) and must
 * exit within the deadline.
 */
#define _GNU_SOURCE
#include "check.h"
#include "heapprof.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILD_DEADLINE_MS 15000

static sem_t entered, release;
static atomic_int armed;
static atomic_int state; /* 0: not yet, 1: victim parked in the unwinder, 2: never parked */
static __thread int am_victim;

typedef int (*iterate_fn)(int (*)(struct dl_phdr_info *, size_t, void *), void *);

int dl_iterate_phdr(int (*callback)(struct dl_phdr_info *, size_t, void *), void *data) {
    static iterate_fn real;
    if (!real) real = (iterate_fn)(uintptr_t)dlsym(RTLD_NEXT, "dl_iterate_phdr");
    if (am_victim && atomic_exchange(&armed, 0)) {
        atomic_store(&state, 1);
        sem_post(&entered); /* parked inside the unwinder */
        while (sem_wait(&release) != 0 && errno == EINTR) {
        }
    }
    return real ? real(callback, data) : -1;
}

/* Frames no unwind has seen before (one per round): the unwinder must look
 * them up. */
static __attribute__((noinline)) void *fresh_frame_0(size_t n) {
    void *p = malloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}

static __attribute__((noinline)) void *fresh_frame_1(size_t n) {
    void *p = malloc(n + 1);
    __asm__ volatile("" ::: "memory");
    return p;
}

static void *victim(void *arg) {
    int round = (int)(intptr_t)arg;
    am_victim = 1;
    atomic_store(&armed, 1);
    void *p = round ? fresh_frame_1(1000) : fresh_frame_0(1000); /* sampled: captures the stack */
    if (atomic_exchange(&armed, 0)) {
        /* the unwinder never asked for the program headers (a profiler that
         * captures stacks some other way): nothing to park on */
        atomic_store(&state, 2);
        sem_post(&entered);
    }
    free(p);
    return NULL;
}

static void *releaser(void *arg) {
    (void)arg;
    while (sem_wait(&entered) != 0 && errno == EINTR) {
    }
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
    sem_post(&release);
    return NULL;
}

static __attribute__((noinline)) void child_work(void) {
    alarm(CHILD_DEADLINE_MS / 1000 + 10);
    for (int i = 0; i < 20; i++) {
        void *p = malloc(100 + (size_t)i * 50); /* sampled: captures a stack */
        if (!p) _exit(3);
        free(p);
    }
    heapprof_stats_t s;
    heapprof_stats(&s, sizeof s);
    _exit(s.live_bytes <= s.alloc_bytes ? 0 : 4);
}

static int reap(pid_t pid) {
    int status = 0;
    for (int ms = 0; ms < CHILD_DEADLINE_MS; ms++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
            fprintf(stderr, "fork child failed: status 0x%x\n", status);
            return -1;
        }
        if (r < 0 && errno != EINTR) return -1;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr,
            "fork child still running after %d ms: it deadlocked in stack capture on a lock "
            "another thread held inside the unwinder at the fork\n",
            CHILD_DEADLINE_MS);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "fork_unwind: watchdog fired (hang)\n";
    if (write(2, msg, sizeof msg - 1) < 0) {
    }
    _exit(94);
}

int main(int argc, char **argv) {
    (void)argc;
    if (!heapprof_available()) {
        fprintf(stderr, "libheapprof.so is not preloaded\n");
        return 1;
    }
    const char *rate = getenv("HEAPPROF_RATE");
    if (!rate || strcmp(rate, "1") != 0) { /* sample every allocation */
        setenv("HEAPPROF_RATE", "1", 1);
        execv("/proc/self/exe", argv);
        perror("fork_unwind: re-exec");
        return 1;
    }
    signal(SIGALRM, on_alarm);
    alarm(120);
    for (int round = 0; round < 2; round++) {
        sem_init(&entered, 0, 0);
        sem_init(&release, 0, 0);
        pthread_t v, r;
        CHECK(pthread_create(&r, NULL, releaser, NULL) == 0);
        atomic_store(&state, 0);
        CHECK(pthread_create(&v, NULL, victim, (void *)(intptr_t)round) == 0);
        while (atomic_load(&state) == 0) sched_yield();
        if (atomic_load(&state) == 2)
            fprintf(stderr, "note: the unwinder did not call dl_iterate_phdr; forking anyway\n");
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) child_work();
        CHECK(pid > 0);
        if (pid > 0) CHECK(reap(pid) == 0);
        CHECK(pthread_join(v, NULL) == 0);
        CHECK(pthread_join(r, NULL) == 0);
        sem_destroy(&entered);
        sem_destroy(&release);
    }
    return CHECK_DONE();
}

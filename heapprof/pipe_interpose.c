/*
 * pipe2, interposed, for one purpose: libunwind opens a pipe the first time
 * it runs (it validates addresses by writing through it), and heapprof
 * starts it at start-up so that the pipe does not land on the low
 * descriptors a program may later close and reuse (stacks.c). While the
 * starting thread has asked for it, the new pipe's descriptors are moved to
 * the top of the descriptor range; every other call is the plain system
 * call. Moving two descriptors replaces filling the ~1000 below the top
 * with /dev/null duplicates (2000 system calls in every process).
 */
#define _GNU_SOURCE
#include "pipe_interpose.h"
#include "../alloc/thread_state.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

static __thread int relocate_above __attribute__((tls_model("initial-exec")));
static int relocated[2] = {-1, -1};

void hp_pipe_relocate_begin(int lowest) {
    relocate_above = lowest;
}

void hp_pipe_relocate_end(int fds[2]) {
    relocate_above = 0;
    fds[0] = relocated[0], fds[1] = relocated[1];
}

HP_EXPORT int pipe2(int fds[2], int flags) {
    int rc = (int)syscall(SYS_pipe2, fds, flags);
    if (rc != 0 || !relocate_above) return rc;
    /* F_DUPFD_CLOEXEC: the lowest free number at or above the bound; the
     * status flags (O_NONBLOCK) are shared with the original. */
    int hi[2];
    hi[0] = fcntl(fds[0], F_DUPFD_CLOEXEC, relocate_above);
    hi[1] = hi[0] < 0 ? -1 : fcntl(fds[1], F_DUPFD_CLOEXEC, relocate_above);
    if (hi[1] < 0) { /* no room up there: keep the pipe where it is */
        if (hi[0] >= 0) close(hi[0]);
        return 0;
    }
    close(fds[0]);
    close(fds[1]);
    fds[0] = relocated[0] = hi[0];
    fds[1] = relocated[1] = hi[1];
    return 0;
}

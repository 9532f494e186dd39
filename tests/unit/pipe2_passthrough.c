/*
 * heapprof interposes pipe2 (heapprof/pipe_interpose.c) to move libunwind's
 * pipe out of the program's way at start-up; for the program it must be the
 * plain call: lowest free descriptors, the flags asked for, errors as glibc
 * reports them.
 */
#define _GNU_SOURCE
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    int probe = open("/dev/null", O_RDONLY);
    CHECK(probe >= 0);
    close(probe); /* the lowest free descriptor */

    int fds[2] = {-1, -1};
    CHECK(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    CHECK(fds[0] == probe && fds[1] > fds[0] && fds[1] < 64);
    CHECK(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
    CHECK(fcntl(fds[1], F_GETFL) & O_NONBLOCK);
    char c = 'x', d = 0;
    CHECK(write(fds[1], &c, 1) == 1);
    CHECK(read(fds[0], &d, 1) == 1 && d == 'x');
    CHECK(read(fds[0], &d, 1) == -1 && errno == EAGAIN);
    close(fds[0]);
    close(fds[1]);

    int plain[2];
    CHECK(pipe2(plain, 0) == 0);
    CHECK(!(fcntl(plain[0], F_GETFD) & FD_CLOEXEC));
    CHECK(!(fcntl(plain[1], F_GETFL) & O_NONBLOCK));
    close(plain[0]);
    close(plain[1]);

    errno = 0;
    CHECK(pipe2(plain, 0x7fff0000) == -1 && errno == EINVAL);
    return CHECK_DONE();
}

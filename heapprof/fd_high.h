/*
 * The profiler's own file descriptors, kept out of the program's way. A
 * program that closes a descriptor twice (bash does: close(6) = 0, then
 * close(6) = EBADF) closes whatever took that number in between; if that was
 * a profile being written, or a file libdw keeps open for symbols, the dump
 * failed ("Bad file descriptor"), and had the program opened a file of its
 * own on that number meanwhile, the dump would have written into it.
 * Programs take the lowest free numbers, so ours move high: just below where
 * libunwind's pipe sits (stacks.c), under the soft RLIMIT_NOFILE and never
 * above 1024 (select()'s limit, which some programs assume).
 */
#ifndef HP_FD_HIGH_H
#define HP_FD_HIGH_H

#include <sys/types.h>

/* One past the highest number the profiler places its descriptors at: the
 * soft RLIMIT_NOFILE, at most 1024. libunwind's pipe takes the top
 * HP_FD_PIPE_SLOTS numbers below it (stacks.c), the files below those. */
long hp_fd_top(void) __attribute__((visibility("hidden")));
#define HP_FD_PIPE_SLOTS 4

/* open(path, flags | O_CLOEXEC, mode), moved to a high number. The file at
 * the new number is checked to be path's (the low number may have been
 * closed, and reused, by the program in between; then the low number is
 * left alone and the open retried). Without room up there, the low number
 * as open gave it. -1 with errno on failure. */
int hp_open_high(const char *path, int flags, mode_t mode) __attribute__((visibility("hidden")));

/* Moves an open descriptor of path's file to a high number the same way
 * (for descriptors a library opened). Returns the new number, fd itself
 * without room up there, or -1 (errno EBADF) when fd no longer holds path's
 * file: the program closed it, and fd is left alone. */
int hp_fd_high(int fd, const char *path) __attribute__((visibility("hidden")));

#endif

#ifndef HP_PIPE_INTERPOSE_H
#define HP_PIPE_INTERPOSE_H

/* Until hp_pipe_relocate_end, pipes this thread creates with pipe2 get
 * descriptors at or above `lowest`; end returns the last such pipe's
 * descriptors ({-1, -1} if none was made or moved). */
void hp_pipe_relocate_begin(int lowest) __attribute__((visibility("hidden")));
void hp_pipe_relocate_end(int fds[2]) __attribute__((visibility("hidden")));

#endif

/* Where profiles go and how they get there: HEAPPROF_OUT is created 0700 if
 * missing; every file is written to a temporary name in the same directory,
 * fsync'd and renamed, so a reader never sees half a file and a failed write
 * leaves the previous one intact. */
#ifndef HP_OUTPUT_H
#define HP_OUTPUT_H

#include <stddef.h>

#define HP_HIDDEN_FN __attribute__((visibility("hidden")))

/* The default directory follows the effective uid at each dump: a server
 * that drops privileges (nginx's workers, postgres) writes to its new
 * user's directory, which it can create, not its old one's. */
void hp_output_dir_refresh(void) HP_HIDDEN_FN;

/* Builds "<out>/heapprof.<pid>.<seq>.<ext>" into path. Returns 0 or -1. */
int hp_output_path(char *path, size_t cap, int pid, unsigned seq, const char *ext) HP_HIDDEN_FN;

/* Writes data atomically to path. Returns 0, or -1 after one error line. */
int hp_output_write(const char *path, const void *data, size_t len) HP_HIDDEN_FN;

/* Points "<out>/heapprof.<pid>.final.<ext>" at the file of dump `seq`. */
void hp_output_link_final(int pid, unsigned seq, const char *ext) HP_HIDDEN_FN;

#endif

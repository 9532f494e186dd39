#ifndef HP_CLI_OUTPUT_H
#define HP_CLI_OUTPUT_H
#include <stddef.h>
/* Writes a file atomically (temporary name, fsync, rename); "-" is stdout.
 * Returns 0, or -1 after one "heapprof:" error line. */
int output_write(const char *path, const void *data, size_t len);
#endif

/* A one-line progress bar on stderr, shown only when stderr is a terminal
 * and the work is large enough to be worth watching. */
#ifndef HP_CLI_PROGRESS_H
#define HP_CLI_PROGRESS_H

#include <stdint.h>

typedef struct progress {
    const char *label;
    uint64_t total, shown_at;
    int active;
} progress;

void progress_start(progress *p, const char *label, uint64_t total);
void progress_update(progress *p, uint64_t done);
void progress_end(progress *p);

#endif

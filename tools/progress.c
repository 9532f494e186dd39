#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#define WORTH_SHOWING (8u << 20) /* below this, work finishes before a bar helps */

void progress_start(progress *p, const char *label, uint64_t total) {
    p->label = label;
    p->total = total;
    p->shown_at = 0;
    p->active = total >= WORTH_SHOWING && isatty(STDERR_FILENO);
}

void progress_update(progress *p, uint64_t done) {
    if (!p->active || done - p->shown_at < p->total / 100) return;
    p->shown_at = done;
    int pct = (int)(done * 100 / p->total), width = 30, fill = pct * width / 100;
    fprintf(stderr, "\r%s [", p->label);
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : ' ', stderr);
    fprintf(stderr, "] %3d%%", pct);
    fflush(stderr);
}

void progress_end(progress *p) {
    if (!p->active) return;
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
    p->active = 0;
}

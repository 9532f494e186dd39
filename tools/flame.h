/* Flame graphs of a profile, written as a self-contained SVG (tooltips, no
 * script) or HTML page (click to zoom, search, tag selector). The format
 * follows OUT's extension: .svg, .html or .htm. */
#ifndef HP_CLI_FLAME_H
#define HP_CLI_FLAME_H

#include "model.h"
#include "view.h"

/* The flame graph of p's metric number m over the samples that pass o. title may be
 * NULL for the default. Returns 0, or -1 after one "heapprof:" error line. */
int flame_write(const profile *p, const view_opts *o, int m, const char *out, const char *title);

/* A differential flame graph: frame widths from NEW's metric `mnew`, colors
 * from the change since BASE (metric `mbase`): red grew, blue shrank.
 * Frames are matched by function name along the stack, as in `heapprof diff`. */
int flame_write_diff(const profile *base, const profile *now, const view_opts *o, int mbase,
                     int mnew, const char *out);

#endif

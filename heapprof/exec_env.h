#ifndef HP_EXEC_ENV_H
#define HP_EXEC_ENV_H
/* HEAPPROF_FOLLOW_EXEC=0: removes this library from LD_PRELOAD in the
 * process environment, so programs it execs run without the profiler. */
void hp_exec_env_drop_preload(void) __attribute__((visibility("hidden")));
#endif

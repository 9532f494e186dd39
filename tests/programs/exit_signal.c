/*
 * exit_signal MODE [N]: allocates a little, prints a line to stdout and one to
 * stderr, then ends as MODE says:
 *   exit N     exit(N)              _exit N   _exit(N)
 *   segv       a real invalid write (SIGSEGV)
 *   abort      abort() (SIGABRT)
 *   kill N     raise(N)
 *   return N   return N from main
 *   stdin      copy stdin to stdout through malloc'd buffers, then exit 0
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "exit";
    int n = argc > 2 ? atoi(argv[2]) : 0;
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    char *keep = malloc(1000);
    strcpy(keep, mode);
    printf("mode %s %d\n", keep, n);
    fprintf(stderr, "stderr before %s\n", keep);
    fflush(NULL);
    if (!strcmp(mode, "stdin")) {
        size_t total = 0, r;
        for (;;) {
            char *buf = malloc(65536);
            r = fread(buf, 1, 65536, stdin);
            if (r) fwrite(buf, 1, r, stdout);
            total += r;
            free(buf);
            if (r == 0) break;
        }
        fprintf(stderr, "copied %zu bytes\n", total);
        return 0;
    }
    if (!strcmp(mode, "exit")) exit(n);
    if (!strcmp(mode, "_exit")) _exit(n);
    if (!strcmp(mode, "return")) return n;
    if (!strcmp(mode, "abort")) abort();
    if (!strcmp(mode, "kill")) raise(n);
    if (!strcmp(mode, "segv")) {
        volatile int *volatile p = (int *)(uintptr_t)16;
        *p = 1;
    }
    fprintf(stderr, "still alive after mode %s\n", mode);
    return 99;
}

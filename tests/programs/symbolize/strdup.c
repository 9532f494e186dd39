/* tests/integration/symbolize_{libc,none}.sh: allocations through libc's
 * strdup, from a program built -O2 -g (the scripts copy this file next to
 * the binary, so DWARF names it by its base name). With --maps it also
 * prints every mapping of libdw at exit: the `none` mode must never load it. */
#include <stdio.h>
#include <string.h>

static char *keep[1000];

__attribute__((noinline)) static void dup_strings(void) {
    char buf[200];
    memset(buf, 'x', sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    for (int i = 0; i < 1000; i++)
        keep[i] = strdup(buf); /* LINE:strdup_call */
}

int main(int argc, char **argv) {
    dup_strings(); /* LINE:main_call */
    if (argc > 1 && !strcmp(argv[1], "--maps")) {
        FILE *f = fopen("/proc/self/maps", "r");
        char line[4096];
        while (f && fgets(line, sizeof line, f))
            if (strstr(line, "libdw")) printf("mapped: %s", line);
        if (f) fclose(f);
    }
    printf("%zu\n", strlen(keep[999]));
    return 0;
}

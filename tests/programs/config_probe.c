/*
 * A small program for the configuration tests (tests/integration/config_*.sh).
 * It allocates a little, prints one line that depends on nothing but the
 * program, and exits with status 3 - so a run under heapprof can be compared
 * with a plain run byte for byte.
 *
 *   config_probe run
 *   config_probe probe FILE   also writes to FILE what the runtime may have
 *                             changed: the names of all threads, the caught-
 *                             signal mask (SigCgt), whether libheapprof is
 *                             mapped, and whether LD_PRELOAD names it
 *   config_probe exec FILE    execs this program as "probe FILE"
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void probe(const char *file) {
    FILE *out = fopen(file, "w");
    if (!out) {
        perror(file);
        exit(2);
    }
    char *names[256];
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 256) {
        if (e->d_name[0] == '.') continue;
        char path[300], comm[64] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = 0;
            fclose(f);
        }
        names[n++] = strdup(comm);
    }
    if (d) closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp);
    fprintf(out, "threads");
    for (int i = 0; i < n; i++) {
        fprintf(out, "%s%s", i ? "," : " ", names[i]);
        free(names[i]);
    }
    fprintf(out, "\n");
    char line[4096];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "SigCgt:", 7))
            fprintf(out, "sigcgt %s", line + 8 + strspn(line + 7, " \t") - 1);
    if (f) fclose(f);
    int mapped = 0;
    f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "libheapprof")) mapped = 1;
    if (f) fclose(f);
    const char *pre = getenv("LD_PRELOAD");
    fprintf(out, "mapped %d\npreload-names-it %d\n", mapped,
            pre && strstr(pre, "libheapprof") ? 1 : 0);
    fclose(out);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "run";
    if (!strcmp(mode, "exec") && argc > 2) {
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) return 2;
        self[n] = 0;
        execl(self, self, "probe", argv[2], (char *)NULL);
        perror("execl");
        return 2;
    }
    unsigned long sum = 0;
    char *keep[100];
    for (int i = 0; i < 2000; i++) {
        size_t len = 16 + (size_t)(i * 7) % 3000;
        char *p = malloc(len);
        memset(p, 'a' + i % 26, len);
        sum += (unsigned char)p[len / 2];
        if (i % 20 == 0)
            keep[i / 20] = p;
        else
            free(p);
    }
    for (int i = 0; i < 100; i++)
        free(keep[i]);
    if (!strcmp(mode, "probe") && argc > 2) probe(argv[2]);
    printf("config_probe: 2000 allocations, sum %lu\n", sum);
    return 3;
}

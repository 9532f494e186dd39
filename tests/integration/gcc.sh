#!/usr/bin/env bash
# gcc under `heapprof run`: compiling (cc1, as, collect2, ld all run with the
# library preloaded), then linking and running the result, gives the same
# diagnostics, exit statuses and program output as a plain run, and the same
# object and executable bytes.
source "$(dirname "$0")/lib/common.bash"
hp_need gcc

cat >"$HP_TMP/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; char name[24]; unsigned v; };

static int cmp(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int unused; /* -Wall: unused variable, so stderr has content to compare */
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 5000, sum = 0;
    struct node *head = NULL;
    for (unsigned i = 0; i < n; i++) {
        struct node *p = malloc(sizeof *p);
        p->v = i * 2654435761u;
        snprintf(p->name, sizeof p->name, "node-%u", p->v % 1000);
        p->next = head;
        head = p;
    }
    unsigned *arr = calloc(n, sizeof *arr), k = 0;
    for (struct node *p = head; p; p = p->next) arr[k++] = p->v;
    qsort(arr, n, sizeof *arr, cmp);
    for (unsigned i = 0; i < n; i += n / 10) printf("arr[%u] = %u\n", i, arr[i]);
    while (head) {
        struct node *p = head;
        head = p->next;
        sum = sum * 31 + (unsigned)strlen(p->name);
        free(p);
    }
    free(arr);
    printf("sum %u\n", sum);
    fprintf(stderr, "prog: done\n");
    return 3;
}
C
cat >"$HP_TMP/util.c" <<'C'
#include <string.h>
int util_len(const char *s) { return (int)strlen(s); }
C
cat >"$HP_TMP/broken.c" <<'C'
int main(void) { return undeclared_thing; }
C

workload() {
    hp_run gcc -O2 -g -Wall -c "$HP_TMP/util.c" -o util.o
    hp_run gcc -O2 -g -Wall "$HP_TMP/prog.c" util.o -o prog
    hp_run ./prog 20000 || true
    hp_run gcc -c "$HP_TMP/broken.c" -o broken.o || true
    # keep the artifacts of each run to compare the bytes afterwards
    mkdir -p "$HP_TMP/art.$HP_MODE" && cp util.o prog "$HP_TMP/art.$HP_MODE/"
}
hp_compare gcc workload
grep -q 'unused variable' "$HP_TMP/gcc.plain.err" || hp_fail "expected a -Wall warning on stderr"
grep -q 'undeclared_thing' "$HP_TMP/gcc.plain.err" || hp_fail "expected a compile error on stderr"
grep -q '^sum ' "$HP_TMP/gcc.plain.out" || hp_fail "compiled program did not run"
for f in util.o prog; do
    cmp "$HP_TMP/art.plain/$f" "$HP_TMP/art.hp/$f" || hp_fail "$f differs between the plain and the heapprof build"
done
hp_check_stats "$HP_PROF" "gcc -O2 -g -Wall $HP_TMP/prog.c util.o -o prog" "./prog 20000" >/dev/null
echo "gcc: ok"

#!/usr/bin/env bash
# Symbolization is kept across dumps (HEAPPROF_LOG=debug prints one
# "symbolization:" line per pass): a program dumps through the API, again
# after allocating at the same sites (the same stacks: built with -O0, so
# that the loop keeps one call site each), then forks; the child allocates
# at a new site and exits, then the parent exits.
#  - parent: the first dump resolves addresses and reads symbol tables; the
#    second and the exit dump resolve nothing new and read no table;
#  - child: its exit dump resolves only the new site's addresses, reads no
#    symbol table (the caches are inherited), and its profile names the new
#    function with file:line and the libc frame by name.
source "$(dirname "$0")/lib/common.bash"
hp_need cc go
unset DEBUGINFOD_URLS HEAPPROF_SYMBOLIZE

cat >sym_cache.c <<'C'
#include <fcntl.h>
#include <heapprof.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *keep[3000]; /* global: the compiler must keep the allocations */
int n;

__attribute__((noinline)) static void site_a(void) {
    for (int i = 0; i < 500; i++) keep[n++] = strdup("a string long enough to be a block of its own");
}

__attribute__((noinline)) static void site_b(void) {
    for (int i = 0; i < 500; i++) keep[n++] = malloc(100 + i);
}

__attribute__((noinline)) static void child_site(void) {
    for (int i = 0; i < 500; i++) keep[n++] = strdup("another string, allocated in the child"); /* LINE:child */
}

int main(void) {
    int rounds = 2; /* -O0: one call site each, the same stacks both times */
    for (int round = 0; round < rounds; round++) {
        site_a();
        site_b();
        heapprof_dump(round ? "two" : "one");
    }
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("child.err", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        child_site();
        exit(0);
    }
    int status = 1;
    waitpid(pid, &status, 0);
    return status == 0 ? 0 : 1;
}
C
bin=$HP_TMP/sym_cache
cc -std=gnu11 -O0 -g -Wall -Wextra -Werror -I"$HP_ROOT/include" sym_cache.c -o "$bin" ||
    hp_fail "cannot build $bin"
child_l=$(grep -n 'LINE:child ' sym_cache.c | cut -d: -f1)

LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$HP_TMP/out HEAPPROF_RATE=1 HEAPPROF_FORMAT=pprof HEAPPROF_LOG=debug \
    "$bin" 2>parent.err || hp_fail "$bin failed: $(cat parent.err child.err)"
grep 'symbolization:' parent.err >parent.sym || true
grep 'symbolization:' child.err >child.sym || true
echo "--- parent" >&2
cat parent.sym >&2
echo "--- child" >&2
cat child.sym >&2

"$PY" - parent.sym child.sym <<'PY' || hp_fail "symbolization is not reused across dumps as expected (see above)"
import re, sys
pat = re.compile(r"heapprof: symbolization: (\d+) new addresses, (\d+) known from earlier; (\d+) symbol tables read")
def passes(path):
    out = []
    for line in open(path):
        m = pat.match(line)
        if not m:
            sys.exit("FAIL: unexpected line %r" % line)
        out.append(tuple(map(int, m.groups())))
    return out
parent, child = passes(sys.argv[1]), passes(sys.argv[2])
bad = []
if len(parent) != 3:
    bad.append("parent: want 3 passes (dump one, two, exit), got %r" % parent)
else:
    if parent[0][0] == 0 or parent[0][2] == 0:
        bad.append("parent, first dump: nothing resolved or no symbol table read: %r" % (parent[0],))
    for i in (1, 2):
        if parent[i][0] != 0 or parent[i][2] != 0 or parent[i][1] == 0:
            bad.append("parent, dump %d: %r, want 0 new addresses and 0 tables read" % (i + 1, parent[i]))
if len(child) != 1:
    bad.append("child: want 1 pass (its exit dump), got %r" % child)
elif not (1 <= child[0][0] <= 3) or child[0][2] != 0 or child[0][1] == 0:
    bad.append("child: %r, want 1-3 new addresses (the new site), the rest known, 0 tables read" % (child[0],))
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

child_pid=$(ls "$HP_TMP"/out/ | sed -n 's/^heapprof\.\([0-9]*\)\.final\.pb\.gz$/\1/p' | sort -n | tail -1)
for f in "$HP_TMP"/out/heapprof.*.final.pb.gz; do
    HOME=$HP_TMP GOCACHE=$HP_TMP/gocache go tool pprof -symbolize=none -raw "$f" >"raw.$(basename "$f")" 2>&1 ||
        hp_fail "go tool pprof -raw $f failed"
done
# the child's profile: the only one with child_site
raw=$(grep -l ' child_site ' raw.heapprof.*.final.pb.gz) || hp_fail "no profile names child_site (child pid ~$child_pid)"
grep -E ' child_site \S*sym_cache\.c:'"$child_l"' ' "$raw" >&2 ||
    hp_fail "child_site is not at sym_cache.c:$child_l in $raw: $(grep child_site "$raw")"
grep -E 'M=[0-9]+ (__)?strdup ' "$raw" >&2 || hp_fail "the child's libc frame is not named strdup: $(sed -n '/^Locations/,$p' "$raw" | head)"
echo "symbolize_cache: ok"

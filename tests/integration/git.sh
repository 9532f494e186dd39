#!/usr/bin/env bash
# git under `heapprof run`: init, add, commit (twice), log, cat-file, diff and a
# failing command give the same output and exit statuses as a plain run, and
# both runs create the same commit hashes.
source "$(dirname "$0")/lib/common.bash"
hp_need git

export HOME=$HP_TMP/home GIT_CONFIG_NOSYSTEM=1 GIT_PAGER=cat PAGER=cat
export GIT_AUTHOR_NAME="Ada Tester" GIT_AUTHOR_EMAIL=ada@example.org
export GIT_COMMITTER_NAME="Bob Committer" GIT_COMMITTER_EMAIL=bob@example.org
export GIT_AUTHOR_DATE="2024-01-02T03:04:05+0000" GIT_COMMITTER_DATE="2024-01-02T03:04:05+0000"
mkdir -p "$HOME"

workload() {
    mkdir -p src/sub
    for i in $(seq 1 200); do echo "line $i of file $((i % 7))" >>"src/f$((i % 7)).txt"; done
    printf 'int main(void) { return 0; }\n' >src/sub/main.c
    hp_run git -c init.defaultBranch=main init -q repo.git 2>&1
    cd repo.git
    cp -r ../src .
    hp_run git add .
    hp_run git -c user.useConfigOnly=false commit -q -m "first commit" -m "body text"
    sed -i 's/line 5 /LINE five /' src/f5.txt
    echo new >src/new.txt
    hp_run git add -A
    GIT_AUTHOR_DATE="2024-01-03T00:00:00+0000" GIT_COMMITTER_DATE="2024-01-03T00:00:00+0000" \
        hp_run git commit -q -m "second commit"
    hp_run git log --format='%H %T %P|%an <%ae> %ad|%cn <%ce> %cd|%s' --date=iso-strict
    hp_run git cat-file -p HEAD
    hp_run git cat-file -p HEAD~1
    hp_run git ls-tree -r HEAD
    hp_run git diff --stat HEAD~1 HEAD
    hp_run git diff HEAD~1 HEAD -- src/f5.txt
    hp_run git rev-parse HEAD HEAD~1 HEAD^{tree}
    hp_run git status --porcelain=v1 --branch
    hp_run git cat-file -p 0000000000000000000000000000000000000001 || true # fails: 128
    hp_run git fsck --strict 2>&1
}
hp_compare git workload
# the commit hashes of both runs are the same (they are part of the compared
# output; check they are really there)
grep -Eq '^[0-9a-f]{40} [0-9a-f]{40} [0-9a-f]{40}\|Ada Tester' "$HP_TMP/git.plain.out" ||
    hp_fail "git log output lacks the expected commit line"
head -n1 "$HP_TMP/git.hp.out" | cut -c1-40 | sed 's/^/--- HEAD under heapprof: /' >&2
grep -q 'git cat-file -p 0000000000000000000000000000000000000001 => 128' "$HP_TMP/status.hp" ||
    hp_fail "the failing git command did not fail with 128"
hp_check_stats "$HP_PROF" "git add ." "git cat-file -p HEAD" >/dev/null
echo "git: ok"

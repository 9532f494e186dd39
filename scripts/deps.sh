#!/usr/bin/env bash
# Installs the Debian packages heapprof builds and tests with. Run as root (or
# with sudo) on Debian 12. Package lists: the build list below, plus
# tests/integration/deps.txt for the test suite (and bench/deps.txt with --bench).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# libcurl4-openssl-dev: heapprof push links libcurl; the runtime dlopens
# libcurl.so.4 (package libcurl4) only when HEAPPROF_PYROSCOPE_URL is set.
build_pkgs=(build-essential pkg-config libmimalloc-dev libunwind-dev libxxhash-dev libzstd-dev
            libcjson-dev zlib1g-dev libdw-dev libelf-dev libcurl4-openssl-dev)
lists=("$root/tests/integration/deps.txt")
[[ ${1:-} == --bench ]] && lists+=("$root/bench/deps.txt")

pkgs=("${build_pkgs[@]}")
for list in "${lists[@]}"; do
    [[ -f $list ]] || continue
    while read -r name _; do
        [[ -z $name || $name == \#* ]] || pkgs+=("$name")
    done <"$list"
done

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "deps: all ${#pkgs[@]} packages present"
else
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "deps: installed ${missing[*]}"
fi

# Node.js: this machine image ships its own node and npm (not Debian's
# packages, which would conflict with them); install Debian's only if absent.
if ! command -v npm >/dev/null 2>&1; then
    [[ ${#missing[@]} -eq 0 ]] && $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    echo "deps: installed nodejs npm"
fi

# Third-party readers the tests validate profiles with (jsdom for Valgrind's
# DHAT viewer, pprof-format), pinned by tests/node/package-lock.json.
if [[ -f $root/tests/node/package-lock.json && ! -d $root/tests/node/node_modules ]]; then
    (cd "$root/tests/node" && npm ci --no-audit --no-fund --loglevel=error)
    echo "deps: installed tests/node modules"
fi

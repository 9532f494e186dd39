#!/usr/bin/env bash
# C++ names (tests/programs/writers_cxx_symbols.cc built with -O2 -g):
# pprof function names and DHAT frames show demangled names --
# ns::Klass::method(int), ns::Klass::factory(unsigned long),
# double* ns::make_array<double>(unsigned long),
# (anonymous namespace)::anon_alloc(unsigned long) and
# ns::static_alloc(unsigned long) (the last two have internal linkage: no
# DW_AT_linkage_name in DWARF, but qualified names in the symbol table; a
# " [clone .constprop.0]"-style suffix is accepted) -- never a mangled _Z
# name, never an unqualified bare name; heapprof's own operator new/new[] frames are not shown (the C++
# function is the innermost frame). pprof's system_name keeps the mangled
# linkage name where there is one.
source "$(dirname "$0")/lib/common.bash"
hp_need c++ go node
W=("$PY" "$HP_ROOT/tests/integration/lib/writers.py")
src=$HP_ROOT/tests/programs/writers_cxx_symbols.cc
bin=$HP_TMP/cxx_symbols
c++ -std=gnu++17 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror "$src" -o "$bin" || hp_fail "cannot build $bin"
nm -C "$bin" | grep -E 'Klass|make_array|anon_alloc|static_alloc' >&2

LD_PRELOAD=$HP_LIB HEAPPROF_OUT=$HP_TMP/out HEAPPROF_RATE=1 HEAPPROF_FORMAT=pprof,dhat "$bin" >run.out 2>run.err ||
    hp_fail "cxx_symbols failed: $(cat run.err)"
dhat=$(echo "$HP_TMP"/out/heapprof.*.final.dhat.json)
pprof=$(echo "$HP_TMP"/out/heapprof.*.final.pb.gz)

f() { printf '{"fn": "%s", "file": "writers_cxx_symbols.cc"}' "$1"; }
r() { printf '{"fn": "(regex)", "fn_re": "%s", "file": "writers_cxx_symbols.cc"}' "$1"; }
cat >spec.json <<JSON
[
 {"tb": 110000, "frames": [$(f 'ns::Klass::method(int)'), $(f main)]},
 {"tb": 217800, "frames": [$(f 'ns::Klass::factory(unsigned long)'), $(f main)]},
 {"tb": 328000, "frames": [$(f 'double* ns::make_array<double>(unsigned long)'), $(f main)]},
 {"tb": 440000, "frames": [$(r '\\(anonymous namespace\\)::anon_alloc\\(unsigned long\\)( \\[clone [^]]*\\])*'), $(f main)]},
 {"tb": 550000, "frames": [$(r 'ns::static_alloc\\(unsigned long\\)( \\[clone [^]]*\\])*'), $(f main)]}
]
JSON
bad=0
"${W[@]}" expect --dhat "$dhat" --pprof "$pprof" --spec spec.json || bad=1
if grep -o '"0x[0-9A-F]*: _Z[^"]*"' "$dhat"; then
    echo "FAIL: mangled names in the DHAT frames (above)" >&2
    bad=1
fi
"${W[@]}" frames --pprof "$pprof" >frames.txt
if grep ' fn=_Z' frames.txt; then
    echo "FAIL: mangled function names in the pprof file (above)" >&2
    bad=1
fi
if grep -E 'fn=operator new' frames.txt; then
    echo "FAIL: heapprof's operator new frames are in the profile (above)" >&2
    bad=1
fi
"${W[@]}" pprof-accept "$pprof" || bad=1
"${W[@]}" dhat-view "$dhat" || bad=1
[[ $bad -eq 0 ]] || hp_fail "C++ frames are not named as expected (see above)"
echo "symbolize_cxx: ok"

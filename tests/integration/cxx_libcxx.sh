#!/usr/bin/env bash
# A C++ program on LLVM's libc++ (libc++1, libc++abi1; no libstdc++ loaded):
# out of memory, heapprof's operator new throws through libc++'s runtime,
# drives libc++'s new-handler, and the nothrow forms return NULL even when
# the handler throws -- the same results as without heapprof.
source "$(dirname "$0")/lib/common.bash"
hp_need g++ gcc
runtime=$(ls /usr/lib/x86_64-linux-gnu/libc++abi.so.1 /lib/x86_64-linux-gnu/libc++abi.so.1 2>/dev/null | head -1)
[[ -n $runtime ]] || hp_fail "libc++abi.so.1 is not installed (libc++abi1, tests/integration/deps.txt)"
g++ -O1 -c "$HP_ROOT/tests/programs/libcxx/oom.cc" -o oom.o
gcc oom.o -o oom -l:libc++.so.1 -l:libc++abi.so.1
if ldd ./oom | grep -q 'libstdc++'; then hp_fail "the test program links libstdc++"; fi
./oom >plain.out || hp_fail "without heapprof: $(cat plain.out)"
LD_PRELOAD="$HP_LIB" HEAPPROF_OUT="$HP_TMP/out" ./oom >hp.out 2>hp.err ||
    hp_fail "under heapprof (exit $?): $(cat hp.out hp.err)"
diff plain.out hp.out || hp_fail "output differs under heapprof"
echo "cxx_libcxx: ok"

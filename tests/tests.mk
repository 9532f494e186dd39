# Builds the test programs: tests/unit/*.c (each a test run under the
# preloaded library) and tests/programs/*.{c,cc} (helpers that the shell tests
# in tests/integration/ run).
BUILD := build
CFLAGS := -std=gnu11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -Iinclude -Itests
CXXFLAGS := -std=gnu++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -Iinclude -Itests
# Let the tests call the allocation functions as written, not as GCC would
# fold them (it may drop a malloc/free pair or assume malloc never fails).
CFLAGS += -fno-builtin
CXXFLAGS += -fno-builtin

UNIT := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/*.c))
# gpu_*.c need the CUDA headers: tests/gpu.mk builds them.
PROG_C := $(patsubst tests/programs/%.c,$(BUILD)/tests/programs/%,\
    $(filter-out tests/programs/gpu_%.c,$(wildcard tests/programs/*.c)))
PROG_CC := $(patsubst tests/programs/%.cc,$(BUILD)/tests/programs/%,$(wildcard tests/programs/*.cc))

all: $(UNIT) $(PROG_C) $(PROG_CC)

$(BUILD)/tests/unit/%: tests/unit/%.c tests/check.h include/heapprof.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ -lpthread -ldl -lm
$(BUILD)/tests/programs/%: tests/programs/%.c include/heapprof.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ -lpthread -ldl -lm
$(BUILD)/tests/programs/%: tests/programs/%.cc include/heapprof.h
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $< -o $@ -lpthread -ldl

include tests/gpu.mk

# unwind_fast compiles the stack walker in.
$(BUILD)/tests/unit/unwind_fast: heapprof/unwind.c heapprof/unwind.h heapprof/eh_frame.c heapprof/eh_frame.h

# heapprof — see README.md. Targets: all (default), test, bench, install, format, clean.
PREFIX ?= /usr/local
CC ?= cc
CXX ?= c++
BUILD := build

WARN := -Wall -Wextra -Werror
BASE_CFLAGS := -std=gnu11 -O2 -g -fno-omit-frame-pointer $(WARN) -MMD -MP
# The preloaded library: hidden by default, initial-exec TLS (it is loaded at
# start-up), and no compiler assumptions about the malloc family it defines.
LIB_FLAGS := -fPIC -fvisibility=hidden -ftls-model=initial-exec -fno-plt \
             -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc
LIB_CFLAGS := $(BASE_CFLAGS) $(LIB_FLAGS)
# The entry points are leaf wrappers around mimalloc: no frame pointer (no
# profiler here walks frame pointers; libunwind reads the CFI) and no SLP
# vectorisation (GCC packs unrelated counter updates into SSE, costing more).
FAST_PATH_FLAGS := -fomit-frame-pointer -fno-tree-slp-vectorize
LIB_LIBS := -lmimalloc -lunwind -lz -lpthread -ldl -lm

# GPU memory (gpu/, docs/gpu.md): built against the CUPTI headers of the CUDA
# toolkit when there is one; libcupti itself is dlopen'd at run time, never
# linked. Without a toolkit gpu/gpu_off.c stands in and GPU tracking reports
# that it was compiled out.
CUDA_HOME ?= /usr/local/cuda
ifneq ($(wildcard $(CUDA_HOME)/include/cupti.h),)
GPU_SRCS := $(filter-out gpu/gpu_off.c,$(wildcard gpu/*.c))
GPU_CFLAGS := -isystem $(CUDA_HOME)/include
else
GPU_SRCS := $(filter-out gpu/cupti_%.c,$(wildcard gpu/*.c))
GPU_CFLAGS :=
$(info heapprof: no CUDA toolkit ($(CUDA_HOME)/include/cupti.h not found): building without GPU support; set CUDA_HOME=/path/to/cuda to build it in)
endif

LIB_C_SRCS := $(wildcard alloc/*.c heapprof/*.c) $(GPU_SRCS)
LIB_OBJS := $(LIB_C_SRCS:%.c=$(BUILD)/obj/%.o)

CLI_SRCS := $(wildcard tools/*.c)
# Code the CLI shares with the runtime: buffers, the protobuf encoder, JSON text.
CLI_SHARED := heapprof/buf.c heapprof/protobuf.c heapprof/json_out.c heapprof/id_map.c
# Pyroscope upload (heapprof push): the wire format and the libcurl POST are
# shared with the runtime, which dlopens libcurl instead of linking it.
CLI_SHARED += heapprof/pyroscope_wire.c heapprof/pyroscope_http.c
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o) $(CLI_SHARED:heapprof/%.c=$(BUILD)/obj/cli-shared/%.o)
CLI_LIBS := -lcjson -lz -lzstd -lm -lcurl -ldw -lelf -ldl

LIB := $(BUILD)/libheapprof.so
CLI := $(BUILD)/heapprof

.PHONY: all test bench install format clean
all: $(LIB) $(CLI)

$(BUILD)/obj/alloc/%.o: alloc/%.c
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -c $< -o $@
$(BUILD)/obj/alloc/entry.o: LIB_CFLAGS += $(FAST_PATH_FLAGS)
$(BUILD)/obj/alloc/cxx_operators.o: LIB_CFLAGS += $(FAST_PATH_FLAGS) -fexceptions
$(BUILD)/obj/heapprof/%.o: heapprof/%.c
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -c $< -o $@
$(BUILD)/obj/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Iinclude -c $< -o $@
$(BUILD)/obj/gpu/%.o: gpu/%.c
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) $(GPU_CFLAGS) -c $< -o $@
$(BUILD)/obj/cli-shared/%.o: heapprof/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(CC) -shared -o $@ $^ $(LIB_LIBS) -Wl,-z,nodelete -Wl,-z,now -Wl,--no-undefined \
	    -Wl,-soname,libheapprof.so

$(CLI): $(CLI_OBJS)
	$(CC) -o $@ $^ $(CLI_LIBS)

test: all
	@$(MAKE) --no-print-directory -f tests/tests.mk
	@tests/run.sh

bench: all
	@bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libheapprof.so
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/heapprof
	install -m 0644 include/heapprof.h $(DESTDIR)$(PREFIX)/include/heapprof.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' scripts/heapprof.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/heapprof.pc

format:
	clang-format -i $(LIB_C_SRCS) $(CLI_SRCS) include/*.h alloc/*.h heapprof/*.h gpu/*.h \
	    $(wildcard tools/*.h tests/unit/*.c tests/unit/*.h tests/programs/*.c \
	    tests/programs/*.cc bench/*.c)

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)

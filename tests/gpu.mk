# GPU test programs (included by tests/tests.mk). They need the CUDA
# toolkit's headers (and libcudart/libcupti to link the two programs that
# prove those link); with no toolkit nothing is built and the GPU tests
# report that they were skipped.
CUDA_HOME ?= /usr/local/cuda
GPU_TEST_CFLAGS := $(CFLAGS) -isystem $(CUDA_HOME)/include
GPU_PROGS := gpu_callbacks gpu_inject gpu_threads
GPU_TARGETS :=

ifneq ($(wildcard $(CUDA_HOME)/include/cupti.h),)
GPU_TARGETS += $(BUILD)/tests/gpu/fake/libcupti.so $(BUILD)/tests/gpu/fake_v1/libcupti.so \
    $(GPU_PROGS:%=$(BUILD)/tests/programs/%)
# The CUDA libraries themselves, where the toolkit has them.
CUDA_LIBDIR := $(firstword $(wildcard $(CUDA_HOME)/lib64/libcudart.so $(CUDA_HOME)/lib/libcudart.so))
ifneq ($(CUDA_LIBDIR),)
CUDA_LIBDIR := $(patsubst %/,%,$(dir $(CUDA_LIBDIR)))
GPU_TARGETS += $(BUILD)/tests/programs/gpu_cudart $(BUILD)/tests/programs/gpu_cupti_link
endif
endif

# The library as built where no CUDA toolkit is installed (GPU support
# compiled out), so every run proves that build works
# (tests/integration/gpu_compiled_out.sh). The sub-make is incremental; its
# output, with the message make prints for such a build, goes to make.log.
GPU_NOCUDA := $(BUILD)/tests/gpu/nocuda
GPU_TARGETS += gpu-nocuda-lib
.PHONY: gpu-nocuda-lib
gpu-nocuda-lib:
	@mkdir -p $(GPU_NOCUDA)
	@$(MAKE) --no-print-directory -f Makefile BUILD=$(GPU_NOCUDA) CUDA_HOME=/nonexistent/cuda \
	    $(GPU_NOCUDA)/libheapprof.so >$(GPU_NOCUDA)/make.log 2>&1 || \
	    { cat $(GPU_NOCUDA)/make.log; exit 1; }

all: $(GPU_TARGETS)

# A stand-in libcupti.so (tests/programs/gpu_fake_cupti.c) for machines without a GPU.
$(BUILD)/tests/gpu/fake/libcupti.so: tests/programs/gpu_fake_cupti.c
	@mkdir -p $(@D)
	$(CC) $(GPU_TEST_CFLAGS) -fPIC -shared -fvisibility=hidden $< -o $@

# ... and one without cuptiSubscribe_v2, as older CUDA versions ship.
$(BUILD)/tests/gpu/fake_v1/libcupti.so: tests/programs/gpu_fake_cupti.c
	@mkdir -p $(@D)
	$(CC) $(GPU_TEST_CFLAGS) -DFAKE_CUPTI_NO_V2 -fPIC -shared -fvisibility=hidden $< -o $@

$(GPU_PROGS:%=$(BUILD)/tests/programs/%): $(BUILD)/tests/programs/%: tests/programs/%.c \
    tests/programs/gpu_fake_api.h include/heapprof.h tests/check.h
	@mkdir -p $(@D)
	$(CC) $(GPU_TEST_CFLAGS) $< -o $@ -lpthread -ldl

# A CUDA runtime program (no GPU needed to build or run it: it reports the error).
$(BUILD)/tests/programs/gpu_cudart: tests/programs/gpu_cudart.c
	@mkdir -p $(@D)
	$(CC) $(GPU_TEST_CFLAGS) $< -o $@ -L$(CUDA_LIBDIR) -lcudart -Wl,-rpath,$(CUDA_LIBDIR)

# Links libcupti directly, to prove the toolkit's library is the one the
# headers describe (heapprof itself only dlopens it).
$(BUILD)/tests/programs/gpu_cupti_link: tests/programs/gpu_cupti_link.c
	@mkdir -p $(@D)
	$(CC) $(GPU_TEST_CFLAGS) $< -o $@ -L$(CUDA_LIBDIR) -lcupti -Wl,-rpath,$(CUDA_LIBDIR)

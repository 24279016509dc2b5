# bpf/bpf.mk - zmaplat: BPF objects, skeletons, the loader CLI and its tests.
# Included by the top Makefile; every output goes to $(BUILD).
#
#   $(BUILD)/vmlinux.h        the running kernel's types (bpftool, from its BTF)
#   $(BUILD)/bpf/NAME.bpf.o   CO-RE BPF object (clang -target bpf)
#   $(BUILD)/NAME.skel.h      libbpf skeleton embedding that object (bpftool gen skeleton)
#   $(BUILD)/zmaplat          the CLI (tools/zmaplat.c + tools/histogram.c)

BPF_CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
KERNEL_BTF ?= /sys/kernel/btf/vmlinux
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# usdt.bpf.h includes <linux/errno.h>, which needs the multiarch asm/ headers:
# BPF_MULTIARCH (/usr/include/TRIPLE) and BPFTOOL's path come from $(BUILD)/config.mk,
# written after tools/deps.sh installed the compiler and bpftool (tools/config.sh).
BPF_CFLAGS = -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
	-I$(BUILD) -Ibpf -idirafter $(BPF_MULTIARCH)
BPF_LIBS := -lbpf -lelf -lz

$(BUILD)/vmlinux.h: | $(DEPS_STAMP)
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)test -r $(KERNEL_BTF) || \
		{ echo "bpf.mk: no $(KERNEL_BTF): the kernel has no BTF" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(KERNEL_BTF) format c > $@

# An explicit recipe, so that the C rule of the top Makefile is not used for BPF.
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/%.h $(wildcard bpf/*.bpf.h bpf/reqtrace.h) $(BUILD)/vmlinux.h
	$(call msg,BPF,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@	# DWARF only; the BTF stays

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

ZMAPLAT_OBJS := $(BUILD)/tools/zmaplat.o $(BUILD)/tools/histogram.o $(BUILD)/tools/usdt.o \
	$(BUILD)/tools/cli.o

$(BUILD)/tools/zmaplat.o: $(BUILD)/maplat.skel.h
$(ZMAPLAT_OBJS): ZCFLAGS += -I$(BUILD) -Ibpf -Itools

$(BUILD)/zmaplat: $(ZMAPLAT_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $^ $(BPF_LIBS) $(ZLDFLAGS)

PROGRAMS += $(BUILD)/zmaplat

# ---- tests: a workload that makes a known number of map calls, traced by
# zmaplat, funclatency and the bpftrace scripts.
BPF_WORKLOAD := $(BUILD)/tests/bpf/workload

$(BPF_WORKLOAD): $(BUILD)/tests/bpf/workload.o $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $< $(LIB_A) $(ZLDFLAGS)

# The same linked with libzpool.so, so that zmaplat must find the library in
# the process's mappings. The soname's link lives beside it, found via rpath.
$(BPF_WORKLOAD)-so: $(BUILD)/tests/bpf/workload.o $(LIB_SO)
	$(call msg,LD,$@)
	$(Q)ln -sf $(abspath $(LIB_SO)) $(@D)/libzpool.so.0
	$(Q)$(CC) -o $@ $< $(LIB_SO) -Wl,-rpath,$(abspath $(@D)) $(ZLDFLAGS)

BPF_TESTS += $(sort $(wildcard tests/bpf/test_*.sh))

all: $(BPF_WORKLOAD) $(BPF_WORKLOAD)-so

# ---- benchmark: tracing cost (written up in docs/BENCHMARKS.md, "Tracing cost")
bench-trace: all
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/noprobes PROBES=0 \
		$(BUILD)/noprobes/tests/bpf/workload
	$(Q)BUILD=$(BUILD) bash tools/bench/trace_bench.sh

bench: bench-trace

.PHONY: bench-trace

# ---- zpoolfsdist and zpoolfsslower: file operations on a zpoolfs mount, seen from
# the caller (system call and fuse_request_* tracepoints: this kernel has no kprobes
# and refuses fentry) and from the daemon (the
# zpoolfs:request_* probes of fs/stats/req_probes.h).
RQ_COMMON_OBJS := $(BUILD)/tools/reqtrace_attach.o $(BUILD)/tools/usdt.o $(BUILD)/tools/cli.o

$(BUILD)/tools/zpoolfsdist.o: $(BUILD)/zpoolfsdist.skel.h
$(BUILD)/tools/zpoolfsdist.o $(RQ_COMMON_OBJS): ZCFLAGS += -I$(BUILD) -Ibpf -Itools

$(BUILD)/zpoolfsdist: $(BUILD)/tools/zpoolfsdist.o $(BUILD)/tools/histogram.o $(RQ_COMMON_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $^ $(BPF_LIBS) $(ZLDFLAGS)

PROGRAMS += $(BUILD)/zpoolfsdist

$(BUILD)/tools/zpoolfsslower.o: $(BUILD)/zpoolfsslower.skel.h
$(BUILD)/tools/zpoolfsslower.o: ZCFLAGS += -I$(BUILD) -Ibpf -Itools

$(BUILD)/zpoolfsslower: $(BUILD)/tools/zpoolfsslower.o $(RQ_COMMON_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $^ $(BPF_LIBS) $(ZLDFLAGS)

PROGRAMS += $(BUILD)/zpoolfsslower

# ---- benchmark: what the request probes and tracers cost (docs/BENCHMARKS.md,
# "Request tracing cost")
bench-reqtrace: all
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/noprobes PROBES=0 $(BUILD)/noprobes/zpoolfs
	$(Q)BUILD=$(BUILD) bash tools/bench/reqtrace_bench.sh

bench: bench-reqtrace

.PHONY: bench-reqtrace

# zpoolfs - one Makefile; every output goes to $(BUILD) (default build/).
#
#   make              libzpool (static + shared), zpoolfs, zmaplat
#   make check        every test (unit, debug-build unit, filesystem, BPF)
#   make run          mount a compressed tmpfs at $(MNT)
#   make bench        benchmarks; results are written up in docs/BENCHMARKS.md
#   make install PREFIX=/usr/local DESTDIR=
#   make deps         install the Debian packages we need (make does it anyway)
#
# Knobs: V=1 (loud), DEBUG=1 (assertions and handle checks), PROBES=0 (no USDT
# probes), SANITIZE=address,undefined | thread, BUILD=dir (keep variants apart),
# VALGRIND=1 (run unit tests under valgrind).

BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
MNT ?= /tmp/zpoolfs
VERSION := 0.1.0

CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif

WARN := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS ?= -O2 -g
ZCFLAGS := $(CFLAGS) -std=gnu11 -pthread -fPIC -D_GNU_SOURCE -Iinclude -DZPOOL_VERSION=\"$(VERSION)\" $(WARN)
ZLDFLAGS := $(LDFLAGS) -pthread

ifeq ($(DEBUG),1)
ZCFLAGS += -DZPOOL_DEBUG -O1 -fno-omit-frame-pointer
endif
ifeq ($(PROBES),0)
ZCFLAGS += -DZPOOL_NO_PROBES
endif
ifneq ($(SANITIZE),)
ZCFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
ZLDFLAGS += -fsanitize=$(SANITIZE)
endif

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2)
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:
.DEFAULT_GOAL := all

# ---- dependencies: tools/deps.sh installs what is missing, once per checkout
DEPS_STAMP := build/.deps-ok
$(DEPS_STAMP): tools/deps.sh
	$(call msg,DEPS,tools/deps.sh)
	$(Q)bash tools/deps.sh
	$(Q)mkdir -p $(@D) && touch $@
deps: $(DEPS_STAMP)

# The benchmarks' own packages (fio, perf, ...), installed by the bench targets only.
BENCH_DEPS_STAMP := build/.deps-bench-ok
$(BENCH_DEPS_STAMP): tools/deps.sh
	$(call msg,DEPS,tools/deps.sh --bench)
	$(Q)bash tools/deps.sh --bench
	$(Q)mkdir -p $(@D) && touch $@

# ---- configuration: every flag that comes from an installed package (pkg-config, the
# compiler's target triple, bpftool's path) is written by tools/config.sh into
# $(BUILD)/config.mk, by a rule that runs after tools/deps.sh. On a fresh machine make reads
# the makefiles without it, builds it (installing the packages first), then restarts and reads
# it: nothing below may call $(shell ...) on a tool or library that deps.sh installs.
# Goals that build nothing do not need it (make clean must not install packages).
CONFIG_MK := $(BUILD)/config.mk
$(CONFIG_MK): tools/config.sh $(DEPS_STAMP)
	$(call msg,CONFIG,$@)
	$(Q)mkdir -p $(@D)
	$(Q)CC='$(CC)' bash tools/config.sh > $@.tmp && mv $@.tmp $@
NOCONFIG_GOALS := clean deps check-fresh
ifneq ($(filter-out $(NOCONFIG_GOALS),$(or $(MAKECMDGOALS),all)),)
include $(CONFIG_MK)
endif

# ---- libzpool
LIB_SRCS := $(wildcard alloc/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB_A := $(BUILD)/libzpool.a
LIB_SO := $(BUILD)/libzpool.so
LIB_HDRS := $(wildcard include/*.h)

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZCFLAGS) -Ialloc -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libzpool.so.0 -o $@ $^ $(ZLDFLAGS)

# ---- unit tests: tests/unit/test_*.c each become one cmocka program;
# tests/unit/lib_*.c are helpers linked into every one of them.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/unit/lib_*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
TEST_LIBS := -lcmocka -llz4 -lzstd -lm

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(UNIT_LIB_OBJS) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $< $(UNIT_LIB_OBJS) $(LIB_A) $(TEST_LIBS) $(ZLDFLAGS)

# Fragments owned by the other folders add programs, tests and benchmarks.
PKG_TESTS := $(wildcard tests/pkg/test_*.sh)
FS_TESTS :=
BPF_TESTS :=
PROGRAMS :=
-include fs/fs.mk
-include bpf/bpf.mk
-include tools/bench/bench.mk

all: $(LIB_A) $(LIB_SO) $(PROGRAMS)

# ---- tests
RUN_TESTS := BUILD=$(BUILD) VALGRIND=$(VALGRIND) bash tests/run.sh

check: all $(UNIT_TESTS)
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/debug DEBUG=1 unit-tests
	$(Q)$(RUN_TESTS) $(UNIT_TESTS) $(patsubst $(BUILD)/%,$(BUILD)/debug/%,$(UNIT_TESTS)) \
		$(PKG_TESTS) $(FS_TESTS) $(BPF_TESTS)

unit-tests: $(UNIT_TESTS)
check-unit: $(UNIT_TESTS)
	$(Q)$(RUN_TESTS) $(UNIT_TESTS)
check-fs: all
	$(Q)$(RUN_TESTS) $(FS_TESTS)
check-bpf: all
	$(Q)$(RUN_TESTS) $(BPF_TESTS)

# ---- run, bench, install
run: all
	$(Q)BUILD=$(BUILD) MNT=$(MNT) bash tools/run.sh

bench: all

install: all
	install -d $(DESTDIR)$(PREFIX)/include/zpool $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(LIB_HDRS) $(DESTDIR)$(PREFIX)/include/zpool/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libzpool.so.$(VERSION)
	ln -sf libzpool.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libzpool.so.0
	ln -sf libzpool.so.0 $(DESTDIR)$(PREFIX)/lib/libzpool.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' zpool.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/zpool.pc
	$(if $(PROGRAMS),install -d $(DESTDIR)$(PREFIX)/bin && install -m 755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/)
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/zpoolfs/bpftrace
	install -m 644 $(wildcard docs/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 644 $(wildcard docs/*.8) $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 $(wildcard tools/bpftrace/*.bt) $(DESTDIR)$(PREFIX)/share/zpoolfs/bpftrace/

clean:
	rm -rf build

# ---- a fresh Debian 12 root (debootstrap minbase + make + git): the README's two commands
# work the first time there (tests/fresh/; root, network to the Debian archive).
check-fresh:
	$(Q)bash tests/fresh/check.sh

# The benchmarks install their own packages first.
bench bench-alloc bench-fs bench-trace: $(BENCH_DEPS_STAMP)

.PHONY: all check check-unit check-fs check-bpf check-fresh unit-tests run bench install clean deps

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

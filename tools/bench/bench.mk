# tools/bench/bench.mk - benchmarks (included by the top Makefile).
#   make bench          every part below, one after the other; results in $(BUILD)/bench/results.tsv
#   make bench-alloc    allocators only (zsmalloc and zbud through zpool, beside glibc;
#                       zram as root)
#   make bench-fs       zpoolfs beside tmpfs (fio) and zram (corpus memory, dd)
#   make bench-cluster  cluster sizes beside zram + lz4 (memory, dd, fio random 4 KiB)
#   make bench-rtt      one FUSE round trip (GETATTR, create+unlink) by request-loop setting
#   make bench-tree     a source tree (linux-source-6.1) on tmpfs, ext4 on zram, zpoolfs:
#                       untar, cold find, cold grep, cp, rm, parallel untar; memory;
#                       requests per file (root; downloads the package once)
#   make bench-imem     the daemon's memory per inode beyond the pool: empty files, 1/5/17 KiB
#                       files, the kernel tree's fs/ (BENCH_IMEM_N=20000 BENCH_IMEM_BASE=
#                       an earlier binary beside; BENCH_IMEM_WORK=kernel: the whole tree)
#   make bench-share    cp -r inside the mount (copy_file_range shares) vs writing the tree in
#   make bench-tiering  writeback to a backing file under mem_limit=64m, automatic compaction
#                       (BENCH_TIER_MIB=256 BENCH_TIER_ROUNDS=3 BENCH_TIER_OPTS=)
# Knobs: BENCH_CORPUS_MIB=200 BENCH_ALLOC_ROUNDS=9 BENCH_THREADS=2 BENCH_SHARE_ROUNDS=3
#        BENCH_FS_MIB=256 BENCH_FIO_MIB=512 BENCH_FS_ROUNDS=5
#        BENCH_TREE_ROUNDS=3 BENCH_TREE_DIRS= (e.g. "fs mm": a subset) BENCH_TREE_ZOPTS=

BENCH_DIR := $(BUILD)/bench
BENCH_PROGS := $(BENCH_DIR)/corpus $(BENCH_DIR)/alloc_bench $(BENCH_DIR)/zram_discard \
	$(BENCH_DIR)/rtt
BENCH_ENV := BUILD=$(BUILD) BENCH_CORPUS_MIB=$(or $(BENCH_CORPUS_MIB),200) \
	BENCH_ALLOC_ROUNDS=$(or $(BENCH_ALLOC_ROUNDS),9) BENCH_THREADS=$(or $(BENCH_THREADS),2) \
	BENCH_FS_MIB=$(or $(BENCH_FS_MIB),256) BENCH_FIO_MIB=$(or $(BENCH_FIO_MIB),512) \
	BENCH_FS_ROUNDS=$(or $(BENCH_FS_ROUNDS),5) BENCH_TREE_ROUNDS=$(or $(BENCH_TREE_ROUNDS),3) \
	BENCH_TREE_DIRS="$(BENCH_TREE_DIRS)" BENCH_TREE_ZOPTS="$(BENCH_TREE_ZOPTS)" \
	BENCH_SHARE_ROUNDS=$(or $(BENCH_SHARE_ROUNDS),3)

$(BENCH_DIR)/%.o: tools/bench/%.c tools/bench/corpus.h | $(DEPS_STAMP)
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZCFLAGS) -MMD -MP -c $< -o $@

$(BENCH_PROGS): %: %.o $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $< $(LIB_A) -llz4 -lzstd $(ZLDFLAGS)

bench-progs: $(BENCH_PROGS)

# The parts run one after the other, never at once, so that they do not disturb each other.
bench: all $(BENCH_PROGS)
	$(Q)$(BENCH_ENV) bash tools/bench/alloc.sh
	$(Q)$(BENCH_ENV) bash tools/bench/fs_bench.sh
	$(Q)$(BENCH_ENV) bash tools/bench/rtt.sh
	$(Q)$(BENCH_ENV) bash tools/bench/tree_bench.sh
	$(Q)$(BENCH_ENV) bash tools/bench/share_bench.sh
	$(Q)BUILD=$(BUILD) bash tools/bench/cluster_bench.sh
	$(Q)BUILD=$(BUILD) bash tools/bench/tiering_bench.sh
	$(Q)cat $(BENCH_DIR)/alloc.tsv $(BENCH_DIR)/fs.tsv $(BENCH_DIR)/rtt.tsv $(BENCH_DIR)/tree.tsv \
		$(BENCH_DIR)/share.tsv $(BENCH_DIR)/cluster.tsv $(BENCH_DIR)/tiering.tsv \
		> $(BENCH_DIR)/results.tsv
	@echo "bench: machine-readable results in $(BENCH_DIR)/results.tsv"

bench-alloc: $(BENCH_PROGS)
	$(Q)$(BENCH_ENV) bash tools/bench/alloc.sh

bench-fs: all $(BENCH_PROGS)
	$(Q)$(BENCH_ENV) bash tools/bench/fs_bench.sh

# Cluster sizes against zram + lz4 on text and binaries (BENCH_CL_MIB, BENCH_CL_ROUNDS,
# BENCH_CL_SIZES, BENCH_CL_FIO_MIB); its own hot_add'ed zram device.
bench-cluster: all $(BENCH_PROGS)
	$(Q)BUILD=$(BUILD) bash tools/bench/cluster_bench.sh

bench-rtt: all $(BENCH_PROGS)
	$(Q)$(BENCH_ENV) bash tools/bench/rtt.sh

bench-imem: all
	$(Q)BUILD=$(BUILD) bash tools/bench/inode_mem.sh

bench-tree: all
	$(Q)$(BENCH_ENV) bash tools/bench/tree_bench.sh

bench-share: all $(BENCH_PROGS)
	$(Q)$(BENCH_ENV) bash tools/bench/share_bench.sh

bench-tiering: all $(BENCH_PROGS)
	$(Q)BUILD=$(BUILD) bash tools/bench/tiering_bench.sh

.PHONY: bench-progs bench-alloc bench-fs bench-cluster bench-imem bench-tree bench-rtt bench-share \
	bench-tiering

# fs.mk - zpoolfs, the FUSE compressed tmpfs (included by the top Makefile).
#
# The sources are in one folder per layer; fs/fuse/ calls the core below it (ns, data,
# tier, stats), the core calls libzpool, and nothing below fs/fuse/ includes its headers:
#   fs/fuse/   FUSE glue: start-up, options, the request loop, the ops_*.c handlers, statsdir.c
#   fs/ns/     namespace: inodes, directories, xattrs, ACLs
#   fs/data/   data path: page tables, stored pages and clusters, compressors, sharing,
#              dedup, helper threads for large requests
#   fs/tier/   storage tiers: backing file, writeback, recompression, autocompaction
#   fs/stats/  statistics: counters, the MOUNT/.zpool/ files, request accounting and probes
# fs/zfs.h is the core every layer includes. Every fs/*/*.c is one object under
# $(BUILD)/fs/, built by the top Makefile's pattern rule with fuse3's flags and the
# layer folders on the include path; the program links libzpool statically (whole
# archive, so that both drivers register themselves).

FS_DIRS := $(sort $(patsubst %/,%,$(dir $(wildcard fs/*/*.c))))
FS_INC := -Ifs $(addprefix -I,$(FS_DIRS))
FS_SRCS := $(wildcard fs/*/*.c)
FS_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(FS_SRCS))
# FUSE_CFLAGS and FUSE_LIBS come from $(BUILD)/config.mk (pkg-config fuse3, run by
# tools/config.sh after tools/deps.sh), which the top Makefile includes before this file.
$(FS_OBJS): ZCFLAGS += $(FUSE_CFLAGS) -DFUSE_USE_VERSION=312 $(FS_INC)
# Unit tests that compile one of the filesystem's files in (test_backing.c, ...).
$(BUILD)/tests/unit/%.o: ZCFLAGS += $(FS_INC)

$(BUILD)/zpoolfs: $(FS_OBJS) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $(FS_OBJS) -Wl,--whole-archive $(LIB_A) -Wl,--no-whole-archive \
		$(FUSE_LIBS) -llz4 -lzstd -lxxhash -luring $(ZLDFLAGS)

PROGRAMS += $(BUILD)/zpoolfs

# The filesystem's tests (each mounts a real zpoolfs; see tests/fs/lib.sh).
FS_TESTS += tests/fs/test_basic.sh tests/fs/test_badopts.sh tests/fs/test_mount.sh \
	tests/fs/test_tree.sh tests/fs/test_data.sh tests/fs/test_sparse.sh \
	tests/fs/test_fallocate.sh tests/fs/test_xattr.sh tests/fs/test_perm.sh \
	tests/fs/test_enospc.sh tests/fs/test_fault.sh tests/fs/test_concurrent.sh \
	tests/fs/test_mmap.sh tests/fs/test_bigdir.sh tests/fs/test_fuzz.sh tests/fs/test_diff.sh \
	tests/fs/test_direct.sh tests/fs/test_odirect.sh tests/fs/test_rss.sh \
	tests/fs/test_requests.sh tests/fs/test_autocompact.sh tests/fs/test_cluster.sh \
	tests/fs/test_attrcache.sh tests/fs/test_writeback.sh tests/fs/test_backing.sh \
	tests/fs/test_recompress.sh tests/fs/test_bdwriteback.sh tests/fs/test_cgroup.sh
# copy_file_range sharing (fs/data/share.c), -o dedup (fs/data/dedup.c)
FS_TESTS += tests/fs/test_share.sh tests/fs/test_dedup.sh tests/fs/test_pack.sh
# an ordinary user (uid 65534) mounting through fusermount3
FS_TESTS += tests/fs/test_user.sh
# -o uring: requests through io_uring, and the fallback with enable_uring=N (fs/fuse/uring.c)
FS_TESTS += tests/fs/test_uring.sh tests/fs/test_loop.sh

# The statistics files' tests (tests/fs/test_stats*.sh) are listed here:
FS_TESTS += $(sort $(wildcard tests/fs/test_stats*.sh))

# The same suite page by page (cluster=4k, zram's layout), as CI runs it too.
check-fs-4k: all
	$(Q)ZPOOLFS_TEST_OPTS=cluster=4k $(RUN_TESTS) $(FS_TESTS)
.PHONY: check-fs-4k

# README.md's shell examples (tests/fs/test_readme.sh). They also link a program against the
# built libzpool.so, which a sanitized build cannot serve (its runtime must be loaded first),
# so they run with unsanitized builds only; the daemon under sanitizers is the other tests' job.
ifeq ($(SANITIZE),)
FS_TESTS += tests/fs/test_readme.sh
endif

# The same suite with -o dedup on every mount.
check-fs-dedup: all
	$(Q)ZPOOLFS_TEST_OPTS=dedup $(RUN_TESTS) $(FS_TESTS)
.PHONY: check-fs-dedup

# The same suite with every request over io_uring (-o uring): the fuse module's enable_uring
# must be Y (root), set here and put back afterwards; under CI=true not being able to is a
# failure, elsewhere the suite runs and says it fell back to /dev/fuse.
URING_PARAM := /sys/module/fuse/parameters/enable_uring
check-fs-uring: all
	$(Q)old=$$(cat $(URING_PARAM) 2>/dev/null || echo none); \
	if ! { [ -e $(URING_PARAM) ] && echo Y >$(URING_PARAM); } 2>/dev/null; then \
		echo "check-fs-uring: cannot set $(URING_PARAM) to Y (root, kernel 6.14+)" >&2; \
		[ "$$CI" != true ] || exit 1; \
	fi; \
	ZPOOLFS_TEST_OPTS=uring $(RUN_TESTS) $(FS_TESTS); rc=$$?; \
	[ "$$old" = none ] || echo $$old >$(URING_PARAM) 2>/dev/null || true; \
	exit $$rc
.PHONY: check-fs-uring

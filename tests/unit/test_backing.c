// SPDX-License-Identifier: MIT
/*
 * test_backing.c - the backing file (fs/tier/backing.c) on a real file: ranges
 * are packed in 512-byte units, read back byte for byte, reused after a
 * free, and punched out of the file so its disk blocks go back; capacity
 * gives ENOSPC; refusals at open (directory, FIFO, path on the mount, no
 * parent); a created file is removed at close, an existing one truncated;
 * injected write and read errors; zram's writeback_limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../../fs/tier/backing.c"
#include "lib_testutil.h"

struct fixture {
	char dir[64];
	char path[128];
	struct zfs_counters c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/zpoolfs-bd.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/backing", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct zfs_backing *open_ok(struct fixture *f, uint64_t cap)
{
	char msg[256] = "";
	struct zfs_backing *bd = zfs_backing_open(f->path, "/nonexistent-mnt", cap, &f->c, msg,
						  sizeof(msg));

	if (!bd)
		fail_msg("open: %s", msg);
	return bd;
}

static void fill(char *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(seed * 31 + i * 7 + (i >> 9));
}

static void test_pack_reuse_punch(void **state)
{
	struct fixture *f = *state;
	struct zfs_backing *bd = open_ok(f, 0);
	enum { N = 400 };
	static uint64_t off[N];
	static size_t len[N];
	char buf[8192], got[8192];
	uint64_t seed = tu_seed("backing"), total = 0, high = 0, again;
	struct zfs_backing_info info;

	for (int i = 0; i < N; i++) {
		len[i] = 1 + tu_rnd(&seed, 6000);
		assert_int_equal(zfs_backing_alloc(bd, len[i], &off[i]), 0);
		assert_int_equal(off[i] % UNIT, 0);
		fill(buf, len[i], (unsigned int)i);
		assert_int_equal(zfs_backing_write(bd, off[i], buf, len[i]), 0);
		total += (len[i] + UNIT - 1) / UNIT * UNIT;
		if (off[i] + len[i] > high)
			high = off[i] + len[i];
	}
	/* Packed: the ranges follow each other, no 4 KiB per object. */
	assert_int_equal(high, total - ((len[N - 1] + UNIT - 1) / UNIT * UNIT - len[N - 1]));
	assert_int_equal(atomic_load(&f->c.bd_bytes), total);
	zfs_backing_info(bd, &info);
	assert_int_equal(info.used, total);
	for (int i = 0; i < N; i++) {
		assert_int_equal(zfs_backing_read(bd, off[i], got, len[i]), 0);
		fill(buf, len[i], (unsigned int)i);
		assert_memory_equal(got, buf, len[i]);
	}
	/* Disk blocks: about the bytes used (ext4/tmpfs allocate 4 KiB blocks). */
	assert_true(zfs_backing_blocks(bd) * 512 >= total - 4096);
	assert_true(zfs_backing_blocks(bd) * 512 <= total + 8 * 4096);

	/* Free the first half: a new range is taken from the space freed. */
	for (int i = 0; i < N / 2; i++)
		zfs_backing_free(bd, off[i], len[i]);
	assert_true(atomic_load(&f->c.bd_punches) > 0);
	assert_true(zfs_backing_blocks(bd) * 512 < total * 3 / 4);
	assert_int_equal(zfs_backing_alloc(bd, 3000, &again), 0);
	assert_true(again < off[N / 2]);
	assert_int_equal(zfs_backing_write(bd, again, buf, 3000), 0);
	/* The second half is intact. */
	for (int i = N / 2; i < N; i++) {
		assert_int_equal(zfs_backing_read(bd, off[i], got, len[i]), 0);
		fill(buf, len[i], (unsigned int)i);
		assert_memory_equal(got, buf, len[i]);
	}
	zfs_backing_free(bd, again, 3000);
	for (int i = N / 2; i < N; i++)
		zfs_backing_free(bd, off[i], len[i]);
	assert_int_equal(atomic_load(&f->c.bd_bytes), 0);
	zfs_backing_info(bd, &info);
	assert_int_equal(info.used, 0);
	/* Everything punched: the file keeps its size and holds no block. */
	assert_int_equal(zfs_backing_blocks(bd), 0);
	assert_true(atomic_load(&f->c.bd_write_bytes) > 0);
	assert_true(atomic_load(&f->c.bd_read_bytes) > 0);
	zfs_backing_close(bd);
	/* We created it: it is gone. */
	assert_int_equal(access(f->path, F_OK), -1);
}

static void test_capacity(void **state)
{
	struct fixture *f = *state;
	struct zfs_backing *bd = open_ok(f, 16 * 1024);
	uint64_t off[32], o;
	int n = 0;

	assert_int_equal(zfs_backing_alloc(bd, 0, &o), -EINVAL);
	assert_int_equal(zfs_backing_alloc(bd, 65 * 1024, &o), -EINVAL);
	while (n < 32 && zfs_backing_alloc(bd, 1000, &off[n]) == 0)
		n++;
	assert_int_equal(n, 16);	/* 2 units each, 32 units */
	assert_int_equal(zfs_backing_alloc(bd, 1, &o), -ENOSPC);
	zfs_backing_free(bd, off[5], 1000);
	assert_int_equal(zfs_backing_alloc(bd, 2000, &o), -ENOSPC);	/* 4 units: no run */
	assert_int_equal(zfs_backing_alloc(bd, 1024, &o), 0);
	assert_int_equal(o, off[5]);
	zfs_backing_close(bd);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	char msg[256], p[160];
	struct zfs_backing *bd;
	struct stat st;
	int fd;

	bd = zfs_backing_open(f->dir, NULL, 0, &f->c, msg, sizeof(msg));
	assert_null(bd);
	assert_non_null(strstr(msg, "is a directory"));

	snprintf(p, sizeof(p), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	bd = zfs_backing_open(p, NULL, 0, &f->c, msg, sizeof(msg));
	assert_null(bd);
	assert_non_null(strstr(msg, "not a regular file or block device"));

	snprintf(p, sizeof(p), "%s/no/such/dir/file", f->dir);
	bd = zfs_backing_open(p, NULL, 0, &f->c, msg, sizeof(msg));
	assert_null(bd);
	assert_non_null(strstr(msg, "its directory cannot be used"));

	/* On the mount: the mount point itself or anything below it. */
	snprintf(p, sizeof(p), "%s/sub", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/sub/file", f->dir);
	bd = zfs_backing_open(p, f->dir, 0, &f->c, msg, sizeof(msg));
	assert_null(bd);
	assert_non_null(strstr(msg, "is on the mount itself"));
	assert_int_equal(access(p, F_OK), -1);	/* nothing created */

	/* An existing file: emptied at open, kept (and emptied) at close. */
	fd = open(f->path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old data", 8), 8);
	close(fd);
	bd = open_ok(f, 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 0);
	{
		uint64_t o;

		assert_int_equal(zfs_backing_alloc(bd, 100, &o), 0);
		assert_int_equal(zfs_backing_write(bd, o, "x", 1), 0);
	}
	zfs_backing_close(bd);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void test_faults(void **state)
{
	struct fixture *f = *state;
	struct zfs_backing *bd = open_ok(f, 0);
	char buf[1000] = { 1 };
	uint64_t o;

	assert_int_equal(zfs_backing_alloc(bd, sizeof(buf), &o), 0);
	assert_int_equal(zfs_backing_fault_parse(bd, true, "EIO,nth=2"), 0);
	assert_int_equal(zfs_backing_write(bd, o, buf, sizeof(buf)), 0);
	assert_int_equal(zfs_backing_write(bd, o, buf, sizeof(buf)), -EIO);
	assert_int_equal(zfs_backing_write(bd, o, buf, sizeof(buf)), 0);
	assert_int_equal(atomic_load(&f->c.bd_failed_writes), 1);
	assert_int_equal(zfs_backing_fault_parse(bd, true, "ENOSPC"), 0);
	assert_int_equal(zfs_backing_write(bd, o, buf, sizeof(buf)), -ENOSPC);
	assert_int_equal(zfs_backing_write(bd, o, buf, sizeof(buf)), -ENOSPC);
	zfs_backing_fault(bd, true, 0, 0, 0);
	assert_int_equal(zfs_backing_write(bd, o, buf, sizeof(buf)), 0);

	assert_int_equal(zfs_backing_fault_parse(bd, false, "EIO,every=2"), 0);
	assert_int_equal(zfs_backing_read(bd, o, buf, sizeof(buf)), 0);
	assert_int_equal(zfs_backing_read(bd, o, buf, sizeof(buf)), -EIO);
	assert_int_equal(zfs_backing_read(bd, o, buf, sizeof(buf)), 0);
	assert_int_equal(zfs_backing_read(bd, o, buf, sizeof(buf)), -EIO);
	assert_int_equal(atomic_load(&f->c.bd_failed_reads), 2);
	zfs_backing_fault(bd, false, 0, 0, 0);
	/* Reading past what was written is an I/O error, not zeros. */
	assert_int_equal(zfs_backing_read(bd, 1 << 20, buf, sizeof(buf)), -EIO);

	assert_int_equal(zfs_backing_fault_parse(bd, true, "EPERM"), -EINVAL);
	assert_int_equal(zfs_backing_fault_parse(bd, true, "EIO,nth=0"), -EINVAL);
	assert_int_equal(zfs_backing_fault_parse(bd, true, "EIO,often=2"), -EINVAL);
	assert_int_equal(zfs_backing_fault_parse(bd, true, "EIO,nth=x"), -EINVAL);
	zfs_backing_close(bd);
}

static void test_limit(void **state)
{
	struct fixture *f = *state;
	struct zfs_backing *bd = open_ok(f, 0);
	struct zfs_backing_info info;
	uint64_t ten = 10;

	assert_true(zfs_backing_limit_take(bd, 1000000));	/* not enabled: no limit */
	zfs_backing_limit_set(bd, 1, &ten);	/* 10 x 4 KiB */
	assert_true(zfs_backing_limit_take(bd, 4 * 4096));
	zfs_backing_info(bd, &info);
	assert_int_equal(info.limit_pages, 6);
	assert_false(zfs_backing_limit_take(bd, 7 * 4096));
	assert_true(zfs_backing_limit_take(bd, 1500));	/* bytes: 1500 spent, 5 units shown */
	zfs_backing_info(bd, &info);
	assert_int_equal(info.limit_pages, 5);
	assert_true(zfs_backing_limit_take(bd, 6 * 4096 - 1500));
	assert_false(zfs_backing_limit_take(bd, 1));
	zfs_backing_info(bd, &info);
	assert_true(info.limit_enable);
	assert_int_equal(info.limit_pages, 0);
	zfs_backing_limit_set(bd, 0, NULL);
	assert_true(zfs_backing_limit_take(bd, 1));
	zfs_backing_close(bd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pack_reuse_punch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

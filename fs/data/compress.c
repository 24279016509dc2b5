// SPDX-License-Identifier: MIT
/*
 * compress.c - the page compressors: lz4, zstd or none.
 *
 * Design: every thread that compresses owns its context, created on first
 * use and freed by a pthread key destructor when the thread ends (libfuse's
 * worker threads come and go). Nothing is shared, so compression takes no
 * lock and two threads compress two pages at the same time.
 *
 *   per-thread context (struct tctx)
 *   +------------------+------------+------------+---------------------+
 *   | LZ4_stream_t     | ZSTD_CCtx* | ZSTD_DCtx* | scratch: 2 x 4 KiB  |
 *   +------------------+------------+------------+---------------------+
 *
 * lz4: LZ4_compress_fast_extState() on the thread's state, the call zram's
 * lz4 backend makes, so that a page compresses to exactly the bytes (and the
 * length) it would in zram; every page is an independent block.
 * comp_level is lz4's acceleration, as zram's lz4 backend reads its level.
 * A compressor with hc set (the packer's, pack.c) uses LZ4HC instead: the
 * same block format, read by the same decoder as fast as ever, 15-20 %
 * smaller and 5-8 times slower to make; its state (256 KiB) is allocated
 * on the first such call, so only the packing thread has one.
 * zstd: frames without magic, content size, checksum or dictionary id, which
 * saves 9 bytes per page; the decompression context reads the same format.
 * "none" never compresses: every page is stored raw.
 */
#include <errno.h>
#include <lz4.h>
#include <lz4hc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "compress.h"

#define PAGE 4096

struct tctx {
	LZ4_stream_t lz4;
	void *lz4hc;			/* LZ4HC's state: allocated on first use */
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	int cctx_level;
	char *big;			/* zfs_thread_big(): allocated on first use */
	char scratch[2 * PAGE] __attribute__((aligned(64)));
};

static pthread_key_t tctx_key;
static pthread_once_t tctx_once = PTHREAD_ONCE_INIT;
static __thread struct tctx *my_tctx;

static void tctx_destroy(void *p)
{
	struct tctx *t = p;

	ZSTD_freeCCtx(t->cctx);
	ZSTD_freeDCtx(t->dctx);
	free(t->lz4hc);
	free(t->big);
	free(t);
}

static void tctx_key_init(void)
{
	if (pthread_key_create(&tctx_key, tctx_destroy))
		abort();	/* only when the process is out of keys at startup */
}

static struct tctx *get_tctx(void)
{
	struct tctx *t = my_tctx;

	if (t)
		return t;
	pthread_once(&tctx_once, tctx_key_init);
	t = aligned_alloc(64, sizeof(*t));
	if (!t)
		return NULL;
	memset(t, 0, offsetof(struct tctx, scratch));
	LZ4_initStream(&t->lz4, sizeof(t->lz4));
	if (pthread_setspecific(tctx_key, t)) {
		free(t);
		return NULL;
	}
	my_tctx = t;
	return t;
}

void *zfs_thread_scratch(void)
{
	struct tctx *t = get_tctx();

	return t ? t->scratch : NULL;
}

void *zfs_thread_big(void)
{
	struct tctx *t = get_tctx();

	if (!t)
		return NULL;
	if (!t->big)
		t->big = aligned_alloc(64, 2 * ZFS_BIG_SCRATCH);
	return t->big;
}

bool zfs_compressor_known(const char *name)
{
	return !strcmp(name, "lz4") || !strcmp(name, "zstd") || !strcmp(name, "none");
}

int zfs_zstd_min_level(void)
{
	/* Levels below -131072 are accepted by libzstd but mean nothing more. */
	int min = ZSTD_minCLevel();

	return min < -131072 ? -131072 : min;
}

int zfs_zstd_max_level(void)
{
	return ZSTD_maxCLevel();
}

int zfs_compressor_check_level(const char *name, int level)
{
	if (!strcmp(name, "lz4"))
		return level >= 1 && level <= 65537 ? 0 : -EINVAL;
	if (!strcmp(name, "zstd"))
		return level >= zfs_zstd_min_level() && level <= zfs_zstd_max_level() ? 0 : -EINVAL;
	return -EINVAL;
}

void zfs_compressor_level_range(const char *name, char *buf, size_t size)
{
	if (!strcmp(name, "lz4"))
		snprintf(buf, size, "lz4 takes an acceleration from 1 to 65537");
	else if (!strcmp(name, "zstd"))
		snprintf(buf, size, "zstd takes a level from %d to %d", zfs_zstd_min_level(),
			 zfs_zstd_max_level());
	else
		snprintf(buf, size, "comp=%s takes no level", name);
}

int zfs_compressor_init(struct zfs_compressor *c, const char *name, int level, bool level_set)
{
	c->name = name;
	c->hc = 0;
	if (!strcmp(name, "lz4")) {
		c->type = ZFS_COMP_LZ4;
		c->level = level_set ? level : 1;
	} else if (!strcmp(name, "zstd")) {
		c->type = ZFS_COMP_ZSTD;
		c->level = level_set ? level : ZSTD_CLEVEL_DEFAULT;
	} else if (!strcmp(name, "none")) {
		c->type = ZFS_COMP_NONE;
		c->level = 0;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int zstd_cctx(struct tctx *t, int level)
{
	if (t->cctx && t->cctx_level == level)
		return 0;
	if (!t->cctx) {
		t->cctx = ZSTD_createCCtx();
		if (!t->cctx)
			return -ENOMEM;
	}
	ZSTD_CCtx_reset(t->cctx, ZSTD_reset_session_and_parameters);
	if (ZSTD_isError(ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_format, ZSTD_f_zstd1_magicless)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_contentSizeFlag, 0)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_checksumFlag, 0)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_dictIDFlag, 0))) {
		ZSTD_freeCCtx(t->cctx);
		t->cctx = NULL;
		return -ENOMEM;
	}
	t->cctx_level = level;
	return 0;
}

int zfs_compress_buf(const struct zfs_compressor *c, const void *src, size_t srclen, void *dst,
		     size_t cap)
{
	struct tctx *t;
	size_t n;
	int len;

	if (c->type == ZFS_COMP_NONE || cap == 0)
		return 0;
	t = get_tctx();
	if (!t)
		return -ENOMEM;
	if (c->type == ZFS_COMP_LZ4 && c->hc) {
		if (!t->lz4hc)
			t->lz4hc = malloc((size_t)LZ4_sizeofStateHC());
		if (!t->lz4hc)
			return -ENOMEM;
		len = LZ4_compress_HC_extStateHC(t->lz4hc, src, dst, (int)srclen, (int)cap, c->hc);
		return len > 0 ? len : 0;
	}
	if (c->type == ZFS_COMP_LZ4) {
		len = LZ4_compress_fast_extState(&t->lz4, src, dst, (int)srclen, (int)cap, c->level);
		return len > 0 ? len : 0;
	}
	if (zstd_cctx(t, c->level))
		return -ENOMEM;
	n = ZSTD_compress2(t->cctx, dst, cap, src, srclen);
	if (ZSTD_isError(n))
		return 0;	/* dstSize_tooSmall: keep the data raw */
	return (int)n;
}

int zfs_compress_page(const struct zfs_compressor *c, const void *src, void *dst, size_t cap)
{
	return zfs_compress_buf(c, src, PAGE, dst, cap);
}

int zfs_decompress_buf(const struct zfs_compressor *c, const void *src, size_t len, void *dst,
		       size_t dstlen)
{
	struct tctx *t;
	size_t n;

	if (c->type == ZFS_COMP_LZ4)
		return LZ4_decompress_safe(src, dst, (int)len, (int)dstlen) == (int)dstlen ? 0 : -EIO;
	if (c->type != ZFS_COMP_ZSTD)
		return -EIO;
	t = get_tctx();
	if (!t)
		return -ENOMEM;
	if (!t->dctx) {
		t->dctx = ZSTD_createDCtx();
		if (!t->dctx)
			return -ENOMEM;
		if (ZSTD_isError(ZSTD_DCtx_setParameter(t->dctx, ZSTD_d_format,
							ZSTD_f_zstd1_magicless))) {
			ZSTD_freeDCtx(t->dctx);
			t->dctx = NULL;
			return -ENOMEM;
		}
	}
	n = ZSTD_decompressDCtx(t->dctx, dst, dstlen, src, len);
	return !ZSTD_isError(n) && n == dstlen ? 0 : -EIO;
}

int zfs_decompress_prefix(const struct zfs_compressor *c, const void *src, size_t len, void *dst,
			  size_t dstlen, size_t want)
{
	int n;

	if (c->type != ZFS_COMP_LZ4)
		return zfs_decompress_buf(c, src, len, dst, dstlen) ? -EIO : (int)dstlen;
	n = LZ4_decompress_safe_partial(src, dst, (int)len, (int)want, (int)dstlen);
	return n >= (int)want ? n : -EIO;
}

int zfs_decompress_page(const struct zfs_compressor *c, const void *src, size_t len, void *dst)
{
	return zfs_decompress_buf(c, src, len, dst, PAGE);
}

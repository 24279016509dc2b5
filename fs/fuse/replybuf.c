// SPDX-License-Identifier: MIT
/*
 * replybuf.c - the buffers that reads are decoded into before the reply.
 *
 * Design: a read of up to 1 MiB (the kernel's largest request) is decoded
 * into one contiguous buffer and handed to fuse_reply_buf(). Every worker
 * thread keeping its own buffer would hold a resident MiB per thread that
 * ever served a large read, ten or more MiB of RSS beyond the pool on a busy
 * mount. The buffers live in one small stack instead: a read takes the top
 * one (or allocates a new one when the stack is empty) and gives it back
 * after its reply. The stack keeps at most `keep` buffers, as many as there
 * are request threads (main.c), since no more reads than that are served at
 * once; it only grows to the most reads that were ever served at once (about
 * four for one reader with a 4 MiB readahead window). Were it smaller than
 * that, reads would map and unmap a fresh MiB every time: measured, keeping
 * two buffers instead of six made one reader's cold reads about 8 % slower.
 * A buffer given back to a full stack is freed. Buffers are REPLYBUF_SIZE
 * bytes, allocated with mmap so that freeing one returns its pages at once;
 * a request larger than that (none the kernel sends) gets a buffer of its own
 * that is freed after use.
 *
 * Locking: replybuf_lock guards the stack; it is held for a push or a pop,
 * never while a buffer is used or allocated.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "replybuf.h"

#define REPLYBUF_SIZE (1UL << 20)
#define REPLYBUF_MAX_KEEP 1024

static pthread_mutex_t replybuf_lock = PTHREAD_MUTEX_INITIALIZER;
static void *stack[REPLYBUF_MAX_KEEP];	/* replybuf_lock */
static unsigned int depth;		/* replybuf_lock */
static unsigned int keep = 1;		/* replybuf_lock */

static size_t buf_size(size_t size)
{
	return size <= REPLYBUF_SIZE ? REPLYBUF_SIZE : size;
}

void zfs_replybuf_init(unsigned int n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!n)
		n = cpus > 0 ? (unsigned int)cpus : 1;
	pthread_mutex_lock(&replybuf_lock);
	keep = n > REPLYBUF_MAX_KEEP ? REPLYBUF_MAX_KEEP : n;
	pthread_mutex_unlock(&replybuf_lock);
}

void *zfs_replybuf_get(size_t size)
{
	void *buf = NULL;

	if (size <= REPLYBUF_SIZE) {
		pthread_mutex_lock(&replybuf_lock);
		if (depth)
			buf = stack[--depth];
		pthread_mutex_unlock(&replybuf_lock);
		if (buf)
			return buf;
	}
	buf = mmap(NULL, buf_size(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	return buf == MAP_FAILED ? NULL : buf;
}

void zfs_replybuf_put(void *buf, size_t size)
{
	if (!buf)
		return;
	if (size <= REPLYBUF_SIZE) {
		pthread_mutex_lock(&replybuf_lock);
		if (depth < keep) {
			stack[depth++] = buf;
			buf = NULL;
		}
		pthread_mutex_unlock(&replybuf_lock);
	}
	if (buf)
		munmap(buf, buf_size(size));
}

unsigned int zfs_replybuf_kept(void)
{
	unsigned int n;

	pthread_mutex_lock(&replybuf_lock);
	n = depth;
	pthread_mutex_unlock(&replybuf_lock);
	return n;
}

void zfs_replybuf_fini(void)
{
	pthread_mutex_lock(&replybuf_lock);
	while (depth)
		munmap(stack[--depth], REPLYBUF_SIZE);
	pthread_mutex_unlock(&replybuf_lock);
}

// SPDX-License-Identifier: MIT
/*
 * zpool.c - the driver registry and the zpool_* wrappers over it.
 *
 * Design
 * ------
 *   registry (registry_lock)             struct zpool (fixed once created)
 *   +----------+----------+-----+        +--------+------+-----+
 *   | zsmalloc | zbud     | ... |  <---  | driver | pool | ops |
 *   +----------+----------+-----+        +--------+------+-----+
 *     driver->refcount = pools open          |       `-> the backend's own pool
 *                                            `-> calls go straight to driver->fn(pool, ...)
 *
 * The registry is an array of driver pointers under one mutex. Creating a
 * pool looks the driver up by name and takes a reference (driver->refcount,
 * protected by registry_lock); destroying the pool drops it, and a driver
 * cannot be unregistered while any pool holds one. So a pool's driver stays
 * valid for the pool's whole life, and the per-call wrappers (malloc, map,
 * ...) are one indirect call each with no lock: the backend does its own
 * locking and its own promises about map/unmap.
 *
 * The built-in drivers (zpool_internal.h) are registered by a constructor
 * when the library loads. Because this file names their structures, a static
 * link pulls their object files in too. The registry calls also run the
 * registration through pthread_once, in case they are reached before the
 * constructor (another library's constructor calling us, for instance).
 *
 * Errors: every failing call leaves a message in a per-thread buffer that
 * zpool_last_error() returns, e.g. "zpool: no driver named 'foo' (registered:
 * zsmalloc zbud)". Lock order: registry_lock, then nothing (drivers' create
 * and destroy run with it dropped).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zpool_internal.h"
#include "zpage.h"

struct zpool {
	struct zpool_driver *driver;	/* fixed; holds a reference on it */
	void *pool;			/* fixed: the backend's pool */
	const struct zpool_ops *ops;	/* fixed */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zpool_driver **drivers;	/* registry_lock */
static size_t nr_drivers;		/* registry_lock */
static size_t cap_drivers;		/* registry_lock */

static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static __thread char last_error[256];

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

/* A fixed description of @err: thread-safe, unlike strerror(). */
static const char *errstr(int err)
{
	const char *s = strerrordesc_np(err);

	return s ? s : "unknown error";
}

/**
 * zpool_last_error - what the calling thread's last failed zpool call said.
 *
 * Return: a message (never NULL; empty if no call has failed on this thread),
 * valid until the thread's next zpool call.
 */
const char *zpool_last_error(void)
{
	return last_error;
}

/* Called with registry_lock held. */
static struct zpool_driver *find_driver_locked(const char *type)
{
	for (size_t i = 0; i < nr_drivers; i++) {
		if (strcmp(drivers[i]->type, type) == 0)
			return drivers[i];
	}
	return NULL;
}

/* "zsmalloc zbud" into @buf, for error messages. Called with registry_lock held. */
static void list_names_locked(char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nr_drivers && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%s", i ? " " : "", drivers[i]->type);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (!nr_drivers)
		snprintf(buf, size, "none");
}

static int register_locked(struct zpool_driver *driver)
{
	if (find_driver_locked(driver->type)) {
		set_error("zpool: a driver named '%s' is already registered", driver->type);
		return -EEXIST;
	}
	if (nr_drivers == cap_drivers) {
		size_t cap = cap_drivers ? cap_drivers * 2 : 8;
		struct zpool_driver **d = realloc(drivers, cap * sizeof(*d));

		if (!d) {
			set_error("zpool: out of memory registering driver '%s'", driver->type);
			return -ENOMEM;
		}
		drivers = d;
		cap_drivers = cap;
	}
	driver->refcount = 0;
	drivers[nr_drivers++] = driver;
	return 0;
}

static void register_builtin_drivers(void)
{
#define ZPOOL_BUILTIN_ENTRY(name) &zpool_##name##_driver,
	static struct zpool_driver *const builtin[] = {
		ZPOOL_BUILTIN_DRIVERS(ZPOOL_BUILTIN_ENTRY)
	};
#undef ZPOOL_BUILTIN_ENTRY

	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		register_locked(builtin[i]);	/* only ENOMEM can fail here */
	pthread_mutex_unlock(&registry_lock);
}

static void ensure_builtin(void)
{
	pthread_once(&builtin_once, register_builtin_drivers);
}

__attribute__((constructor)) static void zpool_init(void)
{
	ensure_builtin();
}

/**
 * zpool_register_driver - make a driver available under its type name.
 * @driver: filled in by the caller and kept alive until unregistered; type,
 *          create, destroy, malloc, free, map, unmap and total_size are
 *          required, shrink, compact,
 *          compactable and stats optional. Its refcount is reset.
 *
 * Return: 0; -EINVAL for a driver without a type or a required callback;
 * -EEXIST if a driver of that type is registered already; -ENOMEM.
 * Context: takes the registry lock.
 */
int zpool_register_driver(struct zpool_driver *driver)
{
	int ret;

	ensure_builtin();
	if (!driver || !driver->type || !driver->type[0]) {
		set_error("zpool: cannot register a driver without a type name");
		return -EINVAL;
	}
	if (!driver->create || !driver->destroy || !driver->malloc || !driver->free ||
	    !driver->map || !driver->unmap || !driver->total_size) {
		set_error("zpool: driver '%s' lacks a required callback (create, destroy, "
			  "malloc, free, map, unmap and total_size are required)",
			  driver->type);
		return -EINVAL;
	}
	pthread_mutex_lock(&registry_lock);
	ret = register_locked(driver);
	pthread_mutex_unlock(&registry_lock);
	return ret;
}

/**
 * zpool_unregister_driver - remove a registered driver.
 * @driver: the structure that was registered.
 *
 * Return: 0; -EBUSY while pools created from it exist; -ENOENT if it is not
 * registered.
 * Context: takes the registry lock.
 */
int zpool_unregister_driver(struct zpool_driver *driver)
{
	int ret = -ENOENT;

	ensure_builtin();
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; driver && i < nr_drivers; i++) {
		if (drivers[i] != driver)
			continue;
		if (driver->refcount > 0) {
			set_error("zpool: driver '%s' still has %d pool(s); destroy them first",
				  driver->type, driver->refcount);
			ret = -EBUSY;
			break;
		}
		memmove(&drivers[i], &drivers[i + 1], (nr_drivers - i - 1) * sizeof(*drivers));
		nr_drivers--;
		ret = 0;
		break;
	}
	if (ret == -ENOENT)
		set_error("zpool: driver '%s' is not registered",
			  driver && driver->type ? driver->type : "(null)");
	pthread_mutex_unlock(&registry_lock);
	return ret;
}

/**
 * zpool_list_drivers - the type names of the registered drivers.
 * @types: filled with up to @max names, in registration order (may be NULL
 *         when @max is 0). A name stays valid while its driver is registered.
 * @max: room in @types.
 *
 * Return: the number of registered drivers, which may be more than @max.
 * Context: takes the registry lock.
 */
size_t zpool_list_drivers(const char **types, size_t max)
{
	size_t n;

	ensure_builtin();
	pthread_mutex_lock(&registry_lock);
	n = nr_drivers;
	for (size_t i = 0; i < n && i < max; i++)
		types[i] = drivers[i]->type;
	pthread_mutex_unlock(&registry_lock);
	return n;
}

/**
 * zpool_has_pool - is a driver of this type registered?
 * @type: a driver name such as "zsmalloc" or "zbud".
 *
 * Return: true if zpool_create_pool(@type, ...) would find a driver.
 * Context: takes the registry lock.
 */
bool zpool_has_pool(const char *type)
{
	bool found;

	if (!type)
		return false;
	ensure_builtin();
	pthread_mutex_lock(&registry_lock);
	found = find_driver_locked(type) != NULL;
	pthread_mutex_unlock(&registry_lock);
	return found;
}

/* Find @type and take a reference on it, or explain why not. */
static struct zpool_driver *get_driver(const char *type)
{
	struct zpool_driver *driver;
	char names[160];

	pthread_mutex_lock(&registry_lock);
	driver = find_driver_locked(type);
	if (driver) {
		driver->refcount++;
	} else {
		list_names_locked(names, sizeof(names));
		set_error("zpool: no driver named '%s' (registered: %s)", type, names);
	}
	pthread_mutex_unlock(&registry_lock);
	return driver;
}

static void put_driver(struct zpool_driver *driver)
{
	pthread_mutex_lock(&registry_lock);
	driver->refcount--;
	pthread_mutex_unlock(&registry_lock);
}

/**
 * zpool_create_pool - create a pool of the driver called @type.
 * @type: driver name.
 * @name: a label the backend keeps (may be NULL).
 * @ops: callbacks (may be NULL); ops->evict makes zpool_shrink() possible on
 *       backends that evict.
 *
 * Return: the pool, or NULL with errno = ENOENT (no such driver, or @type is
 * NULL), or the backend's errno (ENOMEM) if it could not create its pool.
 * zpool_last_error() explains either.
 * Context: takes the registry lock; the backend's create runs without it.
 */
struct zpool *zpool_create_pool(const char *type, const char *name, const struct zpool_ops *ops)
{
	struct zpool_driver *driver;
	struct zpool *zpool;
	int err;

	ensure_builtin();
	if (!type) {
		set_error("zpool: no driver type given");
		errno = ENOENT;
		return NULL;
	}
	driver = get_driver(type);
	if (!driver) {
		errno = ENOENT;
		return NULL;
	}
	zpool = malloc(sizeof(*zpool));
	if (!zpool) {
		err = ENOMEM;
		goto out_put_driver;
	}
	zpool->driver = driver;
	zpool->ops = ops;
	errno = 0;
	zpool->pool = driver->create(name, ops, zpool);
	if (!zpool->pool) {
		err = errno ? errno : ENOMEM;
		goto out_free_zpool;
	}
	return zpool;

out_free_zpool:
	free(zpool);
out_put_driver:
	put_driver(driver);
	set_error("zpool: driver '%s' could not create pool '%s': %s", type,
		  name ? name : "", errstr(err));
	errno = err;
	return NULL;
}

/**
 * zpool_destroy_pool - destroy a pool and everything stored in it.
 * @zpool: the pool (NULL is ignored); nobody may use it any more.
 * Context: the backend's destroy, then the registry lock to drop the reference.
 */
void zpool_destroy_pool(struct zpool *zpool)
{
	struct zpool_driver *driver;

	if (!zpool)
		return;
	driver = zpool->driver;
	driver->destroy(zpool->pool);
	free(zpool);
	put_driver(driver);
}

/** zpool_get_type - the pool's driver name, valid as long as the pool. */
const char *zpool_get_type(struct zpool *zpool)
{
	return zpool->driver->type;
}

/** zpool_malloc_support_movable - may the backend move objects (compaction)? */
bool zpool_malloc_support_movable(struct zpool *zpool)
{
	return zpool->driver->malloc_support_movable;
}

/** zpool_can_sleep_mapped - may the caller block while it holds a mapping? */
bool zpool_can_sleep_mapped(struct zpool *zpool)
{
	return zpool->driver->sleep_mapped;
}

/**
 * zpool_malloc - allocate room for @size bytes.
 * @zpool: the pool.
 * @size: bytes, 1 .. zpool_max_alloc_size().
 * @flags: passed to the backend (0 for the built-in ones).
 * @handle: set on success.
 *
 * Return: 0; -EINVAL for size 0; -ENOSPC above the backend's largest size;
 * -ENOMEM when no page could be had (nothing already stored changes).
 * Context: the backend's (zsmalloc: class lock; zbud: pool lock); no zpool lock.
 */
int zpool_malloc(struct zpool *zpool, size_t size, unsigned int flags, unsigned long *handle)
{
	int ret = zpool->driver->malloc(zpool->pool, size, flags, handle);

	if (ret)
		set_error("zpool: %s: cannot allocate %zu bytes: %s", zpool->driver->type, size,
			  errstr(-ret));
	return ret;
}

/** zpool_free - free an object allocated by zpool_malloc() from @zpool. */
void zpool_free(struct zpool *zpool, unsigned long handle)
{
	zpool->driver->free(zpool->pool, handle);
}

/**
 * zpool_shrink - evict objects until @pages pages are freed.
 * @zpool: the pool; its ops->evict is called for each object to drop.
 * @pages: pages wanted.
 * @reclaimed: set to the pages freed (may be NULL), also on failure.
 *
 * Return: 0; -EINVAL if the backend cannot evict (zsmalloc) or the pool has
 * no evict callback or nothing stored; -EAGAIN when the owner kept objects.
 */
int zpool_shrink(struct zpool *zpool, unsigned int pages, unsigned int *reclaimed)
{
	int ret;

	if (!zpool->driver->shrink) {
		if (reclaimed)
			*reclaimed = 0;
		set_error("zpool: driver '%s' cannot evict", zpool->driver->type);
		return -EINVAL;
	}
	ret = zpool->driver->shrink(zpool->pool, pages, reclaimed);
	if (ret)
		set_error("zpool: %s: shrink by %u pages failed: %s", zpool->driver->type, pages,
			  errstr(-ret));
	return ret;
}

/**
 * zpool_map_handle - the address of an object's bytes.
 * @zpool: the pool.
 * @handle: an allocated object.
 * @mm: ZPOOL_MM_RO (contents read, not written back), ZPOOL_MM_WO (contents
 *      written in full, not read first) or ZPOOL_MM_RW.
 *
 * Return: the object's first byte, until zpool_unmap_handle(). Whether the
 * caller may sleep meanwhile: zpool_can_sleep_mapped().
 */
void *zpool_map_handle(struct zpool *zpool, unsigned long handle, enum zpool_mapmode mm)
{
	return zpool->driver->map(zpool->pool, handle, mm);
}

/** zpool_unmap_handle - end a zpool_map_handle() (on the same thread). */
void zpool_unmap_handle(struct zpool *zpool, unsigned long handle)
{
	zpool->driver->unmap(zpool->pool, handle);
}

/** zpool_get_total_size - bytes of pages the pool holds. */
uint64_t zpool_get_total_size(struct zpool *zpool)
{
	return zpool->driver->total_size(zpool->pool);
}

/**
 * zpool_compact - compact the pool if its backend can.
 * Return: pages freed; 0 if the backend does not compact (zbud).
 */
unsigned long zpool_compact(struct zpool *zpool)
{
	return zpool->driver->compact ? zpool->driver->compact(zpool->pool) : 0;
}

/**
 * zpool_compactable - pages a compaction could free now (an estimate).
 * Return: pages; 0 if the backend does not compact or cannot tell.
 * Context: lock-free for zsmalloc.
 */
unsigned long zpool_compactable(struct zpool *zpool)
{
	return zpool->driver->compactable ? zpool->driver->compactable(zpool->pool) : 0;
}

/**
 * zpool_get_stats - the backend's statistics as one consistent snapshot.
 * @zpool: the pool.
 * @st: filled in: type, total_size and the union member of the backend
 *      (zs for "zsmalloc", zbud for "zbud"); other drivers fill what they have.
 */
void zpool_get_stats(struct zpool *zpool, struct zpool_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->type = zpool->driver->type;
	if (zpool->driver->stats)
		zpool->driver->stats(zpool->pool, st);
	else
		st->total_size = zpool->driver->total_size(zpool->pool);
}

/** zpool_max_alloc_size - the largest size zpool_malloc() accepts from this pool. */
size_t zpool_max_alloc_size(struct zpool *zpool)
{
	return zpool->driver->max_size ? zpool->driver->max_size : ZPAGE_SIZE;
}

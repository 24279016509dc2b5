/* SPDX-License-Identifier: MIT */
/* Private to alloc/: the page provider's allocation calls. Public counters are in <zpage.h>. */
#ifndef ZPOOL_ALLOC_PAGE_H
#define ZPOOL_ALLOC_PAGE_H

#include "zpage.h"

/*
 * zpage_alloc - one 4 KiB page, ZPAGE_SIZE aligned, contents zero or stale.
 * Return: the page, or NULL with errno = ENOMEM when the OS refuses memory or
 * a failure was injected (see zpage_fail_nth()).
 * Context: takes the provider's mutex; may call mmap.
 */
void *zpage_alloc(void);

/*
 * zpage_free - give a page back; its memory is returned to the OS at once.
 * Context: takes the provider's mutex; calls madvise.
 */
void zpage_free(void *page);

#endif

// SPDX-License-Identifier: MIT
/*
 * moves.c - which pieces a pass (recompression) replaced, and by what.
 *
 * Design
 * ------
 * A piece is shared by several files after copy_file_range or dedup
 * (share.c, dedup.c), each file's page table pointing at it. A pass that
 * replaces pieces works one file at a time (one inode lock at a time, see
 * recompress.c) and republishes only that file's entries; done naively, it
 * gives every file its own replacement and the copies stop sharing: a file
 * and its cp took twice the memory after idle recompression. So the pass
 * keeps this map: the first file builds the replacement, the map records
 * old -> new and holds a reference on the new piece, and every later file
 * that still shows the old piece republishes the recorded one.
 *
 *   key (old address, old id)        value
 *   +------------------+-----+       +--------------------------+
 *   | 0x7f..a0         | 812 | ----> | struct zfs_piece * (ref) |
 *   +------------------+-----+       +--------------------------+
 *   open addressing, at most half full, grown by doubling
 *
 * Invariants: an old piece is matched by address and id together: ids are
 * unique among live pieces, and the caller's entry keeps the old piece alive
 * while it asks, so a freed and reused address never matches. The map never
 * dereferences the recorded old address. The new pieces live at least until
 * zfs_piece_moves_end(): a file that looks later finds its replacement whole.
 *
 * Failure: no memory to record a move leaves it unrecorded: later files
 * replace the old piece on their own, as they would without the map
 * (correct, only not shared). No lock: a map belongs to one pass.
 */
#include <errno.h>
#include <stdlib.h>

#include "moves.h"

static size_t slot_of(uintptr_t old, uint32_t id, size_t cap)
{
	uint64_t h = ((uint64_t)old >> 4) * 0x9e3779b97f4a7c15ULL ^ id;

	return (size_t)(h ^ h >> 29) & (cap - 1);
}

struct zfs_piece *zfs_piece_moves_find(const struct zfs_piece_moves *m, const struct zfs_piece *p)
{
	uintptr_t key = (uintptr_t)p;

	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(key, p->id, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->v[i].old)
			return NULL;
		if (m->v[i].old == key && m->v[i].id == p->id)
			return m->v[i].new;
	}
}

static void put_in(struct zfs_piece_move *v, size_t cap, struct zfs_piece_move mv)
{
	size_t i = slot_of(mv.old, mv.id, cap);

	while (v[i].old)
		i = (i + 1) & (cap - 1);
	v[i] = mv;
}

int zfs_piece_moves_add(struct zfs_piece_moves *m, const struct zfs_piece *p, struct zfs_piece *np)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct zfs_piece_move *v = calloc(cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < m->cap; i++)
			if (m->v[i].old)
				put_in(v, cap, m->v[i]);
		free(m->v);
		m->v = v;
		m->cap = cap;
	}
	zfs_piece_get(np);
	put_in(m->v, m->cap, (struct zfs_piece_move){ (uintptr_t)p, p->id, np });
	m->n++;
	return 0;
}

void zfs_piece_moves_end(struct zfs_fs *fs, struct zfs_piece_moves *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i].old)
			zfs_piece_put(fs, m->v[i].new);
	free(m->v);
	*m = (struct zfs_piece_moves)ZFS_PIECE_MOVES_INIT;
}

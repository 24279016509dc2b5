/* SPDX-License-Identifier: MIT */
/*
 * moves.h - a pass's record of the pieces it replaced (moves.c), so that a
 * piece shared by several files is replaced by one copy for all of them.
 */
#ifndef ZPOOLFS_MOVES_H
#define ZPOOLFS_MOVES_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"

struct zfs_piece_move {
	uintptr_t old;		/* the replaced piece's address (never dereferenced) */
	uint32_t id;		/* and its id: the two name one live piece */
	struct zfs_piece *new;	/* its replacement; the map holds a reference */
};

struct zfs_piece_moves {
	struct zfs_piece_move *v;	/* open addressing; old == 0: empty */
	size_t n, cap;			/* cap: 0 or a power of two */
};

#define ZFS_PIECE_MOVES_INIT { NULL, 0, 0 }

/**
 * zfs_piece_moves_find - the replacement recorded for @p, or NULL.
 * Context: a lock that keeps @p published (its id is read).
 */
struct zfs_piece *zfs_piece_moves_find(const struct zfs_piece_moves *m, const struct zfs_piece *p);

/**
 * zfs_piece_moves_add - record @np as the replacement of @p and take a
 * reference on @np. Return: 0, or -ENOMEM (nothing recorded: the files that
 * still show @p get a replacement of their own later, as before).
 * Context: as zfs_piece_moves_find().
 */
int zfs_piece_moves_add(struct zfs_piece_moves *m, const struct zfs_piece *p, struct zfs_piece *np);

/** zfs_piece_moves_end - drop the map's references and free it. No lock. */
void zfs_piece_moves_end(struct zfs_fs *fs, struct zfs_piece_moves *m);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * fs_counters.h - the counters the zpoolfs data path keeps, declared once.
 *
 * One X-macro list feeds the struct, the stats files (fs/stats/stats.c) and
 * stats.json, so a counter cannot be missing from one of them. Gauges go up
 * and down with what is stored now; totals only grow. Every counter is a
 * relaxed atomic bumped where the event happens: no lock is taken for stats.
 *
 *   X(name, kind, description)   kind: GAUGE or TOTAL
 */
#ifndef ZPOOLFS_FS_COUNTERS_H
#define ZPOOLFS_FS_COUNTERS_H

#include <stdatomic.h>

#define ZFS_COUNTERS(X)                                                                   \
	X(pages_stored, GAUGE, "file pages stored (compressed, same-filled or huge)")     \
	X(compr_data_size, GAUGE, "bytes of compressed data stored (huge pages: 4096)")   \
	X(same_pages, GAUGE, "pages stored inline because every word is the same")        \
	X(huge_pages, GAUGE, "pages stored raw because they did not compress enough")     \
	X(huge_pages_since, TOTAL, "pages ever stored raw")                               \
	X(clusters, GAUGE, "pieces stored: pages of a cluster compressed together")    \
	X(cluster_pages, GAUGE, "file pages stored in pieces (part of pages_stored)")    \
	X(cluster_objects, GAUGE, "pool objects in the chains of pieces stored")         \
	X(cluster_stale_pages, GAUGE, "pages of pieces overwritten or freed, still held") \
	X(clusters_split, TOTAL, "pieces split into single pages when half stale")        \
	X(pages_packed, TOTAL, "pages stored singly, packed into pieces later (pack_after=)") \
	X(pages_gathered, TOTAL, "pages of small files packed with other files' (pack_after=)") \
	X(shared_pages, GAUGE, "file pages pointing at data stored for another page")     \
	X(shared_bytes_saved, GAUGE, "compressed bytes the shared pages would have taken") \
	X(pages_copy_shared, TOTAL, "pages copy_file_range shared instead of copying")    \
	X(idle_pages, GAUGE, "pages marked idle and not read or written since")        \
	X(recomp_pages, GAUGE, "pages stored with the second algorithm (recomp=)")       \
	X(recompressions, TOTAL, "pages recompressed with the second algorithm, ever")   \
	X(recomp_no_gain, TOTAL, "pages recompression left alone: no smaller, ever")    \
	X(pages_deduped, TOTAL, "pages stored as a reference to equal stored data")       \
	X(dedup_collisions, TOTAL, "dedup lookups whose equal hashes held other bytes")   \
	X(dedup_index_entries, GAUGE, "pieces in the dedup index")                      \
	X(dedup_index_bytes, GAUGE, "memory of the dedup index and one-page descriptors") \
	X(pages_written, TOTAL, "page stores, ever")                                      \
	X(pages_read, TOTAL, "page loads, ever")                                          \
	X(failed_reads, TOTAL, "page loads that failed")                                  \
	X(failed_writes, TOTAL, "page stores that failed (ENOSPC, ENOMEM, ...)")          \
	X(invalid_io, TOTAL, "requests refused as invalid")                              \
	X(notify_free, TOTAL, "stored pages freed by truncate, unlink, punch or overwrite") \
	X(pages_compacted, TOTAL, "pool pages freed by compaction, ever")                 \
	X(compactions, TOTAL, "compactions run, ever")                                    \
	X(auto_compactions, TOTAL, "compactions the daemon started itself (autocompact.c)") \
	X(pressure_events, TOTAL, "memory pressure seen (PSI trigger or polled)")         \
	X(pages_backed, GAUGE, "pages written back, stored in the backing file now")     \
	X(pages_written_back, TOTAL, "pages moved to the backing file, ever")             \
	X(pages_read_back, TOTAL, "page loads served from the backing file")              \
	X(writebacks, TOTAL, "writeback passes (.zpool/writeback)")                       \
	X(auto_writebacks, TOTAL, "automatic writeback passes (writeback_at=)")            \
	X(writeback_waits, TOTAL, "allocations that waited for automatic writeback")      \
	X(bd_bytes, GAUGE, "bytes of the backing file allocated (512-byte units)")      \
	X(bd_read_bytes, TOTAL, "bytes read from the backing file")                       \
	X(bd_write_bytes, TOTAL, "bytes written to the backing file")                     \
	X(bd_failed_reads, TOTAL, "reads of the backing file that failed")                \
	X(bd_failed_writes, TOTAL, "writes to the backing file that failed")              \
	X(bd_punches, TOTAL, "holes punched so the backing file's disk blocks go back")   \
	X(mem_used_max, GAUGE, "high-water mark of pool bytes")

struct zfs_counters {
#define ZFS_COUNTER_FIELD(name, kind, desc) atomic_ulong name;
	ZFS_COUNTERS(ZFS_COUNTER_FIELD)
#undef ZFS_COUNTER_FIELD
};

/* A plain copy, read counter by counter (each value exact, the set not atomic). */
struct zfs_counters_snap {
#define ZFS_COUNTER_FIELD(name, kind, desc) unsigned long name;
	ZFS_COUNTERS(ZFS_COUNTER_FIELD)
#undef ZFS_COUNTER_FIELD
};

static inline void zfs_counters_read(struct zfs_counters *c, struct zfs_counters_snap *s)
{
#define ZFS_COUNTER_READ(name, kind, desc) \
	s->name = atomic_load_explicit(&c->name, memory_order_relaxed);
	ZFS_COUNTERS(ZFS_COUNTER_READ)
#undef ZFS_COUNTER_READ
}

#define zfs_count_add(c, name, n) atomic_fetch_add_explicit(&(c)->name, (n), memory_order_relaxed)
#define zfs_count_sub(c, name, n) atomic_fetch_sub_explicit(&(c)->name, (n), memory_order_relaxed)

#endif

// SPDX-License-Identifier: MIT
/*
 * req_probes.c - the semaphores and probe sites of fs/stats/req_probes.h.
 *
 *	.probes:  | request_start sema (2) | request_done sema (2) |  one 4-byte word
 *
 * A tracer attaching to zpoolfs:request_start or zpoolfs:request_done makes
 * the kernel increment that probe's semaphore (the uprobe's reference
 * counter, found through the note's semaphore address) and decrement it when
 * it detaches. The inline helpers test the whole word and only then call in
 * here, where each probe site tests its own semaphore, so a tracer of one
 * probe does not make the other fire.
 */
#ifndef ZPOOL_NO_PROBES
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#include "req_probes.h"

/* As alloc/probes.h: a 5-byte nop is a cheaper uprobe site on Linux 6.18+. */
#if defined(__x86_64__)
#undef _SDT_NOP
#define _SDT_NOP .nops 5
#endif

/*
 * The word and its two halves under the names sdt.h gives the semaphores of
 * provider zpoolfs; in assembly because C cannot give one object several
 * names at fixed offsets.
 */
#define SEMAPHORE(name)                                                                    \
	"\t.globl zpoolfs_" #name "_semaphore\n"                                             \
	"\t.hidden zpoolfs_" #name "_semaphore\n"                                            \
	"\t.type zpoolfs_" #name "_semaphore, @object\n"                                     \
	"\t.size zpoolfs_" #name "_semaphore, 2\n"                                           \
	"zpoolfs_" #name "_semaphore:\n"                                                      \
	"\t.2byte 0\n"

__asm__(".pushsection .probes, \"aw\", @progbits\n"
	"\t.balign 4\n"
	"\t.globl zfs_req_probe_semaphores\n"
	"\t.hidden zfs_req_probe_semaphores\n"
	"\t.type zfs_req_probe_semaphores, @object\n"
	"\t.size zfs_req_probe_semaphores, 4\n"
	"zfs_req_probe_semaphores:\n"
	SEMAPHORE(request_start)
	SEMAPHORE(request_done)
	".popsection\n");

extern unsigned short zpoolfs_request_start_semaphore __attribute__((visibility("hidden")));
extern unsigned short zpoolfs_request_done_semaphore __attribute__((visibility("hidden")));

__attribute__((cold, noinline)) void zfs_req_probe_fire_start(uint32_t opcode, uint64_t unique,
							     uint64_t ino, uint64_t offset,
							     uint32_t size)
{
	if (zpoolfs_request_start_semaphore)
		STAP_PROBE5(zpoolfs, request_start, opcode, unique, ino, offset, size);
}

__attribute__((cold, noinline)) void zfs_req_probe_fire_done(uint32_t opcode, uint64_t unique,
							    uint64_t ino, int64_t result,
							    uint64_t ns)
{
	if (zpoolfs_request_done_semaphore)
		STAP_PROBE5(zpoolfs, request_done, opcode, unique, ino, result, ns);
}
#else
/* ISO C wants at least one declaration in a translation unit. */
extern int zfs_req_probes_compiled_out;
#endif

// SPDX-License-Identifier: MIT
/*
 * usdt.c - count a provider's USDT notes in an ELF file (see usdt.h).
 *
 * A note of type 3 named "stapsdt" in section .note.stapsdt describes one
 * probe: three addresses (site, base, semaphore), then the provider, the
 * probe's name and its argument string, each NUL-terminated.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "usdt.h"

int usdt_count_notes(const char *path, const char *provider, int *with_sema)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	int fd, found = 0, err = 0;
	Elf *elf;

	*with_sema = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx)) {
		err = -ENOEXEC;
		goto out_close;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		size_t off = 0, name_off, desc_off, asz;
		const char *name;
		Elf_Data *data;
		GElf_Shdr sh;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".note.stapsdt"))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		asz = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
		while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const char *desc = (const char *)data->d_buf + desc_off;
			const char *prov;
			uint64_t sema = 0;

			if (nh.n_type != 3 || nh.n_descsz < 3 * asz + 2 ||
			    strcmp((const char *)data->d_buf + name_off, "stapsdt"))
				continue;
			prov = desc + 3 * asz;
			if (!memchr(prov, '\0', nh.n_descsz - 3 * asz) || strcmp(prov, provider))
				continue;
			memcpy(&sema, desc + 2 * asz, asz);
			found++;
			if (sema)
				(*with_sema)++;
		}
	}
	err = found;
	elf_end(elf);
out_close:
	close(fd);
	return err;
}


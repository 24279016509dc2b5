/* SPDX-License-Identifier: MIT */
/*
 * usdt.h - find the USDT notes (.note.stapsdt) of a provider in an ELF
 * file, for the tools that attach to them (zmaplat, zpoolfsdist,
 * zpoolfsslower): so that a binary built with PROBES=0 gets a clear message
 * rather than libbpf's.
 */
#ifndef ZPOOL_TOOLS_USDT_H
#define ZPOOL_TOOLS_USDT_H

/**
 * usdt_count_notes - count the USDT probes of @provider in the ELF file @path.
 * @with_sema: set to how many of them have a semaphore
 * Needs elf_version(EV_CURRENT) called once before.
 * Return: the number found (0: none), -ENOEXEC when @path is not an ELF
 * file, or another -errno when it cannot be opened.
 */
int usdt_count_notes(const char *path, const char *provider, int *with_sema);

#endif

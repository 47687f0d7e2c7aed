/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space stand-in for <linux/elf.h>: glibc's <elf.h> for the constants,
 * and the kernel's struct names for its Elf64_* types.
 */
#ifndef _LPGUARD_KSHIM_ELF_H
#define _LPGUARD_KSHIM_ELF_H

#include <elf.h>
#include <linux/types.h>

struct elf64_hdr {
	unsigned char e_ident[EI_NIDENT];
	Elf64_Half e_type;
	Elf64_Half e_machine;
	Elf64_Word e_version;
	Elf64_Addr e_entry;
	Elf64_Off e_phoff;
	Elf64_Off e_shoff;
	Elf64_Word e_flags;
	Elf64_Half e_ehsize;
	Elf64_Half e_phentsize;
	Elf64_Half e_phnum;
	Elf64_Half e_shentsize;
	Elf64_Half e_shnum;
	Elf64_Half e_shstrndx;
};

struct elf64_shdr {
	Elf64_Word sh_name;
	Elf64_Word sh_type;
	Elf64_Xword sh_flags;
	Elf64_Addr sh_addr;
	Elf64_Off sh_offset;
	Elf64_Xword sh_size;
	Elf64_Word sh_link;
	Elf64_Word sh_info;
	Elf64_Xword sh_addralign;
	Elf64_Xword sh_entsize;
};

struct elf64_sym {
	Elf64_Word st_name;
	unsigned char st_info;
	unsigned char st_other;
	Elf64_Half st_shndx;
	Elf64_Addr st_value;
	Elf64_Xword st_size;
};

_Static_assert(sizeof(struct elf64_hdr) == sizeof(Elf64_Ehdr), "elf64_hdr");
_Static_assert(sizeof(struct elf64_shdr) == sizeof(Elf64_Shdr), "elf64_shdr");
_Static_assert(sizeof(struct elf64_sym) == sizeof(Elf64_Sym), "elf64_sym");
#define LPGUARD_SAME_OFFSET(kernel, glibc, field) \
	_Static_assert(offsetof(kernel, field) == offsetof(glibc, field), #field)
LPGUARD_SAME_OFFSET(struct elf64_hdr, Elf64_Ehdr, e_shoff);
LPGUARD_SAME_OFFSET(struct elf64_hdr, Elf64_Ehdr, e_shstrndx);
LPGUARD_SAME_OFFSET(struct elf64_shdr, Elf64_Shdr, sh_offset);
LPGUARD_SAME_OFFSET(struct elf64_shdr, Elf64_Shdr, sh_link);
LPGUARD_SAME_OFFSET(struct elf64_sym, Elf64_Sym, st_shndx);
#undef LPGUARD_SAME_OFFSET

#endif

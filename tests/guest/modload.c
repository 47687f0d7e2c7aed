// SPDX-License-Identifier: GPL-2.0
/*
 * modload: load a kernel module through exactly one system call, so tests can
 * exercise init_module and finit_module separately.
 *
 *   modload --init FILE [PARAMS]            init_module(2) on the file's bytes
 *   modload --finit [--flags N] FILE [PARAMS] finit_module(2) on an open fd
 *
 * Exit status: 0 when loaded, else the errno value; one line on stderr:
 *   modload: <syscall> <file>: <ERRNO_NAME>: <strerror>
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errno_name(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ENOEXEC: return "ENOEXEC";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EINVAL: return "EINVAL";
	case ENOKEY: return "ENOKEY";
	case EKEYREJECTED: return "EKEYREJECTED";
	case EBADMSG: return "EBADMSG";
	case ENOPKG: return "ENOPKG";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EACCES: return "EACCES";
	case ENODEV: return "ENODEV";
	default: return "E?";
	}
}

int main(int argc, char **argv)
{
	int finit = -1, flags = 0, i = 1, fd;
	const char *file, *params = "";
	long rc;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--init"))
			finit = 0;
		else if (!strcmp(argv[i], "--finit"))
			finit = 1;
		else if (!strcmp(argv[i], "--flags") && i + 1 < argc)
			flags = atoi(argv[++i]);
		else
			break;
	}
	if (finit < 0 || i >= argc) {
		fprintf(stderr, "usage: modload --init|--finit [--flags N] FILE [PARAMS]\n");
		return 2;
	}
	file = argv[i];
	if (i + 1 < argc)
		params = argv[i + 1];
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "modload: open %s: %s\n", file, strerror(errno));
		return 2;
	}
	if (finit) {
		rc = syscall(SYS_finit_module, fd, params, flags);
	} else {
		struct stat st;
		char *buf;

		if (fstat(fd, &st) < 0 || !(buf = malloc(st.st_size ? st.st_size : 1)) ||
		    read(fd, buf, st.st_size) != st.st_size) {
			fprintf(stderr, "modload: read %s: %s\n", file, strerror(errno));
			return 2;
		}
		rc = syscall(SYS_init_module, buf, (unsigned long)st.st_size, params);
	}
	if (rc) {
		int e = errno;

		fprintf(stderr, "modload: %s %s: %s: %s\n", finit ? "finit_module" : "init_module",
			file, errno_name(e), strerror(e));
		return e;
	}
	return 0;
}

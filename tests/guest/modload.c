// SPDX-License-Identifier: GPL-2.0
/*
 * modload: load a kernel module through exactly one system call, so tests can
 * exercise init_module and finit_module separately.
 *
 *   modload --init FILE [PARAMS]            init_module(2) on the file's bytes
 *   modload --finit [--flags N] FILE [PARAMS] finit_module(2) on an open fd
 *   modload --steps STEP...                 several steps in this one process
 *
 * Exit status: 0 when loaded, else the errno value; one line on stderr:
 *   modload: <syscall> <file>: <ERRNO_NAME>: <strerror>
 *
 * --steps runs each STEP in order in the same task (lpguard keeps its
 * verdicts per task) and prints one line per step on stdout,
 *   step <n> <STEP>: ok | <ERRNO_NAME>
 * exiting 0 once all ran. A STEP is finit:FILE, init:FILE,
 * rmmod:NAME (delete_module) or write:PATH=VALUE.
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
	case ENOSYS: return "ENOSYS";
	case EAGAIN: return "EAGAIN";
	default: return "E?";
	}
}

static long load(int finit, const char *file, const char *params, int flags)
{
	struct stat st;
	long rc;
	char *buf;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "modload: open %s: %s\n", file, strerror(errno));
		exit(2);
	}
	if (finit) {
		rc = syscall(SYS_finit_module, fd, params, flags);
	} else {
		if (fstat(fd, &st) < 0 || !(buf = malloc(st.st_size ? st.st_size : 1)) ||
		    read(fd, buf, st.st_size) != st.st_size) {
			fprintf(stderr, "modload: read %s: %s\n", file, strerror(errno));
			exit(2);
		}
		rc = syscall(SYS_init_module, buf, (unsigned long)st.st_size, params);
		free(buf);
	}
	close(fd);
	return rc;
}

static long step(const char *s)
{
	const char *arg = strchr(s, ':');
	long rc;

	if (!arg++) {
		errno = EINVAL;
		return -1;
	}
	if (!strncmp(s, "finit:", 6))
		return load(1, arg, "", 0);
	if (!strncmp(s, "init:", 5))
		return load(0, arg, "", 0);
	if (!strncmp(s, "rmmod:", 6))
		return syscall(SYS_delete_module, arg, O_NONBLOCK);
	if (!strncmp(s, "write:", 6)) {
		char path[512];
		const char *eq = strchr(arg, '=');
		int fd;

		if (!eq || (size_t)(eq - arg) >= sizeof(path)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(path, arg, eq - arg);
		path[eq - arg] = '\0';
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		rc = write(fd, eq + 1, strlen(eq + 1)) < 0 ? -1 : 0;
		close(fd);
		return rc;
	}
	errno = EINVAL;
	return -1;
}

static int steps(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		long rc = step(argv[i]);

		printf("step %d %s: %s\n", i + 1, argv[i], rc ? errno_name(errno) : "ok");
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int finit = -1, flags = 0, i = 1;
	const char *file, *params = "";
	long rc;

	if (argc > 1 && !strcmp(argv[1], "--steps"))
		return steps(argc - 2, argv + 2);
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
	rc = load(finit, file, params, flags);
	if (rc) {
		int e = errno;

		fprintf(stderr, "modload: %s %s: %s: %s\n", finit ? "finit_module" : "init_module",
			file, errno_name(e), strerror(e));
		return e;
	}
	return 0;
}

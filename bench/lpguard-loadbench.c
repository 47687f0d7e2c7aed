// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard-loadbench FILE NAME N: N times finit_module(FILE) then
 * delete_module(NAME); prints the finit_module wall time of each load in
 * nanoseconds, one per line. Exit status: 0, or the errno of a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long t0, t1;
	int i, n, fd;

	if (argc != 4) {
		fprintf(stderr, "usage: lpguard-loadbench FILE NAME N\n");
		return 2;
	}
	n = atoi(argv[3]);
	for (i = 0; i < n; i++) {
		fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror("open");
			return 2;
		}
		t0 = now_ns();
		if (syscall(SYS_finit_module, fd, "", 0)) {
			int e = errno;

			fprintf(stderr, "finit_module %s: %s\n", argv[1], strerror(e));
			return e;
		}
		t1 = now_ns();
		close(fd);
		printf("%lld\n", t1 - t0);
		if (syscall(SYS_delete_module, argv[2], O_NONBLOCK)) {
			int e = errno;

			fprintf(stderr, "delete_module %s: %s\n", argv[2], strerror(e));
			return e;
		}
	}
	return 0;
}

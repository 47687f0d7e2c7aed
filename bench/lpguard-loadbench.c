// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard-loadbench FILE NAME N: N times finit_module(FILE) then
 * delete_module(NAME); prints the finit_module wall time of each load in
 * nanoseconds, one per line. Exit status: 0, or the errno of a failure.
 *
 * lpguard-loadbench --calibrate: prints the nanoseconds plain C SHA-256
 * of 1 MiB takes (best of 5). Run on the host and in a TCG guest, the ratio
 * is the emulation slowdown for the kind of code the kernel's generic
 * SHA-256 is.
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

/* Plain C SHA-256 (FIPS 180-4), the calibration workload. */
static const unsigned int k256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(unsigned int st[8], const unsigned char *p)
{
	unsigned int w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (unsigned int)p[4 * i] << 24 | p[4 * i + 1] << 16 |
		       p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = w[i - 16] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		       w[i - 7] + (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = st[0]; b = st[1]; c = st[2]; d = st[3];
	e = st[4]; f = st[5]; g = st[6]; h = st[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + k256[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	st[0] += a; st[1] += b; st[2] += c; st[3] += d;
	st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

static unsigned char calib_buf[1024 * 1024];

/* Best of 5 times for hashing 1 MiB (whole blocks; padding is irrelevant). */
static long long calibrate(void)
{
	static const unsigned int iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	unsigned int st[8];
	long long best = -1, t0, t;
	size_t i;
	int round;

	for (i = 0; i < sizeof(calib_buf); i++)
		calib_buf[i] = (unsigned char)(i * 131);
	for (round = 0; round < 5; round++) {
		memcpy(st, iv, sizeof(st));
		t0 = now_ns();
		for (i = 0; i < sizeof(calib_buf); i += 64)
			sha256_block(st, calib_buf + i);
		t = now_ns() - t0;
		if (best < 0 || t < best)
			best = t;
	}
	fprintf(stderr, "state %08x\n", st[0]);
	return best;
}

int main(int argc, char **argv)
{
	long long t0, t1;
	int i, n, fd;

	if (argc == 2 && !strcmp(argv[1], "--calibrate")) {
		printf("%lld\n", calibrate());
		return 0;
	}
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

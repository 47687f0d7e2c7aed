// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard-hashcal: prints the nanoseconds OpenSSL's SHA-256 of 1 MiB takes
 * (best of 5). OPENSSL_ia32cap selects the code path (SHA-NI, AVX2, ...),
 * so that the host and a TCG guest run the same kind of instructions as the
 * guest kernel's accelerated sha256 driver; the ratio of the two times is
 * the emulation slowdown for that code (bench/lpguard-bench.py).
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static unsigned char buf[1024 * 1024];

int main(void)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	long long best = -1, t0, t;
	size_t i;
	int round;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131);
	for (round = 0; round < 5; round++) {
		t0 = now_ns();
		SHA256(buf, sizeof(buf), md);
		t = now_ns() - t0;
		if (best < 0 || t < best)
			best = t;
	}
	fprintf(stderr, "digest %02x%02x\n", md[0], md[1]);
	printf("%lld\n", best);
	return 0;
}

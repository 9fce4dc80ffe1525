// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Standalone fuzz driver for machines whose compiler has no libFuzzer
 * runtime: links with a LLVMFuzzerTestOneInput target, built under
 * ASan/UBSan. It runs every seed of the corpus, then mutates seeds with a
 * seeded xorshift PRNG (bit flips, byte sets, inserts, deletes, splices) for
 * a bounded number of runs or seconds. Deterministic for a given -seed.
 *
 * Understands the libFuzzer flags tests/fuzz/run.sh uses (-runs=N,
 * -max_total_time=S, -seed=N, -max_len=N; other "-x=y" flags are ignored)
 * and ends with libFuzzer's "Done N runs in S second(s)" line. An input that
 * makes the target abort is written to ./crash-standalone first.
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEEDS_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* ASan's; weak so that the driver also links without a sanitizer */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

struct seed {
	uint8_t *data;
	size_t len;
};

static struct seed seeds[SEEDS_MAX];
static size_t nseeds;
static uint8_t *cur;
static size_t cur_len;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static void save_crash(void)
{
	FILE *f = fopen("crash-standalone", "wb");

	if (!f)
		return;
	fwrite(cur, 1, cur_len, f);
	fclose(f);
	fprintf(stderr, "driver: input written to crash-standalone (%zu bytes)\n", cur_len);
}

static void on_abort(int sig)
{
	save_crash();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void add_seed(const char *path, size_t max_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f || nseeds == SEEDS_MAX) {
		if (f)
			fclose(f);
		return;
	}
	buf = malloc(max_len ? max_len : 1);
	n = buf ? fread(buf, 1, max_len, f) : 0;
	fclose(f);
	if (!buf)
		return;
	seeds[nseeds].data = buf;
	seeds[nseeds].len = n;
	nseeds++;
}

static void add_path(const char *path, size_t max_len)
{
	struct stat sb;
	struct dirent *e;
	DIR *d;

	if (stat(path, &sb) != 0)
		return;
	if (!S_ISDIR(sb.st_mode)) {
		add_seed(path, max_len);
		return;
	}
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char p[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
			add_seed(p, max_len);
	}
	closedir(d);
}

/* Mutate @buf (@len bytes, room for @cap) in place; returns the new length. */
static size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
	int rounds = 1 + (int)(rng() % 4), i;

	for (i = 0; i < rounds; i++) {
		size_t pos = len ? rng() % len : 0, n;
		const struct seed *s;

		switch (rng() % 6) {
		case 0: /* flip a bit */
			if (len)
				buf[pos] ^= (uint8_t)(1u << (rng() % 8));
			break;
		case 1: /* set a byte, often to an interesting one */
			if (len)
				buf[pos] = rng() % 2 ? (uint8_t)rng()
						     : (uint8_t) "\r\n :0\xff/"[rng() % 7];
			break;
		case 2: /* insert bytes */
			n = 1 + rng() % 8;
			if (len + n > cap)
				break;
			memmove(buf + pos + n, buf + pos, len - pos);
			for (size_t k = 0; k < n; k++)
				buf[pos + k] = (uint8_t)rng();
			len += n;
			break;
		case 3: /* delete bytes */
			n = 1 + rng() % 8;
			if (pos + n > len)
				n = len - pos;
			memmove(buf + pos, buf + pos + n, len - pos - n);
			len -= n;
			break;
		case 4: /* splice: a piece of another seed */
			s = &seeds[rng() % nseeds];
			if (!s->len)
				break;
			n = 1 + rng() % s->len;
			if (pos + n > cap)
				n = cap - pos;
			memcpy(buf + pos, s->data + rng() % (s->len - n + 1), n);
			if (pos + n > len)
				len = pos + n;
			break;
		default: /* truncate */
			len = pos;
			break;
		}
	}
	return len;
}

int main(int argc, char **argv)
{
	long long runs = -1, seconds = 0, done = 0;
	size_t max_len = 4096, i;
	struct timespec t0, t1;
	int a;

	for (a = 1; a < argc; a++) {
		if (strncmp(argv[a], "-runs=", 6) == 0)
			runs = atoll(argv[a] + 6);
		else if (strncmp(argv[a], "-max_total_time=", 16) == 0)
			seconds = atoll(argv[a] + 16);
		else if (strncmp(argv[a], "-seed=", 6) == 0)
			rng_state = (uint64_t)atoll(argv[a] + 6) * 2654435761u + 1;
		else if (strncmp(argv[a], "-max_len=", 9) == 0)
			max_len = (size_t)atoll(argv[a] + 9);
	}
	if (!max_len)
		max_len = 1;
	for (a = 1; a < argc; a++) {
		if (argv[a][0] != '-')
			add_path(argv[a], max_len);
	}
	if (!nseeds)
		add_seed("/dev/null", max_len);
	cur = malloc(max_len);
	if (!cur || !nseeds)
		return 1;
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(save_crash);
	signal(SIGABRT, on_abort);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	for (i = 0; i < nseeds; i++) {
		cur_len = seeds[i].len;
		memcpy(cur, seeds[i].data, cur_len);
		LLVMFuzzerTestOneInput(cur, cur_len);
		done++;
	}
	for (;;) {
		const struct seed *s;

		if (runs >= 0 && done >= runs)
			break;
		if (seconds > 0 && (done & 255) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (t1.tv_sec - t0.tv_sec >= seconds)
				break;
		}
		if (runs < 0 && seconds <= 0)
			break;
		s = &seeds[rng() % nseeds];
		memcpy(cur, s->data, s->len);
		cur_len = mutate(cur, s->len, max_len);
		LLVMFuzzerTestOneInput(cur, cur_len);
		done++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("Done %lld runs in %lld second(s)\n", done, (long long)(t1.tv_sec - t0.tv_sec));
	return 0;
}

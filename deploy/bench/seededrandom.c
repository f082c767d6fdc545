/*
 * seededrandom.c -- LD_PRELOAD shim that makes getrandom(3) a fixed, seeded stream.
 *
 *     gcc -O2 -shared -fPIC -o seededrandom.so seededrandom.c
 *     SEEDED_RANDOM_SEED=1 LD_PRELOAD=$PWD/seededrandom.so devicegate worker ...
 *
 * For counting instructions (deploy/bench/instructions.sh), never for a server: every secret
 * it hands out is predictable. (Builds before 2026-12-03 searched the last two bytes of a
 * device code until the flow id landed in the user code's shard: 256 SHA-256 computations on
 * average, geometrically distributed, so with real randomness the instructions of 200 device
 * authorizations varied by about 5% from one run to the next.) With the same stream in every process of a run (configuration, pepper, worker,
 * `devicegate approve`), two runs of the same binary draw the same codes, and two builds
 * that consume randomness in the same order draw the same codes too (instructions.py prints
 * a digest of the codes it got, to check that).
 *
 * Swift's runtime (linked in statically) and BoringSSL both ask the kernel through
 * syscall(SYS_getrandom, ...), not getrandom(3): this replaces both (every other syscall(2) is
 * passed on), so the signing key `devicegate keys generate` makes is seeded as well.
 *
 * The stream: splitmix64 over a counter that starts at SEEDED_RANDOM_SEED (default 1).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/types.h>

static uint64_t state;
static int seeded;

static uint64_t next(void) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void fill(void *buf, size_t length) {
    if (!seeded) {
        const char *seed = getenv("SEEDED_RANDOM_SEED");
        state = seed ? strtoull(seed, NULL, 10) : 1;
        seeded = 1;
    }
    unsigned char *out = buf;
    size_t done = 0;
    while (done < length) {
        uint64_t word = next();
        size_t n = length - done < sizeof word ? length - done : sizeof word;
        memcpy(out + done, &word, n);
        done += n;
    }
}

ssize_t getrandom(void *buf, size_t length, unsigned int flags) {
    (void)flags;
    fill(buf, length);
    return (ssize_t)length;
}

int getentropy(void *buf, size_t length) {
    fill(buf, length);
    return 0;
}

long syscall(long number, ...) {
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_getrandom) {
        fill((void *)a[0], (size_t)a[1]);
        return a[1];
    }
    static long (*real)(long, ...);
    if (!real) real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

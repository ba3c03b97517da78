/*
 * diskwriter: the block writer of Ferry's "linux-stress" test guest (see BlockWriter.java).
 *
 *   diskwriter DEVICE BLOCKS RATE_KIB
 *
 * Writes self-checking 4 KiB blocks to the first BLOCKS blocks of DEVICE, one after the other and
 * round and round, at RATE_KIB KiB/s, each with O_DIRECT|O_SYNC: when pwrite returns, the block is
 * on the virtual disk (acknowledged). Block layout (little endian, 8-byte words):
 *
 *   word 0      magic "FERRYBLK"
 *   word 1      index (the block's own number)
 *   word 2      generation (1 for the first pass, 2 for the second, ...)
 *   word 3      sequence number = (generation - 1) * BLOCKS + index
 *   words 4-510 payload: sequence * 0x9E3779B97F4A7C15 + word number
 *   word 511    FNV-1a 64 of words 0-510
 *
 * Reports on stdout (the guest console), one line per write() so lines never interleave:
 *
 *   FERRY-DISK-READY <device> <blocks> <rate KiB/s>
 *   FERRY-DISK-ACK <sequence>          every 100 ms: the last acknowledged write
 *   FERRY-ERROR <message>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define WORDS (BLOCK / 8)
#define TICK_NS 100000000LL

/* one write() per line, so the console never interleaves it with the stressor's lines */
static void say(const char *line) {
    if (write(1, line, strlen(line)) < 0) {
        /* nowhere to report it */
    }
}

static void fail(const char *line) {
    say(line);
    for (;;) pause();
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static uint64_t fnv(const uint64_t *w, int n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *p = (const unsigned char *) w;
    for (int i = 0; i < n * 8; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int main(int argc, char **argv) {
    char line[160];
    if (argc != 4) {
        fail("FERRY-ERROR usage: diskwriter DEVICE BLOCKS RATE_KIB\n");
    }
    long long blocks = atoll(argv[2]);
    long long rate = atoll(argv[3]);
    int fd = open(argv[1], O_WRONLY | O_DIRECT | O_SYNC);
    if (fd < 0 || blocks < 1 || rate < 1) {
        snprintf(line, sizeof line, "FERRY-ERROR diskwriter cannot open %s (errno %d)\n", argv[1], errno);
        fail(line);
    }
    uint64_t *w;
    if (posix_memalign((void **) &w, BLOCK, BLOCK) != 0) {
        fail("FERRY-ERROR diskwriter: no memory\n");
    }
    snprintf(line, sizeof line, "FERRY-DISK-READY %s %lld %lld\n", argv[1], blocks, rate);
    say(line);
    long long per_block_ns = 1000000000LL * BLOCK / (rate * 1024);
    long long start = now_ns();
    long long next_tick = start + TICK_NS;
    long long acked = -1;
    for (long long seq = 0;; seq++) {
        long long index = seq % blocks;
        w[0] = 0x4B4C425952524546ULL; /* "FERRYBLK" */
        w[1] = (uint64_t) index;
        w[2] = (uint64_t) (seq / blocks + 1);
        w[3] = (uint64_t) seq;
        for (int i = 4; i < WORDS - 1; i++) {
            w[i] = (uint64_t) seq * 0x9E3779B97F4A7C15ULL + (uint64_t) i;
        }
        w[WORDS - 1] = fnv(w, WORDS - 1);
        if (pwrite(fd, w, BLOCK, index * BLOCK) != BLOCK) {
            snprintf(line, sizeof line, "FERRY-ERROR diskwriter: write of block %lld failed (errno %d)\n", index,
                     errno);
            fail(line);
        }
        acked = seq;
        long long t = now_ns();
        if (t >= next_tick) {
            snprintf(line, sizeof line, "FERRY-DISK-ACK %lld\n", acked);
            say(line);
            next_tick = t + TICK_NS;
        }
        /* pace by the schedule, not by the last write: a slow write is caught up afterwards */
        long long due = start + (seq + 1) * per_block_ns;
        if (due > t) {
            struct timespec d = {(due - t) / 1000000000LL, (due - t) % 1000000000LL};
            nanosleep(&d, NULL);
        }
    }
}

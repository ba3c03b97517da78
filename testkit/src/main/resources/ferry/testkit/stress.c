/*
 * stress: the workload of Ferry's "linux-stress" test guest (see LinuxStress.java).
 *
 *   stress MIB RATE
 *
 * Allocates MIB MiB, touches every page, then dirties it at RATE MiB/s (0 = as fast as it can):
 * one 8-byte write per 4 KiB page, cycling through the region, in slices of SLICE_NS. It reports
 * on stdout (the guest console) in lines the host parses:
 *
 *   FERRY-READY <mib> <rate> <touch ms> <rtc|nortc>
 *   FERRY-TICK <seq> <realtime ms> <dirtied MiB total> <slices>   every TICK_NS
 *   FERRY-GAP <ms> <realtime ms> pause|stall
 *   FERRY-ERROR <message>
 *
 * <seq> counts ticks since the start; it lives in guest memory, so it carries on across a
 * migration. <slices> counts the passes of the main loop, one per SLICE_NS when it gets the CPU
 * on time: the guest's work in units that do not depend on RATE. Neither count makes up for lost
 * time beyond one slice: after a late wake-up the loop runs once more at once, and the write
 * credit is capped at two slices; during a pause the guest's clock stops, so nothing is owed.
 * Two kinds of gap:
 *
 *  - stall: two consecutive slices more than GAP_NS apart on CLOCK_MONOTONIC (the guest ran, but
 *    this program did not). <ms> is the interval less the slice period.
 *  - pause: the VM was stopped (e.g. a migration's downtime). The guest's clocks stop with the VM,
 *    so no guest clock shows it; the CMOS RTC does, because QEMU drives it from the host's clock.
 *    We time the RTC's one-second edges against CLOCK_MONOTONIC (to about +-SLICE_NS/2), so
 *    "host time - monotonic" is known; a pause raises it by the pause's length. An offset change
 *    is reported once the next edge confirms it (1-3 s after the resume), and <realtime ms> is when
 *    the guest first saw a reading inconsistent with the old offset: at, or up to ~1 s after, the
 *    resume.
 *
 * As PID 1 (the guest's init), CLOCK_REALTIME is set from the RTC edges at start and after each
 * pause, so <realtime ms> follows the host's clock across pauses (up to the RTC's sub-second
 * phase, which QEMU fixes arbitrarily at start). Run elsewhere, the clock is left alone.
 *
 * Errors are printed as FERRY-ERROR, after which the program sleeps forever (as init, exiting
 * would panic the kernel and lose the message).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/rtc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096L
#define MIB (1024L * 1024L)
#define PAGES_PER_MIB (MIB / PAGE)
#define SLICE_NS 10000000LL     /* pacing and polling period */
#define TICK_NS 100000000LL     /* FERRY-TICK period */
#define GAP_NS 50000000LL       /* a longer interval between slices is a stall */
#define GAP_US 50000LL          /* a larger offset jump is a pause */
#define TOL_US 25000LL          /* RTC edge estimates agreeing within this are the same offset */
#define EDGE_MAX_US 40000LL     /* polls further apart than this do not time an edge */

static void say(const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if (n > (int) sizeof buf - 2) {
        n = sizeof buf - 2;
    }
    buf[n++] = '\n';
    for (int off = 0; off < n;) {
        ssize_t w = write(1, buf + off, n - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        off += w;
    }
}

static void die(const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    say("FERRY-ERROR %s", msg);
    for (;;) {
        pause();
    }
}

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t real_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000LL + ts.tv_nsec / 1000000LL;
}

/* ---- host time from the RTC ---- */

static int rtc_fd = -1;
static int may_set_clock;

static struct {
    int have_prev;
    int64_t prev_s, prev_us;   /* last poll: RTC seconds, monotonic us */
    int have_base;
    int64_t base_us;           /* host us - monotonic us */
    int have_pending;
    int64_t pending_us;        /* an edge estimate off the base, awaiting confirmation */
    int64_t first_bad_us;      /* monotonic us of the first poll inconsistent with base, or -1 */
} sync_state = {.first_bad_us = -1};

static int64_t rtc_seconds(void) {
    struct rtc_time t;
    if (ioctl(rtc_fd, RTC_RD_TIME, &t) < 0) {
        return -1;
    }
    struct tm tm = {
        .tm_sec = t.tm_sec, .tm_min = t.tm_min, .tm_hour = t.tm_hour,
        .tm_mday = t.tm_mday, .tm_mon = t.tm_mon, .tm_year = t.tm_year,
    };
    return (int64_t) timegm(&tm);
}

static int64_t llabs64(int64_t v) {
    return v < 0 ? -v : v;
}

static void set_clock(void) {
    if (!may_set_clock) {
        return;
    }
    int64_t us = mono_ns() / 1000 + sync_state.base_us;
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    clock_settime(CLOCK_REALTIME, &ts);
}

/* An RTC second edge happened at monotonic ~now_us; est_us is the offset it implies. */
static void on_edge(int64_t est_us, int64_t now_us) {
    if (!sync_state.have_base) {
        sync_state.have_base = 1;
        sync_state.base_us = est_us;
        set_clock();
        return;
    }
    int64_t d = est_us - sync_state.base_us;
    if (llabs64(d) <= TOL_US) {
        sync_state.have_pending = 0;
        sync_state.first_bad_us = -1;
        return;
    }
    if (sync_state.have_pending && llabs64(est_us - sync_state.pending_us) <= TOL_US) {
        int64_t seen = sync_state.first_bad_us >= 0 ? sync_state.first_bad_us : now_us;
        sync_state.base_us = est_us;
        sync_state.have_pending = 0;
        sync_state.first_bad_us = -1;
        set_clock();
        if (d > GAP_US) {
            say("FERRY-GAP %lld %lld pause", (long long) (d / 1000), (long long) ((seen + est_us) / 1000));
        }
        return;
    }
    /* First sight of a new offset, or an edge that straddled the pause: wait for the next. */
    sync_state.have_pending = 1;
    sync_state.pending_us = est_us;
}

static void rtc_poll(void) {
    if (rtc_fd < 0) {
        return;
    }
    int64_t s = rtc_seconds();
    int64_t now = mono_ns() / 1000;    /* the read may wait out an RTC update: time its end */
    if (s < 0) {
        return;
    }
    if (sync_state.have_base && sync_state.first_bad_us < 0) {
        int64_t host = now + sync_state.base_us;
        if (host < s * 1000000 - TOL_US || host >= (s + 1) * 1000000 + TOL_US) {
            sync_state.first_bad_us = now;
        }
    }
    if (sync_state.have_prev && s == sync_state.prev_s + 1 && now - sync_state.prev_us <= EDGE_MAX_US) {
        on_edge(s * 1000000 - (now + sync_state.prev_us) / 2, now);
    }
    sync_state.have_prev = 1;
    sync_state.prev_s = s;
    sync_state.prev_us = now;
}

/* Polls the RTC every millisecond until an edge fixes the offset (at most ~2.5 s). */
static void rtc_initial_sync(void) {
    if (rtc_fd < 0) {
        return;
    }
    struct timespec ms = {0, 1000000};
    int64_t deadline = mono_ns() + 2500000000LL;
    while (!sync_state.have_base && mono_ns() < deadline) {
        rtc_poll();
        nanosleep(&ms, NULL);
    }
}

/* ---- the workload ---- */

static volatile uint64_t *region;
static long npages;
static long cursor;
static uint64_t stamp;
static uint64_t dirtied;    /* pages written since the start */
static uint64_t slices;     /* passes of the main loop since the start */

static void dirty(long n) {
    for (long i = 0; i < n; i++) {
        region[cursor * (PAGE / sizeof(uint64_t))] = ++stamp;
        if (++cursor == npages) {
            cursor = 0;
        }
    }
    dirtied += (uint64_t) n;
}

static long parse(const char *what, const char *s, long min, long max) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        die("%s must be an integer in [%ld, %ld]: '%s'", what, min, max, s);
    }
    return v;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        die("usage: stress MIB RATE_MIB_PER_S (0 = unlimited)");
    }
    long mib = parse("MIB", argv[1], 1, 1L << 20);
    long rate = parse("RATE", argv[2], 0, 1L << 20);
    may_set_clock = getpid() == 1;

    int64_t t0 = mono_ns();
    void *mem = mmap(NULL, (size_t) mib * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        die("cannot map %ld MiB: %s", mib, strerror(errno));
    }
    region = mem;
    npages = mib * PAGES_PER_MIB;
    dirty(npages);    /* touch it all: every page becomes non-zero */
    dirtied = 0;
    int64_t touch_ms = (mono_ns() - t0) / 1000000;

    rtc_fd = open("/dev/rtc0", O_RDONLY | O_CLOEXEC);
    rtc_initial_sync();
    say("FERRY-READY %ld %ld %lld %s", mib, rate, (long long) touch_ms, sync_state.have_base ? "rtc" : "nortc");

    double pages_per_ns = (double) rate * PAGES_PER_MIB / 1e9;
    double credit = 0;
    uint64_t seq = 0;
    int64_t now = mono_ns();
    int64_t last = now;
    int64_t next_slice = now + SLICE_NS;
    int64_t next_tick = now;
    for (;;) {
        now = mono_ns();
        int64_t dt = now - last;
        last = now;
        slices++;
        if (dt > GAP_NS) {
            say("FERRY-GAP %lld %lld stall", (long long) ((dt - SLICE_NS) / 1000000), (long long) real_ms());
        }
        if (rate > 0) {
            credit += pages_per_ns * (double) (dt < 2 * SLICE_NS ? dt : 2 * SLICE_NS);
            long n = (long) credit;
            credit -= (double) n;
            dirty(n);
        } else {
            int64_t until = now + SLICE_NS;
            do {
                dirty(PAGES_PER_MIB);
            } while (mono_ns() < until);
        }
        rtc_poll();
        if (now >= next_tick) {
            say("FERRY-TICK %llu %lld %llu.%02llu %llu", (unsigned long long) seq++, (long long) real_ms(),
                    (unsigned long long) (dirtied / PAGES_PER_MIB),
                    (unsigned long long) (dirtied % PAGES_PER_MIB * 100 / PAGES_PER_MIB),
                    (unsigned long long) slices);
            next_tick += TICK_NS;
            if (next_tick <= now) {
                next_tick = now + TICK_NS;
            }
        }
        if (rate > 0) {
            now = mono_ns();
            if (next_slice <= now) {
                next_slice = now;   /* behind: do not try to catch up */
            } else {
                struct timespec ts = {.tv_sec = next_slice / 1000000000LL, .tv_nsec = next_slice % 1000000000LL};
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
                }
            }
            next_slice += SLICE_NS;
        }
    }
}

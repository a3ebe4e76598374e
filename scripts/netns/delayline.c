/*
 * A user-space delay line for scripts/netns-compare.sh, on kernels without
 * sch_netem: it holds every IP packet routed into one of two TUN devices for
 * a fixed one-way delay, then injects it through the other, in both
 * directions. The script routes the router's traffic through it (policy
 * routing by input interface), so Linux TCP and the UDP transport cross the
 * same delay, and the tbf bottleneck stays on the router's egress after it.
 *
 *   delayline DEV_A DEV_B DELAY_US
 *
 * Packets read from DEV_A leave through DEV_B DELAY_US later, and the reverse.
 * Both devices are created here (IFF_TUN, IFF_NO_PI); the script configures
 * them once "ready" is printed. On SIGTERM/SIGINT it prints its counters
 * (packets per direction, packets dropped because a holding ring was full,
 * the largest number held, and how late releases were) and exits.
 *
 * Why C: attaching to a TUN device needs the TUNSETIFF ioctl, which Node
 * cannot issue; the delay line sits on the measured path of both flows, so
 * its per-packet cost and timing jitter should be as small as a loaded
 * 2-core machine allows (no interpreter, no garbage collector). The script
 * compiles it with the system's cc into its temporary directory at each run;
 * nothing is installed and no package ships it.
 *
 * The delay is constant, so each direction is a FIFO: packets leave in the
 * order they came, and a ring of slots per direction suffices.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 16384 /* per direction: 1.6 s of a 100 Mbit/s line at 1500 bytes */
#define SLOT_BYTES 2048

struct ring {
  int in_fd, out_fd;
  const char *name;
  unsigned head, tail; /* head: next to release; tail: next free */
  int64_t due[SLOTS];
  uint16_t len[SLOTS];
  unsigned char (*data)[SLOT_BYTES];
  uint64_t packets, full_drops, write_errors, max_held;
  int64_t late_max_us, late_sum_us;
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int tun_open(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) { perror("delayline: open /dev/net/tun"); exit(1); }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("delayline: TUNSETIFF"); exit(1); }
  return fd;
}

/* Reads every packet waiting on the ring's input, stamping each with its due time. */
static void take(struct ring *r, int64_t delay_us) {
  for (;;) {
    unsigned slot = r->tail % SLOTS;
    unsigned char scratch[SLOT_BYTES];
    int full = r->tail - r->head == SLOTS;
    ssize_t n = read(r->in_fd, full ? scratch : r->data[slot], SLOT_BYTES);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) perror("delayline: read");
      return;
    }
    if (full) { r->full_drops++; continue; }
    r->due[slot] = now_us() + delay_us;
    r->len[slot] = (uint16_t)n;
    r->tail++;
    if (r->tail - r->head > r->max_held) r->max_held = r->tail - r->head;
  }
}

/* Writes every packet that is due; returns µs until the next one, or -1. */
static int64_t release(struct ring *r) {
  int64_t t = now_us();
  while (r->head != r->tail) {
    unsigned slot = r->head % SLOTS;
    if (r->due[slot] > t) return r->due[slot] - t;
    if (write(r->out_fd, r->data[slot], r->len[slot]) < 0) r->write_errors++;
    int64_t late = t - r->due[slot];
    r->late_sum_us += late;
    if (late > r->late_max_us) r->late_max_us = late;
    r->packets++;
    r->head++;
  }
  return -1;
}

static void report(const struct ring *r) {
  fprintf(stderr,
          "delayline %s: %llu packets, %llu dropped (ring full), %llu write errors, at most %llu held, late by %.1f us mean / %lld us max\n",
          r->name, (unsigned long long)r->packets, (unsigned long long)r->full_drops,
          (unsigned long long)r->write_errors, (unsigned long long)r->max_held,
          r->packets ? (double)r->late_sum_us / (double)r->packets : 0.0, (long long)r->late_max_us);
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: delayline DEV_A DEV_B DELAY_US\n"); return 2; }
  char *end;
  long long delay_us = strtoll(argv[3], &end, 10);
  if (*end != '\0' || delay_us < 0 || delay_us > 10000000) {
    fprintf(stderr, "delayline: DELAY_US must be an integer in [0, 10000000], got '%s'\n", argv[3]);
    return 2;
  }
  int fd_a = tun_open(argv[1]), fd_b = tun_open(argv[2]);
  static struct ring fwd, rev;
  fwd = (struct ring){.in_fd = fd_a, .out_fd = fd_b, .name = "a->b"};
  rev = (struct ring){.in_fd = fd_b, .out_fd = fd_a, .name = "b->a"};
  fwd.data = malloc(sizeof *fwd.data * SLOTS);
  rev.data = malloc(sizeof *rev.data * SLOTS);
  if (fwd.data == NULL || rev.data == NULL) { fprintf(stderr, "delayline: out of memory\n"); return 1; }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready\n");
  fflush(stdout);

  struct pollfd fds[2] = {{.fd = fd_a, .events = POLLIN}, {.fd = fd_b, .events = POLLIN}};
  while (!stop) {
    int64_t wait_a = release(&fwd), wait_b = release(&rev);
    int64_t wait = wait_a < 0 ? wait_b : wait_b < 0 ? wait_a : (wait_a < wait_b ? wait_a : wait_b);
    /* ppoll for sub-millisecond timeouts: poll's millisecond granularity would add up to 1 ms. */
    struct timespec ts = {.tv_sec = wait / 1000000, .tv_nsec = (wait % 1000000) * 1000};
    int n = ppoll(fds, 2, wait < 0 ? NULL : &ts, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("delayline: ppoll");
      return 1;
    }
    if (fds[0].revents & POLLIN) take(&fwd, delay_us);
    if (fds[1].revents & POLLIN) take(&rev, delay_us);
  }
  report(&fwd);
  report(&rev);
  return 0;
}

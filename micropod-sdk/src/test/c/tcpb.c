/*
 * TCP figures for NetworkBenchIT, timed inside the guest so that no process start or exec round
 * trip is counted. The clock is the TSC (rdtsc): under TCG the guest's CLOCK_MONOTONIC ticks in
 * jiffies (4 ms steps were seen), while the guest's TSC is the host's. Its rate comes from
 * tsc_early_khz= on the kernel command line (MicroPod passes the host's TSC rate under TCG), else
 * from a 500 ms calibration against CLOCK_MONOTONIC. Built statically by the tests (gcc -static) and added to
 * the test image as /bin/tcpb.
 *
 * Protocol of a connection: the server writes one byte at once, then reads to EOF and answers
 * the byte count as a decimal line.
 *
 *   tcpb serve PORT               serve connections one after the other, forever
 *   tcpb send HOST PORT MIB       connect, send MIB MiB, wait for the count; print "mbps <MB/s>"
 *                                 (10^6 bytes per second, from connect to the count's arrival)
 *   tcpb latency HOST PORT N      N times: connect and read the first byte; print "n <N>
 *                                 median_us <us> p90_us <us> min_us <us> max_us <us>"
 */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double ticks_per_us;

static double mono_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static unsigned long long rdtsc(void) {
    unsigned int lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((unsigned long long)hi << 32) | lo;
}

static void calibrate(void) {
    FILE *f = fopen("/proc/cmdline", "r");
    char line[4096];
    if (f && fgets(line, sizeof line, f)) {
        char *k = strstr(line, "tsc_early_khz=");
        if (k) ticks_per_us = atof(k + 14) / 1000.0;
    }
    if (f) fclose(f);
    if (ticks_per_us <= 0) {
        double m0 = mono_us();
        unsigned long long t0 = rdtsc();
        while (mono_us() - m0 < 500000) { }
        ticks_per_us = (rdtsc() - t0) / (mono_us() - m0);
    }
}

static double now_us(void) {
    return rdtsc() / ticks_per_us;
}

static struct addrinfo *resolve(const char *host, const char *port) {
    struct addrinfo hints = {0}, *ai;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) { fprintf(stderr, "tcpb: %s: %s\n", host, gai_strerror(rc)); exit(2); }
    return ai;
}

static int dial(struct addrinfo *ai) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) { perror("socket"); exit(1); }
    if (connect(s, ai->ai_addr, ai->ai_addrlen) < 0) { perror("connect"); exit(1); }
    return s;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    static char buf[1 << 16];
    calibrate();
    if (argc == 3 && strcmp(argv[1], "serve") == 0) {
        int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons(atoi(argv[2]));
        if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 64) < 0) { perror("bind/listen"); return 1; }
        for (;;) {
            int c = accept(l, NULL, NULL);
            if (c < 0) continue;
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (write(c, "!", 1) != 1) { close(c); continue; }
            long long total = 0;
            ssize_t n;
            while ((n = read(c, buf, sizeof buf)) > 0) total += n;
            int len = snprintf(buf, sizeof buf, "%lld\n", total);
            if (write(c, buf, len) != len) perror("write");
            close(c);
        }
    }
    if (argc == 5 && strcmp(argv[1], "send") == 0) {
        struct addrinfo *ai = resolve(argv[2], argv[3]);
        long long want = atoll(argv[4]) << 20, sent = 0;
        memset(buf, 'x', sizeof buf);
        double t0 = now_us();
        int s = dial(ai);
        if (read(s, buf, 1) != 1) { fprintf(stderr, "tcpb: no greeting\n"); return 1; }
        memset(buf, 'x', sizeof buf);
        while (sent < want) {
            ssize_t n = write(s, buf, want - sent < (long long)sizeof buf ? (size_t)(want - sent) : sizeof buf);
            if (n <= 0) { perror("write"); return 1; }
            sent += n;
        }
        shutdown(s, SHUT_WR);
        ssize_t n = read(s, buf, sizeof buf - 1);
        double t1 = now_us();
        if (n <= 0) { fprintf(stderr, "tcpb: no count\n"); return 1; }
        buf[n] = 0;
        if (atoll(buf) != want) { fprintf(stderr, "tcpb: server counted %s, sent %lld\n", buf, want); return 1; }
        printf("mbps %.1f\n", want / (t1 - t0));
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "latency") == 0) {
        struct addrinfo *ai = resolve(argv[2], argv[3]);
        int n = atoi(argv[4]);
        double *us = calloc(n, sizeof *us);
        for (int i = 0; i < n; i++) {
            double t0 = now_us();
            int s = dial(ai);
            if (read(s, buf, 1) != 1) { fprintf(stderr, "tcpb: no first byte\n"); return 1; }
            us[i] = now_us() - t0;
            close(s);
        }
        qsort(us, n, sizeof *us, cmp);
        printf("n %d median_us %.0f p90_us %.0f min_us %.0f max_us %.0f tsc_mhz %.0f\n", n, us[n / 2], us[n * 9 / 10],
            us[0], us[n - 1], ticks_per_us);
        return 0;
    }
    fprintf(stderr, "usage: tcpb serve PORT | send HOST PORT MIB | latency HOST PORT N\n");
    return 2;
}

/*
 * Drives QEMU's network guard from outside, as slirp would: run with the guard in LD_PRELOAD.
 *   netguard_probe connect ADDR PORT      prints "connected", or "error <errno name> <ms>"
 *   netguard_probe dns SERVER NAME        sends one UDP query for NAME to SERVER:53 from an
 *                                         unconnected socket and prints "sent" or "error <errno
 *                                         name> <ms>"; then, within 2 s, "answer rcode <n> id <id>
 *                                         from <addr>:<port> <ms>" or "no answer"
 * Used by NetguardEgressTest only with destinations the guard refuses, or with the test's own
 * loopback listener: it never sends traffic elsewhere.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int result(int r, long long start) {
    if (r >= 0) return 0;
    printf("error %s %lld\n", strerrorname_np(errno), ms() - start);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    struct sockaddr_in to = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1) return 2;
    long long start = ms();
    if (strcmp(argv[1], "connect") == 0) {
        to.sin_port = htons((unsigned short) atoi(argv[3]));
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (result(connect(fd, (struct sockaddr *) &to, sizeof to), start)) return 0;
        puts("connected");
        return 0;
    }
    if (strcmp(argv[1], "dns") == 0) {
        unsigned char q[300] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
        int n = 12;
        for (char *label = strtok(argv[3], "."); label; label = strtok(NULL, ".")) {
            size_t l = strlen(label);
            if (l > 64 || n + l + 6 > sizeof q) return 2; /* 64: a bad label, on purpose */
            q[n++] = (unsigned char) l;
            memcpy(q + n, label, l);
            n += (int) l;
        }
        q[n++] = 0;
        memcpy(q + n, "\0\1\0\1", 4);
        n += 4;
        to.sin_port = htons(53);
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (result((int) sendto(fd, q, (size_t) n, 0, (struct sockaddr *) &to, sizeof to), start)) return 0;
        puts("sent");
        struct timeval tv = {.tv_sec = 2};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        unsigned char a[600];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(fd, a, sizeof a, 0, (struct sockaddr *) &from, &fl);
        if (r < 12) {
            puts("no answer");
            return 0;
        }
        char text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &from.sin_addr, text, sizeof text);
        printf("answer rcode %d id %02x%02x from %s:%d %lld\n", a[3] & 0x0f, a[0], a[1], text, ntohs(from.sin_port),
               ms() - start);
        return 0;
    }
    return 2;
}

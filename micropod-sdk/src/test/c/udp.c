/*
 * A UDP round trip for the networking tests; busybox 1.35's nc (Debian's static build) has no
 * UDP mode. Built statically by the tests (gcc -static) and added to a test image as /bin/udp.
 *
 *   udp listen PORT              receive one datagram, print it, answer "ack:<it>" to the sender
 *   udp send HOST PORT MESSAGE   send MESSAGE to HOST:PORT (a name or address), print the answer
 *                                (exit 2 when none comes within 5 s)
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char buf[2048];
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) { perror("socket"); return 1; }
    if (argc == 3 && strcmp(argv[1], "listen") == 0) {
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons(atoi(argv[2]));
        if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
        printf("listening\n");
        fflush(stdout);
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) { perror("recvfrom"); return 1; }
        buf[n] = 0;
        printf("%s\n", buf);
        char reply[2100];
        int rl = snprintf(reply, sizeof reply, "ack:%s", buf);
        if (sendto(s, reply, rl, 0, (struct sockaddr *)&from, fl) < 0) { perror("sendto"); return 1; }
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "send") == 0) {
        struct addrinfo hints = {0}, *ai;
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_DGRAM;
        int e = getaddrinfo(argv[2], argv[3], &hints, &ai);
        if (e != 0) { fprintf(stderr, "udp: %s: %s\n", argv[2], gai_strerror(e)); return 1; }
        struct timeval tv = {5, 0};
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (sendto(s, argv[4], strlen(argv[4]), 0, ai->ai_addr, ai->ai_addrlen) < 0) { perror("sendto"); return 1; }
        ssize_t n = recv(s, buf, sizeof buf - 1, 0);
        if (n < 0) { perror("recv"); return 2; }
        buf[n] = 0;
        printf("%s\n", buf);
        return 0;
    }
    fprintf(stderr, "usage: udp listen PORT | udp send HOST PORT MESSAGE\n");
    return 64;
}

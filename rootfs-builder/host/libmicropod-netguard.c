/*
 * libmicropod-netguard: LD_PRELOAD'ed into QEMU for pods with the NAT network (docs/networking.md).
 *
 * QEMU's user-mode networking (libslirp, linked dynamically) turns the guest's connections into
 * ordinary connect()/sendto() calls of the QEMU process, and slirp maps 10.0.2.2 to the host's
 * loopback. Without this guard an untrusted guest reaches every 127.0.0.1 service of the host,
 * link-local addresses (169.254.169.254: cloud metadata) and the host's own interface addresses.
 *
 * For AF_INET/AF_INET6 destinations only (AF_UNIX passes: QEMU's chardevs and the pod-network
 * switch socket use it) this denies loopback, 0.0.0.0/8, link-local, multicast, broadcast, every
 * address of the host's interfaces, ::, ::1, fe80::/10 and the IPv4-mapped forms, except
 * 127.0.0.1:<port> for the ports in MICROPOD_NETGUARD_HOST_PORTS (comma list) and the resolvers of
 * /etc/resolv.conf on port 53 (slirp forwards the guest's DNS to them). connect() fails with
 * ECONNREFUSED, so slirp answers the guest's SYN with RST at once; sends fail with EPERM.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#define MAX_PORTS 256
#define MAX_ADDRS 256

struct addr {
    int family;
    unsigned char bytes[16];
};

static unsigned short allowed_ports[MAX_PORTS];
static int n_ports;
static struct addr host_addrs[MAX_ADDRS];
static int n_host_addrs;
static struct addr resolvers[16];
static int n_resolvers;

static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static int (*real_sendmmsg)(int, struct mmsghdr *, unsigned int, int);

static void add_addr(struct addr *list, int *n, int max, int family, const void *bytes) {
    if (*n >= max) return;
    list[*n].family = family;
    memset(list[*n].bytes, 0, 16);
    memcpy(list[*n].bytes, bytes, family == AF_INET ? 4 : 16);
    (*n)++;
}

static void read_resolvers(void) {
    FILE *f = fopen("/etc/resolv.conf", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char word[64], value[128];
        if (sscanf(line, "%63s %127s", word, value) != 2 || strcmp(word, "nameserver") != 0) continue;
        char *pct = strchr(value, '%');
        if (pct) *pct = 0;
        struct in_addr a4;
        struct in6_addr a6;
        if (inet_pton(AF_INET, value, &a4) == 1) add_addr(resolvers, &n_resolvers, 16, AF_INET, &a4);
        else if (inet_pton(AF_INET6, value, &a6) == 1) add_addr(resolvers, &n_resolvers, 16, AF_INET6, &a6);
    }
    fclose(f);
}

__attribute__((constructor)) static void netguard_init(void) {
    real_connect = dlsym(RTLD_NEXT, "connect");
    real_sendto = dlsym(RTLD_NEXT, "sendto");
    real_sendmsg = dlsym(RTLD_NEXT, "sendmsg");
    real_sendmmsg = dlsym(RTLD_NEXT, "sendmmsg");
    const char *ports = getenv("MICROPOD_NETGUARD_HOST_PORTS");
    if (ports) {
        char *copy = strdup(ports), *save = NULL;
        for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
            long p = strtol(t, NULL, 10);
            if (p >= 1 && p <= 65535 && n_ports < MAX_PORTS) allowed_ports[n_ports++] = (unsigned short) p;
        }
        free(copy);
    }
    /* Nothing QEMU spawns inherits the guard's configuration or the preload itself. Only in QEMU:
     * the SDK starts it through launchers (setpriv, setsid) that exec it, and there the
     * environment must survive to reach QEMU. */
    if (strncmp(program_invocation_short_name, "qemu", 4) == 0) {
        unsetenv("MICROPOD_NETGUARD_HOST_PORTS");
        unsetenv("LD_PRELOAD");
    }
    read_resolvers();
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
            if (!i->ifa_addr) continue;
            if (i->ifa_addr->sa_family == AF_INET)
                add_addr(host_addrs, &n_host_addrs, MAX_ADDRS, AF_INET,
                         &((struct sockaddr_in *) i->ifa_addr)->sin_addr);
            else if (i->ifa_addr->sa_family == AF_INET6)
                add_addr(host_addrs, &n_host_addrs, MAX_ADDRS, AF_INET6,
                         &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr);
        }
        freeifaddrs(ifs);
    }
}

static int in_list(const struct addr *list, int n, int family, const unsigned char *bytes) {
    for (int i = 0; i < n; i++)
        if (list[i].family == family && memcmp(list[i].bytes, bytes, family == AF_INET ? 4 : 16) == 0) return 1;
    return 0;
}

/* 1 if an IPv4 destination (network byte order) is denied. */
static int denied4(const unsigned char *a, unsigned short port) {
    int loopback = a[0] == 127;
    if (loopback && a[1] == 0 && a[2] == 0 && a[3] == 1)
        for (int i = 0; i < n_ports; i++)
            if (allowed_ports[i] == port) return 0;
    if (port == 53 && in_list(resolvers, n_resolvers, AF_INET, a)) return 0;
    if (loopback || a[0] == 0) return 1;
    if (a[0] == 169 && a[1] == 254) return 1;
    if (a[0] >= 224 && a[0] <= 239) return 1;
    if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255) return 1;
    return in_list(host_addrs, n_host_addrs, AF_INET, a);
}

static int denied6(const unsigned char *a, unsigned short port) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char zero[16];
    if (memcmp(a, mapped, 12) == 0) return denied4(a + 12, port);
    if (port == 53 && in_list(resolvers, n_resolvers, AF_INET6, a)) return 0;
    if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1)) return 1; /* :: and ::1 */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return 1;                 /* fe80::/10 */
    if (a[0] == 0xff) return 1;                                           /* multicast */
    return in_list(host_addrs, n_host_addrs, AF_INET6, a);
}

static int denied(const struct sockaddr *sa, socklen_t len) {
    if (!sa) return 0;
    if (sa->sa_family == AF_INET && len >= (socklen_t) sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s = (const struct sockaddr_in *) sa;
        return denied4((const unsigned char *) &s->sin_addr, ntohs(s->sin_port));
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t) sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *) sa;
        return denied6(s->sin6_addr.s6_addr, ntohs(s->sin6_port));
    }
    /* An inet family with a short address: the kernel rejects it anyway; deny to be safe. */
    return sa->sa_family == AF_INET || sa->sa_family == AF_INET6;
}

int connect(int fd, const struct sockaddr *sa, socklen_t len) {
    if (denied(sa, len)) {
        errno = ECONNREFUSED;
        return -1;
    }
    return real_connect(fd, sa, len);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len) {
    if (denied(sa, len)) {
        errno = EPERM;
        return -1;
    }
    return real_sendto(fd, buf, n, flags, sa, len);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
    if (msg && denied(msg->msg_name, msg->msg_namelen)) {
        errno = EPERM;
        return -1;
    }
    return real_sendmsg(fd, msg, flags);
}

int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags) {
    for (unsigned int i = 0; i < n; i++)
        if (denied(v[i].msg_hdr.msg_name, v[i].msg_hdr.msg_namelen)) {
            errno = EPERM;
            return -1;
        }
    return real_sendmmsg(fd, v, n, flags);
}

/*
 * libmicropod-netguard: LD_PRELOAD'ed into QEMU for pods with the NAT network (docs/networking.md).
 *
 * QEMU's user-mode networking (libslirp, linked dynamically) turns the guest's connections into
 * ordinary connect()/sendto() calls of the QEMU process, and slirp maps 10.0.2.2 to the host's
 * loopback. Without this guard an untrusted guest reaches every 127.0.0.1 service of the host,
 * link-local addresses (169.254.169.254: cloud metadata) and the host's own interface addresses.
 *
 * Host protection. For AF_INET/AF_INET6 destinations only (AF_UNIX passes: QEMU's chardevs and
 * the pod-network switch socket use it) this denies loopback, 0.0.0.0/8, link-local, multicast,
 * broadcast, every address of the host's interfaces, ::, ::1, fe80::/10 and the IPv4-mapped
 * forms, except 127.0.0.1:<port> for the ports in MICROPOD_NETGUARD_HOST_PORTS (comma list) and
 * the resolvers of /etc/resolv.conf on port 53 (slirp forwards the guest's DNS to them). These
 * rules come first and always win.
 *
 * Egress rules (docs/networking.md#egress-rules). MICROPOD_NETGUARD_DIR names the pod's socket
 * directory: the SDK writes the pod's rules to <dir>/egress.rules (replaced atomically by a
 * rename when they change on a running pod; re-read here at most every RELOAD_MS), and this guard
 * appends what it denies to <dir>/egress.events, which the SDK reads. Rules: CIDRs (the most
 * specific matching one decides, deny on a tie, else the default) and DNS names with wildcards
 * (UDP queries to port 53 are parsed: a denied name is not sent; A/AAAA answers for an allowed
 * name make their addresses allowed, as long as the name stays allowed).
 *
 * connect() fails with ECONNREFUSED, so slirp answers the guest's SYN with RST at once; sends fail
 * with EPERM (slirp answers with an ICMP unreachable); a UDP query for a denied name gets an
 * NXDOMAIN answer from the guard itself (see answer_nxdomain). Everything the guest sends here is hostile:
 * DNS messages are parsed with bounds on every read, on compression hops and on counts; the
 * events file is rate-limited and capped in size.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 256
#define MAX_ADDRS 256
#define MAX_CIDRS 1024
#define MAX_NAMES 256
#define MAX_LEARNED 2048
#define NAME_MAX_LEN 255
#define RELOAD_MS 100
#define EVENTS_MAX_BYTES (4L << 20)   /* then the file starts again from empty */
#define EVENTS_PER_SECOND 20          /* lines; the rest are counted in a "suppressed" line */
#define EVENTS_BURST 50
#define DNS_MAX_HOPS 16
#define DNS_MAX_ANSWERS 64

struct addr {
    int family;
    unsigned char bytes[16];
};

struct cidr {
    int family;
    unsigned char net[16];
    int prefix;
    int allow;
};

struct name_rule {
    char name[NAME_MAX_LEN + 1]; /* lower case, no trailing dot; for a wildcard the part after "*." */
    int wildcard;
    int allow;
};

struct policy {
    int present;      /* a rules file was read: otherwise everything the host rules let through passes */
    int default_allow;
    int n_cidrs;
    struct cidr cidrs[MAX_CIDRS];
    int n_names;
    struct name_rule names[MAX_NAMES];
};

struct learned {
    struct addr a;
    char name[NAME_MAX_LEN + 1];
};

static unsigned short allowed_ports[MAX_PORTS];
static int n_ports;
static struct addr host_addrs[MAX_ADDRS];
static int n_host_addrs;
static struct addr resolvers[16];
static int n_resolvers;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char rules_path[4096];
static char events_path[4096];
static struct policy policy, parsing;
static struct stat rules_seen;
static int rules_seen_valid;
static long long last_check_ms = -1000000;
static struct learned learned[MAX_LEARNED];
static int n_learned, next_learned;
static int events_fd = -1;
static double tokens = EVENTS_BURST;
static long long tokens_ms;
static long long suppressed;

static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static int (*real_sendmmsg)(int, struct mmsghdr *, unsigned int, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);

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

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

__attribute__((constructor)) static void netguard_init(void) {
    real_connect = dlsym(RTLD_NEXT, "connect");
    real_sendto = dlsym(RTLD_NEXT, "sendto");
    real_sendmsg = dlsym(RTLD_NEXT, "sendmsg");
    real_sendmmsg = dlsym(RTLD_NEXT, "sendmmsg");
    real_recvfrom = dlsym(RTLD_NEXT, "recvfrom");
    const char *ports = getenv("MICROPOD_NETGUARD_HOST_PORTS");
    if (ports) {
        char *copy = strdup(ports), *save = NULL;
        for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
            long p = strtol(t, NULL, 10);
            if (p >= 1 && p <= 65535 && n_ports < MAX_PORTS) allowed_ports[n_ports++] = (unsigned short) p;
        }
        free(copy);
    }
    const char *dir = getenv("MICROPOD_NETGUARD_DIR");
    if (dir && *dir && strlen(dir) < sizeof rules_path - 32) {
        snprintf(rules_path, sizeof rules_path, "%s/egress.rules", dir);
        snprintf(events_path, sizeof events_path, "%s/egress.events", dir);
    }
    /* Nothing QEMU spawns inherits the guard's configuration or the preload itself. Only in QEMU:
     * the SDK starts it through launchers (setpriv, setsid) that exec it, and there the
     * environment must survive to reach QEMU. */
    if (strncmp(program_invocation_short_name, "qemu", 4) == 0) {
        unsetenv("MICROPOD_NETGUARD_HOST_PORTS");
        unsetenv("MICROPOD_NETGUARD_DIR");
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

/* ---- host protection ------------------------------------------------------------------------ */

enum { HOST_NONE, HOST_ALLOW, HOST_DENY };

/* An IPv4 destination (network byte order): an exception (exposed port, resolver), denied, or neither. */
static int host4(const unsigned char *a, unsigned short port) {
    int loopback = a[0] == 127;
    if (loopback && a[1] == 0 && a[2] == 0 && a[3] == 1)
        for (int i = 0; i < n_ports; i++)
            if (allowed_ports[i] == port) return HOST_ALLOW;
    if (port == 53 && in_list(resolvers, n_resolvers, AF_INET, a)) return HOST_ALLOW;
    if (loopback || a[0] == 0) return HOST_DENY;
    if (a[0] == 169 && a[1] == 254) return HOST_DENY;
    if (a[0] >= 224 && a[0] <= 239) return HOST_DENY;
    if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255) return HOST_DENY;
    return in_list(host_addrs, n_host_addrs, AF_INET, a) ? HOST_DENY : HOST_NONE;
}

static int host6(const unsigned char *a, unsigned short port) {
    static const unsigned char zero[16];
    if (port == 53 && in_list(resolvers, n_resolvers, AF_INET6, a)) return HOST_ALLOW;
    if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1)) return HOST_DENY; /* :: and ::1 */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return HOST_DENY;                 /* fe80::/10 */
    if (a[0] == 0xff) return HOST_DENY;                                           /* multicast */
    return in_list(host_addrs, n_host_addrs, AF_INET6, a) ? HOST_DENY : HOST_NONE;
}

/* ---- rules ---------------------------------------------------------------------------------- */

/* Lower-cases a DNS name into out without a trailing dot; 0 if it is not a plausible name. */
static int normalize_name(const char *in, char *out) {
    size_t n = strlen(in);
    if (n > 0 && in[n - 1] == '.') n--;
    if (n == 0 || n > NAME_MAX_LEN) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c >= 'A' && c <= 'Z') c = (char) (c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) return 0;
        out[i] = c;
    }
    out[n] = 0;
    return 1;
}

/* "192.0.2.0/24", "2001:db8::/32", "192.0.2.7" (a host): 1 if parsed into c. */
static int parse_cidr(const char *text, struct cidr *c) {
    char buf[128];
    if (strlen(text) >= sizeof buf) return 0;
    strcpy(buf, text);
    char *slash = strchr(buf, '/');
    long prefix = -1;
    if (slash) {
        char *end;
        *slash = 0;
        errno = 0;
        prefix = strtol(slash + 1, &end, 10);
        if (errno || end == slash + 1 || *end) return 0;
    }
    memset(c, 0, sizeof *c);
    if (inet_pton(AF_INET, buf, c->net) == 1) {
        c->family = AF_INET;
        if (prefix < 0) prefix = 32;
        if (prefix > 32) return 0;
    } else if (inet_pton(AF_INET6, buf, c->net) == 1) {
        c->family = AF_INET6;
        if (prefix < 0) prefix = 128;
        if (prefix > 128) return 0;
    } else {
        return 0;
    }
    c->prefix = (int) prefix;
    return 1;
}

/*
 * The rules file: one rule a line, "default allow|deny", "allow|deny cidr <CIDR>",
 * "allow|deny name <NAME or *.SUFFIX>"; '#' starts a comment. A line that does not parse makes the
 * whole file a deny-all: the SDK writes this file, so a bad line is a bug, and failing closed is
 * the safe reading.
 */
static void parse_rules(const char *text, size_t len, struct policy *p) {
    memset(p, 0, sizeof *p);
    p->present = 1;
    p->default_allow = 1;
    int bad = 0;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && text[i] != '\n') i++;
        char line[512];
        size_t n = i - start;
        i++;
        if (n >= sizeof line) { bad = 1; continue; }
        memcpy(line, text + start, n);
        line[n] = 0;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char a[16], b[16], c[300], extra[8];
        int k = sscanf(line, "%15s %15s %299s %7s", a, b, c, extra);
        if (k <= 0) continue;
        if (k == 2 && strcmp(a, "default") == 0 && (strcmp(b, "allow") == 0 || strcmp(b, "deny") == 0)) {
            p->default_allow = strcmp(b, "allow") == 0;
            continue;
        }
        int allow = strcmp(a, "allow") == 0;
        if (k != 3 || (!allow && strcmp(a, "deny") != 0)) { bad = 1; continue; }
        if (strcmp(b, "cidr") == 0) {
            if (p->n_cidrs >= MAX_CIDRS || !parse_cidr(c, &p->cidrs[p->n_cidrs])) { bad = 1; continue; }
            p->cidrs[p->n_cidrs++].allow = allow;
        } else if (strcmp(b, "name") == 0) {
            struct name_rule *r = &p->names[p->n_names];
            int wildcard = strncmp(c, "*.", 2) == 0;
            if (p->n_names >= MAX_NAMES || !normalize_name(wildcard ? c + 2 : c, r->name)) { bad = 1; continue; }
            r->wildcard = wildcard;
            r->allow = allow;
            p->n_names++;
        } else {
            bad = 1;
        }
    }
    if (bad) {
        memset(p, 0, sizeof *p);
        p->present = 1;
        p->default_allow = 0;
    }
}

/* Re-reads the rules file when it changed (new inode, size or time), at most every RELOAD_MS. */
static void maybe_reload(void) {
    if (!rules_path[0]) return;
    long long now = now_ms();
    if (now - last_check_ms < RELOAD_MS) return;
    last_check_ms = now;
    struct stat st;
    if (stat(rules_path, &st) != 0) {
        if (rules_seen_valid) {
            memset(&policy, 0, sizeof policy);
            rules_seen_valid = 0;
        }
        return;
    }
    if (rules_seen_valid && st.st_ino == rules_seen.st_ino && st.st_size == rules_seen.st_size
        && st.st_mtim.tv_sec == rules_seen.st_mtim.tv_sec && st.st_mtim.tv_nsec == rules_seen.st_mtim.tv_nsec)
        return;
    int fd = open(rules_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    static char text[256 * 1024];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof text && (r = read(fd, text + len, sizeof text - len)) > 0) len += (size_t) r;
    struct stat after;
    int ok = fstat(fd, &after) == 0 && (size_t) after.st_size == len;
    close(fd);
    if (!ok) { /* larger than the buffer, or changing under us: fail closed, retry next time */
        memset(&policy, 0, sizeof policy);
        policy.present = 1;
        rules_seen_valid = 0;
        return;
    }
    parse_rules(text, len, &parsing);
    memcpy(&policy, &parsing, sizeof policy);
    rules_seen = after;
    rules_seen_valid = 1;
}

/* 1 if the name may be resolved: an exact rule, else the longest matching wildcard, deny on a tie; else the default. */
static int name_allowed(const struct policy *p, const char *name) {
    int best = -1, allow = p->default_allow;
    size_t n = strlen(name);
    for (int i = 0; i < p->n_names; i++) {
        const struct name_rule *r = &p->names[i];
        size_t m = strlen(r->name);
        int score;
        if (!r->wildcard) {
            if (strcmp(r->name, name) != 0) continue;
            score = NAME_MAX_LEN + 1; /* an exact rule beats every wildcard */
        } else {
            /* "*.example.org" matches "a.example.org" and "a.b.example.org", not "example.org" */
            if (n <= m + 1 || name[n - m - 1] != '.' || strcmp(name + n - m, r->name) != 0) continue;
            score = (int) m;
        }
        if (score > best || (score == best && !r->allow)) {
            best = score;
            allow = r->allow;
        }
    }
    return allow;
}

static int prefix_match(const unsigned char *a, const unsigned char *net, int prefix) {
    int whole = prefix / 8, bits = prefix % 8;
    if (memcmp(a, net, (size_t) whole) != 0) return 0;
    if (bits == 0) return 1;
    unsigned char mask = (unsigned char) (0xff << (8 - bits));
    return (a[whole] & mask) == (net[whole] & mask);
}

/* 1 if the egress rules let this address through (IPv4-mapped IPv6 addresses are matched as IPv4). */
static int address_allowed(const struct policy *p, int family, const unsigned char *a) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!p->present) return 1;
    if (family == AF_INET6 && memcmp(a, mapped, 12) == 0) {
        family = AF_INET;
        a += 12;
    }
    int best = -1, allow = p->default_allow;
    for (int i = 0; i < p->n_cidrs; i++) {
        const struct cidr *c = &p->cidrs[i];
        if (c->family != family || !prefix_match(a, c->net, c->prefix)) continue;
        if (c->prefix > best || (c->prefix == best && !c->allow)) {
            best = c->prefix;
            allow = c->allow;
        }
    }
    int host = family == AF_INET ? 32 : 128;
    if (best < host) { /* an answer for an allowed name counts as an allow rule for one host */
        for (int i = 0; i < n_learned; i++) {
            const struct learned *l = &learned[i];
            if (l->a.family == family && memcmp(l->a.bytes, a, family == AF_INET ? 4 : 16) == 0
                && name_allowed(p, l->name)) {
                if (best < host) { best = host; allow = 1; }
                break;
            }
        }
    }
    return allow;
}

static void learn(int family, const unsigned char *a, const char *name) {
    for (int i = 0; i < n_learned; i++)
        if (learned[i].a.family == family && memcmp(learned[i].a.bytes, a, family == AF_INET ? 4 : 16) == 0
            && strcmp(learned[i].name, name) == 0) return;
    struct learned *l = &learned[next_learned];
    next_learned = (next_learned + 1) % MAX_LEARNED; /* the oldest goes first when full */
    if (n_learned < MAX_LEARNED) n_learned++;
    l->a.family = family;
    memset(l->a.bytes, 0, 16);
    memcpy(l->a.bytes, a, family == AF_INET ? 4 : 16);
    strcpy(l->name, name);
}

/* ---- DNS ------------------------------------------------------------------------------------ */

/*
 * Reads the name at off of the message m (len bytes) into out (dotted, lower case, no trailing
 * dot; "." for the root), following compression pointers only backwards and at most DNS_MAX_HOPS
 * times. Returns the offset just after the name where it started, or -1 for anything malformed
 * (truncated, a label over 63 bytes, a name over 255, a forward or looping pointer, a reserved
 * label type). out must hold NAME_MAX_LEN + 1 bytes.
 */
static int dns_name(const unsigned char *m, int len, int off, char *out) {
    int end = -1, hops = 0, n = 0, pos = off, lowest = off;
    for (;;) {
        if (pos < 0 || pos >= len) return -1;
        int l = m[pos];
        if ((l & 0xc0) == 0xc0) {
            if (pos + 1 >= len || ++hops > DNS_MAX_HOPS) return -1;
            int target = ((l & 0x3f) << 8) | m[pos + 1];
            if (end < 0) end = pos + 2;
            if (target >= lowest) return -1; /* only backwards, strictly before everything read so far */
            lowest = target;
            pos = target;
            continue;
        }
        if (l & 0xc0) return -1;
        if (l == 0) {
            if (end < 0) end = pos + 1;
            break;
        }
        if (pos + 1 + l > len) return -1;
        if (n + (n ? 1 : 0) + l > NAME_MAX_LEN) return -1;
        if (n) out[n++] = '.';
        for (int i = 0; i < l; i++) {
            unsigned char c = m[pos + 1 + i];
            if (c >= 'A' && c <= 'Z') c = (unsigned char) (c - 'A' + 'a');
            /* a byte that cannot be in a host name (or '.'): the name can match no rule as written */
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return -1;
            out[n++] = (char) c;
        }
        pos += 1 + l;
        if (pos < lowest) lowest = pos;
    }
    if (n == 0) out[n++] = '.';
    out[n] = 0;
    return end;
}

/* The name of a standard query with exactly one question into out; returns the offset just after
 * the question (after QTYPE and QCLASS), or -1. */
static int dns_query_name(const unsigned char *m, int len, char *out) {
    if (len < 12) return -1;
    if (m[2] & 0x80) return -1;                 /* a response, not a query */
    if (((m[4] << 8) | m[5]) != 1) return -1;   /* QDCOUNT */
    int end = dns_name(m, len, 12, out);
    if (end < 0 || end + 4 > len) return -1;
    return end + 4;
}

/* The NXDOMAIN answer to the query q whose question ends at qend, into out; its length, or -1. */
static int dns_nxdomain(const unsigned char *q, int qend, unsigned char *out, int outlen) {
    if (qend < 12 + 5 || qend > outlen) return -1;
    memcpy(out, q, (size_t) qend);
    out[2] = (unsigned char) ((q[2] & 0x79) | 0x80); /* a response; the query's opcode and RD kept */
    out[3] = 0x80 | 3;                               /* RA, RCODE 3: no such name */
    memset(out + 6, 0, 6);                           /* no answer, authority or additional records */
    return qend;
}

/* Learns the A/AAAA addresses of a response to a one-question query for an allowed name. Returns how many. */
static int dns_learn_answers(const struct policy *p, const unsigned char *m, int len) {
    char name[NAME_MAX_LEN + 1], owner[NAME_MAX_LEN + 1];
    if (len < 12 || !(m[2] & 0x80)) return 0;
    if (((m[4] << 8) | m[5]) != 1) return 0;
    int answers = (m[6] << 8) | m[7];
    int off = dns_name(m, len, 12, name);
    if (off < 0 || off + 4 > len) return 0;
    if (!name_allowed(p, name)) return 0;
    off += 4;
    int got = 0;
    for (int i = 0; i < answers && i < DNS_MAX_ANSWERS; i++) {
        off = dns_name(m, len, off, owner);
        if (off < 0 || off + 10 > len) break;
        int type = (m[off] << 8) | m[off + 1], klass = (m[off + 2] << 8) | m[off + 3];
        int rdlen = (m[off + 8] << 8) | m[off + 9];
        off += 10;
        if (off + rdlen > len) break;
        if (klass == 1 && type == 1 && rdlen == 4) { learn(AF_INET, m + off, name); got++; }
        if (klass == 1 && type == 28 && rdlen == 16) { learn(AF_INET6, m + off, name); got++; }
        off += rdlen;
    }
    return got;
}

/* ---- answers for denied names --------------------------------------------------------------- */

/*
 * A query for a denied name is answered here with NXDOMAIN, so the guest's resolver fails at once
 * whatever kind of socket it uses (an ICMP error reaches only connected ones: musl's resolver
 * would wait out its time-outs). slirp reads a UDP flow's answers with recvfrom when poll says the
 * socket is readable: the guard sends one byte to the socket itself (its own bound address, or
 * loopback), queues the answer, and hands it out instead of that byte, from the address the query
 * went to. Bounded: MAX_PENDING answers at once, each dropped after PENDING_MS.
 */
#define MAX_PENDING 32
#define PENDING_MS 10000

struct pending {
    int used, fd, len;
    long long at_ms;
    struct sockaddr_storage from;
    socklen_t from_len;
    unsigned short own_port; /* network byte order */
    unsigned char msg[512];
};

static struct pending pending[MAX_PENDING];
static int n_pending;

/* The socket's own address to send a wake-up to (binding it first if it is not yet); 0 if done. */
static int own_address(int fd, struct sockaddr_storage *to, socklen_t *to_len, unsigned short *port) {
    socklen_t l = sizeof *to;
    if (getsockname(fd, (struct sockaddr *) to, &l) != 0) return -1;
    if (to->ss_family == AF_INET && ((struct sockaddr_in *) to)->sin_port == 0) {
        struct sockaddr_in any = {.sin_family = AF_INET};
        if (bind(fd, (struct sockaddr *) &any, sizeof any) != 0) return -1;
    } else if (to->ss_family == AF_INET6 && ((struct sockaddr_in6 *) to)->sin6_port == 0) {
        struct sockaddr_in6 any = {.sin6_family = AF_INET6};
        if (bind(fd, (struct sockaddr *) &any, sizeof any) != 0) return -1;
    } else if (to->ss_family != AF_INET && to->ss_family != AF_INET6) {
        return -1;
    }
    l = sizeof *to;
    if (getsockname(fd, (struct sockaddr *) to, &l) != 0) return -1;
    if (to->ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *) to;
        if (a->sin_addr.s_addr == htonl(INADDR_ANY)) a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *port = a->sin_port;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *) to;
        if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr)) a->sin6_addr = in6addr_loopback;
        *port = a->sin6_port;
    }
    *to_len = l;
    return 0;
}

/* Queues the NXDOMAIN answer to query q (question ending at qend) sent to sa on fd; 0 if queued and woken. */
static int answer_nxdomain(int fd, const unsigned char *q, int qend, const struct sockaddr *sa, socklen_t sa_len) {
    long long now = now_ms();
    struct pending *slot = NULL;
    for (int i = 0; i < MAX_PENDING; i++) {
        if (pending[i].used && now - pending[i].at_ms > PENDING_MS) {
            pending[i].used = 0; /* never picked up: the flow was closed */
            n_pending--;
        }
        if (!pending[i].used && !slot) slot = &pending[i];
    }
    if (!slot || sa_len > (socklen_t) sizeof slot->from) return -1;
    int n = dns_nxdomain(q, qend, slot->msg, (int) sizeof slot->msg);
    if (n < 0) return -1;
    struct sockaddr_storage self;
    socklen_t self_len;
    if (own_address(fd, &self, &self_len, &slot->own_port) != 0) return -1;
    if (real_sendto(fd, "", 1, MSG_DONTWAIT, (struct sockaddr *) &self, self_len) != 1) return -1;
    slot->used = 1;
    slot->fd = fd;
    slot->len = n;
    slot->at_ms = now;
    memcpy(&slot->from, sa, sa_len);
    slot->from_len = sa_len;
    n_pending++;
    return 0;
}

/* If the datagram just read (r bytes, from sa) is a wake-up for a queued answer on fd: that answer
 * into buf instead, and its length; else r. */
static ssize_t take_answer(int fd, void *buf, size_t n, ssize_t r, struct sockaddr *sa, socklen_t *len) {
    if (r != 1 || !sa || !len) return r;
    unsigned short from_port;
    if (sa->sa_family == AF_INET && *len >= (socklen_t) sizeof(struct sockaddr_in))
        from_port = ((struct sockaddr_in *) sa)->sin_port;
    else if (sa->sa_family == AF_INET6 && *len >= (socklen_t) sizeof(struct sockaddr_in6))
        from_port = ((struct sockaddr_in6 *) sa)->sin6_port;
    else
        return r;
    struct pending *oldest = NULL;
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i].used && pending[i].fd == fd && pending[i].own_port == from_port
            && (!oldest || pending[i].at_ms < oldest->at_ms))
            oldest = &pending[i];
    if (!oldest) return r;
    size_t m = (size_t) oldest->len < n ? (size_t) oldest->len : n;
    memcpy(buf, oldest->msg, m);
    socklen_t l = oldest->from_len < *len ? oldest->from_len : *len;
    memcpy(sa, &oldest->from, l);
    *len = oldest->from_len;
    oldest->used = 0;
    n_pending--;
    return (ssize_t) m;
}

/* ---- events --------------------------------------------------------------------------------- */

/* Appends "<unix ms> deny <proto> <destination> <port> <host|rule>" to the events file, rate-limited. */
static void report(const char *proto, const char *destination, unsigned short port, const char *why) {
    if (!events_path[0]) return;
    long long now = now_ms();
    tokens += (double) (now - tokens_ms) * EVENTS_PER_SECOND / 1000.0;
    tokens_ms = now;
    if (tokens > EVENTS_BURST) tokens = EVENTS_BURST;
    if (tokens < 1) {
        suppressed++;
        return;
    }
    tokens -= 1;
    if (events_fd < 0) {
        events_fd = open(events_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (events_fd < 0) return;
    }
    struct stat st;
    if (fstat(events_fd, &st) == 0 && st.st_size > EVENTS_MAX_BYTES) {
        if (ftruncate(events_fd, 0) != 0) return;
    }
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    long long wall = (long long) t.tv_sec * 1000 + t.tv_nsec / 1000000;
    char line[512];
    int n = 0;
    if (suppressed) {
        n = snprintf(line, sizeof line, "%lld suppressed %lld\n", wall, suppressed);
        suppressed = 0;
    }
    n += snprintf(line + n, sizeof line - (size_t) n, "%lld deny %s %s %u %s\n", wall, proto, destination, port, why);
    if (n > 0 && write(events_fd, line, (size_t) n) < 0) { /* nothing to do: the denial itself stands */ }
}

static void report_addr(const char *proto, int family, const unsigned char *a, unsigned short port, const char *why) {
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(family, a, text, sizeof text)) strcpy(text, "?");
    report(proto, text, port, why);
}

/* ---- the hooks ------------------------------------------------------------------------------ */

/* check()'s answer when the send must not happen but looks done: a query answered here. */
#define ANSWERED (-1)

/*
 * 0 if the destination may be reached; else the errno to fail with, after reporting it, or
 * ANSWERED (a query for a denied name, answered with NXDOMAIN when can_answer). proto is "tcp" or
 * "udp" for the report; payload (may be NULL) is what a UDP send to port 53 carries.
 */
static int check(int fd, const struct sockaddr *sa, socklen_t len, const char *proto, int refuse,
                 const void *payload, size_t payload_len, int can_answer) {
    if (!sa) return 0;
    int family = sa->sa_family;
    if (family != AF_INET && family != AF_INET6) return 0;
    const unsigned char *a;
    unsigned short port;
    if (family == AF_INET && len >= (socklen_t) sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s = (const struct sockaddr_in *) sa;
        a = (const unsigned char *) &s->sin_addr;
        port = ntohs(s->sin_port);
    } else if (family == AF_INET6 && len >= (socklen_t) sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *) sa;
        a = s->sin6_addr.s6_addr;
        port = ntohs(s->sin6_port);
    } else {
        /* An inet family with a short address: the kernel rejects it anyway; deny to be safe. */
        return refuse;
    }
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    int host = family == AF_INET ? host4(a, port)
             : memcmp(a, mapped, 12) == 0 ? host4(a + 12, port) : host6(a, port);
    int verdict = 0;
    pthread_mutex_lock(&lock);
    if (host == HOST_DENY) {
        report_addr(proto, family, a, port, "host");
        verdict = refuse;
    } else {
        maybe_reload();
        if (host == HOST_NONE && !address_allowed(&policy, family, a)) {
            report_addr(proto, family, a, port, "rule");
            verdict = refuse;
        } else if (port == 53 && payload && policy.present && (policy.n_names || !policy.default_allow)) {
            /* a DNS query over UDP, to the host's resolvers or to a server the rules allow */
            int type = 0;
            socklen_t tl = sizeof type;
            if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_DGRAM) {
                char name[NAME_MAX_LEN + 1];
                int qend = payload_len > 65535 ? -1 : dns_query_name(payload, (int) payload_len, name);
                if (qend < 0) {
                    report("dns", "?", port, "rule"); /* not a query we can read: it cannot be checked */
                    verdict = refuse;
                } else if (!name_allowed(&policy, name)) {
                    report("dns", name, port, "rule");
                    verdict = can_answer && answer_nxdomain(fd, payload, qend, sa, len) == 0 ? ANSWERED : refuse;
                }
            }
        }
    }
    pthread_mutex_unlock(&lock);
    return verdict;
}

int connect(int fd, const struct sockaddr *sa, socklen_t len) {
    int e = check(fd, sa, len, "tcp", ECONNREFUSED, NULL, 0, 0);
    if (e) {
        errno = e;
        return -1;
    }
    return real_connect(fd, sa, len);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len) {
    int e = check(fd, sa, len, "udp", EPERM, buf, n, 1);
    if (e == ANSWERED) return (ssize_t) n;
    if (e) {
        errno = e;
        return -1;
    }
    return real_sendto(fd, buf, n, flags, sa, len);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
    if (msg) {
        /* a DNS query is checked in its first buffer; one split over several cannot be read and is refused */
        const void *payload = msg->msg_iovlen >= 1 ? msg->msg_iov[0].iov_base : "";
        size_t plen = msg->msg_iovlen == 1 ? msg->msg_iov[0].iov_len : 0;
        int e = check(fd, msg->msg_name, msg->msg_namelen, "udp", EPERM, payload, plen, msg->msg_iovlen == 1);
        if (e == ANSWERED) return (ssize_t) plen;
        if (e) {
            errno = e;
            return -1;
        }
    }
    return real_sendmsg(fd, msg, flags);
}

int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags) {
    for (unsigned int i = 0; i < n; i++) {
        const struct msghdr *msg = &v[i].msg_hdr;
        const void *payload = msg->msg_iovlen >= 1 ? msg->msg_iov[0].iov_base : "";
        size_t plen = msg->msg_iovlen == 1 ? msg->msg_iov[0].iov_len : 0;
        int e = check(fd, msg->msg_name, msg->msg_namelen, "udp", EPERM, payload, plen, 0);
        if (e) {
            errno = e;
            return -1;
        }
    }
    return real_sendmmsg(fd, v, n, flags);
}

/* slirp reads the answers of the guest's UDP flows with recvfrom: DNS answers teach the rules the addresses of allowed names. */
ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len) {
    ssize_t r = real_recvfrom(fd, buf, n, flags, sa, len);
    if (r == 1 && n_pending && !(flags & MSG_PEEK)) {
        pthread_mutex_lock(&lock);
        ssize_t answered = take_answer(fd, buf, n, r, sa, len);
        pthread_mutex_unlock(&lock);
        if (answered != r) return answered;
    }
    if (r > 0 && sa && len && !(flags & MSG_TRUNC)) {
        unsigned short port = 0;
        if (sa->sa_family == AF_INET && *len >= (socklen_t) sizeof(struct sockaddr_in))
            port = ntohs(((struct sockaddr_in *) sa)->sin_port);
        else if (sa->sa_family == AF_INET6 && *len >= (socklen_t) sizeof(struct sockaddr_in6))
            port = ntohs(((struct sockaddr_in6 *) sa)->sin6_port);
        if (port == 53) {
            pthread_mutex_lock(&lock);
            maybe_reload();
            if (policy.present) dns_learn_answers(&policy, buf, (int) (r < (ssize_t) n ? r : (ssize_t) n));
            pthread_mutex_unlock(&lock);
        }
    }
    return r;
}

/*
 * Unit tests of QEMU's network guard (rootfs-builder/host/libmicropod-netguard.c), included here
 * so that its static functions can be called: the rules parser and matcher, the DNS parser fed
 * hostile bytes, and the rate limit and size cap of its events file. Run by NetguardEgressTest,
 * built with -fsanitize=address,undefined where the compiler has them. Prints "ok <n>" at the end
 * and exits 0; the first failed check prints "FAIL line: what" and exits 1.
 */
#include "libmicropod-netguard.c"

static int checks;

#define CHECK(cond) do { checks++; if (!(cond)) { printf("FAIL %d: %s\n", __LINE__, #cond); exit(1); } } while (0)

static void rules(const char *text) {
    parse_rules(text, strlen(text), &policy);
    n_learned = next_learned = 0;
}

static int v4(const char *text) {
    unsigned char a[16];
    if (inet_pton(AF_INET, text, a) != 1) { printf("FAIL bad test address %s\n", text); exit(1); }
    return address_allowed(&policy, AF_INET, a);
}

static int v6(const char *text) {
    unsigned char a[16];
    if (inet_pton(AF_INET6, text, a) != 1) { printf("FAIL bad test address %s\n", text); exit(1); }
    return address_allowed(&policy, AF_INET6, a);
}

/* A message of n bytes from a literal with embedded NULs. */
#define MSG(lit) ((const unsigned char *) (lit)), ((int) sizeof(lit) - 1)

static void test_cidr_rules(void) {
    memset(&policy, 0, sizeof policy);
    CHECK(v4("192.0.2.1"));                       /* no rules file: everything passes */
    rules("");
    CHECK(v4("192.0.2.1"));                       /* an empty file: default allow */
    rules("deny cidr 192.0.2.0/24\n");
    CHECK(!v4("192.0.2.1"));
    CHECK(v4("198.51.100.1"));
    rules("default deny\nallow cidr 198.51.100.0/24\n");
    CHECK(v4("198.51.100.200"));
    CHECK(!v4("192.0.2.1"));
    /* the most specific rule decides, whichever order they come in */
    rules("deny cidr 198.51.100.0/24\nallow cidr 198.51.100.7/32\n");
    CHECK(v4("198.51.100.7"));
    CHECK(!v4("198.51.100.8"));
    rules("allow cidr 198.51.100.7\ndefault deny\ndeny cidr 198.51.100.0/24\n");
    CHECK(v4("198.51.100.7"));
    CHECK(!v4("198.51.100.8"));
    /* a tie: deny wins */
    rules("allow cidr 192.0.2.0/24\ndeny cidr 192.0.2.0/24\n");
    CHECK(!v4("192.0.2.5"));
    /* prefixes that do not end on a byte */
    rules("default deny\nallow cidr 192.0.2.64/26\n");
    CHECK(v4("192.0.2.64") && v4("192.0.2.127"));
    CHECK(!v4("192.0.2.63") && !v4("192.0.2.128"));
    rules("default deny\nallow cidr 0.0.0.0/0\ndeny cidr 192.0.2.0/25\n");
    CHECK(v4("8.8.8.8") && v4("192.0.2.200") && !v4("192.0.2.1"));
    /* IPv6, and IPv4-mapped IPv6 addresses are matched as the IPv4 address */
    rules("deny cidr 2001:db8::/32\ndeny cidr 192.0.2.0/24\n");
    CHECK(!v6("2001:db8::1") && v6("2001:db9::1"));
    CHECK(!v6("::ffff:192.0.2.9") && v6("::ffff:198.51.100.9"));
    /* comments and blank lines */
    rules("# egress\n\n  deny cidr 192.0.2.0/24   # test net\n");
    CHECK(!v4("192.0.2.1") && v4("198.51.100.1"));
}

static void test_bad_rules_fail_closed(void) {
    const char *bad[] = {
        "deny cidr 192.0.2.0/33\n", "deny cidr 192.0.2.0/\n", "deny cidr 192.0.2/24\n", "allow cidr ::/129\n",
        "deny cidr 192.0.2.0/24x\n", "permit cidr 192.0.2.0/24\n", "allow host 192.0.2.1\n", "default maybe\n",
        "allow name exa mple.org\n", "allow name *.\n", "allow name ex@mple.org\n", "allow cidr\n",
        "allow cidr 192.0.2.0/24 extra\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rules(bad[i]);
        CHECK(policy.present && !policy.default_allow && policy.n_cidrs == 0 && policy.n_names == 0);
        CHECK(!v4("198.51.100.1"));
    }
    char big[600];
    memset(big, 'a', sizeof big);
    big[sizeof big - 1] = 0;
    rules(big); /* a line longer than any rule */
    CHECK(!policy.default_allow);
}

static void test_name_rules(void) {
    rules("default deny\nallow name *.example.org\ndeny name bad.example.org\nallow name Exact.Example.COM.\n");
    CHECK(name_allowed(&policy, "www.example.org"));
    CHECK(name_allowed(&policy, "a.b.example.org"));
    CHECK(!name_allowed(&policy, "example.org"));        /* the wildcard is for names below it */
    CHECK(!name_allowed(&policy, "badexample.org"));
    CHECK(!name_allowed(&policy, "bad.example.org"));    /* an exact rule beats the wildcard */
    CHECK(name_allowed(&policy, "x.bad.example.org"));   /* ... only for that name */
    CHECK(name_allowed(&policy, "exact.example.com"));
    CHECK(!name_allowed(&policy, "www.exact.example.com"));
    CHECK(!name_allowed(&policy, "other.net"));
    rules("deny name *.example.org\nallow name *.ok.example.org\n");
    CHECK(name_allowed(&policy, "a.ok.example.org"));    /* the longer wildcard wins */
    CHECK(!name_allowed(&policy, "a.example.org"));
    CHECK(name_allowed(&policy, "example.net"));         /* default allow */
    rules("allow name *.example.org\ndeny name *.example.org\n");
    CHECK(!name_allowed(&policy, "a.example.org"));      /* a tie: deny */
}

static void test_dns_names_hostile(void) {
    char out[NAME_MAX_LEN + 1];
    /* a plain name, upper case folded */
    CHECK(dns_name(MSG("\3WwW\7example\3org\0"), 0, out) == 17 && strcmp(out, "www.example.org") == 0);
    CHECK(dns_name(MSG("\0"), 0, out) == 1 && strcmp(out, ".") == 0);
    /* truncated: a label longer than what is left, no terminating zero, an empty message */
    CHECK(dns_name(MSG("\7exam"), 0, out) == -1);
    CHECK(dns_name(MSG("\3www"), 0, out) == -1);
    CHECK(dns_name((const unsigned char *) "", 0, 0, out) == -1);
    CHECK(dns_name(MSG("\3www\0"), 7, out) == -1);
    /* a pointer to itself, a forward pointer, a loop of two pointers, a pointer cut in half */
    CHECK(dns_name(MSG("\xc0\x00"), 0, out) == -1);
    CHECK(dns_name(MSG("\xc0\x02\0"), 0, out) == -1);
    CHECK(dns_name(MSG("\1a\xc0\x04\xc0\x00"), 4, out) == -1);
    CHECK(dns_name(MSG("\1a\xc0"), 0, out) == -1);
    /* a valid backward pointer */
    CHECK(dns_name(MSG("\3org\0\7example\xc0\x00"), 5, out) == 15 && strcmp(out, "example.org") == 0);
    /* reserved label types (0x40, 0x80), and bytes that are not in host names */
    CHECK(dns_name(MSG("\x41" "a\0"), 0, out) == -1);
    CHECK(dns_name(MSG("\x80" "a\0"), 0, out) == -1);
    CHECK(dns_name(MSG("\3a.b\0"), 0, out) == -1);
    CHECK(dns_name(MSG("\3a\0b\0"), 0, out) == -1);
    /* a name over 255 bytes: five labels of 63 */
    unsigned char m[400];
    int n = 0;
    for (int i = 0; i < 5; i++) { m[n++] = 63; memset(m + n, 'a', 63); n += 63; }
    m[n++] = 0;
    CHECK(dns_name(m, n, 0, out) == -1);
    /* exactly 255 is fine: 4 x 63 + 3 dots */
    n = 0;
    for (int i = 0; i < 4; i++) { m[n++] = 63; memset(m + n, 'b', 63); n += 63; }
    m[n++] = 0;
    CHECK(dns_name(m, n, 0, out) == n && strlen(out) == 255);
    /* a chain of 17 backward pointers: more hops than allowed */
    n = 0;
    m[n++] = 1; m[n++] = 'x'; m[n++] = 0;
    int prev = 0;
    for (int i = 0; i < 17; i++) { int at = n; m[n++] = 0xc0; m[n++] = (unsigned char) prev; prev = at; }
    CHECK(dns_name(m, n, prev, out) == -1);
    /* 16 hops are fine */
    CHECK(dns_name(m, n, prev - 2, out) == prev && strcmp(out, "x") == 0);
    /* a pointer back into the middle of the name being read: would loop without the 'lowest' rule */
    CHECK(dns_name(MSG("\1a\1b\xc0\x02"), 2, out) == -1);
}

/* Header: id 0x1234, flags, QDCOUNT, ANCOUNT, NSCOUNT 0, ARCOUNT 0. */
#define QUERY_WWW "\x12\x34\x01\x00\0\1\0\0\0\0\0\0" "\3www\7example\3org\0" "\0\1\0\1"

static void test_dns_queries(void) {
    char out[NAME_MAX_LEN + 1];
    CHECK(dns_query_name(MSG(QUERY_WWW), out) == 33 && strcmp(out, "www.example.org") == 0);
    /* a response, two questions, no question, truncated before QTYPE/QCLASS, a short header */
    CHECK(dns_query_name(MSG("\x12\x34\x81\x80\0\1\0\0\0\0\0\0" "\3www\0" "\0\1\0\1"), out) == -1);
    CHECK(dns_query_name(MSG("\x12\x34\x01\x00\0\2\0\0\0\0\0\0" "\3www\0" "\0\1\0\1" "\3xyz\0" "\0\1\0\1"), out) == -1);
    CHECK(dns_query_name(MSG("\x12\x34\x01\x00\0\0\0\0\0\0\0\0"), out) == -1);
    CHECK(dns_query_name(MSG("\x12\x34\x01\x00\0\1\0\0\0\0\0\0" "\3www\0" "\0\1"), out) == -1);
    CHECK(dns_query_name(MSG("\x12\x34\x01"), out) == -1);
    /* a question name that is only a compression loop */
    CHECK(dns_query_name(MSG("\x12\x34\x01\x00\0\1\0\0\0\0\0\0" "\xc0\x0c" "\0\1\0\1"), out) == -1);
}

#define ANSWER_HDR(an) "\x12\x34\x81\x80\0\1\0" an "\0\0\0\0"
#define A_RR(a, b, c, d) "\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4" a b c d

static void test_nxdomain_answers(void) {
    unsigned char out[512];
    char name[NAME_MAX_LEN + 1];
    int qend = dns_query_name(MSG(QUERY_WWW), name);
    int n = dns_nxdomain((const unsigned char *) QUERY_WWW, qend, out, sizeof out);
    CHECK(n == 33);
    CHECK(out[0] == 0x12 && out[1] == 0x34);                  /* the query's id */
    CHECK(out[2] == 0x81 && out[3] == 0x83);                  /* response, RD kept, RA, NXDOMAIN */
    CHECK(out[4] == 0 && out[5] == 1 && out[6] == 0 && out[7] == 0 && out[10] == 0 && out[11] == 0);
    CHECK(memcmp(out + 12, QUERY_WWW + 12, 21) == 0);        /* the question, as asked */
    /* it reads back as a response that teaches nothing */
    rules("default deny\nallow name *.example.org\n");
    CHECK(dns_learn_answers(&policy, out, n) == 0);
    /* a question that does not fit, or a bogus end */
    CHECK(dns_nxdomain((const unsigned char *) QUERY_WWW, qend, out, 20) == -1);
    CHECK(dns_nxdomain((const unsigned char *) QUERY_WWW, 3, out, sizeof out) == -1);
}

/* The queue of NXDOMAIN answers, on a real UDP socket on loopback (the wake-ups go to the socket itself). */
static void test_nxdomain_queue_is_bounded_and_answers_in_order(void) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(fd >= 0);
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, "192.0.2.53", &server.sin_addr);
    unsigned char q[64];
    memcpy(q, QUERY_WWW, 33);
    int queued = 0;
    for (int i = 0; i < MAX_PENDING + 8; i++) {
        q[1] = (unsigned char) i; /* the id tells the answers apart */
        if (answer_nxdomain(fd, q, 33, (struct sockaddr *) &server, sizeof server) == 0) queued++;
    }
    CHECK(queued == MAX_PENDING);   /* the rest are refused (the caller falls back to EPERM) */
    CHECK(n_pending == MAX_PENDING);
    for (int i = 0; i < MAX_PENDING; i++) {
        unsigned char a[512];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(fd, a, sizeof a, 0, (struct sockaddr *) &from, &fl);
        CHECK(r == 33);
        CHECK((a[3] & 0x0f) == 3 && a[1] == (unsigned char) i);          /* NXDOMAIN, oldest first */
        CHECK(from.sin_addr.s_addr == server.sin_addr.s_addr && from.sin_port == htons(53));
    }
    CHECK(n_pending == 0);
    /* a datagram that is not a wake-up passes untouched: one from another socket */
    int other = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in me;
    socklen_t ml = sizeof me;
    CHECK(getsockname(fd, (struct sockaddr *) &me, &ml) == 0);
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    q[1] = 0x77;
    CHECK(answer_nxdomain(fd, q, 33, (struct sockaddr *) &server, sizeof server) == 0);
    unsigned char a[512];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    CHECK(recvfrom(fd, a, sizeof a, 0, (struct sockaddr *) &from, &fl) == 33 && a[1] == 0x77);
    CHECK(real_sendto(other, "x", 1, 0, (struct sockaddr *) &me, sizeof me) == 1);
    fl = sizeof from;
    CHECK(recvfrom(fd, a, sizeof a, 0, (struct sockaddr *) &from, &fl) == 1 && a[0] == 'x');
    /* answers never picked up expire: the slots come back */
    for (int i = 0; i < MAX_PENDING; i++) CHECK(answer_nxdomain(fd, q, 33, (struct sockaddr *) &server, sizeof server) == 0);
    CHECK(answer_nxdomain(fd, q, 33, (struct sockaddr *) &server, sizeof server) == -1);
    for (int i = 0; i < MAX_PENDING; i++) pending[i].at_ms -= PENDING_MS + 1;
    CHECK(answer_nxdomain(fd, q, 33, (struct sockaddr *) &server, sizeof server) == 0 && n_pending == 1);
    close(other);
    close(fd);
    for (int i = 0; i < MAX_PENDING; i++) pending[i].used = 0;
    n_pending = 0;
}

static void test_dns_answers(void) {
    rules("default deny\nallow name *.example.org\n");
    /* two A records and an AAAA for an allowed name */
    static const char ok[] = ANSWER_HDR("\3") "\3www\7example\3org\0" "\0\1\0\1"
        A_RR("\xc6", "\x33", "\x64", "\x07") A_RR("\xc6", "\x33", "\x64", "\x08")
        "\xc0\x0c\0\x1c\0\1\0\0\0\x3c\0\x10" "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x09";
    CHECK(!v4("198.51.100.7"));
    CHECK(dns_learn_answers(&policy, MSG(ok)) == 3);
    CHECK(v4("198.51.100.7") && v4("198.51.100.8") && v6("2001:db8::9"));
    CHECK(!v4("198.51.100.9"));
    /* the same answer again adds nothing */
    CHECK(dns_learn_answers(&policy, MSG(ok)) == 3 && n_learned == 3);
    /* the name denied later (a rules change): its addresses are no longer allowed */
    parse_rules("default deny\ndeny name *.example.org\n", 37, &policy);
    CHECK(!v4("198.51.100.7"));
    /* an explicit deny for exactly that host beats what an answer taught */
    parse_rules("default deny\nallow name *.example.org\ndeny cidr 198.51.100.7/32\n", 64, &policy);
    CHECK(!v4("198.51.100.7") && v4("198.51.100.8"));
    /* answers for a name the rules deny teach nothing */
    rules("default deny\nallow name *.example.org\n");
    static const char denied[] = ANSWER_HDR("\1") "\3www\4evil\3org\0" "\0\1\0\1" A_RR("\xc6", "\x33", "\x64", "\x07");
    CHECK(dns_learn_answers(&policy, MSG(denied)) == 0 && !v4("198.51.100.7"));
    /* a huge ANCOUNT with one record, an RDLENGTH past the end, a truncated record */
    static const char many[] = ANSWER_HDR("\xff") "\3www\7example\3org\0" "\0\1\0\1" A_RR("\xc6", "\x33", "\x64", "\x07");
    CHECK(dns_learn_answers(&policy, MSG(many)) == 1);
    rules("default deny\nallow name *.example.org\n");
    static const char longrd[] = ANSWER_HDR("\1") "\3www\7example\3org\0" "\0\1\0\1" "\xc0\x0c\0\1\0\1\0\0\0\x3c\0\x40" "\1\2\3\4";
    CHECK(dns_learn_answers(&policy, MSG(longrd)) == 0);
    static const char cut[] = ANSWER_HDR("\1") "\3www\7example\3org\0" "\0\1\0\1" "\xc0\x0c\0\1\0\1\0";
    CHECK(dns_learn_answers(&policy, MSG(cut)) == 0);
    /* an A record with a wrong length, and one of class CH */
    static const char odd[] = ANSWER_HDR("\2") "\3www\7example\3org\0" "\0\1\0\1"
        "\xc0\x0c\0\1\0\1\0\0\0\x3c\0\5" "\1\2\3\4\5" "\xc0\x0c\0\1\0\3\0\0\0\x3c\0\4" "\1\2\3\4";
    CHECK(dns_learn_answers(&policy, MSG(odd)) == 0 && n_learned == 0);
    /* a query (not a response) is not learned from */
    CHECK(dns_learn_answers(&policy, MSG(QUERY_WWW)) == 0);
    /* the table is bounded: the oldest entries go */
    unsigned char msg[64];
    memcpy(msg, ok, 12 + 21);
    int base = 12 + 21;
    for (int i = 0; i < MAX_LEARNED + 10; i++) {
        int n = base;
        memcpy(msg + 4, "\0\1\0\1", 4);
        memcpy(msg + n, "\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4", 12);
        n += 12;
        msg[n++] = 10; msg[n++] = (unsigned char) (i >> 16); msg[n++] = (unsigned char) (i >> 8); msg[n++] = (unsigned char) i;
        dns_learn_answers(&policy, msg, n);
    }
    CHECK(n_learned == MAX_LEARNED);
    CHECK(!v4("10.0.0.0") && v4("10.0.0.10") && v4("10.0.8.9"));
}

static void test_random_bytes_never_crash(void) {
    rules("default deny\nallow name *.example.org\n");
    unsigned int seed = 42;
    unsigned char m[600];
    char out[NAME_MAX_LEN + 1];
    for (int round = 0; round < 200000; round++) {
        int n = (int) (rand_r(&seed) % sizeof m);
        for (int i = 0; i < n; i++) m[i] = (unsigned char) rand_r(&seed);
        if (n > 12 && round % 2) { m[2] |= 0x80; m[4] = 0; m[5] = 1; } /* make it look like a response more often */
        if (n > 14 && round % 3 == 0) { m[12] = 0xc0; m[13] = (unsigned char) (rand_r(&seed) % 20); }
        dns_query_name(m, n, out);
        dns_learn_answers(&policy, m, n);
        dns_name(m, n, n ? (int) (rand_r(&seed) % (unsigned) n) : 0, out);
    }
    CHECK(1);
}

static void test_events_rate_limited_and_capped(void) {
    char dir[] = "/tmp/netguard-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(events_path, sizeof events_path, "%s/egress.events", dir);
    events_fd = -1;
    tokens = EVENTS_BURST;
    tokens_ms = now_ms();
    suppressed = 0;
    for (int i = 0; i < 1000; i++) report("tcp", "192.0.2.1", 80, "rule");
    FILE *f = fopen(events_path, "r");
    CHECK(f != NULL);
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        long long ms;
        char proto[8], dest[64], why[8];
        unsigned port;
        CHECK(sscanf(line, "%lld deny %7s %63s %u %7s", &ms, proto, dest, &port, why) == 5);
        CHECK(strcmp(dest, "192.0.2.1") == 0 && port == 80 && strcmp(why, "rule") == 0);
    }
    fclose(f);
    CHECK(lines >= EVENTS_BURST && lines <= EVENTS_BURST + 2);
    CHECK(suppressed >= 1000 - lines);
    long long dropped = suppressed;
    /* a second later (as the clock goes) the next report first says how many were dropped */
    tokens_ms -= 1000;
    report("dns", "bad.example.org", 53, "rule");
    f = fopen(events_path, "r");
    int seen = 0;
    while (fgets(line, sizeof line, f)) {
        long long ms, n;
        if (sscanf(line, "%lld suppressed %lld", &ms, &n) == 2) { CHECK(n == dropped); seen++; }
    }
    fclose(f);
    CHECK(seen == 1 && suppressed == 0);
    /* past the size cap the file starts again */
    CHECK(ftruncate(events_fd, EVENTS_MAX_BYTES + 1) == 0);
    report("tcp", "192.0.2.2", 443, "rule");
    struct stat st;
    CHECK(stat(events_path, &st) == 0 && st.st_size > 0 && st.st_size < 200);
    close(events_fd);
    events_fd = -1;
    unlink(events_path);
    rmdir(dir);
    events_path[0] = 0;
}

static void test_reload_on_change(void) {
    char dir[] = "/tmp/netguard-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(rules_path, sizeof rules_path, "%s/egress.rules", dir);
    memset(&policy, 0, sizeof policy);
    rules_seen_valid = 0;
    last_check_ms = -1000000;
    maybe_reload();
    CHECK(!policy.present && v4("192.0.2.1"));    /* no file yet */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/egress.rules.tmp", dir);
    FILE *f = fopen(tmp, "w");
    fputs("deny cidr 192.0.2.0/24\n", f);
    fclose(f);
    CHECK(rename(tmp, rules_path) == 0);
    maybe_reload();
    CHECK(!policy.present);                        /* not before RELOAD_MS passed */
    last_check_ms -= RELOAD_MS;
    maybe_reload();
    CHECK(policy.present && !v4("192.0.2.1"));
    f = fopen(tmp, "w");
    fputs("default deny\nallow cidr 192.0.2.0/24\n", f);
    fclose(f);
    CHECK(rename(tmp, rules_path) == 0);
    last_check_ms -= RELOAD_MS;
    maybe_reload();
    CHECK(v4("192.0.2.1") && !v4("198.51.100.1"));
    unlink(rules_path);
    last_check_ms -= RELOAD_MS;
    maybe_reload();
    CHECK(!policy.present && v4("198.51.100.1")); /* removed: back to the host rules only */
    rmdir(dir);
    rules_path[0] = 0;
}

int main(void) {
    test_cidr_rules();
    test_bad_rules_fail_closed();
    test_name_rules();
    test_dns_names_hostile();
    test_dns_queries();
    test_nxdomain_answers();
    test_nxdomain_queue_is_bounded_and_answers_in_order();
    test_dns_answers();
    test_random_bytes_never_crash();
    test_events_rate_limited_and_capped();
    test_reload_on_change();
    printf("ok %d\n", checks);
    return 0;
}

/*
 * micropod-bulk: the pod's bulk port pump. The agent starts it once (on the first collecting
 * exec, as its child, in the agent's namespaces) and from then on it is the ONLY writer of the
 * bulk port (docs/internals/bulk-channel.md):
 *
 *   micropod-bulk PORT [MAX]   PORT: the /dev/vportNpM the agent found by its name; MAX: the
 *                              largest payload per frame (default and at most 1 MiB; tests
 *                              use less, as an unprivileged pipe holds at most 1 MiB)
 *
 * Why C: the interpreted guest JVM copies an exec's output through a heap array (and NIO's
 * temporary buffers) per read, where this moves each pipe's bytes to the port with splice(2)
 * (virtio_console implements splice_write: the pipe's pages go to the host as they are).
 *
 * Agent -> daemon (stdin), one line each; stream ids are the host's (unsigned decimal):
 *   S <stream> <stdout path> <stderr path>   take an exec's pipes (the agent's
 *                                            /proc/<broker>/fd/N paths); both opened before
 *                                            the reply
 *   C <stream>                               cut: close the stream's pipes now and end it
 *                                            (nothing when it ended already)
 *   N <stream>                               end a stream never taken (the exec failed
 *                                            before its output started): the END frame only
 *   EOF                                      exit (the agent is gone)
 * Daemon -> agent (stdout), one line each:
 *   O <stream>            opened: the stream's output is this daemon's from now on
 *   F <stream> <errno>    not taken (nothing opened): the agent pumps the pipes itself
 *   E <stream> 0          both pipes reached EOF (or were cut) and the END frame is written:
 *                         only now may the agent report the exit
 *   X <errno>             the port failed: every open stream is lost; the daemon exits
 *
 * Frames on the port (the host's BulkChannel decodes them): u32 stream, u8 kind (1 stdout,
 * 2 stderr, 3 end), u32 length, length bytes, big-endian, length <= 1 MiB. One thread writes
 * them, each whole, so frames never interleave. For a readable pipe the header says the bytes
 * the pipe holds (FIONREAD, capped at 1 MiB), then exactly that many are spliced (the pipe
 * cannot lose them: only this daemon reads it).
 *
 * Trust: the daemon is guest code as the agent is; the paths come from the agent only. What
 * the exec writes is payload, never parsed here; the host's demux is the boundary.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_PAYLOAD (1024 * 1024)
#define MAX_STREAMS 256
#define KIND_STDOUT 1
#define KIND_STDERR 2
#define KIND_END 3

struct stream {
    uint32_t id;
    int fd[2]; /* stdout, stderr; -1 once at EOF */
    int used;
};

static struct stream streams[MAX_STREAMS];
static int port = -1;
static int splice_works = 1;
static uint32_t max_payload = MAX_PAYLOAD;
static char copy_buf[64 * 1024];

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void reply(const char *fmt, ...) {
    char line[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line) {
        _exit(3);
    }
    for (int off = 0; off < n;) {
        ssize_t w = write(1, line + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            _exit(3); /* the agent is gone */
        }
        off += (int)w;
    }
}

static void port_failed(int err) {
    reply("X %d\n", err);
    _exit(4);
}

static void write_all(const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(port, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            port_failed(w < 0 ? errno : EIO);
        }
        p += w;
        len -= (size_t)w;
    }
}

static void header(uint32_t id, int kind, uint32_t len) {
    unsigned char h[9];
    uint32_t be = htonl(id);
    memcpy(h, &be, 4);
    h[4] = (unsigned char)kind;
    be = htonl(len);
    memcpy(h + 5, &be, 4);
    write_all(h, sizeof h);
}

/* Moves exactly n bytes that the pipe holds to the port. */
static void move(int from, size_t n) {
    int copy = !splice_works;
    while (n > 0) {
        if (!copy) {
            ssize_t s = splice(from, NULL, port, NULL, n, SPLICE_F_MOVE);
            if (s > 0) {
                n -= (size_t)s;
                continue;
            }
            if (s < 0 && errno == EINTR) {
                continue;
            }
            if (s < 0 && errno == EINVAL) {
                splice_works = 0; /* a port (or stand-in file) without splice_write */
                copy = 1;
                continue;
            }
            if (s == 0) {
                /* virtio_console's splice_write says 0 when the virtqueue took no buffer: copy
                 * the rest of this frame instead (write waits for room) */
                copy = 1;
                continue;
            }
            port_failed(errno);
        }
        size_t chunk = n < sizeof copy_buf ? n : sizeof copy_buf;
        ssize_t r = read(from, copy_buf, chunk);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            port_failed(r < 0 ? errno : EIO); /* the pipe held these bytes: cannot happen */
        }
        write_all(copy_buf, (size_t)r);
        n -= (size_t)r;
    }
}

static struct stream *find(uint32_t id) {
    for (int i = 0; i < MAX_STREAMS; i++) {
        if (streams[i].used && streams[i].id == id) {
            return &streams[i];
        }
    }
    return NULL;
}

static void end_stream(struct stream *s) {
    for (int k = 0; k < 2; k++) {
        if (s->fd[k] >= 0) {
            close(s->fd[k]);
            s->fd[k] = -1;
        }
    }
    header(s->id, KIND_END, 0);
    reply("E %u 0\n", s->id);
    s->used = 0;
}

static int parse_id(const char *text, uint32_t *id) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v == 0 || v > 0xffffffffUL) {
        return -1;
    }
    *id = (uint32_t)v;
    return 0;
}

static void command(char *line) {
    char *save;
    char *verb = strtok_r(line, " ", &save);
    char *ids = strtok_r(NULL, " ", &save);
    uint32_t id;
    if (verb == NULL || ids == NULL || parse_id(ids, &id) != 0) {
        reply("X %d\n", EPROTO); /* the agent sent garbage: it is broken, stop */
        _exit(5);
    }
    if (strcmp(verb, "S") == 0) {
        char *out = strtok_r(NULL, " ", &save);
        char *err = strtok_r(NULL, " ", &save);
        if (out == NULL || err == NULL) {
            reply("X %d\n", EPROTO);
            _exit(5);
        }
        struct stream *free_slot = NULL;
        for (int i = 0; i < MAX_STREAMS && free_slot == NULL; i++) {
            if (!streams[i].used) {
                free_slot = &streams[i];
            }
        }
        if (find(id) != NULL || free_slot == NULL) {
            reply("F %u %d\n", id, find(id) != NULL ? EEXIST : EMFILE);
            return;
        }
        int fo = open(out, O_RDONLY | O_CLOEXEC);
        if (fo < 0) {
            reply("F %u %d\n", id, errno);
            return;
        }
        int fe = open(err, O_RDONLY | O_CLOEXEC);
        if (fe < 0) {
            int e = errno;
            close(fo);
            reply("F %u %d\n", id, e);
            return;
        }
        free_slot->id = id;
        free_slot->fd[0] = fo;
        free_slot->fd[1] = fe;
        free_slot->used = 1;
        reply("O %u\n", id);
    } else if (strcmp(verb, "N") == 0) {
        if (find(id) == NULL) {
            header(id, KIND_END, 0);
        }
        reply("E %u 0\n", id);
    } else if (strcmp(verb, "C") == 0) {
        struct stream *s = find(id);
        if (s != NULL) {
            end_stream(s);
        } /* else: it ended already, and its E line went out then */
    } else {
        reply("X %d\n", EPROTO);
        _exit(5);
    }
}

/* Reads the agent's lines; returns -1 at EOF. */
static int control(void) {
    static char buf[8192];
    static size_t have;
    ssize_t r = read(0, buf + have, sizeof buf - have);
    if (r < 0 && errno == EINTR) {
        return 0;
    }
    if (r <= 0) {
        return -1;
    }
    have += (size_t)r;
    size_t start = 0;
    for (size_t i = 0; i < have; i++) {
        if (buf[i] == '\n') {
            buf[i] = '\0';
            command(buf + start);
            start = i + 1;
        }
    }
    if (start == 0 && have == sizeof buf) {
        reply("X %d\n", EPROTO); /* a line longer than any path pair: garbage */
        _exit(5);
    }
    memmove(buf, buf + start, have - start);
    have -= start;
    return 0;
}

/* One frame of what the pipe holds, or the pipe's EOF. */
static void pump(struct stream *s, int k) {
    int n = 0;
    if (ioctl(s->fd[k], FIONREAD, &n) != 0 || n <= 0) {
        /* readable with nothing in it: every writer closed it (a read error counts as EOF too) */
        close(s->fd[k]);
        s->fd[k] = -1;
        if (s->fd[0] < 0 && s->fd[1] < 0) {
            end_stream(s);
        }
        return;
    }
    uint32_t len = (uint32_t)n > max_payload ? max_payload : (uint32_t)n;
    header(s->id, k == 0 ? KIND_STDOUT : KIND_STDERR, len);
    move(s->fd[k], len);
}

int main(int argc, char **argv) {
    uint32_t max = 0;
    if ((argc != 2 && argc != 3) || (argc == 3 && (parse_id(argv[2], &max) != 0 || max > MAX_PAYLOAD))) {
        fprintf(stderr, "usage: micropod-bulk PORT [MAX_PAYLOAD] (started by the MicroPod agent)\n");
        return 2;
    }
    if (max != 0) {
        max_payload = max;
    }
    signal(SIGPIPE, SIG_IGN);
    port = open(argv[1], O_WRONLY | O_CLOEXEC);
    if (port < 0) {
        int e = errno;
        fprintf(stderr, "micropod-bulk: cannot open %s: %s\n", argv[1], strerror(e));
        reply("X %d\n", e);
        return 1;
    }
    reply("R\n");
    struct pollfd fds[1 + 2 * MAX_STREAMS];
    struct stream *owner[1 + 2 * MAX_STREAMS];
    int which[1 + 2 * MAX_STREAMS];
    for (;;) {
        int nfds = 0;
        fds[nfds].fd = 0;
        fds[nfds].events = POLLIN;
        owner[nfds++] = NULL;
        for (int i = 0; i < MAX_STREAMS; i++) {
            for (int k = 0; k < 2 && streams[i].used; k++) {
                if (streams[i].fd[k] >= 0) {
                    fds[nfds].fd = streams[i].fd[k];
                    fds[nfds].events = POLLIN;
                    owner[nfds] = &streams[i];
                    which[nfds++] = k;
                }
            }
        }
        if (poll(fds, (nfds_t)nfds, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            port_failed(errno);
        }
        /* the pipes first: a cut in this round must not race a frame of the same stream */
        for (int i = 1; i < nfds; i++) {
            if (fds[i].revents != 0 && owner[i]->used && owner[i]->fd[which[i]] == fds[i].fd) {
                pump(owner[i], which[i]);
            }
        }
        if (fds[0].revents != 0 && control() < 0) {
            return 0;
        }
    }
}

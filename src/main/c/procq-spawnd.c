/*
 * procq-spawnd: the worker's resident spawn helper.
 *
 * One worker JVM starts one of these and talks to it over its stdin and stdout with
 * length-prefixed binary frames (docs/spawn-helper.md). The helper forks and execs each job's
 * program once (no wrapper programs in between), keeps the last bytes of its output, reaps it
 * with wait4 and reports exactly how it ended: exit code or signal, CPU time and peak memory.
 *
 * Single-threaded: one epoll loop over the control pipe, a signalfd for SIGCHLD and the
 * children's output pipes. Every descriptor is close-on-exec and non-blocking. Between fork and
 * exec the child makes only async-signal-safe calls. The helper is a child subreaper, so
 * orphaned grandchildren are reaped here too. EOF on stdin means the worker is gone: every
 * child's process group is killed and the helper exits.
 *
 * Prior art: Erlang/OTP's erl_child_setup.c (a resident helper and one control channel,
 * reaping in a loop because SIGCHLDs coalesce) and Bazel's process-tools (signal mask,
 * setsid, pdeathsig with the getppid check).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL_VERSION 4u

/* Frames from the worker. */
#define FRAME_HELLO 0x01
#define FRAME_SPAWN 0x02
#define FRAME_SIGNAL 0x03
#define FRAME_SHUTDOWN 0x04
#define FRAME_DEADLINE 0x05

/* Frames to the worker. */
#define FRAME_HELLO_ACK 0x81
#define FRAME_SPAWNED 0x82
#define FRAME_SPAWN_FAILED 0x83
#define FRAME_EXITED 0x84
#define FRAME_ERROR 0x85

/* Where a spawn failed, as reported in FRAME_SPAWN_FAILED. */
#define STAGE_PIPE 1
#define STAGE_FORK 2
#define STAGE_SETSID 3
#define STAGE_PDEATHSIG 4
#define STAGE_RLIMIT 5
#define STAGE_CHDIR 6
#define STAGE_STDIO 7
#define STAGE_EXEC 8
#define STAGE_SETGROUPS 9
#define STAGE_SETGID 10
#define STAGE_SETUID 11
#define STAGE_CGROUP 12

/* A uid or gid of a SPAWN frame that means "keep the helper's". */
#define ID_UNCHANGED 0xFFFFFFFFu

/* Error codes of FRAME_ERROR. */
#define ERROR_MALFORMED 1
#define ERROR_OVERSIZED 2
#define ERROR_UNKNOWN_TYPE 3
#define ERROR_DUPLICATE_ID 4
#define ERROR_NO_HELLO 5
#define ERROR_VERSION 6
#define ERROR_TOO_MANY_CHILDREN 7

/* Features reported in FRAME_HELLO_ACK. */
#define FEATURE_SUBREAPER 0x1u
#define FEATURE_CLOSE_RANGE 0x2u

/* EXITED flags. */
#define EXIT_SIGNALLED 0x1u
#define EXIT_CORE_DUMPED 0x2u
#define EXIT_OUTPUT_CUT 0x4u
#define EXIT_FENCED 0x8u

/* EXITED cgroup flags. */
#define CGROUP_USED 0x1u
#define CGROUP_MEMORY_PEAK 0x2u
#define CGROUP_CPU 0x4u

/* The kernel's own limit on argv plus envp is about 2 MiB; a frame is one job's of those. */
#define MAX_FRAME (4u * 1024 * 1024)
#define MAX_ARGS 65536u
#define MAX_TAIL (4u * 1024 * 1024)
#define MAX_LINGER_MS 60000u
#define MAX_CHILDREN 100000u
/* Reads of one child's pipe per wakeup: a flooding child must not starve the others. */
#define READS_PER_WAKEUP 4
#define READ_CHUNK 65536
/* After SHUTDOWN, how long the helper waits for killed children to be reaped before it exits. */
#define SHUTDOWN_WAIT_MS 5000

/* What an epoll event names: a child's output pipe or its exec report pipe. */
struct watch {
    int kind;
    struct child *child;
};
#define WATCH_OUTPUT 1
#define WATCH_REPORT 2

struct child {
    uint64_t id;
    pid_t pid;
    int out_fd;          /* read end of the child's stdout+stderr pipe; -1 once closed */
    /*
     * Read end of the close-on-exec pipe the child reports a failed set-up on; -1 once the exec
     * is known to have happened (EOF) or failed (8 bytes). Until then SPAWNED is not sent and
     * signals for the child wait in pending_signal.
     */
    int report_fd;
    int exec_failed;
    uint32_t fail_stage;
    uint32_t fail_errno;
    uint32_t pending_signal;
    uint32_t pending_group;
    uint32_t pending_kill_after_ms;
    /*
     * The worker's deadline for this child (CLOCK_MONOTONIC ms; 0: none): past it the worker can
     * no longer be sure it holds the job's lease, so the helper ends the child's group (TERM, and
     * KILL fence_kill_after_ms later) whether or not the worker is still able to ask.
     */
    int64_t fence_at_ms;
    uint32_t fence_kill_after_ms;
    int fenced;
    struct watch out_watch;
    struct watch report_watch;
    int reaped;
    int reported;        /* the EXITED frame is out; freed after this round of events */
    int status;
    struct rusage usage;
    struct timespec started;
    struct timespec ended;
    int64_t linger_deadline_ms; /* once reaped with the pipe still open; 0 when not lingering */
    uint32_t linger_ms;
    int output_cut;
    uint32_t tail_capacity;
    uint8_t *tail;       /* ring buffer, allocated on the first output */
    uint32_t tail_size;
    uint32_t tail_next;
    uint64_t total_bytes;
    /*
     * The child's own cgroup (docs/spawn-helper.md, "Cgroups"): its directory, open, and its
     * path for the rmdir; -1 and NULL when the child runs without one. Once the child is reaped
     * and its output ended, what is left in the cgroup is killed, the cgroup is read (CPU of the
     * whole tree, peak memory, OOM kills) once it is empty, and removed; only then EXITED goes out.
     */
    int cgroup_fd;
    char *cgroup_path;
    int cgroup_done;
    uint32_t cgroup_flags;
    uint64_t cgroup_user_us;
    uint64_t cgroup_system_us;
    uint64_t memory_peak;
    uint64_t oom_kills;
    int cgroup_killed;
    int64_t cgroup_wait_until_ms;
    struct child *next;
};

static struct child *children;
static uint32_t child_count;

/*
 * Process groups to SIGKILL at a deadline: the second half of "TERM, grace, KILL". They are
 * kept apart from the children because a group outlives its leader: a grandchild that ignores
 * SIGTERM and no longer holds the output is still there after the child was reported.
 */
struct pending_kill {
    uint64_t id;
    pid_t group;
    int64_t deadline_ms;
    struct pending_kill *next;
};
static struct pending_kill *pending_kills;
/* Reported children, freed after the current round of events: one may still be named there. */
static struct child *reported;
static int epoll_fd = -1;
static int signal_fd = -1;
static int dev_null = -1;
static pid_t self_pid;
static pid_t parent_pid;
static int said_hello;
static int shutting_down;
static int64_t shutdown_deadline_ms;

static uint8_t *in_buf;
static size_t in_len;
static uint64_t skip_bytes; /* the rest of an oversized frame, read and dropped */
static int in_closed;

static uint8_t *out_buf;
static size_t out_len;
static size_t out_cap;
static int out_waiting; /* EPOLLOUT registered */
static int out_broken;

/* epoll data for the two fixed descriptors; children use their struct's address. */
static int tag_control_in;
static int tag_signals;
static int tag_control_out;

static int64_t now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void die(const char *what) {
    fprintf(stderr, "procq-spawnd: %s: %s\n", what, strerror(errno));
    exit(3);
}

/* ---- output to the worker ------------------------------------------------------------- */

static void out_reserve(size_t more) {
    if (out_len + more <= out_cap) return;
    size_t cap = out_cap ? out_cap : 65536;
    while (cap < out_len + more) cap *= 2;
    uint8_t *grown = realloc(out_buf, cap);
    if (!grown) die("out of memory for frames to the worker");
    out_buf = grown;
    out_cap = cap;
}

static void put_bytes(const void *data, size_t length) {
    out_reserve(length);
    memcpy(out_buf + out_len, data, length);
    out_len += length;
}

static void put_u8(uint8_t value) { put_bytes(&value, 1); }

static void put_u32(uint32_t value) {
    uint8_t bytes[4] = {value, value >> 8, value >> 16, value >> 24};
    put_bytes(bytes, 4);
}

static void put_u64(uint64_t value) {
    put_u32((uint32_t)value);
    put_u32((uint32_t)(value >> 32));
}

/* A frame is begun, filled with put_*, then ended, which writes its length in front. */
static size_t begin_frame(uint8_t type) {
    size_t start = out_len;
    put_u32(0);
    put_u8(type);
    return start;
}

static void end_frame(size_t start) {
    uint32_t length = (uint32_t)(out_len - start - 4);
    uint8_t bytes[4] = {length, length >> 8, length >> 16, length >> 24};
    memcpy(out_buf + start, bytes, 4);
}

static void flush_out(void) {
    if (out_broken) {
        out_len = 0;
        return;
    }
    size_t written = 0;
    while (written < out_len) {
        ssize_t count = write(STDOUT_FILENO, out_buf + written, out_len - written);
        if (count > 0) {
            written += (size_t)count;
        } else if (count < 0 && errno == EINTR) {
            continue;
        } else if (count < 0 && errno == EAGAIN) {
            break;
        } else {
            /* The worker is gone; EOF on stdin follows and ends the helper. */
            out_broken = 1;
            out_len = 0;
            return;
        }
    }
    memmove(out_buf, out_buf + written, out_len - written);
    out_len -= written;
    int want = out_len > 0;
    if (want != out_waiting) {
        struct epoll_event event = {.events = want ? EPOLLOUT : 0, .data.ptr = &tag_control_out};
        if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, STDOUT_FILENO, &event) < 0) die("epoll_ctl stdout");
        out_waiting = want;
    }
}

static void send_error(uint64_t id, uint32_t code, const char *message) {
    size_t frame = begin_frame(FRAME_ERROR);
    size_t length = strlen(message);
    put_u64(id);
    put_u32(code);
    put_u32((uint32_t)length);
    put_bytes(message, length);
    end_frame(frame);
}

static void send_spawn_failed(uint64_t id, uint32_t stage, int error) {
    const char *text = strerror(error);
    size_t length = strlen(text);
    size_t frame = begin_frame(FRAME_SPAWN_FAILED);
    put_u64(id);
    put_u32(stage);
    put_u32((uint32_t)error);
    put_u32((uint32_t)length);
    put_bytes(text, length);
    end_frame(frame);
}

/* ---- children ---------------------------------------------------------------------------- */

static struct child *find_by_id(uint64_t id) {
    for (struct child *child = children; child; child = child->next) {
        if (child->id == id) return child;
    }
    return NULL;
}

static struct child *find_by_pid(pid_t pid) {
    for (struct child *child = children; child; child = child->next) {
        if (child->pid == pid && !child->reaped) return child;
    }
    return NULL;
}

static void tail_append(struct child *child, const uint8_t *data, size_t length) {
    child->total_bytes += length;
    uint32_t capacity = child->tail_capacity;
    if (capacity == 0 || length == 0) return;
    if (!child->tail) {
        child->tail = malloc(capacity);
        if (!child->tail) {
            /* Without memory for a tail the child still runs; its output is dropped. */
            child->tail_capacity = 0;
            return;
        }
    }
    if (length >= capacity) {
        memcpy(child->tail, data + length - capacity, capacity);
        child->tail_size = capacity;
        child->tail_next = 0;
        return;
    }
    uint32_t until_end = capacity - child->tail_next;
    uint32_t first = length < until_end ? (uint32_t)length : until_end;
    memcpy(child->tail + child->tail_next, data, first);
    memcpy(child->tail, data + first, length - first);
    child->tail_next = (uint32_t)((child->tail_next + length) % capacity);
    child->tail_size = child->tail_size + length > capacity ? capacity
                                                             : child->tail_size + (uint32_t)length;
}

static void close_output(struct child *child) {
    if (child->out_fd < 0) return;
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, child->out_fd, NULL);
    close(child->out_fd);
    child->out_fd = -1;
}

static void close_report(struct child *child) {
    if (child->report_fd < 0) return;
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, child->report_fd, NULL);
    close(child->report_fd);
    child->report_fd = -1;
}

static void remove_child(struct child *gone) {
    for (struct child **link = &children; *link; link = &(*link)->next) {
        if (*link == gone) {
            *link = gone->next;
            break;
        }
    }
    child_count--;
    gone->next = reported;
    reported = gone;
}

static void free_reported(void) {
    while (reported) {
        struct child *next = reported->next;
        free(reported->tail);
        free(reported->cgroup_path);
        free(reported);
        reported = next;
    }
}

static uint64_t micros(struct timeval value) {
    return (uint64_t)value.tv_sec * 1000000u + (uint64_t)value.tv_usec;
}

/* ---- cgroups ---------------------------------------------------------------------------- */

/* How long a cgroup whose processes were killed may take to empty before it is left behind. */
#define CGROUP_EMPTY_WAIT_MS 10000
/* How often a cgroup that is being emptied is looked at again. */
#define CGROUP_POLL_MS 5

/* Cleared once the kernel refuses clone3 with CLONE_INTO_CGROUP: then fork, and the child moves. */
static int clone_into_cgroup = 1;

static int cgroup_write(int dir_fd, const char *file, const char *value) {
    int fd = openat(dir_fd, file, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t length = strlen(value);
    ssize_t count = write(fd, value, length);
    int error = errno;
    close(fd);
    if (count != (ssize_t)length) {
        errno = count < 0 ? error : EIO;
        return -1;
    }
    return 0;
}

/* A small cgroup file, NUL-terminated; its length, or -1 (a controller file that is not there). */
static ssize_t cgroup_read(int dir_fd, const char *file, char *buffer, size_t size) {
    int fd = openat(dir_fd, file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t count = read(fd, buffer, size - 1);
    close(fd);
    if (count < 0) return -1;
    buffer[count] = 0;
    return count;
}

/* The N of a "key N" line of a flat-keyed file (cpu.stat, memory.events, cgroup.events). */
static int cgroup_key(const char *text, const char *key, uint64_t *value) {
    size_t length = strlen(key);
    const char *line = text;
    while (line && *line) {
        if (strncmp(line, key, length) == 0 && line[length] == ' ') {
            *value = strtoull(line + length + 1, NULL, 10);
            return 1;
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
    return 0;
}

static int cgroup_populated(int dir_fd) {
    char text[256];
    uint64_t populated = 0;
    if (cgroup_read(dir_fd, "cgroup.events", text, sizeof text) < 0) return 0;
    return cgroup_key(text, "populated", &populated) && populated != 0;
}

/* SIGKILL to every process in the child's cgroup, whatever its session or process group. */
static void cgroup_kill(const struct child *child) {
    if (child->cgroup_fd >= 0) cgroup_write(child->cgroup_fd, "cgroup.kill", "1");
}

/* Once the cgroup is empty: what the whole tree cost, then the cgroup is removed. */
static void cgroup_finish(struct child *child) {
    char text[2048];
    uint64_t value;
    child->cgroup_flags |= CGROUP_USED;
    if (cgroup_read(child->cgroup_fd, "cpu.stat", text, sizeof text) > 0
        && cgroup_key(text, "user_usec", &child->cgroup_user_us)
        && cgroup_key(text, "system_usec", &child->cgroup_system_us)) {
        child->cgroup_flags |= CGROUP_CPU;
    }
    if (cgroup_read(child->cgroup_fd, "memory.peak", text, sizeof text) > 0) {
        child->memory_peak = strtoull(text, NULL, 10);
        child->cgroup_flags |= CGROUP_MEMORY_PEAK;
    }
    if (cgroup_read(child->cgroup_fd, "memory.events", text, sizeof text) > 0
        && cgroup_key(text, "oom_kill", &value)) {
        child->oom_kills = value;
    }
    close(child->cgroup_fd);
    child->cgroup_fd = -1;
    rmdir(child->cgroup_path);
}

/*
 * True when the child's cgroup is done with (none, or now read and removed); false while what
 * the program left behind is still being killed: the report waits, so every CPU second counts.
 */
static int cgroup_settled(struct child *child) {
    if (child->cgroup_fd < 0) return 1;
    if (cgroup_populated(child->cgroup_fd)) {
        if (!child->cgroup_killed) {
            /* The job is over: nothing it started outlives it, setsid or not. */
            cgroup_kill(child);
            child->cgroup_killed = 1;
            child->cgroup_wait_until_ms = now_ms() + CGROUP_EMPTY_WAIT_MS;
            return 0;
        }
        if (now_ms() < child->cgroup_wait_until_ms) return 0;
        /* Stuck in the kernel (D state): reported without the cgroup, which stays behind. */
        fprintf(stderr, "procq-spawnd: cgroup %s still populated %d ms after cgroup.kill; left in place\n",
                child->cgroup_path, CGROUP_EMPTY_WAIT_MS);
        close(child->cgroup_fd);
        child->cgroup_fd = -1;
        return 1;
    }
    cgroup_finish(child);
    return 1;
}

/* At exit, after every cgroup was killed: waits briefly for each to empty and removes it. */
static void remove_cgroups_at_exit(void) {
    int64_t until = now_ms() + 2000;
    for (struct child *child = children; child; child = child->next) {
        if (child->cgroup_fd < 0) continue;
        cgroup_kill(child);
        while (cgroup_populated(child->cgroup_fd) && now_ms() < until) {
            struct timespec pause = {0, CGROUP_POLL_MS * 1000000L};
            nanosleep(&pause, NULL);
        }
        close(child->cgroup_fd);
        child->cgroup_fd = -1;
        rmdir(child->cgroup_path);
    }
}

static int is_live_child(pid_t pid);
static void deliver_signal(struct child *child, uint32_t number, uint32_t group,
                           uint32_t kill_after_ms);

/*
 * Signals a child's process group. Once the child itself was reaped its pid is free for reuse,
 * and a newer child of ours may lead a group of that id: that one is spared.
 */
static void signal_group(const struct child *child, int number) {
    /* A KILL reaches everything in the child's cgroup, also what left the group with setsid. */
    if (number == SIGKILL) cgroup_kill(child);
    if (child->reaped && is_live_child(child->pid)) return;
    kill(-child->pid, number);
}

/* Reports the exit once both the status and the end of the output are in. */
static void report_if_done(struct child *child) {
    if (child->reported || !child->reaped || child->out_fd >= 0 || child->report_fd >= 0) return;
    if (!cgroup_settled(child)) return;
    child->reported = 1;
    if (child->exec_failed) {
        send_spawn_failed(child->id, child->fail_stage, (int)child->fail_errno);
        remove_child(child);
        return;
    }
    uint32_t flags = 0;
    int32_t code;
    if (WIFSIGNALED(child->status)) {
        flags |= EXIT_SIGNALLED;
        if (WCOREDUMP(child->status)) flags |= EXIT_CORE_DUMPED;
        code = WTERMSIG(child->status);
    } else {
        code = WEXITSTATUS(child->status);
    }
    if (child->output_cut) flags |= EXIT_OUTPUT_CUT;
    if (child->fenced) flags |= EXIT_FENCED;
    int64_t wall_ns = (int64_t)(child->ended.tv_sec - child->started.tv_sec) * 1000000000
                      + (child->ended.tv_nsec - child->started.tv_nsec);
    size_t frame = begin_frame(FRAME_EXITED);
    put_u64(child->id);
    put_u32(flags);
    put_u32((uint32_t)code);
    put_u64((uint64_t)(wall_ns < 0 ? 0 : wall_ns));
    put_u64(micros(child->usage.ru_utime));
    put_u64(micros(child->usage.ru_stime));
    put_u64((uint64_t)child->usage.ru_maxrss);
    put_u64(child->total_bytes);
    put_u64(child->total_bytes - child->tail_size);
    put_u32(child->cgroup_flags);
    put_u64(child->cgroup_user_us);
    put_u64(child->cgroup_system_us);
    put_u64(child->memory_peak);
    put_u64(child->oom_kills);
    put_u32(child->tail_size);
    if (child->tail_size < child->tail_capacity || child->tail_next == 0) {
        put_bytes(child->tail, child->tail_size);
    } else {
        put_bytes(child->tail + child->tail_next, child->tail_size - child->tail_next);
        put_bytes(child->tail, child->tail_next);
    }
    end_frame(frame);
    remove_child(child);
}

static void read_output(struct child *child) {
    static uint8_t chunk[READ_CHUNK];
    if (child->out_fd < 0) return;
    for (int round = 0; round < READS_PER_WAKEUP; round++) {
        ssize_t count = read(child->out_fd, chunk, sizeof chunk);
        if (count > 0) {
            tail_append(child, chunk, (size_t)count);
            continue;
        }
        if (count < 0 && errno == EINTR) continue;
        if (count < 0 && errno == EAGAIN) return;
        /* End of output (or a read error, which ends it just the same). */
        close_output(child);
        child->linger_deadline_ms = 0;
        report_if_done(child);
        return;
    }
}

/* The child's set-up is over: execve ran (EOF) or a step before it failed (8 bytes). */
static void read_report(struct child *child) {
    if (child->report_fd < 0) return;
    uint32_t failure[2];
    ssize_t count = read(child->report_fd, failure, sizeof failure);
    if (count < 0 && (errno == EINTR || errno == EAGAIN)) return;
    close_report(child);
    if (count == (ssize_t)sizeof failure) {
        child->exec_failed = 1;
        child->fail_stage = failure[0];
        child->fail_errno = failure[1];
        close_output(child); /* a program that never ran wrote nothing worth keeping */
        child->linger_deadline_ms = 0;
        report_if_done(child);
        return;
    }
    size_t frame = begin_frame(FRAME_SPAWNED);
    put_u64(child->id);
    put_u32((uint32_t)child->pid);
    end_frame(frame);
    if (child->pending_signal) {
        deliver_signal(child, child->pending_signal, child->pending_group,
                       child->pending_kill_after_ms);
        child->pending_signal = 0;
    }
    report_if_done(child);
}

static void reap(void) {
    while (1) {
        int status;
        struct rusage usage;
        pid_t pid = wait4(-1, &status, WNOHANG, &usage);
        if (pid == 0) return;
        if (pid < 0) {
            if (errno == EINTR) continue;
            return; /* ECHILD: nobody left */
        }
        struct child *child = find_by_pid(pid);
        if (!child) continue; /* an orphaned grandchild, reparented here */
        clock_gettime(CLOCK_MONOTONIC, &child->ended);
        child->reaped = 1;
        child->status = status;
        child->usage = usage;
        if (child->out_fd >= 0) {
            /* Drain what is already in the pipe; processes left behind may still hold it. */
            read_output(child);
            if (child->out_fd >= 0) child->linger_deadline_ms = now_ms() + child->linger_ms;
        }
        report_if_done(child);
    }
}

/* Ends the output of children whose program exited while others still hold the pipe. */
static void expire_lingering(void) {
    int64_t now = now_ms();
    struct child *child = children;
    while (child) {
        struct child *next = child->next;
        if (child->reaped && child->out_fd >= 0 && child->linger_deadline_ms
            && child->linger_deadline_ms <= now) {
            /* What the job left behind holding its output is ended with it. */
            signal_group(child, SIGKILL);
            child->output_cut = 1;
            close_output(child);
            report_if_done(child);
        }
        child = next;
    }
}

static int is_live_child(pid_t pid) {
    for (struct child *child = children; child; child = child->next) {
        if (child->pid == pid && !child->reaped) return 1;
    }
    return 0;
}

/*
 * A group id is not reused while any process is in the group. Once the group is empty its id
 * may become a new process's, and a new child of ours may lead a group of that id: that one is
 * spared. kill(-group, 0) fails once nothing is left, and then nothing is sent.
 */
static void kill_group_if_there(uint64_t id, pid_t group) {
    struct child *owner = find_by_id(id);
    if (owner) cgroup_kill(owner);
    if (!owner && is_live_child(group)) return;
    if (kill(-group, 0) == 0) kill(-group, SIGKILL);
}

static void expire_pending_kills(int all) {
    int64_t now = now_ms();
    for (struct pending_kill **link = &pending_kills; *link;) {
        struct pending_kill *entry = *link;
        if (all || entry->deadline_ms <= now) {
            kill_group_if_there(entry->id, entry->group);
            *link = entry->next;
            free(entry);
        } else {
            link = &entry->next;
        }
    }
}

/* Reports the children whose cgroup has emptied since the last round. */
static void expire_cgroups(void) {
    struct child *child = children;
    while (child) {
        struct child *next = child->next;
        if (child->cgroup_killed && child->cgroup_fd >= 0) report_if_done(child);
        child = next;
    }
}

static int next_timeout_ms(void) {
    int64_t nearest = 0;
    for (struct child *child = children; child; child = child->next) {
        if (child->cgroup_killed && child->cgroup_fd >= 0) {
            int64_t again = now_ms() + CGROUP_POLL_MS;
            if (!nearest || again < nearest) nearest = again;
        }
    }
    for (struct pending_kill *entry = pending_kills; entry; entry = entry->next) {
        if (!nearest || entry->deadline_ms < nearest) nearest = entry->deadline_ms;
    }
    for (struct child *child = children; child; child = child->next) {
        if (child->linger_deadline_ms && (!nearest || child->linger_deadline_ms < nearest)) {
            nearest = child->linger_deadline_ms;
        }
        if (child->fence_at_ms && !child->fenced && !child->reaped
            && (!nearest || child->fence_at_ms < nearest)) {
            nearest = child->fence_at_ms;
        }
    }
    if (shutting_down && (!nearest || shutdown_deadline_ms < nearest)) nearest = shutdown_deadline_ms;
    if (!nearest) return -1;
    int64_t wait = nearest - now_ms();
    return wait < 0 ? 0 : (int)(wait > 60000 ? 60000 : wait);
}

/* Ends the children whose deadline has passed; the exit they report carries EXIT_FENCED. */
static void expire_fences(void) {
    int64_t now = now_ms();
    for (struct child *child = children; child; child = child->next) {
        if (!child->fence_at_ms || child->fenced || child->reaped || child->fence_at_ms > now) continue;
        child->fenced = 1;
        if (child->report_fd >= 0) {
            /* Not yet past execve: the signal waits for it, as a worker's would. */
            child->pending_signal = SIGTERM;
            child->pending_group = 1;
            child->pending_kill_after_ms = child->fence_kill_after_ms;
        } else {
            deliver_signal(child, SIGTERM, 1, child->fence_kill_after_ms);
        }
    }
}

static void kill_all_groups(void) {
    for (struct child *child = children; child; child = child->next) {
        /* Before its setsid a child is in the helper's group: it is killed by pid. */
        if (child->report_fd >= 0 && !child->reaped) kill(child->pid, SIGKILL);
        signal_group(child, SIGKILL);
    }
    expire_pending_kills(1);
}

/* ---- spawning ---------------------------------------------------------------------------- */

/* Limits written into a child's cgroup; only these files may be named. */
#define MAX_CGROUP_FILES 8
static int allowed_cgroup_file(const char *name) {
    return strcmp(name, "memory.max") == 0 || strcmp(name, "memory.high") == 0
           || strcmp(name, "memory.swap.max") == 0 || strcmp(name, "pids.max") == 0
           || strcmp(name, "cpu.max") == 0;
}

struct limit {
    uint32_t resource;
    uint64_t soft;
    uint64_t hard;
};

struct spawn {
    uint64_t id;
    uint32_t tail_bytes;
    uint32_t linger_ms;
    uint32_t limit_count;
    struct limit limits[8];
    uint32_t uid; /* ID_UNCHANGED: the helper's */
    uint32_t gid;
    char *cgroup; /* the child's own cgroup, to be made; NULL: none */
    uint32_t cgroup_file_count;
    char *cgroup_files[MAX_CGROUP_FILES]; /* file names, e.g. memory.max */
    char *cgroup_values[MAX_CGROUP_FILES];
    char *directory; /* NULL: the helper's own */
    char *path;
    char **argv;
    char **envp;
};

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_fail(int report_fd, uint32_t stage) {
    uint32_t message[2] = {stage, (uint32_t)errno};
    ssize_t ignored = write(report_fd, message, sizeof message);
    (void)ignored;
    _exit(127);
}

static void child_exec(const struct spawn *spawn, int output_fd, int report_fd, int procs_fd) {
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    for (int number = 1; number < NSIG; number++) {
        sigaction(number, &default_action, NULL); /* fails harmlessly for KILL, STOP, 32, 33 */
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    /* Forked without clone3: into the job's cgroup first, before anything of the job runs. */
    if (procs_fd >= 0 && write(procs_fd, "0", 1) != 1) child_fail(report_fd, STAGE_CGROUP);
    if (setsid() < 0) child_fail(report_fd, STAGE_SETSID);
    /* Limits before the user changes: only the helper's user may raise a hard limit. */
    for (uint32_t index = 0; index < spawn->limit_count; index++) {
        struct rlimit value = {.rlim_cur = spawn->limits[index].soft,
                               .rlim_max = spawn->limits[index].hard};
        if (setrlimit((int)spawn->limits[index].resource, &value) < 0) {
            child_fail(report_fd, STAGE_RLIMIT);
        }
    }
    if (spawn->uid != ID_UNCHANGED || spawn->gid != ID_UNCHANGED) {
        /*
         * Groups, then group, then user: after setresuid nothing else may be changed. Raw
         * system calls, not glibc's wrappers: those signal every thread of the process to change
         * its credentials too (not async-signal-safe), and after fork there is only this one.
         * All three ids are set (real, effective, saved), so the program cannot switch back, and
         * every supplementary group is dropped: the worker's groups are not the child's.
         */
        if (syscall(SYS_setgroups, 0, NULL) < 0) child_fail(report_fd, STAGE_SETGROUPS);
        if (spawn->gid != ID_UNCHANGED
            && syscall(SYS_setresgid, spawn->gid, spawn->gid, spawn->gid) < 0) {
            child_fail(report_fd, STAGE_SETGID);
        }
        /*
         * The output pipe was made by the helper and is its user's, mode 0600: a program that
         * reopens it (`echo > /dev/stderr` opens /proc/self/fd/2) could not once it is someone
         * else. It becomes the child's (while this is still the helper's user, who may chown);
         * the helper's read end is the same pipe, still readable.
         */
        if (fchown(output_fd, spawn->uid, spawn->gid) < 0) child_fail(report_fd, STAGE_STDIO);
        if (spawn->uid != ID_UNCHANGED
            && syscall(SYS_setresuid, spawn->uid, spawn->uid, spawn->uid) < 0) {
            child_fail(report_fd, STAGE_SETUID);
        }
    }
    /* After the user changed: the kernel clears the parent-death signal on a change of user. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) child_fail(report_fd, STAGE_PDEATHSIG);
    /* The helper may have died before the line above: then nobody would ever kill us. */
    if (getppid() != self_pid) _exit(127);
    /* As the child's user, so a directory it may not enter is refused here, with the reason. */
    if (spawn->directory && chdir(spawn->directory) < 0) child_fail(report_fd, STAGE_CHDIR);
    if (dup2(dev_null, STDIN_FILENO) < 0 || dup2(output_fd, STDOUT_FILENO) < 0
        || dup2(output_fd, STDERR_FILENO) < 0) {
        child_fail(report_fd, STAGE_STDIO);
    }
    /* Everything else is close-on-exec already; this also covers what a library left open. */
    syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
    execve(spawn->path, spawn->argv, spawn->envp);
    child_fail(report_fd, STAGE_EXEC);
}

/*
 * Makes the child's cgroup and writes its limits; opens the directory (for clone3 and later
 * cgroup.kill) and its cgroup.procs (for a child that has to move itself). A cgroup of the same
 * name left behind by a helper that was killed is taken over when it is empty.
 */
static int cgroup_create(const struct spawn *spawn, int *dir_fd, int *procs_fd) {
    int made = mkdir(spawn->cgroup, 0755) == 0;
    if (!made && errno != EEXIST) return -1;
    int error;
    int fd = open(spawn->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        error = errno;
        goto fail;
    }
    if (!made && cgroup_populated(fd)) {
        close(fd);
        errno = EBUSY; /* someone else's processes: never mixed with a new child's */
        return -1;
    }
    for (uint32_t index = 0; index < spawn->cgroup_file_count; index++) {
        if (cgroup_write(fd, spawn->cgroup_files[index], spawn->cgroup_values[index]) < 0) {
            error = errno;
            close(fd);
            goto fail;
        }
    }
    *procs_fd = openat(fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (*procs_fd < 0) {
        error = errno;
        close(fd);
        goto fail;
    }
    *dir_fd = fd;
    return 0;
fail:
    rmdir(spawn->cgroup);
    errno = error;
    return -1;
}

/*
 * fork, or with a cgroup clone3 with CLONE_INTO_CGROUP: the child begins life in the cgroup, so
 * not even its first instruction runs outside it. glibc has no clone3 wrapper; without CLONE_VM
 * the raw system call returns in the child on a copy of this stack, as fork does. A kernel older
 * than 5.7 refuses it (ENOSYS, E2BIG or EINVAL): then fork, and *procs_fd stays for the child to
 * write itself into cgroup.procs before it execs; otherwise it is closed and set to -1.
 */
static pid_t start_process(int cgroup_fd, int *procs_fd) {
    if (cgroup_fd >= 0 && clone_into_cgroup) {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)cgroup_fd;
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid >= 0) {
            if (pid > 0) {
                close(*procs_fd);
                *procs_fd = -1;
            } else {
                *procs_fd = -1;
            }
            return (pid_t)pid;
        }
        if (errno != ENOSYS && errno != E2BIG && errno != EINVAL) return -1;
        clone_into_cgroup = 0;
    }
    return fork();
}

static void spawn_child(const struct spawn *spawn) {
    if (child_count >= MAX_CHILDREN) {
        send_error(spawn->id, ERROR_TOO_MANY_CHILDREN, "too many children");
        return;
    }
    int output[2];
    int report[2];
    if (pipe2(output, O_CLOEXEC) < 0) {
        send_spawn_failed(spawn->id, STAGE_PIPE, errno);
        return;
    }
    if (pipe2(report, O_CLOEXEC) < 0) {
        int error = errno;
        close(output[0]);
        close(output[1]);
        send_spawn_failed(spawn->id, STAGE_PIPE, error);
        return;
    }
    struct child *child = calloc(1, sizeof *child);
    if (!child) {
        close(output[0]); close(output[1]); close(report[0]); close(report[1]);
        send_spawn_failed(spawn->id, STAGE_FORK, ENOMEM);
        return;
    }
    child->cgroup_fd = -1;
    int procs_fd = -1;
    if (spawn->cgroup) {
        child->cgroup_path = strdup(spawn->cgroup);
        if (!child->cgroup_path || cgroup_create(spawn, &child->cgroup_fd, &procs_fd) < 0) {
            int error = child->cgroup_path ? errno : ENOMEM;
            close(output[0]); close(output[1]); close(report[0]); close(report[1]);
            free(child->cgroup_path);
            free(child);
            send_spawn_failed(spawn->id, STAGE_CGROUP, error);
            return;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &child->started);
    pid_t pid = start_process(child->cgroup_fd, &procs_fd);
    if (pid < 0) {
        int error = errno;
        close(output[0]); close(output[1]); close(report[0]); close(report[1]);
        if (procs_fd >= 0) close(procs_fd);
        if (child->cgroup_fd >= 0) {
            close(child->cgroup_fd);
            rmdir(child->cgroup_path);
        }
        free(child->cgroup_path);
        free(child);
        send_spawn_failed(spawn->id, spawn->cgroup && clone_into_cgroup ? STAGE_CGROUP : STAGE_FORK, error);
        return;
    }
    if (pid == 0) {
        close(output[0]);
        close(report[0]);
        child_exec(spawn, output[1], report[1], procs_fd);
    }
    close(output[1]);
    close(report[1]);
    if (procs_fd >= 0) close(procs_fd);
    /*
     * The report pipe closes at exec; anything read from it is the reason exec never came. It
     * is read from the loop, not here: the next child is forked while this one is still in
     * execve on the other core, and SPAWNED goes out once the pipe says the exec happened.
     */
    if (fcntl(output[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(report[0], F_SETFL, O_NONBLOCK) < 0) {
        die("fcntl child pipes");
    }
    child->id = spawn->id;
    child->pid = pid;
    child->out_fd = output[0];
    child->report_fd = report[0];
    child->tail_capacity = spawn->tail_bytes;
    child->linger_ms = spawn->linger_ms;
    child->out_watch = (struct watch){WATCH_OUTPUT, child};
    child->report_watch = (struct watch){WATCH_REPORT, child};
    child->next = children;
    children = child;
    child_count++;
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = &child->out_watch};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, output[0], &event) < 0) die("epoll_ctl child pipe");
    event.data.ptr = &child->report_watch;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, report[0], &event) < 0) die("epoll_ctl report pipe");
}

/* ---- frames from the worker ------------------------------------------------------------ */

struct reader {
    const uint8_t *at;
    const uint8_t *end;
    int bad;
};

static uint32_t take_u32(struct reader *reader) {
    if (reader->end - reader->at < 4) {
        reader->bad = 1;
        return 0;
    }
    const uint8_t *at = reader->at;
    reader->at += 4;
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

static uint64_t take_u64(struct reader *reader) {
    uint64_t low = take_u32(reader);
    return low | (uint64_t)take_u32(reader) << 32;
}

static uint8_t take_u8(struct reader *reader) {
    if (reader->end - reader->at < 1) {
        reader->bad = 1;
        return 0;
    }
    return *reader->at++;
}

/* A string of the frame, copied with a NUL at its end; NUL inside it makes the frame bad. */
static char *take_string(struct reader *reader, char **heap) {
    uint32_t length = take_u32(reader);
    if (reader->bad || (uint64_t)(reader->end - reader->at) < length) {
        reader->bad = 1;
        return NULL;
    }
    if (memchr(reader->at, 0, length)) {
        reader->bad = 1;
        return NULL;
    }
    char *copy = *heap;
    memcpy(copy, reader->at, length);
    copy[length] = 0;
    *heap += length + 1;
    reader->at += length;
    return copy;
}

static int allowed_resource(uint32_t resource) {
    return resource == RLIMIT_CPU || resource == RLIMIT_AS || resource == RLIMIT_NOFILE
           || resource == RLIMIT_NPROC || resource == RLIMIT_FSIZE || resource == RLIMIT_CORE
           || resource == RLIMIT_DATA || resource == RLIMIT_STACK;
}

static void handle_spawn(const uint8_t *payload, uint32_t length) {
    struct reader reader = {payload, payload + length, 0};
    struct spawn spawn;
    memset(&spawn, 0, sizeof spawn);
    spawn.id = take_u64(&reader);
    if (reader.bad) {
        send_error(0, ERROR_MALFORMED, "spawn frame too short for an id");
        return;
    }
    if (find_by_id(spawn.id)) {
        send_error(spawn.id, ERROR_DUPLICATE_ID, "a child with this id is running");
        return;
    }
    /* Strings copied with their NULs never need more than the frame itself plus one per string. */
    char *strings = malloc((size_t)length * 2 + 16);
    if (!strings) {
        send_spawn_failed(spawn.id, STAGE_FORK, ENOMEM);
        return;
    }
    char *heap = strings;
    const char *problem = NULL;
    spawn.tail_bytes = take_u32(&reader);
    spawn.linger_ms = take_u32(&reader);
    spawn.uid = take_u32(&reader);
    spawn.gid = take_u32(&reader);
    spawn.limit_count = take_u8(&reader);
    if (!reader.bad && spawn.tail_bytes > MAX_TAIL) problem = "tail size too large";
    if (!reader.bad && spawn.linger_ms > MAX_LINGER_MS) problem = "linger too long";
    if (!reader.bad && spawn.limit_count > 8) problem = "too many resource limits";
    for (uint32_t index = 0; !problem && !reader.bad && index < spawn.limit_count; index++) {
        spawn.limits[index].resource = take_u32(&reader);
        spawn.limits[index].soft = take_u64(&reader);
        spawn.limits[index].hard = take_u64(&reader);
        if (!reader.bad && !allowed_resource(spawn.limits[index].resource)) {
            problem = "resource limit not allowed";
        } else if (!reader.bad && spawn.limits[index].soft > spawn.limits[index].hard) {
            problem = "soft limit above hard limit";
        }
    }
    if (!problem && !reader.bad) {
        char *cgroup = take_string(&reader, &heap);
        spawn.cgroup = cgroup && cgroup[0] ? cgroup : NULL;
        if (spawn.cgroup && (spawn.cgroup[0] != '/' || strstr(spawn.cgroup, "/../")
                             || strstr(spawn.cgroup, "/./"))) {
            problem = "cgroup path is not absolute and normalised";
        }
        spawn.cgroup_file_count = take_u8(&reader);
        if (!problem && !reader.bad && spawn.cgroup_file_count > MAX_CGROUP_FILES) {
            problem = "too many cgroup limits";
        }
        if (!problem && !reader.bad && spawn.cgroup_file_count > 0 && !spawn.cgroup) {
            problem = "cgroup limits without a cgroup";
        }
        for (uint32_t index = 0; !problem && !reader.bad && index < spawn.cgroup_file_count; index++) {
            spawn.cgroup_files[index] = take_string(&reader, &heap);
            spawn.cgroup_values[index] = take_string(&reader, &heap);
            if (!reader.bad && !allowed_cgroup_file(spawn.cgroup_files[index])) {
                problem = "cgroup file not allowed";
            }
        }
    }
    if (!problem && !reader.bad) {
        char *directory = take_string(&reader, &heap);
        spawn.directory = directory && directory[0] ? directory : NULL;
        spawn.path = take_string(&reader, &heap);
        if (!reader.bad && (!spawn.path || !spawn.path[0])) problem = "empty program path";
    }
    uint32_t argc = 0;
    uint32_t envc = 0;
    if (!problem && !reader.bad) {
        argc = take_u32(&reader);
        if (!reader.bad && (argc == 0 || argc > MAX_ARGS || argc > length / 4)) {
            problem = "bad argument count";
        }
    }
    if (!problem && !reader.bad) {
        spawn.argv = calloc(argc + 1, sizeof(char *));
        if (!spawn.argv) problem = "out of memory";
        for (uint32_t index = 0; !problem && !reader.bad && index < argc; index++) {
            spawn.argv[index] = take_string(&reader, &heap);
        }
    }
    if (!problem && !reader.bad) {
        envc = take_u32(&reader);
        if (!reader.bad && (envc > MAX_ARGS || envc > length / 4 + 1)) problem = "bad environment count";
    }
    if (!problem && !reader.bad) {
        spawn.envp = calloc(envc + 1, sizeof(char *));
        if (!spawn.envp) problem = "out of memory";
        for (uint32_t index = 0; !problem && !reader.bad && index < envc; index++) {
            spawn.envp[index] = take_string(&reader, &heap);
            if (!reader.bad && (!strchr(spawn.envp[index], '=') || spawn.envp[index][0] == '=')) {
                problem = "environment entry is not NAME=value";
            }
        }
    }
    if (!problem && !reader.bad && reader.at != reader.end) problem = "trailing bytes in spawn frame";
    if (reader.bad && !problem) problem = "spawn frame truncated or holds a NUL inside a string";
    if (problem) {
        send_error(spawn.id, ERROR_MALFORMED, problem);
    } else if (shutting_down) {
        send_spawn_failed(spawn.id, STAGE_FORK, ESHUTDOWN);
    } else {
        spawn_child(&spawn);
    }
    free(spawn.argv);
    free(spawn.envp);
    free(strings);
}

static void handle_signal(const uint8_t *payload, uint32_t length) {
    struct reader reader = {payload, payload + length, 0};
    uint64_t id = take_u64(&reader);
    uint32_t number = take_u32(&reader);
    uint8_t group = take_u8(&reader);
    uint32_t kill_after_ms = take_u32(&reader);
    if (reader.bad || reader.at != reader.end || number == 0 || number >= (uint32_t)NSIG
        || kill_after_ms > MAX_LINGER_MS * 10) {
        send_error(reader.bad ? 0 : id, ERROR_MALFORMED, "bad signal frame");
        return;
    }
    struct child *child = find_by_id(id);
    /* A child already reported is gone, and its pid may be someone else's by now. */
    if (!child) return;
    if (child->report_fd >= 0) {
        /* Not yet past execve, maybe not yet past setsid: the group may not exist yet. */
        child->pending_signal = number;
        child->pending_group = group;
        child->pending_kill_after_ms = kill_after_ms;
        return;
    }
    deliver_signal(child, number, group, kill_after_ms);
}

static void deliver_signal(struct child *child, uint32_t number, uint32_t group,
                           uint32_t kill_after_ms) {
    uint64_t id = child->id;
    if (group) {
        signal_group(child, (int)number);
    } else if (!child->reaped) {
        kill(child->pid, (int)number);
    }
    if (kill_after_ms > 0) {
        struct pending_kill *entry = malloc(sizeof *entry);
        if (!entry) {
            signal_group(child, SIGKILL); /* no memory to wait: the grace is cut short */
            return;
        }
        entry->id = id;
        entry->group = child->pid;
        entry->deadline_ms = now_ms() + kill_after_ms;
        entry->next = pending_kills;
        pending_kills = entry;
    }
}

/*
 * DEADLINE: id, the moment (CLOCK_MONOTONIC, nanoseconds) to begin ending the child, and the
 * grace before KILL. A later frame moves the deadline (the worker renewed the lease); a
 * deadline of 0 removes it. A deadline already passed starts the ending at once.
 */
static void handle_deadline(const uint8_t *payload, uint32_t length) {
    struct reader reader = {payload, payload + length, 0};
    uint64_t id = take_u64(&reader);
    uint64_t fence_at_ns = take_u64(&reader);
    uint32_t kill_after_ms = take_u32(&reader);
    if (reader.bad || reader.at != reader.end || kill_after_ms > MAX_LINGER_MS * 10
        || fence_at_ns > (uint64_t)INT64_MAX) {
        send_error(reader.bad ? 0 : id, ERROR_MALFORMED, "bad deadline frame");
        return;
    }
    struct child *child = find_by_id(id);
    if (!child || child->fenced) return;
    /* Rounded down: a deadline is never kept late. A 0 after rounding is still a deadline. */
    child->fence_at_ms = fence_at_ns == 0 ? 0 : (int64_t)(fence_at_ns / 1000000u);
    if (fence_at_ns != 0 && child->fence_at_ms == 0) child->fence_at_ms = 1;
    child->fence_kill_after_ms = kill_after_ms;
}

static void begin_shutdown(void) {
    if (shutting_down) return;
    shutting_down = 1;
    shutdown_deadline_ms = now_ms() + SHUTDOWN_WAIT_MS;
    kill_all_groups();
}

static void handle_frame(uint8_t type, const uint8_t *payload, uint32_t length) {
    if (!said_hello) {
        if (type != FRAME_HELLO || length != 4) {
            send_error(0, ERROR_NO_HELLO, "the first frame must be hello");
            return;
        }
        struct reader reader = {payload, payload + length, 0};
        uint32_t version = take_u32(&reader);
        if (version != PROTOCOL_VERSION) {
            send_error(0, ERROR_VERSION, "unsupported protocol version");
            return;
        }
        said_hello = 1;
        uint32_t features = 0;
        int subreaper = 0;
        if (prctl(PR_GET_CHILD_SUBREAPER, &subreaper) == 0 && subreaper) {
            features |= FEATURE_SUBREAPER;
        }
        if (syscall(SYS_close_range, ~0u - 1, ~0u, 0) == 0) features |= FEATURE_CLOSE_RANGE;
        size_t frame = begin_frame(FRAME_HELLO_ACK);
        put_u32(PROTOCOL_VERSION);
        put_u32(features);
        put_u32((uint32_t)self_pid);
        struct timespec clock;
        clock_gettime(CLOCK_MONOTONIC, &clock);
        put_u64((uint64_t)clock.tv_sec * 1000000000u + (uint64_t)clock.tv_nsec);
        end_frame(frame);
        return;
    }
    switch (type) {
    case FRAME_SPAWN:
        handle_spawn(payload, length);
        break;
    case FRAME_SIGNAL:
        handle_signal(payload, length);
        break;
    case FRAME_DEADLINE:
        handle_deadline(payload, length);
        break;
    case FRAME_SHUTDOWN:
        if (length != 0) {
            send_error(0, ERROR_MALFORMED, "shutdown frame has a payload");
            return;
        }
        begin_shutdown();
        break;
    case FRAME_HELLO:
        send_error(0, ERROR_MALFORMED, "hello was already said");
        break;
    default:
        send_error(0, ERROR_UNKNOWN_TYPE, "unknown frame type");
        break;
    }
}

static void read_control(void) {
    while (1) {
        if (skip_bytes > 0) {
            static uint8_t sink[READ_CHUNK];
            size_t want = skip_bytes < sizeof sink ? (size_t)skip_bytes : sizeof sink;
            ssize_t count = read(STDIN_FILENO, sink, want);
            if (count > 0) {
                skip_bytes -= (uint64_t)count;
                continue;
            }
            if (count < 0 && errno == EINTR) continue;
            if (count < 0 && errno == EAGAIN) return;
            in_closed = 1;
            return;
        }
        ssize_t count = read(STDIN_FILENO, in_buf + in_len, MAX_FRAME + 4 - in_len);
        if (count == 0) {
            in_closed = 1;
            return;
        }
        if (count < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            in_closed = 1;
            return;
        }
        in_len += (size_t)count;
        size_t at = 0;
        while (in_len - at >= 4) {
            const uint8_t *head = in_buf + at;
            uint32_t length = (uint32_t)head[0] | (uint32_t)head[1] << 8 | (uint32_t)head[2] << 16
                              | (uint32_t)head[3] << 24;
            if (length == 0) {
                send_error(0, ERROR_MALFORMED, "empty frame");
                at += 4;
                continue;
            }
            if (length > MAX_FRAME) {
                send_error(0, ERROR_OVERSIZED, "frame larger than the limit");
                uint64_t have = in_len - at - 4;
                if (have >= length) {
                    at += 4 + (size_t)length;
                    continue;
                }
                skip_bytes = length - have;
                at = in_len;
                break;
            }
            if (in_len - at - 4 < length) break;
            handle_frame(head[4], head + 5, length - 1);
            at += 4 + (size_t)length;
        }
        memmove(in_buf, in_buf + at, in_len - at);
        in_len -= at;
    }
}

/* ---- set-up and the loop ----------------------------------------------------------------- */

static void set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) die("fcntl O_NONBLOCK");
}

static void handle_signals(void) {
    struct signalfd_siginfo info;
    int child_ended = 0;
    while (read(signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
        if (info.ssi_signo == SIGCHLD) {
            child_ended = 1;
        } else if (info.ssi_signo == SIGHUP && getppid() != parent_pid) {
            /* PR_SET_PDEATHSIG: the worker died without closing our stdin first. */
            in_closed = 1;
        }
        /* SIGINT and SIGTERM are the worker's to act on (a Ctrl-C reaches the whole process
           group): the worker says when to stop, by SHUTDOWN or by going away. */
    }
    if (child_ended) reap();
}

int main(int argc, char **argv) {
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "procq-spawnd: started by the procq worker only; it takes no arguments\n");
        return 2;
    }
    self_pid = getpid();
    parent_pid = getppid();

    /* Whatever the parent left open is not passed on to any child. */
    for (int fd = 3; fd < 1024; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);

    sigset_t handled;
    sigemptyset(&handled);
    sigaddset(&handled, SIGCHLD);
    sigaddset(&handled, SIGHUP);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGQUIT);
    if (sigprocmask(SIG_BLOCK, &handled, NULL) < 0) die("sigprocmask");
    signal(SIGPIPE, SIG_IGN);
    signal_fd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd < 0) die("signalfd");
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    /*
     * Not dumpable: /proc/<helper>/environ, mem, fd and maps become root's, and no process of the
     * helper's own user may ptrace it or open its pipes through /proc/<helper>/fd; only
     * CAP_SYS_PTRACE can. A child that runs as another user is kept out by its uid already; this
     * also keeps out the children of types that run as the worker's user. A child's own execve
     * makes it dumpable again, as any program is.
     */
    if (prctl(PR_SET_DUMPABLE, 0) < 0) die("prctl PR_SET_DUMPABLE");
    if (prctl(PR_SET_PDEATHSIG, SIGHUP) < 0) die("prctl PR_SET_PDEATHSIG");
    if (getppid() != parent_pid) return 0; /* the worker is gone already */

    dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (dev_null < 0) die("open /dev/null");
    in_buf = malloc(MAX_FRAME + 4);
    if (!in_buf) die("malloc");
    set_nonblocking(STDIN_FILENO);
    set_nonblocking(STDOUT_FILENO);
    /*
     * The worker writes a burst of spawn frames after each claim (500 at concurrency 500, about
     * 250 bytes each). With the default 64 KiB pipe its claim loop blocked on the write until the
     * forks caught up, and could not write results meanwhile. 1 MiB is the unprivileged maximum
     * (/proc/sys/fs/pipe-max-size); a smaller pipe only costs that wait.
     */
    fcntl(STDIN_FILENO, F_SETPIPE_SZ, 1 << 20);
    fcntl(STDOUT_FILENO, F_SETPIPE_SZ, 1 << 20);

    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) die("epoll_create1");
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = &tag_control_in};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, STDIN_FILENO, &event) < 0) die("epoll_ctl stdin");
    event.data.ptr = &tag_signals;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, signal_fd, &event) < 0) die("epoll_ctl signalfd");
    event.events = 0;
    event.data.ptr = &tag_control_out;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, STDOUT_FILENO, &event) < 0) die("epoll_ctl stdout");

    struct epoll_event events[256];
    while (1) {
        int ready = epoll_wait(epoll_fd, events, 256, next_timeout_ms());
        if (ready < 0 && errno != EINTR) die("epoll_wait");
        for (int index = 0; index < ready; index++) {
            void *tag = events[index].data.ptr;
            if (tag == &tag_control_in) {
                read_control();
            } else if (tag == &tag_signals) {
                handle_signals();
            } else if (tag == &tag_control_out) {
                /* flushed below */
            } else {
                struct watch *watch = tag;
                /* Reported children are freed only after this round: their watches stay valid. */
                if (watch->kind == WATCH_OUTPUT) {
                    read_output(watch->child);
                } else {
                    read_report(watch->child);
                }
            }
        }
        expire_fences();
        expire_lingering();
        expire_cgroups();
        expire_pending_kills(0);
        free_reported();
        flush_out();
        if (in_closed) {
            /* The worker is gone: nobody will ever stop these children, so stop them now. */
            kill_all_groups();
            remove_cgroups_at_exit();
            return 0;
        }
        if (shutting_down && (!children || now_ms() >= shutdown_deadline_ms)) {
            /* Block until the last frames are out: the worker waits for them. */
            int flags = fcntl(STDOUT_FILENO, F_GETFL);
            fcntl(STDOUT_FILENO, F_SETFL, flags & ~O_NONBLOCK);
            flush_out();
            remove_cgroups_at_exit();
            return 0;
        }
    }
}

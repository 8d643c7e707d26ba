/* lock.c - the one-writer rule: an flock on <db_dir>/lock held for a whole
 * index pass, with the holder's pid written inside so a second run can say
 * who it is waiting for. Readers never take it (WAL lets them run). */
#include "indexer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Locks this process holds, by lock-file inode: flock() conflicts between
 * two descriptors of one process, so a caller that took the lock before
 * store_open must not be refused by idx_run taking it again. */
#define LOCK_MAX_HELD 16
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    dev_t dev;
    ino_t ino;
    pid_t pid; /* a forked child inherits the table, not the right */
    int fd;
} g_held[LOCK_MAX_HELD];
static int g_n_held;

static bool held_by_us(const struct stat *sb)
{
    bool yes = false;
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < g_n_held; i++)
        if (g_held[i].dev == sb->st_dev && g_held[i].ino == sb->st_ino &&
            g_held[i].pid == getpid())
            yes = true;
    pthread_mutex_unlock(&g_mu);
    return yes;
}

static long read_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

static odx_status busy_error(odx_err *err, int fd, const char *path, double waited_s)
{
    long pid = read_pid(fd);
    char who[48] = "";
    if (pid > 0)
        snprintf(who, sizeof who, " (pid %ld)", pid);
    if (waited_s > 0)
        return core_err(err, ODX_ERR_LOCKED,
                        "gave up after %.0f s waiting for another omnidex index run%s"
                        " holding the lock '%s'", waited_s, who, path);
    return core_err(err, ODX_ERR_LOCKED,
                    "another omnidex index run%s holds the lock '%s'; use --wait to"
                    " wait for it", who, path);
}

/* Blocks in flock() when the wait has no bound (a signal handler's EINTR
 * checks cancel); polls LOCK_NB every 50 ms when it has one. */
static int take(int fd, bool wait, double deadline, volatile int *cancel)
{
    if (!wait || deadline <= 0)
        return flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        if (cancel && *cancel) {
            errno = EINTR;
            return -1;
        }
        if (core_now() >= deadline) {
            errno = EWOULDBLOCK;
            return -1;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

odx_status idx_lock_acquire(const char *db_dir, bool wait,
                            volatile int *cancel, int *fd_out, odx_err *err)
{
    return idx_lock_acquire_for(db_dir, wait, 0, cancel, fd_out, err);
}

odx_status idx_lock_acquire_for(const char *db_dir, bool wait, double max_wait_s,
                                volatile int *cancel, int *fd_out, odx_err *err)
{
    odx_status st = ODX_OK;
    char *path = core_sprintf("%s/lock", db_dir);
    int fd = -1;
    double t0 = core_now();
    double deadline = wait && max_wait_s > 0 ? t0 + max_wait_s : 0;
    if (!path)
        return core_err(err, ODX_ERR_NOMEM, "no memory for the lock path");
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = core_err_errno(err, ODX_ERR_IO, "cannot open lock file '%s'", path);
        goto done;
    }
    struct stat sb, sp;
    if (fstat(fd, &sb) == 0 && held_by_us(&sb)) {
        close(fd);
        fd = -1; /* nested: the outer holder releases */
        goto done;
    }
    for (;;) {
        if (take(fd, wait, deadline, cancel) == 0) {
            /* A rebuild --fresh may have swapped the directory while we
             * waited: then we hold the old inode; take the current one. */
            if (stat(path, &sp) == 0 && fstat(fd, &sb) == 0 &&
                sp.st_ino == sb.st_ino && sp.st_dev == sb.st_dev)
                break;
            close(fd);
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
            if (fd < 0) {
                st = core_err_errno(err, ODX_ERR_IO, "cannot open lock file '%s'",
                                    path);
                goto done;
            }
            continue;
        }
        if (errno == EINTR) {
            if (cancel && *cancel) {
                st = core_err(err, ODX_ERR_INTERRUPTED,
                              "stopped while waiting for the lock '%s'", path);
                goto done;
            }
            continue;
        }
        if (errno == EWOULDBLOCK) {
            st = busy_error(err, fd, path, wait ? core_now() - t0 : 0);
            goto done;
        }
        st = core_err_errno(err, ODX_ERR_IO, "cannot lock '%s'", path);
        goto done;
    }
    /* The pid is informative only: the flock is the lock. */
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        core_log(CORE_LOG_WARN, "cannot write pid into '%s': %s", path,
                 strerror(errno));
    if (fstat(fd, &sb) == 0) {
        pthread_mutex_lock(&g_mu);
        if (g_n_held < LOCK_MAX_HELD) {
            g_held[g_n_held].dev = sb.st_dev;
            g_held[g_n_held].ino = sb.st_ino;
            g_held[g_n_held].pid = getpid();
            g_held[g_n_held].fd = fd;
            g_n_held++;
        }
        pthread_mutex_unlock(&g_mu);
    }
done:
    if (st != ODX_OK && fd >= 0) {
        close(fd);
        fd = -1;
    }
    if (st == ODX_OK)
        *fd_out = fd;
    free(path);
    return st;
}

void idx_lock_release(int fd)
{
    if (fd < 0)
        return;
    /* Leave the file in place: unlinking it would let a waiter lock an
     * orphaned inode while a newcomer locks a fresh one. */
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < g_n_held; i++)
        if (g_held[i].fd == fd) {
            g_held[i] = g_held[--g_n_held];
            break;
        }
    pthread_mutex_unlock(&g_mu);
    if (ftruncate(fd, 0) != 0) {
        /* nothing useful to do: the flock goes with the close */
    }
    close(fd);
}

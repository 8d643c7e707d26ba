/* buf.c - growable, NUL-terminated byte buffers with a hard cap, plus
 * small string and file helpers shared by every stage. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void core_buf_init(core_buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max ? max : ((size_t)1 << 30);
}

static bool buf_reserve(core_buf *b, size_t extra)
{
    if (b->overflow)
        return false;
    if (extra > b->max || b->len + extra > b->max) {
        b->overflow = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->overflow = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

bool core_buf_append(core_buf *b, const void *p, size_t n)
{
    if (!buf_reserve(b, n))
        return false;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

bool core_buf_puts(core_buf *b, const char *s) { return core_buf_append(b, s, strlen(s)); }

bool core_buf_printf(core_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !buf_reserve(b, (size_t)n))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

char *core_buf_steal(core_buf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    size_t max = b->max;
    core_buf_init(b, max);
    return p;
}

void core_buf_free(core_buf *b)
{
    free(b->data);
    size_t max = b->max;
    core_buf_init(b, max);
}

char *core_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

char *core_sprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

double core_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int core_n_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

odx_status core_read_file(const char *path, int64_t max_bytes, uint8_t **out,
                          size_t *len, odx_err *err)
{
    odx_status st = ODX_OK;
    uint8_t *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return core_err_errno(err, ODX_ERR_IO, "cannot open '%s'", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = core_err_errno(err, ODX_ERR_IO, "cannot stat '%s'", path);
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = core_err(err, ODX_ERR_IO, "'%s' is not a regular file", path);
        goto done;
    }
    if (max_bytes > 0 && sb.st_size > max_bytes) {
        st = core_err(err, ODX_ERR_LIMIT, "'%s' is %lld bytes, over the limit of %lld",
                      path, (long long)sb.st_size, (long long)max_bytes);
        goto done;
    }
    size_t n = (size_t)sb.st_size, got = 0;
    data = malloc(n + 1);
    if (!data) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory for '%s' (%zu bytes)", path, n);
        goto done;
    }
    while (got < n) {
        ssize_t r = read(fd, data + got, n - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            st = core_err_errno(err, ODX_ERR_IO, "cannot read '%s'", path);
            goto done;
        }
        if (r == 0)
            break; /* file shrank while reading: keep what we have */
        got += (size_t)r;
    }
    data[got] = 0;
    *out = data;
    *len = got;
    data = NULL;
done:
    free(data);
    close(fd);
    return st;
}

odx_status core_write_atomic(const char *path, const void *data, size_t len,
                             odx_err *err)
{
    char *tmp = core_sprintf("%s.tmp.%ld", path, (long)getpid());
    if (!tmp)
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    odx_status st = ODX_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = core_err_errno(err, ODX_ERR_IO, "cannot create '%s'", tmp);
        goto done;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            st = core_err_errno(err, ODX_ERR_IO, "cannot write '%s'", tmp);
            close(fd);
            unlink(tmp);
            goto done;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        st = core_err_errno(err, ODX_ERR_IO, "cannot sync '%s'", tmp);
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        st = core_err_errno(err, ODX_ERR_IO, "cannot rename '%s' to '%s'", tmp, path);
        unlink(tmp);
        goto done;
    }
    char *dcopy = core_strdup(path);
    if (dcopy) {
        int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dcopy);
    }
done:
    free(tmp);
    return st;
}

int core_utf8_next(const char *s, size_t len, int32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len == 0) {
        *cp = 0;
        return 0;
    }
    unsigned c = u[0];
    int n;
    int32_t v, min;
    if (c < 0x80) {
        *cp = (int32_t)c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if ((size_t)n > len) {
        *cp = 0xFFFD;
        return 1;
    }
    for (int i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (u[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return n;
    }
    *cp = v;
    return n;
}

bool core_is_cjk(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x3134F) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0x3040 && c <= 0x30FF) || (c >= 0x31F0 && c <= 0x31FF) ||
           (c >= 0xAC00 && c <= 0xD7AF);
}

bool core_has_cjk(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        i += (size_t)core_utf8_next(s + i, n - i, &cp);
        if (core_is_cjk(cp))
            return true;
    }
    return false;
}

char *core_utf8_sanitize(const char *s, size_t len)
{
    core_buf b;
    core_buf_init(&b, 0);
    size_t i = 0;
    while (i < len) {
        int32_t cp;
        int n = core_utf8_next(s + i, len - i, &cp);
        if (cp == 0xFFFD && !(n == 3 && (unsigned char)s[i] == 0xEF))
            core_buf_append(&b, "\xEF\xBF\xBD", 3);
        else
            core_buf_append(&b, s + i, (size_t)n);
        i += (size_t)n;
    }
    return core_buf_steal(&b);
}

/* srv_file.c - what GET /images/{id}/file needs apart from sockets: the
 * Range header read into one byte span, If-Range compared strongly, the
 * media type of an indexed format, and a Content-Disposition that names
 * the file safely. Pure
 * functions (unit-tested in tests/unit/test_srv_file.c); the handler that
 * checks the file against its indexed hash is in srv_http.c. */
#include "server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool srv_if_range_matches(const char *h, const char *tag)
{
    if (!h || !tag)
        return false;
    while (*h == ' ' || *h == '\t')
        h++;
    size_t n = strlen(h), tn = strlen(tag);
    while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    return n == tn + 2 && h[0] == '"' && h[n - 1] == '"' && memcmp(h + 1, tag, tn) == 0;
}

/* A decimal number of at most 18 digits at *p; moves *p past it. */
static bool read_num(const char **p, long long *out)
{
    const char *s = *p;
    long long v = 0;
    int n = 0;
    while (*s >= '0' && *s <= '9') {
        if (++n > 18)
            return false;
        v = v * 10 + (*s++ - '0');
    }
    if (n == 0)
        return false;
    *p = s;
    *out = v;
    return true;
}

int srv_range_parse(const char *h, long long size, long long *first, long long *last)
{
    if (!h || strncasecmp(h, "bytes=", 6) != 0 || size < 0)
        return 0;
    const char *p = h + 6;
    while (*p == ' ' || *p == '\t')
        p++;
    long long a = -1, b = -1;
    if (*p == '-') { /* suffix: the last b bytes */
        p++;
        if (!read_num(&p, &b))
            return 0;
    } else {
        if (!read_num(&p, &a) || *p++ != '-')
            return 0;
        if (*p >= '0' && *p <= '9' && !read_num(&p, &b))
            return 0;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p) /* a list of ranges, or junk: answer with the whole file */
        return 0;
    if (a < 0) { /* -b */
        if (b == 0 || size == 0)
            return -1;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    if (b >= 0 && b < a)
        return 0; /* invalid range-spec: ignored, like a malformed header */
    if (a >= size)
        return -1;
    *first = a;
    *last = b < 0 || b >= size ? size - 1 : b;
    return 1;
}

const char *srv_format_mime(const char *format)
{
    static const char *const map[][2] = {
        {"png", "image/png"},   {"jpeg", "image/jpeg"}, {"jpg", "image/jpeg"},
        {"webp", "image/webp"}, {"gif", "image/gif"},   {"tiff", "image/tiff"},
        {"bmp", "image/bmp"},   {"heic", "image/heic"}, {"heif", "image/heif"},
        {"avif", "image/avif"}};
    for (size_t i = 0; format && i < sizeof map / sizeof *map; i++)
        if (strcasecmp(format, map[i][0]) == 0)
            return map[i][1];
    return "application/octet-stream";
}

/* RFC 6266: a plain filename="..." for old clients (printable ASCII but
 * quote and backslash; others become '_') and filename*=UTF-8''... with
 * every byte outside the RFC 5987 attr-chars percent-encoded. The name is
 * the path's last component, cut at SRV_FILENAME_MAX bytes. */
void srv_content_disposition(const char *path, char *out, size_t out_len)
{
    if (!out || out_len == 0)
        return;
    const char *base = path ? strrchr(path, '/') : NULL;
    base = base ? base + 1 : path ? path : "";
    size_t n = strlen(base);
    if (n > SRV_FILENAME_MAX) {
        n = SRV_FILENAME_MAX;
        while (n > 0 && ((unsigned char)base[n] & 0xC0) == 0x80)
            n--; /* not inside a character */
    }
    char plain[SRV_FILENAME_MAX + 1], enc[3 * SRV_FILENAME_MAX + 1];
    size_t pe = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)base[i];
        plain[i] = c >= 0x20 && c < 0x7F && c != '"' && c != '\\' ? (char)c : '_';
        bool attr = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    strchr("!#$&+-.^_`|~", c) != NULL;
        if (c && attr) {
            enc[pe++] = (char)c;
        } else {
            static const char hex[] = "0123456789ABCDEF";
            enc[pe++] = '%';
            enc[pe++] = hex[c >> 4];
            enc[pe++] = hex[c & 15];
        }
    }
    plain[n] = 0;
    enc[pe] = 0;
    snprintf(out, out_len, "inline; filename=\"%s\"; filename*=UTF-8''%s", plain, enc);
}

/* srv_proto.c - HTTP/1.1 request parsing for `omnidex serve`, with no I/O:
 * bytes read by srv_net.c come in, a parsed request (method, decoded path
 * and arguments, the few headers the server uses) or an error with its
 * HTTP status goes out. Strict where leniency lets requests be smuggled
 * (folded or space-padded header names, two framings, odd lengths).
 * With the text helpers it needs nothing else, so the fuzz target links
 * this file alone. */
#include "server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------- helpers ---- */

bool srv_token_equal(const char *given, size_t given_len, const char *expected)
{
    size_t n = strlen(expected);
    /* Walk the whole expected token whatever the input, so the time taken
     * says nothing about how many leading bytes were right. */
    unsigned diff = given_len != n;
    for (size_t i = 0; i < n; i++) {
        unsigned char g = i < given_len ? (unsigned char)given[i] : 0;
        diff |= g ^ (unsigned char)expected[i];
    }
    return diff == 0;
}

bool srv_token_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 1024 || !srv_utf8_valid(t, n))
        return false;
    /* a header value loses its outer spaces, and control characters
     * cannot be typed or sent reliably: the help promises printable */
    if (t[0] == ' ' || t[0] == '\t' || t[n - 1] == ' ' || t[n - 1] == '\t')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c < 0x20 || c == 0x7F)
            return false;
        /* C1 controls U+0080..U+009F are C2 80..C2 9F in UTF-8 */
        if (c == 0xC2 && i + 1 < n && (unsigned char)t[i + 1] < 0xA0)
            return false;
    }
    return true;
}

bool srv_parse_long(const char *s, long min, long max, long *out)
{
    if (!s)
        return false;
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (!*p)
        return false;
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v > (1L << 40)) /* far beyond every range we accept */
            return false;
        v = v * 10 + (*p - '0');
    }
    if (neg)
        v = -v;
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool srv_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"", "1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    if (!s)
        s = "";
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, true;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, true;
    return false;
}

bool srv_valid_date(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return false;
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

bool srv_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        int n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i < (size_t)n + 1)
            return false;
        for (int k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        /* overlong, surrogates, beyond U+10FFFF */
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += (size_t)n + 1;
    }
    return true;
}

char *srv_utf8_fix(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        while (k <= 4 && i + k <= n && !srv_utf8_valid(s + i, k))
            k++;
        if (k <= 4 && i + k <= n) {
            memcpy(o + j, s + i, k);
            j += k;
            i += k;
        } else {
            o[j++] = '?';
            i++;
        }
    }
    o[j] = 0;
    return o;
}

/* ---------------------------------------------------------- requests ---- */

static int perr(srv_perr *e, int status, const char *code, const char *msg)
{
    e->status = status;
    e->code = code;
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    return -1;
}

/* RFC 9110 tchar: what a method or a header name may hold. */
static bool is_tchar(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return true;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (at least n + 1 bytes), '+' as a space
 * when plus; false on a bad escape or a decoded NUL. */
static bool pct_decode(const char *s, size_t n, bool plus, char *out, size_t *out_len)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
            if (c == 0)
                return false;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        out[j++] = (char)c;
    }
    out[j] = 0;
    *out_len = j;
    return true;
}

void srv_req_free(srv_req *r)
{
    if (!r)
        return;
    free(r->store);
    memset(r, 0, sizeof *r);
}

const char *srv_req_arg(const srv_req *r, const char *key)
{
    for (int i = 0; i < r->n_args; i++)
        if (strcmp(r->key[i], key) == 0)
            return r->val[i];
    return NULL;
}

/* Length of the line starting at p (without its end), and in *end_len the
 * length of the terminator (2 for CRLF, 1 for a bare LF); -1 when there is
 * no terminator in [p, lim), -2 on a CR not followed by LF. */
static long line_len(const char *p, const char *lim, int *end_len)
{
    for (const char *q = p; q < lim; q++) {
        if (*q == '\n') {
            *end_len = 1;
            return q - p;
        }
        if (*q == '\r') {
            if (q + 1 == lim)
                return -1;
            if (q[1] != '\n')
                return -2;
            *end_len = 2;
            return q - p;
        }
    }
    return -1;
}

/* Splits the query string into decoded arguments in r->store at *w. */
static int parse_query(srv_req *r, const char *q, size_t qn, char **w, srv_perr *e)
{
    size_t bytes = 0;
    const char *p = q, *lim = q + qn;
    while (p < lim) {
        const char *amp = memchr(p, '&', (size_t)(lim - p));
        const char *end = amp ? amp : lim;
        if (end > p) {
            if (r->n_args >= SRV_MAX_ARGS)
                return perr(e, 414, "too_large", "too many or too long query-string arguments");
            const char *eq = memchr(p, '=', (size_t)(end - p));
            const char *kend = eq ? eq : end;
            size_t kn, vn = 0;
            char *k = *w;
            if (!pct_decode(p, (size_t)(kend - p), true, k, &kn))
                return perr(e, 400, "bad_request", "bad percent-escape in the query string");
            *w += kn + 1;
            char *v = *w;
            if (eq) {
                if (!pct_decode(eq + 1, (size_t)(end - eq - 1), true, v, &vn))
                    return perr(e, 400, "bad_request",
                                "bad percent-escape in the query string");
            } else {
                v[0] = 0;
            }
            *w += vn + 1;
            bytes += kn + vn + 2;
            if (bytes > SRV_MAX_ARGS_BYTES)
                return perr(e, 414, "too_large", "too many or too long query-string arguments");
            if (!srv_utf8_valid(k, kn) || !srv_utf8_valid(v, vn))
                return perr(e, 400, "bad_request", "query-string arguments must be UTF-8 text");
            r->key[r->n_args] = k;
            r->val[r->n_args] = v;
            r->n_args++;
        }
        p = end + 1;
    }
    return 0;
}

/* The request target: origin-form "/path?query" or absolute-form
 * "http://authority/path?query" (whose authority then stands for Host). */
static int parse_target(srv_req *r, const char *t, size_t tn, char **w, const char **abs_host,
                        size_t *abs_host_len, srv_perr *e)
{
    *abs_host = NULL;
    if (tn >= 7 && strncasecmp(t, "http://", 7) == 0) {
        const char *a = t + 7, *lim = t + tn;
        const char *slash = memchr(a, '/', (size_t)(lim - a));
        const char *qm = memchr(a, '?', (size_t)(lim - a));
        const char *aend = slash ? slash : lim;
        if (qm && qm < aend)
            aend = qm;
        if (aend == a || memchr(a, '@', (size_t)(aend - a)))
            return perr(e, 400, "bad_request", "bad authority in the request target");
        *abs_host = a;
        *abs_host_len = (size_t)(aend - a);
        if (aend == lim || *aend == '?') {
            /* "http://host" or "http://host?x": the path is "/" */
            char *path = *w;
            path[0] = '/';
            path[1] = 0;
            *w += 2;
            r->path = path;
            if (aend < lim)
                return parse_query(r, aend + 1, (size_t)(lim - aend - 1), w, e);
            return 0;
        }
        tn = (size_t)(lim - aend);
        t = aend;
    }
    if (tn == 0 || t[0] != '/')
        return perr(e, 400, "bad_request", "the request target must be a path starting with /");
    const char *qm = memchr(t, '?', tn);
    size_t pn = qm ? (size_t)(qm - t) : tn;
    if (memchr(t, '#', tn))
        return perr(e, 400, "bad_request", "a request target carries no fragment (#)");
    char *path = *w;
    size_t dn;
    if (!pct_decode(t, pn, false, path, &dn) || !srv_utf8_valid(path, dn))
        return perr(e, 400, "bad_request", "bad percent-escape or bytes in the path");
    *w += dn + 1;
    /* Dot segments ("/a/../b", "/./x") and empty segments are refused
     * rather than resolved: no endpoint has them, so they only ever mean
     * someone probing for files outside the API. */
    for (size_t i = 0; i < dn; i++) {
        if (path[i] != '/')
            continue;
        const char *seg = path + i + 1;
        size_t sn = strcspn(seg, "/");
        if ((sn == 1 && seg[0] == '.') || (sn == 2 && seg[0] == '.' && seg[1] == '.') ||
            (sn == 0 && i + 1 < dn))
            return perr(e, 400, "bad_request", "the path has '.', '..' or empty segments");
    }
    r->path = path;
    if (qm)
        return parse_query(r, qm + 1, tn - pn - 1, w, e);
    return 0;
}

/* Comma-separated list: true when one element is tok (case-insensitive). */
static bool list_has(const char *v, const char *tok)
{
    size_t tn = strlen(tok);
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - s) == tn && strncasecmp(s, tok, tn) == 0)
            return true;
    }
    return false;
}

static int parse_head(const char *buf, size_t len, srv_req *r, srv_perr *e)
{
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    const char *p = buf, *lim = buf + len;
    int el = 0;
    /* Empty lines before the request line are ignored (RFC 9112 2.2). */
    long n;
    while ((n = line_len(p, lim, &el)) == 0)
        p += el;
    if (n == -2)
        return perr(e, 400, "bad_request", "a CR without LF in the request head");
    if (n == -1) {
        /* refuse what cannot become a request at once (a TLS hello, binary
         * junk) instead of waiting for a line end that may never come */
        for (const char *q = p; q < lim && *q != ' '; q++)
            if (!is_tchar((unsigned char)*q) && *q != '\r')
                return perr(e, 400, "bad_request", "malformed request line");
        if (len > SRV_MAX_LINE)
            return perr(e, 414, "too_large", "the request line is too long");
        return 0;
    }
    if (n > SRV_MAX_LINE)
        return perr(e, 414, "too_large", "the request line is too long");

    /* Whole head present? Find the empty line, checking limits on the way. */
    const char *line = p + n + el;
    const char *h = line;
    int n_headers = 0;
    size_t head_len = 0;
    for (;;) {
        long hn = line_len(h, lim, &el);
        if (hn == -2)
            return perr(e, 400, "bad_request", "a CR without LF in the request head");
        if (hn == -1) {
            if ((size_t)(lim - h) > SRV_MAX_FIELD)
                return perr(e, 431, "too_large", "a header field is too long");
            if (len > SRV_MAX_HEAD)
                return perr(e, 431, "too_large", "the request head is too large");
            return 0;
        }
        if (hn > SRV_MAX_FIELD)
            return perr(e, 431, "too_large", "a header field is too long");
        h += hn + el;
        if ((size_t)(h - buf) > SRV_MAX_HEAD)
            return perr(e, 431, "too_large", "the request head is too large");
        if (hn == 0)
            break;
        if (++n_headers > SRV_MAX_HEADERS)
            return perr(e, 431, "too_large", "too many header fields");
    }
    head_len = (size_t)(h - buf);

    /* Everything the request keeps is decoded into one block: the decoded
     * text is never longer than the raw head. */
    r->store = malloc(head_len * 3 + 64);
    if (!r->store)
        return perr(e, 500, "internal", "no memory for the request");
    char *w = r->store;

    /* Request line: METHOD SP target SP HTTP/d.d */
    const char *sp1 = memchr(p, ' ', (size_t)n);
    if (!sp1 || sp1 == p || sp1 - p >= (long)sizeof r->method)
        return perr(e, 400, "bad_request", "malformed request line");
    for (const char *q = p; q < sp1; q++)
        if (!is_tchar((unsigned char)*q))
            return perr(e, 400, "bad_request", "malformed method in the request line");
    memcpy(r->method, p, (size_t)(sp1 - p));
    r->method[sp1 - p] = 0;
    const char *t = sp1 + 1, *lend = p + n;
    const char *sp2 = memchr(t, ' ', (size_t)(lend - t));
    if (!sp2 || sp2 == t)
        return perr(e, 400, "bad_request", "malformed request line (HTTP/1.0 or 1.1 needed)");
    for (const char *q = t; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7F)
            return perr(e, 400, "bad_request", "the request target holds bytes it may not");
    const char *v = sp2 + 1;
    if (lend - v != 8 || strncmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
        v[6] != '.' || v[7] < '0' || v[7] > '9')
        return perr(e, 400, "bad_request", "malformed HTTP version in the request line");
    if (v[5] != '1')
        return perr(e, 505, "version_not_supported", "only HTTP/1.0 and HTTP/1.1 are supported");
    r->minor = v[7] - '0';
    r->target = w;
    memcpy(w, t, (size_t)(sp2 - t));
    w[sp2 - t] = 0;
    w += (sp2 - t) + 1;

    /* Headers */
    bool conn_close = false, conn_keep = false, have_te = false;
    const char *host = NULL;
    size_t host_len = 0;
    int n_host = 0;
    for (const char *q = line; q < buf + head_len;) {
        long hn = line_len(q, lim, &el);
        if (hn == 0)
            break;
        const char *hl = q, *hend = q + hn;
        q += hn + el;
        if (*hl == ' ' || *hl == '\t')
            return perr(e, 400, "bad_request", "folded header lines are not accepted");
        const char *colon = memchr(hl, ':', (size_t)(hend - hl));
        if (!colon || colon == hl)
            return perr(e, 400, "bad_request", "malformed header field");
        for (const char *c = hl; c < colon; c++)
            if (!is_tchar((unsigned char)*c))
                return perr(e, 400, "bad_request",
                            "malformed header name (no space before the colon)");
        const char *vs = colon + 1, *ve = hend;
        while (vs < ve && (*vs == ' ' || *vs == '\t'))
            vs++;
        while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        for (const char *c = vs; c < ve; c++) {
            unsigned char ch = (unsigned char)*c;
            if ((ch < 0x20 && ch != '\t') || ch == 0x7F)
                return perr(e, 400, "bad_request", "control character in a header value");
        }
        size_t nn = (size_t)(colon - hl), vn = (size_t)(ve - vs);
        char *val = w;
        memcpy(w, vs, vn);
        w[vn] = 0;
        w += vn + 1;
#define IS(name) (nn == sizeof(name) - 1 && strncasecmp(hl, name, nn) == 0)
        if (IS("Host")) {
            n_host++;
            host = val;
            host_len = vn;
        } else if (IS("Authorization")) {
            if (r->authorization)
                return perr(e, 400, "bad_request", "more than one Authorization header");
            r->authorization = val;
        } else if (IS("Content-Length")) {
            long long cl = 0;
            if (vn == 0 || vn > 18)
                return perr(e, 400, "bad_request", "Content-Length must be a decimal number");
            for (size_t i = 0; i < vn; i++) {
                if (val[i] < '0' || val[i] > '9')
                    return perr(e, 400, "bad_request",
                                "Content-Length must be a decimal number");
                cl = cl * 10 + (val[i] - '0');
            }
            if (r->content_length >= 0 && r->content_length != cl)
                return perr(e, 400, "bad_request", "conflicting Content-Length headers");
            r->content_length = cl;
        } else if (IS("Transfer-Encoding")) {
            have_te = true;
        } else if (IS("Connection")) {
            conn_close |= list_has(val, "close");
            conn_keep |= list_has(val, "keep-alive");
        } else if (IS("If-None-Match")) {
            r->if_none_match = val;
        } else if (IS("Range")) {
            /* two Range headers: which one? Neither (RFC 9110 lets a
             * server ignore Range), the whole file goes */
            r->range = r->range || r->range_twice ? NULL : val;
            r->range_twice = !r->range;
        } else if (IS("If-Range")) {
            r->if_range = val;
        } else if (IS("Content-Type")) {
            r->content_type = val;
        } else if (IS("Accept")) {
            r->accept = val;
        } else if (IS("Expect")) {
            if (strcasecmp(val, "100-continue") != 0)
                return perr(e, 417, "expectation_failed", "only Expect: 100-continue is known");
            r->expect_continue = true;
        }
#undef IS
    }
    r->keep_alive = r->minor >= 1 ? !conn_close : conn_keep && !conn_close;
    /* Transfer-Encoding: the one body taken (POST /ask) is small and framed
     * by Content-Length, and a request framed two ways is how requests are
     * smuggled past a proxy; refuse it and close. */
    if (have_te)
        return perr(e, 400, "bad_request",
                    "Transfer-Encoding is not accepted (send a body with Content-Length)");
    if (n_host > 1)
        return perr(e, 400, "bad_request", "more than one Host header");
    const char *abs_host = NULL;
    size_t abs_len = 0;
    int rc = parse_target(r, t, (size_t)(sp2 - t), &w, &abs_host, &abs_len, e);
    if (rc < 0)
        return rc;
    if (abs_host) {
        char *hv = w;
        memcpy(w, abs_host, abs_len);
        w[abs_len] = 0;
        w += abs_len + 1;
        r->host = hv;
    } else if (n_host == 1) {
        r->host = host;
    } else if (r->minor >= 1) {
        return perr(e, 400, "bad_request", "HTTP/1.1 requests need a Host header");
    }
    (void)host_len;
    r->head_len = head_len;
    return (int)head_len;
}

int srv_proto_parse(const char *buf, size_t len, srv_req *r, srv_perr *e)
{
    int rc = parse_head(buf, len, r, e);
    if (rc <= 0)
        srv_req_free(r); /* a refused request keeps nothing */
    return rc;
}

/* ---------------------------------------------------------- Host check ---- */

/* Splits "name:port", "[v6]:port", "name" into the name (brackets kept off). */
/* A qvalue (RFC 9110 12.4.2: 0, 0.5, 1.000; at most 3 decimals) of n
 * bytes at p, or -1 when it is not one. */
static double qvalue(const char *p, size_t n)
{
    if (n == 0 || (p[0] != '0' && p[0] != '1'))
        return -1;
    int milli = (p[0] - '0') * 1000, f = 100; /* exact, then one division */
    if (n > 1 && (p[1] != '.' || n > 5))
        return -1;
    for (size_t i = 2; i < n; i++, f /= 10) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        milli += (p[i] - '0') * f;
    }
    return milli > 1000 ? -1 : milli / 1000.0;
}

static bool span_is(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

/* Past OWS */
static const char *ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

int srv_accept_match(const char *h, const char *type, double *q)
{
    int best = 0;
    double best_q = 0;
    const char *slash = strchr(type, '/');
    size_t tn = slash ? (size_t)(slash - type) : strlen(type);
    for (const char *p = h; p && *p;) {
        /* one element: a media range, then ;-parameters up to a comma */
        p = ows(p);
        const char *r = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t rn = (size_t)(p - r);
        double w = 1;
        bool bad = false;
        for (p = ows(p); *p == ';';) {
            const char *k = p = ows(p + 1);
            while (*p && *p != '=' && *p != ';' && *p != ',')
                p++;
            size_t kn = (size_t)(p - k);
            while (kn && (k[kn - 1] == ' ' || k[kn - 1] == '\t'))
                kn--;
            const char *v = p, *ve = p;
            if (*p == '=') {
                v = p = ows(p + 1);
                if (*p == '"') { /* a quoted string may hold ; and , */
                    for (p++; *p && *p != '"'; p++)
                        if (*p == '\\' && p[1])
                            p++;
                    if (*p)
                        p++;
                } else {
                    while (*p && *p != ';' && *p != ',' && *p != ' ' && *p != '\t')
                        p++;
                }
                ve = p;
                p = ows(p);
            }
            if (span_is(k, kn, "q")) {
                w = qvalue(v, (size_t)(ve - v));
                bad = w < 0;
            }
        }
        while (*p && *p != ',') /* junk after the element: skip it */
            p++, bad = true;
        if (*p == ',')
            p++;
        if (bad || rn == 0)
            continue;
        int m = 0;
        if (span_is(r, rn, type))
            m = 3;
        else if (slash && rn == tn + 2 && strncasecmp(r, type, tn + 1) == 0 && r[tn + 1] == '*')
            m = 2;
        else if (span_is(r, rn, "*/*"))
            m = 1;
        if (m > best)
            best = m, best_q = w;
    }
    if (q)
        *q = best_q;
    return best;
}

static bool host_name(const char *h, char *out, size_t out_len)
{
    size_t n = strlen(h);
    const char *s = h, *e;
    if (n && h[0] == '[') {
        e = strchr(h, ']');
        if (!e)
            return false;
        s = h + 1;
        if (e[1] && (e[1] != ':' || !e[2]))
            return false;
    } else {
        e = strchr(h, ':');
        if (!e)
            e = h + n;
        else if (!e[1] || strchr(e + 1, ':'))
            return false;
    }
    for (const char *c = e[0] == ']' ? e + 2 : e + 1; e[0] && *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    size_t len = (size_t)(e - s);
    if (len == 0 || len >= out_len)
        return false;
    memcpy(out, s, len);
    out[len] = 0;
    if (len > 1 && out[len - 1] == '.') /* "localhost." */
        out[len - 1] = 0;
    return true;
}

bool srv_host_allowed(const char *host, const char *listen, const char *const *allow,
                      int n_allow)
{
    if (!host)
        return true; /* HTTP/1.0 without Host: no browser sends that */
    for (int i = 0; i < n_allow; i++)
        if (strcmp(allow[i], "*") == 0)
            return true;
    char name[256];
    if (!host_name(host, name, sizeof name))
        return false;
    /* An address literal cannot be rebound: the browser's origin is then
     * the address itself, so the page would not be cross-origin at all. */
    unsigned char a[16];
    if (inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1)
        return true;
    if (strcasecmp(name, "localhost") == 0)
        return true;
    if (listen && strcasecmp(name, listen) == 0)
        return true;
    for (int i = 0; i < n_allow; i++) {
        size_t an = strlen(allow[i]);
        if (strcasecmp(name, allow[i]) == 0)
            return true;
        /* ".example.org" admits every name under it */
        if (an > 1 && allow[i][0] == '.' && strlen(name) > an &&
            strcasecmp(name + strlen(name) - an, allow[i]) == 0)
            return true;
    }
    return false;
}

/* ---------------------------------------------------------- escaping ---- */

char *srv_escape(const char *s, char *out, size_t out_len)
{
    size_t j = 0;
    if (!out_len)
        return out;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p < 0x20 || *p == 0x7F || *p == '\\') {
            if (j + 5 > out_len)
                break;
            j += (size_t)snprintf(out + j, out_len - j, *p == '\\' ? "\\\\" : "\\x%02x", *p);
        } else {
            if (j + 2 > out_len)
                break;
            out[j++] = (char)*p;
        }
    }
    out[j] = 0;
    return out;
}

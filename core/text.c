/* text.c - untrusted text on its way out: file names, OCR text and error
 * reasons made safe for a terminal (core_text_escape), and byte-exact
 * paths in JSON (core_json_add_path). Every writer of human-readable or
 * JSON output goes through these, so there is one rule for each. */
#include "core.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* The bytes at s[i] are an invalid sequence (core_utf8_next gave U+FFFD
 * without reading a real U+FFFD). */
static bool bad_seq(const char *s, size_t i, int n, int32_t cp)
{
    return cp == 0xFFFD && !(n == 3 && (unsigned char)s[i] == 0xEF);
}

bool core_utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        int32_t cp;
        int n = core_utf8_next(s + i, len - i, &cp);
        if (bad_seq(s, i, n, cp))
            return false;
        i += (size_t)n;
    }
    return true;
}

char *core_base64(const void *p, size_t n)
{
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *u = p;
    char *o = malloc((n + 2) / 3 * 4 + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)u[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)u[i + 1] << 8;
        if (i + 2 < n)
            v |= u[i + 2];
        o[j++] = T[(v >> 18) & 63];
        o[j++] = T[(v >> 12) & 63];
        o[j++] = i + 1 < n ? T[(v >> 6) & 63] : '=';
        o[j++] = i + 2 < n ? T[v & 63] : '=';
    }
    o[j] = 0;
    return o;
}

/* Code points that move the cursor, change colours or reorder what is
 * shown: C0 controls, DEL, C1 controls, and the bidirectional embedding,
 * override and isolate marks (a name could otherwise display reversed). */
static bool unsafe_cp(int32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

char *core_text_escape(const char *s, size_t len, bool multiline)
{
    core_buf b;
    core_buf_init(&b, 0);
    size_t i = 0;
    while (s && i < len) {
        int32_t cp;
        int n = core_utf8_next(s + i, len - i, &cp);
        if (bad_seq(s, i, n, cp)) {
            /* an invalid byte shows as itself, so the name stays findable */
            core_buf_printf(&b, "\\x%02x", (unsigned char)s[i]);
            n = 1;
        } else if (unsafe_cp(cp) && !(multiline && (cp == '\n' || cp == '\t'))) {
            if (cp < 0x80)
                core_buf_printf(&b, "\\x%02x", (unsigned)cp);
            else
                core_buf_printf(&b, "\\u%04x", (unsigned)cp);
        } else {
            core_buf_append(&b, s + i, (size_t)n);
        }
        i += (size_t)n;
    }
    return core_buf_steal(&b);
}

bool core_json_add_path(struct cJSON *o, const char *key, const char *path, size_t len)
{
    if (!o || !key)
        return false;
    if (!path)
        path = "", len = 0;
    char *clean = core_utf8_sanitize(path, len);
    bool ok = clean && cJSON_AddStringToObject(o, key, clean);
    free(clean);
    if (ok && !core_utf8_valid(path, len)) {
        char *k = core_sprintf("%s_b64", key);
        char *b = core_base64(path, len);
        ok = k && b && cJSON_AddStringToObject(o, k, b);
        free(k);
        free(b);
    }
    return ok;
}

bool core_json_add_text(struct cJSON *o, const char *key, const char *s)
{
    if (!o || !key || !s)
        return false;
    char *clean = core_utf8_sanitize(s, strlen(s));
    bool ok = clean && cJSON_AddStringToObject(o, key, clean);
    free(clean);
    return ok;
}

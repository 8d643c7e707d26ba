/* err.c - odx_err recording, status names and the logging hook. */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static odx_log_fn g_log_fn;
static void *g_log_user;
static int g_log_max = CORE_LOG_WARN;

const char *odx_status_str(odx_status s)
{
    switch (s) {
    case ODX_OK: return "ok";
    case ODX_ERR_INVALID: return "invalid argument";
    case ODX_ERR_NOMEM: return "out of memory";
    case ODX_ERR_IO: return "i/o error";
    case ODX_ERR_DB: return "database error";
    case ODX_ERR_FAISS: return "vector index error";
    case ODX_ERR_DECODE: return "decode error";
    case ODX_ERR_LIMIT: return "over limit";
    case ODX_ERR_UNSUPPORTED: return "unsupported format";
    case ODX_ERR_LOCKED: return "index locked";
    case ODX_ERR_NOT_FOUND: return "not found";
    case ODX_ERR_MODEL: return "model error";
    case ODX_ERR_OCR: return "ocr error";
    case ODX_ERR_INTERRUPTED: return "interrupted";
    case ODX_ERR_SCHEMA: return "schema version error";
    case ODX_ERR_INTERNAL: return "internal error";
    case ODX_ERR_CORRUPT: return "database damaged";
    case ODX_ERR_REMOTE: return "remote endpoint error";
    }
    return "unknown status";
}

static void err_vset(odx_err *err, odx_status code, const char *suffix,
                     const char *fmt, va_list ap)
{
    if (!err || err->code != ODX_OK)
        return;
    err->code = code;
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    if (suffix && n >= 0 && (size_t)n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", suffix);
}

odx_status core_err(odx_err *err, odx_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

odx_status core_err_errno(odx_err *err, odx_status code, const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, strerror(e), fmt, ap);
    va_end(ap);
    return code;
}

void core_err_clear(odx_err *err)
{
    if (err) {
        err->code = ODX_OK;
        err->msg[0] = '\0';
    }
}

void odx_log_set(odx_log_fn fn, void *user, int max_level)
{
    g_log_fn = fn;
    g_log_user = user;
    g_log_max = max_level;
}

void core_log(int level, const char *fmt, ...)
{
    if (level > g_log_max)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g_log_fn) {
        g_log_fn(level, msg, g_log_user);
        return;
    }
    static const char *names[] = {"error", "warning", "info", "debug"};
    /* messages name files and quote libraries: escaped for the terminal
     * (core_text_escape), one line each */
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        n--;
    char *safe = core_text_escape(msg, n, false);
    fprintf(stderr, "omnidex: %s: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level],
            safe ? safe : "?");
    free(safe);
}

void odx_free(void *p) { free(p); }

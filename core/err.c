/* err.c - odx_err recording and status names. */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *core_status_str(odx_status s)
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
    case ODX_ERR_NOT_CONFIGURED: return "not configured";
    case ODX_ERR_UNINDEXED: return "failed to index";
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

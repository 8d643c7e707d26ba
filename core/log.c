/* log.c - the logging hook (odx_log_set) and the default printer: every
 * stage's messages go through core_log. */
#include "core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Process-wide by the public API's design (odx_log_set: "call before
 * opening handles"); the one writable state of core. */
static odx_log_fn g_log_fn;
static void *g_log_user;
static int g_log_max = CORE_LOG_WARN;

void core_log_set(odx_log_fn fn, void *user, int max_level)
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
    static const char *const names[] = {"error", "warning", "info", "debug"};
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

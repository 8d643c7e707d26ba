/* test_cap_noise.c - dependencies' messages go through omnidex's log, not
 * straight to stderr (issue 10 defect 10). Leptonica, which Tesseract calls
 * on every page, printed "Error in boxClipToRectangle: box outside
 * rectangle", "Error in pixScanForForeground: ..." to stderr dozens of
 * times a run (cron mails them). After cap_ocr_new the same calls print
 * nothing at the default log level and reach a log hook at debug level. */
#include "captioner_int.h"
#include "check.h"

#include <leptonica/allheaders.h>
#include <stdlib.h>
#include <unistd.h>

static char seen[8192];

static void hook(int level, const char *msg, void *user)
{
    (void)user;
    if (level == CORE_LOG_DEBUG && strlen(seen) + strlen(msg) + 2 < sizeof seen) {
        strcat(seen, msg);
        strcat(seen, "\n");
    }
}

/* The calls that complained in index runs: a box outside the image. */
static void provoke(void)
{
    BOX *b = boxCreate(500, 500, 10, 10);
    BOX *c = boxClipToRectangle(b, 100, 100);
    CHECK(c == NULL);
    PIX *p = pixCreate(20, 20, 1);
    l_int32 loc = 0;
    CHECK(pixScanForForeground(p, b, L_FROM_LEFT, &loc) != 0);
    boxDestroy(&c);
    boxDestroy(&b);
    pixDestroy(&p);
}

/* What provoke() writes to file descriptor 2. */
static size_t stderr_bytes(char *out, size_t cap)
{
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    if (saved < 0 || !tmp) return (size_t)-1;
    dup2(fileno(tmp), 2);
    provoke();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, cap - 1, tmp);
    out[n] = 0;
    fclose(tmp);
    return n;
}

int main(void)
{
    cap_ocr *o = NULL;
    odx_err err = {0};
    if (cap_ocr_new(&o, NULL, &err) != ODX_OK) {
        fprintf(stderr, "cap_ocr_new: %s\n", err.msg);
        return 1;
    }
    char out[4096];
    size_t n = stderr_bytes(out, sizeof out);
    CHECK_MSG(n == 0, "%zu bytes on stderr at the default log level: %s", n, out);

    core_log_set(hook, NULL, CORE_LOG_DEBUG);
    n = stderr_bytes(out, sizeof out);
    CHECK_MSG(n == 0, "%zu bytes on stderr with a log hook: %s", n, out);
    CHECK_MSG(strstr(seen, "leptonica: ") && strstr(seen, "boxClipToRectangle"),
              "debug log: '%s'", seen);
    core_log_set(NULL, NULL, CORE_LOG_INFO);
    cap_ocr_free(o);
    return check_result("test_cap_noise");
}

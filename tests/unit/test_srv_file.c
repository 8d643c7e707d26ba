/* test_srv_file.c - the helpers behind GET /images/{id}/file: Range header
 * parsing against RFC 9110's cases, the media type of each indexed format,
 * and Content-Disposition for odd file names. Also the integration tests'
 * near-duplicate maker (--shrink IN OUT SIDE: the image decoded, its long
 * side cut to SIDE, written as a JPEG by the thumbnailer). */
#include "check.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

static void test_range(void)
{
    long long a = -7, b = -7;
    CHECK(srv_range_parse(NULL, 100, &a, &b) == 0);
    CHECK(srv_range_parse("bytes=0-9", 100, &a, &b) == 1 && a == 0 && b == 9);
    CHECK(srv_range_parse("bytes=10-", 100, &a, &b) == 1 && a == 10 && b == 99);
    CHECK(srv_range_parse("bytes=-10", 100, &a, &b) == 1 && a == 90 && b == 99);
    CHECK(srv_range_parse("bytes=-500", 100, &a, &b) == 1 && a == 0 && b == 99);
    CHECK(srv_range_parse("bytes=90-5000", 100, &a, &b) == 1 && a == 90 && b == 99);
    CHECK(srv_range_parse("BYTES=5-5", 100, &a, &b) == 1 && a == 5 && b == 5);
    CHECK(srv_range_parse("bytes= 1-2 ", 100, &a, &b) == 1 && a == 1 && b == 2);
    /* unsatisfiable: 416 */
    CHECK(srv_range_parse("bytes=100-", 100, &a, &b) == -1);
    CHECK(srv_range_parse("bytes=100-200", 100, &a, &b) == -1);
    CHECK(srv_range_parse("bytes=-0", 100, &a, &b) == -1);
    CHECK(srv_range_parse("bytes=0-", 0, &a, &b) == -1);
    CHECK(srv_range_parse("bytes=-1", 0, &a, &b) == -1);
    /* ignored: the whole file */
    a = b = -7;
    CHECK(srv_range_parse("bytes=9-1", 100, &a, &b) == 0);
    CHECK(srv_range_parse("bytes=0-1,5-6", 100, &a, &b) == 0);
    CHECK(srv_range_parse("items=0-1", 100, &a, &b) == 0);
    CHECK(srv_range_parse("bytes=", 100, &a, &b) == 0);
    CHECK(srv_range_parse("bytes=-", 100, &a, &b) == 0);
    CHECK(srv_range_parse("bytes=a-b", 100, &a, &b) == 0);
    CHECK(srv_range_parse("bytes=1-2x", 100, &a, &b) == 0);
    CHECK(srv_range_parse("bytes=1234567890123456789-", 100, &a, &b) == 0);
    CHECK(a == -7 && b == -7); /* untouched when ignored */
}

static void test_mime(void)
{
    CHECK_STR(srv_format_mime("png"), "image/png");
    CHECK_STR(srv_format_mime("jpeg"), "image/jpeg");
    CHECK_STR(srv_format_mime("webp"), "image/webp");
    CHECK_STR(srv_format_mime("gif"), "image/gif");
    CHECK_STR(srv_format_mime("tiff"), "image/tiff");
    CHECK_STR(srv_format_mime("bmp"), "image/bmp");
    CHECK_STR(srv_format_mime("heic"), "image/heic");
    CHECK_STR(srv_format_mime("heif"), "image/heif");
    CHECK_STR(srv_format_mime("avif"), "image/avif");
    CHECK_STR(srv_format_mime("svg"), "application/octet-stream");
    CHECK_STR(srv_format_mime(NULL), "application/octet-stream");
}

static void test_disposition(void)
{
    char d[SRV_DISPOSITION_MAX];
    srv_content_disposition("/a/b/chart.png", d, sizeof d);
    CHECK_STR(d, "inline; filename=\"chart.png\"; filename*=UTF-8''chart.png");
    srv_content_disposition("/x/饼图 \"q\".png", d, sizeof d);
    CHECK_STR(d, "inline; filename=\"______ _q_.png\"; "
                 "filename*=UTF-8''%E9%A5%BC%E5%9B%BE%20%22q%22.png");
    /* a CR or LF in a name can never split the header */
    srv_content_disposition("/x/a\r\nSet-Cookie: x.png", d, sizeof d);
    CHECK(!strchr(d, '\r') && !strchr(d, '\n'));
    char long_name[600];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    srv_content_disposition(long_name, d, sizeof d);
    CHECK(strlen(d) + 1 < sizeof d && strlen(d) > 2 * SRV_FILENAME_MAX); /* not cut short */
    /* 60 Chinese characters (180 bytes): cut before the 54th, whole, and
     * nothing cut off the end of the answer */
    char zh[200] = "/x/";
    for (int i = 0; i < 60; i++)
        strcat(zh, "图");
    srv_content_disposition(zh, d, sizeof d);
    const char *enc = strstr(d, "UTF-8''");
    CHECK(enc != NULL);
    if (enc) {
        enc += 7;
        size_t want = 53 * 9; /* %E5%9B%BE per character */
        CHECK_MSG(strlen(enc) == want, "encoded name %zu bytes, want %zu", strlen(enc), want);
        CHECK(strlen(d) + 1 < sizeof d);
    }
    char tiny[8];
    srv_content_disposition("/a.png", tiny, sizeof tiny);
    CHECK(strlen(tiny) == 7);
}

/* If-Range takes the strong comparison (RFC 9110 13.1.5): only the one
 * quoted tag itself; weak tags, lists, "*" and dates never match. */
static void test_if_range(void)
{
    CHECK(srv_if_range_matches("\"abc\"", "abc"));
    CHECK(srv_if_range_matches("  \"abc\" \t", "abc")); /* OWS around the value */
    CHECK(!srv_if_range_matches("W/\"abc\"", "abc"));
    CHECK(!srv_if_range_matches("w/\"abc\"", "abc"));
    CHECK(!srv_if_range_matches("\"abc\", \"def\"", "abc"));
    CHECK(!srv_if_range_matches("\"def\", \"abc\"", "abc"));
    CHECK(!srv_if_range_matches("*", "abc"));
    CHECK(!srv_if_range_matches("abc", "abc"));
    CHECK(!srv_if_range_matches("\"abcd\"", "abc"));
    CHECK(!srv_if_range_matches("\"ab\"", "abc"));
    CHECK(!srv_if_range_matches("\"abc", "abc"));
    CHECK(!srv_if_range_matches("\"\"", "abc"));
    CHECK(!srv_if_range_matches("", "abc"));
    CHECK(!srv_if_range_matches("Fri, 04 Dec 2026 19:00:00 GMT", "abc"));
    CHECK(!srv_if_range_matches(NULL, "abc"));
}

/* every status the file and similar endpoints (and /ask) send has its name */
static void test_reasons(void)
{
    CHECK_STR(srv_status_reason(206), "Partial Content");
    CHECK_STR(srv_status_reason(410), "Gone");
    CHECK_STR(srv_status_reason(416), "Range Not Satisfiable");
    CHECK_STR(srv_status_reason(502), "Bad Gateway");
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--shrink") == 0) {
        unsigned char *jpg = NULL;
        size_t len = 0;
        odx_err e = {0};
        if (srv_thumb_file(argv[2], atoi(argv[4]), 1, &jpg, &len, &e) != ODX_OK) {
            fprintf(stderr, "--shrink: %s\n", e.msg);
            return 1;
        }
        FILE *f = fopen(argv[3], "wb");
        bool ok = f && fwrite(jpg, 1, len, f) == len;
        free(jpg);
        return f && fclose(f) == 0 && ok ? 0 : 1;
    }
    test_range();
    test_mime();
    test_disposition();
    test_if_range();
    test_reasons();
    return check_result("test_srv_file");
}

/* test_core.c - unit tests for core/: errors, buffers, SHA-256, UTF-8. */
#include "check.h"
#include "core.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

static void test_err(void)
{
    odx_err e = {0};
    CHECK(core_err(&e, ODX_ERR_IO, "first %d", 1) == ODX_ERR_IO);
    core_err(&e, ODX_ERR_DB, "second");
    CHECK(e.code == ODX_ERR_IO);
    CHECK_STR(e.msg, "first 1");
    CHECK(core_err(NULL, ODX_ERR_DB, "ignored") == ODX_ERR_DB);
    CHECK(strcmp(core_status_str(ODX_ERR_LOCKED), "index locked") == 0);
}

static void test_buf(void)
{
    core_buf b;
    core_buf_init(&b, 10);
    CHECK(core_buf_puts(&b, "hello"));
    CHECK(core_buf_printf(&b, "%d", 1234));
    CHECK(!core_buf_puts(&b, "toolong"));
    CHECK(b.overflow);
    CHECK_STR(b.data, "hello1234");
    char *s = core_buf_steal(&b);
    CHECK_STR(s, "hello1234");
    free(s);
    core_buf_free(&b);
}

static void test_sha(void)
{
    char hex[65];
    core_sha256_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    core_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* two blocks (FIPS 180-2 example), and a million 'a' (many blocks) */
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK(core_sha256_hex(two, strlen(two), hex));
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *m = malloc(1000000);
    CHECK(m != NULL);
    if (m) {
        memset(m, 'a', 1000000);
        core_sha256_hex(m, 1000000, hex);
        CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        uint8_t d[32];
        CHECK(core_sha256(m, 1000000, d) && d[0] == 0xcd && d[31] == 0xd0);
        free(m);
    }
    CHECK(core_hash64("a", 1, 0) != core_hash64("b", 1, 0));
    CHECK(core_hash64("a", 1, 0) != core_hash64("a", 1, 1));
}

static void test_utf8(void)
{
    int32_t cp;
    CHECK(core_utf8_next("\xe4\xbd\xa0", 3, &cp) == 3 && cp == 0x4F60);
    CHECK(core_is_cjk(cp));
    CHECK(!core_is_cjk('a'));
    CHECK(core_has_cjk("Chart 图表") && core_has_cjk("かな"));
    CHECK(!core_has_cjk("Café, naïve") && !core_has_cjk("") && !core_has_cjk(NULL));
    CHECK(!core_has_cjk("\xff\xfe"));
    CHECK(core_utf8_next("\xff", 1, &cp) == 1 && cp == 0xFFFD);
    char *s = core_utf8_sanitize("a\xff" "b", 3);
    CHECK_STR(s, "a\xEF\xBF\xBD" "b");
    free(s);
}

static void check_escape(const char *in, size_t len, bool multi, const char *want)
{
    char *o = core_text_escape(in, len, multi);
    CHECK_STR(o, want);
    free(o);
}

/* Terminal output safety: nothing that moves the cursor, recolours or
 * reorders survives; readable text, Chinese and backslashes do. */
static void test_escape(void)
{
    const char name[] = "esc\033[31mred\rcr\nnl.png";
    check_escape(name, strlen(name), false, "esc\\x1b[31mred\\x0dcr\\x0anl.png");
    check_escape("a\tb\nc\r", 6, true, "a\tb\nc\\x0d");
    check_escape("a\tb", 3, false, "a\\x09b");
    /* OCR-like block: lines and tabs kept, a CR and a screen clear not */
    const char ocr[] = "Total\r\n\033[2JRevenue\tQ1\n";
    check_escape(ocr, strlen(ocr), true, "Total\\x0d\n\\x1b[2JRevenue\tQ1\n");
    check_escape("del\x7f bell\x07", 10, false, "del\\x7f bell\\x07");
    check_escape("csi\xc2\x9b" "2J", 7, false, "csi\\u009b2J");       /* C1 CSI */
    check_escape("abc\xe2\x80\xaegnp.exe", 13, false, "abc\\u202egnp.exe"); /* RLO */
    check_escape("bad\xff\xfe.png", 9, false, "bad\\xff\\xfe.png");
    check_escape("\xe5\x9b\xbe\xe8\xa1\xa8 C:\\dir", 13, false, "\xe5\x9b\xbe\xe8\xa1\xa8 C:\\dir");
    check_escape("nul\0x", 5, false, "nul\\x00x");
    char *o = core_text_escape(NULL, 0, false);
    CHECK_STR(o, "");
    free(o);
}

static void test_json_path(void)
{
    char *b = core_base64("", 0);
    CHECK_STR(b, "");
    free(b);
    b = core_base64("f", 1);
    CHECK_STR(b, "Zg==");
    free(b);
    b = core_base64("foob", 4);
    CHECK_STR(b, "Zm9vYg==");
    free(b);
    b = core_base64("\xff\xfe\xfd", 3);
    CHECK_STR(b, "//79");
    free(b);
    CHECK(core_utf8_valid("\xe5\x9b\xbe", 3));
    CHECK(core_utf8_valid("\xef\xbf\xbd", 3)); /* a real U+FFFD */
    CHECK(!core_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    CHECK(!core_utf8_valid("\xc0\xaf", 2));      /* overlong '/' */
    CHECK(!core_utf8_valid("a\xff", 2));

    cJSON *o = cJSON_CreateObject();
    CHECK(core_json_add_path(o, "path", "/a/\xe5\x9b\xbe.png", 10));
    CHECK(core_json_add_path(o, "bad", "/x\xff.png", 7));
    CHECK(core_json_add_text(o, "reason", "oops \xfe"));
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "path")), "/a/\xe5\x9b\xbe.png");
    CHECK(cJSON_GetObjectItem(o, "path_b64") == NULL); /* valid UTF-8: no b64 */
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "bad")), "/x\xef\xbf\xbd.png");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "bad_b64")), "L3j/LnBuZw==");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "reason")), "oops \xef\xbf\xbd");
    cJSON_Delete(o);
}

/* The default log printer (stderr) escapes what it prints: log messages
 * name files ("OCR failed on '...'") and quote libraries. */
static void test_log_escapes(void)
{
    FILE *tmp = tmpfile();
    CHECK(tmp != NULL);
    if (!tmp)
        return;
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    core_log_set(NULL, NULL, 1);
    core_log(CORE_LOG_WARN, "OCR failed on '%s': %s", "x\033[31m\r.png", "bad\n");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char line[256] = {0};
    rewind(tmp);
    size_t n = fread(line, 1, sizeof line - 1, tmp);
    fclose(tmp);
    line[n] = 0;
    CHECK_STR(line, "omnidex: warning: OCR failed on 'x\\x1b[31m\\x0d.png': bad\n");
}

int main(void)
{
    test_escape();
    test_log_escapes();
    test_json_path();
    test_err();
    test_buf();
    test_sha();
    test_utf8();
    return check_result("test_core");
}

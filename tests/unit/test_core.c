/* test_core.c - unit tests for core/: errors, buffers, SHA-256, UTF-8. */
#include "check.h"
#include "core.h"

#include <stdlib.h>

static void test_err(void)
{
    odx_err e = {0};
    CHECK(core_err(&e, ODX_ERR_IO, "first %d", 1) == ODX_ERR_IO);
    core_err(&e, ODX_ERR_DB, "second");
    CHECK(e.code == ODX_ERR_IO);
    CHECK_STR(e.msg, "first 1");
    CHECK(core_err(NULL, ODX_ERR_DB, "ignored") == ODX_ERR_DB);
    CHECK(strcmp(odx_status_str(ODX_ERR_LOCKED), "index locked") == 0);
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
    /* streaming over a block boundary equals one shot */
    char msg[200];
    for (int i = 0; i < 200; i++)
        msg[i] = (char)('a' + i % 26);
    core_sha256 c;
    uint8_t d1[32], d2[32];
    core_sha256_init(&c);
    core_sha256_update(&c, msg, 63);
    core_sha256_update(&c, msg + 63, 137);
    core_sha256_final(&c, d1);
    core_sha256_init(&c);
    core_sha256_update(&c, msg, 200);
    core_sha256_final(&c, d2);
    CHECK(memcmp(d1, d2, 32) == 0);
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

int main(void)
{
    test_err();
    test_buf();
    test_sha();
    test_utf8();
    return check_result("test_core");
}

/* fuzz_vlm.c - libFuzzer target: what a remote model sends back. The first
 * byte picks the parser: even, the VLM answer parser (rmt_vlm_parse, cap
 * from the second byte); odd, the SSE stream parser with its <think> split
 * (rmt_sse_parse), fed whole and again in pieces of 1..16 bytes (second
 * byte). Invariants: captions have a known kind and language, are
 * non-empty valid UTF-8 within the cap, Chinese ones hold Han characters;
 * the stream gives the same content and reasoning however it is cut, both
 * within the answer cap. Seeds: corpus/fuzz_vlm. */
#include "fuzz.h"
#include "remote.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int mode = data[0] & 1;
    unsigned arg = data[1];
    const char *body = (const char *)data + 2;
    size_t len = size - 2;
    char *in = malloc(len + 1);
    if (!in)
        return 0;
    memcpy(in, body, len);
    in[len] = 0;
    if (mode == 0) {
        size_t max = 16 + arg * 8;
        rmt_caption *c = NULL;
        int n = 0;
        odx_err e = {0};
        FUZZ_CHECK(rmt_vlm_parse(in, max, &c, &n, &e) == ODX_OK, "parse failed: %s", e.msg);
        FUZZ_CHECK(n >= 0 && n <= 6, "%d captions", n);
        for (int i = 0; i < n; i++) {
            FUZZ_CHECK(!strcmp(c[i].kind, "detailed") || !strcmp(c[i].kind, "short") ||
                           !strcmp(c[i].kind, "tags"),
                       "kind %s", c[i].kind);
            FUZZ_CHECK(!strcmp(c[i].lang, "en") || !strcmp(c[i].lang, "zh"), "lang %s", c[i].lang);
            size_t tl = strlen(c[i].text);
            FUZZ_CHECK(tl > 0 && tl <= max, "text of %zu bytes, cap %zu", tl, max);
            FUZZ_CHECK(core_utf8_valid(c[i].text, tl), "text not UTF-8");
            FUZZ_CHECK(strcmp(c[i].lang, "zh") || core_has_cjk(c[i].text), "zh without Han");
        }
        rmt_captions_free(c, n);
    } else {
        size_t piece = 1 + arg % 16, max = 4096;
        char *r1 = NULL, *r2 = NULL;
        char *c1 = rmt_sse_parse(in, len, len ? len : 1, max, &r1);
        char *c2 = rmt_sse_parse(in, len, piece, max, &r2);
        FUZZ_CHECK(c1 && c2, "no memory");
        FUZZ_CHECK(strlen(c1) <= max && (!r1 || strlen(r1) <= max), "over the cap");
        FUZZ_CHECK(!strcmp(c1, c2), "content depends on the cut: '%s' vs '%s'", c1, c2);
        FUZZ_CHECK((!r1 && !r2) || (r1 && r2 && !strcmp(r1, r2)), "reasoning depends on the cut");
        free(c1);
        free(c2);
        free(r1);
        free(r2);
    }
    free(in);
    return 0;
}

/* test_cap_ocr.c - OCR on the committed fixtures (tests/fixtures/ocr):
 * an English line, a Chinese line and a small ruled table must be read,
 * with sane boxes, language and confidences; bad input is refused. */
#include "captioner_int.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static cap_ocr *ocr;

static bool load(const char *name, cap_image *im)
{
    /* ctest sets ODX_SOURCE_DIR; run by hand, the source tree is where this
     * file was compiled from */
    const char *src = getenv("ODX_SOURCE_DIR");
    char here[4096], path[4096 + 256];
    if (!src) {
        snprintf(here, sizeof here, "%s", __FILE__);
        char *cut = strstr(here, "/tests/unit/");
        if (cut)
            *cut = 0;
        src = cut ? here : ".";
    }
    snprintf(path, sizeof path, "%s/tests/fixtures/ocr/%s", src, name);
    uint8_t *data = NULL;
    size_t len = 0;
    odx_err err = {0};
    cap_header hdr;
    cap_limits lim = {100000000, 1 << 24};
    if (core_read_file(path, 1 << 24, &data, &len, &err) != ODX_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return false;
    }
    odx_status st = cap_decode(data, len, name, &lim, 0, &hdr, im, &err);
    free(data);
    if (st != ODX_OK)
        fprintf(stderr, "%s\n", err.msg);
    return st == ODX_OK;
}

static cap_desc *read_fixture(const char *name, cap_domain dom, cap_image *keep)
{
    cap_image im = {0};
    CHECK_MSG(load(name, &im), "fixture %s", name);
    if (!im.rgb)
        return NULL;
    cap_desc *d = calloc(1, sizeof *d);
    d->width = im.w;
    d->height = im.h;
    d->domain = dom;
    d->domain_conf = 0.9f;
    odx_err err = {0};
    odx_status st = cap_ocr_run(ocr, &im, d, &err);
    CHECK_MSG(st == ODX_OK, "%s: %s", name, err.msg);
    CHECK(d->ocr_ran);
    if (keep)
        *keep = im;
    else
        cap_image_free(&im);
    return d;
}

static void test_english(void)
{
    cap_desc *d = read_fixture("en_line.png", CAP_DOCUMENT, NULL);
    if (!d)
        return;
    CHECK(d->text != NULL);
    CHECK_MSG(d->text && strstr(d->text, "Quarterly harvest report 2019"), "text '%s'",
              d->text ? d->text : "(null)");
    CHECK_STR(d->text_lang, "en");
    CHECK(d->n_lines == 1);
    CHECK(d->text_conf > 70);
    if (d->n_lines >= 1) {
        /* box in original pixels: the line sits near (12, 18)-(380, 45) */
        const cap_text_line *l = &d->lines[0];
        CHECK_MSG(l->x >= 0 && l->x < 30 && l->y > 5 && l->y < 30, "box %d,%d", l->x, l->y);
        CHECK_MSG(l->w > 250 && l->x + l->w <= d->width, "width %d", l->w);
        CHECK_MSG(l->h > 12 && l->h < 45, "height %d", l->h);
    }
    cap_desc_free(d);
}

static void test_chinese(void)
{
    cap_desc *d = read_fixture("zh_line.png", CAP_DOCUMENT, NULL);
    if (!d)
        return;
    /* no spaces between Han characters */
    CHECK_MSG(d->text && strstr(d->text, "电话数量"), "text '%s'", d->text ? d->text : "");
    CHECK_MSG(d->text && strstr(d->text, "世界各地区"), "text '%s'", d->text ? d->text : "");
    CHECK_STR(d->text_lang, "zh");
    cap_desc_free(d);
}

static void test_table(void)
{
    cap_image im = {0};
    cap_desc *d = read_fixture("table.png", CAP_TABLE, &im);
    if (!d)
        return;
    const char *want[] = {"City", "Country", "People", "Lisbon", "Portugal", "545000",
                          "Oslo", "Norway", "Tunisia", "638000"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK_MSG(d->text && strstr(d->text, want[i]), "'%s' not in '%s'", want[i],
                  d->text ? d->text : "");
    /* cells are separate segments: no segment holds two column heads */
    for (int i = 0; i < d->n_lines; i++)
        CHECK_MSG(!(strstr(d->lines[i].text, "City") && strstr(d->lines[i].text, "People")),
                  "segment '%s'", d->lines[i].text);
    cap_structure(d, &im);
    CHECK_MSG(d->n_cols == 3, "cols %d", d->n_cols);
    CHECK_MSG(d->n_rows == 3, "rows %d", d->n_rows);
    cap_image_free(&im);
    cap_desc_free(d);
}

/* Light lettering on a dark page: the page is inverted before OCR. */
static void test_dark_page(void)
{
    cap_domain doms[] = {CAP_POSTER, CAP_DOCUMENT};
    for (size_t k = 0; k < sizeof doms / sizeof *doms; k++) {
        cap_desc *d = read_fixture("dark_page.png", doms[k], NULL);
        if (!d)
            return;
        CHECK_MSG(d->text && strstr(d->text, "Northern lights tonight"), "domain %d text '%s'",
                  (int)doms[k], d->text ? d->text : "");
        CHECK_STR(d->text_lang, "en");
        for (int i = 0; i < d->n_lines; i++)
            CHECK_MSG(d->lines[i].x >= 0 && d->lines[i].x + d->lines[i].w <= d->width + 2 &&
                          d->lines[i].y >= 0 && d->lines[i].y + d->lines[i].h <= d->height + 2,
                      "box %d,%d %dx%d", d->lines[i].x, d->lines[i].y, d->lines[i].w,
                      d->lines[i].h);
        cap_desc_free(d);
    }
}

/* A dark band of white lettering on a light page (a coloured table
 * header): the page stays as it is, the band gets its second look. */
static void test_dark_band(void)
{
    cap_desc *d = read_fixture("dark_band.png", CAP_DOCUMENT, NULL);
    if (!d)
        return;
    CHECK_MSG(d->text && strstr(d->text, "Harbour ferry timetable"), "text '%s'",
              d->text ? d->text : "");
    CHECK_MSG(d->text && strstr(d->text, "Departures from pier seven"), "text '%s'",
              d->text ? d->text : "");
    /* the band's line keeps a box in the band (y 64..112) */
    bool found = false;
    for (int i = 0; i < d->n_lines; i++)
        if (strstr(d->lines[i].text, "Departures")) {
            found = true;
            int cy = d->lines[i].y + d->lines[i].h / 2;
            CHECK_MSG(cy > 64 && cy < 112, "centre y %d", cy);
        }
    CHECK(found);
    cap_desc_free(d);
}

static void test_bad_input(void)
{
    cap_desc d;
    memset(&d, 0, sizeof d);
    odx_err err = {0};
    CHECK(cap_ocr_run(ocr, NULL, &d, &err) == ODX_ERR_INVALID);
    CHECK(!d.ocr_ran);
    /* tiny and blank images: no text, no crash */
    uint8_t px[4 * 4 * 3];
    memset(px, 255, sizeof px);
    cap_image tiny = {4, 4, px};
    err = (odx_err){0};
    CHECK(cap_ocr_run(ocr, &tiny, &d, &err) == ODX_OK);
    CHECK(d.ocr_ran && d.n_lines == 0);
    free(d.text);
    memset(&d, 0, sizeof d);
    int w = 300, h = 200;
    uint8_t *blank = malloc((size_t)w * h * 3);
    memset(blank, 240, (size_t)w * h * 3);
    cap_image bl = {w, h, blank};
    d.domain = CAP_CHART;
    CHECK(cap_ocr_run(ocr, &bl, &d, &err) == ODX_OK);
    CHECK(d.n_lines == 0);
    CHECK(d.text && d.text[0] == 0);
    free(d.text);
    free(d.lines);
    /* noise: whatever is read must be valid, bounded UTF-8 */
    memset(&d, 0, sizeof d);
    uint32_t s = 12345;
    for (int i = 0; i < w * h * 3; i++) {
        s = s * 1103515245u + 12345u;
        blank[i] = (uint8_t)(s >> 24);
    }
    d.domain = CAP_POSTER;
    CHECK(cap_ocr_run(ocr, &bl, &d, &err) == ODX_OK);
    if (d.text) {
        char *clean = core_utf8_sanitize(d.text, strlen(d.text));
        CHECK(clean && strcmp(clean, d.text) == 0);
        free(clean);
    }
    for (int i = 0; i < d.n_lines; i++)
        free(d.lines[i].text);
    free(d.lines);
    free(d.text);
    free(blank);
}

static void test_wanted(void)
{
    cap_desc d;
    memset(&d, 0, sizeof d);
    d.width = 1600;
    d.height = 1200;
    d.domain = CAP_PHOTO;
    d.feat.text_likeness = 0.02f;
    CHECK(!cap_ocr_wanted(&d));
    /* a small image is always read: its glyphs are too few pixels for
     * the text features, and reading costs milliseconds */
    d.width = 150;
    d.height = 150;
    CHECK(cap_ocr_wanted(&d));
    d.width = 1600;
    d.height = 1200;
    d.domain = CAP_DOCUMENT;
    CHECK(cap_ocr_wanted(&d));
    d.domain = CAP_TABLE;
    CHECK(cap_ocr_wanted(&d));
    d.domain = CAP_PHOTO;
    d.feat.text_likeness = 0.8f;
    d.feat.n_text_lines = 12;
    CHECK(cap_ocr_wanted(&d));
}

/* One word on a sign: the page analysis returns nothing; the row of
 * glyphs cut out of the small image is read. As a photo too (the photo
 * path does not upscale large images). */
static void test_small_sign(void)
{
    cap_domain doms[2] = {CAP_POSTER, CAP_PHOTO};
    for (int k = 0; k < 2; k++) {
        cap_desc *d = read_fixture("sign.png", doms[k], NULL);
        if (!d)
            continue;
        CHECK_MSG(d->text && strstr(d->text, "EXIT"), "sign as %d read '%s'", (int)doms[k],
                  d->text ? d->text : "(null)");
        CHECK(d->n_lines == 1);
        if (d->n_lines == 1) {
            /* the box lies on the word, in the middle of the sign */
            CHECK(d->lines[0].x > 20 && d->lines[0].x + d->lines[0].w < 130);
            CHECK(d->lines[0].y > 40 && d->lines[0].y + d->lines[0].h < 110);
        }
        cap_desc_free(d);
    }
}

char *cap_ocr_filter_words(const char *const *words, const float *conf,
                           const bool *line_start, int n, bool small_image);

static void check_filter_on(const char *const *w, const float *c, const bool *ls, int n,
                            bool small, const char *want)
{
    char *got = cap_ocr_filter_words(w, c, ls, n, small);
    CHECK_STR(got, want);
    free(got);
}

static void check_filter(const char *const *w, const float *c, const bool *ls, int n,
                         const char *want)
{
    char *got = cap_ocr_filter_words(w, c, ls, n, false);
    CHECK_STR(got, want);
    free(got);
}

/* The word filters after recognition, on word lists as Tesseract returns
 * them (chi_sim: one Han character per word). */
static void test_word_filters(void)
{
    /* a rare character under the bar between sure ones is kept; alone, or
     * next to Latin only, it goes */
    const char *a[] = {"花", "瓣", "长", "度", "x", "鸢", "y"};
    const float ac[] = {90, 40, 92, 91, 95, 40, 95};
    const bool al[] = {true, false, false, false, true, false, false};
    check_filter(a, ac, al, 7, "花 瓣 长 度 | x y");
    /* two weak ones in a row between sure ones */
    const char *b[] = {"山", "鸢", "尾", "花"};
    const float bc[] = {90, 30, 35, 90};
    const bool bl[] = {true, false, false, false};
    check_filter(b, bc, bl, 4, "山 鸢 尾 花");
    /* decided on the words as read: a dropped weak word at a line start
     * hands the line start on; a weak pair after Latin leans on the sure
     * character after it */
    const char *b2[] = {"鸢", "x", "鸢", "尾", "花", "y"};
    const float bc3[] = {30, 95, 30, 35, 90, 95};
    const bool bl2[] = {true, false, true, false, false, true};
    check_filter(b2, bc3, bl2, 6, "x | 鸢 尾 花 | y");
    /* below the floor even a flanked character goes */
    const float bc2[] = {90, 10, 35, 90};
    check_filter(b, bc2, bl, 4, "山 尾 花");
    /* lone Han marks in a Latin picture (legend dashes read as 二) go,
     * with their line */
    const char *c[] = {"string_decoder/string-decoder.js", "encoding", "ascii", "二",
                       "utf8", "-人", "chunkLen"};
    const float cc[] = {91, 96, 93, 78, 91, 62, 88};
    const bool cl[] = {true, true, true, true, true, true, true};
    check_filter(c, cc, cl, 7,
                 "string_decoder/string-decoder.js | encoding | ascii | utf8 | chunkLen");
    /* a surely read three-letter acronym stays; marker rows of two letters
     * (SESE, eee) and an unsure one go */
    const char *e[] = {"SSH", "connection", "SESE", "ese", "CSS"};
    const float ec[] = {96, 96, 96, 96, 70};
    const bool el[] = {true, false, true, true, true};
    check_filter(e, ec, el, 5, "SSH connection");
    /* on a small image, lines of one or two marks go; a sign's word, a
     * two-character Chinese word and a longer line stay */
    const char *f[] = {"Cz", "STOP", "(2", "设", "置", "+44", "git", "4", "区"};
    const float fc[] = {90, 95, 88, 90, 90, 80, 92, 90, 85};
    const bool fl[] = {true, true, true, true, false, true, false, true, false};
    check_filter_on(f, fc, fl, 9, true, "STOP | 设 置 | +44 git");
    check_filter_on(f, fc, fl, 9, false, "Cz | STOP | (2 | 设 置 | +44 git | 4 区");
    /* real Chinese next to Latin stays */
    const char *d[] = {"Chinese", "(Simplified)", "中", "文", "(", "简", "体", ")", "English"};
    const float dc[] = {95, 93, 90, 91, 85, 90, 90, 85, 96};
    const bool dl[] = {true, false, false, false, false, false, false, false, true};
    check_filter(d, dc, dl, 9, "Chinese (Simplified) 中 文 ( 简 体 ) | English");
}

int main(void)
{
    odx_err err = {0};
    if (cap_ocr_new(&ocr, NULL, &err) != ODX_OK) {
        /* The packages are a build dependency: a missing model is a failure,
         * with the message saying which package. */
        fprintf(stderr, "cap_ocr_new: %s\n", err.msg);
        CHECK(strstr(err.msg, "tesseract-ocr") != NULL);
        CHECK(0);
        return check_result("test_cap_ocr");
    }
    test_wanted();
    test_english();
    test_chinese();
    test_table();
    test_dark_page();
    test_dark_band();
    test_small_sign();
    test_word_filters();
    test_bad_input();
    cap_ocr_free(ocr);
    cap_ocr_free(NULL);
    return check_result("test_cap_ocr");
}

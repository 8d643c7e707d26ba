/* test_cap_features.c - unit tests for captioner/features.c and domain.c on
 * synthetic images drawn here: flat colour, sky gradient, ruled grid, axes
 * with bars, noise, a pie, a borderless table, framed and tinted plot
 * areas, large lettering (its size read in original pixels, from the
 * picture and from OCR lines), a window; and the classification of the
 * clear cases. */
#include "captioner_int.h"
#include "domain_model.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static cap_image img_new(int w, int h, uint8_t r, uint8_t g, uint8_t b)
{
    cap_image im = {w, h, malloc((size_t)w * h * 3)};
    for (int i = 0; i < w * h; i++) {
        im.rgb[3 * i] = r;
        im.rgb[3 * i + 1] = g;
        im.rgb[3 * i + 2] = b;
    }
    return im;
}

static void put(cap_image *im, int x, int y, uint8_t r, uint8_t g, uint8_t b)
{
    if (x < 0 || y < 0 || x >= im->w || y >= im->h)
        return;
    uint8_t *p = im->rgb + ((size_t)y * im->w + x) * 3;
    p[0] = r;
    p[1] = g;
    p[2] = b;
}

static void rect(cap_image *im, int x0, int y0, int x1, int y1, uint8_t r, uint8_t g, uint8_t b)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            put(im, x, y, r, g, b);
}

static uint32_t seed = 7;
static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

/* Small dark "glyphs" in rows, as text looks at thumbnail scale. */
static void text_rows(cap_image *im, int x0, int x1, int y0, int n_rows, int pitch)
{
    for (int r = 0; r < n_rows; r++) {
        int y = y0 + r * pitch;
        for (int x = x0; x + 4 < x1; x += 6)
            if (rnd() % 7)
                rect(im, x, y, x + 4, y + 6, 20, 20, 20);
    }
}

static void describe_by(const cap_image *im, cap_desc *d, cap_dom_model m)
{
    memset(d, 0, sizeof *d);
    d->width = im->w;
    d->height = im->h;
    cap_features_compute(im, d);
    cap_classify(d, im, m);
}

/* With the default, hand-set model. */
static void describe(const cap_image *im, cap_desc *d) { describe_by(im, d, CAP_DOM_HAND); }

/* As describe, for a thumbnail of an original of W x H pixels. */
static void describe_as(const cap_image *im, int W, int H, cap_desc *d)
{
    memset(d, 0, sizeof *d);
    d->width = W;
    d->height = H;
    cap_features_compute(im, d);
    cap_classify(d, im, CAP_DOM_HAND);
}

static void test_flat(void)
{
    cap_image im = img_new(300, 200, 200, 30, 30);
    cap_desc d;
    describe(&im, &d);
    CHECK(d.n_colors >= 1);
    CHECK_STR(d.colors[0].name, "red");
    CHECK_STR(d.colors[0].name_zh, "红色");
    CHECK_NEAR(d.colors[0].share, 1.0, 0.01);
    CHECK_NEAR(d.feat.aspect, 1.5, 0.01);
    CHECK(d.feat.flat_share > 0.9f);
    CHECK(d.feat.noise < 0.01f);
    CHECK(d.feat.edge_density < 0.01f);
    CHECK(d.feat.n_h_rules == 0 && d.feat.n_v_rules == 0);
    cap_image_free(&im);

    /* names of a few more flat colours */
    struct { uint8_t r, g, b; const char *name; } cases[] = {
        {20, 60, 220, "blue"}, {30, 160, 40, "green"}, {250, 250, 250, "white"},
        {10, 10, 10, "black"}, {128, 128, 128, "gray"}, {250, 140, 20, "orange"},
        {240, 220, 30, "yellow"}, {130, 40, 170, "purple"}, {120, 70, 30, "brown"},
        {250, 170, 200, "pink"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        im = img_new(40, 40, cases[i].r, cases[i].g, cases[i].b);
        describe(&im, &d);
        CHECK(d.n_colors >= 1);
        if (d.n_colors)
            CHECK_STR(d.colors[0].name, cases[i].name);
        cap_image_free(&im);
    }
}

static void test_sky(void)
{
    /* blue sky gradient on top, textured green field below */
    cap_image im = img_new(400, 300, 0, 0, 0);
    for (int y = 0; y < 300; y++)
        for (int x = 0; x < 400; x++) {
            if (y < 150)
                put(&im, x, y, (uint8_t)(90 + y / 3), (uint8_t)(150 + y / 4), 235);
            else {
                int v = (int)(rnd() % 60);
                put(&im, x, y, (uint8_t)(40 + v / 2), (uint8_t)(110 + v), (uint8_t)(30 + v / 3));
            }
        }
    cap_desc d;
    describe(&im, &d);
    CHECK_MSG(d.feat.sky > 0.5f, "sky %g", d.feat.sky);
    CHECK_MSG(d.feat.vegetation > 0.3f, "vegetation %g", d.feat.vegetation);
    CHECK(d.feat.night < 0.1f);
    CHECK(d.feat.noise > 0.2f);
    CHECK(d.domain == CAP_PHOTO);
    bool has_blue = false, has_green = false;
    for (int i = 0; i < d.n_colors; i++) {
        has_blue |= strstr(d.colors[i].name, "blue") != NULL;
        has_green |= strstr(d.colors[i].name, "green") != NULL;
    }
    CHECK(has_blue && has_green);
    cap_image_free(&im);
}

static void test_grid_table(void)
{
    /* 6 rows x 4 columns of cells with black borders and text inside */
    cap_image im = img_new(480, 300, 255, 255, 255);
    for (int r = 0; r <= 6; r++)
        rect(&im, 20, 20 + r * 42, 461, 22 + r * 42, 0, 0, 0);
    for (int c = 0; c <= 4; c++)
        rect(&im, 20 + c * 110, 20, 22 + c * 110, 274, 0, 0, 0);
    for (int r = 0; r < 6; r++)
        for (int c = 0; c < 4; c++)
            text_rows(&im, 30 + c * 110, 30 + c * 110 + 70, 34 + r * 42, 1, 10);
    cap_desc d;
    describe(&im, &d);
    CHECK_MSG(d.feat.n_h_rules == 7, "h rules %d", d.feat.n_h_rules);
    CHECK_MSG(d.feat.n_v_rules == 5, "v rules %d", d.feat.n_v_rules);
    CHECK_MSG(d.feat.grid_score > 0.8f, "grid %g", d.feat.grid_score);
    CHECK(d.feat.h_rule_share > 0.01f);
    CHECK_MSG(d.domain == CAP_TABLE, "domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);
}

static void test_axes_bars(void)
{
    cap_image im = img_new(500, 320, 255, 255, 255);
    rect(&im, 60, 30, 62, 282, 0, 0, 0);   /* y axis */
    rect(&im, 60, 280, 480, 282, 0, 0, 0); /* x axis */
    int heights[5] = {120, 200, 90, 230, 160};
    for (int i = 0; i < 5; i++) {
        int x = 90 + i * 75;
        rect(&im, x, 280 - heights[i], x + 45, 280, 31, 119, 180);
        for (int t = 0; t < 3; t++) /* tick labels */
            rect(&im, x + 12 + t * 7, 290, x + 17 + t * 7, 298, 30, 30, 30);
    }
    for (int i = 0; i < 5; i++) /* y tick labels */
        rect(&im, 30, 60 + i * 50, 50, 67 + i * 50, 30, 30, 30);
    cap_desc d;
    describe(&im, &d);
    CHECK_MSG(d.feat.axis_score > 0.6f, "axis %g", d.feat.axis_score);
    CHECK(d.feat.sector_score < 0.3f);
    CHECK_MSG(d.domain == CAP_CHART, "domain %s", cap_domain_name(d.domain));
    CHECK_STR(d.chart_type, "bar");
    cap_layout L;
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.n_big_glyphs == 0, "solid bars read as %d letters", L.n_big_glyphs);
    cap_image_free(&im);
}

static void test_noise(void)
{
    cap_image im = img_new(320, 240, 0, 0, 0);
    for (int i = 0; i < 320 * 240 * 3; i++)
        im.rgb[i] = (uint8_t)(60 + rnd() % 120);
    cap_desc d;
    describe(&im, &d);
    CHECK_MSG(d.feat.noise > 0.5f, "noise %g", d.feat.noise);
    CHECK(d.feat.flat_share < 0.05f);
    CHECK(d.feat.n_h_rules == 0);
    CHECK(d.feat.text_likeness < 0.2f);
    CHECK_MSG(d.domain == CAP_PHOTO, "domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);
}

static void test_pie(void)
{
    cap_image im = img_new(480, 360, 255, 255, 255);
    const uint8_t col[4][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}};
    const float cut[4] = {0.35f, 0.6f, 0.85f, 1.0f};
    float cx = 200, cy = 180, r = 140;
    for (int y = 0; y < 360; y++)
        for (int x = 0; x < 480; x++) {
            float dx = x - cx, dy = y - cy;
            if (dx * dx + dy * dy > r * r)
                continue;
            float a = (atan2f(dy, dx) + 3.14159265f) / (2 * 3.14159265f);
            int k = 0;
            while (k < 3 && a > cut[k])
                k++;
            put(&im, x, y, col[k][0], col[k][1], col[k][2]);
        }
    for (int i = 0; i < 4; i++) /* legend */
        rect(&im, 390, 120 + i * 30, 405, 132 + i * 30, col[i][0], col[i][1], col[i][2]);
    cap_desc d;
    describe(&im, &d);
    CHECK_MSG(d.feat.sector_score > 0.6f, "sector %g", d.feat.sector_score);
    CHECK_MSG(d.domain == CAP_CHART, "domain %s", cap_domain_name(d.domain));
    CHECK_STR(d.chart_type, "pie");
    CHECK(d.domain_conf > 0.5f && d.domain_conf <= 1.0f);
    cap_image_free(&im);

    /* a single-colour disc is not a pie */
    im = img_new(300, 300, 255, 255, 255);
    for (int y = 0; y < 300; y++)
        for (int x = 0; x < 300; x++)
            if ((x - 150) * (x - 150) + (y - 150) * (y - 150) < 120 * 120)
                put(&im, x, y, 240, 140, 20);
    describe(&im, &d);
    CHECK_MSG(d.feat.sector_score < 0.3f, "sector %g", d.feat.sector_score);
    cap_image_free(&im);
}

static void test_text_page(void)
{
    cap_image im = img_new(400, 520, 255, 255, 255);
    text_rows(&im, 40, 360, 40, 30, 15);
    cap_desc d;
    describe(&im, &d);
    CHECK_MSG(d.feat.n_text_lines >= 25 && d.feat.n_text_lines <= 32, "lines %d",
              d.feat.n_text_lines);
    CHECK(d.feat.text_likeness > 0.7f);
    CHECK_MSG(d.domain == CAP_DOCUMENT, "domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);
}

/* One "word" of n glyph blocks (4x6, 2 px apart) at x, y. */
static int word(cap_image *im, int x, int y, int n)
{
    for (int i = 0; i < n; i++)
        rect(im, x + i * 6, y, x + i * 6 + 4, y + 6, 20, 20, 20);
    return x + n * 6;
}

static void test_borderless_table(void)
{
    /* 16 rows x 5 columns of short cells, no rules at all, under a title */
    cap_image im = img_new(480, 360, 255, 255, 255);
    word(&im, 40, 20, 30);
    const int colx[5] = {40, 130, 220, 310, 400};
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 5; c++)
            word(&im, colx[c] + (int)(rnd() % 3) * 6, 50 + r * 18, 2 + (int)(rnd() % 5));
    cap_layout L;
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.n_rows >= 16 && L.n_rows <= 18, "rows %d", L.n_rows);
    CHECK_MSG(L.n_table_rows >= 15, "table rows %d", L.n_table_rows);
    CHECK_MSG(L.max_cols == 5, "cols %d", L.max_cols);
    CHECK_MSG(L.margin_even > 0.95f, "margin %g", L.margin_even);
    cap_desc d;
    describe(&im, &d);
    CHECK_MSG(d.feat.grid_score == 0, "grid %g", d.feat.grid_score);
    CHECK_MSG(d.domain == CAP_TABLE, "domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);

    /* running text: word gaps at different places in every line */
    im = img_new(400, 520, 255, 255, 255);
    for (int r = 0; r < 30; r++) {
        int x = 40;
        while (x < 340)
            x = word(&im, x, 40 + r * 15, 2 + (int)(rnd() % 8)) + 6;
    }
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.n_rows >= 28, "rows %d", L.n_rows);
    CHECK_MSG(L.n_table_rows == 0, "table rows %d", L.n_table_rows);
    describe(&im, &d);
    CHECK_MSG(d.domain == CAP_DOCUMENT, "domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);
}

/* Tick labels left of and below a plot area [x0,x1]x[y0,y1]. */
static void tick_labels(cap_image *im, int x0, int x1, int y0, int y1, uint8_t v)
{
    for (int i = 0; i < 5; i++) {
        int y = y0 + 10 + i * (y1 - y0 - 20) / 4;
        rect(im, x0 - 28, y - 3, x0 - 8, y + 4, v, v, v);
    }
    for (int i = 0; i < 6; i++) {
        int x = x0 + 15 + i * (x1 - x0 - 30) / 5;
        rect(im, x - 8, y1 + 8, x + 8, y1 + 15, v, v, v);
    }
}

/* Tick marks sticking out of the left and bottom spines at the labels of
 * tick_labels, and one in the corner, as plotting libraries draw them. */
static void tick_marks(cap_image *im, int x0, int x1, int y0, int y1)
{
    rect(im, x0 - 5, y1 - 1, x0, y1 + 1, 0, 0, 0);
    for (int i = 0; i < 5; i++) {
        int y = y0 + 10 + i * (y1 - y0 - 20) / 4;
        rect(im, x0 - 5, y, x0, y + 1, 0, 0, 0);
    }
    for (int i = 0; i < 6; i++) {
        int x = x0 + 15 + i * (x1 - x0 - 30) / 5;
        rect(im, x, y1, x + 1, y1 + 5, 0, 0, 0);
    }
}

static void test_plot_areas(void)
{
    /* classic style: four black spines, a blue curve inside */
    cap_image im = img_new(500, 350, 255, 255, 255);
    rect(&im, 70, 30, 480, 31, 0, 0, 0);
    rect(&im, 70, 289, 480, 290, 0, 0, 0);
    rect(&im, 70, 30, 71, 290, 0, 0, 0);
    rect(&im, 479, 30, 480, 290, 0, 0, 0);
    tick_labels(&im, 70, 480, 30, 290, 40);
    tick_marks(&im, 70, 480, 30, 290);
    for (int x = 80; x < 470; x++) {
        int y = 160 + (int)(90 * sinf((float)x / 40)); /* steps <= 3 px: */
        rect(&im, x, y, x + 2, y + 4, 31, 119, 180);      /* stays joined */
    }
    cap_layout L;
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.box_area > 0.5f && L.box_area < 0.7f, "box %g", L.box_area);
    CHECK_MSG(L.n_left_labels == 5, "left labels %d", L.n_left_labels);
    CHECK_MSG(L.n_bottom_labels == 6, "bottom labels %d", L.n_bottom_labels);
    CHECK(L.box_ink > 0.005f && L.box_ink < 0.2f);
    cap_desc d;
    describe(&im, &d);
    CHECK_MSG(d.domain == CAP_CHART, "domain %s", cap_domain_name(d.domain));
    CHECK_STR(d.chart_type, "line");
    cap_image_free(&im);

    /* tinted panel with white grid lines and bars, no spines */
    im = img_new(500, 350, 255, 255, 255);
    rect(&im, 70, 30, 481, 291, 229, 229, 229);
    for (int y = 50; y < 290; y += 50)
        rect(&im, 70, y, 481, y + 1, 255, 255, 255);
    for (int i = 0; i < 6; i++)
        rect(&im, 90 + i * 65, 290 - 40 * (i + 1), 130 + i * 65, 291, 226, 74, 51);
    tick_labels(&im, 70, 481, 30, 291, 80);
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.box_area > 0.5f && L.box_area < 0.7f, "box %g", L.box_area);
    CHECK_MSG(L.n_left_labels == 5 && L.n_bottom_labels == 6, "labels %d %d",
              L.n_left_labels, L.n_bottom_labels);
    describe(&im, &d);
    CHECK_MSG(d.domain == CAP_CHART, "domain %s", cap_domain_name(d.domain));
    CHECK_STR(d.chart_type, "bar");
    cap_image_free(&im);

    /* black curve, black lettering: the many glyphs of the title and the
     * tick labels lie outside the plot area and are no scatter dots */
    im = img_new(500, 350, 255, 255, 255);
    rect(&im, 70, 30, 480, 31, 0, 0, 0);
    rect(&im, 70, 289, 480, 290, 0, 0, 0);
    rect(&im, 70, 30, 71, 290, 0, 0, 0);
    rect(&im, 479, 30, 480, 290, 0, 0, 0);
    word(&im, 150, 10, 40);
    for (int i = 0; i < 5; i++)
        word(&im, 38, 40 + i * 55, 4);
    for (int i = 0; i < 6; i++)
        word(&im, 80 + i * 70, 298, 4);
    for (int x = 80; x < 470; x++) {
        int y = 160 + (int)(90 * sinf((float)x / 40));
        rect(&im, x, y, x + 2, y + 4, 0, 0, 0);
    }
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.box_area > 0.5f, "box %g", L.box_area);
    CHECK_MSG(L.n_curves >= 1 && L.n_blobs < 3, "curves %d blobs %d", L.n_curves, L.n_blobs);
    describe(&im, &d);
    CHECK_MSG(d.domain == CAP_CHART, "domain %s", cap_domain_name(d.domain));
    CHECK_STR(d.chart_type, "line");
    cap_image_free(&im);

    /* the same frame without tick labels is no plot area with labels */
    im = img_new(500, 350, 255, 255, 255);
    rect(&im, 70, 30, 480, 31, 0, 0, 0);
    rect(&im, 70, 289, 480, 290, 0, 0, 0);
    rect(&im, 70, 30, 71, 290, 0, 0, 0);
    rect(&im, 479, 30, 480, 290, 0, 0, 0);
    cap_layout_compute(&im, &L);
    CHECK(L.box_area > 0.5f);
    CHECK(L.n_left_labels == 0 && L.n_bottom_labels == 0);
    cap_image_free(&im);

    /* a frame touching the image edge is a window, not a plot area */
    im = img_new(500, 350, 255, 255, 255);
    rect(&im, 0, 0, 500, 2, 0, 0, 0);
    rect(&im, 0, 348, 500, 350, 0, 0, 0);
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.box_area == 0, "box %g", L.box_area);
    cap_image_free(&im);
}

/* Field-set patterns (tests/eval/field_set.sh): a ggplot2 chart, whose grey
 * panel (grey92 = 235) is only 20 levels off the white page, and a gnuplot
 * scatter whose markers sit in column-aligned rows inside the frame. */
static void test_field_charts(void)
{
    /* ggplot2: grey92 panel, white grid lines through it, no spines, grey
     * tick labels outside, a coloured line with points */
    cap_image im = img_new(500, 350, 255, 255, 255);
    rect(&im, 70, 30, 481, 291, 235, 235, 235);
    for (int y = 50; y < 290; y += 50)
        rect(&im, 70, y, 481, y + 1, 255, 255, 255);
    for (int x = 100; x < 480; x += 80)
        rect(&im, x, 30, x + 1, 291, 255, 255, 255);
    for (int x = 90; x < 460; x++) {
        int y = 250 - (x - 90) / 2;
        rect(&im, x, y, x + 2, y + 3, 248, 118, 109);
    }
    tick_labels(&im, 70, 481, 30, 291, 77);
    cap_layout L;
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.box_area > 0.5f && L.box_area < 0.7f, "ggplot box %g", L.box_area);
    CHECK_MSG(L.n_left_labels == 5 && L.n_bottom_labels == 6, "ggplot labels %d %d",
              L.n_left_labels, L.n_bottom_labels);
    cap_desc d;
    describe(&im, &d);
    CHECK_MSG(d.domain == CAP_CHART, "ggplot: domain %s", cap_domain_name(d.domain));
    /* the same panel 10 levels off the page (a zebra stripe, a faint
     * background) is no plot area */
    rect(&im, 0, 0, 500, 350, 255, 255, 255);
    rect(&im, 70, 30, 481, 291, 245, 245, 245);
    tick_labels(&im, 70, 481, 30, 291, 77);
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.box_area == 0, "faint panel box %g", L.box_area);
    cap_image_free(&im);

    /* gnuplot: four spines, tick labels, and '+' markers on a regular
     * grid of x values: rows of marks that share column gaps, as a
     * borderless table's rows do */
    im = img_new(500, 350, 255, 255, 255);
    rect(&im, 70, 30, 480, 31, 0, 0, 0);
    rect(&im, 70, 289, 480, 290, 0, 0, 0);
    rect(&im, 70, 30, 71, 290, 0, 0, 0);
    rect(&im, 479, 30, 480, 290, 0, 0, 0);
    tick_labels(&im, 70, 480, 30, 290, 40);
    tick_marks(&im, 70, 480, 30, 290);
    for (int r = 0; r < 12; r++)
        for (int c = 0; c < 8; c++) {
            if ((r + c) % 3 == 0)
                continue;
            int x = 100 + c * 45 + (r % 2) * 3, y = 45 + r * 19;
            rect(&im, x - 3, y, x + 4, y + 1, 220, 0, 0);
            rect(&im, x, y - 3, x + 1, y + 4, 220, 0, 0);
        }
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.box_area > 0.5f && L.n_left_labels == 5 && L.n_bottom_labels == 6,
              "gnuplot box %g labels %d %d", L.box_area, L.n_left_labels, L.n_bottom_labels);
    CHECK_MSG(L.n_table_rows >= 10, "gnuplot marker rows %d", L.n_table_rows);
    describe(&im, &d);
    CHECK_MSG(d.domain == CAP_CHART, "gnuplot: domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);
}

static void test_big_lettering(void)
{
    /* a 16:9 sheet with two rows of large glyphs and one small caption */
    cap_image im = img_new(512, 288, 255, 255, 255);
    for (int r = 0; r < 2; r++)
        for (int x = 60 + r * 30; x < 440 - r * 30; x += 22)
            rect(&im, x, 60 + r * 60, x + 16, 60 + r * 60 + 18, 10, 10, 10);
    word(&im, 150, 240, 25);
    cap_layout L;
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.n_big_rows == 2, "big rows %d", L.n_big_rows);
    CHECK_MSG(L.row_h > 0.05f, "row h %g", L.row_h);
    CHECK(L.n_table_rows == 0);
    cap_desc d;
    /* the thumbnail of a 1600x900 sheet: the glyphs are 56 px there */
    describe_as(&im, 1600, 900, &d);
    CHECK_MSG(d.domain == CAP_POSTER, "domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);

    /* a logo: one word of six big letters (stroked shapes) on a page */
    im = img_new(362, 512, 255, 255, 255);
    for (int i = 0; i < 6; i++) {
        int x = 40 + i * 48;
        rect(&im, x, 380, x + 38, 440, 10, 10, 10);
        rect(&im, x + 8, 388, x + 30, 432, 255, 255, 255);
    }
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.n_big_glyphs == 6, "big glyphs %d", L.n_big_glyphs);
    describe(&im, &d);
    CHECK_MSG(d.domain == CAP_POSTER, "domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);

    /* flat coloured planes on white with no lettering at all (a geometry
     * figure): not a poster, which is visual text */
    im = img_new(405, 470, 255, 255, 255);
    rect(&im, 60, 180, 345, 320, 240, 200, 40);
    rect(&im, 150, 60, 250, 410, 90, 170, 90);
    rect(&im, 40, 240, 365, 260, 200, 200, 200);
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.n_big_rows == 0 && L.n_big_glyphs <= 1, "rows %d glyphs %d", L.n_big_rows, L.n_big_glyphs);
    describe(&im, &d);
    CHECK_MSG(d.domain == CAP_DIAGRAM, "geometry: domain %s", cap_domain_name(d.domain));
    /* the same planes with a big headline word above them are a poster */
    for (int i = 0; i < 6; i++) {
        int x = 60 + i * 48;
        rect(&im, x, 10, x + 38, 52, 10, 10, 10);
        rect(&im, x + 8, 16, x + 30, 46, 255, 255, 255);
    }
    describe(&im, &d);
    CHECK_MSG(d.domain == CAP_POSTER, "geometry + headline: domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);

    /* text of page size is not large lettering */
    im = img_new(400, 520, 255, 255, 255);
    text_rows(&im, 40, 360, 40, 30, 15);
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.n_big_rows == 0, "big rows %d", L.n_big_rows);
    CHECK_MSG(L.n_big_glyphs == 0, "big glyphs %d", L.n_big_glyphs);
    CHECK_MSG(L.row_h < 0.02f, "row h %g", L.row_h);
    cap_image_free(&im);
}


/* Lettering size is read in original pixels: a short strip cropped from a
 * screen (three rows of text-size glyphs, each 8% of the strip's height)
 * looks like large lettering on the thumbnail; from a 2x original its rows
 * are 16 px (text), from an 8x original 64 px (a banner's lettering). */
static void test_lettering_px(void)
{
    cap_image im = img_new(512, 100, 255, 255, 255);
    for (int r = 0; r < 3; r++)
        for (int x = 20 + r * 40; x < 420 - r * 60; x += 12)
        {   /* stroked, as letters are, not solid panels */
            rect(&im, x, 12 + r * 30, x + 9, 12 + r * 30 + 9, 20, 20, 20);
            rect(&im, x + 2, 15 + r * 30, x + 7, 12 + r * 30 + 9, 255, 255, 255);
        }
    cap_layout L;
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.n_big_rows == 3, "big rows %d", L.n_big_rows);
    CHECK_MSG(L.big_row_h > 0.08f && L.big_row_h < 0.12f, "big row h %g", L.big_row_h);
    CHECK_MSG(L.n_big_glyphs >= 20, "big glyphs %d", L.n_big_glyphs);
    CHECK_MSG(L.big_glyph_h > 0.08f && L.big_glyph_h < 0.12f, "big glyph h %g", L.big_glyph_h);
    float s_small[CAP_N_DOMAINS], s_large[CAP_N_DOMAINS];
    cap_desc d;
    describe_as(&im, 1024, 200, &d);
    cap_domain_scores(&d, &im, CAP_DOM_HAND, s_small);
    CHECK_MSG(d.domain != CAP_POSTER, "16 px rows: domain %s", cap_domain_name(d.domain));
    describe_as(&im, 4096, 800, &d);
    cap_domain_scores(&d, &im, CAP_DOM_HAND, s_large);
    CHECK_MSG(d.domain == CAP_POSTER, "64 px rows: domain %s", cap_domain_name(d.domain));
    CHECK_MSG(s_large[CAP_POSTER] > s_small[CAP_POSTER] + 0.8f, "poster %g vs %g",
              s_large[CAP_POSTER], s_small[CAP_POSTER]);
    /* unknown original size: the thumbnail shares decide, as before */
    describe_as(&im, 0, 0, &d);
    CHECK_MSG(d.domain == CAP_POSTER, "no size: domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);
}

/* After OCR, the height of the lines read in original pixels: a few lines
 * of screen-size text in a synthetic crop are no poster lettering, while
 * one word filling much of a logo is, even where the picture's lettering
 * cues missed it (joined script letters). */
static void test_ocr_text_size(void)
{
    /* a joined, script-like word: one long component, no separate glyphs */
    cap_image im = img_new(300, 130, 255, 255, 255);
    for (int x = 40; x < 260; x++) {
        int y = 65 + (int)(22 * sinf((float)x / 9));
        rect(&im, x, y - 3, x + 2, y + 3, 30, 60, 140);
    }
    cap_desc d;
    describe_as(&im, 300, 130, &d);
    cap_domain pre = d.domain;
    cap_text_line big[1] = {{(char *)"Reitz", 80, 40, 20, 220, 80}};
    d.lines = big;
    d.n_lines = 1;
    d.ocr_ran = true;
    cap_classify(&d, &im, CAP_DOM_HAND);
    CHECK_MSG(d.domain == CAP_POSTER, "80 px word: domain %s (before OCR %s)",
              cap_domain_name(d.domain), cap_domain_name(pre));
    /* the same word at text size does not make a poster */
    cap_text_line small[1] = {{(char *)"Reitz", 80, 40, 55, 60, 14}};
    d.lines = small;
    cap_classify(&d, &im, CAP_DOM_HAND);
    CHECK_MSG(d.domain != CAP_POSTER, "14 px word: domain %s", cap_domain_name(d.domain));
    /* two stray characters read large are no word */
    cap_text_line stray[1] = {{(char *)"CD", 80, 40, 20, 90, 80}};
    d.lines = stray;
    cap_classify(&d, &im, CAP_DOM_HAND);
    CHECK_MSG(d.domain != CAP_POSTER, "stray 'CD': domain %s", cap_domain_name(d.domain));
    d.lines = NULL;
    d.n_lines = 0;
    cap_image_free(&im);

    /* a form crop: title, two labels and a field, text 18-26 px in a
     * 1300x390 original; on the thumbnail its rows are 6% of the height */
    im = img_new(512, 154, 255, 255, 255);
    for (int x = 12; x < 110; x += 11)
        rect(&im, x, 14, x + 8, 24, 30, 30, 30);
    for (int x = 160; x < 260; x += 11)
        rect(&im, x, 14, x + 8, 24, 30, 30, 30);
    rect(&im, 12, 60, 500, 61, 200, 200, 200);
    rect(&im, 12, 90, 500, 91, 200, 200, 200);
    for (int x = 20; x < 300; x += 8)
        rect(&im, x, 70, x + 6, 80, 60, 60, 60);
    describe_as(&im, 1300, 390, &d);
    float s_pre[CAP_N_DOMAINS];
    cap_domain_scores(&d, &im, CAP_DOM_HAND, s_pre);
    cap_text_line form[4] = {
        {(char *)"BASIC INFO", 80, 30, 36, 260, 26},
        {(char *)"STREAM OPTIONS", 80, 400, 36, 330, 26},
        {(char *)"2016-10-12 Node.js Foundation meeting", 80, 50, 180, 700, 20},
        {(char *)"Description", 80, 30, 300, 180, 18},
    };
    d.lines = form;
    d.n_lines = 4;
    d.ocr_ran = true;
    cap_classify(&d, &im, CAP_DOM_HAND);
    CHECK_MSG(d.domain != CAP_POSTER, "form crop: domain %s", cap_domain_name(d.domain));
    float s_form[CAP_N_DOMAINS];
    cap_domain_scores(&d, &im, CAP_DOM_HAND, s_form);
    /* what OCR read is text size: it speaks against lettering */
    CHECK_MSG(s_form[CAP_POSTER] < s_pre[CAP_POSTER] - 0.1f, "poster after OCR %g, before %g",
              s_form[CAP_POSTER], s_pre[CAP_POSTER]);
    /* the same lines at banner size (an 8x original) read as lettering */
    for (int i = 0; i < 4; i++) {
        form[i].x *= 4;
        form[i].y *= 4;
        form[i].w *= 4;
        form[i].h *= 4;
    }
    d.width = 5200;
    d.height = 1560;
    float s_banner[CAP_N_DOMAINS];
    cap_domain_scores(&d, &im, CAP_DOM_HAND, s_banner);
    CHECK_MSG(s_banner[CAP_POSTER] > s_form[CAP_POSTER] + 0.5f, "poster %g vs %g",
              s_banner[CAP_POSTER], s_form[CAP_POSTER]);
    d.lines = NULL;
    d.n_lines = 0;
    cap_image_free(&im);
}

static void test_window(void)
{
    /* title bar, menu bar, side panel running to the edges, text inside */
    cap_image im = img_new(512, 384, 250, 250, 250);
    rect(&im, 0, 0, 512, 22, 60, 60, 64);
    rect(&im, 200, 8, 312, 14, 230, 230, 230);
    rect(&im, 0, 22, 512, 40, 232, 232, 235);
    for (int i = 0; i < 6; i++)
        word(&im, 8 + i * 50, 28, 4);
    rect(&im, 0, 40, 130, 384, 215, 218, 224);
    for (int r = 0; r < 12; r++)
        word(&im, 12, 52 + r * 22, 3 + (int)(rnd() % 8));
    for (int r = 0; r < 10; r++) {
        int x = 150;
        while (x < 470)
            x = word(&im, x, 60 + r * 16, 2 + (int)(rnd() % 7)) + 6;
    }
    cap_layout L;
    cap_layout_compute(&im, &L);
    CHECK_MSG(L.margin_even < 0.5f, "margin %g", L.margin_even);
    CHECK(L.box_area == 0);
    cap_desc d;
    describe(&im, &d);
    CHECK_MSG(d.domain == CAP_SCREENSHOT, "domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);
}

static void test_faint_texture(void)
{
    /* white page strewn with faint grey dots: texture-like, but two
     * colours only, so no camera texture */
    cap_image im = img_new(480, 270, 255, 255, 255);
    for (int i = 0; i < 480 * 270 / 3; i++) {
        int p = (int)(rnd() % (480 * 270));
        put(&im, p % 480, p / 480, 236, 236, 236);
    }
    for (int x = 100; x < 380; x += 24)
        rect(&im, x, 100, x + 18, 120, 20, 20, 20);
    cap_desc d;
    describe(&im, &d);
    CHECK_MSG(d.feat.noise > 0.2f, "noise %g", d.feat.noise);
    CHECK_MSG(d.feat.n_colors < 0.06f, "colours %g", d.feat.n_colors);
    CHECK_MSG(d.domain != CAP_PHOTO, "domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);
}

static void test_degenerate(void)
{
    cap_desc d;
    memset(&d, 0, sizeof d);
    cap_image none = {0};
    cap_features_compute(&none, &d); /* must not crash */
    CHECK(d.n_colors == 0);
    cap_image one = img_new(1, 1, 5, 5, 5);
    describe(&one, &d);
    CHECK(d.domain >= 0 && d.domain < CAP_N_DOMAINS);
    cap_image_free(&one);
    cap_layout L;
    cap_layout_compute(&one, &L);
    CHECK(L.n_rows == 0 && L.box_area == 0);
    cap_layout_compute(NULL, &L);
    CHECK(L.n_rows == 0);
    cap_image thin = img_new(512, 2, 100, 100, 100);
    describe(&thin, &d);
    CHECK(d.domain >= 0 && d.domain < CAP_N_DOMAINS);
    cap_image_free(&thin);
}

/* The fitted model (OMNIDEX_DOMAIN=fitted): finite inputs, text inputs zero
 * until OCR ran, the decision is the best of cap_domain_scores and
 * domain_conf its softmax probability at the fitted temperature; a camera
 * picture is a photo and a page of text rows a document. */
static void test_fitted_model(void)
{
    cap_image im = img_new(480, 360, 0, 0, 0);
    for (int y = 0; y < 360; y++)
        for (int x = 0; x < 480; x++)
            put(&im, x, y, (uint8_t)(60 + x / 6 + rnd() % 60), (uint8_t)(100 + rnd() % 70),
                (uint8_t)(40 + y / 5 + rnd() % 50));
    cap_desc d;
    describe_by(&im, &d, CAP_DOM_FITTED);
    float vis[DOM_NV], txt[DOM_NT], s[CAP_N_DOMAINS];
    cap_domain_features(&d, &im, vis, txt);
    bool finite = true, zero = true;
    for (int j = 0; j < DOM_NV; j++)
        finite &= isfinite(vis[j]) != 0;
    for (int j = 0; j < DOM_NT; j++)
        zero &= txt[j] == 0;
    CHECK(finite);
    CHECK(zero);
    cap_domain_scores(&d, &im, CAP_DOM_FITTED, s);
    int best = 0;
    for (int k = 1; k < CAP_N_DOMAINS; k++)
        if (s[k] > s[best])
            best = k;
    CHECK_MSG((int)d.domain == best, "domain %s, best score %s", cap_domain_name(d.domain),
              cap_domain_name((cap_domain)best));
    double z = 0;
    for (int k = 0; k < CAP_N_DOMAINS; k++)
        z += exp((s[k] - s[best]) / dom_model_pre.temp);
    CHECK_MSG(fabs(d.domain_conf - 1 / z) < 1e-4, "conf %g vs softmax %g", d.domain_conf, 1 / z);
    CHECK_MSG(d.domain == CAP_PHOTO, "camera picture: domain %s", cap_domain_name(d.domain));
    cap_image_free(&im);

    im = img_new(600, 800, 255, 255, 255);
    text_rows(&im, 50, 550, 60, 40, 16);
    describe_by(&im, &d, CAP_DOM_FITTED);
    CHECK_MSG(d.domain == CAP_DOCUMENT, "text page: domain %s", cap_domain_name(d.domain));
    CHECK(d.domain_conf > 1.0f / CAP_N_DOMAINS && d.domain_conf <= 1.0f);
    cap_image_free(&im);
}

/* A feature is clipped to the model's [lo, hi] before it is standardised,
 * so that a value far outside the train split's range cannot run a score
 * away; a model without a range (hi <= lo) takes the value as it is. */
static void test_model_clip(void)
{
    static dom_lr m;
    m.n = 2;
    m.mean[0] = 0.5f, m.scale[0] = 0.25f, m.lo[0] = 0, m.hi[0] = 1;
    m.mean[1] = 0, m.scale[1] = 1; /* no range: not clipped */
    m.w[CAP_CHART][0] = 2;
    m.w[CAP_PHOTO][1] = 1;
    m.b[CAP_TABLE] = 0.5f;
    float in[2] = {1, 0}, out[2] = {100, 0}, lowv[2] = {-7, 0}, free_[2] = {0, 30};
    float s1[CAP_N_DOMAINS] = {0}, s2[CAP_N_DOMAINS] = {0}, s3[CAP_N_DOMAINS] = {0},
          s4[CAP_N_DOMAINS] = {0};
    dom_lr_add(&m, in, s1);
    dom_lr_add(&m, out, s2);
    dom_lr_add(&m, lowv, s3);
    dom_lr_add(&m, free_, s4);
    CHECK_MSG(fabsf(s1[CAP_CHART] - 4) < 1e-5f, "chart %g", s1[CAP_CHART]);
    CHECK_MSG(s2[CAP_CHART] == s1[CAP_CHART], "clipped above: %g vs %g", s2[CAP_CHART],
              s1[CAP_CHART]);
    CHECK_MSG(fabsf(s3[CAP_CHART] + 4) < 1e-5f, "clipped below: %g", s3[CAP_CHART]);
    CHECK_MSG(fabsf(s4[CAP_PHOTO] - 30) < 1e-5f, "unclipped: %g", s4[CAP_PHOTO]);
    CHECK(fabsf(s1[CAP_TABLE] - 0.5f) < 1e-6f);
}

/* OMNIDEX_DOMAIN=hand picks the hand-set model; fitted, unset or anything
 * else the fitted one (the default). */
static void test_model_env(void)
{
    setenv("OMNIDEX_DOMAIN", "fitted", 1);
    CHECK(cap_dom_model_env() == CAP_DOM_FITTED);
    setenv("OMNIDEX_DOMAIN", "hand", 1);
    CHECK(cap_dom_model_env() == CAP_DOM_HAND);
    setenv("OMNIDEX_DOMAIN", "Hand!", 1);
    CHECK(cap_dom_model_env() == CAP_DOM_FITTED);
    unsetenv("OMNIDEX_DOMAIN");
    CHECK(cap_dom_model_env() == CAP_DOM_FITTED);
}

int main(void)
{
    test_model_clip();
    test_model_env();
    test_flat();
    test_sky();
    test_grid_table();
    test_axes_bars();
    test_noise();
    test_pie();
    test_text_page();
    test_borderless_table();
    test_plot_areas();
    test_field_charts();
    test_big_lettering();
    test_lettering_px();
    test_ocr_text_size();
    test_window();
    test_faint_texture();
    test_degenerate();
    test_fitted_model();
    return check_result("test_cap_features");
}

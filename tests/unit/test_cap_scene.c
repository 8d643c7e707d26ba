/* test_cap_scene.c - unit tests for captioner/scene.c: synthetic images
 * drawn here for each scene cue (snow, forest, grass, sky, sunset, stars,
 * pattern, colour character) and for look-alikes that must not fire (a
 * white document is not snow, a green chart is not a forest, a blue poster
 * is not sky, a cut-out on black is not a starry sky, a page or a chart
 * on white is not a cut-out, a dark animal on white is not a storm). */
#include "captioner_int.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t seed = 11;
static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static uint8_t clamp8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static cap_image img_new(int w, int h)
{
    cap_image im = {w, h, calloc((size_t)w * h, 3)};
    return im;
}

/* Fills a rectangle with a colour plus uniform noise of +-amp (amp 0: flat). */
static void fill(cap_image *im, int x0, int y0, int x1, int y1, int r, int g, int b, int amp)
{
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < im->h; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < im->w; x++) {
            int n = amp ? (int)(rnd() % (2 * amp + 1)) - amp : 0;
            uint8_t *p = im->rgb + ((size_t)y * im->w + x) * 3;
            p[0] = clamp8(r + n);
            p[1] = clamp8(g + n);
            p[2] = clamp8(b + n);
        }
}

/* Leafy texture: blotches of two shades of a colour. */
static void foliage(cap_image *im, int y0, int y1, int r, int g, int b, int r2, int g2, int b2)
{
    fill(im, 0, y0, im->w, y1, r, g, b, 12);
    for (int i = 0; i < im->w * (y1 - y0) / 30; i++) {
        int x = (int)(rnd() % (unsigned)im->w), y = y0 + (int)(rnd() % (unsigned)(y1 - y0));
        fill(im, x, y, x + 3, y + 3 < y1 ? y + 3 : y1, r2, g2, b2, 10);
    }
}

static cap_desc *scene(const cap_image *im)
{
    cap_desc *d = calloc(1, sizeof *d);
    cap_features_compute(im, d);
    cap_scene_compute(im, d);
    return d;
}

static void test_snow(void)
{
    cap_image im = img_new(480, 320);
    foliage(&im, 0, 200, 30, 60, 35, 200, 205, 215); /* snowy conifers */
    fill(&im, 0, 200, 480, 320, 225, 230, 240, 10); /* snowfield */
    cap_desc *d = scene(&im);
    CHECK_MSG(d->feat.sc_snow >= 0.5f, "snow %.2f", d->feat.sc_snow);
    CHECK(d->feat.sc_mono < 0.35f);
    cap_desc_free(d);

    /* a white page with black text rows: flat white, no texture */
    fill(&im, 0, 0, 480, 320, 255, 255, 255, 0);
    for (int y = 20; y + 8 < 320; y += 16)
        for (int x = 20; x + 5 < 460; x += 7)
            if (rnd() % 6)
                fill(&im, x, y, x + 5, y + 8, 20, 20, 20, 0);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_snow < 0.35f, "document as snow %.2f", d->feat.sc_snow);
    CHECK(d->feat.sc_forest < 0.35f && d->feat.sc_clear_sky < 0.35f);
    CHECK(d->feat.sc_pattern < 0.35f);
    cap_desc_free(d);
    cap_image_free(&im);
}

static void test_forest_grass(void)
{
    cap_image im = img_new(480, 320);
    foliage(&im, 0, 320, 25, 70, 30, 5, 20, 8);
    cap_desc *d = scene(&im);
    CHECK_MSG(d->feat.sc_forest >= 0.5f, "forest %.2f", d->feat.sc_forest);
    CHECK(d->feat.sc_snow < 0.35f && d->feat.sc_autumn < 0.35f);
    CHECK(d->feat.sc_hue == CAP_HUE_GREEN);
    cap_desc_free(d);

    /* bright meadow below a pale sky */
    fill(&im, 0, 0, 480, 120, 150, 190, 235, 3);
    foliage(&im, 120, 320, 110, 190, 60, 70, 140, 40);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_grass >= 0.5f, "grass %.2f", d->feat.sc_grass);
    CHECK(d->feat.sc_forest < 0.35f);
    cap_desc_free(d);

    /* a bar chart with green bars on white: flat, not a forest or grass */
    fill(&im, 0, 0, 480, 320, 255, 255, 255, 0);
    fill(&im, 40, 300, 460, 302, 0, 0, 0, 0);
    for (int i = 0; i < 6; i++)
        fill(&im, 50 + i * 70, 300 - 40 * (i + 1), 100 + i * 70, 300, 40, 140, 60, 0);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_forest < 0.35f, "chart as forest %.2f", d->feat.sc_forest);
    CHECK(d->feat.sc_grass < 0.35f);
    cap_desc_free(d);
    cap_image_free(&im);
}

static void test_sky(void)
{
    cap_image im = img_new(480, 320);
    for (int y = 0; y < 140; y++) /* blue sky, lighter towards the horizon */
        fill(&im, 0, y, 480, y + 1, 60 + y / 2, 130 + y / 3, 230, 2);
    foliage(&im, 140, 320, 90, 80, 50, 60, 110, 40);
    cap_desc *d = scene(&im);
    CHECK_MSG(d->feat.sc_clear_sky >= 0.5f, "sky %.2f", d->feat.sc_clear_sky);
    CHECK(d->feat.sc_overcast < 0.35f && d->feat.sc_storm < 0.35f);
    cap_desc_free(d);

    /* dark grey sky over dark fields: overcast and stormy, not clear */
    fill(&im, 0, 0, 480, 160, 85, 90, 100, 3);
    foliage(&im, 160, 320, 40, 50, 30, 25, 30, 20);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_overcast >= 0.5f, "overcast %.2f", d->feat.sc_overcast);
    CHECK_MSG(d->feat.sc_storm >= 0.5f, "storm %.2f", d->feat.sc_storm);
    CHECK(d->feat.sc_clear_sky < 0.35f);
    cap_desc_free(d);

    /* a flat blue poster with white lettering: blue, but no sky */
    fill(&im, 0, 0, 480, 320, 40, 90, 200, 0);
    for (int y = 60; y < 260; y += 40)
        for (int x = 60; x + 14 < 420; x += 20)
            fill(&im, x, y, x + 14, y + 24, 255, 255, 255, 0);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_clear_sky < 0.35f, "poster as sky %.2f", d->feat.sc_clear_sky);
    CHECK(d->feat.sc_hue == CAP_HUE_BLUE && d->feat.sc_hue_share >= 0.45f);
    CHECK_STR(cap_scene_hue_name(d->feat.sc_hue, CAP_EN), "blue");
    CHECK_STR(cap_scene_hue_name(d->feat.sc_hue, CAP_ZH), "蓝色");
    cap_desc_free(d);
    cap_image_free(&im);
}

static void test_sunset(void)
{
    cap_image im = img_new(480, 320);
    for (int y = 0; y < 160; y++) /* orange glow, brightest at the horizon */
        fill(&im, 0, y, 480, y + 1, 200 + y / 4, 90 + y / 3, 40, 6);
    fill(&im, 0, 160, 480, 320, 40, 30, 35, 10);
    cap_desc *d = scene(&im);
    CHECK_MSG(d->feat.sc_sunset >= 0.5f, "sunset %.2f", d->feat.sc_sunset);
    cap_desc_free(d);

    /* an orange object filling the frame is not a sunset */
    fill(&im, 0, 0, 480, 320, 230, 120, 30, 12);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_sunset < 0.35f, "orange frame as sunset %.2f", d->feat.sc_sunset);
    CHECK(d->feat.sc_hue == CAP_HUE_ORANGE);
    cap_desc_free(d);
    cap_image_free(&im);
}

static void test_stars(void)
{
    cap_image im = img_new(480, 320);
    fill(&im, 0, 0, 480, 320, 4, 4, 8, 3);
    for (int i = 0; i < 150; i++) {
        int x = 4 + (int)(rnd() % 472), y = 4 + (int)(rnd() % 312);
        fill(&im, x, y, x + 1 + (int)(rnd() % 2), y + 1 + (int)(rnd() % 2), 240, 240, 230, 0);
    }
    cap_desc *d = scene(&im);
    CHECK_MSG(d->feat.sc_stars >= 0.5f, "stars %.2f", d->feat.sc_stars);
    CHECK(d->feat.sc_low_key >= 0.5f);
    cap_desc_free(d);

    /* one large object on black: dark, but no stars */
    fill(&im, 0, 0, 480, 320, 4, 4, 8, 3);
    fill(&im, 160, 80, 320, 260, 150, 120, 90, 20);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_stars < 0.35f, "cut-out as stars %.2f", d->feat.sc_stars);
    cap_desc_free(d);
    cap_image_free(&im);
}

static void test_pattern_mono(void)
{
    cap_image im = img_new(480, 320);
    fill(&im, 0, 0, 480, 320, 90, 90, 90, 15); /* grey bricks */
    for (int y = 0; y < 320; y += 24) {
        fill(&im, 0, y, 480, y + 4, 200, 200, 200, 8);
        for (int x = (y / 24 % 2) * 30; x < 480; x += 60)
            fill(&im, x, y, x + 4, y + 24, 200, 200, 200, 8);
    }
    cap_desc *d = scene(&im);
    CHECK_MSG(d->feat.sc_pattern >= 0.5f, "pattern %.2f", d->feat.sc_pattern);
    CHECK_MSG(d->feat.sc_mono >= 0.5f, "mono %.2f", d->feat.sc_mono);
    CHECK(d->feat.sc_colourful < 0.35f);
    cap_desc_free(d);

    /* irregular texture does not repeat */
    foliage(&im, 0, 320, 120, 100, 80, 60, 50, 40);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_pattern < 0.35f, "noise as pattern %.2f", d->feat.sc_pattern);
    CHECK(d->feat.sc_mono < 0.35f);
    cap_desc_free(d);

    /* many saturated colours */
    const int pal[6][3] = {{220, 30, 30}, {240, 150, 20}, {240, 230, 40},
                           {40, 180, 60}, {40, 80, 220}, {160, 50, 200}};
    for (int i = 0; i < 6; i++)
        fill(&im, i * 80, 0, i * 80 + 80, 320, pal[i][0], pal[i][1], pal[i][2], 10);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_colourful >= 0.5f, "colourful %.2f", d->feat.sc_colourful);
    CHECK(d->feat.sc_hue_share == 0);
    cap_desc_free(d);
    cap_image_free(&im);
}

static void test_shape_and_edges(void)
{
    cap_image im = img_new(600, 200);
    fill(&im, 0, 0, 600, 200, 100, 100, 100, 10);
    cap_desc *d = scene(&im);
    CHECK(d->feat.sc_panorama == 1.0f && d->feat.sc_vertical == 0);
    cap_desc_free(d);
    cap_image_free(&im);

    im = img_new(200, 400);
    fill(&im, 0, 0, 200, 400, 100, 100, 100, 10);
    d = scene(&im);
    CHECK(d->feat.sc_vertical == 1.0f && d->feat.sc_panorama == 0);
    cap_desc_free(d);
    cap_image_free(&im);

    /* tiny and missing images leave the cues empty, without crashing */
    cap_image tiny = img_new(3, 2);
    d = calloc(1, sizeof *d);
    cap_scene_compute(&tiny, d);
    CHECK(d->feat.sc_hue == -1 && d->feat.sc_snow == 0);
    cap_scene_compute(NULL, d);
    CHECK(d->feat.sc_hue == -1);
    cap_desc_free(d);
    cap_image_free(&tiny);
    CHECK(cap_scene_hue_name(-1, CAP_EN) == NULL && cap_scene_hue_name(CAP_N_HUES, CAP_ZH) == NULL);
}

/* Textured animal-like blob: an ellipse of two shades with grain. */
static void blob(cap_image *im, int cx, int cy, int rx, int ry, int r, int g, int b)
{
    for (int y = cy - ry; y <= cy + ry; y++)
        for (int x = cx - rx; x <= cx + rx; x++) {
            float dx = (float)(x - cx) / rx, dy = (float)(y - cy) / ry;
            if (dx * dx + dy * dy > 1 || x < 0 || y < 0 || x >= im->w || y >= im->h)
                continue;
            int n = (int)(rnd() % 41) - 20, k = (x / 5 + y / 7) % 2 ? 25 : 0;
            uint8_t *p = im->rgb + ((size_t)y * im->w + x) * 3;
            p[0] = clamp8(r + n + k);
            p[1] = clamp8(g + n + k);
            p[2] = clamp8(b + n + k);
        }
}

static void test_clouds_storm(void)
{
    /* blue sky with soft white cloud masses over a textured field */
    cap_image im = img_new(480, 320);
    for (int y = 0; y < 160; y++)
        fill(&im, 0, y, 480, y + 1, 50 + y / 4, 110 + y / 4, 220, 2);
    for (int i = 0; i < 5; i++) {
        int cx = 40 + i * 100, cy = 30 + (i % 2) * 40;
        for (int y = cy - 25; y < cy + 25; y++)
            for (int x = cx - 40; x < cx + 40; x++) {
                float dx = (x - cx) / 40.0f, dy = (y - cy) / 25.0f, d2 = dx * dx + dy * dy;
                if (d2 >= 1 || x < 0 || x >= 480 || y < 0)
                    continue;
                uint8_t *p = im.rgb + ((size_t)y * 480 + x) * 3;
                int v = 235 - (int)(25 * d2) + (int)(rnd() % 5);
                p[0] = clamp8(v);
                p[1] = clamp8(v);
                p[2] = clamp8(v + 8);
            }
    }
    foliage(&im, 160, 320, 90, 130, 50, 60, 90, 30);
    cap_desc *d = scene(&im);
    CHECK_MSG(d->feat.sc_clouds >= 0.5f, "clouds %.2f", d->feat.sc_clouds);
    CHECK(d->feat.sc_storm < 0.35f && d->feat.sc_white_bg < 0.35f);
    cap_desc_free(d);

    /* the same blue sky without clouds has none */
    for (int y = 0; y < 160; y++)
        fill(&im, 0, y, 480, y + 1, 50 + y / 4, 110 + y / 4, 220, 2);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_clouds < 0.35f, "flat sky as clouds %.2f", d->feat.sc_clouds);
    CHECK(d->feat.sc_clear_sky >= 0.5f);
    cap_desc_free(d);

    /* dark blue-grey cloud banks of varying brightness over dark land */
    for (int y = 0; y < 170; y++)
        for (int x = 0; x < 480; x++) {
            float v = 70 + 45 * sinf(x / 40.0f) * cosf(y / 30.0f) + (float)x / 8;
            uint8_t *p = im.rgb + ((size_t)y * 480 + x) * 3;
            int n = (int)(rnd() % 5) - 2;
            p[0] = clamp8((int)(v * 0.8f) + n);
            p[1] = clamp8((int)(v * 0.9f) + n);
            p[2] = clamp8((int)(v * 1.15f) + n);
        }
    foliage(&im, 170, 320, 40, 50, 30, 25, 30, 20);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_storm >= 0.5f, "storm banks %.2f", d->feat.sc_storm);
    CHECK(d->feat.sc_clouds < 0.35f && d->feat.sc_clear_sky < 0.35f);
    cap_desc_free(d);

    /* an evenly dark blue dusk sky is not a storm */
    for (int y = 0; y < 170; y++)
        fill(&im, 0, y, 480, y + 1, 25, 45, 95 - y / 10, 2);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_storm < 0.35f, "dusk as storm %.2f", d->feat.sc_storm);
    cap_desc_free(d);
    cap_image_free(&im);
}

static void test_backdrop(void)
{
    /* a dark grey animal cut out on white: a cut-out, not storm clouds */
    cap_image im = img_new(400, 300);
    fill(&im, 0, 0, 400, 300, 255, 255, 255, 0);
    blob(&im, 200, 130, 120, 70, 80, 85, 100);
    fill(&im, 120, 180, 135, 280, 70, 70, 80, 15); /* legs */
    fill(&im, 260, 180, 275, 280, 70, 70, 80, 15);
    cap_desc *d = scene(&im);
    CHECK_MSG(d->feat.sc_white_bg >= 0.5f, "white cut-out %.2f", d->feat.sc_white_bg);
    CHECK(d->feat.sc_black_bg < 0.35f);
    CHECK_MSG(d->feat.sc_storm < 0.35f, "cut-out as storm %.2f", d->feat.sc_storm);
    cap_desc_free(d);

    /* a textured object on black */
    fill(&im, 0, 0, 400, 300, 6, 6, 6, 2);
    blob(&im, 200, 150, 110, 120, 150, 110, 80);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_black_bg >= 0.5f, "black cut-out %.2f", d->feat.sc_black_bg);
    CHECK(d->feat.sc_white_bg < 0.35f);
    cap_desc_free(d);

    /* a page of text on white: many small pieces, not one object */
    fill(&im, 0, 0, 400, 300, 255, 255, 255, 0);
    for (int y = 20; y + 8 < 300; y += 16)
        for (int x = 20; x + 5 < 380; x += 7)
            if (rnd() % 6)
                fill(&im, x, y, x + 5, y + 8, 20, 20, 20, 0);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_white_bg < 0.35f, "page as cut-out %.2f", d->feat.sc_white_bg);
    cap_desc_free(d);

    /* a framed bar chart: one connected drawing, but flat-filled */
    fill(&im, 0, 0, 400, 300, 255, 255, 255, 0);
    fill(&im, 40, 30, 370, 32, 0, 0, 0, 0);
    fill(&im, 40, 268, 370, 270, 0, 0, 0, 0);
    fill(&im, 40, 30, 42, 270, 0, 0, 0, 0);
    fill(&im, 368, 30, 370, 270, 0, 0, 0, 0);
    for (int i = 0; i < 5; i++)
        fill(&im, 60 + i * 60, 250 - 40 * (i + 1), 100 + i * 60, 268, 60, 90, 200, 0);
    d = scene(&im);
    CHECK_MSG(d->feat.sc_white_bg < 0.35f, "chart as cut-out %.2f", d->feat.sc_white_bg);
    cap_desc_free(d);

    /* a photo running to the edges has no backdrop */
    foliage(&im, 0, 300, 120, 100, 80, 60, 50, 40);
    d = scene(&im);
    CHECK(d->feat.sc_white_bg < 0.35f && d->feat.sc_black_bg < 0.35f);
    cap_desc_free(d);
    cap_image_free(&im);
}

static void test_closeup(void)
{
    /* a sharp checker subject in the middle of a smooth, shaded blur */
    cap_image im = img_new(480, 320);
    for (int y = 0; y < 320; y++)
        for (int x = 0; x < 480; x++) {
            uint8_t *p = im.rgb + ((size_t)y * 480 + x) * 3;
            /* sensor grain on the blur, as every camera picture has */
            float v = 110 + 50 * sinf(x / 23.0f) * cosf(y / 19.0f) + (float)(rnd() % 13) - 6;
            p[0] = clamp8((int)(v * 0.7f));
            p[1] = clamp8((int)v);
            p[2] = clamp8((int)(v * 0.5f));

        }
    for (int y = 90; y < 230; y++)
        for (int x = 160; x < 320; x++) {
            int on = ((x / 4) + (y / 4)) % 2;
            uint8_t *p = im.rgb + ((size_t)y * 480 + x) * 3;
            p[0] = on ? 230 : 30;
            p[1] = on ? 200 : 20;
            p[2] = on ? 40 : 10;
        }
    cap_desc *d = scene(&im);
    CHECK_MSG(d->feat.sc_macro >= 0.5f, "close-up %.2f", d->feat.sc_macro);
    cap_desc_free(d);

    /* the same fine texture over the whole frame: sharp everywhere */
    for (int y = 0; y < 320; y++)
        for (int x = 0; x < 480; x++) {
            int on = ((x / 4) + (y / 4)) % 2;
            uint8_t *p = im.rgb + ((size_t)y * 480 + x) * 3;
            int n = (int)(rnd() % 21) - 10;
            p[0] = clamp8((on ? 200 : 60) + n);
            p[1] = clamp8((on ? 170 : 50) + n);
            p[2] = clamp8((on ? 60 : 20) + n);
        }
    d = scene(&im);
    CHECK_MSG(d->feat.sc_macro < 0.35f, "uniform texture as close-up %.2f", d->feat.sc_macro);
    cap_desc_free(d);
    cap_image_free(&im);
}

static bool has_tag(const cap_desc *d, int lang, const char *t)
{
    for (int i = 0; i < d->n_tags[lang]; i++)
        if (!strcmp(d->tags[lang][i], t))
            return true;
    return false;
}

/* compose.c states a sure cue, hedges a marginal one and tags only what
 * is sure. */
static void test_compose(void)
{
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = CAP_PHOTO;
    d->domain_conf = 0.9f;
    d->width = 640;
    d->height = 480;
    d->feat.brightness = 0.5f;
    d->feat.sc_hue = -1;
    d->feat.sc_snow = 0.9f;
    d->feat.sc_forest = 0.4f;
    odx_err e = {0};
    CHECK(cap_compose(d, &e) == ODX_OK);
    const char *en = d->caption[CAP_DETAILED][CAP_EN], *zh = d->caption[CAP_DETAILED][CAP_ZH];
    CHECK(en && strstr(en, "snow on the ground"));
    CHECK(en && strstr(en, "possibly a dense forest"));
    CHECK(zh && strstr(zh, "雪景") && strstr(zh, "疑似茂密的森林"));
    CHECK(has_tag(d, CAP_EN, "winter") && has_tag(d, CAP_ZH, "雪景"));
    CHECK(has_tag(d, CAP_EN, "forest") && !has_tag(d, CAP_EN, "woods"));
    CHECK(en && !strstr(en, "autumn") && !strstr(en, "stars"));
    CHECK(en && !strstr(en, "background") && !has_tag(d, CAP_EN, "white background"));
    cap_desc_free(d);

    /* a sure cut-out and sure clouds are worded and tagged in both languages */
    d = calloc(1, sizeof *d);
    d->domain = CAP_PHOTO;
    d->domain_conf = 0.9f;
    d->width = 640;
    d->height = 480;
    d->feat.brightness = 0.5f;
    d->feat.sc_hue = -1;
    d->feat.sc_white_bg = 0.8f;
    d->feat.sc_clouds = 0.6f;
    d->feat.sc_black_bg = 0.2f;
    CHECK(cap_compose(d, &e) == ODX_OK);
    en = d->caption[CAP_DETAILED][CAP_EN];
    zh = d->caption[CAP_DETAILED][CAP_ZH];
    CHECK(en && strstr(en, "white background") && strstr(en, "clouds"));
    CHECK(zh && strstr(zh, "纯白背景") && strstr(zh, "蓝天白云"));
    CHECK(has_tag(d, CAP_EN, "white background") && has_tag(d, CAP_ZH, "白色背景"));
    CHECK(has_tag(d, CAP_EN, "clouds") && has_tag(d, CAP_ZH, "白云"));
    CHECK(!has_tag(d, CAP_EN, "black background") && !has_tag(d, CAP_ZH, "黑色背景"));
    cap_desc_free(d);
}

int main(void)
{
    test_compose();
    test_snow();
    test_forest_grass();
    test_sky();
    test_sunset();
    test_stars();
    test_pattern_mono();
    test_shape_and_edges();
    test_clouds_storm();
    test_backdrop();
    test_closeup();
    return check_result("test_cap_scene");
}

/* test_cap_dhash.c - unit tests for the difference hashes of captioner.c:
 * cap_dhash of a picture and cap_dhash_crops, the hashes of its crops, on
 * pictures drawn here: a crop cut from the picture hashes like the
 * original's hash of that crop, though far from the whole picture's hash;
 * another picture is far from all of them; small pictures get no crops.
 * cap_grey_grid: the mean grey of 16 x 16 cells, exact on a picture of
 * flat cells, none for a picture under 16 pixels a side. */
#include "captioner_int.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* smooth blobs of grey and colour, different for each seed */
static cap_image draw(int w, int h, int seed)
{
    cap_image im = {w, h, malloc((size_t)w * h * 3)};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double v = 0;
            for (int k = 1; k <= 4; k++)
                v += sin(x * 0.031 * k * (1 + 0.37 * seed) + y * 0.017 * (5 - k) + seed * k) /
                     k;
            int g = (int)(128 + 60 * v);
            g = g < 0 ? 0 : g > 255 ? 255 : g;
            uint8_t *p = im.rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)g;
            p[1] = (uint8_t)(255 - g);
            p[2] = (uint8_t)((g + 64 * seed) & 255);
        }
    return im;
}

static cap_image cut(const cap_image *im, int x0, int y0, int x1, int y1)
{
    cap_image c = {x1 - x0, y1 - y0, malloc((size_t)(x1 - x0) * (y1 - y0) * 3)};
    for (int y = y0; y < y1; y++)
        memcpy(c.rgb + (size_t)(y - y0) * c.w * 3, im->rgb + ((size_t)y * im->w + x0) * 3,
               (size_t)c.w * 3);
    return c;
}

static int bits(uint64_t a, uint64_t b) { return __builtin_popcountll(a ^ b); }

static void test_crops(void)
{
    cap_image im = draw(400, 320, 1);
    uint64_t whole = cap_dhash(&im), crops[CAP_N_DHASH_CROPS];
    CHECK(whole != 0);
    CHECK(cap_dhash_crops(&im, crops));
    /* index 1: the central 90%; 3: the central 80%; 4: the 90% top-left */
    struct { int k, x0, y0, x1, y1; } cuts[] = {
        {1, 20, 16, 380, 304}, {3, 40, 32, 360, 288}, {4, 0, 0, 360, 288}, {7, 40, 32, 400, 320}};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        cap_image c = cut(&im, cuts[i].x0, cuts[i].y0, cuts[i].x1, cuts[i].y1);
        uint64_t h = cap_dhash(&c);
        CHECK_MSG(bits(h, crops[cuts[i].k]) <= 2, "crop %d: %d bits from the stored crop hash",
                  cuts[i].k, bits(h, crops[cuts[i].k]));
        CHECK_MSG(bits(h, whole) > 10, "crop %d: only %d bits from the whole picture's hash",
                  cuts[i].k, bits(h, whole));
        cap_image_free(&c);
    }
    /* another picture is far from every hash of this one */
    cap_image other = draw(400, 320, 4);
    uint64_t ho = cap_dhash(&other);
    for (int k = 0; k < CAP_N_DHASH_CROPS; k++)
        CHECK_MSG(bits(ho, crops[k]) > 10, "other picture: %d bits from crop %d",
                  bits(ho, crops[k]), k);
    cap_image_free(&other);
    cap_image_free(&im);
}

static void test_small_and_empty(void)
{
    uint64_t crops[CAP_N_DHASH_CROPS];
    memset(crops, 0xab, sizeof crops);
    cap_image im = draw(44, 300, 2);
    CHECK(!cap_dhash_crops(&im, crops));
    for (int k = 0; k < CAP_N_DHASH_CROPS; k++)
        CHECK(crops[k] == 0);
    CHECK(cap_dhash(&im) != 0); /* the whole picture still has one */
    cap_image_free(&im);
    im = draw(45, 45, 2);
    CHECK(cap_dhash_crops(&im, crops));
    cap_image_free(&im);
    cap_image none = {0};
    CHECK(cap_dhash(&none) == 0);
    CHECK(!cap_dhash_crops(&none, crops));
    CHECK(!cap_dhash_crops(NULL, crops));
}

/* 16 x 16 cells of 4 x 3 pixels each, cell (cy, cx) of grey 7 cy + cx
 * (r = g = b, so the luma weights sum to it): each cell's mean exactly */
static void test_grey_grid(void)
{
    cap_image im = {64, 48, malloc(64 * 48 * 3)};
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++)
            memset(im.rgb + ((size_t)y * 64 + x) * 3, 7 * (y / 3) + x / 4, 3);
    uint8_t g[CAP_GREY_N];
    CHECK(cap_grey_grid(&im, g));
    int bad = 0;
    for (int cy = 0; cy < CAP_GREY_SIDE; cy++)
        for (int cx = 0; cx < CAP_GREY_SIDE; cx++)
            bad += g[cy * CAP_GREY_SIDE + cx] != 7 * cy + cx;
    CHECK_MSG(bad == 0, "%d cells off", bad);
    free(im.rgb);
    cap_image small = {15, 40, malloc(15 * 40 * 3)};
    memset(small.rgb, 200, 15 * 40 * 3);
    memset(g, 9, sizeof g);
    CHECK(!cap_grey_grid(&small, g) && g[0] == 0 && g[CAP_GREY_N - 1] == 0);
    free(small.rgb);
    CHECK(!cap_grey_grid(NULL, g));
}

int main(void)
{
    test_grey_grid();
    test_crops();
    test_small_and_empty();
    return check_result("test_cap_dhash");
}

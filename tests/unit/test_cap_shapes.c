/* test_cap_shapes.c - cap_shapes_compute on synthetic drawings (a flowchart of
 * boxes and arrows, a labelled triangle, circles, contour-like curves, a
 * dashed line) and on look-alikes that must not fire (a text page, a bar
 * chart, noise); then the diagram sentences compose writes from the counts. */
#include "captioner_int.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W 512
#define H 384

static cap_image canvas(void)
{
    cap_image im = {W, H, malloc((size_t)W * H * 3)};
    memset(im.rgb, 255, (size_t)W * H * 3);
    return im;
}

static void px(cap_image *im, int x, int y, int v)
{
    if (x < 0 || y < 0 || x >= im->w || y >= im->h)
        return;
    memset(im->rgb + 3 * ((size_t)y * im->w + x), v, 3);
}

static void fill(cap_image *im, int x0, int y0, int x1, int y1, int v)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            px(im, x, y, v);
}

static void frame(cap_image *im, int x0, int y0, int x1, int y1, int t)
{
    fill(im, x0, y0, x1, y0 + t - 1, 0);
    fill(im, x0, y1 - t + 1, x1, y1, 0);
    fill(im, x0, y0, x0 + t - 1, y1, 0);
    fill(im, x1 - t + 1, y0, x1, y1, 0);
}

/* a stroke one pixel wide (t = 1) or a square pen of side t */
static void line(cap_image *im, double x0, double y0, double x1, double y1, int t)
{
    double len = hypot(x1 - x0, y1 - y0);
    int n = (int)(len * 2) + 1;
    for (int i = 0; i <= n; i++) {
        int x = (int)lround(x0 + (x1 - x0) * i / n), y = (int)lround(y0 + (y1 - y0) * i / n);
        fill(im, x, y, x + t - 1, y + t - 1, 0);
    }
}

static void ring(cap_image *im, double cx, double cy, double r)
{
    for (int i = 0; i < 2000; i++) {
        double a = i * 2 * 3.14159265 / 2000;
        int x = (int)lround(cx + r * cos(a)), y = (int)lround(cy + r * sin(a));
        fill(im, x, y, x + 1, y + 1, 0);
    }
}

/* a solid arrowhead pointing down with its tip at (x, y) */
static void head_down(cap_image *im, int x, int y)
{
    for (int k = 0; k < 8; k++)
        fill(im, x - k, y - k, x + k, y - k, 0);
}

static cap_desc *run(cap_image *im)
{
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = CAP_DIAGRAM;
    cap_shapes_compute(im, d);
    return d;
}

static void add_labels(cap_desc *d, const char *const *t, int n)
{
    d->lines = calloc((size_t)n, sizeof *d->lines);
    d->n_lines = n;
    for (int i = 0; i < n; i++) {
        d->lines[i].text = strdup(t[i]);
        d->lines[i].conf = 90;
    }
}

static void test_flowchart(void)
{
    cap_image im = canvas();
    /* five labelled boxes in a column joined by arrows */
    for (int i = 0; i < 5; i++) {
        int y0 = 10 + i * 74;
        frame(&im, 180, y0, 330, y0 + 44, 2);
        for (int k = 0; k < 6; k++) /* a "word" inside */
            fill(&im, 200 + k * 12, y0 + 18, 207 + k * 12, y0 + 27, 0);
        if (i < 4) {
            line(&im, 255, y0 + 45, 255, y0 + 72, 2);
            head_down(&im, 255, y0 + 73);
        }
    }
    cap_desc *d = run(&im);
    CHECK_MSG(d->feat.sh_boxes == 5, "boxes %d", d->feat.sh_boxes);
    CHECK(d->feat.sh_connected || d->feat.sh_lines >= 4);
    CHECK_MSG(d->feat.sh_arrows >= 2, "arrows %d", d->feat.sh_arrows);
    CHECK(d->feat.sh_curves == 0);
    CHECK(d->feat.sh_circles == 0);
    CHECK(d->feat.sh_geometry < 0.5f);

    odx_err err = {0};
    CHECK(cap_compose(d, &err) == ODX_OK);
    const char *en = d->caption[CAP_DETAILED][CAP_EN], *zh = d->caption[CAP_DETAILED][CAP_ZH];
    CHECK_MSG(en && strstr(en, "five boxes connected by arrows, like a flowchart"), "%s", en);
    CHECK_MSG(zh && strstr(zh, "五个方框，由箭头相连，类似流程图"), "%s", zh);
    cap_desc_free(d);
    cap_image_free(&im);
}

static void test_triangle(void)
{
    cap_image im = canvas();
    line(&im, 100, 320, 420, 320, 2);
    line(&im, 100, 320, 260, 60, 2);
    line(&im, 420, 320, 260, 60, 2);
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = CAP_DIAGRAM;
    const char *labels[] = {"A", "B", "C", "Triangle ABC"};
    add_labels(d, labels, 4);
    cap_shapes_compute(&im, d);
    CHECK_MSG(d->feat.sh_polygons == 1, "polygons %d", d->feat.sh_polygons);
    CHECK(d->feat.sh_points == 3);
    CHECK_STR(d->feat.sh_labels, "A, B, C");
    CHECK(d->feat.sh_geometry >= 0.5f);
    CHECK(d->feat.sh_boxes == 0);
    odx_err err = {0};
    CHECK(cap_compose(d, &err) == ODX_OK);
    const char *en = d->caption[CAP_DETAILED][CAP_EN], *zh = d->caption[CAP_DETAILED][CAP_ZH];
    CHECK_MSG(en && strstr(en, "geometry figure with a triangle") &&
                  strstr(en, "labelled points A, B, C"), "%s", en);
    CHECK_MSG(zh && strstr(zh, "几何图形：三角形") && strstr(zh, "标有点 A、B、C"), "%s", zh);
    cap_desc_free(d);

    /* the same letters without any drawing are not a geometry figure */
    cap_image blank = canvas();
    d = calloc(1, sizeof *d);
    add_labels(d, labels, 4);
    cap_shapes_compute(&blank, d);
    CHECK(d->feat.sh_geometry == 0);
    cap_desc_free(d);
    cap_image_free(&blank);
    cap_image_free(&im);
}

static void test_circles(void)
{
    cap_image im = canvas();
    ring(&im, 110, 190, 60);
    ring(&im, 260, 190, 50);
    ring(&im, 410, 190, 70);
    cap_desc *d = run(&im);
    CHECK_MSG(d->feat.sh_circles == 3, "circles %d", d->feat.sh_circles);
    CHECK(d->feat.sh_boxes == 0);
    CHECK_MSG(d->feat.sh_curves == 0, "curves %d", d->feat.sh_curves);
    cap_desc_free(d);
    cap_image_free(&im);
}

static void test_curves_and_dashes(void)
{
    cap_image im = canvas();
    for (int k = 0; k < 6; k++) /* nested open arcs, like contour lines */
        for (int x = 20; x < 490; x++) {
            double y = 40 + k * 40 + 25 * sin(x / 60.0 + k * 0.3);
            px(&im, x, (int)lround(y), 0);
            px(&im, x, (int)lround(y) + 1, 0);
        }
    cap_desc *d = run(&im);
    CHECK_MSG(d->feat.sh_curves >= 5, "curves %d", d->feat.sh_curves);
    CHECK(d->feat.sh_boxes == 0);
    CHECK(d->feat.sh_dashed == 0);
    odx_err err = {0};
    CHECK(cap_compose(d, &err) == ODX_OK);
    CHECK_MSG(strstr(d->caption[CAP_DETAILED][CAP_EN], "contour lines"), "%s",
              d->caption[CAP_DETAILED][CAP_EN]);
    CHECK(strstr(d->caption[CAP_DETAILED][CAP_ZH], "等高线"));
    cap_desc_free(d);
    cap_image_free(&im);

    im = canvas();
    for (int x = 20; x < 480; x += 14) /* a dashed horizontal and diagonal */
        line(&im, x, 100, x + 7, 100, 1);
    for (int k = 0; k < 20; k++)
        line(&im, 40 + k * 20, 200 + k * 8, 48 + k * 20, 203 + k * 8, 1);
    d = run(&im);
    CHECK_MSG(d->feat.sh_dashed >= 6, "dashed %d", d->feat.sh_dashed);
    CHECK(d->feat.sh_lines == 0);
    cap_desc_free(d);
    cap_image_free(&im);
}

static void test_negatives(void)
{
    /* a text page: rows of glyph-sized marks */
    cap_image im = canvas();
    srand(7);
    for (int r = 0; r < 20; r++)
        for (int x = 30; x < 480;) {
            int gw = 3 + rand() % 5;
            fill(&im, x, 20 + r * 17, x + gw, 20 + r * 17 + 7 + rand() % 3, 0);
            x += gw + 2 + (rand() % 6 == 0 ? 6 : 0);
        }
    cap_desc *d = run(&im);
    CHECK_MSG(d->feat.sh_boxes == 0 && d->feat.sh_circles == 0 && d->feat.sh_curves == 0 &&
                  d->feat.sh_dashed == 0 && d->feat.sh_polygons == 0 && d->feat.sh_lines == 0,
              "text: box %d circ %d curv %d dash %d poly %d lines %d", d->feat.sh_boxes,
              d->feat.sh_circles, d->feat.sh_curves, d->feat.sh_dashed, d->feat.sh_polygons,
              d->feat.sh_lines);
    cap_desc_free(d);
    cap_image_free(&im);

    /* a bar chart: axes and solid bars */
    im = canvas();
    fill(&im, 40, 20, 41, 350, 0);
    fill(&im, 40, 349, 490, 350, 0);
    for (int i = 0; i < 6; i++)
        fill(&im, 70 + i * 70, 348 - 40 * (i + 1), 110 + i * 70, 348, 60 + 20 * i);
    d = run(&im);
    CHECK_MSG(d->feat.sh_boxes == 0 && d->feat.sh_circles == 0 && d->feat.sh_curves == 0 &&
                  d->feat.sh_polygons == 0 && d->feat.sh_dashed == 0,
              "bars: box %d circ %d curv %d poly %d dash %d", d->feat.sh_boxes,
              d->feat.sh_circles, d->feat.sh_curves, d->feat.sh_polygons, d->feat.sh_dashed);
    cap_desc_free(d);
    cap_image_free(&im);

    /* photo-like noise */
    im = canvas();
    for (size_t i = 0; i < (size_t)W * H * 3; i++)
        im.rgb[i] = (uint8_t)(rand() & 0xff);
    d = run(&im);
    CHECK_MSG(d->feat.sh_boxes == 0 && d->feat.sh_circles == 0 && d->feat.sh_curves == 0 &&
                  d->feat.sh_polygons == 0 && d->feat.sh_lines == 0,
              "noise: box %d circ %d curv %d poly %d lines %d", d->feat.sh_boxes,
              d->feat.sh_circles, d->feat.sh_curves, d->feat.sh_polygons, d->feat.sh_lines);
    cap_desc_free(d);
    cap_image_free(&im);

    /* degenerate input never crashes and reports nothing */
    cap_image tiny = {4, 4, calloc(48, 1)};
    d = run(&tiny);
    CHECK(d->feat.sh_boxes == 0 && d->feat.sh_lines == 0);
    cap_desc_free(d);
    cap_image_free(&tiny);
    d = run(NULL);
    CHECK(d->feat.sh_boxes == 0);
    cap_desc_free(d);
}

int main(void)
{
    test_flowchart();
    test_triangle();
    test_circles();
    test_curves_and_dashes();
    test_negatives();
    return check_result("test_cap_shapes");
}

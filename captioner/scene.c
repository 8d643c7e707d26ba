/* scene.c - scene, texture and composition cues for photos (snow, autumn
 * foliage, forest, sky kinds and storm-cloud banks, reflections, night,
 * stars, close-ups, cut-outs on white or black, regular patterns, colour
 * character), read from the thumbnail after features.c and before
 * compose.c turns them into words. Every cue is a measured score. */
#include "captioner_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SC_SMALL 160 /* long side of the colour/texture working image */
#define SC_LONG 512  /* the thumbnail is sampled down to about this */
#define SC_G 16      /* cells per side for local statistics */

static float sc_clamp(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Maps x in [lo, hi] to 0..1 linearly. */
static float sc_ramp(float x, float lo, float hi)
{
    return sc_clamp((x - lo) / (hi - lo), 0, 1);
}

static void sc_hsv(int r, int g, int b, float *h, float *s, float *v)
{
    int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
    float d = (float)(mx - mn);
    *v = mx / 255.0f;
    *s = mx ? d / mx : 0;
    *h = 0;
    if (d == 0)
        return;
    float hh;
    if (mx == r)
        hh = 60.0f * ((g - b) / d);
    else if (mx == g)
        hh = 60.0f * ((b - r) / d + 2.0f);
    else
        hh = 60.0f * ((r - g) / d + 4.0f);
    *h = hh < 0 ? hh + 360.0f : hh;
}

/* Hue family of a pixel, or -1 for greys and near-blacks (their hue is
 * noise). Dark orange/red reads as brown, as people name it. */
static int sc_family(float h, float s, float v)
{
    if (s < 0.2f || v < 0.15f)
        return -1;
    if (h >= 345 || h < 15)
        return v < 0.45f ? CAP_HUE_BROWN : CAP_HUE_RED;
    if (h < 42)
        return v < 0.6f ? CAP_HUE_BROWN : CAP_HUE_ORANGE;
    if (h < 68)
        return CAP_HUE_YELLOW;
    if (h < 165)
        return CAP_HUE_GREEN;
    if (h < 255)
        return CAP_HUE_BLUE;
    if (h < 290)
        return CAP_HUE_PURPLE;
    return CAP_HUE_PINK;
}

const char *cap_scene_hue_name(int hue, int lang)
{
    static const char *const en[CAP_N_HUES] = {"red",   "orange", "brown",  "yellow",
                                         "green", "blue",   "purple", "pink"};
    static const char *const zh[CAP_N_HUES] = {"红色", "橙色", "棕色", "黄色",
                                         "绿色", "蓝色", "紫色", "粉色"};
    if (hue < 0 || hue >= CAP_N_HUES)
        return NULL;
    return lang == CAP_ZH ? zh[hue] : en[hue];
}

/* Per-cell tallies over the small image. */
typedef struct sc_cell {
    int n;
    int snow, green_dark, dark, grass, autumn, autumn_red, autumn_yel, blue_smooth, grey_smooth,
        white_soft, warm;
    float lum_sum, lum_sq;
    float lap;     /* mean |Laplacian| on the sampled thumbnail: fine sharpness */
    int lap_n;
    int dots;      /* isolated bright points */
    float r, g, b; /* mean colour */
} sc_cell;

static float sc_cell_std(const sc_cell *c)
{
    if (c->n <= 0)
        return 0;
    float m = c->lum_sum / c->n;
    float var = c->lum_sq / c->n - m * m;
    return var > 0 ? sqrtf(var) : 0;
}

/* Peak of a 1-D normalised autocorrelation after its first dip: how
 * strongly the signal repeats itself at some period (bricks, tiles). */
static float sc_period_peak(const float *acf, int n)
{
    int i = 1;
    while (i + 1 < n && acf[i + 1] < acf[i])
        i++;
    if (i + 1 >= n)
        return 0;
    float dip = acf[i], peak = -1;
    for (int j = i + 1; j < n; j++)
        if (acf[j] > peak)
            peak = acf[j];
    /* a bare slow decay has no dip to climb out of */
    return peak - dip > 0.15f ? sc_clamp(peak, 0, 1) : 0;
}

/* Strongest periodicity along x or y of the mean-removed luminance in one
 * window of the small image. */
static float sc_window_period(const float *lum, int stride, int x0, int y0, int w, int h)
{
    double mean = 0, var = 0;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            mean += lum[y * stride + x];
    mean /= (double)w * h;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            var += (lum[y * stride + x] - mean) * (lum[y * stride + x] - mean);
    if (var / ((double)w * h) < 25.0) /* std < 5 grey levels: nothing repeats */
        return 0;
    float acf[32];
    float best = 0;
    for (int axis = 0; axis < 2; axis++) {
        int span = axis == 0 ? w : h;
        int nmax = span / 3 < 32 ? span / 3 : 32;
        if (nmax < 6)
            continue;
        int dx = axis ? 0 : 1, dy = axis ? 1 : 0;
        for (int k = 0; k < nmax; k++) {
            double num = 0, den = 0;
            for (int y = y0; y < y0 + h - k * dy; y++)
                for (int x = x0; x < x0 + w - k * dx; x++) {
                    float a = lum[y * stride + x] - (float)mean;
                    float b = lum[(y + k * dy) * stride + x + k * dx] - (float)mean;
                    num += a * b;
                    den += a * a;
                }
            acf[k] = den > 0 ? (float)(num / den) : 0;
        }
        float p = sc_period_peak(acf, nmax);
        if (p > best)
            best = p;
    }
    return best;
}

/* A regular pattern repeats in every quadrant (perspective changes the
 * period across the frame, so each quadrant is measured on its own); the
 * weakest quadrant decides. */
static float sc_pattern_score(const float *lum, int w, int h)
{
    float worst = 1;
    for (int q = 0; q < 4; q++) {
        float p = sc_window_period(lum, w, (q & 1) * (w / 2), (q >> 1) * (h / 2), w / 2, h / 2);
        if (p < worst)
            worst = p;
    }
    return worst;
}

/* Mirror symmetry about a horizontal line, as still water shows it: the
 * best correlation between the band above a candidate horizon and the
 * flipped band below. Column means are removed first so that things which
 * simply stand across the line (tree trunks, poles) do not count. */
static float sc_reflection_score(const float *lum, int w, int h)
{
    float best = 0;
    int band = h / 5;
    if (band < 4)
        return 0;
    float *colm = malloc(sizeof(float) * (size_t)w);
    if (!colm)
        return 0;
    for (int y0 = (int)(h * 0.3f); y0 <= (int)(h * 0.8f); y0 += 2) {
        int k = band;
        if (y0 - k < 0)
            k = y0;
        if (y0 + k > h)
            k = h - y0;
        if (k < 4)
            continue;
        for (int x = 0; x < w; x++) {
            float s = 0;
            for (int j = y0 - k; j < y0 + k; j++)
                s += lum[j * w + x];
            colm[x] = s / (2 * k);
        }
        double sab = 0, saa = 0, sbb = 0;
        for (int j = 0; j < k; j++)
            for (int x = 0; x < w; x++) {
                float a = lum[(y0 - 1 - j) * w + x] - colm[x];
                float b = lum[(y0 + j) * w + x] - colm[x];
                sab += a * b;
                saa += a * a;
                sbb += b * b;
            }
        double n = (double)k * w;
        /* both halves need structure of their own (std >= 6 levels) */
        if (saa / n < 36 || sbb / n < 36)
            continue;
        float r = (float)(sab / sqrt(saa * sbb));
        if (r > best)
            best = r;
    }
    free(colm);
    return best;
}

/* Studio / cut-out backdrop: a field of one near-white (or near-black)
 * tone reached from the frame's border, around one main object. Pixels of
 * the backdrop are flooded from the border (4-connected), so white inside
 * the object does not count; the object must be one large connected piece
 * (text, chart marks and rules on a page break into many pieces). */
typedef struct sc_backdrop {
    float ring;    /* share of the border pixels that are backdrop */
    float share;   /* share of the frame that is backdrop */
    float obj;     /* largest non-backdrop piece / all non-backdrop pixels */
    float obj_area;/* largest piece / frame */
    float fg_flat; /* non-backdrop pixels equal to their right neighbour */
} sc_backdrop;

static bool sc_is_bg(const uint8_t *p, bool white)
{
    int mx = p[0] > p[1] ? (p[0] > p[2] ? p[0] : p[2]) : (p[1] > p[2] ? p[1] : p[2]);
    int mn = p[0] < p[1] ? (p[0] < p[2] ? p[0] : p[2]) : (p[1] < p[2] ? p[1] : p[2]);
    return white ? mn >= 232 && mx - mn <= 18 : mx <= 28;
}

static void sc_backdrop_measure(const uint8_t *rgb, int w, int h, bool white, int *queue,
                                uint8_t *mark, sc_backdrop *out)
{
    memset(out, 0, sizeof *out);
    size_t n = (size_t)w * h;
    memset(mark, 0, n);
    int head = 0, tail = 0, ring = 0, ring_bg = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (y && y < h - 1 && x && x < w - 1)
                continue;
            size_t i = (size_t)y * w + x;
            ring++;
            if (sc_is_bg(rgb + 3 * i, white)) {
                ring_bg++;
                mark[i] = 1;
                queue[tail++] = (int)i;
            }
        }
    while (head < tail) {
        int i = queue[head++], x = i % w, y = i / w;
        int nb[4] = {x > 0 ? i - 1 : -1, x + 1 < w ? i + 1 : -1, y > 0 ? i - w : -1,
                     y + 1 < h ? i + w : -1};
        for (int k = 0; k < 4; k++)
            if (nb[k] >= 0 && !mark[nb[k]] && sc_is_bg(rgb + 3 * (size_t)nb[k], white)) {
                mark[nb[k]] = 1;
                queue[tail++] = nb[k];
            }
    }
    int n_bg = tail, n_fg = (int)n - n_bg, best = 0, n_flat = 0;
    /* drawn things (charts, signs, windows) are filled with exactly one
     * colour; a photographed object has grain and shading */
    for (int y = 0; y < h; y++)
        for (int x = 0; x + 1 < w; x++) {
            size_t i = (size_t)y * w + x;
            if (mark[i] || mark[i + 1])
                continue;
            const uint8_t *a = rgb + 3 * i, *b = a + 3;
            n_flat += abs(a[0] - b[0]) <= 1 && abs(a[1] - b[1]) <= 1 && abs(a[2] - b[2]) <= 1;
        }
    /* largest 8-connected piece of what is not backdrop */
    for (size_t s0 = 0; s0 < n; s0++) {
        if (mark[s0])
            continue;
        mark[s0] = 2;
        head = tail = 0;
        queue[tail++] = (int)s0;
        while (head < tail) {
            int i = queue[head++], x = i % w, y = i / w;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h)
                        continue;
                    int j = yy * w + xx;
                    if (!mark[j]) {
                        mark[j] = 2;
                        queue[tail++] = j;
                    }
                }
        }
        if (tail > best)
            best = tail;
    }
    out->ring = ring ? (float)ring_bg / ring : 0;
    out->share = (float)n_bg / n;
    out->obj = n_fg ? (float)best / n_fg : 0;
    out->obj_area = (float)best / n;
    out->fg_flat = n_fg ? (float)n_flat / n_fg : 0;
}

static float sc_backdrop_score(const sc_backdrop *b)
{
    return sc_ramp(b->ring, 0.5f, 0.75f) * sc_ramp(b->share, 0.12f, 0.25f) *
           (1.0f - sc_ramp(b->share, 0.9f, 0.97f)) * sc_ramp(b->obj, 0.6f, 0.8f) *
           sc_ramp(b->obj_area, 0.03f, 0.08f) * (1.0f - sc_ramp(b->fg_flat, 0.25f, 0.45f));
}

static int sc_cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void cap_scene_compute(const cap_image *thumb, cap_desc *d)
{
    cap_features *f = &d->feat;
    f->sc_snow = f->sc_autumn = f->sc_forest = f->sc_grass = 0;
    f->sc_clear_sky = f->sc_clouds = f->sc_overcast = f->sc_storm = 0;
    f->sc_reflection = f->sc_sunset = f->sc_night_lights = f->sc_stars = 0;
    f->sc_macro = f->sc_pattern = f->sc_mono = f->sc_colourful = 0;
    f->sc_high_key = f->sc_low_key = f->sc_panorama = f->sc_vertical = 0;
    f->sc_hue = -1;
    f->sc_hue_share = 0;
    f->sc_white_bg = f->sc_black_bg = 0;
    if (!thumb || !thumb->rgb || thumb->w < 8 || thumb->h < 8)
        return;

    int tw = thumb->w, th = thumb->h;
    float aspect = (float)tw / th;
    f->sc_panorama = aspect >= 2.0f ? 1.0f : 0;
    f->sc_vertical = aspect <= 0.8f ? 1.0f : 0;

    /* Sampled lattice: JPEG thumbnails can be twice SC_LONG; every step-th
     * pixel keeps the cost bounded and the scale comparable. */
    int lng = tw > th ? tw : th;
    int step = (lng + SC_LONG - 1) / SC_LONG;
    int lw = (tw + step - 1) / step, lh = (th + step - 1) / step;
    int sw = lw, sh = lh;
    if (lw > SC_SMALL || lh > SC_SMALL) {
        float k = (float)SC_SMALL / (lw > lh ? lw : lh);
        sw = (int)(lw * k + 0.5f);
        sh = (int)(lh * k + 0.5f);
    }
    if (sw < 8)
        sw = 8;
    if (sh < 8)
        sh = 8;
    size_t ln = (size_t)lw * lh, sn = (size_t)sw * sh;
    uint8_t *L = malloc(ln);
    uint32_t *acc = calloc(sn * 4, sizeof *acc);
    float *slum = malloc(sn * sizeof *slum);
    uint8_t *srgb = malloc(sn * 3);
    sc_cell *cell = calloc(SC_G * SC_G, sizeof *cell);
    if (!L || !acc || !slum || !srgb || !cell)
        goto done;

    for (int y = 0; y < lh; y++) {
        const uint8_t *row = thumb->rgb + (size_t)(y * step) * tw * 3;
        uint32_t *arow = acc + (size_t)(y * sh / lh) * sw * 4;
        for (int x = 0; x < lw; x++) {
            const uint8_t *p = row + (size_t)(x * step) * 3;
            L[(size_t)y * lw + x] = (uint8_t)((77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8);
            uint32_t *a = arow + (size_t)(x * sw / lw) * 4;
            a[0] += p[0];
            a[1] += p[1];
            a[2] += p[2];
            a[3]++;
        }
    }
    for (size_t i = 0; i < sn; i++) {
        uint32_t c = acc[4 * i + 3] ? acc[4 * i + 3] : 1;
        srgb[3 * i] = (uint8_t)(acc[4 * i] / c);
        srgb[3 * i + 1] = (uint8_t)(acc[4 * i + 1] / c);
        srgb[3 * i + 2] = (uint8_t)(acc[4 * i + 2] / c);
        slum[i] = 0.299f * srgb[3 * i] + 0.587f * srgb[3 * i + 1] + 0.114f * srgb[3 * i + 2];
    }

    /* Fine scale on the lattice: sharpness (|Laplacian|) and isolated bright
     * points (a star is brighter than everything three samples away). */
    int n_dots = 0;
    for (int y = 3; y + 3 < lh; y++)
        for (int x = 3; x + 3 < lw; x++) {
            size_t i = (size_t)y * lw + x;
            int c = L[i];
            int lap = 4 * c - L[i - 1] - L[i + 1] - L[i - lw] - L[i + lw];
            sc_cell *ce = cell + (y * SC_G / lh) * SC_G + x * SC_G / lw;
            ce->lap += (float)abs(lap);
            ce->lap_n++;
            if (c >= 90 && L[i - 3] < 50 && L[i + 3] < 50 && L[i - 3 * (size_t)lw] < 50 &&
                L[i + 3 * (size_t)lw] < 50 && c >= L[i - 1] && c >= L[i + 1] &&
                c >= L[i - lw] && c >= L[i + lw]) {
                ce->dots++;
                n_dots++;
            }
        }

    /* Colour classes per small pixel, tallied per cell. The local texture
     * test uses the small image's gradient (leaves, branches, grass). */
    int fam[CAP_N_HUES] = {0};
    int n_sat = 0, n_grey = 0, n_bright = 0, n_dark = 0, n_vdark = 0;
    double v_sum = 0;
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++) {
            size_t i = (size_t)y * sw + x;
            int r = srgb[3 * i], g = srgb[3 * i + 1], b = srgb[3 * i + 2];
            float hh, s, v;
            sc_hsv(r, g, b, &hh, &s, &v);
            sc_cell *ce = cell + (y * SC_G / sh) * SC_G + x * SC_G / sw;
            float l = slum[i];
            float gm = 0;
            if (x + 1 < sw && y + 1 < sh)
                gm = fabsf(slum[i + 1] - l) + fabsf(slum[i + sw] - l);
            ce->n++;
            ce->lum_sum += l;
            ce->lum_sq += l * l;
            ce->r += r;
            ce->g += g;
            ce->b += b;
            v_sum += v;
            int fa = sc_family(hh, s, v);
            if (fa >= 0) {
                fam[fa]++;
                n_sat++;
            }
            if (s < 0.08f)
                n_grey++;
            if (v > 0.85f)
                n_bright++;
            if (v < 0.25f)
                n_dark++;
            if (v < 0.12f)
                n_vdark++;
            bool greenh = hh >= 60 && hh <= 170 && s > 0.15f;
            if (v > 0.62f && s < 0.16f && b + 8 >= r && v < 0.995f)
                ce->snow++;
            if (v < 0.12f)
                ce->dark++;
            else if (greenh && v < 0.55f)
                ce->green_dark++;
            if (hh >= 55 && hh <= 150 && s > 0.25f && v >= 0.3f)
                ce->grass++;
            if (hh >= 5 && hh <= 52 && s > 0.45f && v > 0.3f) {
                ce->autumn++;
                ce->autumn_red += hh < 22;
                ce->autumn_yel += hh >= 30;
            }
            /* clear sky is saturated and light; storm clouds are bluish
                 * too, but dull */
            if (hh >= 190 && hh <= 250 && s >= 0.35f && v >= 0.45f && gm < 8)
                ce->blue_smooth++;
            else if (s < 0.4f && v > 0.2f && v < 0.98f && gm < 10)
                ce->grey_smooth++;
            if (s < 0.2f && v > 0.7f && v < 0.995f)
                ce->white_soft++;
            if ((hh < 50 || hh > 330) && s > 0.3f && v > 0.45f)
                ce->warm++;
        }
    float np = (float)sn;
    float mean_v = (float)(v_sum / np);

    /* Images drawn by programs (charts, posters, documents) lack sensor
     * texture; features.c measures that as noise. Text-heavy frames are
     * not scenes. */
    float natural = sc_clamp(f->noise * 4.0f, 0, 1);
    float not_text = 1.0f - sc_ramp(f->text_likeness, 0.5f, 0.9f);
    float gate = natural * not_text;

    /* Cell-level shares. */
    int n_cells = 0, snow_c = 0, low_c = 0, forest_c = 0, grass_c = 0, bot_c = 0, autumn_c = 0;
    int top_c = 0, blue_c = 0, grey_c = 0, cloud_c = 0, warm_top = 0, up_c = 0, dull_c = 0, sky_c = 0, blue_any = 0;
    float tv_sum = 0, tv_sq = 0;
    int textured_c = 0, dot_cells = 0, floor_c = 0, warm_all = 0;
    int au_px = 0, au_red = 0, au_yel = 0;
    float top_v = 0, up_v = 0, down_v = 0;
    int down_c = 0;
    float sharp[SC_G * SC_G];
    int n_sharp = 0;
    for (int cy = 0; cy < SC_G; cy++)
        for (int cx = 0; cx < SC_G; cx++) {
            sc_cell *c = cell + cy * SC_G + cx;
            if (c->n <= 0)
                continue;
            n_cells++;
            float n = (float)c->n, sd = sc_cell_std(c);
            float cv = (c->lum_sum / n) / 255.0f;
            if (sd >= 6)
                textured_c++;
            if (c->dots)
                dot_cells++;
            if (c->lap_n)
                sharp[n_sharp++] = c->lap / c->lap_n;
            if (c->warm >= 0.5f * n)
                warm_all++;
            au_px += c->autumn;
            au_red += c->autumn_red;
            au_yel += c->autumn_yel;
            if (cy >= SC_G * 2 / 3) {
                floor_c++;
                /* snow: mostly snowy pixels, lightly textured (a white page
                 * or a studio backdrop is flat; text is too dark) */
                if (c->snow >= 0.7f * n && sd >= 1.5f && sd <= 40)
                    snow_c++;
            }
            low_c++;
            if (c->green_dark + c->dark >= 0.75f * n && c->green_dark >= 0.4f * n && sd >= 6)
                forest_c++;
            if (c->autumn >= 0.4f * n && sd >= 8)
                autumn_c++;
            if (cy >= SC_G / 2) {
                bot_c++;
                if (c->grass >= 0.6f * n && sd >= 6)
                    grass_c++;
                down_v += cv;
                down_c++;
            } else {
                up_v += cv;
                up_c++;
                if (c->warm >= 0.5f * n)
                    warm_top++;
            }
            if (cy < SC_G / 3) {
                top_c++;
                top_v += cv;
                if (c->blue_smooth >= 0.7f * n)
                    blue_c++;
                else if (c->grey_smooth >= 0.7f * n)
                    grey_c++;
                /* cloud masses are white with grey shading */
                int soft_sky = c->blue_smooth + c->white_soft + c->grey_smooth;
                if (c->white_soft >= 0.3f * n && soft_sky >= 0.8f * n)
                    cloud_c++;
                /* heavy cloud: dim, dull blue-grey and soft; a clear dusk
                 * sky is as dark but saturated and even (tested below) */
                float ch, cs, cvv;
                sc_hsv((int)(c->r / n), (int)(c->g / n), (int)(c->b / n), &ch, &cs, &cvv);
                if (cvv >= 0.15f && cvv < 0.5f && cs < 0.6f && sd < 16 &&
                    (cs < 0.15f || (ch >= 180 && ch <= 260)))
                    dull_c++;
                else if (soft_sky >= 0.7f * n)
                    sky_c++;
                /* blue on average, smooth or streaked with thin cloud */
                if (ch >= 190 && ch <= 250 && cs >= 0.3f && cvv >= 0.35f)
                    blue_any++;
                tv_sum += cv;
                tv_sq += cv * cv;
            }
        }
    if (!n_cells || !low_c || !bot_c || !top_c || !up_c || !down_c)
        goto done;
    top_v /= top_c;
    up_v /= up_c;
    down_v /= down_c;
    /* --- colour character (no naturalness gate: a greyscale scan is still
     * greyscale) */
    f->sc_mono = (1.0f - sc_ramp((float)n_sat / np, 0.005f, 0.04f)) *
                 sc_ramp((float)n_grey / np, 0.6f, 0.85f);
    int best = -1, n_fam = 0;
    for (int k = 0; k < CAP_N_HUES; k++) {
        if (best < 0 || fam[k] > fam[best])
            best = k;
        n_fam += fam[k] >= 0.06f * np;
    }
    if (best >= 0 && fam[best] >= 0.45f * np) {
        f->sc_hue = best;
        f->sc_hue_share = fam[best] / np;
    }
    f->sc_colourful = sc_ramp((float)n_fam, 2.5f, 4.5f) * sc_ramp((float)n_sat / np, 0.3f, 0.5f);
    f->sc_high_key = sc_ramp(mean_v, 0.72f, 0.85f) * (1.0f - sc_ramp((float)n_dark / np, 0.03f, 0.1f));
    f->sc_low_key = sc_ramp(1.0f - mean_v, 0.72f, 0.85f) * sc_ramp((float)n_dark / np, 0.6f, 0.8f);

    /* --- ground and vegetation */
    f->sc_snow = floor_c ? sc_ramp((float)snow_c / floor_c, 0.33f, 0.5f) * gate : 0;
    f->sc_forest = sc_ramp((float)forest_c / n_cells, 0.35f, 0.6f) * gate;
    f->sc_grass = sc_ramp((float)grass_c / bot_c, 0.35f, 0.65f) * gate;
    /* autumn foliage: orange/red/yellow texture; a frame of one smooth
     * orange thing (a fruit, a petal) is not textured enough */
    float mix = au_px ? (float)(au_red < au_yel ? au_red : au_yel) / au_px : 0;
    f->sc_autumn = sc_ramp((float)autumn_c / n_cells, 0.3f, 0.5f) * sc_ramp(mix, 0.1f, 0.2f) * gate;

    /* --- sky: judged on the top third, and only where the lower part is
     * something else (a frame that is blue all over is "mostly blue") */
    float blue_top = (float)blue_c / top_c, grey_top = (float)grey_c / top_c;
    /* a frame of one colour all over is sky only where it has the texture
     * of a camera picture (a kite against the sky, not a blue poster) */
    bool same_below = fabsf(down_v - top_v) < 0.1f && f->sc_hue_share > 0.8f && f->noise < 0.15f;
    if (!same_below) {
        f->sc_clear_sky = sc_ramp(blue_top, 0.55f, 0.8f) * gate;
        f->sc_clouds = sc_ramp((float)cloud_c / top_c, 0.04f, 0.12f) *
                       sc_ramp((float)(blue_any + cloud_c) / top_c, 0.6f, 0.85f) *
                       sc_ramp(blue_top, 0.1f, 0.25f) * gate;
        f->sc_overcast = sc_ramp(grey_top, 0.55f, 0.8f) * gate;
        f->sc_storm = f->sc_overcast * sc_ramp(0.55f - top_v, 0.0f, 0.1f);
        /* dark cloud banks: much of the top dim and dull, with the
         * brightness of the cloud masses varying across it */
        float tm = tv_sum / top_c, tsd = tv_sq / top_c - tm * tm;
        tsd = tsd > 0 ? sqrtf(tsd) : 0;
        /* ...and the rest of the top is sky too (a dark animal on a
         * white backdrop has the same dull cells) */
        float bank = sc_ramp((float)dull_c / top_c, 0.2f, 0.4f) * sc_ramp(tsd, 0.06f, 0.12f) *
                     sc_ramp((float)(dull_c + sky_c) / top_c, 0.7f, 0.85f) * gate;
        if (bank > f->sc_storm)
            f->sc_storm = bank;
    }
    if (f->sc_clouds > f->sc_clear_sky)
        f->sc_clear_sky *= 0.5f;

    /* --- light */
    /* a glow above and darker ground below; a frame warm all over is an
     * orange thing, not a sky */
    f->sc_sunset = sc_ramp((float)warm_top / up_c, 0.15f, 0.3f) *
                   sc_ramp(up_v - down_v, 0.05f, 0.15f) *
                   (1.0f - sc_ramp((float)warm_all / n_cells, 0.45f, 0.6f)) * gate;
    float light = (float)n_bright / np;
    f->sc_night_lights = sc_ramp((float)n_dark / np, 0.55f, 0.75f) * sc_ramp(light, 0.001f, 0.005f) *
                         (1.0f - sc_ramp(light, 0.15f, 0.25f)) * sc_ramp(0.3f - mean_v, 0.0f, 0.1f);
    f->sc_stars = sc_ramp((float)n_vdark / np, 0.4f, 0.6f) * sc_ramp((float)n_dots, 15, 40) *
                  sc_ramp((float)dot_cells / n_cells, 0.1f, 0.25f);

    /* --- composition */
    f->sc_reflection = sc_ramp(sc_reflection_score(slum, sw, sh), 0.45f, 0.7f) * gate;
    /* textured wall to wall and repeating */
    f->sc_pattern = sc_ramp(sc_pattern_score(slum, sw, sh), 0.25f, 0.5f) *
                    sc_ramp((float)textured_c / n_cells, 0.8f, 0.95f) * natural;
    /* close-up: a sharp part and a large soft part that is not a plain
     * backdrop (cut-outs on white or black are not bokeh) */
    if (n_sharp >= 16) {
        float tmp[SC_G * SC_G];
        memcpy(tmp, sharp, sizeof(float) * n_sharp);
        qsort(tmp, (size_t)n_sharp, sizeof *tmp, sc_cmp_float);
        float p90 = tmp[n_sharp * 9 / 10];
        int soft = 0, soft_plain = 0, crisp = 0, crisp_mid = 0;
        for (int cy = 0, k = 0; cy < SC_G; cy++)
            for (int cx = 0; cx < SC_G; cx++) {
                sc_cell *c = cell + cy * SC_G + cx;
                if (!c->lap_n || !c->n)
                    continue;
                float s = c->lap / c->lap_n;
                (void)k;
                if (s >= 0.5f * p90) {
                    crisp++;
                    crisp_mid += cx >= SC_G / 4 && cx < SC_G * 3 / 4 && cy >= SC_G / 4 &&
                                 cy < SC_G * 3 / 4;
                }
                if (s < 0.15f * p90) {
                    soft++;
                    float m = c->lum_sum / c->n;
                    if (sc_cell_std(c) < 1.0f && (m > 245 || m < 10))
                        soft_plain++;
                }
            }
        /* shallow depth of field: cells with shading of their own (std >=
         * 3 levels) but almost no fine detail; smooth sky in the upper half
         * is left out (a landscape's sky is soft without being bokeh) */
        int blurred = 0;
        for (int cy = 0; cy < SC_G; cy++)
            for (int cx = 0; cx < SC_G; cx++) {
                sc_cell *c = cell + cy * SC_G + cx;
                if (!c->lap_n || !c->n || sc_cell_std(c) < 3 || c->lap / c->lap_n >= 0.15f * p90)
                    continue;
                bool skyish = cy < SC_G / 2 &&
                              c->blue_smooth + c->white_soft + c->grey_smooth >= 0.7f * c->n;
                blurred += !skyish;
            }
        float soft_share = (float)soft / n_sharp;
        float plain = soft ? (float)soft_plain / soft : 1;
        /* the subject sits towards the middle; lines crossing a smooth sky
         * reach the edges */
        float mid = crisp ? (float)crisp_mid / crisp : 0;
        float centred = sc_ramp(p90, 6, 12) * sc_ramp(soft_share, 0.4f, 0.6f) *
                      sc_ramp(mid, 0.4f, 0.6f) *
                      (1.0f - sc_ramp(plain, 0.2f, 0.5f)) * gate;
        /* a page of antialiased type has soft cells too, on white */
        float bokeh = sc_ramp(p90, 6, 12) * sc_ramp((float)blurred / n_sharp, 0.15f, 0.28f) *
                      (1.0f - sc_ramp(f->white_share, 0.3f, 0.5f)) * gate;
        f->sc_macro = bokeh > centred ? bokeh : centred;
    }
    /* --- backdrop */
    {
        int *queue = malloc(sizeof(int) * sn);
        uint8_t *mark = malloc(sn);
        if (queue && mark) {
            sc_backdrop b;
            sc_backdrop_measure(srgb, sw, sh, true, queue, mark, &b);
            f->sc_white_bg = sc_backdrop_score(&b);
            sc_backdrop_measure(srgb, sw, sh, false, queue, mark, &b);
            f->sc_black_bg = sc_backdrop_score(&b);
        }
        free(queue);
        free(mark);
    }
done:
    free(L);
    free(acc);
    free(slum);
    free(srgb);
    free(cell);
}

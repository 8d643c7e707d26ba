/* ocr.c - the OCR step of the captioner: reads English and Chinese text from
 * the full-resolution image with the Tesseract C API (one engine per worker)
 * and fills d->lines / d->text / d->text_lang for structure.c and compose.c. */
#include "captioner_int.h"
#include "ppocr.h"

#include <leptonica/allheaders.h>
#include <pthread.h>
#include <tesseract/capi.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OCR_TEXT_MAX (32 * 1024)  /* cap on d->text */
#define OCR_MAX_LINES 4000        /* cap on d->lines */
#define OCR_MAX_PIXELS (24 * 1000 * 1000) /* after scaling, keeps time bounded */

/* One eng+chi_sim engine reads every page. Measured on the dev set
 * (tests/eval/ocr_eval): a cheaper eng pass with an eng+chi_sim retry when
 * the result looked like unread script kept English recall equal but lost
 * Chinese in mostly-English pages (table headers, mixed UI), and saved only
 * 10-20% of OCR time; the single pass was chosen. The eng-only engine stays
 * for measurements (cap_ocr_params.mode) and is created only when asked
 * for. */
struct cap_ocr {
    TessBaseAPI *mix; /* eng+chi_sim, made on first use (or by cap_ocr_new
                         for reader 1) */
    char mix_error[sizeof(((odx_err *)0)->msg)]; /* why making it failed: not tried again */
    TessBaseAPI *eng; /* eng only, created on first use by modes 0 and 2 */
    const cap_ppocr *pp;  /* the PP-OCR models (engine's), or NULL */
    cap_ppocr_state *pps; /* this worker's PP-OCR state, made on first use */
    cap_ocr_stats last;   /* what the last cap_ocr_run did (this handle only:
                             workers run at once) */
    cap_ocr_params prm;   /* its tuning, fixed at cap_ocr_new */
};

/* The tuning the OCR step runs with (cap_ocr_params in captioner_int.h says
 * what each field does). The values follow measurements:
 * - pp_domains: ../shared/eval/dev (tests/eval/ocr_eval --reader, key-text
 *   items found, PP-OCR vs Tesseract in one run): chart 58 vs 52 of 63,
 *   document 58/51 of 59, poster 6/4 of 14, screenshot 38/33 of 43, table
 *   47/41 of 48, diagram 28/31 of 46 (symbol labels: Tesseract better).
 *   2026-12-07, by-construction sets (tests/eval/ocr_set.py --kinds
 *   photo,figure, seeds 12 and 77; ocr_eval --reader): photos with a sign
 *   or a caption PP-OCR 56/59 vs Tesseract 22/59 (seed 12); labelled
 *   geometry figures, with diagram_up 2, PP-OCR 173/237 vs Tesseract
 *   66/237 (seed 77); dev diagrams, checked after: 34/45 vs
 *   31/45 at a third of the time. Every domain reads with PP-OCR now.
 * - diagram_up: the same figure sets, PP-OCR en key text det_up 1 / 1.5 /
 *   2: 152 / 176 / 178 of 249 (seed 12); 149 -> 173 of 237 (seed 77).
 * - look_*: the text look on photos (cap_ocr_look), set on the seed-12
 *   photos with text (40) against the corpus's train-split photos without
 *   (254): every text box of the former is 15-56 px tall at 512 px and
 *   scores 0.77 or more; the latter's sure boxes are blobs 64 px tall or
 *   more, or score 0.68 at most. Checked on seed 77 (39 of its 40
 *   photos read; the one left: a 22 px sign turned 9 degrees, in
 *   perspective) and the validation photos (84, none read).
 * - table_psm: see the measurements in cap_ocr_run; knee: posters lose
 *   light lettering to it, so only charts and diagrams are whitened. */
cap_ocr_params cap_ocr_params_default(void)
{
    cap_ocr_params p = {
        .reader = 0,
        .pp_domains = (1u << CAP_CHART) | (1u << CAP_DOCUMENT) | (1u << CAP_POSTER) |
                      (1u << CAP_SCREENSHOT) | (1u << CAP_TABLE) | (1u << CAP_PHOTO) |
                      (1u << CAP_DIAGRAM),
        .mode = 1,
        .target_px = 20.0f,
        .knee = 210,
        .table_psm = PSM_AUTO,
        .min_conf = 55.0f,
        .sparse_domains = 1u << CAP_TABLE,
        .invert_dark = 1,
        .weak_conf = 20.0f,
        .reread_conf = 80.0f,
        .reread_max = 40,
        .reread_px = 40.0f,
        .stray_conf = 90.0f,
        .ppocr = cap_ppocr_params_default(),
        .diagram_up = 2.0f,
        .look_side = 512,
        .look_min_h = 8.0f,
        .look_max_h = 60.0f,
        .look_min_score = 0.72f,
    };
    return p;
}

/* OMNIDEX_OCR=auto|tesseract|ppocr sets p->reader; anything else leaves it. */
void cap_ocr_params_env(cap_ocr_params *p)
{
    const char *env = getenv("OMNIDEX_OCR");
    if (env && !strcmp(env, "tesseract")) p->reader = 1;
    else if (env && !strcmp(env, "ppocr")) p->reader = 2;
    else if (env && !strcmp(env, "auto")) p->reader = 0;
}

static const char *const TESSDATA_DIRS[] = {
    NULL, /* the library's compiled-in default / TESSDATA_PREFIX */
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
};

/* Tesseract's Init writes process-wide parameters (debug_file among them,
 * tesseract::ParamUtils::SetParam on the global vector): workers starting
 * their engines at once raced there (ThreadSanitizer, 4-worker index run).
 * One engine is set up at a time. */
static pthread_mutex_t api_init_lock = PTHREAD_MUTEX_INITIALIZER;
static odx_status api_new_locked(const char *langs, TessBaseAPI **out, odx_err *err);

static odx_status api_new(const char *langs, TessBaseAPI **out, odx_err *err)
{
    pthread_mutex_lock(&api_init_lock);
    odx_status st = api_new_locked(langs, out, err);
    pthread_mutex_unlock(&api_init_lock);
    return st;
}

static odx_status api_new_locked(const char *langs, TessBaseAPI **out, odx_err *err)
{
    /* debug_file is a "debug" parameter: it only takes effect when passed at
     * Init time with set_only_non_debug_params = false. It is process-wide
     * and read by every engine's tprintf, so it is set by the first Init
     * only: setting it again while another worker prints was a data race
     * (ThreadSanitizer: SetParam here against tprintf in cap_ocr_run). */
    static bool debug_file_set; /* under api_init_lock */
    char *names[] = {"debug_file"};
    char *values[] = {"/dev/null"};
    int n_params = debug_file_set ? 0 : 1;
    for (size_t i = 0; i < sizeof TESSDATA_DIRS / sizeof *TESSDATA_DIRS; i++) {
        TessBaseAPI *api = TessBaseAPICreate();
        if (!api)
            return core_err(err, ODX_ERR_NOMEM, "no memory for Tesseract");
        if (TessBaseAPIInit4(api, TESSDATA_DIRS[i], langs, OEM_LSTM_ONLY, NULL, 0,
                             names, values, n_params, 0) == 0) {
            debug_file_set = true;
            TessBaseAPISetVariable(api, "preserve_interword_spaces", "1");
            *out = api;
            return ODX_OK;
        }
        TessBaseAPIDelete(api);
    }
    return core_err(err, ODX_ERR_OCR,
                    "Tesseract could not load languages '%s' (tessdata in "
                    "/usr/share/tesseract-ocr/5/tessdata; install the packages "
                    "tesseract-ocr-eng and tesseract-ocr-chi-sim)",
                    langs);
}

/* Leptonica (called by Tesseract on every page) prints its own complaints,
 * "Error in pixScanForForeground: invalid box" and the like, straight to
 * stderr: dozens per run, none of them a failure of ours. They go to
 * omnidex's log at debug level instead. */
static void lept_to_log(const char *msg)
{
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) n--;
    core_log(CORE_LOG_DEBUG, "leptonica: %.*s", (int)n, msg);
}

/* Once per process, however many workers start at once: the leptonica
 * handler. */
static pthread_once_t ocr_once = PTHREAD_ONCE_INIT;
static void ocr_init_once(void)
{
    leptSetStderrHandler(lept_to_log);
}

odx_status cap_ocr_new(cap_ocr **out, const cap_ocr_params *prm, odx_err *err)
{
    pthread_once(&ocr_once, ocr_init_once);
    cap_ocr *o = calloc(1, sizeof *o);
    if (!o)
        return core_err(err, ODX_ERR_NOMEM, "no memory for OCR");
    o->prm = prm ? *prm : cap_ocr_params_default();
    /* Tesseract is loaded where it will read (reader 1); otherwise on its
     * first page (PP-OCR reads every domain when its models are lent, so
     * most workers never load the eng+chi_sim data) */
    if (o->prm.reader == 1) {
        odx_status st = api_new("eng+chi_sim", &o->mix, err);
        if (st != ODX_OK) {
            free(o);
            return st;
        }
    }
    *out = o;
    return ODX_OK;
}

void cap_ocr_free(cap_ocr *o)
{
    if (!o)
        return;
    if (o->eng) {
        TessBaseAPIEnd(o->eng);
        TessBaseAPIDelete(o->eng);
    }
    if (o->mix) {
        TessBaseAPIEnd(o->mix);
        TessBaseAPIDelete(o->mix);
    }
    cap_ppocr_state_free(o->pps);
    free(o);
}

void cap_ocr_set_ppocr(cap_ocr *o, const cap_ppocr *p)
{
    if (o && !o->pps) o->pp = p;
}

/* Images this small are read whatever the features say (see
 * cap_ocr_wanted) and get a whole-image single-word look when the page
 * analysis finds nothing. */
#define OCR_SMALL_PIXELS (320 * 320)
/* least mean confidence of the one line cut out of a small image */
#define OCR_ROW_CONF 65.0f

bool cap_ocr_wanted(const cap_desc *d)
{
    const cap_features *f = &d->feat;
    /* The text-line features see little on a small image (a sign, a logo,
     * an icon: glyphs a few pixels tall in the thumbnail), and reading one
     * costs a few milliseconds: always look. */
    if ((int64_t)d->width * d->height <= OCR_SMALL_PIXELS)
        return true;
    switch (d->domain) {
    case CAP_DOCUMENT:
    case CAP_TABLE:
    case CAP_SCREENSHOT:
    case CAP_CHART:
        return true; /* text is what these are about; cost is bounded */
    case CAP_POSTER:
    case CAP_DIAGRAM:
        return f->text_likeness > 0.05f || f->n_text_lines > 0;
    case CAP_PHOTO:
    default:
        /* A photo of a page or a sign still has rows of glyphs. */
        return f->text_likeness > 0.35f && f->n_text_lines >= 3;
    }
}

/* ----------------------------------------------------------- scaling ---- */

/* Connected components (4-neighbour) of a w x h mask, which is cleared on
 * the way. fn gets each component's box and pixel count and returns false
 * to stop. stack holds w*h entries. */
typedef struct ink_cc {
    int x0, y0, x1, y1;
    int64_t area;
} ink_cc;

static void ink_components(uint8_t *m, int w, int h, int32_t *stack,
                           bool (*fn)(void *ctx, const ink_cc *c), void *ctx)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (!m[(size_t)y * w + x])
                continue;
            ink_cc c = {x, y, x, y, 0};
            int sp = 0;
            m[(size_t)y * w + x] = 0;
            stack[sp++] = y * w + x;
            while (sp) {
                int32_t p = stack[--sp];
                int py = p / w, px = p % w;
                c.area++;
                if (px < c.x0) c.x0 = px;
                if (px > c.x1) c.x1 = px;
                if (py < c.y0) c.y0 = py;
                if (py > c.y1) c.y1 = py;
                if (px > 0 && m[p - 1]) { m[p - 1] = 0; stack[sp++] = p - 1; }
                if (px < w - 1 && m[p + 1]) { m[p + 1] = 0; stack[sp++] = p + 1; }
                if (py > 0 && m[p - w]) { m[p - w] = 0; stack[sp++] = p - w; }
                if (py < h - 1 && m[p + w]) { m[p + w] = 0; stack[sp++] = p + w; }
            }
            if (!fn(ctx, &c))
                return;
        }
}

/* glyph_height's collector: heights of glyph-like components */
typedef struct gh_ctx {
    int sub, n;
    int *heights;
} gh_ctx;

static bool gh_add(void *ctx, const ink_cc *c)
{
    gh_ctx *g = ctx;
    int cw = c->x1 - c->x0 + 1, ch = c->y1 - c->y0 + 1;
    /* glyph-like: not a rule, not a blob, not a speck */
    if (ch >= 3 && ch <= 120 / g->sub + 2 && cw <= 3 * ch && c->area >= 4 &&
        c->area < (int64_t)cw * ch)
        g->heights[g->n++] = ch * g->sub;
    return g->n < 65536;
}

/* Median height of glyph-sized connected components of ink (see below),
 * on a copy subsampled by `sub`.
 * Returns 0 when too few glyph-like components were seen. */
static float glyph_height(const uint8_t *g, int w, int h)
{
    int sub = 1;
    while ((int64_t)(w / sub) * (h / sub) > 3000000)
        sub++;
    int sw = w / sub, sh = h / sub;
    if (sw < 8 || sh < 8)
        return 0;
    uint32_t hist[256] = {0};
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++)
            hist[g[(size_t)y * sub * w + (size_t)x * sub]]++;
    /* Ink: clearly darker (or, on dark pages, lighter) than the most
     * common gray. A global Otsu split would put a gray frame (classic
     * chart styles) or a coloured panel on the ink side. */
    int bg = 0;
    for (int i = 1; i < 256; i++)
        if (hist[i] > hist[bg])
            bg = i;
    bool ink_dark = bg >= 128;
    int thr = ink_dark ? bg - 80 : bg + 80;

    uint8_t *m = malloc((size_t)sw * sh);
    int32_t *stack = malloc(sizeof(int32_t) * (size_t)sw * sh);
    int *heights = malloc(sizeof(int) * 65536);
    int n_h = 0;
    float res = 0;
    if (!m || !stack || !heights)
        goto done;
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++) {
            uint8_t v = g[(size_t)y * sub * w + (size_t)x * sub];
            m[(size_t)y * sw + x] = ink_dark ? v < thr : v > thr;
        }
    gh_ctx gc = {sub, 0, heights};
    ink_components(m, sw, sh, stack, gh_add, &gc);
    n_h = gc.n;
    if (n_h >= 20) {
        /* counting sort: heights are small integers */
        int cnt[512] = {0};
        for (int i = 0; i < n_h; i++)
            cnt[heights[i] < 511 ? heights[i] : 511]++;
        int acc = 0;
        for (int i = 0; i < 512; i++) {
            acc += cnt[i];
            if (acc * 2 >= n_h) {
                res = (float)i;
                break;
            }
        }
    }
done:
    free(m);
    free(stack);
    free(heights);
    return res;
}

static float pick_scale(const cap_ocr_params *P, const uint8_t *g, int w, int h)
{
    float gh = glyph_height(g, w, h);
    float s = 1.0f;
    if (gh > 0)
        s = P->target_px / gh;
    else if ((w > h ? w : h) < 400)
        /* too few glyphs to measure (a sign, an icon-sized poster): the
         * text there fills a good part of a small image; give Tesseract
         * room */
        s = 400.0f / (float)(w > h ? w : h);
    if (s < 0.5f)
        s = 0.5f;
    if (s > 2.5f)
        s = 2.5f;
    /* Close to 1: not worth a resample. */
    if (s > 0.85f && s < 1.25f)
        s = 1.0f;
    while ((double)w * s * h * s > OCR_MAX_PIXELS && s > 0.25f)
        s *= 0.9f;
    return s;
}

/* Bilinear resample (both directions: glyph shapes survive either way
 * better than with nearest neighbour). */
static uint8_t *resample(const uint8_t *g, int w, int h, int nw, int nh)
{
    uint8_t *o = malloc((size_t)nw * nh);
    if (!o)
        return NULL;
    float fx = (float)w / nw, fy = (float)h / nh;
    for (int y = 0; y < nh; y++) {
        float sy = (y + 0.5f) * fy - 0.5f;
        if (sy < 0) sy = 0;
        int y0 = (int)sy, y1 = y0 + 1 < h ? y0 + 1 : y0;
        float ay = sy - y0;
        for (int x = 0; x < nw; x++) {
            float sx = (x + 0.5f) * fx - 0.5f;
            if (sx < 0) sx = 0;
            int x0 = (int)sx, x1 = x0 + 1 < w ? x0 + 1 : x0;
            float ax = sx - x0;
            float a = g[(size_t)y0 * w + x0] * (1 - ax) + g[(size_t)y0 * w + x1] * ax;
            float b = g[(size_t)y1 * w + x0] * (1 - ax) + g[(size_t)y1 * w + x1] * ax;
            o[(size_t)y * nw + x] = (uint8_t)(a * (1 - ay) + b * ay + 0.5f);
        }
    }
    return o;
}

/* ------------------------------------------------------ text helpers ---- */

static bool is_cjkish(int32_t cp)
{
    return core_is_cjk(cp) || (cp >= 0x3000 && cp <= 0x303F) ||
           (cp >= 0xFF00 && cp <= 0xFFEF);
}

static int32_t first_cp(const char *s)
{
    int32_t cp = 0;
    if (*s)
        core_utf8_next(s, strlen(s), &cp);
    return cp;
}

static int32_t last_cp(const char *s)
{
    size_t n = strlen(s);
    if (!n)
        return 0;
    size_t i = n - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    int32_t cp = 0;
    core_utf8_next(s + i, n - i, &cp);
    return cp;
}

/* A word is kept when it is confident and looks like text rather than a
 * fragment of a rule, icon or photo texture. */
static bool keep_word(const cap_ocr_params *P, const char *t, float conf, bool line_start,
                      bool strict)
{
    cap_char_kinds cs = {0};
    cap_count_chars(t, &cs);
    int good = cs.cjk + cs.latin + cs.digit;
    /* Punctuation on its own (Chinese commas come out as separate words)
     * is kept inside a line when read confidently. */
    if (good == 0) {
        if (line_start || cs.other > 2 || conf < 80)
            return false;
        /* real punctuation only: '|', '[', '_' alone are table rules */
        size_t n = strlen(t);
        for (size_t i = 0; i < n;) {
            int32_t cp;
            i += (size_t)core_utf8_next(t + i, n - i, &cp);
            bool ok = (cp < 128 && strchr(",.;:!?%&()'\"-", (int)cp)) || cp == 0x2014 ||
                      cp == 0x2013 ||
                      (cp >= 0x3001 && cp <= 0x3011) || (cp >= 0xFF01 && cp <= 0xFF1F) ||
                      cp == 0x201C || cp == 0x201D || cp == 0x2018 || cp == 0x2019;
            if (!ok)
                return false;
        }
        return true;
    }
    if (conf < P->min_conf)
        return false;
    /* Dashes (legend line markers, tick marks) read as runs of the Han
     * character for "one": a real 一 comes inside a longer word. */
    {
        bool only_dash = true;
        int n_dash = 0, n_one = 0;
        size_t n = strlen(t);
        for (size_t i = 0; i < n && only_dash;) {
            int32_t cp;
            i += (size_t)core_utf8_next(t + i, n - i, &cp);
            only_dash = cp == 0x4E00 || cp == 0x2014 || cp == 0x2013 || cp == '-' ||
                        cp == 0x30FC || cp == 0x2500;
            n_dash++;
            n_one += cp == 0x4E00 || cp == 0x30FC || cp == 0x2500;
        }
        /* a lone dash between words ("Inbox — Evolution") is punctuation */
        if (only_dash && (n_dash > 1 || n_one > 0))
            return false;
    }
    /* A single Latin letter is usually a stray mark; keep confident ones
     * (a, I, A, x) and digits, which are chart ticks and table cells. */
    if (good + cs.other == 1 && cs.latin == 1 &&
        conf < (isupper((unsigned char)t[0]) || (unsigned char)t[0] >= 0xC0 ? 60 : 85))
        return false;
    if (cs.other > 2 * good + 1)
        return false;
    /* Scatter markers, dotted rules and textures read as "ee", "SESE",
     * "oe": short Latin runs of one or two distinct letters. */
    if (cs.latin == good && cs.latin >= 2 && cs.latin <= 6 && cs.other == 0) {
        unsigned seen[2] = {0, 0};
        int distinct = 0;
        for (const char *c = t; *c; c++) {
            int ch = tolower((unsigned char)*c);
            if (ch < 'a' || ch > 'z')
                continue;
            unsigned bit = 1u << (ch - 'a');
            if (!(seen[0] & bit)) {
                seen[0] |= bit;
                distinct++;
            }
        }
        static const char *const ok2[] = {"in", "on", "to", "of", "is", "as", "at",
                                          "by", "no", "or", "so", "up", "we", "be",
                                          "it", "an", "do", "go", "he", "me", "my",
                                          "us", "ok", "id", "mm", "km", "cm", "kg",
                                          "all", "add", "off", "see", "too", "odd",
                                          "ill", "eye", "tee", "bob", "dad", "mom",
                                          "vs"};
        /* documents and screens have real words like these: only the sparse
         * modes (charts, diagrams, posters) drop two-letter mixes */
        /* a surely read three-letter acronym of two letters (SSH, CSS,
         * TTL) is a word; marker rows come out longer or in lower case */
        bool acronym = distinct == 2 && cs.latin == 3 && strlen(t) == 3 && conf >= 85 &&
                       isupper((unsigned char)t[0]) && isupper((unsigned char)t[1]) &&
                       isupper((unsigned char)t[2]);
        if (distinct == 1 || (distinct == 2 && strict && cs.latin >= 3 && !acronym)) {
            char low[8];
            size_t n = strlen(t);
            bool known = false;
            for (size_t i = 0; i < n && i < sizeof low - 1; i++)
                low[i] = (char)tolower((unsigned char)t[i]);
            low[n < sizeof low - 1 ? n : sizeof low - 1] = 0;
            for (size_t i = 0; i < sizeof ok2 / sizeof *ok2; i++)
                known |= strcmp(low, ok2[i]) == 0;
            if (!known)
                return false;
        }
    }
    return true;
}

/* --------------------------------------------------------- recognise ---- */

typedef struct ocr_word {
    char *text;
    float conf;
    int x0, y0, x1, y1; /* scaled-image pixels */
    bool line_start, para_start;
    bool weak; /* a Han word under the confidence bar, kept for now (see settle_weak) */
} ocr_word;

typedef struct ocr_pass {
    ocr_word *w;
    int n, cap;
    float mean_conf;  /* over all words, kept or not */
    int n_raw;        /* words Tesseract returned */
    int n_kept;
    /* boxes of words dropped for low confidence that still had letters or
     * Han in them: where a closer second look may read something */
    ocr_word *drop;   /* text always NULL */
    int n_drop, cap_drop;
} ocr_pass;

static void pass_free(ocr_pass *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->w[i].text);
    free(p->w);
    free(p->drop);
    memset(p, 0, sizeof *p);
}

static odx_status pass_push(ocr_pass *p, const ocr_word *w, odx_err *err)
{
    if (p->n == p->cap) {
        int nc = p->cap ? p->cap * 2 : 64;
        ocr_word *nw = realloc(p->w, sizeof *nw * (size_t)nc);
        if (!nw)
            return core_err(err, ODX_ERR_NOMEM, "no memory for OCR words");
        p->w = nw;
        p->cap = nc;
    }
    p->w[p->n++] = *w;
    return ODX_OK;
}

static bool boxes_overlap(const ocr_word *a, const ocr_word *b)
{
    return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* Drops the words marked in drop (their text freed) and closes the gaps;
 * a dropped word that began a line or paragraph hands that on to the next
 * kept word. */
static void pass_drop(ocr_pass *p, const bool *drop)
{
    int o = 0;
    bool carry_line = false, carry_para = false;
    for (int i = 0; i < p->n; i++) {
        ocr_word *w = &p->w[i];
        if (drop[i]) {
            carry_line |= w->line_start;
            carry_para |= w->para_start;
            free(w->text);
            continue;
        }
        if (carry_line) {
            w->line_start = true;
            w->para_start |= carry_para;
            carry_line = carry_para = false;
        }
        p->w[o++] = *w;
    }
    p->n = o;
    p->n_kept = o;
}

/* One past the last word of the line that starts at word i. */
static int line_end(const ocr_pass *p, int i)
{
    int j = i + 1;
    while (j < p->n && !p->w[j].line_start)
        j++;
    return j;
}

/* chi_sim reads Chinese one character per word, and a rarer character
 * (鸢, 瓣) often comes back under the confidence bar inside a line of sure
 * ones: dropping it splits the line's words ("花数据集花长度" for
 * "鸢尾花数据集：花瓣长度"). Such a character is kept when a sure Han
 * word stands next to it on its line; alone it is still dropped. How far
 * under the bar: cap_ocr_params.weak_conf (20). */

static bool cjk_only(const char *t)
{
    cap_char_kinds cs = {0};
    cap_count_chars(t, &cs);
    return cs.cjk > 0 && cs.latin == 0 && cs.digit == 0 && cs.other == 0;
}

static bool sure_han(const ocr_pass *p, int i) { return !p->w[i].weak && cjk_only(p->w[i].text); }

static void settle_weak(ocr_pass *p)
{
    /* decide on the words as read, then drop */
    int n = p->n;
    bool *drop = calloc((size_t)(n > 0 ? n : 1), sizeof *drop);
    if (!drop) { /* no memory to decide: keep the words */
        for (int i = 0; i < n; i++)
            p->w[i].weak = false;
        return;
    }
    for (int i = 0; i < n; i++) {
        const ocr_word *w = &p->w[i];
        if (!w->weak)
            continue;
        /* same line: i - 1 is on it unless i starts a line */
        bool prev = i > 0 && !w->line_start && sure_han(p, i - 1);
        bool next = i + 1 < n && !p->w[i + 1].line_start && sure_han(p, i + 1);
        /* two weak ones in a row between sure ones: 鸢尾 */
        if (!prev && i > 1 && !w->line_start && p->w[i - 1].weak && !p->w[i - 1].line_start)
            prev = sure_han(p, i - 2);
        if (!next && i + 2 < n && p->w[i + 1].weak && !p->w[i + 1].line_start &&
            !p->w[i + 2].line_start)
            next = sure_han(p, i + 2);
        drop[i] = !prev && !next;
    }
    for (int i = 0; i < n; i++)
        p->w[i].weak = false;
    pass_drop(p, drop);
    free(drop);
}

/* keep_word, letting a Han word under the confidence bar through as weak
 * (for settle_weak to decide on). */
static bool judge_word(const cap_ocr_params *P, const char *t, float conf, bool line_start,
                       bool strict, bool *weak)
{
    *weak = false;
    if (keep_word(P, t, conf, line_start, strict))
        return true;
    *weak = conf >= P->weak_conf && cjk_only(t) &&
            keep_word(P, t, P->min_conf, line_start, strict);
    return *weak;
}

/* conf_penalty raises the bar for keeping a word (textured photos). */
static odx_status run_pass(const cap_ocr_params *P, TessBaseAPI *api, const uint8_t *g, int w,
                           int h, int psm, float conf_penalty, ocr_pass *out, odx_err *err)
{
    odx_status st = ODX_OK;
    TessResultIterator *it = NULL;
    memset(out, 0, sizeof *out);
    TessBaseAPISetPageSegMode(api, (TessPageSegMode)psm);
    TessBaseAPISetImage(api, g, w, h, 1, w);
    TessBaseAPISetSourceResolution(api, 150);
    if (TessBaseAPIRecognize(api, NULL) != 0) {
        st = core_err(err, ODX_ERR_OCR, "Tesseract could not recognise the image");
        goto done;
    }
    it = TessBaseAPIGetIterator(api);
    if (!it)
        goto done; /* empty page */
    double conf_sum = 0;
    bool pending_line = true, pending_para = true;
    do {
        TessPageIterator *pit = TessResultIteratorGetPageIterator(it);
        if (TessPageIteratorIsAtBeginningOf(pit, RIL_BLOCK) ||
            TessPageIteratorIsAtBeginningOf(pit, RIL_PARA))
            pending_para = true;
        if (TessPageIteratorIsAtBeginningOf(pit, RIL_TEXTLINE))
            pending_line = true;
        char *t = TessResultIteratorGetUTF8Text(it, RIL_WORD);
        if (!t)
            continue;
        float conf = TessResultIteratorConfidence(it, RIL_WORD);
        int x0, y0, x1, y1;
        if (!TessPageIteratorBoundingBox(pit, RIL_WORD, &x0, &y0, &x1, &y1)) {
            TessDeleteText(t);
            continue;
        }
        out->n_raw++;
        conf_sum += conf;
        bool weak = false;
        bool keep = judge_word(P, t, conf - conf_penalty, pending_line,
                               psm == PSM_SPARSE_TEXT, &weak);
        if (!keep || out->n >= 200000) {
            cap_char_kinds cs = {0};
            cap_count_chars(t, &cs);
            TessDeleteText(t);
            if (cs.cjk + cs.latin > 0 && conf - conf_penalty < P->min_conf &&
                out->n_drop < 4000) {
                if (out->n_drop == out->cap_drop) {
                    int nc = out->cap_drop ? out->cap_drop * 2 : 64;
                    ocr_word *nd = realloc(out->drop, sizeof *nd * (size_t)nc);
                    if (!nd) {
                        st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR words");
                        goto done;
                    }
                    out->drop = nd;
                    out->cap_drop = nc;
                }
                out->drop[out->n_drop++] = (ocr_word){NULL, conf, x0, y0, x1, y1, false, false};
            }
            continue;
        }
        ocr_word ow = {core_utf8_sanitize(t, strlen(t)), conf, x0, y0, x1, y1,
                       pending_line, pending_para, weak};
        TessDeleteText(t);
        pending_line = pending_para = false;
        if (!ow.text || pass_push(out, &ow, err) != ODX_OK) {
            free(ow.text);
            st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR words");
            goto done;
        }
    } while (TessResultIteratorNext(it, RIL_WORD));
    settle_weak(out);
    out->n_kept = out->n;
    out->mean_conf = out->n_raw ? (float)(conf_sum / out->n_raw) : 0;
done:
    TessResultIteratorDelete(it);
    TessBaseAPIClear(api);
    if (st != ODX_OK)
        pass_free(out);
    return st;
}

/* Adds the words of `extra` that overlap no word of `p`, each as its own
 * line. Used for tables: the layout analysis of auto mode drops narrow
 * columns of short numbers that sparse mode reads. */
static odx_status merge_missing(ocr_pass *p, const ocr_pass *extra, odx_err *err)
{
    int n0 = p->n;
    for (int i = 0; i < extra->n; i++) {
        const ocr_word *e = &extra->w[i];
        bool overlap = false;
        for (int k = 0; k < n0 && !overlap; k++)
            overlap = boxes_overlap(e, &p->w[k]);
        if (overlap)
            continue;
        ocr_word o = *e;
        o.text = core_strdup(e->text);
        o.line_start = true;
        o.para_start = false;
        if (!o.text || pass_push(p, &o, err) != ODX_OK) {
            free(o.text);
            return core_err(err, ODX_ERR_NOMEM, "no memory for OCR words");
        }
    }
    p->n_kept = p->n;
    return ODX_OK;
}

/* ------------------------------------------------------- second look ---- */

/* The page-level pass reads each line at the page's scale and threshold.
 * Lines it read poorly (low confidence), lines on a dark band (white
 * lettering on a coloured table header or poster) and groups of words it
 * dropped for low confidence get a second look: the line alone, cropped,
 * turned dark-on-light, enlarged to a comfortable glyph height and read as
 * one line. The second reading replaces the first only when it is more
 * confident; dropped regions only add words that pass the usual filter.
 * Tuned by cap_ocr_params: reread_conf (lines below this mean confidence,
 * 80; 0: no second look), reread_max (looks per image, a time bound, 40),
 * reread_px (box height a line is enlarged to, 40). */

/* Most common gray of a box: the background of a text line. */
static int box_background(const uint8_t *g, int w, int x0, int y0, int x1, int y1)
{
    uint32_t hist[64] = {0};
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            hist[g[(size_t)y * w + x] >> 2]++;
    int best = 0;
    for (int i = 1; i < 64; i++)
        if (hist[i] > hist[best])
            best = i;
    return best * 4 + 2;
}

static bool box_dark(const uint8_t *g, int w, int h, int x0, int y0, int x1, int y1)
{
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 >= w) x1 = w - 1;
    if (y1 >= h) y1 = h - 1;
    if (x1 < x0 || y1 < y0)
        return false;
    return box_background(g, w, x0, y0, x1, y1) < 110;
}

static odx_status reread_area(const cap_ocr_params *P, TessBaseAPI *api, const uint8_t *g, int w,
                              int h, int x0, int y0, int x1, int y1, int m, int lh, int psm,
                              ocr_pass *out, float *mean, odx_err *err);

/* Reads the box (x0,y0)-(x1,y1) of g as one line. Words come back in g's
 * coordinates; *mean is their mean confidence (0 when none was kept). */
static odx_status reread_box(const cap_ocr_params *P, TessBaseAPI *api, const uint8_t *g, int w,
                             int h, int x0, int y0, int x1, int y1, ocr_pass *out, float *mean,
                             odx_err *err)
{
    int lh = y1 - y0 + 1;
    return reread_area(P, api, g, w, h, x0, y0, x1, y1, lh / 3 + 2, lh, PSM_SINGLE_LINE, out,
                       mean, err);
}

/* The general form: margin m around the box, lh the height of its text,
 * psm how to read it. */
static odx_status reread_area(const cap_ocr_params *P, TessBaseAPI *api, const uint8_t *g, int w,
                              int h, int x0, int y0, int x1, int y1, int m, int lh, int psm,
                              ocr_pass *out, float *mean, odx_err *err)
{
    odx_status st = ODX_OK;
    if (lh < 1)
        lh = 1;
    x0 = x0 - m < 0 ? 0 : x0 - m;
    y0 = y0 - m < 0 ? 0 : y0 - m;
    x1 = x1 + m >= w ? w - 1 : x1 + m;
    y1 = y1 + m >= h ? h - 1 : y1 + m;
    int cw = x1 - x0 + 1, ch = y1 - y0 + 1;
    *mean = 0;
    memset(out, 0, sizeof *out);
    if (cw < 8 || ch < 8)
        return ODX_OK;
    float s = P->reread_px / (float)lh;
    if (s < 1.0f)
        s = 1.0f;
    if (s > 4.0f)
        s = 4.0f;
    while ((double)cw * s * ch * s > 4e6 && s > 1.0f)
        s *= 0.9f;
    if (s < 1.0f)
        s = 1.0f;
    int nw = (int)lroundf(cw * s), nh = (int)lroundf(ch * s);
    uint8_t *crop = malloc((size_t)cw * ch), *big = NULL;
    if (!crop)
        return core_err(err, ODX_ERR_NOMEM, "no memory for OCR");
    bool invert = box_background(g, w, x0, y0, x1, y1) < 110;
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++) {
            uint8_t v = g[(size_t)(y0 + y) * w + x0 + x];
            crop[(size_t)y * cw + x] = invert ? (uint8_t)(255 - v) : v;
        }
    const uint8_t *img = crop;
    if (nw != cw || nh != ch) {
        big = resample(crop, cw, ch, nw, nh);
        if (!big) {
            st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR");
            goto done;
        }
        img = big;
    }
    st = run_pass(P, api, img, nw, nh, psm, 0, out, err);
    if (st != ODX_OK)
        goto done;
    double sum = 0;
    float fx = (float)cw / nw, fy = (float)ch / nh;
    for (int i = 0; i < out->n; i++) {
        ocr_word *o = &out->w[i];
        sum += o->conf;
        o->x0 = x0 + (int)floorf(o->x0 * fx);
        o->x1 = x0 + (int)ceilf(o->x1 * fx);
        o->y0 = y0 + (int)floorf(o->y0 * fy);
        o->y1 = y0 + (int)ceilf(o->y1 * fy);
        o->line_start = i == 0;
        o->para_start = false;
    }
    *mean = out->n ? (float)(sum / out->n) : 0;
done:
    free(crop);
    free(big);
    return st;
}

static int good_chars(const ocr_word *w, int n)
{
    int g = 0;
    for (int i = 0; i < n; i++) {
        cap_char_kinds cs = {0};
        cap_count_chars(w[i].text, &cs);
        g += cs.cjk * 2 + cs.latin + cs.digit;
    }
    return g;
}

/* Gives p its second look (see above). p keeps its line order; words read
 * in dropped regions are appended as lines of their own. */
static odx_status reread(const cap_ocr_params *P, TessBaseAPI *api, const uint8_t *g, int w, int h,
                         ocr_pass *p, cap_ocr_stats *ls, odx_err *err)
{
    odx_status st = ODX_OK;
    ocr_pass out = {0}, q = {0};
    bool *used = NULL;
    uint8_t *dark_rows = NULL;
    int budget = P->reread_max;
    ls->rereads = ls->replaced = ls->added = 0;
    if (P->reread_conf <= 0 || budget <= 0)
        return ODX_OK;
    int n0 = p->n, i = 0;
    while (i < n0) {
        /* one segment, cut as assemble() cuts: a single-line read across
         * the gap between table cells invents text in the gap */
        int x0 = p->w[i].x0, y0 = p->w[i].y0, x1 = p->w[i].x1, y1 = p->w[i].y1;
        double sum = p->w[i].conf;
        int j = i + 1;
        for (; j < n0 && !p->w[j].line_start; j++) {
            const ocr_word *o = &p->w[j];
            int lh = y1 - y0 + 1;
            if (o->x0 - x1 > lh + lh / 4 || o->x1 <= x0)
                break;
            if (o->x0 < x0) x0 = o->x0;
            if (o->y0 < y0) y0 = o->y0;
            if (o->x1 > x1) x1 = o->x1;
            if (o->y1 > y1) y1 = o->y1;
            sum += o->conf;
        }
        float mean = (float)(sum / (j - i));
        bool want = budget > 0 && (mean < P->reread_conf ||
                                   box_dark(g, w, h, x0, y0, x1, y1));
        bool replaced = false;
        if (want) {
            budget--;
            ls->rereads++;
            float qm = 0;
            st = reread_box(P, api, g, w, h, x0, y0, x1, y1, &q, &qm, err);
            if (st != ODX_OK)
                goto done;
            int before = good_chars(&p->w[i], j - i), after = good_chars(q.w, q.n);
            if (q.n > 0 && qm > mean + 3 && after * 10 >= before * 8) {
                q.w[0].para_start = p->w[i].para_start;
                for (int k = 0; k < q.n; k++) {
                    st = pass_push(&out, &q.w[k], err);
                    if (st != ODX_OK)
                        goto done;
                    q.w[k].text = NULL; /* owned by out now */
                }
                replaced = true;
                ls->replaced++;
            }
            pass_free(&q);
        }
        for (int k = i; k < j; k++) {
            if (!replaced) {
                st = pass_push(&out, &p->w[k], err);
                if (st != ODX_OK)
                    goto done;
            } else {
                free(p->w[k].text);
            }
            p->w[k].text = NULL;
        }
        i = j;
    }

    /* Dropped words that no kept word covers, grouped into lines. */
    used = calloc((size_t)p->n_drop + 1, sizeof *used);
    if (!used) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR");
        goto done;
    }
    for (int a = 0; a < p->n_drop; a++)
        for (int k = 0; k < out.n && !used[a]; k++)
            used[a] = boxes_overlap(&p->drop[a], &out.w[k]);
    for (int a = 0; a < p->n_drop && budget > 0; a++) {
        if (used[a])
            continue;
        used[a] = true;
        ocr_word box = p->drop[a];
        int lh = box.y1 - box.y0 + 1;
        if (lh < 6 || lh > h / 3)
            continue;
        for (bool grew = true; grew;) {
            grew = false;
            for (int b = 0; b < p->n_drop; b++) {
                const ocr_word *e = &p->drop[b];
                if (used[b])
                    continue;
                int ov = (e->y1 < box.y1 ? e->y1 : box.y1) - (e->y0 > box.y0 ? e->y0 : box.y0);
                int eh = e->y1 - e->y0 + 1;
                int gap = e->x0 > box.x1 ? e->x0 - box.x1 : box.x0 > e->x1 ? box.x0 - e->x1 : 0;
                if (ov * 2 < (eh < lh ? eh : lh) || gap > 2 * lh || eh > 2 * lh)
                    continue;
                used[b] = true;
                grew = true;
                if (e->x0 < box.x0) box.x0 = e->x0;
                if (e->y0 < box.y0) box.y0 = e->y0;
                if (e->x1 > box.x1) box.x1 = e->x1;
                if (e->y1 > box.y1) box.y1 = e->y1;
            }
        }
        budget--;
        ls->rereads++;
        float qm = 0;
        st = reread_box(P, api, g, w, h, box.x0, box.y0, box.x1, box.y1, &q, &qm, err);
        if (st != ODX_OK)
            goto done;
        int n_before = out.n;
        for (int k = 0; k < q.n; k++) {
            bool clash = false;
            for (int c = 0; c < n_before && !clash; c++)
                clash = boxes_overlap(&q.w[k], &out.w[c]);
            if (clash)
                continue;
            q.w[k].line_start = out.n == n_before;
            q.w[k].para_start = q.w[k].line_start;
            st = pass_push(&out, &q.w[k], err);
            if (st != ODX_OK)
                goto done;
            q.w[k].text = NULL;
        }
        if (out.n > n_before)
            ls->added++;
        pass_free(&q);
    }
    /* Dark bands across the page with nothing read in them: light
     * lettering on a coloured header row or banner that the page's global
     * threshold turned into one dark block. */
    if (budget > 0) {
        dark_rows = malloc((size_t)h);
        if (!dark_rows) {
            st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR");
            goto done;
        }
        for (int y = 0; y < h; y++) {
            int n = 0;
            for (int x = 0; x < w; x += 2)
                n += g[(size_t)y * w + x] < 110;
            dark_rows[y] = n * 10 >= ((w + 1) / 2) * 6;
        }
        for (int y = 0; y < h && budget > 0;) {
            if (!dark_rows[y]) {
                y++;
                continue;
            }
            int ya = y;
            while (y < h && dark_rows[y])
                y++;
            int yb = y - 1, bh = yb - ya + 1;
            if (bh < 12 || bh > h * 3 / 4)
                continue;
            bool read = false;
            for (int k = 0; k < out.n && !read; k++) {
                int cy = (out.w[k].y0 + out.w[k].y1) / 2;
                read = cy >= ya && cy <= yb;
            }
            if (read)
                continue;
            budget--;
            ls->rereads++;
            float qm = 0;
            /* the band's lettering is about half its height */
            st = reread_area(P, api, g, w, h, 0, ya, w - 1, yb, 0, bh / 2, PSM_SPARSE_TEXT, &q,
                             &qm, err);
            if (st != ODX_OK)
                goto done;
            int n_before = out.n;
            for (int k = 0; k < q.n; k++) {
                q.w[k].line_start = out.n == n_before ||
                                    q.w[k].x0 <= out.w[out.n - 1].x0;
                q.w[k].para_start = out.n == n_before;
                st = pass_push(&out, &q.w[k], err);
                if (st != ODX_OK)
                    goto done;
                q.w[k].text = NULL;
            }
            if (out.n > n_before)
                ls->added++;
            pass_free(&q);
        }
    }
    out.n_raw = p->n_raw;
    out.n_kept = out.n;
    out.mean_conf = p->mean_conf;
    pass_free(p);
    *p = out;
    memset(&out, 0, sizeof out);
done:
    pass_free(&q);
    pass_free(&out);
    free(used);
    free(dark_rows);
    return st;
}

/* A lone Han character at the start or end of an otherwise Latin line is
 * most often an icon, bullet or window decoration read by chi_sim ("国
 * Documents", "Package Manager 了"). Dropped unless read confidently
 * (cap_ocr_params.stray_conf, 90). */

static bool single_cjk(const char *t)
{
    int32_t cp = 0;
    size_t n = strlen(t);
    int k = n ? core_utf8_next(t, n, &cp) : 0;
    return k > 0 && (size_t)k == n && core_is_cjk(cp);
}

static void drop_stray_cjk(const cap_ocr_params *P, ocr_pass *p)
{
    bool *drop = calloc((size_t)(p->n > 0 ? p->n : 1), sizeof *drop);
    if (!drop)
        return;
    for (int i = 0, j; i < p->n; i = j) {
        j = line_end(p, i);
        int cjk_words = 0, latin_words = 0;
        for (int k = i; k < j; k++) {
            cap_char_kinds cs = {0};
            cap_count_chars(p->w[k].text, &cs);
            cjk_words += cs.cjk > 0;
            latin_words += cs.latin >= 2;
        }
        if (j - i >= 2 && cjk_words == 1 && latin_words >= 1) {
            if (single_cjk(p->w[i].text) && p->w[i].conf < P->stray_conf)
                drop[i] = true;
            else if (single_cjk(p->w[j - 1].text) && p->w[j - 1].conf < P->stray_conf)
                drop[j - 1] = true;
        }
    }
    pass_drop(p, drop);
    free(drop);
}

/* chi_sim reads marks in Latin-script images as lone Han characters: two
 * legend dashes become 二, a marker 人, a tick 十. In a picture whose text
 * is Latin with at most OCR_LONE_HAN Han characters in all, those are
 * dropped; real Chinese comes in words and lines of it. */
#define OCR_LONE_HAN 3

static void drop_lonely_han(ocr_pass *p)
{
    int han = 0, latin = 0;
    for (int i = 0; i < p->n; i++) {
        cap_char_kinds cs = {0};
        cap_count_chars(p->w[i].text, &cs);
        han += cs.cjk;
        latin += cs.latin;
    }
    if (han == 0 || han > OCR_LONE_HAN || latin < 5 * OCR_LONE_HAN)
        return;
    bool *drop = calloc((size_t)p->n, sizeof *drop);
    if (!drop)
        return;
    for (int i = 0; i < p->n; i++) {
        cap_char_kinds cs = {0};
        cap_count_chars(p->w[i].text, &cs);
        drop[i] = cs.cjk > 0 && cs.latin == 0 && cs.digit == 0;
    }
    pass_drop(p, drop);
    free(drop);
}

static void drop_small_marks(ocr_pass *p);

/* For tests: the word filters of a sparse pass on a word list: keep_word
 * (strict), settle_weak, then drop_stray_cjk, drop_lonely_han and, for a
 * small image, drop_small_marks, with cap_ocr_params_default(). A word
 * under the confidence bar is weak when Han-only, as in run_pass.
 * Returns the kept words joined by ' ', lines by " | "; malloc'd. */
ODX_STATIC char *cap_ocr_filter_words(const char *const *words, const float *conf,
                                      const bool *line_start, int n, bool small_image)
{
    const cap_ocr_params dflt = cap_ocr_params_default(), *P = &dflt;
    ocr_pass p = {0};
    p.w = calloc((size_t)(n > 0 ? n : 1), sizeof *p.w);
    if (!p.w)
        return NULL;
    bool pending = true;
    for (int i = 0; i < n; i++) {
        ocr_word *w = &p.w[p.n];
        pending |= line_start[i];
        bool weak = false;
        if (!judge_word(P, words[i], conf[i], pending, true, &weak))
            continue;
        w->text = core_strdup(words[i]);
        w->conf = conf[i];
        w->line_start = pending;
        w->weak = weak;
        pending = false;
        p.n++;
    }
    settle_weak(&p);
    p.n_kept = p.n;
    drop_stray_cjk(P, &p);
    drop_lonely_han(&p);
    if (small_image)
        drop_small_marks(&p);
    core_buf b = {.max = 1 << 20};
    for (int i = 0; i < p.n; i++)
        core_buf_printf(&b, "%s%s", i == 0 ? "" : p.w[i].line_start ? " | " : " ", p.w[i].text);
    pass_free(&p);
    char *out = b.data ? b.data : core_strdup("");
    return out;
}

/* On a small image (an icon, a thumbnail) a line of one or two marks is
 * almost always a shape read as text ("Cz", "(2", "区"): lines with fewer
 * than three letters or digits and fewer than two Han characters, or read
 * unsurely on the whole, are dropped. Words on signs and logos are longer. */
#define OCR_SMALL_LINE_CONF 70.0f

static void drop_small_marks(ocr_pass *p)
{
    bool *drop = calloc((size_t)(p->n > 0 ? p->n : 1), sizeof *drop);
    if (!drop)
        return;
    for (int i = 0, j; i < p->n; i = j) {
        j = line_end(p, i);
        int alnum = 0, han = 0;
        double conf = 0;
        for (int k = i; k < j; k++) {
            cap_char_kinds cs = {0};
            cap_count_chars(p->w[k].text, &cs);
            alnum += cs.latin + cs.digit;
            han += cs.cjk;
            conf += p->w[k].conf;
        }
        bool keep = (alnum >= 3 || han >= 2) && conf / (j - i) >= OCR_SMALL_LINE_CONF;
        for (int k = i; k < j; k++)
            drop[k] = !keep;
    }
    pass_drop(p, drop);
    free(drop);
}

/* The row of a small image holding the most glyph-like connected
 * components of ink (darker, or on a dark image lighter, than the most
 * common gray) of one height: the word on a sign or a logo. Components
 * touching the image's edge (a plate's background, a frame) and ones
 * taller than half the image (the sign's shape) are not glyphs. Returns
 * the number of glyphs in the row (0: none) and its box. */
typedef struct glyph_box { int x0, y0, x1, y1; } glyph_box;
#define GLYPH_ROW_MAXC 512

/* glyph_row's collector: glyph-like components not touching the edge */
typedef struct gr_ctx {
    int w, h, n;
    glyph_box *c;
} gr_ctx;

static bool gr_add(void *ctx, const ink_cc *k)
{
    gr_ctx *r = ctx;
    int cw = k->x1 - k->x0 + 1, ch = k->y1 - k->y0 + 1;
    bool edge = k->x0 == 0 || k->y0 == 0 || k->x1 == r->w - 1 || k->y1 == r->h - 1;
    if (!edge && ch >= 6 && ch <= r->h / 2 && cw <= 2 * ch &&
        k->area * 20 >= (int64_t)cw * ch && k->area * 20 < (int64_t)cw * ch * 19)
        r->c[r->n++] = (glyph_box){k->x0, k->y0, k->x1, k->y1};
    return r->n < GLYPH_ROW_MAXC;
}

static int glyph_row(const uint8_t *g, int w, int h, glyph_box *row)
{
    uint32_t hist[256] = {0};
    for (size_t i = 0; i < (size_t)w * h; i++)
        hist[g[i]]++;
    int bg = 0;
    for (int i = 1; i < 256; i++)
        if (hist[i] > hist[bg])
            bg = i;
    bool ink_dark = bg >= 128;
    /* The ink level: the 2% of pixels farthest from the background. The
     * cut lies nearer the ink than the paper so that the blurred gap
     * between a small glyph and the plate's edge stays paper. */
    size_t want = (size_t)w * h / 50, acc = 0;
    int ink = ink_dark ? 0 : 255;
    for (int i = 0; i < 256; i++) {
        int v = ink_dark ? i : 255 - i;
        acc += hist[v];
        if (acc >= want) {
            ink = v;
            break;
        }
    }
    if (abs(bg - ink) < 80)
        return 0;
    int thr = ink + (bg - ink) * 45 / 100;
    uint8_t *m = malloc((size_t)w * h);
    int32_t *stack = malloc(sizeof(int32_t) * (size_t)w * h);
    glyph_box *c = malloc(sizeof *c * GLYPH_ROW_MAXC);
    int n = 0, best_n = 0;
    if (!m || !stack || !c)
        goto done;
    for (size_t i = 0; i < (size_t)w * h; i++)
        m[i] = ink_dark ? g[i] <= thr : g[i] >= thr;
    gr_ctx rc = {w, h, 0, c};
    ink_components(m, w, h, stack, gr_add, &rc);
    n = rc.n;
    /* the row: components whose vertical centres lie within half a height
     * of this one's and whose heights are alike */
    for (int i = 0; i < n; i++) {
        int hi = c[i].y1 - c[i].y0 + 1, ci = c[i].y0 + c[i].y1;
        int k = 0;
        glyph_box u = c[i];
        for (int j = 0; j < n; j++) {
            int hj = c[j].y1 - c[j].y0 + 1, cj = c[j].y0 + c[j].y1;
            if (abs(ci - cj) > hi || 3 * hj < 2 * hi || 2 * hj > 3 * hi)
                continue;
            k++;
            if (c[j].x0 < u.x0) u.x0 = c[j].x0;
            if (c[j].y0 < u.y0) u.y0 = c[j].y0;
            if (c[j].x1 > u.x1) u.x1 = c[j].x1;
            if (c[j].y1 > u.y1) u.y1 = c[j].y1;
        }
        if (k > best_n) {
            best_n = k;
            *row = u;
        }
    }
done:
    free(m);
    free(stack);
    free(c);
    return best_n;
}

/* A sign or a logo: the page layout analysis takes the word inside a
 * plate or a frame for a picture and returns nothing. On a small image
 * looking again costs milliseconds: the row of glyph-like marks (see
 * glyph_row) is cut out, set on a margin of its own background (the
 * plate's edge next to the word reads as a bracket otherwise) and read
 * as one line. (Reading the whole image as one word, or horizontal bands
 * as lines, was tried: the sign's outline and pictograms came back as
 * confident junk.) p is the empty first pass; words land there. */
static odx_status read_small(const cap_ocr_params *P, TessBaseAPI *api, const uint8_t *g, int w,
                             int h, float penalty, ocr_pass *p, odx_err *err)
{
    glyph_box b;
    if (glyph_row(g, w, h, &b) < 2)
        return ODX_OK;
    int x0 = b.x0 > 0 ? b.x0 - 1 : 0, y0 = b.y0 > 0 ? b.y0 - 1 : 0;
    int x1 = b.x1 + 1 < w ? b.x1 + 1 : w - 1, y1 = b.y1 + 1 < h ? b.y1 + 1 : h - 1;
    int cw = x1 - x0 + 1, ch = y1 - y0 + 1, m = ch / 2 + 4;
    int pw = cw + 2 * m, ph = ch + 2 * m;
    int bg = box_background(g, w, x0, y0, x1, y1);
    bool invert = bg < 110;
    uint8_t *pad = malloc((size_t)pw * ph);
    if (!pad)
        return core_err(err, ODX_ERR_NOMEM, "no memory for OCR");
    memset(pad, invert ? 255 - bg : bg, (size_t)pw * ph);
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++) {
            uint8_t v = g[(size_t)(y0 + y) * w + x0 + x];
            pad[(size_t)(m + y) * pw + m + x] = invert ? (uint8_t)(255 - v) : v;
        }
    ocr_pass q = {0};
    odx_status st = run_pass(P, api, pad, pw, ph, PSM_SINGLE_LINE, penalty, &q, err);
    free(pad);
    double sum = 0;
    for (int i = 0; st == ODX_OK && i < q.n; i++) {
        ocr_word *o = &q.w[i];
        sum += o->conf;
        o->x0 += x0 - m;
        o->x1 += x0 - m;
        o->y0 += y0 - m;
        o->y1 += y0 - m;
        o->line_start = i == 0;
        o->para_start = i == 0;
    }
    if (st == ODX_OK && q.n > 0 && sum / q.n - penalty >= OCR_ROW_CONF) {
        pass_free(p);
        *p = q;
        return ODX_OK;
    }
    pass_free(&q);
    return st;
}

/* Chinese read by the eng model comes out as short low-confidence words
 * of Latin junk: many words dropped, low mean confidence. */
static bool looks_unread(const ocr_pass *p)
{
    if (p->n_raw == 0)
        return false; /* nothing there at all */
    if (p->n_kept == 0)
        return true;
    float kept = (float)p->n_kept / (float)p->n_raw;
    return p->mean_conf < 72.0f || kept < 0.7f;
}

/* -------------------------------------------------------- assembling ---- */

static void free_lines(cap_desc *d)
{
    for (int i = 0; i < d->n_lines; i++)
        free(d->lines[i].text);
    free(d->lines);
    d->lines = NULL;
    d->n_lines = 0;
    free(d->text);
    d->text = NULL;
    d->text_boxes = false;
}

/* Appends word text to b, with a space only where the script wants one. */
static void join_word(core_buf *b, const char *prev, const char *t, bool tight)
{
    int32_t a = prev ? last_cp(prev) : 0, c = first_cp(t);
    bool digits = a >= '0' && a <= '9' && c >= '0' && c <= '9';
    if (prev && !(is_cjkish(a) && is_cjkish(c)) && !(digits && tight))
        core_buf_puts(b, " ");
    core_buf_puts(b, t);
}

static void set_text_lang(cap_desc *d, const cap_char_kinds *cs)
{
    /* A Han character says about as much as a short Latin word: weigh it
     * like three letters when deciding the language. */
    double zh = 3.0 * cs->cjk, en = cs->latin;
    const char *lang = "";
    if (zh + en > 0) {
        double share = zh / (zh + en);
        lang = share >= 0.85 ? "zh" : share <= 0.1 ? "en" : "mixed";
    }
    snprintf(d->text_lang, sizeof d->text_lang, "%s", lang);
}

/* Builds d->lines and d->text from the kept words. A Tesseract line is cut
 * into segments at gaps wider than about a line height: table cells and
 * chart labels that share a baseline stay separate, and structure.c sees
 * each with its own box. */
static odx_status assemble(const ocr_pass *p, float scale, cap_desc *d,
                           odx_err *err)
{
    odx_status st = ODX_OK;
    core_buf text, seg;
    core_buf_init(&text, OCR_TEXT_MAX);
    core_buf_init(&seg, 8192);
    int cap = 0;
    double conf_sum = 0;
    int n_conf = 0;
    cap_char_kinds cs = {0};
    int i = 0;
    while (i < p->n && d->n_lines < OCR_MAX_LINES) {
        /* one segment: words i..j-1 */
        const ocr_word *w0 = &p->w[i];
        int x0 = w0->x0, y0 = w0->y0, x1 = w0->x1, y1 = w0->y1;
        double sconf = w0->conf;
        core_buf_puts(&seg, w0->text);
        int j = i + 1;
        for (; j < p->n; j++) {
            const ocr_word *w = &p->w[j];
            if (w->line_start)
                break;
            int lh = y1 - y0 + 1;
            int gap = w->x0 - x1;
            /* chi_sim word boxes overlap their neighbours: only a word that
             * ends before the segment starts goes back */
            if (gap > lh + lh / 4 || w->x1 <= x0)
                break;
            /* "195 0": a tick label split at a kerning gap */
            join_word(&seg, p->w[j - 1].text, w->text, gap * 5 < lh);
            if (w->x0 < x0) x0 = w->x0;
            if (w->y0 < y0) y0 = w->y0;
            if (w->x1 > x1) x1 = w->x1;
            if (w->y1 > y1) y1 = w->y1;
            sconf += w->conf;
        }
        if (d->n_lines == cap) {
            int nc = cap ? cap * 2 : 64;
            cap_text_line *nl = realloc(d->lines, sizeof *nl * (size_t)nc);
            if (!nl) {
                st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR lines");
                goto done;
            }
            d->lines = nl;
            cap = nc;
        }
        cap_text_line *L = &d->lines[d->n_lines];
        L->text = core_buf_steal(&seg);
        core_buf_init(&seg, 8192);
        if (!L->text) {
            st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR lines");
            goto done;
        }
        d->n_lines++;
        L->conf = (float)(sconf / (j - i));
        L->x = (int)floorf(x0 / scale);
        L->y = (int)floorf(y0 / scale);
        L->w = (int)ceilf((x1 - x0 + 1) / scale);
        L->h = (int)ceilf((y1 - y0 + 1) / scale);
        conf_sum += sconf;
        n_conf += j - i;
        cap_count_chars(L->text, &cs);

        if (text.len) {
            if (w0->para_start)
                core_buf_puts(&text, "\n\n");
            else if (w0->line_start)
                core_buf_puts(&text, "\n");
            else
                core_buf_puts(&text, "  ");
        }
        core_buf_puts(&text, L->text);
        i = j;
    }
    d->text = core_buf_steal(&text);
    if (!d->text) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR text");
        goto done;
    }
    d->text_conf = n_conf ? (float)(conf_sum / n_conf) : 0;
    set_text_lang(d, &cs);
done:
    core_buf_free(&seg);
    core_buf_free(&text);
    return st;
}

/* Tesseract's layout analysis reads a borderless table column by column;
 * a reader (and a search for "China 中国") wants it row by row. Rebuilds
 * d->text from the segments grouped into rows by their vertical centres. */
static int cmp_cy(const void *a, const void *b)
{
    const cap_text_line *p = *(const cap_text_line *const *)a;
    const cap_text_line *q = *(const cap_text_line *const *)b;
    int d = (2 * p->y + p->h) - (2 * q->y + q->h);
    return d ? d : p->x - q->x;
}

static void text_by_rows(cap_desc *d)
{
    if (d->n_lines < 2)
        return;
    const cap_text_line **v = malloc(sizeof *v * (size_t)d->n_lines);
    if (!v)
        return;
    for (int i = 0; i < d->n_lines; i++)
        v[i] = &d->lines[i];
    qsort(v, (size_t)d->n_lines, sizeof *v, cmp_cy);
    core_buf b;
    core_buf_init(&b, OCR_TEXT_MAX);
    int i = 0;
    while (i < d->n_lines) {
        int j = i + 1, cy = 2 * v[i]->y + v[i]->h;
        while (j < d->n_lines && (2 * v[j]->y + v[j]->h) - cy <= v[i]->h)
            j++;
        /* one row: i..j-1, left to right */
        for (int a = i + 1; a < j; a++)
            for (int k = a; k > i && v[k]->x < v[k - 1]->x; k--) {
                const cap_text_line *t = v[k];
                v[k] = v[k - 1];
                v[k - 1] = t;
            }
        for (int k = i; k < j; k++) {
            if (b.len)
                core_buf_puts(&b, k == i ? "\n" : "  ");
            core_buf_puts(&b, v[k]->text);
        }
        i = j;
    }
    free(v);
    char *t = core_buf_steal(&b);
    if (t) {
        free(d->text);
        d->text = t;
    }
}

/* ---------------------------------------------------- rotated labels ---- */

/* matplotlib-style y axis titles are rotated 90 degrees counter-clockwise
 * and Tesseract skips them. Reads the left strip of a chart turned
 * upright and adds what it finds as one line whose box is the tall strip
 * region it came from (structure.c recognises it by h > w). */
static void read_rotated_left(const cap_ocr_params *P, TessBaseAPI *api, const uint8_t *g, int w,
                              int h, float scale, cap_desc *d)
{
    int sw = w / 8;
    if (sw < 16 || h < 64 || d->n_lines >= OCR_MAX_LINES)
        return;
    /* rotate the strip clockwise: new width = h, new height = sw */
    int rw = h, rh = sw;
    uint8_t *r = malloc((size_t)rw * rh);
    if (!r)
        return;
    for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++)
            r[(size_t)y * rw + x] = g[(size_t)(h - 1 - x) * w + y];
    /* A clockwise turn makes bottom-to-top text upright:
     * new(x, y) = old(y, h-1-x). */
    ocr_pass p;
    odx_err e = {0};
    if (run_pass(P, api, r, rw, rh, PSM_SPARSE_TEXT, 0, &p, &e) == ODX_OK) {
        core_buf b;
        core_buf_init(&b, 1024);
        int ymin = h, ymax = 0, xmin = sw, xmax = 0;
        double csum = 0;
        /* the axis title is one line of letters or Han: anchor on the
         * longest confident word, keep words on its line; rotated tick
         * numbers come out as junk elsewhere in the strip */
        int anchor = -1;
        float best = 0;
        for (int i = 0; i < p.n; i++) {
            cap_char_kinds cs = {0};
            cap_count_chars(p.w[i].text, &cs);
            float sc = (float)(cs.latin + 2 * cs.cjk) * p.w[i].conf;
            if (cs.latin + cs.cjk >= 2 && sc > best) {
                best = sc;
                anchor = i;
            }
        }
        int acy = anchor >= 0 ? (p.w[anchor].y0 + p.w[anchor].y1) / 2 : 0;
        int ah = anchor >= 0 ? p.w[anchor].y1 - p.w[anchor].y0 : 0;
        for (int i = 0; anchor >= 0 && i < p.n; i++) {
            const ocr_word *ow = &p.w[i];
            cap_char_kinds cs = {0};
            cap_count_chars(ow->text, &cs);
            int cy = (ow->y0 + ow->y1) / 2;
            if (cs.latin + cs.cjk == 0 || abs(cy - acy) > ah * 6 / 10 || ow->conf < 70)
                continue;
            join_word(&b, b.len ? b.data : NULL, ow->text, false);
            csum += ow->conf;
            /* map back: rotated (x, y) -> original (y, h-1-x) */
            int oy0 = h - 1 - ow->x1, oy1 = h - 1 - ow->x0;
            int ox0 = ow->y0, ox1 = ow->y1;
            if (oy0 < ymin) ymin = oy0;
            if (oy1 > ymax) ymax = oy1;
            if (ox0 < xmin) xmin = ox0;
            if (ox1 > xmax) xmax = ox1;
        }
        cap_char_kinds cs = {0};
        if (b.len)
            cap_count_chars(b.data, &cs);
        if (cs.latin + cs.cjk >= 3) {
            cap_text_line *nl = realloc(d->lines, sizeof *nl * (size_t)(d->n_lines + 1));
            if (nl) {
                d->lines = nl;
                cap_text_line *L = &d->lines[d->n_lines];
                L->text = core_buf_steal(&b);
                if (L->text) {
                    L->conf = (float)(csum / (p.n ? p.n : 1));
                    L->x = (int)(xmin / scale);
                    L->y = (int)(ymin / scale);
                    L->w = (int)((xmax - xmin + 1) / scale);
                    L->h = (int)((ymax - ymin + 1) / scale);
                    if (L->h <= L->w)
                        L->h = L->w + 1; /* keep the "rotated" mark */
                    d->n_lines++;
                    if (d->text && strlen(d->text) + strlen(L->text) + 2 < OCR_TEXT_MAX) {
                        char *nt = core_sprintf("%s\n\n%s", d->text, L->text);
                        if (nt) {
                            free(d->text);
                            d->text = nt;
                        }
                    }
                }
            }
        }
        core_buf_free(&b);
        pass_free(&p);
    }
    free(r);
}

/* ------------------------------------------------------------ PP-OCR ---- */

/* Reads with PP-OCR: one d->lines entry per detected box (reading order),
 * d->text with boxes of one row joined by two spaces and rows by newlines. */
static odx_status run_ppocr(cap_ocr *o, const cap_image *full, cap_desc *d, odx_err *err)
{
    odx_status st = ODX_OK;
    if (!o->pps && (st = cap_ppocr_state_new(o->pp, &o->pps, err)) != ODX_OK) return st;
    cap_ppocr_line *pl = NULL;
    int n = 0;
    cap_ppocr_params pp = o->prm.ppocr;
    if (d->domain == CAP_DIAGRAM && o->prm.diagram_up > pp.det_up) pp.det_up = o->prm.diagram_up;
    if ((st = cap_ppocr_read(o->pps, full, &pp, &pl, &n, err)) != ODX_OK) return st;
    free_lines(d);
    core_buf text;
    core_buf_init(&text, OCR_TEXT_MAX);
    cap_char_kinds cs = {0};
    double conf = 0;
    if (n > OCR_MAX_LINES) n = OCR_MAX_LINES;
    d->lines = calloc((size_t)n + 1, sizeof *d->lines);
    if (!d->lines) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR lines");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        cap_text_line *L = &d->lines[d->n_lines++];
        L->text = pl[i].text;
        pl[i].text = NULL;
        L->conf = pl[i].conf * 100.0f;
        L->x = pl[i].x0;
        L->y = pl[i].y0;
        L->w = pl[i].x1 - pl[i].x0 + 1;
        L->h = pl[i].y1 - pl[i].y0 + 1;
        conf += L->conf;
        cap_count_chars(L->text, &cs);
        if (text.len) core_buf_puts(&text, pl[i].row != pl[i - 1].row ? "\n" : "  ");
        core_buf_puts(&text, L->text);
    }
    core_buf_puts(&text, "");
    d->text = core_buf_steal(&text);
    if (!d->text) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR text");
        goto done;
    }
    d->text_conf = n ? (float)(conf / n) : 0;
    d->text_boxes = true;
    set_text_lang(d, &cs);
    o->last.scale = 1;
    o->last.passes = 1;
    o->last.det_h = cap_ppocr_state_det_h(o->pps, &o->last.det_again);
    d->ocr_ran = true;
done:
    core_buf_free(&text);
    cap_ppocr_lines_free(pl, n);
    return st;
}

/* The reader for this image (see cap_ocr_params.reader). */
static bool use_ppocr(const cap_ocr *o, const cap_desc *d)
{
    const cap_ocr_params *P = &o->prm;
    if (!o->pp || P->reader == 1) return false;
    return P->reader == 2 || (P->pp_domains & (1u << d->domain));
}

bool cap_ocr_gate(cap_ocr *o, const cap_image *thumb, const cap_desc *d, double *ms)
{
    if (ms) *ms = 0;
    bool can_look = o && o->pp && o->prm.look_side > 0 && o->prm.reader != 1;
    /* Photos: the detector's look replaces the line features' rule, which
     * sent 224 of 330 corpus photos without text to a reader (776 ms a
     * photo, junk lines on 18) and let most signs through unread. */
    if (d->domain == CAP_PHOTO && can_look)
        return cap_ocr_look(o, thumb, d, ms);
    if (cap_ocr_wanted(d))
        return true;
    return can_look && cap_ocr_look(o, thumb, d, ms);
}

bool cap_ocr_uses_ppocr(const cap_ocr *o, const cap_desc *d)
{
    return o && use_ppocr(o, d);
}

bool cap_ocr_look(cap_ocr *o, const cap_image *thumb, const cap_desc *d, double *ms)
{
    if (ms) *ms = 0;
    if (!o || !o->pp || o->prm.look_side <= 0 || o->prm.reader == 1 || !thumb || !thumb->rgb)
        return false;
    if (d->domain != CAP_PHOTO && d->domain != CAP_POSTER && d->domain != CAP_DIAGRAM)
        return false;
    odx_err err = {0};
    if (!o->pps && cap_ppocr_state_new(o->pp, &o->pps, &err) != ODX_OK) {
        core_log(CORE_LOG_WARN, "text look skipped: %s", err.msg);
        return false;
    }
    double t0 = core_now();
    cap_ppocr_box bx[64];
    int n = 0;
    if (cap_ppocr_find(o->pps, thumb, o->prm.look_side, &o->prm.ppocr, bx, 64, &n, &err) != ODX_OK) {
        core_log(CORE_LOG_WARN, "text look failed: %s", err.msg);
        n = 0;
    }
    /* the look's scale: boxes come in thumbnail pixels; heights are
     * compared at look_side */
    float k = (float)o->prm.look_side / (float)(thumb->w > thumb->h ? thumb->w : thumb->h);
    if (k > 1) k = 1;
    /* the surest box of a line's height: as tall as lettering a reader
     * can read, not a blob (a photo's false boxes are textures 64 px tall
     * and more, or weak) */
    const cap_ocr_params *P = &o->prm;
    float best_h = 0, best_score = 0;
    int n_ok = 0;
    for (int i = 0; i < n; i++) {
        const float *q = bx[i].quad;
        float w = hypotf(q[2] - q[0], q[3] - q[1]), h = hypotf(q[6] - q[0], q[7] - q[1]);
        float sh = (w < h ? w : h) * k;
        if (bx[i].score < P->look_min_score || sh < P->look_min_h || sh > P->look_max_h)
            continue;
        n_ok++;
        if (bx[i].score > best_score) best_score = bx[i].score, best_h = sh;
    }
    o->last.look_boxes = n;
    o->last.look_h = best_h;
    o->last.look_score = best_score;
    if (ms) *ms = (core_now() - t0) * 1e3;
    return n_ok > 0;
}

odx_status cap_ocr_run(cap_ocr *o, const cap_image *full, cap_desc *d,
                       odx_err *err)
{
    odx_status st = ODX_OK;
    uint8_t *gray = NULL, *scaled = NULL;
    ocr_pass p1 = {0}, p2 = {0};
    if (!o || !full || !full->rgb || full->w <= 0 || full->h <= 0)
        return core_err(err, ODX_ERR_INVALID, "OCR needs an image");
    const cap_ocr_params *P = &o->prm;
    memset(&o->last, 0, sizeof o->last);
    if (full->w < 8 || full->h < 8) {
        d->ocr_ran = true;
        free_lines(d);
        d->text = core_strdup("");
        return ODX_OK;
    }
    if (use_ppocr(o, d)) return run_ppocr(o, full, d, err);
    size_t np = (size_t)full->w * full->h;
    gray = malloc(np);
    if (!gray) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR (%dx%d)", full->w, full->h);
        goto done;
    }
    for (size_t i = 0; i < np; i++) {
        const uint8_t *px = full->rgb + 3 * i;
        gray[i] = (uint8_t)((299 * px[0] + 587 * px[1] + 114 * px[2] + 500) / 1000);
    }
    o->last.inverted = false;
    float scale = pick_scale(P, gray, full->w, full->h);
    /* Photos: text worth reading there (signs, pages) is large, and
     * upscaling a textured photo costs seconds for junk (measured: 15 s on
     * one 1600x1000 dev photo at 2.5x). */
    if (d->domain == CAP_PHOTO && scale > 1.0f && np > OCR_SMALL_PIXELS)
        scale = 1.0f;
    int w = full->w, h = full->h;
    const uint8_t *img = gray;
    if (scale != 1.0f) {
        w = (int)lroundf(full->w * scale);
        h = (int)lroundf(full->h * scale);
        if (w < 8) w = 8;
        if (h < 8) h = 8;
        scaled = resample(gray, full->w, full->h, w, h);
        if (!scaled) {
            st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR (%dx%d)", w, h);
            goto done;
        }
        img = scaled;
        scale = (float)w / (float)full->w;
    }
    /* Sparse mode reads tick values and scattered labels that the layout
     * analysis of auto mode merges or drops. */
    bool sparse = d->domain == CAP_CHART || d->domain == CAP_POSTER ||
                  d->domain == CAP_DIAGRAM || d->domain == CAP_PHOTO;
    int psm = sparse ? PSM_SPARSE_TEXT : PSM_AUTO;
    if (d->domain == CAP_TABLE)
        psm = P->table_psm;

    /* Light panels (the gray frame of classic chart styles, tinted legend
     * boxes) make Tesseract's global threshold drop whole pages: stretch
     * so that anything lighter than the knee becomes white paper. */
    if ((d->domain == CAP_CHART || d->domain == CAP_DIAGRAM) && P->knee > 0) {
        if (!scaled) {
            scaled = malloc(np);
            if (!scaled) {
                st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR");
                goto done;
            }
            memcpy(scaled, gray, np);
            img = scaled;
        }
        int knee = P->knee;
        for (size_t i = 0; i < (size_t)w * h; i++)
            scaled[i] = scaled[i] >= knee ? 255 : (uint8_t)(scaled[i] * 255 / knee);
    }
    /* Light lettering on a dark page (signs, posters, dark UI themes):
     * Tesseract wants dark on light. */
    if (P->invert_dark && box_background(img, w, 0, 0, w - 1, h - 1) < 110) {
        if (!scaled) {
            scaled = malloc(np);
            if (!scaled) {
                st = core_err(err, ODX_ERR_NOMEM, "no memory for OCR");
                goto done;
            }
            memcpy(scaled, gray, np);
            img = scaled;
        }
        for (size_t i = 0; i < (size_t)w * h; i++)
            scaled[i] = (uint8_t)(255 - scaled[i]);
        o->last.inverted = true;
    }
    float penalty = d->domain == CAP_PHOTO ? 20.0f : 0.0f;
    if (!o->mix) {
        if (o->mix_error[0]) {
            st = core_err(err, ODX_ERR_OCR, "%s", o->mix_error);
            goto done;
        }
        if ((st = api_new("eng+chi_sim", &o->mix, err)) != ODX_OK) {
            snprintf(o->mix_error, sizeof o->mix_error, "%s", err->msg);
            goto done;
        }
    }
    TessBaseAPI *used = o->mix;
    if (P->mode != 1 && !o->eng) {
        st = api_new("eng", &o->eng, err);
        if (st != ODX_OK)
            goto done;
    }
    if (P->mode == 1) {
        st = run_pass(P, o->mix, img, w, h, psm, penalty, &p1, err);
    } else {
        st = run_pass(P, o->eng, img, w, h, psm, penalty, &p1, err);
        used = o->eng;
        if (st == ODX_OK && P->mode == 0 && looks_unread(&p1)) {
            st = run_pass(P, o->mix, img, w, h, psm, penalty, &p2, err);
            if (st == ODX_OK && p2.n_kept > 0) {
                pass_free(&p1);
                p1 = p2;
                memset(&p2, 0, sizeof p2);
                used = o->mix;
            }
        }
    }
    if (st == ODX_OK && psm != PSM_SPARSE_TEXT &&
        (P->sparse_domains & (1u << d->domain))) {
        pass_free(&p2);
        st = run_pass(P, used, img, w, h, PSM_SPARSE_TEXT, 0, &p2, err);
        if (st == ODX_OK)
            st = merge_missing(&p1, &p2, err);
    }
    if (st == ODX_OK && p1.n_kept == 0 && np <= OCR_SMALL_PIXELS)
        st = read_small(P, used, img, w, h, penalty, &p1, err);
    if (st == ODX_OK)
        st = reread(P, used, img, w, h, &p1, &o->last, err);
    if (st != ODX_OK)
        goto done;
    drop_stray_cjk(P, &p1);
    drop_lonely_han(&p1);
    if (np <= OCR_SMALL_PIXELS)
        drop_small_marks(&p1);
    o->last.scale = scale;
    o->last.passes = p2.n_raw || used == o->mix ? 2 : 1;
    free_lines(d);
    st = assemble(&p1, scale, d, err);
    if (st != ODX_OK)
        goto done;
    if (d->domain == CAP_TABLE)
        text_by_rows(d);
    if (d->domain == CAP_CHART)
        read_rotated_left(P, used, img, w, h, scale, d);
    d->ocr_ran = true;
done:
    pass_free(&p1);
    pass_free(&p2);
    free(gray);
    free(scaled);
    return st;
}

const cap_ocr_stats *cap_ocr_last_stats(const cap_ocr *o) { return &o->last; }

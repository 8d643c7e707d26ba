/* captioner.c - the captioner's engine/worker lifecycle and the order of
 * work for one image: decode -> thumbnail -> features -> classify -> OCR
 * (gated) -> classify again -> objects (gated) -> structure -> captions. */
#include "captioner_int.h"
#include "ppocr.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cap_engine {
    cap_config cfg;
    char *models_dir;
    cap_detector *det;
    cap_ppocr *ppocr; /* PP-OCR models, NULL when missing (Tesseract only) */
    cap_ocr_params ocr_prm; /* every worker's OCR tuning (defaults + OMNIDEX_OCR) */
    cap_dom_model dom;      /* the domain model that decides (OMNIDEX_DOMAIN) */
};

struct cap_worker {
    cap_engine *e;
    cap_ocr *ocr;          /* created on first use (0.2 s, ~100 MB) */
    bool ocr_failed;       /* do not retry a failed OCR init per image */
    cap_det_state *det;
};

cap_config cap_config_default(void)
{
    cap_config c;
    memset(&c, 0, sizeof c);
    c.limits.max_pixels = 100LL * 1000 * 1000;
    c.limits.max_file_bytes = 256LL << 20;
    c.det_threshold = 0.3f;
    c.ocr = true;
    c.detect = true;
    return c;
}

odx_status cap_engine_new(const cap_config *cfg, cap_engine **out, odx_err *err)
{
    cap_engine *e = calloc(1, sizeof *e);
    if (!e)
        return core_err(err, ODX_ERR_NOMEM, "no memory for the caption engine");
    e->cfg = cfg ? *cfg : cap_config_default();
    /* the environment is read here, once per engine, never by the stages */
    e->ocr_prm = cap_ocr_params_default();
    cap_ocr_params_env(&e->ocr_prm);
    e->dom = cap_dom_model_env();
    e->models_dir = core_strdup(e->cfg.models_dir);
    e->cfg.models_dir = e->models_dir;
    if (e->cfg.detect) {
        odx_err derr = {0};
        odx_status st = cap_detector_load(e->models_dir, &e->det, &derr);
        if (st == ODX_ERR_NOT_FOUND) {
            /* Said once per process: the indexer makes one engine per run. */
            static atomic_flag said = ATOMIC_FLAG_INIT;
            if (!atomic_flag_test_and_set(&said))
                core_log(CORE_LOG_WARN,
                         "object detector disabled: %s (captions will not name objects)",
                         derr.msg);
        } else if (st != ODX_OK) {
            core_log(CORE_LOG_WARN, "object detector disabled: %s", derr.msg);
        }
    }
    if (e->cfg.ocr) {
        odx_err perr = {0};
        const char *dir = e->models_dir && *e->models_dir ? e->models_dir : getenv("OMNIDEX_MODELS");
        odx_status pst = dir && *dir ? cap_ppocr_load(dir, &e->ppocr, &perr)
                                     : core_err(&perr, ODX_ERR_NOT_FOUND,
                                                "no models folder (set OMNIDEX_MODELS)");
        if (pst != ODX_OK) {
            static atomic_flag said_pp = ATOMIC_FLAG_INIT;
            if (!atomic_flag_test_and_set(&said_pp))
                core_log(CORE_LOG_WARN, "PP-OCR text reader disabled (Tesseract reads all): %s",
                         perr.msg);
        }
    }
    *out = e;
    return ODX_OK;
}

void cap_engine_free(cap_engine *e)
{
    if (!e)
        return;
    cap_ppocr_free(e->ppocr);
    cap_detector_free(e->det);
    free(e->models_dir);
    free(e);
}

bool cap_engine_has_detector(const cap_engine *e) { return e && e->det; }

odx_status cap_worker_new(cap_engine *e, cap_worker **out, odx_err *err)
{
    cap_worker *w = calloc(1, sizeof *w);
    if (!w)
        return core_err(err, ODX_ERR_NOMEM, "no memory for a caption worker");
    w->e = e;
    if (e->det) {
        odx_status st = cap_det_state_new(e->det, &w->det, err);
        if (st != ODX_OK) {
            free(w);
            return st;
        }
    }
    *out = w;
    return ODX_OK;
}

void cap_worker_free(cap_worker *w)
{
    if (!w)
        return;
    cap_ocr_free(w->ocr);
    cap_det_state_free(w->det);
    free(w);
}

/* Mean grey of nx x ny cells of the rectangle [x0,x1) x [y0,y1) of im,
 * row by row into cell. */
static void grey_cells(const cap_image *im, int rx0, int ry0, int rx1, int ry1, int nx, int ny,
                       double *cell)
{
    int rw = rx1 - rx0, rh = ry1 - ry0;
    for (int cy = 0; cy < ny; cy++) {
        int y0 = ry0 + cy * rh / ny, y1 = ry0 + (cy + 1) * rh / ny;
        if (y1 <= y0)
            y1 = y0 + 1;
        for (int cx = 0; cx < nx; cx++) {
            int x0 = rx0 + cx * rw / nx, x1 = rx0 + (cx + 1) * rw / nx;
            if (x1 <= x0)
                x1 = x0 + 1;
            double sum = 0;
            long n = 0;
            for (int y = y0; y < y1 && y < ry1; y++) {
                const uint8_t *row = im->rgb + (size_t)y * (size_t)im->w * 3;
                for (int x = x0; x < x1 && x < rx1; x++, n++)
                    sum += 0.299 * row[3 * x] + 0.587 * row[3 * x + 1] + 0.114 * row[3 * x + 2];
            }
            cell[cy * nx + cx] = n ? sum / (double)n : 0;
        }
    }
}

/* Difference hash of the rectangle [x0,x1) x [y0,y1) of im: mean grey of
 * 9x8 cells, one bit per horizontal neighbour pair. */
static uint64_t dhash_rect(const cap_image *im, int rx0, int ry0, int rx1, int ry1)
{
    double cell[8][9];
    grey_cells(im, rx0, ry0, rx1, ry1, 9, 8, &cell[0][0]);
    uint64_t h = 0;
    for (int cy = 0; cy < 8; cy++)
        for (int cx = 0; cx < 8; cx++)
            h = (h << 1) | (cell[cy][cx] > cell[cy][cx + 1] + 0.5);
    return h;
}

uint64_t cap_dhash(const cap_image *im)
{
    if (!im || !im->rgb || im->w <= 0 || im->h <= 0)
        return 0;
    return dhash_rect(im, 0, 0, im->w, im->h);
}

_Static_assert(CAP_N_DHASH_CROPS == CORE_N_PIC_CROPS, "crop counts differ");

bool cap_dhash_crops(const cap_image *im, uint64_t out[CAP_N_DHASH_CROPS])
{
    memset(out, 0, sizeof(uint64_t) * CAP_N_DHASH_CROPS);
    /* below 45 pixels a side a 90% crop's cells would repeat pixels */
    if (!im || !im->rgb || im->w < 45 || im->h < 45)
        return false;
    for (int k = 0; k < CAP_N_DHASH_CROPS; k++) {
        const double *c = core_pic_crops[k]; /* shared with search by example */
        out[k] = dhash_rect(im, (int)(c[0] * im->w), (int)(c[1] * im->h),
                            (int)(c[2] * im->w), (int)(c[3] * im->h));
    }
    return true;
}

bool cap_grey_grid(const cap_image *im, uint8_t out[CAP_GREY_N])
{
    memset(out, 0, CAP_GREY_N);
    if (!im || !im->rgb || im->w < CAP_GREY_SIDE || im->h < CAP_GREY_SIDE)
        return false;
    double cell[CAP_GREY_N];
    grey_cells(im, 0, 0, im->w, im->h, CAP_GREY_SIDE, CAP_GREY_SIDE, cell);
    for (int i = 0; i < CAP_GREY_N; i++)
        out[i] = (uint8_t)(cell[i] < 0 ? 0 : cell[i] > 255 ? 255 : cell[i] + 0.5);
    return true;
}

static bool is_jpeg(const uint8_t *p, size_t n)
{
    const char *f = cap_sniff(p, n);
    return f && !strcmp(f, "jpeg");
}

odx_status cap_decode_thumb(const uint8_t *data, size_t len, const char *name,
                            const cap_limits *lim, cap_desc *d, cap_image *thumb,
                            cap_image *full, odx_err *err)
{
    /* JPEG photos are decoded DCT-scaled for statistics; full resolution is
     * decoded again only if OCR wants it. The other formats have no cheap
     * scaling: decoded once at full size, kept for OCR. */
    bool jpeg = is_jpeg(data, len);
    odx_status st = cap_decode(data, len, name, lim, jpeg ? CAP_THUMB_SIDE : 0, &d->hdr,
                               jpeg ? thumb : full, err);
    if (st == ODX_OK && !jpeg)
        st = cap_image_fit(full, CAP_THUMB_SIDE, thumb, err);
    if (st != ODX_OK) {
        cap_image_free(thumb);
        cap_image_free(full);
        return st;
    }
    bool swap = d->hdr.orientation >= 5 && d->hdr.orientation <= 8;
    d->width = swap ? d->hdr.height : d->hdr.width;
    d->height = swap ? d->hdr.width : d->hdr.height;
    return ODX_OK;
}

odx_status cap_full_image(const uint8_t *data, size_t len, const char *name,
                          const cap_limits *lim, const cap_desc *d, const cap_image *thumb,
                          cap_image *full, const cap_image **use, odx_err *err)
{
    if (!full->rgb) {
        /* A JPEG whose long side is under twice the thumbnail side is not
         * DCT-reduced: its "thumbnail" already is the full image. */
        if ((int64_t)thumb->w * thumb->h == (int64_t)d->width * d->height) {
            *use = thumb;
            return ODX_OK;
        }
        cap_header hdr2;
        odx_status st = cap_decode(data, len, name, lim, 0, &hdr2, full, err);
        if (st != ODX_OK)
            return st;
    }
    *use = full;
    return ODX_OK;
}

/* The worker's OCR handle, made on first use; NULL when it cannot be. */
static cap_ocr *worker_ocr(cap_worker *w)
{
    if (!w->ocr && !w->ocr_failed) {
        odx_err oerr = {0};
        if (cap_ocr_new(&w->ocr, &w->e->ocr_prm, &oerr) != ODX_OK) {
            w->ocr_failed = true;
            core_log(CORE_LOG_WARN, "OCR disabled: %s", oerr.msg);
        } else {
            cap_ocr_set_ppocr(w->ocr, w->e->ppocr);
        }
    }
    return w->ocr;
}

static void run_ocr(cap_worker *w, const cap_image *full, cap_desc *d,
                    const char *name)
{
    if (!worker_ocr(w))
        return;
    odx_err oerr = {0};
    double t = core_now();
    if (cap_ocr_run(w->ocr, full, d, &oerr) != ODX_OK)
        core_log(CORE_LOG_WARN, "OCR failed on '%s': %s", name, oerr.msg);
    d->ms_ocr = (core_now() - t) * 1e3;
}

odx_status cap_describe(cap_worker *w, const uint8_t *data, size_t len,
                        const char *name, cap_desc **out, odx_err *err)
{
    const cap_config *cfg = &w->e->cfg;
    cap_image full = {0}, thumb = {0};
    odx_status st = ODX_OK;
    double t0 = core_now();
    cap_desc *d = calloc(1, sizeof *d);
    if (!d)
        return core_err(err, ODX_ERR_NOMEM, "no memory describing '%s'", name);
    snprintf(d->engine_version, sizeof d->engine_version, "%s", CAP_ENGINE_VERSION);

    st = cap_decode_thumb(data, len, name, &cfg->limits, d, &thumb, &full, err);
    if (st != ODX_OK)
        goto done;
    d->ms_decode = (core_now() - t0) * 1e3;

    double t1 = core_now();
    d->dhash = cap_dhash(&thumb);
    d->has_dhash_crops = cap_dhash_crops(&thumb, d->dhash_crops);
    d->has_grey = cap_grey_grid(&thumb, d->grey);
    cap_features_compute(&thumb, d);
    cap_scene_compute(&thumb, d);
    cap_classify(d, &thumb, w->e->dom);
    d->ms_features = (core_now() - t1) * 1e3;

    const cap_image *pixels = &thumb; /* what OCR reads, at full resolution */
    double look_ms = 0;
    if (cfg->ocr && worker_ocr(w) && cap_ocr_gate(w->ocr, &thumb, d, &look_ms)) {
        st = cap_full_image(data, len, name, &cfg->limits, d, &thumb, &full, &pixels, err);
        if (st != ODX_OK)
            goto done;
        run_ocr(w, pixels, d, name);
        cap_classify(d, &thumb, w->e->dom);
        cap_layout_text(d); /* columns, now the domain is known */
    }
    d->ms_ocr += look_ms;

    if (w->det && cap_detect_wanted(d)) {
        odx_err derr = {0};
        double t = core_now();
        if (cap_detect(w->det, &thumb, cfg->det_threshold, d, &derr) != ODX_OK)
            core_log(CORE_LOG_WARN, "object detection failed on '%s': %s", name, derr.msg);
        d->ms_detect = (core_now() - t) * 1e3;
    }

    cap_structure(d, pixels); /* reads nothing unless OCR ran */
    if (d->domain == CAP_DIAGRAM) cap_shapes_compute(&thumb, d);
    st = cap_compose(d, err);
    if (st != ODX_OK)
        goto done;
    d->ms_total = (core_now() - t0) * 1e3;
done:
    cap_image_free(&full);
    cap_image_free(&thumb);
    if (st != ODX_OK) {
        cap_desc_free(d);
        return st;
    }
    *out = d;
    return ODX_OK;
}

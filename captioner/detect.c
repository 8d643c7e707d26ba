/* detect.c - objects in photos: NanoDet-g-416 (COCO, 80 classes) run by the
 * TF.js graph runner (captioner/runtime/). Sits after classification in
 * cap_describe: thumbnail in, d->objects out (for captions and tags).
 * Preprocessing and decoding follow upstream NanoDet, not the npm package's
 * own JavaScript (see shared/oracle/README.md). */
#include "runtime/nanodet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct cap_detector {
    tfj_model *model;
    int out_of[6]; /* model output index of (scores, boxes) x strides 8,16,32 */
};

struct cap_det_state {
    const cap_detector *det;
    tfj_state *run;
    float *input; /* 3 x 416 x 416 */
};

static const char *const LABELS[CAP_DET_CLASSES] = {
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush"};

static const char *const LABELS_ZH[CAP_DET_CLASSES] = {
    "人", "自行车", "汽车", "摩托车", "飞机", "公共汽车", "火车", "卡车", "船",
    "红绿灯", "消防栓", "停车标志", "停车计时器", "长椅", "鸟", "猫", "狗", "马", "羊",
    "牛", "大象", "熊", "斑马", "长颈鹿", "背包", "雨伞", "手提包", "领带", "行李箱",
    "飞盘", "滑雪板", "单板滑雪板", "球", "风筝", "棒球棒", "棒球手套", "滑板",
    "冲浪板", "网球拍", "瓶子", "酒杯", "杯子", "叉子", "刀", "勺子", "碗", "香蕉",
    "苹果", "三明治", "橙子", "西兰花", "胡萝卜", "热狗", "披萨", "甜甜圈", "蛋糕",
    "椅子", "沙发", "盆栽", "床", "餐桌", "马桶", "电视", "笔记本电脑", "鼠标",
    "遥控器", "键盘", "手机", "微波炉", "烤箱", "烤面包机", "水槽", "冰箱", "书",
    "时钟", "花瓶", "剪刀", "泰迪熊", "吹风机", "牙刷"};

const char *cap_det_label(int cls)
{
    return cls >= 0 && cls < CAP_DET_CLASSES ? LABELS[cls] : "object";
}

const char *cap_det_label_zh(int cls)
{
    return cls >= 0 && cls < CAP_DET_CLASSES ? LABELS_ZH[cls] : "物体";
}

static const int STRIDES[3] = {8, 16, 32};

odx_status cap_detector_load(const char *models_dir, cap_detector **out, odx_err *err)
{
    odx_status st = ODX_OK;
    cap_detector *det = NULL;
    char *json = NULL, *bin = NULL;
    if (!models_dir || !*models_dir) models_dir = getenv("OMNIDEX_MODELS");
    if (!models_dir || !*models_dir)
        return core_err(err, ODX_ERR_NOT_FOUND,
                        "no models directory for the object detector (fetch the model "
                        "with scripts/fetch_models.sh DIR, then pass --models DIR or set "
                        "OMNIDEX_MODELS)");
    json = core_sprintf("%s/nanodet.json", models_dir);
    bin = core_sprintf("%s/nanodet.bin", models_dir);
    if (!json || !bin) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    struct stat sb;
    if (stat(json, &sb) != 0 || stat(bin, &sb) != 0) {
        st = core_err(err, ODX_ERR_NOT_FOUND,
                      "NanoDet model not found in '%s' (nanodet.json + nanodet.bin); fetch "
                      "it with scripts/fetch_models.sh '%s'",
                      models_dir, models_dir);
        goto done;
    }
    det = calloc(1, sizeof *det);
    if (!det) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    st = tfj_model_load(json, &det->model, err);
    if (st != ODX_OK) goto done;
    /* The decoder relies on this layout: refuse any other model. */
    if (tfj_model_n_inputs(det->model) != 1 || tfj_model_n_outputs(det->model) != 6) {
        st = core_err(err, ODX_ERR_MODEL, "'%s' is not NanoDet (1 input, 6 outputs expected)",
                      json);
        goto done;
    }
    for (int k = 0; k < 6; k++) det->out_of[k] = -1;
    static const char *const NAMES[6] = {"Identity",   "Identity_3", "Identity_1",
                                         "Identity_4", "Identity_2", "Identity_5"};
    for (int k = 0; k < 6; k++) {
        det->out_of[k] = tfj_model_output_index(det->model, NAMES[k]);
        if (det->out_of[k] < 0) {
            st = core_err(err, ODX_ERR_MODEL, "'%s' lacks output '%s'", json, NAMES[k]);
            goto done;
        }
    }
    *out = det;
    det = NULL;
done:
    cap_detector_free(det);
    free(json);
    free(bin);
    return st;
}

void cap_detector_free(cap_detector *det)
{
    if (!det) return;
    tfj_model_free(det->model);
    free(det);
}

odx_status cap_det_state_new(const cap_detector *det, cap_det_state **out, odx_err *err)
{
    if (!det) return core_err(err, ODX_ERR_INVALID, "no detector");
    cap_det_state *st = calloc(1, sizeof *st);
    if (!st) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    st->det = det;
    st->input = malloc(sizeof(float) * 3 * CAP_DET_SIZE * CAP_DET_SIZE);
    odx_status s = st->input ? tfj_state_new(det->model, &st->run, err)
                             : core_err(err, ODX_ERR_NOMEM, "out of memory");
    if (s != ODX_OK) {
        cap_det_state_free(st);
        return s;
    }
    *out = st;
    return ODX_OK;
}

void cap_det_state_free(cap_det_state *st)
{
    if (!st) return;
    tfj_state_free(st->run);
    free(st->input);
    free(st);
}

tfj_state *cap_det_state_runner(cap_det_state *st) { return st ? st->run : NULL; }

/* ------------------------------------------------------ preprocessing ---- */

odx_status cap_det_preprocess(const cap_image *im, float *out, cap_det_geom *g,
                              odx_err *err)
{
    static const float MEAN[3] = {103.53f, 116.28f, 123.675f}; /* B, G, R */
    static const float STD[3] = {57.375f, 57.12f, 58.395f};
    if (!im || !im->rgb || im->w < 1 || im->h < 1 || im->w > (1 << 16) || im->h > (1 << 16))
        return core_err(err, ODX_ERR_INVALID, "detector: bad image");
    const int S = CAP_DET_SIZE;
    double r = fmin((double)S / im->w, (double)S / im->h);
    int nw = (int)lround(im->w * r), nh = (int)lround(im->h * r);
    if (nw < 1) nw = 1;
    if (nh < 1) nh = 1;
    if (nw > S) nw = S;
    if (nh > S) nh = S;
    g->ratio = (float)r;
    g->nw = nw;
    g->nh = nh;
    g->ox = (S - nw) / 2;
    g->oy = (S - nh) / 2;
    g->w = im->w;
    g->h = im->h;
    /* black canvas, normalised like every other pixel */
    for (int c = 0; c < 3; c++) {
        float v = (0.0f - MEAN[c]) / STD[c];
        float *p = out + (size_t)c * S * S;
        for (int i = 0; i < S * S; i++) p[i] = v;
    }
    /* TF ResizeBilinear with both flags off: src = dst * in / out, in double */
    double ry = (double)im->h / nh, rx = (double)im->w / nw;
    for (int y = 0; y < nh; y++) {
        double sy = ry * y;
        int y0 = (int)floor(sy), y1 = (int)ceil(sy);
        if (y1 > im->h - 1) y1 = im->h - 1;
        if (y0 > im->h - 1) y0 = im->h - 1;
        double fy = sy - y0;
        const uint8_t *r0 = im->rgb + (size_t)y0 * im->w * 3;
        const uint8_t *r1 = im->rgb + (size_t)y1 * im->w * 3;
        for (int x = 0; x < nw; x++) {
            double sx = rx * x;
            int x0 = (int)floor(sx), x1 = (int)ceil(sx);
            if (x1 > im->w - 1) x1 = im->w - 1;
            if (x0 > im->w - 1) x0 = im->w - 1;
            double fx = sx - x0;
            size_t o = (size_t)(y + g->oy) * S + (size_t)(x + g->ox);
            for (int c = 0; c < 3; c++) { /* c: RGB source channel */
                double tl = r0[x0 * 3 + c], tr = r0[x1 * 3 + c];
                double bl = r1[x0 * 3 + c], br = r1[x1 * 3 + c];
                double top = tl + (tr - tl) * fx, bot = bl + (br - bl) * fx;
                float v = (float)(top + (bot - top) * fy);
                int b = 2 - c; /* BGR plane */
                out[(size_t)b * S * S + o] = (v - MEAN[b]) / STD[b];
            }
        }
    }
    return ODX_OK;
}

odx_status cap_det_run_raw(cap_det_state *st, const float *input, const tfj_tensor *outs[6],
                           odx_err *err)
{
    tfj_tensor in = {0};
    in.dtype = TFJ_F32;
    in.ndim = 4;
    in.shape[0] = 1;
    in.shape[1] = 3;
    in.shape[2] = in.shape[3] = CAP_DET_SIZE;
    in.n = 3 * CAP_DET_SIZE * CAP_DET_SIZE;
    in.d.f = (float *)input;
    const tfj_tensor *all[6];
    odx_status s = tfj_run(st->run, &in, 1, all, err);
    if (s != ODX_OK) return s;
    for (int k = 0; k < 6; k++) {
        const tfj_tensor *t = all[st->det->out_of[k]];
        int64_t g = CAP_DET_SIZE / STRIDES[k / 2];
        int64_t want = k % 2 ? 4 * CAP_DET_BINS : CAP_DET_CLASSES;
        if (t->dtype != TFJ_F32 || t->ndim != 3 || t->shape[0] != 1 || t->shape[1] != g * g ||
            t->shape[2] != want)
            return core_err(err, ODX_ERR_MODEL, "detector output %d has an unexpected shape", k);
        outs[k] = t;
    }
    return ODX_OK;
}

/* ----------------------------------------------------------- decoding ---- */

typedef struct cand {
    float score;
    int cls;
    float x0, y0, x1, y1; /* image pixels */
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return x->score < y->score ? 1 : x->score > y->score ? -1 : 0;
}

static float iou(const cand *a, const cand *b)
{
    float aa = (a->x1 - a->x0) * (a->y1 - a->y0), ab = (b->x1 - b->x0) * (b->y1 - b->y0);
    if (aa <= 0 || ab <= 0) return 0;
    float iw = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0);
    float ih = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0);
    if (iw <= 0 || ih <= 0) return 0;
    float in = iw * ih;
    return in / (aa + ab - in);
}

static float to_img(float v, int off, float r, int lim)
{
    float x = (v - (float)off) / r;
    return x < 0 ? 0 : x > (float)lim ? (float)lim : x;
}

int cap_det_decode(const tfj_tensor *const outs[6], const cap_det_geom *g, float threshold,
                   cap_object *objs, int max)
{
    int n_cand = 0, cap = 0, n_out = 0;
    cand *cs = NULL;
    for (int s = 0; s < 3; s++) {
        const tfj_tensor *S = outs[2 * s], *B = outs[2 * s + 1];
        int stride = STRIDES[s], gs = CAP_DET_SIZE / stride;
        for (int i = 0; i < gs * gs; i++) {
            const float *sc = S->d.f + (size_t)i * CAP_DET_CLASSES;
            int cls = 0;
            for (int c = 1; c < CAP_DET_CLASSES; c++)
                if (sc[c] > sc[cls]) cls = c;
            if (!(sc[cls] > threshold)) continue;
            double dist[4];
            for (int side = 0; side < 4; side++) {
                const float *b = B->d.f + (size_t)i * 4 * CAP_DET_BINS + side * CAP_DET_BINS;
                double mx = -INFINITY, z = 0, e = 0;
                for (int k = 0; k < CAP_DET_BINS; k++) mx = fmax(mx, b[k]);
                for (int k = 0; k < CAP_DET_BINS; k++) {
                    double p = exp(b[k] - mx);
                    z += p;
                    e += p * k;
                }
                dist[side] = e / z * stride;
            }
            float cx = ((float)(i % gs) + 0.5f) * stride, cy = ((float)(i / gs) + 0.5f) * stride;
            if (n_cand == cap) {
                int nc = cap ? cap * 2 : 64;
                cand *grown = realloc(cs, (size_t)nc * sizeof *cs);
                if (!grown) goto done; /* keep what we have */
                cs = grown;
                cap = nc;
            }
            cand *c = &cs[n_cand++];
            c->score = sc[cls];
            c->cls = cls;
            c->x0 = to_img(cx - (float)dist[0], g->ox, g->ratio, g->w);
            c->y0 = to_img(cy - (float)dist[1], g->oy, g->ratio, g->h);
            c->x1 = to_img(cx + (float)dist[2], g->ox, g->ratio, g->w);
            c->y1 = to_img(cy + (float)dist[3], g->oy, g->ratio, g->h);
        }
    }
done:
    if (n_cand) qsort(cs, (size_t)n_cand, sizeof *cs, cand_cmp);
    /* greedy class-agnostic NMS, as tf.image.nonMaxSuppression */
    int kept[64];
    for (int i = 0; i < n_cand && n_out < max && n_out < 64; i++) {
        bool ok = true;
        for (int k = 0; k < n_out && ok; k++) ok = iou(&cs[i], &cs[kept[k]]) <= CAP_DET_NMS_IOU;
        if (!ok) continue;
        kept[n_out] = i;
        cap_object *o = &objs[n_out++];
        o->cls = cs[i].cls;
        o->label = cap_det_label(cs[i].cls);
        o->label_zh = cap_det_label_zh(cs[i].cls);
        o->score = cs[i].score;
        o->x0 = cs[i].x0 / (float)g->w;
        o->y0 = cs[i].y0 / (float)g->h;
        o->x1 = cs[i].x1 / (float)g->w;
        o->y1 = cs[i].y1 / (float)g->h;
    }
    free(cs);
    return n_out;
}

/* A weaker box of the same class lying inside a much larger one is a part
 * read as the whole (the lettering of a stop sign as a second sign, a
 * wheel region as another car): NMS keeps it because the overlap is small
 * next to the large box's area. Two real objects of one class rarely nest
 * that deep. objs is sorted by score; returns the new count. */
int cap_det_drop_parts(cap_object *objs, int n)
{
    int o = 0;
    for (int i = 0; i < n; i++) {
        const cap_object *a = &objs[i];
        float aa = (a->x1 - a->x0) * (a->y1 - a->y0);
        bool part = false;
        for (int k = 0; k < o && !part; k++) {
            const cap_object *b = &objs[k];
            float ab = (b->x1 - b->x0) * (b->y1 - b->y0);
            if (b->cls != a->cls || aa <= 0 || ab < 4 * aa)
                continue;
            float iw = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0);
            float ih = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0);
            part = iw > 0 && ih > 0 && iw * ih >= 0.9f * aa;
        }
        if (!part)
            objs[o++] = *a;
    }
    return o;
}

odx_status cap_detect(cap_det_state *st, const cap_image *im, float threshold, cap_desc *d,
                      odx_err *err)
{
    if (!st || !d) return core_err(err, ODX_ERR_INVALID, "cap_detect: no state");
    if (!(threshold >= 0 && threshold < 1)) threshold = 0.3f;
    cap_det_geom g;
    const tfj_tensor *outs[6];
    odx_status s = cap_det_preprocess(im, st->input, &g, err);
    if (s == ODX_OK) s = cap_det_run_raw(st, st->input, outs, err);
    if (s != ODX_OK) return s;
    cap_object objs[CAP_DET_MAX_OBJECTS];
    int n = cap_det_decode(outs, &g, threshold, objs, CAP_DET_MAX_OBJECTS);
    n = cap_det_drop_parts(objs, n);
    cap_object *copy = NULL;
    if (n > 0) {
        copy = malloc((size_t)n * sizeof *copy);
        if (!copy) return core_err(err, ODX_ERR_NOMEM, "out of memory");
        memcpy(copy, objs, (size_t)n * sizeof *copy);
    }
    free(d->objects);
    d->objects = copy;
    d->n_objects = n;
    d->det_ran = true;
    return ODX_OK;
}

/* The detector knows the 80 COCO classes of everyday scenes. Photos get it;
 * posters too, since they often show a person, a vehicle or an animal.
 * Documents, tables, charts, diagrams and screenshots do not: their
 * content is text and structure, COCO objects there are rare and mostly
 * false (a chart bar read as a "tv"), and the run costs ~100 ms. */
bool cap_detect_wanted(const cap_desc *d)
{
    return d && (d->domain == CAP_PHOTO || d->domain == CAP_POSTER);
}

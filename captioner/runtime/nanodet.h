/* nanodet.h - internals of the NanoDet detector (captioner/detect.c) that
 * its tests, the eval tool and the benchmark reach: preprocessing into the
 * network input, the raw network run, and the decoder. */
#ifndef ODX_NANODET_H
#define ODX_NANODET_H

#include "captioner_int.h"
#include "runtime.h"

#define CAP_DET_SIZE 416
#define CAP_DET_CLASSES 80
#define CAP_DET_BINS 11 /* reg_max + 1 bins per box side */
#define CAP_DET_MAX_OBJECTS 10
#define CAP_DET_NMS_IOU 0.4f

/* Letterbox geometry of one image in the 416 x 416 input. */
typedef struct cap_det_geom {
    float ratio;  /* input pixels per image pixel */
    int ox, oy;   /* offset of the image inside the input */
    int nw, nh;   /* size of the resized image */
    int w, h;     /* original image size */
} cap_det_geom;

/* Upstream preprocessing: keep-ratio bilinear resize (TF, half-pixel off)
 * centred on black, RGB -> BGR, (x - mean) / std, NCHW [1,3,416,416] into
 * out (3*416*416 floats). */
odx_status cap_det_preprocess(const cap_image *im, float *out, cap_det_geom *g,
                              odx_err *err);

/* Runs the network on a preprocessed input. outs[6] receives the raw
 * outputs ordered (scores, boxes) for strides 8, 16, 32; borrowed from the
 * state until the next run. */
odx_status cap_det_run_raw(cap_det_state *st, const float *input,
                           const tfj_tensor *outs[6], odx_err *err);

/* Decodes raw outputs into at most max objects (score > threshold,
 * class-agnostic NMS), boxes normalised to the image. Returns the count. */
int cap_det_decode(const tfj_tensor *const outs[6], const cap_det_geom *g,
                   float threshold, cap_object *objs, int max);

/* Drops a box lying inside a same-class box at least 4 times its area (a
 * part read as a second whole); objs sorted by score. Returns the count. */
int cap_det_drop_parts(cap_object *objs, int n);

/* The runner state inside a detector state (profiling in the benchmark). */
tfj_state *cap_det_state_runner(cap_det_state *st);

/* COCO class names: English (upstream) and Chinese. */
const char *cap_det_label(int cls);
const char *cap_det_label_zh(int cls);

#endif

/* ppocr.h - the PP-OCR text reader (captioner/ppocr.c) on the model runtime
 * (captioner/runtime/, ONNX front-end): DB text detection, direction
 * classification, SVTR recognition with CTC decoding over ppocr_keys_v1.txt.
 * Load once (read-only, shared by threads), one state per thread. */
#ifndef ODX_PPOCR_H
#define ODX_PPOCR_H

#include "captioner.h"

typedef struct cap_ppocr cap_ppocr;
typedef struct cap_ppocr_state cap_ppocr_state;

typedef struct cap_ppocr_params {
    int det_max_side;   /* detector input long side cap (960), multiple of 32 */
    float det_thresh;   /* probability-map binarisation (0.3) */
    float box_thresh;   /* mean probability inside a box to keep it (0.6) */
    float unclip_ratio; /* box growth: area * ratio / perimeter (1.5) */
    float drop_score;   /* lines recognised below this confidence are dropped (0.5) */
    bool use_cls;       /* run the 0/180 direction classifier (true) */
    float cls_thresh;   /* flip when the classifier says 180 above this (0.9) */
    int max_lines;      /* most boxes recognised, largest first (200) */
    float rec_min_ratio; /* narrowest recogniser input, width/height (1) */
    int rec_batch_cols;  /* most columns in one recogniser batch, up to 6
                            lines (3840) */
    float gap_rel;       /* a word gap between Latin marks is at least this
                            times the line's letter spacing (2; 0: a quarter
                            of the line height alone) */
    float det_up;        /* most the detector input is scaled up (1: never,
                            the default) */
    int rec_max_w;       /* widest recogniser input in columns; a line wider
                            at height 48 is squeezed to it (1600) */
    float det_small_h;   /* when the median box is under this many detector
                            pixels tall on a shrunk image, detect again
                            larger (0: never) */
    int det_big_side;    /* that second detection's long side cap (2560) */
} cap_ppocr_params;

cap_ppocr_params cap_ppocr_params_default(void);

typedef struct cap_ppocr_line {
    char *text;       /* UTF-8, owned */
    float conf;       /* mean of the kept characters' probabilities, 0..1 */
    float det_score;  /* mean detector probability inside the box */
    float quad[8];    /* corners in image pixels: TL, TR, BR, BL (x, y) */
    int x0, y0, x1, y1; /* axis-aligned bounds, image pixels */
    int row;          /* reading-order row (boxes sharing a text row) */
    bool flipped;     /* read upside down (classifier) */
} cap_ppocr_line;

/* Loads ch_PP-OCRv4_det_infer.onnx, ch_PP-OCRv4_rec_infer.onnx,
 * ch_ppocr_mobile_v2.0_cls_infer.onnx and ppocr_keys_v1.txt from dir.
 * Errors: ODX_ERR_NOT_FOUND (naming scripts/fetch_models.sh), model errors. */
odx_status cap_ppocr_load(const char *dir, cap_ppocr **out, odx_err *err);
void cap_ppocr_free(cap_ppocr *p); /* NULL fine */

odx_status cap_ppocr_state_new(const cap_ppocr *p, cap_ppocr_state **out, odx_err *err);
void cap_ppocr_state_free(cap_ppocr_state *s); /* NULL fine */

/* Reads the text of im. On success *lines (owned, free with
 * cap_ppocr_lines_free) holds *n lines in reading order. params NULL:
 * defaults. Timings of the last call: cap_ppocr_state_times. */
odx_status cap_ppocr_read(cap_ppocr_state *s, const cap_image *im, const cap_ppocr_params *params,
                          cap_ppocr_line **lines, int *n, odx_err *err);
void cap_ppocr_lines_free(cap_ppocr_line *l, int n);

/* Text detection alone (the DB detector and its boxes, no reading), the
 * image's long side scaled to max_side at most (never up): the cheap look
 * that decides whether a photo is worth reading. Up to max_boxes boxes
 * (corners in image pixels, TL TR BR BL, and their mean probability);
 * *n how many. Timing: cap_ppocr_state_times' det. */
typedef struct cap_ppocr_box {
    float quad[8];
    float score;
} cap_ppocr_box;
odx_status cap_ppocr_find(cap_ppocr_state *s, const cap_image *im, int max_side,
                          const cap_ppocr_params *params, cap_ppocr_box *boxes, int max_boxes,
                          int *n, odx_err *err);

/* Milliseconds of the last read: detector, classifier, recogniser, total. */
/* The last read's median box height in detector pixels (0: not judged)
 * and whether the page was detected again larger for small text. */
float cap_ppocr_state_det_h(const cap_ppocr_state *s, bool *again);
void cap_ppocr_state_times(const cap_ppocr_state *s, double *det, double *cls, double *rec,
                           double *total);

/* Per-op profiling of the three networks (net 0 detector, 1 classifier,
 * 2 recogniser; see tfj_state_profile): on/off for all three, and the
 * accumulated ms per op type of one. Used by bench/bench_ppocr. */
void cap_ppocr_state_profile(cap_ppocr_state *s, bool on);
int cap_ppocr_state_profile_get(const cap_ppocr_state *s, int net, const char **names, double *ms,
                                int *calls, int max);

/* Internals reached by tests. */
/* CTC greedy decode of probs[T][C] (C = n_keys + 2: blank, keys, space);
 * gaps: x centres (input pixels, px_per_frame per time step) of blank column
 * runs; one between two ASCII marks becomes a space. */
char *cap_ppocr_ctc(const cap_ppocr *p, const float *probs, int T, int C, const float *gaps,
                    int n_gaps, float px_per_frame, float *conf);
/* o/O read inside a number ("1ooo", "10oo") become zeros, in place. */
void cap_ppocr_fix_digits(char *s);
/* Minimum-area rectangle of points (x, y pairs): corners TL, TR, BR, BL as
 * PaddleOCR orders them; returns its shorter side. */
float cap_ppocr_min_rect(const float *pts, int n, float quad[8]);

#endif

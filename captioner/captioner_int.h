/* captioner_int.h - names shared between the files of captioner/.
 * Order of work in cap_describe (captioner.c):
 *   decode -> thumbnail -> features -> classify -> [detect] -> [OCR]
 *   -> classify again (with text layout) -> structure -> compose. */
#ifndef ODX_CAPTIONER_INT_H
#define ODX_CAPTIONER_INT_H

#include "captioner.h"
#include "ppocr.h"

/* features.c: colour, edge, rule, text-likeness and scene statistics from
 * a thumbnail (long side <= 512). Fills d->feat, d->colors, d->n_colors. */
/* captioner.c: the pixels an image is described from. Statistics and
 * classification run on a thumbnail of about CAP_THUMB_SIDE (a JPEG is
 * DCT-reduced while decoding, so its long side is below 2x that); OCR and
 * structure on full resolution. */
#define CAP_THUMB_SIDE 512
/* Decodes the thumbnail into *thumb and fills d->hdr, d->width, d->height
 * (oriented). *full receives the full-resolution image when decoding made
 * it anyway (PNG), else stays empty. */
odx_status cap_decode_thumb(const uint8_t *data, size_t len, const char *name,
                            const cap_limits *lim, cap_desc *d, cap_image *thumb,
                            cap_image *full, odx_err *err);
/* The full-resolution image for OCR in *use: *full if decoded, the
 * thumbnail when it was not reduced, else *full decoded now. */
odx_status cap_full_image(const uint8_t *data, size_t len, const char *name,
                          const cap_limits *lim, const cap_desc *d, const cap_image *thumb,
                          cap_image *full, const cap_image **use, odx_err *err);

void cap_features_compute(const cap_image *thumb, cap_desc *d);

/* features.c: layout statistics the classifier reads beyond cap_features,
 * from the same thumbnail: text column gutters and the shapes of chart
 * marks (solid bars, long thin curves, small coloured dots, frames). */
typedef struct cap_layout {
    int n_gutters;     /* empty vertical strips between inked columns */
    int n_solid;       /* solid filled rectangles (bars, panels) */
    float solid_share; /* their pixels / image pixels */
    int n_curves;      /* long thin components (plotted lines) */
    int n_blobs;       /* small compact coloured marks (scatter points) */
    int n_frames;      /* large rectangular outlines (plot box, window) */
    float color_ink;   /* saturated ink pixels / ink pixels */
    /* Column alignment of text rows (rules and long strokes removed): rows
     * in runs of >= 4 consecutive rows that share >= 2 interior gaps (a
     * borderless table), and all glyph-height rows. */
    int n_rows;        /* text-height ink rows */
    int n_table_rows;  /* of them, in column-aligned blocks */
    int max_cols;      /* most columns (shared gaps + 1) in such a block */
    float row_h;       /* median text-row height / image height */
    int n_big_rows;    /* text rows at least 4% of the image height tall */
    int n_big_glyphs;  /* most letter-like shapes >= 6% of the image height
                          standing side by side on one line (a logo word) */
    /* Plot area: a rectangle set off from the page (four spines, or a
     * tinted panel) that does not touch the image's left/bottom edges, with
     * groups of labels (tick values) beside it on the left and below it. */
    float box_area;    /* its share of the image; 0 when none */
    int n_left_labels, n_bottom_labels; /* separate label groups */
    float box_ink;     /* share of its inside that differs from its fill */
    int box_x0, box_y0, box_x1, box_y1; /* the box in thumbnail pixels */
    /* The outer 2-pixel ring: the share of each side in the ring's most
     * common colour, the lowest of the four sides. Pages, tables, charts
     * and diagrams have margins of one colour; a window's title bar, menus
     * and panels run to the edges of a screenshot. */
    float margin_even;
    /* Sizes of the lettering above, as shares of the image height, so the
     * classifier can read them in original pixels (x d->height): screen
     * and page text stays ~8-30 px tall however the picture is cropped,
     * a poster's or logo's lettering is large in absolute terms too. */
    float big_row_h;   /* median height of the n_big_rows rows; 0 if none */
    float big_glyph_h; /* median height of the n_big_glyphs shapes; 0 if none */
} cap_layout;
void cap_layout_compute(const cap_image *thumb, cap_layout *out);

/* scene.c: photo scene/texture/composition cues (the sc_* fields of
 * d->feat) from the same thumbnail. Reads d->feat.noise and
 * d->feat.text_likeness, so it runs after cap_features_compute. Cheap
 * (well under 3 ms per 512-px thumbnail); never fails. */
void cap_scene_compute(const cap_image *thumb, cap_desc *d);
/* Hue families for cap_features.sc_hue. */
enum { CAP_HUE_RED = 0, CAP_HUE_ORANGE, CAP_HUE_BROWN, CAP_HUE_YELLOW, CAP_HUE_GREEN,
       CAP_HUE_BLUE, CAP_HUE_PURPLE, CAP_HUE_PINK, CAP_N_HUES };
/* "blue" / "蓝色"...; NULL when hue is out of range. lang: CAP_EN or CAP_ZH. */
const char *cap_scene_hue_name(int hue, int lang);

/* shapes.c: the drawn shapes of a diagram (the sh_* fields of d->feat):
 * boxes, straight strokes, arrowheads, circles, curves, dashes, triangles,
 * and single-letter labels from d->lines. Runs after OCR; never fails. */
void cap_shapes_compute(const cap_image *thumb, cap_desc *d);

/* domain.c: sets d->domain, d->domain_conf (the winner's calibrated softmax
 * probability), d->chart_type from d->feat,
 * d->hdr, and (when d->ocr_ran) the OCR lines. Called before OCR (to gate
 * it) and again after. full may be NULL. */
/* Which model decides: the fitted one (domain_model.h, the default) or the
 * hand-set one. */
typedef enum cap_dom_model { CAP_DOM_HAND = 0, CAP_DOM_FITTED = 1 } cap_dom_model;
/* OMNIDEX_DOMAIN=hand: CAP_DOM_HAND; anything else (fitted, unset): fitted. */
cap_dom_model cap_dom_model_env(void);
void cap_classify(cap_desc *d, const cap_image *thumb, cap_dom_model m);
/* domain.c: the per-domain scores cap_classify compares (higher wins), for
 * the evaluation tool (tests/eval/domain_accuracy --verbose). */
void cap_domain_scores(const cap_desc *d, const cap_image *thumb, cap_dom_model m,
                       float s[CAP_N_DOMAINS]);
/* domain.c: the classifier's input vectors (domain_model.h: DOM_NV visual
 * features from d->feat and the layout of thumb, DOM_NT text features from
 * the OCR lines, zeros until OCR ran), for the feature dump that the model
 * is fitted on (tests/eval/domain_accuracy --dump). */
void cap_domain_features(const cap_desc *d, const cap_image *thumb, float *vis, float *txt);

/* ocr.c: one Tesseract engine (eng+chi_sim) per worker. */
typedef struct cap_ocr cap_ocr;
/* What one cap_ocr_run did, for measurements (tests/eval/ocr_eval): kept
 * per handle, since every worker runs its own at the same time. */
typedef struct cap_ocr_stats {
    float scale;    /* the scale the page was read at */
    int passes;     /* 1, or 2 with a second (sparse) pass merged in */
    bool inverted;  /* a dark page was inverted first */
    int rereads, replaced, added; /* second looks at lines, and their effect */
    int look_boxes;   /* cap_ocr_look: boxes the detector found */
    float look_h;     /* the surest line-shaped one's height (look_side
                         pixels), 0: none */
    float look_score; /* and its score */
    float det_h;      /* PP-OCR: median box height, detector pixels (0: -) */
    bool det_again;   /* PP-OCR: detected again larger for small text */
} cap_ocr_stats;
/* The OCR step's tuning: data passed in, not globals. The engine makes one
 * per engine (cap_ocr_params_default, then cap_ocr_params_env); tests and
 * the eval tools build their own. Defaults and their measurements: ocr.c. */
typedef struct cap_ocr_params {
    int reader;              /* 0 by domain (pp_domains), 1 always Tesseract,
                                2 always PP-OCR (Tesseract when its models
                                are missing) */
    unsigned pp_domains;     /* bit per cap_domain: read by PP-OCR when its
                                models are loaded (reader 0) */
    int mode;                /* Tesseract languages, for measurements: 1
                                eng+chi_sim, 0 eng then eng+chi_sim when the
                                eng result looks unread, 2 eng only */
    float target_px;         /* wanted median glyph height after scaling */
    int knee;                /* gray level above which chart and diagram
                                pages are whitened (0: off) */
    int table_psm;           /* Tesseract page segmentation for tables */
    float min_conf;          /* words below this confidence are dropped */
    unsigned sparse_domains; /* bit per cap_domain: a second, sparse pass
                                merged in */
    int invert_dark;         /* invert pages whose background is dark */
    float weak_conf;         /* Han words from here to min_conf are kept
                                next to a sure Han word of their line */
    float reread_conf;       /* lines below this mean confidence get a
                                second look (0: none) */
    int reread_max;          /* at most this many second looks an image */
    float reread_px;         /* box height a line is enlarged to for it */
    float stray_conf;        /* a lone Han word at the end of a Latin line
                                is dropped below this */
    cap_ppocr_params ppocr;  /* what PP-OCR reads with (ppocr.h) */
    float diagram_up;        /* PP-OCR's detector may scale a figure up this
                                much (its det_up elsewhere) */
    int look_side;           /* cap_ocr_look's detector input long side
                                (0: no look) */
    float look_min_h;        /* its smallest box height (look_side pixels) */
    float look_max_h;        /* its largest (taller: a blob, not a line) */
    float look_min_score;    /* its lowest box score */
} cap_ocr_params;
cap_ocr_params cap_ocr_params_default(void);
/* OMNIDEX_OCR=auto|tesseract|ppocr: sets p->reader (the engine reads it). */
void cap_ocr_params_env(cap_ocr_params *p);
/* prm NULL: cap_ocr_params_default() (the environment is not read). The
 * handle keeps a copy. */
odx_status cap_ocr_new(cap_ocr **out, const cap_ocr_params *prm, odx_err *err);
void cap_ocr_free(cap_ocr *o);
/* The stats of o's last cap_ocr_run (zero before the first). */
const cap_ocr_stats *cap_ocr_last_stats(const cap_ocr *o);
/* Lends the engine's PP-OCR models (ppocr.h) to a worker's OCR: images go to
 * PP-OCR or Tesseract by cap_ocr_params.reader (ocr.c). p must
 * outlive o; call before the first cap_ocr_run. */
typedef struct cap_ppocr cap_ppocr;
void cap_ocr_set_ppocr(cap_ocr *o, const cap_ppocr *p);
/* True where text is likely enough to run OCR (text-likeness, domain). */
bool cap_ocr_wanted(const cap_desc *d);
/* The second chance for an image cap_ocr_wanted turned down (a photo, a
 * poster or a figure whose text the line features did not see): PP-OCR's
 * text detector alone on the thumbnail (cap_ocr_params.look_side), and
 * true when it finds a box a reader could read (look_min_h pixels tall
 * at the thumbnail's scale or more, look_min_score sure). False without
 * PP-OCR models or with look_side 0. ms: what the look cost (NULL fine). */
bool cap_ocr_look(cap_ocr *o, const cap_image *thumb, const cap_desc *d, double *ms);
/* Whether to read this image: photos by cap_ocr_look alone (when PP-OCR is
 * there), other domains by cap_ocr_wanted, then cap_ocr_look for posters
 * and figures it turned down. ms: the look's cost. */
bool cap_ocr_gate(cap_ocr *o, const cap_image *thumb, const cap_desc *d, double *ms);
/* Whether cap_ocr_run would read d with PP-OCR (else Tesseract). */
bool cap_ocr_uses_ppocr(const cap_ocr *o, const cap_desc *d);
/* Reads text from the full-resolution image into d->text, d->lines,
 * d->text_lang, d->text_conf; sets d->ocr_ran. */
odx_status cap_ocr_run(cap_ocr *o, const cap_image *full, cap_desc *d,
                       odx_err *err);

/* structure.c: table / chart / document / screenshot structure from the
 * OCR lines and the image (d->domain decides what is read). */
/* Character classes of UTF-8 text, added to *k: CJK, Latin letters (ASCII,
 * accented, Greek...), ASCII digits, anything else but spaces. Shared by
 * OCR's junk filters and structure reading (structure.c). */
typedef struct cap_char_kinds {
    int cjk, latin, digit, other;
} cap_char_kinds;
void cap_count_chars(const char *s, cap_char_kinds *k);

void cap_structure(cap_desc *d, const cap_image *full);
/* Reading order across columns (layout.c): writes into order (n entries)
 * the line indexes in reading order and sets block[i] where a column or
 * block starts; returns the number of blocks (1: one column). */
int cap_layout_order(const cap_text_line *lines, int n, int *order, int *block);
/* Rejoins d->text from d->lines in that order when the page has columns
 * and the text was joined from boxes (d->text_boxes); tables and charts
 * keep their rows. */
void cap_layout_text(cap_desc *d);

/* compose.c: captions (detailed, short) and tags in en and zh from
 * everything found. Only states what was found; hedges when unsure. */
odx_status cap_compose(cap_desc *d, odx_err *err);

/* detect.c: NanoDet-g through the TF.js graph runner (captioner/runtime/). */
typedef struct cap_detector cap_detector; /* weights, shared read-only */
typedef struct cap_det_state cap_det_state; /* per-thread scratch */
/* ODX_ERR_NOT_FOUND when the model files are absent from models_dir. */
odx_status cap_detector_load(const char *models_dir, cap_detector **out,
                             odx_err *err);
void cap_detector_free(cap_detector *det);
odx_status cap_det_state_new(const cap_detector *det, cap_det_state **out,
                             odx_err *err);
void cap_det_state_free(cap_det_state *st);
/* Runs detection on an RGB image; fills d->objects/n_objects, d->det_ran. */
odx_status cap_detect(cap_det_state *st, const cap_image *im, float threshold,
                      cap_desc *d, odx_err *err);
/* Should the detector run for this description (domain gate)? */
bool cap_detect_wanted(const cap_desc *d);

#endif

/* captioner.h - the captioner stage as seen by the rest of the library:
 * bytes of one image in, a structured description (cap_desc) out, from
 * which captions in en/zh at three granularities are derived.
 * Engine = read-only shared state (models); worker = per-thread state
 * (Tesseract API, detector scratch). */
#ifndef ODX_CAPTIONER_H
#define ODX_CAPTIONER_H

#include "core.h"

#include <cjson/cJSON.h>

/* Bump when the description or captions change: the indexer re-captions
 * images whose stored engine version differs. */
#define CAP_ENGINE_VERSION "native-19"

typedef enum cap_domain {
    CAP_PHOTO = 0,
    CAP_DOCUMENT,
    CAP_TABLE,
    CAP_CHART,
    CAP_SCREENSHOT,
    CAP_POSTER,
    CAP_DIAGRAM,
    CAP_N_DOMAINS
} cap_domain;

const char *cap_domain_name(cap_domain d);    /* "photo", ... */
const char *cap_domain_name_zh(cap_domain d); /* "照片", ... */
/* Parses "photo".. into *d; false if unknown. */
bool cap_domain_parse(const char *s, cap_domain *d);

enum { CAP_EN = 0, CAP_ZH = 1, CAP_N_LANGS = 2 };
enum { CAP_DETAILED = 0, CAP_SHORT = 1, CAP_N_KINDS = 2 };

/* Decoded image: 8-bit RGB, rows packed (stride = 3*w). */
typedef struct cap_image {
    int w, h;
    uint8_t *rgb;
} cap_image;
void cap_image_free(cap_image *im); /* frees rgb, zeroes; NULL fine */

/* A JPEG with more scans is refused (ODX_ERR_LIMIT): libjpeg-turbo's own
 * advice (djpeg -maxscans); ordinary progressive files have about 10. */
#define CAP_JPEG_MAX_SCANS 100
/* Entropy-decoding work budget of one JPEG decode, in pixels: each scan's
 * pass over an iMCU row of width w and height v*8 costs w*v*8 (about the
 * image's pixels per scan). 2^31: 100 scans of 21 Mpx; an ordinary
 * 10-scan 12 Mpx file uses 6% of it. */
#define CAP_DECODE_WORK_MAX ((int64_t)1 << 31)

typedef struct cap_limits {
    int64_t max_pixels;     /* width*height of the file, checked from header */
    int64_t max_file_bytes;
    int max_jpeg_scans;     /* 0: CAP_JPEG_MAX_SCANS */
    int64_t max_decode_work; /* 0: CAP_DECODE_WORK_MAX */
} cap_limits;

/* Header facts read before decoding. */
typedef struct cap_header {
    char format[8]; /* "png", "jpeg", "webp", "gif", "tiff", "bmp", "heic",
                       "avif" or "heif" (cap_sniff) */
    int width, height;      /* as stored (HEIF: as shown, see orientation) */
    int orientation;        /* EXIF 1..8 still to apply to the stored pixels,
                               1 if none; HEIF: always 1 (libheif applies
                               the file's rotation and mirroring itself) */
    int n_frames;           /* frames of an animation (GIF, WebP) or pages of
                               a TIFF (reduced-size IFDs not counted); 1 for a
                               still, 0 when not read. Only the first is decoded */
    bool animated;          /* GIF/WebP with more than one frame */
    bool has_alpha;         /* an alpha channel (composited onto white) */
    int bit_depth;          /* bits per sample as stored (16 is reduced to 8) */
    bool has_exif;
    char taken_at[24];      /* EXIF DateTimeOriginal as "YYYY-MM-DD HH:MM:SS" or "" */
    char camera[64];        /* EXIF Make + Model or "" */
} cap_header;

/* The format of an image file from its first bytes (magic, never the
 * name): "png", "jpeg", "webp", "gif", "tiff", "bmp", "heic", "avif",
 * "heif" (an ISO-BMFF still image whose brands name neither), or NULL. */
const char *cap_sniff(const uint8_t *data, size_t len);

/* Decodes PNG, JPEG, WebP, GIF (first frame), TIFF (first page), BMP and
 * HEIC/AVIF (primary image) from memory; the format comes from the magic
 * bytes (cap_sniff), never from the name. Limits are checked from the header
 * before any pixel buffer is allocated. max_side > 0 asks for an image whose
 * long side is about max_side (JPEG uses DCT scaling, so the result may be
 * up to 2x larger; never upscaled); 0 = full size. EXIF orientation is
 * applied. libpng/libjpeg errors never leave this call (setjmp inside).
 * Work is bounded: a JPEG over lim's scan count or decoding-work budget is
 * refused with ODX_ERR_LIMIT as soon as it passes it; a PNG's ancillary
 * chunks (text, ICC profiles: zTXt/iTXt bombs) are skipped unread; the
 * other formats decode one frame or page, linear in the checked pixels
 * (decode_int.h states the contract every decoder keeps).
 * Errors: ODX_ERR_UNSUPPORTED (no format above), ODX_ERR_DECODE (corrupt or
 * truncated), ODX_ERR_LIMIT, ODX_ERR_NOMEM. */
odx_status cap_decode(const uint8_t *data, size_t len, const char *name,
                      const cap_limits *lim, int max_side, cap_header *hdr,
                      cap_image *out, odx_err *err);

/* 64-bit difference hash: 9x8 grey samples, one bit per horizontal
 * neighbour pair. Re-encoded or resized copies differ by a few bits. */
uint64_t cap_dhash(const cap_image *im);

/* Difference hashes of CAP_N_DHASH_CROPS sub-rectangles of im (centred
 * crops to 95-80% of each side, 90% crops into the corners), so that a copy
 * cropped by up to a fifth of a side still finds its original: the copy's
 * whole-picture hash is close to one of these. false (and zeros) for a
 * picture under 45 pixels a side. */
#define CAP_N_DHASH_CROPS 8
bool cap_dhash_crops(const cap_image *im, uint64_t out[CAP_N_DHASH_CROPS]);

/* The picture's mean grey in CAP_GREY_SIDE x CAP_GREY_SIDE cells (rows
 * top to bottom), what search by example correlates a crop with its
 * original by (retriever/search.c) where the hashes' bits flip. false
 * (and zeros) for a picture under CAP_GREY_SIDE pixels a side. */
#define CAP_GREY_SIDE 16
#define CAP_GREY_N (CAP_GREY_SIDE * CAP_GREY_SIDE)
bool cap_grey_grid(const cap_image *im, uint8_t out[CAP_GREY_N]);

/* Box-filter resize to fit in max_side (no upscaling). */
odx_status cap_image_fit(const cap_image *src, int max_side, cap_image *out,
                         odx_err *err);

/* ------------------------------------------------------- description ---- */

typedef struct cap_color {
    char name[16];    /* English colour name */
    char name_zh[16];
    float share;      /* fraction of pixels */
    uint8_t r, g, b;
} cap_color;

/* Visual features from a thumbnail (long side ~512). All in 0..1 unless
 * noted. */
typedef struct cap_features {
    float brightness, contrast, saturation, colourfulness;
    float n_colors;          /* distinct quantised colours covering 95%, /64 */
    float white_share, black_share, gray_share; /* near-white/black/gray px */
    float edge_density;      /* strong-gradient pixels */
    float h_rule_share, v_rule_share; /* pixels on long horizontal/vertical rules */
    int n_h_rules, n_v_rules;
    float grid_score;        /* rules crossing in a grid */
    float axis_score;        /* an L-shaped pair of long rules (chart axes) */
    float text_likeness;     /* small dark/light components in rows */
    int n_text_lines;        /* estimated text lines */
    float flat_share;        /* pixels in large flat regions */
    float noise;             /* high-frequency energy / texture */
    float sector_score;      /* circular sectors (pie) */
    float aspect;            /* w/h */
    float sky, water, vegetation, snow, sunset, night; /* scene cue scores */
    /* Scene, texture and composition cues from scene.c (cap_scene_compute),
     * each a measured score in 0..1: stated at >= 0.5, hedged ("possibly")
     * from 0.35. Zero until cap_scene_compute has run. */
    float sc_snow;        /* bright, low-saturation, lightly textured ground */
    float sc_autumn;      /* textured orange/red/yellow foliage */
    float sc_forest;      /* dense dark-green texture over most of the frame */
    float sc_grass;       /* bright green texture in the lower half */
    float sc_clear_sky;   /* smooth blue top region */
    float sc_clouds;      /* white/grey soft masses in a blue top region */
    float sc_overcast;    /* grey, smooth top region */
    float sc_storm;       /* overcast and dark: storm clouds */
    float sc_reflection;  /* mirror symmetry about a horizon (calm water) */
    float sc_sunset;      /* warm glow in the upper half, brighter than below */
    float sc_night_lights;/* dark frame with a few bright lights */
    float sc_stars;       /* black background with many small bright dots */
    float sc_macro;       /* sharp subject, strongly blurred varied background */
    float sc_pattern;     /* periodic texture over the whole frame */
    float sc_mono;        /* black-and-white / greyscale */
    float sc_colourful;   /* many saturated hue families */
    float sc_high_key, sc_low_key; /* overall very light / very dark */
    float sc_panorama;    /* 1 when the frame is at least twice as wide as tall */
    float sc_vertical;    /* 1 when the frame is clearly taller than wide */
    int sc_hue;           /* dominant hue family (CAP_HUE_*), -1 when none */
    float sc_hue_share;   /* share of all pixels in that family */
    float sc_white_bg;    /* one object on a uniform near-white backdrop
                             reaching the frame's border (cut-out, studio) */
    float sc_black_bg;    /* the same on a near-black backdrop */
    /* Drawn shapes of a diagram from shapes.c (cap_shapes_compute), counted
     * on the thumbnail; zero until it has run (only for diagrams). */
    int sh_boxes;         /* closed rectangles (flowchart/block nodes) */
    int sh_lines;         /* long straight thin strokes standing alone */
    int sh_arrows;        /* small solid heads at the ends of thin strokes */
    int sh_circles;       /* closed round/elliptic outlines or discs */
    int sh_curves;        /* long thin smooth strokes, neither straight nor
                             made of horizontal/vertical runs */
    int sh_dashed;        /* dashes lined up with another dash */
    int sh_polygons;      /* closed triangles */
    int sh_points;        /* one/two-letter OCR labels (A, B, x, z0) */
    bool sh_connected;    /* one stroke network touches two or more boxes */
    float sh_geometry;    /* 0..1: labelled points with lines/triangles/circles */
    char sh_labels[24];   /* up to six of those labels, ", "-joined */
} cap_features;

typedef struct cap_object {
    int cls;                 /* COCO index 0..79 */
    const char *label;       /* static English name */
    const char *label_zh;    /* static Chinese name */
    float score;
    float x0, y0, x1, y1;    /* normalised to the image, 0..1 */
} cap_object;

typedef struct cap_text_line {
    char *text;              /* UTF-8 */
    float conf;              /* 0..100 */
    int x, y, w, h;          /* in original image pixels */
} cap_text_line;

typedef struct cap_desc {
    cap_header hdr;
    int width, height;       /* after orientation */
    cap_features feat;
    cap_color colors[6];
    int n_colors;

    cap_domain domain;
    float domain_conf;       /* 0..1 */
    char chart_type[12];     /* bar, line, pie, scatter or "" */

    /* OCR */
    bool ocr_ran;
    char *text;              /* full text in reading order, lines joined by \n */
    bool text_boxes;         /* text joined from d->lines' boxes (PP-OCR), not
                                from a reader's own layout (cap_layout_text) */
    char text_lang[8];       /* "en", "zh", "mixed" or "" */
    float text_conf;         /* mean word confidence 0..100 */
    cap_text_line *lines;
    int n_lines;

    /* structure (by domain) */
    char *title;             /* document/chart/window title or NULL */
    char *table_md;          /* table as Markdown or NULL */
    char **row_sentences;    /* "header: value; header: value" */
    int n_rows, n_cols;
    char *x_label, *y_label;
    char **legend;
    int n_legend;
    char **ticks;
    int n_ticks;
    int n_bars;
    char **values;           /* chart values, "label: value" (bars, slices) */
    int n_values;
    bool values_estimated;   /* some were read off bar lengths, not printed */
    int n_text_columns;
    char *lead;              /* first lines of a document */
    char **ui_words;         /* buttons / menus in screenshots */
    int n_ui_words;

    /* objects */
    bool det_ran;
    cap_object *objects;
    int n_objects;

    /* captions */
    char *caption[CAP_N_KINDS][CAP_N_LANGS];
    char **tags[CAP_N_LANGS];
    int n_tags[CAP_N_LANGS];

    uint64_t dhash;          /* 64-bit difference hash of the picture, for
                                near-duplicate detection (Hamming distance) */
    bool has_dhash_crops;
    uint64_t dhash_crops[CAP_N_DHASH_CROPS]; /* cap_dhash_crops of the picture */
    bool has_grey;
    uint8_t grey[CAP_GREY_N]; /* cap_grey_grid of the picture */
    char engine_version[24];
    double ms_decode, ms_features, ms_ocr, ms_detect, ms_total;
} cap_desc;

void cap_desc_free(cap_desc *d); /* NULL fine */

/* Full description as JSON (what `omnidex caption --json` prints and what
 * storage keeps). Caller owns the cJSON tree. */
cJSON *cap_desc_to_json(const cap_desc *d);

/* Text records derived from a description, for storage, FTS and embedding. */
typedef struct cap_text {
    const char *kind; /* "detailed", "short", "tags", "ocr", "structure" */
    const char *lang; /* "en", "zh", or the OCR language */
    char *text;       /* owned */
} cap_text;
/* Fills *out (malloc'd array; free with cap_texts_free). */
odx_status cap_desc_texts(const cap_desc *d, cap_text **out, int *n,
                          odx_err *err);
void cap_texts_free(cap_text *t, int n);

/* ------------------------------------------------------------ engine ---- */

typedef struct cap_config {
    const char *models_dir;  /* where nanodet.json/.bin live, or NULL */
    cap_limits limits;
    float det_threshold;     /* default 0.3 */
    bool ocr;                /* default true */
    bool detect;             /* default true */
} cap_config;

cap_config cap_config_default(void);

typedef struct cap_engine cap_engine; /* shared, read-only after creation */
typedef struct cap_worker cap_worker; /* one per thread */

/* Loads shared state. A missing detector model is not an error: the
 * engine works without objects and logs once how to fetch the model. */
odx_status cap_engine_new(const cap_config *cfg, cap_engine **out, odx_err *err);
void cap_engine_free(cap_engine *e);
/* True when the detector model was loaded. */
bool cap_engine_has_detector(const cap_engine *e);

odx_status cap_worker_new(cap_engine *e, cap_worker **out, odx_err *err);
void cap_worker_free(cap_worker *w);

/* Describes one image held in memory (name is used in messages and for the
 * format hint). On success *out is owned by the caller. */
odx_status cap_describe(cap_worker *w, const uint8_t *data, size_t len,
                        const char *name, cap_desc **out, odx_err *err);

#endif

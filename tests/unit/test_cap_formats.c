/* test_cap_formats.c - the decoders beyond PNG/JPEG (issue 18): WebP, GIF,
 * TIFF, BMP, HEIC and AVIF, each written here with the format's own
 * library (libwebp, giflib, libtiff, libheif; BMP by hand) so that every
 * case is known: pixels and size, alpha onto white, 16-bit, palettes,
 * EXIF/TIFF orientation (and HEIF's rotation applied once, not twice),
 * animation and pages flagged, and the same refusals as PNG/JPEG: huge
 * declared sizes refused from the header (ODX_ERR_LIMIT, nothing
 * allocated), truncated and mutated files refused with a message and no
 * pixels. Detection is by magic: a name that lies changes nothing. */
#include "captioner.h"
#include "check.h"
#include "fmt_gen.h"

static bool near(const cap_image *im, int x, int y, const uint8_t *c, int tol)
{
    if (!im->rgb || x < 0 || y < 0 || x >= im->w || y >= im->h)
        return false;
    const uint8_t *p = im->rgb + ((size_t)y * im->w + x) * 3;
    for (int k = 0; k < 3; k++)
        if (abs(p[k] - c[k]) > tol)
            return false;
    return true;
}

/* The quadrant centres of a decoded image equal the pattern turned by
 * EXIF orientation o (1: as stored; 6: turned 90 degrees clockwise). */
static bool quads_ok(const cap_image *im, int o, int tol)
{
    int w = im->w, h = im->h;
    int cx[2] = {w / 4, 3 * w / 4}, cy[2] = {h / 4, 3 * h / 4};
    /* displayed quadrant (row, col) -> stored quadrant index */
    static const int as_stored[4] = {0, 1, 2, 3};
    static const int cw90[4] = {2, 0, 3, 1};
    const int *m = o == 6 ? cw90 : as_stored;
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 2; c++)
            if (!near(im, cx[c], cy[r], Q[m[r * 2 + c]], tol)) {
                const uint8_t *p = im->rgb + ((size_t)cy[r] * w + cx[c]) * 3;
                fprintf(stderr, "  quadrant (%d,%d) is %d,%d,%d, want %d,%d,%d\n", r, c, p[0],
                        p[1], p[2], Q[m[r * 2 + c]][0], Q[m[r * 2 + c]][1], Q[m[r * 2 + c]][2]);
                return false;
            }
    return true;
}

static const cap_limits LIM = {.max_pixels = 100LL * 1000 * 1000, .max_file_bytes = 64 << 20};

static odx_status dec(const buf *b, const char *name, cap_header *h, cap_image *im, odx_err *e)
{
    memset(e, 0, sizeof *e);
    memset(im, 0, sizeof *im);
    return cap_decode(b->p, b->n, name, &LIM, 0, h, im, e);
}

/* Truncations and byte mutations of a good file: never a crash; a refusal
 * has a message and leaves no pixels, a success has pixels. Cuts strictly
 * inside the decoded image's data [data_from, data_to) must be refused
 * (data_to 0: the end; an animation's later frames are not decoded, so a
 * cut there leaves a whole first frame). */
static void robust_to(const char *what, const buf *good, size_t data_from, size_t data_to);
static void robust(const char *what, const buf *good, size_t data_from)
{
    robust_to(what, good, data_from, 0);
}
static void robust_to(const char *what, const buf *good, size_t data_from, size_t data_to)
{
    cap_header h;
    cap_image im;
    odx_err e;
    CHECK_MSG(dec(good, "whole", &h, &im, &e) == ODX_OK, "%s: %s", what, e.msg);
    cap_image_free(&im);
    size_t end = data_to ? data_to : good->n;
    for (int k = 1; k < 10; k++) {
        size_t cut = data_from + (end - data_from) * k / 10;
        buf c = {good->p, cut, 0};
        odx_status st = dec(&c, "cut", &h, &im, &e);
        CHECK_MSG(st != ODX_OK && e.msg[0] && !im.rgb, "%s cut at %zu of %zu: status %d (%s)",
                  what, cut, good->n, st, e.msg);
        cap_image_free(&im);
    }
    uint32_t rng = 7;
    uint8_t *m = malloc(good->n);
    for (int it = 0; it < 150; it++) {
        memcpy(m, good->p, good->n);
        for (int j = 0; j < 1 + it % 6; j++) {
            rng = rng * 1103515245u + 12345u;
            m[(rng >> 8) % good->n] = (uint8_t)(rng >> 3);
        }
        buf c = {m, good->n, 0};
        odx_status st = dec(&c, "mut", &h, &im, &e);
        if (st == ODX_OK)
            CHECK(im.rgb && im.w > 0 && im.h > 0 && (int64_t)im.w * im.h <= LIM.max_pixels);
        else
            CHECK_MSG(e.msg[0] && !im.rgb, "%s mutation %d: status %d without message", what,
                      it, st);
        cap_image_free(&im);
    }
    free(m);
}

static void expect_limit(const char *what, const buf *b, const char *size)
{
    cap_header h;
    cap_image im;
    odx_err e;
    odx_status st = dec(b, "huge", &h, &im, &e);
    CHECK_MSG(st == ODX_ERR_LIMIT && !im.rgb, "%s: status %d (%s)", what, st, e.msg);
    CHECK_MSG(strstr(e.msg, size) && strstr(e.msg, "huge"), "%s: message '%s'", what, e.msg);
}

/* -------------------------------------------------------------- WebP ---- */

static void test_webp(void)
{
    int w = 40, hh = 30;
    uint8_t *px = quad_rgb(w, hh, 3), *out = NULL;
    cap_header h;
    cap_image im;
    odx_err e;
    /* lossless: exact */
    buf b = webp_quads(w, hh, 0);
    CHECK_MSG(dec(&b, "a.png", &h, &im, &e) == ODX_OK, "%s", e.msg); /* the name lies */
    CHECK_STR(h.format, "webp");
    CHECK(im.w == w && im.h == hh && h.width == w && !h.animated && h.n_frames == 1);
    CHECK(quads_ok(&im, 1, 0));
    cap_image_free(&im);
    robust("webp lossless", &b, 20);
    /* lossy */
    buf l = webp_quads(w, hh, 90);
    CHECK(dec(&l, "b.webp", &h, &im, &e) == ODX_OK && quads_ok(&im, 1, 40));
    cap_image_free(&im);
    robust("webp lossy", &l, 20);
    /* EXIF orientation 6 in an EXIF chunk: turned upright */
    buf ex = {0};
    exif_tiff(&ex, 6);
    buf o = webp_mux(&b, &ex);
    CHECK_MSG(dec(&o, "o.webp", &h, &im, &e) == ODX_OK, "%s", e.msg);
    CHECK(h.has_exif && h.orientation == 6 && im.w == hh && im.h == w);
    CHECK(quads_ok(&im, 6, 0));
    cap_image_free(&im);
    /* alpha: transparent shows white */
    uint8_t *pa = quad_rgb(w, hh, 4);
    for (int y = 0; y < hh / 2; y++)
        for (int x = 0; x < w / 2; x++)
            pa[(y * w + x) * 4 + 3] = 0;
    size_t n = WebPEncodeLosslessRGBA(pa, w, hh, w * 4, &out);
    buf a = {0};
    bput(&a, out, n);
    WebPFree(out);
    CHECK(dec(&a, "a.webp", &h, &im, &e) == ODX_OK && h.has_alpha);
    static const uint8_t white[3] = {255, 255, 255};
    CHECK(near(&im, w / 4, hh / 4, white, 0) && near(&im, 3 * w / 4, hh / 4, Q[1], 0));
    cap_image_free(&im);
    /* animated: two frames, the first decoded, flagged */
    buf an = webp_anim(w, hh);
    CHECK_MSG(dec(&an, "anim.webp", &h, &im, &e) == ODX_OK, "%s", e.msg);
    CHECK_MSG(h.animated && h.n_frames == 2, "animated %d frames %d", h.animated, h.n_frames);
    CHECK(quads_ok(&im, 1, 0));
    cap_image_free(&im);
    robust("webp animated", &an, 30);
    /* huge canvas declared in VP8X: refused from the header */
    buf hg = webp_mux(&b, &ex); /* VP8X form */
    for (size_t i = 12; i + 18 <= hg.n; i++)
        if (!memcmp(hg.p + i, "VP8X", 4)) {
            uint32_t v = 60000 - 1;
            for (int k = 0; k < 2; k++) {
                hg.p[i + 12 + 3 * k] = v & 255;
                hg.p[i + 13 + 3 * k] = (v >> 8) & 255;
                hg.p[i + 14 + 3 * k] = (v >> 16) & 255;
            }
            break;
        }
    expect_limit("webp", &hg, "60000x60000");
    free(hg.p);
    free(pa);
    free(a.p);
    free(an.p);
    free(o.p);
    free(ex.p);
    free(l.p);
    free(b.p);
    free(px);
}

/* --------------------------------------------------------------- GIF ---- */

static void test_gif(void)
{
    cap_header h;
    cap_image im;
    odx_err e;
    buf b = make_gif(40, 30, 1, -1, false);
    CHECK_MSG(dec(&b, "x.jpg", &h, &im, &e) == ODX_OK, "%s", e.msg);
    CHECK_STR(h.format, "gif");
    CHECK(im.w == 40 && im.h == 30 && !h.animated && h.n_frames == 1 && quads_ok(&im, 1, 0));
    cap_image_free(&im);
    robust("gif", &b, 20);
    free(b.p);
    /* interlaced rows land where they belong */
    b = make_gif(33, 29, 1, -1, true);
    CHECK(dec(&b, "i.gif", &h, &im, &e) == ODX_OK && quads_ok(&im, 1, 0));
    cap_image_free(&im);
    free(b.p);
    /* animated: first frame shown, frames counted; transparency -> white */
    buf one = make_gif(40, 30, 1, 0, false);
    b = make_gif(40, 30, 3, 0, false);
    CHECK_MSG(dec(&b, "a.gif", &h, &im, &e) == ODX_OK, "%s", e.msg);
    CHECK_MSG(h.animated && h.n_frames == 3 && h.has_alpha, "frames %d", h.n_frames);
    static const uint8_t white[3] = {255, 255, 255};
    CHECK(near(&im, 10, 7, white, 0) && near(&im, 30, 7, Q[1], 0));
    cap_image_free(&im);
    robust_to("gif animated", &b, 20, one.n - 1);
    free(one.p);
    /* huge logical screen */
    b.p[6] = b.p[7] = b.p[8] = b.p[9] = 0xff;
    expect_limit("gif", &b, "65535x65535");
    free(b.p);
}

/* -------------------------------------------------------------- TIFF ---- */

static void test_tiff(void)
{
    cap_header h;
    cap_image im;
    odx_err e;
    TIFFSetWarningHandler(NULL); /* the writer's own chatter */
    buf b = make_tiff(40, 30, &(tw){.bps = 8, .spp = 3});
    CHECK_MSG(dec(&b, "t.bmp", &h, &im, &e) == ODX_OK, "%s", e.msg);
    CHECK_STR(h.format, "tiff");
    CHECK(im.w == 40 && im.h == 30 && h.n_frames == 1 && quads_ok(&im, 1, 0));
    cap_image_free(&im);
    robust("tiff", &b, 8);
    free(b.p);
    /* 16 bits a sample */
    b = make_tiff(40, 30, &(tw){.bps = 16, .spp = 3});
    CHECK(dec(&b, "t16.tif", &h, &im, &e) == ODX_OK && h.bit_depth == 16 && quads_ok(&im, 1, 1));
    cap_image_free(&im);
    free(b.p);
    /* straight alpha: the transparent quadrant is white */
    b = make_tiff(40, 30, &(tw){.bps = 8, .spp = 4, .extra = EXTRASAMPLE_UNASSALPHA});
    CHECK_MSG(dec(&b, "ta.tif", &h, &im, &e) == ODX_OK, "%s", e.msg);
    static const uint8_t white[3] = {255, 255, 255};
    CHECK(h.has_alpha && near(&im, 10, 7, white, 0) && near(&im, 30, 7, Q[1], 0));
    cap_image_free(&im);
    free(b.p);
    /* 16-bit with associated alpha */
    b = make_tiff(40, 30, &(tw){.bps = 16, .spp = 4, .extra = EXTRASAMPLE_ASSOCALPHA});
    CHECK(dec(&b, "ta16.tif", &h, &im, &e) == ODX_OK && near(&im, 10, 7, white, 1) &&
          near(&im, 30, 7, Q[1], 1));
    cap_image_free(&im);
    free(b.p);
    /* palette */
    b = make_tiff(40, 30, &(tw){.palette = true});
    CHECK(dec(&b, "tp.tif", &h, &im, &e) == ODX_OK && quads_ok(&im, 1, 1));
    cap_image_free(&im);
    free(b.p);
    /* Orientation 6 (RIGHTTOP): turned once, transpose included */
    b = make_tiff(40, 30, &(tw){.bps = 8, .spp = 3, .orientation = ORIENTATION_RIGHTTOP});
    CHECK_MSG(dec(&b, "to.tif", &h, &im, &e) == ODX_OK, "%s", e.msg);
    CHECK(h.orientation == 6 && im.w == 30 && im.h == 40 && quads_ok(&im, 6, 0));
    cap_image_free(&im);
    free(b.p);
    /* three pages: flagged, page one decoded; a reduced-size IFD is no page */
    b = make_tiff(40, 30, &(tw){.bps = 8, .spp = 3, .pages = 3});
    CHECK(dec(&b, "pages.tif", &h, &im, &e) == ODX_OK && h.n_frames == 3 && quads_ok(&im, 1, 0));
    cap_image_free(&im);
    free(b.p);
    b = make_tiff(40, 30, &(tw){.bps = 8, .spp = 3, .pages = 2, .reduced_second = true});
    CHECK(dec(&b, "thumb.tif", &h, &im, &e) == ODX_OK && h.n_frames == 1);
    cap_image_free(&im);
    free(b.p);
    /* a huge size in the IFD: refused before any strip is read */
    buf hg = {0};
    static const uint8_t head[8] = {'I', 'I', 42, 0, 8, 0, 0, 0};
    bput(&hg, head, 8);
    bput16(&hg, 6);
    uint16_t tags[6][2] = {{256, 4}, {257, 4}, {258, 3}, {262, 3}, {273, 4}, {279, 4}};
    uint32_t vals[6] = {200000, 200000, 8, 1, 200, 100};
    for (int i = 0; i < 6; i++) {
        bput16(&hg, tags[i][0]);
        bput16(&hg, tags[i][1]);
        bput32(&hg, 1);
        bput32(&hg, vals[i]);
    }
    bput32(&hg, 0);
    uint8_t zero[128] = {0};
    bput(&hg, zero, sizeof zero);
    expect_limit("tiff", &hg, "200000x200000");
    free(hg.p);
}

/* --------------------------------------------------------------- BMP ---- */

static void test_bmp(void)
{
    cap_header h;
    cap_image im;
    odx_err e;
    const bw kinds[] = {{.bpp = 24}, {.bpp = 24, .top_down = true}, {.bpp = 8}, {.bpp = 16},
                        {.bpp = 8, .rle8 = true}, {.bpp = 32}};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        buf b = make_bmp(41, 30, &kinds[i]);
        odx_status st = dec(&b, "b.gif", &h, &im, &e);
        CHECK_MSG(st == ODX_OK, "bmp kind %zu: %s", i, e.msg);
        CHECK_STR(h.format, "bmp");
        CHECK_MSG(im.w == 41 && im.h == 30 && quads_ok(&im, 1, kinds[i].bpp == 16 ? 8 : 0),
                  "bmp kind %zu", i);
        CHECK(!h.has_alpha); /* 32-bit with no alpha mask: the 4th byte is not alpha */
        cap_image_free(&im);
        if (i == 0 || i == 4)
            robust(i ? "bmp rle8" : "bmp", &b, 60);
        free(b.p);
    }
    /* V5 header with an alpha mask: transparent quadrant on white */
    buf b = make_bmp(40, 30, &(bw){.bpp = 32, .alpha_v5 = true});
    CHECK_MSG(dec(&b, "a.bmp", &h, &im, &e) == ODX_OK, "%s", e.msg);
    static const uint8_t white[3] = {255, 255, 255};
    CHECK(h.has_alpha && near(&im, 10, 7, white, 0) && near(&im, 30, 7, Q[1], 0));
    cap_image_free(&im);
    free(b.p);
    /* strict header checks */
    b = make_bmp(40, 30, &(bw){.bpp = 24});
    b.p[10] = 0xff; b.p[11] = 0xff; b.p[12] = 0xff; /* pixel offset past the end */
    CHECK(dec(&b, "off.bmp", &h, &im, &e) == ODX_ERR_DECODE && !im.rgb && strstr(e.msg, "BMP"));
    free(b.p);
    b = make_bmp(40, 30, &(bw){.bpp = 24});
    b.p[28] = 7; /* 7 bits a pixel */
    CHECK(dec(&b, "bpp.bmp", &h, &im, &e) == ODX_ERR_DECODE && strstr(e.msg, "bits"));
    free(b.p);
    b = make_bmp(40, 30, &(bw){.bpp = 24});
    uint32_t big = 150000;
    memcpy(b.p + 18, &big, 4);
    memcpy(b.p + 22, &big, 4);
    expect_limit("bmp", &b, "150000x150000");
    free(b.p);
}

/* -------------------------------------------------------------- HEIF ---- */

static void test_heif_one(enum heif_compression_format fmt, const char *want)
{
    cap_header h;
    cap_image im;
    odx_err e;
    buf b = make_heif(fmt, 64, 48, false, 1, 0);
    CHECK_MSG(b.n > 0, "%s: the encoder wrote nothing", want);
    if (!b.n)
        return;
    CHECK_MSG(dec(&b, "h.png", &h, &im, &e) == ODX_OK, "%s: %s", want, e.msg);
    CHECK_STR(h.format, want);
    CHECK(im.w == 64 && im.h == 48 && h.orientation == 1 && quads_ok(&im, 1, 40));
    cap_image_free(&im);
    robust(want, &b, 400);
    /* the stored size (ispe) claims 60000x60000: refused from the header */
    buf hg = {0};
    bput(&hg, b.p, b.n);
    int patched = 0;
    for (size_t i = 0; i + 16 <= hg.n; i++)
        if (!memcmp(hg.p + i, "ispe", 4)) {
            static const uint8_t big[8] = {0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60};
            memcpy(hg.p + i + 8, big, 8); /* after version/flags */
            patched++;
        }
    CHECK(patched > 0);
    cap_header hh;
    odx_status st = dec(&hg, "huge", &hh, &im, &e);
    CHECK_MSG((st == ODX_ERR_LIMIT || st == ODX_ERR_DECODE) && !im.rgb && e.msg[0],
              "%s ispe 60000: status %d (%s)", want, st, e.msg);
    fprintf(stderr, "  %s with ispe 60000x60000: %s\n", want, e.msg);
    free(hg.p);
    free(b.p);
    /* rotation stored as irot, and the same said in EXIF: turned once */
    b = make_heif(fmt, 64, 48, false, 6, 6);
    CHECK_MSG(dec(&b, "r.heic", &h, &im, &e) == ODX_OK, "%s rotated: %s", want, e.msg);
    CHECK_MSG(im.w == 48 && im.h == 64 && h.width == 48 && h.height == 64 && h.orientation == 1,
              "%s rotated: %dx%d, header %dx%d orientation %d", want, im.w, im.h, h.width,
              h.height, h.orientation);
    CHECK_MSG(h.has_exif, "%s: EXIF block not read", want);
    CHECK(quads_ok(&im, 6, 40));
    cap_image_free(&im);
    free(b.p);
    /* alpha onto white */
    b = make_heif(fmt, 64, 48, true, 1, 0);
    CHECK_MSG(dec(&b, "a.heic", &h, &im, &e) == ODX_OK, "%s alpha: %s", want, e.msg);
    static const uint8_t white[3] = {255, 255, 255};
    CHECK(h.has_alpha && near(&im, 16, 12, white, 30) && near(&im, 48, 12, Q[1], 40));
    cap_image_free(&im);
    free(b.p);
}

/* Item references (iref) that loop or chain too deep are refused before
 * libheif follows them: libheif 1.15 recurses along them without a bound
 * (a fuzzed file overflowed the stack in CI). The files are built box by
 * box: two 'iden' items whose data is the ftyp, references as given. */
static void be(buf *b, uint32_t v, int n) /* n > 4: zeros first */
{
    for (int i = n - 1; i >= 0; i--) {
        uint8_t c = i < 4 ? (uint8_t)(v >> (8 * i)) : 0;
        bput(b, &c, 1);
    }
}

static void box_close(buf *b, size_t at) /* patches the size at b->p + at */
{
    uint32_t n = (uint32_t)(b->n - at);
    for (int i = 0; i < 4; i++)
        b->p[at + i] = (uint8_t)(n >> (24 - 8 * i));
}

static size_t box_open(buf *b, const char *type, int full, uint32_t vf)
{
    size_t at = b->n;
    be(b, 0, 4);
    bput(b, type, 4);
    if (full)
        be(b, vf, 4);
    return at;
}

typedef struct {
    const char *type; /* reference type, 4 characters */
    uint32_t from, to;
} tref;

/* n references; items 1..nitems of the given types (NULL: all 'iden');
 * item 1 is the primary. Every item's data is the 8 bytes at the start of
 * the file, except for grid, overlay and hvc1 items, placed in 'idat' when idat
 * is given (their data, the same for each, idat_n bytes, of which the
 * iloc extent says idat_n + over: over > 0 reads past the idat box's data
 * into what follows it, the last box of the file); an extra 'ispe' of
 * xw x xh when xw > 0. */
/* An extra property box placed in 'ipco' after the ispe (NULL: none). */
static const buf *heif_extra_prop;
/* The layout of 'iloc' (NULL: version 1, 4-byte offsets and lengths, no
 * base offset): the version, the field sizes written in its header (a
 * field is written only when its size is 4 or 8; lengths always take 4
 * bytes), the data reference index, and for the items in 'idat' the base
 * offset, the offset of their one extent, or next extents (offset, length)
 * instead. */
typedef struct {
    int version, offn, lenn, basen, idxn;
    uint16_t dref;
    uint64_t base;
    uint32_t off;
    const uint32_t (*ext)[2];
    int next;
} heif_iloc_layout;
static const heif_iloc_layout *heif_iloc;
/* The payload of 'iref' after its version and flags (NULL: from refs). */
static const buf *heif_raw_iref;
/* When set, 'mime' items say this content encoding (after the content
 * type application/rdf+xml) and have their data in 'idat'. */
static const char *heif_mime_encoding;

static buf heif_with_items(const tref *refs, int n, int nitems, const char *const *types,
                           const uint8_t *idat, size_t idat_n, size_t over, uint32_t xw,
                           uint32_t xh)
{
    buf b = {0};
    size_t t = box_open(&b, "ftyp", 0, 0);
    bput(&b, "heic", 4);
    be(&b, 0, 4);
    bput(&b, "mif1heic", 8);
    box_close(&b, t);
    size_t m = box_open(&b, "meta", 1, 0);
    t = box_open(&b, "hdlr", 1, 0);
    be(&b, 0, 4);
    bput(&b, "pict", 4);
    be(&b, 0, 12);
    be(&b, 0, 1);
    box_close(&b, t);
    t = box_open(&b, "pitm", 1, 0);
    be(&b, 1, 2);
    box_close(&b, t);
    /* iloc version 1: construction method 1 (idat) for grid and overlay
     * items when idat is given, 0 (the file) otherwise; heif_iloc changes
     * the layout */
    static const heif_iloc_layout plain = {1, 4, 4, 0, 0, 0, 0, 0, NULL, 0};
    const heif_iloc_layout *L = heif_iloc ? heif_iloc : &plain;
    t = box_open(&b, "iloc", 1, (uint32_t)L->version << 24);
    be(&b, (uint32_t)(L->offn << 12 | L->lenn << 8 | L->basen << 4 | L->idxn), 2);
    be(&b, (uint32_t)nitems, L->version < 2 ? 2 : 4);
    for (int i = 1; i <= nitems; i++) {
        const char *ty = types ? types[i - 1] : "iden";
        bool in_idat = idat && (!strcmp(ty, "grid") || !strcmp(ty, "iovl") || !strcmp(ty, "hvc1") ||
                                (heif_mime_encoding && !strcmp(ty, "mime")));
        be(&b, (uint32_t)i, L->version < 2 ? 2 : 4);
        if (L->version >= 1)
            be(&b, in_idat ? 1 : 0, 2);
        be(&b, L->dref, 2);
        uint64_t base = in_idat ? L->base : 0;
        if (L->basen == 4 || L->basen == 8)
            for (int k = L->basen - 1; k >= 0; k--)
                be(&b, (uint32_t)(base >> (8 * k)) & 0xff, 1);
        const uint32_t one[1][2] = {{in_idat ? L->off : 0, in_idat ? (uint32_t)(idat_n + over) : 8}};
        const uint32_t(*ext)[2] = in_idat && L->next ? L->ext : one;
        int next = in_idat && L->next ? L->next : 1;
        be(&b, (uint32_t)next, 2);
        for (int e = 0; e < next; e++) {
            if (L->version >= 2 && (L->idxn == 4 || L->idxn == 8))
                be(&b, 0, L->idxn);
            if (L->offn == 4 || L->offn == 8) {
                if (L->offn == 8)
                    be(&b, 0, 4);
                be(&b, ext[e][0], 4);
            }
            be(&b, ext[e][1], 4);
        }
    }
    box_close(&b, t);
    t = box_open(&b, "iinf", 1, 0);
    be(&b, (uint32_t)nitems, 2);
    for (int i = 1; i <= nitems; i++) {
        size_t f = box_open(&b, "infe", 1, 2u << 24);
        be(&b, (uint32_t)i, 2);
        be(&b, 0, 2);
        bput(&b, types ? types[i - 1] : "iden", 4);
        be(&b, 0, 1);
        if (heif_mime_encoding && types && !strcmp(types[i - 1], "mime")) {
            bput(&b, "application/rdf+xml", 20);
            bput(&b, heif_mime_encoding, strlen(heif_mime_encoding) + 1);
        }
        box_close(&b, f);
    }
    box_close(&b, t);
    t = box_open(&b, "iref", 1, 0);
    if (heif_raw_iref)
        bput(&b, heif_raw_iref->p, heif_raw_iref->n);
    for (int i = 0; i < n; i++) {
        size_t r = box_open(&b, refs[i].type, 0, 0);
        be(&b, refs[i].from, 2);
        be(&b, 1, 2);
        be(&b, refs[i].to, 2);
        box_close(&b, r);
    }
    box_close(&b, t);
    t = box_open(&b, "iprp", 0, 0);
    size_t c = box_open(&b, "ipco", 0, 0);
    size_t sp = box_open(&b, "ispe", 1, 0);
    be(&b, 64, 4);
    be(&b, 48, 4);
    box_close(&b, sp);
    if (xw) {
        sp = box_open(&b, "ispe", 1, 0);
        be(&b, xw, 4);
        be(&b, xh, 4);
        box_close(&b, sp);
    }
    if (heif_extra_prop)
        bput(&b, heif_extra_prop->p, heif_extra_prop->n);
    box_close(&b, c);
    c = box_open(&b, "ipma", 1, 0);
    be(&b, (uint32_t)nitems, 4);
    for (int i = 1; i <= nitems; i++) {
        be(&b, (uint32_t)i, 2);
        /* the ispe, and the extra property when there is one (index 2, or
         * 3 after an extra ispe) */
        be(&b, heif_extra_prop ? 2 : 1, 1);
        be(&b, 0x81, 1);
        if (heif_extra_prop)
            be(&b, xw ? 0x83 : 0x82, 1);
    }
    box_close(&b, c);
    box_close(&b, t);
    if (idat) {
        t = box_open(&b, "idat", 0, 0);
        bput(&b, idat, idat_n);
        box_close(&b, t);
    }
    box_close(&b, m);
    return b;
}

static buf heif_with_refs(const tref *refs, int n, int nitems)
{
    return heif_with_items(refs, n, nitems, NULL, NULL, 0, 0, 0, 0);
}

static void expect_refs(const char *what, buf *b, const char *want)
{
    cap_header h;
    cap_image im;
    odx_err e;
    odx_status st = dec(b, "refs.heic", &h, &im, &e);
    if (want) {
        CHECK_MSG(st == ODX_ERR_DECODE && !im.rgb && strstr(e.msg, "refs.heic") &&
                      strstr(e.msg, "item references") && strstr(e.msg, want),
                  "%s: status %d (%s)", what, st, e.msg);
    } else {
        /* not refused for its references (libheif may still refuse the
         * made-up item data) */
        CHECK_MSG(st == ODX_OK || !strstr(e.msg, "item references"), "%s: %s", what, e.msg);
        if (st == ODX_OK)
            cap_image_free(&im);
    }
    free(b->p);
}

static void test_heif_refs(void)
{
    static const tref two[] = {{"dimg", 1, 2}, {"dimg", 2, 1}};
    buf b = heif_with_refs(two, 2, 2);
    expect_refs("dimg 1->2->1", &b, "item 1 lead back");
    static const tref self[] = {{"auxl", 1, 1}};
    b = heif_with_refs(self, 1, 1);
    expect_refs("auxl 1->1", &b, "item 1 lead back");
    static const tref cself[] = {{"cdsc", 2, 2}};
    b = heif_with_refs(cself, 1, 2);
    expect_refs("cdsc 2->2", &b, "item 2 lead back");
    static const tref one[] = {{"dimg", 1, 2}};
    b = heif_with_refs(one, 1, 2);
    expect_refs("dimg 1->2", &b, NULL);
    /* decoding 1 decodes its input 2, whose alpha plane is 1 (auxl 1->2) */
    static const tref mixed[] = {{"dimg", 1, 2}, {"auxl", 1, 2}};
    b = heif_with_refs(mixed, 2, 2);
    expect_refs("dimg 1->2, 1 the alpha of 2", &b, "lead back");
    /* premultiplied alpha (MIAF): the image says prem to its alpha plane,
     * which says auxl back: a loop of references decoding never follows */
    static const tref prem[] = {{"prem", 1, 2}, {"auxl", 2, 1}};
    b = heif_with_refs(prem, 2, 2);
    expect_refs("prem 1->2 + auxl 2->1", &b, NULL);
    static const tref thumbs[] = {{"thmb", 1, 2}, {"thmb", 2, 1}, {"cdsc", 1, 2}};
    b = heif_with_refs(thumbs, 3, 2);
    expect_refs("thmb both ways", &b, NULL);
    /* a chain 1 -> 2 -> ... -> 20, and the same with a cycle at its end */
    tref chain[20];
    for (int i = 0; i < 19; i++)
        chain[i] = (tref){"dimg", (uint32_t)i + 1, (uint32_t)i + 2};
    b = heif_with_refs(chain, 19, 20);
    expect_refs("chain of 19", &b, "deeper than");
    b = heif_with_refs(chain, 12, 20);
    expect_refs("chain of 12", &b, NULL);
    chain[19] = (tref){"dimg", 20, 9};
    b = heif_with_refs(chain + 8, 12, 20);
    expect_refs("9..20 then 20->9", &b, "lead back");
    /* a diamond: 1->2, 1->3, 2->4, 3->4 is no cycle */
    static const tref dia[] = {{"dimg", 1, 2}, {"dimg", 1, 3}, {"dimg", 2, 4}, {"dimg", 3, 4}};
    b = heif_with_refs(dia, 4, 4);
    expect_refs("diamond", &b, NULL);
    /* a real file's references: the alpha item's auxl turned onto itself */
    b = make_heif(heif_compression_HEVC, 32, 24, true, 1, 0);
    int hit = 0;
    for (size_t i = 4; i + 10 <= b.n; i++)
        if (!memcmp(b.p + i, "auxl", 4)) {
            memcpy(b.p + i + 8, b.p + i + 4, 2); /* to = from */
            hit++;
        }
    CHECK(hit == 1);
    expect_refs("alpha auxl onto itself", &b, "lead back");
}

/* What libheif 1.15 trusts beyond the references: a derived image's
 * inputs must be images (an identity item naming metadata or a missing item
 * tripped an assertion, which aborts the process: fuzz_heif), and grid or
 * overlay canvases, which live in the item's data and are allocated before
 * any tile is decoded, are held to the pixel limit like every stored size
 * (a 1 KiB grid asked for three planes of ~1 GB each: fuzz_heif in CI). */
static void expect_refused(const char *what, buf *b, odx_status want_st, const char *want)
{
    cap_header h;
    cap_image im;
    odx_err e;
    odx_status st = dec(b, "items.heic", &h, &im, &e);
    if (want) {
        CHECK_MSG(st == want_st && !im.rgb && strstr(e.msg, "items.heic") && strstr(e.msg, want),
                  "%s: status %d (%s)", what, st, e.msg);
    } else {
        CHECK_MSG(st == ODX_OK || (st != ODX_ERR_LIMIT && !strstr(e.msg, "derived image") &&
                                   !strstr(e.msg, " of item ")),
                  "%s: status %d (%s)", what, st, e.msg);
        if (st == ODX_OK)
            cap_image_free(&im);
    }
    free(b->p);
}

/* An HEVC SPS NAL unit of w x h luma samples (one layer, 4:2:0, the
 * profile/tier/level block zero), with emulation prevention. */
typedef struct {
    uint8_t b[64];
    int bit;
} bitw;

static void bw_put(bitw *w, uint32_t v, int k)
{
    for (int i = k - 1; i >= 0; i--, w->bit++)
        if (v >> i & 1)
            w->b[w->bit >> 3] |= (uint8_t)(0x80 >> (w->bit & 7));
}

static void bw_ue(bitw *w, uint32_t v)
{
    int z = 0;
    while ((uint64_t)(v + 1) >> (z + 1))
        z++;
    bw_put(w, 0, z);
    bw_put(w, v + 1, z + 1);
}

/* hdr: the NAL unit header (type 33; 0x4201: layer 0, temporal id 0);
 * nest: sps_temporal_id_nesting_flag */
static size_t sps_nal_hdr(uint32_t hdr, uint32_t nest, uint32_t width, uint32_t height,
                          uint8_t *out)
{
    bitw w = {{0}, 0};
    bw_put(&w, hdr, 16);
    bw_put(&w, 0, 4);       /* vps id */
    bw_put(&w, 0, 3);       /* one sub-layer */
    bw_put(&w, nest, 1);
    w.bit += 96; /* profile, tier, level */
    bw_ue(&w, 0);
    bw_ue(&w, 1);
    bw_ue(&w, width);
    bw_ue(&w, height);
    bw_put(&w, 1, 1); /* a stop bit; the rest is cut short */
    size_t n = (size_t)(w.bit + 7) / 8, o = 0;
    int zeros = 0;
    for (size_t i = 0; i < n; i++) {
        if (i >= 2 && zeros >= 2 && w.b[i] <= 3) {
            out[o++] = 3;
            zeros = 0;
        }
        zeros = w.b[i] == 0 ? zeros + 1 : 0;
        out[o++] = w.b[i];
    }
    return o;
}

static size_t sps_nal(uint32_t width, uint32_t height, uint8_t *out)
{
    return sps_nal_hdr(0x4201, 1, width, height, out);
}

static buf hvcc_with_nal(const uint8_t *nal, size_t n)
{
    buf b = {0};
    size_t t = box_open(&b, "hvcC", 0, 0);
    uint8_t cfg[22] = {1};
    cfg[21] = 3; /* 4-byte NAL lengths */
    bput(&b, cfg, sizeof cfg);
    be(&b, 1, 1);    /* one array */
    be(&b, 0xa1, 1); /* complete, SPS */
    be(&b, 1, 2);
    be(&b, (uint32_t)n, 2);
    bput(&b, nal, n);
    box_close(&b, t);
    return b;
}

static buf hvcc_with_sps(uint32_t width, uint32_t height)
{
    uint8_t nal[80];
    return hvcc_with_nal(nal, sps_nal(width, height, nal));
}

static void test_heif_items(void)
{
    static const tref one[] = {{"dimg", 1, 2}};
    static const char *const iden_exif[] = {"iden", "Exif"};
    buf b = heif_with_items(one, 1, 2, iden_exif, NULL, 0, 0, 0, 0);
    expect_refused("iden -> Exif", &b, ODX_ERR_DECODE, "item 2, an input of a derived image, is not an image but 'Exif'");
    static const char *const iovl_mime[] = {"iovl", "mime"};
    b = heif_with_items(one, 1, 2, iovl_mime, NULL, 0, 0, 0, 0);
    expect_refused("iovl -> mime", &b, ODX_ERR_DECODE, "is not an image but 'mime'");
    static const tref missing[] = {{"dimg", 1, 34}};
    b = heif_with_items(missing, 1, 2, NULL, NULL, 0, 0, 0, 0);
    expect_refused("iden -> missing item", &b, ODX_ERR_DECODE, "item 34, an input of a derived image, does not exist");
    /* the dimg of an item that is no derived image is never followed */
    static const char *const hvc_exif[] = {"hvc1", "Exif"};
    b = heif_with_items(one, 1, 2, hvc_exif, NULL, 0, 0, 0, 0);
    expect_refused("hvc1 -> Exif", &b, ODX_OK, NULL);
    static const char *const iden_hvc[] = {"iden", "hvc1"};
    b = heif_with_items(one, 1, 2, iden_hvc, NULL, 0, 0, 0, 0);
    expect_refused("iden -> hvc1", &b, ODX_OK, NULL);

    /* grid canvases: 16-bit sides (flags 0) and 32-bit (flags 1) */
    static const char *const grid_tile[] = {"grid", "hvc1"};
    const uint8_t g16[] = {0, 0, 0, 0, 0xfd, 0xe8, 0x3a, 0x98}; /* 65000 x 15000 */
    b = heif_with_items(one, 1, 2, grid_tile, g16, sizeof g16, 0, 0, 0);
    expect_refused("grid 65000x15000", &b, ODX_ERR_LIMIT, "65000x15000 (975.0 MP), over the limit of 100.0 MP (HEIF grid of item 1)");
    const uint8_t g32[] = {0, 1, 0, 0, 0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20}; /* 20000 x 20000 */
    b = heif_with_items(one, 1, 2, grid_tile, g32, sizeof g32, 0, 0, 0);
    expect_refused("grid 20000x20000 (32-bit)", &b, ODX_ERR_LIMIT, "20000x20000");
    const uint8_t gok[] = {0, 0, 0, 0, 0, 64, 0, 48};
    b = heif_with_items(one, 1, 2, grid_tile, gok, sizeof gok, 0, 0, 0);
    expect_refused("grid 64x48", &b, ODX_OK, NULL);
    const uint8_t gzero[] = {0, 0, 0, 0, 0, 0, 0, 48};
    b = heif_with_items(one, 1, 2, grid_tile, gzero, sizeof gzero, 0, 0, 0);
    expect_refused("grid 0x48", &b, ODX_ERR_DECODE, "invalid image size 0x48");
    /* overlay: version, flags, four 16-bit fill values, then the canvas */
    static const char *const iovl_tile[] = {"iovl", "hvc1"};
    const uint8_t o16[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xea, 0x60, 0x27, 0x10, 0, 0, 0, 0}; /* 60000 x 10000 */
    b = heif_with_items(one, 1, 2, iovl_tile, o16, sizeof o16, 0, 0, 0);
    expect_refused("overlay 60000x10000", &b, ODX_ERR_LIMIT, "(HEIF overlay of item 1)");
    /* libheif bounds an idat extent by the idat box's size with its header,
     * so it reads past the data into what follows (fuzz_heif: a grid read
     * 7 bytes of the next box's header as a 14441x27759 canvas, 401 MB);
     * here the grid's height is the first two bytes after the file's last
     * box */
    const uint8_t gshort[] = {0, 0, 0, 0, 0xfd, 0xe8}; /* 65000 x (what follows) */
    b = heif_with_items(one, 1, 2, grid_tile, gshort, sizeof gshort, 2, 0, 0);
    bput(&b, "\x3a\x98", 2); /* 15000 */
    expect_refused("grid read past its idat", &b, ODX_ERR_LIMIT, "65000x15000");
    b = heif_with_items(one, 1, 2, grid_tile, gshort, sizeof gshort, 9, 0, 0);
    bput(&b, "\x3a\x98\0\0\0\0\0\0\0", 9);
    expect_refused("grid read past its idat's box", &b, ODX_OK, NULL);
    /* every stored size (ispe), not only the primary's */
    b = heif_with_items(one, 1, 2, iden_hvc, NULL, 0, 0, 30000, 30000);
    expect_refused("a 30000x30000 ispe", &b, ODX_ERR_LIMIT, "30000x30000 (900.0 MP)");
    b = heif_with_items(one, 1, 2, iden_hvc, NULL, 0, 0, 5000, 4000);
    expect_refused("a 5000x4000 ispe", &b, ODX_OK, NULL);

    /* the size libde265 allocates is its SPS's, in the hvcC or in the
     * item's data, whatever the ispe says */
    static const char *const hvc[] = {"hvc1"};
    buf prop = hvcc_with_sps(30000, 30000);
    heif_extra_prop = &prop;
    b = heif_with_items(NULL, 0, 1, hvc, NULL, 0, 0, 0, 0);
    expect_refused("hvcC SPS 30000x30000", &b, ODX_ERR_LIMIT, "30000x30000 (900.0 MP), over the limit of 100.0 MP (HEIF HEVC sequence parameters)");
    free(prop.p);
    prop = hvcc_with_sps(64, 48);
    b = heif_with_items(NULL, 0, 1, hvc, NULL, 0, 0, 0, 0);
    expect_refused("hvcC SPS 64x48", &b, ODX_OK, NULL);
    free(prop.p);
    heif_extra_prop = NULL;
    uint8_t data[96];
    size_t dn = sps_nal(65000, 20000, data + 4);
    data[0] = data[1] = data[2] = 0;
    data[3] = (uint8_t)dn;
    b = heif_with_items(NULL, 0, 1, hvc, data, dn + 4, 0, 0, 0);
    expect_refused("SPS 65000x20000 in the data", &b, ODX_ERR_LIMIT, "65000x20000 (1300.0 MP), over the limit of 100.0 MP (HEIF HEVC sequence parameters of item 1)");
    data[3] = (uint8_t)(dn + 1); /* a length past the data: libheif refuses it */
    b = heif_with_items(NULL, 0, 1, hvc, data, dn + 4, 0, 0, 0);
    expect_refused("SPS with a length past the data", &b, ODX_OK, NULL);
}

/* The boxes read the way libheif 1.15 reads them, where that differs from
 * what the layout suggests: each case hides a bomb from a reading that
 * follows the standard but not libheif (each passed the previous scan). */
static void test_heif_as_libheif(void)
{
    static const tref one[] = {{"dimg", 1, 2}};
    static const char *const grid_tile[] = {"grid", "hvc1"};
    const uint8_t g16[] = {0, 0, 0, 0, 0xfd, 0xe8, 0x3a, 0x98}; /* 65000 x 15000 */
    const uint8_t gok[] = {0, 0, 0, 0, 0, 64, 0, 48};
    /* iref: libheif reads a reference's ids after its header and the next
     * reference straight after them, whatever the reference's size says;
     * here the first one's size covers a second, 'cdsc' 2 -> 2 */
    buf raw = {0};
    be(&raw, 8 + 2 + 2 + 2 + 14, 4);
    bput(&raw, "cdsc", 4);
    be(&raw, 2, 2);
    be(&raw, 1, 2);
    be(&raw, 1, 2);
    be(&raw, 14, 4);
    bput(&raw, "cdsc", 4);
    be(&raw, 2, 2);
    be(&raw, 1, 2);
    be(&raw, 2, 2);
    heif_raw_iref = &raw;
    buf b = heif_with_refs(NULL, 0, 2);
    expect_refs("a reference inside another's size", &b, "item 2 lead back");
    raw.n = 14; /* the first alone: nothing hidden */
    raw.p[3] = 14;
    b = heif_with_refs(NULL, 0, 2);
    expect_refs("one cdsc 2 -> 1", &b, NULL);
    heif_raw_iref = NULL;
    free(raw.p);

    /* iloc: field sizes other than 4 and 8 are absent, the index size is
     * read from version 2 on, a version above 2 reads as 2, the data
     * reference index is ignored, an idat offset wraps around 2^64 */
    static const struct {
        const char *what;
        heif_iloc_layout L;
    } lay[] = {
        {"iloc v1 with an index size", {1, 4, 4, 0, 1, 0, 0, 0, NULL, 0}},
        {"iloc with 2-byte offsets (absent)", {1, 2, 4, 0, 0, 0, 0, 0, NULL, 0}},
        {"iloc version 3", {3, 4, 4, 0, 0, 0, 0, 0, NULL, 0}},
        {"iloc v2 with 4-byte indexes", {2, 4, 4, 0, 4, 0, 0, 0, NULL, 0}},
        {"iloc data reference 1", {1, 4, 4, 0, 0, 1, 0, 0, NULL, 0}},
        {"iloc idat offset past 2^64", {1, 4, 4, 8, 0, 0, ~(uint64_t)15, 16, NULL, 0}},
    };
    for (size_t i = 0; i < sizeof lay / sizeof *lay; i++) {
        char what[96];
        heif_iloc = &lay[i].L;
        b = heif_with_items(one, 1, 2, grid_tile, g16, sizeof g16, 0, 0, 0);
        snprintf(what, sizeof what, "%s: grid 65000x15000", lay[i].what);
        expect_refused(what, &b, ODX_ERR_LIMIT, "65000x15000 (975.0 MP)");
        b = heif_with_items(one, 1, 2, grid_tile, gok, sizeof gok, 0, 0, 0);
        snprintf(what, sizeof what, "%s: grid 64x48", lay[i].what);
        expect_refused(what, &b, ODX_OK, NULL);
    }
    heif_iloc = NULL;

    /* libde265 removes emulation prevention from the whole NAL unit, its
     * header included: a header ending in 0 (temporal id -1, which
     * libde265 takes) and a payload starting 00 03 loses that 03 */
    static const char *const hvc[] = {"hvc1"};
    uint8_t nal[96];
    size_t nn = sps_nal_hdr(0x4200, 0, 65000, 20000, nal);
    CHECK(nn > 4 && nal[1] == 0 && nal[2] == 0 && nal[3] == 3);
    buf prop = hvcc_with_nal(nal, nn);
    heif_extra_prop = &prop;
    b = heif_with_items(NULL, 0, 1, hvc, NULL, 0, 0, 0, 0);
    expect_refused("SPS with header 42 00", &b, ODX_ERR_LIMIT, "65000x20000");
    heif_extra_prop = NULL;
    free(prop.p);

    /* an SPS after a long NAL unit made of one region repeated: the item's
     * data is 30 x 200 bytes more than the file */
    uint8_t d[512] = {0};
    size_t sn = sps_nal(65000, 20000, d + 4 + 200 + 4);
    d[2] = 6000 >> 8; /* one unit of 30 x 200 bytes */
    d[3] = 6000 & 0xff;
    memset(d + 4, 0xff, 200); /* layer 63: libde265 drops it */
    d[4 + 200 + 3] = (uint8_t)sn;
    uint32_t ext[32][2];
    ext[0][0] = 0, ext[0][1] = 4;
    for (int i = 1; i <= 30; i++)
        ext[i][0] = 4, ext[i][1] = 200;
    ext[31][0] = 204, ext[31][1] = (uint32_t)(4 + sn);
    heif_iloc_layout many = {1, 4, 4, 0, 0, 0, 0, 0, (const uint32_t(*)[2])ext, 32};
    heif_iloc = &many;
    b = heif_with_items(NULL, 0, 1, hvc, d, 4 + 200 + 4 + sn, 0, 0, 0);
    CHECK(b.n * 4 + 64 < 6000);
    expect_refused("SPS after 30 repeats of one region", &b, ODX_ERR_LIMIT, "65000x20000");
    heif_iloc = NULL;
}

/* libheif 1.15 pastes a grid tile's alpha plane with the tile's colour
 * size and sample width, past the alpha plane's end when it is smaller (a
 * 1024x1024 tile whose alpha has a clap to half its height: valgrind shows
 * a read past a 1 MiB block in heif_decode_image, seed
 * grid_tile_alpha_clap.heic). An auxiliary image of a tile is refused;
 * one of the whole image is what writers make. */
static void test_heif_tile_aux(void)
{
    static const char *const grid3[] = {"grid", "hvc1", "hvc1"};
    const uint8_t gok[] = {0, 0, 0, 0, 0, 64, 0, 48};
    static const tref tile_alpha[] = {{"dimg", 1, 2}, {"auxl", 3, 2}};
    buf b = heif_with_items(tile_alpha, 2, 3, grid3, gok, sizeof gok, 0, 0, 0);
    expect_refused("auxl to a grid's tile", &b, ODX_ERR_DECODE,
                   "item 2, an input of a grid or overlay, has an auxiliary image");
    static const tref grid_alpha[] = {{"dimg", 1, 2}, {"auxl", 3, 1}};
    b = heif_with_items(grid_alpha, 2, 3, grid3, gok, sizeof gok, 0, 0, 0);
    expect_refused("auxl to the grid", &b, ODX_OK, NULL);
    static const char *const grid_iden[] = {"grid", "iden", "hvc1", "hvc1"};
    static const tref iden_alpha[] = {{"dimg", 1, 2}, {"dimg", 2, 3}, {"auxl", 4, 3}};
    b = heif_with_items(iden_alpha, 3, 4, grid_iden, gok, sizeof gok, 0, 0, 0);
    expect_refused("auxl to the input of an identity tile", &b, ODX_ERR_DECODE,
                   "item 3, an input of a grid or overlay");
    static const char *const iovl3[] = {"iovl", "hvc1", "hvc1"};
    b = heif_with_items(tile_alpha, 2, 3, iovl3, gok, sizeof gok, 0, 0, 0);
    expect_refused("auxl to an overlay's input", &b, ODX_ERR_DECODE,
                   "item 2, an input of a grid or overlay, has an auxiliary image");
    static const char *const iden_hvc[] = {"iden", "hvc1", "hvc1"};
    static const tref iden_only[] = {{"dimg", 1, 2}, {"auxl", 3, 2}};
    b = heif_with_items(iden_only, 2, 3, iden_hvc, NULL, 0, 0, 0, 0);
    expect_refused("auxl to the input of an identity primary", &b, ODX_OK, NULL);
    /* the seed: libheif's own 1024x1024 RGBA file, its colour image made
     * the one tile of a grid and its alpha given a clap */
    const char *src = getenv("ODX_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/fuzz_heif/grid_tile_alpha_clap.heic",
             src && *src ? src : ".");
    odx_err e = {0};
    b = (buf){0};
    CHECK_MSG(core_read_file(path, 1 << 20, &b.p, &b.n, &e) == ODX_OK, "%s", e.msg);
    if (b.p)
        expect_refused("grid_tile_alpha_clap.heic", &b, ODX_ERR_DECODE,
                       "item 1, an input of a grid or overlay, has an auxiliary image");
}

/* libheif 1.15.1-1+deb12u1 decodes a tile as often as a grid names it and
 * an overlay's input as often as the overlay names it, without a bound: a
 * few hundred KiB make billions of decodes. More than 4096 images for one
 * item are refused. */
static void test_heif_decodes(void)
{
    static tref refs[4096];
    static const char *const grid_tile[] = {"grid", "hvc1"};
    const uint8_t gok[] = {0, 0, 0, 0, 0, 64, 0, 48};
    for (int i = 0; i < 4096; i++)
        refs[i] = (tref){"dimg", 1, 2};
    buf b = heif_with_items(refs, 4095, 2, grid_tile, gok, sizeof gok, 0, 0, 0);
    expect_refused("a grid of one tile 4095 times", &b, ODX_OK, NULL);
    b = heif_with_items(refs, 4096, 2, grid_tile, gok, sizeof gok, 0, 0, 0);
    expect_refused("a grid of one tile 4096 times", &b, ODX_ERR_LIMIT,
                   "item 1 decodes more than 4096 images");
    /* an overlay of n grids of 64 tiles: 1 + n x 65 decodes */
    static const char *const iovl_grid[] = {"iovl", "grid", "hvc1"};
    for (int n = 63; n <= 64; n++) {
        int k = 0;
        for (int i = 0; i < n; i++)
            refs[k++] = (tref){"dimg", 1, 2};
        for (int i = 0; i < 64; i++)
            refs[k++] = (tref){"dimg", 2, 3};
        b = heif_with_items(refs, k, 3, iovl_grid, gok, sizeof gok, 0, 0, 0);
        if (n == 63)
            expect_refused("an overlay of 63 grids of 64 tiles", &b, ODX_OK, NULL);
        else
            expect_refused("an overlay of 64 grids of 64 tiles", &b, ODX_ERR_LIMIT,
                           "item 1 decodes more than 4096 images");
    }
}

/* An hvc1 item of more NAL units than a picture has: each is a step of
 * the scan and an allocation in libde265 (32 extents of one region of
 * zeros: 2^31 empty units from 256 MiB). 65536 are accepted. */
static void test_heif_nal_count(void)
{
    static const char *const hvc[] = {"hvc1"};
    static uint8_t zeros[8196];
    uint32_t ext[32][2];
    for (size_t n = 8192; n <= 8196; n += 4) {
        for (int i = 0; i < 32; i++)
            ext[i][0] = 0, ext[i][1] = (uint32_t)n;
        heif_iloc_layout L = {1, 4, 4, 0, 0, 0, 0, 0, (const uint32_t(*)[2])ext, 32};
        heif_iloc = &L;
        buf b = heif_with_items(NULL, 0, 1, hvc, zeros, n, 0, 0, 0);
        if (n == 8192)
            expect_refused("32 x 2048 empty NAL units", &b, ODX_OK, NULL);
        else
            expect_refused("32 x 2049 empty NAL units", &b, ODX_ERR_LIMIT,
                           "item 1 holds more than 65536 NAL units");
    }
    heif_iloc = NULL;
}

/* libheif reads every item's data when it opens a file, and an item may
 * repeat one region in 32 extents (a 1 MiB file of 48 such items: 1.6 GB
 * before decoding). All the items' data together is held to twice the
 * file and 1 MiB. */
static void test_heif_item_data(void)
{
    static const char *const hvc2[] = {"hvc1", "hvc1"};
    static uint8_t ff[65536];
    memset(ff, 0xff, sizeof ff); /* one NAL length past the end: no units */
    uint32_t ext[32][2];
    for (int i = 0; i < 32; i++)
        ext[i][0] = 0, ext[i][1] = sizeof ff;
    heif_iloc_layout L = {1, 4, 4, 0, 0, 0, 0, 0, (const uint32_t(*)[2])ext, 8};
    heif_iloc = &L;
    buf b = heif_with_items(NULL, 0, 2, hvc2, ff, sizeof ff, 0, 0, 0); /* 2 x 512 KiB */
    expect_refused("two items of 8 x 64 KiB", &b, ODX_OK, NULL);
    L.next = 32;
    b = heif_with_items(NULL, 0, 2, hvc2, ff, sizeof ff, 0, 0, 0); /* 2 x 2 MiB */
    expect_refused("two items of 32 x 64 KiB", &b, ODX_ERR_LIMIT, "(regions read more than once)");
    heif_iloc = NULL;
}

/* Deflate-compressed metadata is inflated whole when libheif opens the
 * file (deb12u1: a 1.04 MB file to 1 GB of RSS): more than 64 KiB of it is
 * refused. */
static void test_heif_deflated(void)
{
    static const char *const types[] = {"iden", "mime"};
    static uint8_t data[65537];
    heif_mime_encoding = "deflate";
    buf b = heif_with_items(NULL, 0, 2, types, data, 65536, 0, 0, 0);
    expect_refused("64 KiB of deflated metadata", &b, ODX_OK, NULL);
    b = heif_with_items(NULL, 0, 2, types, data, 65537, 0, 0, 0);
    expect_refused("64 KiB + 1 of deflated metadata", &b, ODX_ERR_LIMIT,
                   "metadata of more than 65536 bytes deflate-compressed");
    heif_mime_encoding = "gzip"; /* libheif reads it as it is */
    b = heif_with_items(NULL, 0, 2, types, data, 65537, 0, 0, 0);
    expect_refused("64 KiB + 1 of gzip metadata", &b, ODX_OK, NULL);
    heif_mime_encoding = NULL;
}

static void test_heif(void)
{
    test_heif_one(heif_compression_HEVC, "heic");
    test_heif_one(heif_compression_AV1, "avif");
    test_heif_refs();
    test_heif_items();
    test_heif_as_libheif();
    test_heif_tile_aux();
    test_heif_decodes();
    test_heif_nal_count();
    test_heif_item_data();
    test_heif_deflated();
}

/* ------------------------------------------------------------ sniff ---- */

static void test_sniff(void)
{
    CHECK_STR(cap_sniff((const uint8_t *)"GIF89a\x01\x00", 8), "gif");
    CHECK_STR(cap_sniff((const uint8_t *)"RIFF\0\0\0\0WEBPVP8 ", 16), "webp");
    CHECK_STR(cap_sniff((const uint8_t *)"II*\0\x08\0\0\0", 8), "tiff");
    CHECK_STR(cap_sniff((const uint8_t *)"MM\0*\0\0\0\x08", 8), "tiff");
    static const uint8_t bmp[18] = {'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0};
    CHECK_STR(cap_sniff(bmp, 18), "bmp");
    CHECK(cap_sniff((const uint8_t *)"BMW is a car brand", 18) == NULL);
    static const uint8_t heic[24] = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0,
                                     'm', 'i', 'f', '1', 'h', 'e', 'i', 'c'};
    CHECK_STR(cap_sniff(heic, 24), "heic");
    static const uint8_t avif[24] = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'm', 'i', 'f', '1', 0, 0, 0, 0,
                                     'm', 'i', 'f', '1', 'a', 'v', 'i', 'f'};
    CHECK_STR(cap_sniff(avif, 24), "avif");
    static const uint8_t mp4[24] = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0, 0, 0,
                                    'i', 's', 'o', 'm', 'm', 'p', '4', '1'};
    CHECK(cap_sniff(mp4, 24) == NULL);
    cap_image im = {0};
    odx_err e = {0};
    CHECK(cap_decode(mp4, 24, "v.heic", &LIM, 0, NULL, &im, &e) == ODX_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "v.heic") && strstr(e.msg, "ISO media"), "%s", e.msg);
}

int main(void)
{
    test_sniff();
    test_webp();
    test_gif();
    test_tiff();
    test_bmp();
    test_heif();
    return check_result("test_cap_formats");
}

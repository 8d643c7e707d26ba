/* decode_heif_scan.c - the item structure of a HEIF/AVIF file, checked
 * before libheif (1.15, Debian 12) reads it. libheif trusts several things
 * a crafted file of a few hundred bytes can set, and each was found by the
 * fuzz stage of CI:
 *   - item references ('iref'): libheif follows 'dimg' (from a derived
 *     image, grid/overlay/identity, to its inputs) and 'auxl' (backwards,
 *     from an image to its alpha or depth plane) by recursion without a
 *     bound, so a cycle overflowed the stack, and decodes an input as
 *     often as it is named (deb12u1 without a bound: an overlay of grids
 *     of one tile is billions of decodes). Refused here: a cycle of
 *     those, a chain deeper than HEIF_MAX_REF_DEPTH, an item whose
 *     decoding decodes more than HEIF_MAX_DECODES images, an item
 *     referring to itself by any type. 'thmb', 'cdsc', 'prem' and the
 *     like are not followed and may close a loop by design (a
 *     premultiplied image says 'prem' to its alpha plane, which says
 *     'auxl' back);
 *   - inputs of derived images: an identity or overlay item whose 'dimg'
 *     names an item that is not an image (Exif metadata, a missing item)
 *     trips an assertion in libheif's decoder, which aborts the process.
 *     Refused here: a derived image's input that is not an image item of
 *     the file's 'iinf' (hvc1, av01, vvc1, grid, iden, iovl);
 *   - auxiliary images of grid tiles and overlay inputs: libheif pastes a
 *     tile's alpha plane with the tile's colour size and sample width,
 *     past the plane's end when it is smaller or narrower (a heap
 *     over-read, found in review; deb12u1 does the same to an overlay
 *     input's). Refused here: an 'auxl' to such an input (writers attach
 *     alpha, depth and gain maps to the whole image);
 *   - sizes: libheif holds each item's 'ispe' and a grid's or overlay's
 *     canvas (stored in the item's data, not in 'ispe') only to 65535 per
 *     side, and allocates the canvas' planes before decoding anything, so a
 *     1 KiB grid asked for three planes of almost 1 GB each. Every 'ispe'
 *     and every grid/overlay canvas goes through cap_dec_check_dims, the
 *     pixel limit of every other format;
 *   - coded sizes: libde265 allocates the picture its sequence parameter
 *     set (SPS) declares, up to 65535 per side, whatever 'ispe' says; the
 *     SPS of every 'hvcC' and every SPS inside an hvc1 item's data (as
 *     libheif passes it on, NAL units after 4-byte lengths) are checked
 *     the same way. AV1 (av01) sequence headers are not parsed yet: there
 *     the bound is dav1d's frame size limit, which libheif sets to
 *     32768x32768 (a known gap: up to ~1.6 GB for one frame).
 * Each top-level 'meta' is checked (libheif uses the last it can read);
 * within one, the items are those of its first 'iinf' (libheif's choice),
 * while every 'iref', 'iloc' and 'ipco' is checked, a superset of what
 * libheif reads. Boxes that cannot be walked are left to libheif, which
 * reports the damage itself. Where libheif 1.15 reads a box otherwise than
 * the standard lays it out, it is read here as libheif reads it, or a
 * file could show the check one thing and libheif another: 'iref' entries
 * follow each other whatever their sizes say (iref_read), and 'iloc' takes
 * only 4 or 8 as a field size, reads the index size from version 2 on,
 * ignores the data reference index and wraps idat offsets (canvases_ok). */
#include "decode_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Longest chain of item references accepted (an overlay of grids of tiles
 * is 2; cameras write 1). */
#define HEIF_MAX_REF_DEPTH 16
/* More item references, items or locations than this are refused (a
 * 256-tile grid has 257 items and 256 references). */
#define HEIF_MAX_ITEMS 65536
/* Most images one item's decoding may decode, itself, tiles, inputs and
 * alpha planes included. libheif 1.15.1-1+deb12u1 has no bound: a grid
 * names one tile up to 65536 times, an overlay names such a grid up to
 * 65535 times, each decoded anew (a 64x64 grid of one tile: 4096 decodes,
 * 3.6 s here); deb12u2 stops near 2000 ('Too many derived-image decode
 * operations', 44x44 decodes and 45x45 does not). Twice that here, so
 * nothing deb12u2 decodes is refused. */
#define HEIF_MAX_DECODES 4096

#define FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* One ISOBMFF box: *type, its payload [*body, *end); false when the header
 * does not fit in [p, lim) (the caller stops walking: libheif reports it). */
static bool box_next(const uint8_t *p, const uint8_t *lim, uint32_t *type,
                     const uint8_t **body, const uint8_t **end)
{
    if (lim - p < 8)
        return false;
    uint64_t size = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    *type = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
    size_t head = 8;
    if (size == 1) {
        if (lim - p < 16)
            return false;
        size = 0;
        for (int i = 8; i < 16; i++)
            size = size << 8 | p[i];
        head = 16;
    } else if (size == 0) {
        size = (uint64_t)(lim - p);
    }
    if (size < head || size > (uint64_t)(lim - p))
        return false;
    *body = p + head;
    *end = p + size;
    return true;
}

/* n big-endian bytes (0..8) at p. */
static uint64_t rd_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Grows *p (elements of size sz) to hold one more than n; false past
 * HEIF_MAX_ITEMS or without memory. */
static bool grow(void **p, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return true;
    if (*cap >= HEIF_MAX_ITEMS)
        return false;
    size_t nc = *cap ? *cap * 2 : 64;
    void *q = realloc(*p, nc * sz);
    if (!q)
        return false;
    *p = q;
    *cap = nc;
    return true;
}

typedef struct {
    uint32_t from, to;
} heif_ref;

typedef struct {
    uint32_t id, type; /* type 0: an infe without one (version 0/1) */
    bool deflate;      /* a 'mime' item whose content encoding is deflate */
} heif_item;

/* What one 'meta' holds, gathered before anything is checked (its boxes
 * may come in any order). */
typedef struct {
    heif_ref *deps; /* decoding dependencies: dimg as stored, auxl reversed */
    size_t ndeps, capdeps;
    heif_ref *dimg; /* dimg as stored */
    size_t ndimg, capdimg;
    heif_ref *auxl; /* auxl as stored: an auxiliary image to its master */
    size_t nauxl, capauxl;
    heif_item *items; /* the first iinf's, sorted by id; an id may repeat */
    size_t nitems, capitems;
    bool have_iinf;
    const uint8_t *idat; /* the first idat's data */
    size_t idat_box;     /* and its size with the header (libheif's bound) */
    const uint8_t *iloc[8], *iloc_end[8];
    int niloc;
} heif_meta;

static bool push_ref(heif_ref **r, size_t *n, size_t *cap, uint32_t from, uint32_t to)
{
    if (!grow((void **)r, cap, *n, sizeof **r))
        return false;
    (*r)[(*n)++] = (heif_ref){from, to};
    return true;
}

/* One 'iref' payload; false when it is malformed or too large. A
 * self-reference of any type is kept as a dependency (a loop). Read the way
 * libheif 1.15 reads it (Box_iref::parse): a reference's box header gives
 * only the header's length (8 bytes, 16 with a 64-bit size, 16 more for
 * 'uuid'); the item ids follow it and the next reference follows them,
 * wherever the reference's size says it ends, so a size that covers more
 * than the ids hides nothing from libheif and must hide nothing here. An
 * id list cut by the end of the box stops there (libheif does the same). */
static bool iref_read(const uint8_t *p, const uint8_t *end, heif_meta *m)
{
    if (end - p < 4)
        return false;
    int idn = p[0] == 0 ? 2 : 4;
    p += 4;
    while (p < end) {
        if (end - p < 8)
            return false;
        uint32_t size = (uint32_t)rd_be(p, 4), type = (uint32_t)rd_be(p + 4, 4);
        size_t head = 8 + (size == 1 ? 8 : 0) + (type == FOURCC('u', 'u', 'i', 'd') ? 16 : 0);
        if ((size_t)(end - p) < head + (size_t)idn + 2)
            return false;
        p += head;
        uint32_t from = (uint32_t)rd_be(p, idn);
        unsigned cnt = (unsigned)rd_be(p + idn, 2);
        p += idn + 2;
        for (unsigned k = 0; k < cnt && p < end; k++, p += idn) {
            if (end - p < idn)
                return false;
            uint32_t to = (uint32_t)rd_be(p, idn);
            bool ok = true;
            if (type == FOURCC('d', 'i', 'm', 'g'))
                ok = push_ref(&m->deps, &m->ndeps, &m->capdeps, from, to) &&
                     push_ref(&m->dimg, &m->ndimg, &m->capdimg, from, to);
            else if (type == FOURCC('a', 'u', 'x', 'l'))
                ok = push_ref(&m->deps, &m->ndeps, &m->capdeps, to, from) &&
                     push_ref(&m->auxl, &m->nauxl, &m->capauxl, from, to);
            else if (from == to)
                ok = push_ref(&m->deps, &m->ndeps, &m->capdeps, from, to);
            if (!ok)
                return false;
        }
    }
    return true;
}

static int item_cmp(const void *a, const void *b)
{
    const heif_item *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* The entries of one 'iinf' (full box: a 16- or 32-bit count, then 'infe'
 * boxes); false when too large. Malformed entries are skipped (libheif
 * refuses the file for them). An id given twice is kept twice: libheif
 * keeps the first, and the checks below hold for every entry. */
static bool iinf_read(const uint8_t *p, const uint8_t *end, heif_meta *m)
{
    if (end - p < 4 || end - p < 4 + (p[0] == 0 ? 2 : 4))
        return true;
    p += 4 + (p[0] == 0 ? 2 : 4);
    uint32_t type;
    const uint8_t *b, *e;
    while (p < end && box_next(p, end, &type, &b, &e)) {
        p = e;
        if (type != FOURCC('i', 'n', 'f', 'e') || e - b < 4)
            continue;
        int v = b[0], idn = v >= 3 ? 4 : 2;
        if (e - b < 4 + idn + 2 + (v >= 2 ? 4 : 0))
            continue;
        heif_item it = {(uint32_t)rd_be(b + 4, idn), 0, false};
        if (v >= 2)
            it.type = (uint32_t)rd_be(b + 4 + idn + 2, 4);
        if (it.type == FOURCC('m', 'i', 'm', 'e')) {
            /* item name, content type, content encoding: strings */
            const uint8_t *t = b + 4 + idn + 2 + 4, *str[3];
            int k = 0;
            for (; k < 3 && t < e; k++) {
                str[k] = t;
                const uint8_t *z = memchr(t, 0, (size_t)(e - t));
                if (!z)
                    break;
                t = z + 1;
            }
            it.deflate = k == 3 && t - str[2] == 8 && !memcmp(str[2], "deflate", 8);
        }
        if (!grow((void **)&m->items, &m->capitems, m->nitems, sizeof *m->items))
            return false;
        m->items[m->nitems++] = it;
    }
    if (m->nitems > 1)
        qsort(m->items, m->nitems, sizeof *m->items, item_cmp);
    return true;
}

static int ref_cmp(const void *a, const void *b)
{
    const heif_ref *x = a, *y = b;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return (x->to > y->to) - (x->to < y->to);
}

/* The first reference index of item id in the sorted refs, n when none. */
static size_t ref_first(const heif_ref *r, size_t n, uint32_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].from < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* 0 when the references hold no cycle, no chain longer than
 * HEIF_MAX_REF_DEPTH and no item whose decoding decodes more than
 * HEIF_MAX_DECODES images; else 1 (a cycle through *bad), 2 (too deep) or
 * 3 (too many decodes, *bad the item). An iterative depth-first walk from
 * every item that refers to others: the frames are the path, so a
 * reference back into the path is a cycle; an item finished before is not
 * walked again, its depth and count are known. An item's depth is its
 * longest chain of references (0 for one that refers to nothing); its
 * count is the images its decoding decodes, itself included, each
 * reference counted as often as it is stored (a grid naming one tile 4096
 * times decodes it 4096 times). Items are named by the position of their
 * first reference in the sorted list. */
typedef struct {
    size_t head, i; /* the item; the next of its references to follow */
    int depth;      /* longest chain below it so far */
    uint32_t count; /* decodes so far, HEIF_MAX_DECODES + 1 at most */
} ref_frame;

static uint32_t count_add(uint32_t a, uint32_t b)
{
    return a + b > HEIF_MAX_DECODES ? HEIF_MAX_DECODES + 1 : a + b;
}

static int refs_check(heif_ref *r, size_t n, uint32_t *bad)
{
    qsort(r, n, sizeof *r, ref_cmp);
    uint8_t *done = calloc(n, 1); /* depth + 1 once finished */
    uint8_t *onpath = calloc(n, 1);
    uint32_t *count = calloc(n, sizeof *count);
    if (!done || !onpath || !count) {
        free(done);
        free(onpath);
        free(count);
        return 2;
    }
    ref_frame stk[HEIF_MAX_REF_DEPTH + 1];
    int st = 0;
    for (size_t h = 0; h < n && !st; h++) {
        if ((h > 0 && r[h].from == r[h - 1].from) || done[h])
            continue;
        int top = 0;
        stk[0] = (ref_frame){h, h, 0, 1};
        onpath[h] = 1;
        while (top >= 0 && !st) {
            ref_frame *f = &stk[top];
            if (f->i < n && r[f->i].from == r[f->head].from) {
                uint32_t to = r[f->i++].to;
                size_t c = ref_first(r, n, to);
                int d;
                uint32_t k;
                if (c == n || r[c].from != to) {
                    d = 1; /* refers to an item that refers to nothing */
                    k = 1;
                } else if (onpath[c]) {
                    *bad = to;
                    st = 1;
                    break;
                } else if (done[c]) {
                    d = done[c]; /* its depth + 1 */
                    k = count[c];
                } else if (top == HEIF_MAX_REF_DEPTH) {
                    st = 2;
                    break;
                } else {
                    stk[++top] = (ref_frame){c, c, 0, 1};
                    onpath[c] = 1;
                    continue;
                }
                if (d > f->depth)
                    f->depth = d;
                f->count = count_add(f->count, k);
            } else {
                int d = f->depth;
                if (d > HEIF_MAX_REF_DEPTH) {
                    st = 2;
                    break;
                }
                if (f->count > HEIF_MAX_DECODES) {
                    *bad = r[f->head].from;
                    st = 3;
                    break;
                }
                done[f->head] = (uint8_t)(d + 1);
                count[f->head] = f->count;
                onpath[f->head] = 0;
                if (--top >= 0) {
                    if (d + 1 > stk[top].depth)
                        stk[top].depth = d + 1;
                    stk[top].count = count_add(stk[top].count, f->count);
                }
            }
        }
    }
    free(done);
    free(onpath);
    free(count);
    return st;
}

/* The entries of item id (every one: an id may repeat). */
static size_t item_find(const heif_meta *m, uint32_t id, size_t *first)
{
    size_t lo = 0, hi = m->nitems;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->items[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    while (lo + n < m->nitems && m->items[lo + n].id == id)
        n++;
    *first = lo;
    return n;
}

static bool type_is_image(uint32_t t)
{
    return t == FOURCC('h', 'v', 'c', '1') || t == FOURCC('a', 'v', '0', '1') ||
           t == FOURCC('v', 'v', 'c', '1') || t == FOURCC('g', 'r', 'i', 'd') ||
           t == FOURCC('i', 'd', 'e', 'n') || t == FOURCC('i', 'o', 'v', 'l');
}

static bool type_is_derived(uint32_t t)
{
    return t == FOURCC('g', 'r', 'i', 'd') || t == FOURCC('i', 'd', 'e', 'n') ||
           t == FOURCC('i', 'o', 'v', 'l');
}

/* Whether some entry of item id has type t (any_derived: any derived type). */
static bool item_has(const heif_meta *m, uint32_t id, uint32_t t, bool any_derived)
{
    size_t f, n = item_find(m, id, &f);
    for (size_t i = f; i < f + n; i++)
        if (any_derived ? type_is_derived(m->items[i].type) : m->items[i].type == t)
            return true;
    return false;
}

/* 0 when every input of a derived image is an image item; else the first
 * input that is not (in *bad), and *why its type (0: no such item). */
static bool dimg_inputs_ok(const heif_meta *m, uint32_t *bad, uint32_t *why)
{
    for (size_t i = 0; i < m->ndimg; i++) {
        if (!item_has(m, m->dimg[i].from, 0, true))
            continue; /* not a derived image: its dimg is never followed */
        size_t f, n = item_find(m, m->dimg[i].to, &f);
        bool ok = n > 0;
        for (size_t k = f; k < f + n && ok; k++)
            if (!type_is_image(m->items[k].type)) {
                ok = false;
                *why = m->items[k].type;
            }
        if (!ok) {
            if (n == 0)
                *why = 0;
            *bad = m->dimg[i].to;
            return false;
        }
    }
    return true;
}

static int id_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static bool id_in(const uint32_t *v, size_t n, uint32_t id)
{
    return n && bsearch(&id, v, n, sizeof *v, id_cmp);
}

/* 0 when no tile of a grid or overlay has an auxiliary image; else *bad,
 * the first such tile. libheif 1.15 attaches an alpha image to every image
 * item, tiles included, and pastes each tile's planes into the canvas with
 * the tile's colour size and sample width (decode_and_paste_tile_image):
 * an alpha plane smaller than its tile (a 'clap' on it, a smaller coded
 * size) is read past its end, and an 8-bit alpha beside 16-bit colour is
 * copied at twice its width. An overlay's input is held the same way:
 * deb12u1 (CI's) indexes its alpha plane with the colour plane's stride
 * (CVE-2026-32882, fixed in deb12u2; by reading the code, past the plane's
 * end beside 16-bit colour). A tile is an input of a grid or overlay, or
 * of an identity item that is a tile (its decoding returns its input's
 * planes, alpha included). Writers attach alpha, depth and gain maps to
 * the whole image, not to its tiles (libheif's encoder, libavif, cameras),
 * so nothing real is refused. Returns -1 without memory. */
static int tile_aux_check(const heif_meta *m, uint32_t *bad)
{
    if (!m->nauxl || !m->ndimg)
        return 0;
    uint32_t *tiles = malloc(m->ndimg * sizeof *tiles);
    if (!tiles)
        return -1;
    size_t nt = 0;
    for (size_t i = 0; i < m->ndimg; i++)
        if (item_has(m, m->dimg[i].from, FOURCC('g', 'r', 'i', 'd'), false) ||
            item_has(m, m->dimg[i].from, FOURCC('i', 'o', 'v', 'l'), false))
            tiles[nt++] = m->dimg[i].to;
    /* identity tiles pass their inputs on: one pass per level of the
     * (already bounded) reference depth */
    for (int pass = 0; pass <= HEIF_MAX_REF_DEPTH && nt; pass++) {
        qsort(tiles, nt, sizeof *tiles, id_cmp);
        size_t before = nt;
        for (size_t i = 0; i < m->ndimg && nt < m->ndimg; i++)
            if (id_in(tiles, before, m->dimg[i].from) &&
                item_has(m, m->dimg[i].from, FOURCC('i', 'd', 'e', 'n'), false) &&
                !id_in(tiles, before, m->dimg[i].to))
                tiles[nt++] = m->dimg[i].to;
        if (nt == before)
            break;
    }
    qsort(tiles, nt, sizeof *tiles, id_cmp);
    int r = 0;
    for (size_t i = 0; i < m->nauxl && !r; i++)
        if (id_in(tiles, nt, m->auxl[i].to)) {
            *bad = m->auxl[i].to;
            r = 1;
        }
    free(tiles);
    return r;
}

/* A size check with the item named in the message. */
static odx_status size_ok(uint64_t w, uint64_t h, const char *what, uint32_t id,
                          const cap_limits *lim, const char *name, const char *fmt,
                          odx_err *err)
{
    odx_err e = {0};
    odx_status st = cap_dec_check_dims((int64_t)w, (int64_t)h, lim, name, &e);
    if (st != ODX_OK && id)
        return core_err(err, st, "%s (%s %s of item %u)", e.msg, fmt, what, (unsigned)id);
    if (st != ODX_OK)
        return core_err(err, st, "%s (%s %s)", e.msg, fmt, what);
    return ODX_OK;
}

typedef struct {
    int v, offn, lenn, basen, idxn;
} iloc_sizes;

/* Extents per item libheif 1.15 accepts (MAX_ILOC_EXTENTS_PER_ITEM: more
 * and it refuses the whole 'iloc', so the file). */
#define HEIF_MAX_EXTENTS 32

/* One piece of an item's data, where it lies in the file. */
typedef struct {
    const uint8_t *p;
    size_t n;
} heif_span;

/* The pieces of one 'iloc' entry's data, whose extents start at *q, read
 * the way libheif 1.15 reads them (Box_iloc::read_data), since the check
 * must see the bytes libheif will parse: the extents in order; in the file
 * (construction method 0) an extent past the end fails the whole read (0
 * pieces); in 'idat' (method 1) an extent starts at its offset plus the
 * base offset, the sum taken modulo 2^64 as libheif takes it, and is
 * bounded by the idat box's size counted with its header, so up to a
 * header's worth of the bytes after the data are read too; an extent past
 * that bound is skipped (libheif drops that error). The data reference
 * index is not looked at (libheif ignores it: every item's data is in this
 * file). Other methods: 0 pieces. *bad when the extents do not fit in the
 * box or are more than libheif accepts. */
static int iloc_entry_spans(const heif_meta *m, const uint8_t *file, size_t flen,
                            const iloc_sizes *z, int method, uint64_t base, const uint8_t **q,
                            const uint8_t *qe, unsigned next, heif_span *sp, bool *bad)
{
    int n = 0;
    bool failed = method != 0 && (method != 1 || !m->idat);
    int en = z->idxn + z->offn + z->lenn;
    if (next > HEIF_MAX_EXTENTS || qe - *q < (ptrdiff_t)next * en) {
        *bad = true;
        return 0;
    }
    for (unsigned k = 0; k < next; k++) {
        uint64_t off = rd_be(*q + z->idxn, z->offn), len = rd_be(*q + z->idxn + z->offn, z->lenn);
        *q += en;
        if (failed)
            continue;
        uint64_t at = base + off;
        if (method == 0) {
            if (at < base || at > flen || len > flen - at) {
                failed = true;
                continue;
            }
            sp[n++] = (heif_span){file + at, (size_t)len};
        } else {
            uint64_t box = m->idat_box, from = (uint64_t)(m->idat - file);
            if (at > box || len > box - at || from + at > flen || len > flen - (from + at))
                continue;
            sp[n++] = (heif_span){m->idat + at, (size_t)len};
        }
    }
    return failed ? 0 : n;
}

/* A forward reader over an item's pieces, as if they were one buffer. */
typedef struct {
    const heif_span *sp;
    int n, i;  /* the pieces; the current one */
    size_t at; /* offset in the current piece */
} span_rd;

/* Copies up to k bytes to out (NULL: skips them); returns how many there
 * were. */
static uint64_t span_take(span_rd *r, uint8_t *out, uint64_t k)
{
    uint64_t got = 0;
    while (got < k && r->i < r->n) {
        size_t left = r->sp[r->i].n - r->at;
        size_t t = k - got < left ? (size_t)(k - got) : left;
        if (out)
            memcpy(out + got, r->sp[r->i].p + r->at, t);
        got += t;
        r->at += t;
        if (r->at == r->sp[r->i].n) {
            r->i++;
            r->at = 0;
        }
    }
    return got;
}

/* ------------------------------------------ HEVC sequence parameters */

/* libde265 allocates a picture (and per-block metadata) of the size its
 * sequence parameter set (SPS) says, up to 65535 per side, whatever the
 * item's ispe says; libheif feeds it the SPS of the item's hvcC and any
 * SPS inside the item's data. Both are read here. */
typedef struct {
    const uint8_t *p;
    size_t nbits, pos;
    bool bad;
} bitrd;

static uint32_t bits_u(bitrd *b, int k)
{
    uint32_t v = 0;
    for (int i = 0; i < k; i++) {
        if (b->pos >= b->nbits) {
            b->bad = true;
            return 0;
        }
        v = v << 1 | ((uint32_t)b->p[b->pos >> 3] >> (7 - (b->pos & 7)) & 1);
        b->pos++;
    }
    return v;
}

static void bits_skip(bitrd *b, size_t k)
{
    if (b->nbits - b->pos < k)
        b->bad = true;
    else
        b->pos += k;
}

/* Exp-Golomb ue(v), at most 32 leading zeros (libde265's bound). */
static uint64_t bits_ue(bitrd *b)
{
    int z = 0;
    while (!b->bad && bits_u(b, 1) == 0)
        if (++z > 32) {
            b->bad = true;
            return 0;
        }
    return b->bad ? 0 : ((uint64_t)1 << z) - 1 + bits_u(b, z);
}

/* The picture size of an SPS NAL unit (type 33; H.265 7.3.2.2: the
 * profile/tier/level block, the SPS id, the chroma format, then the width
 * and height in luma samples); false for other NAL units or when it ends
 * first. */
static bool hevc_sps_size(const uint8_t *nal, size_t n, uint64_t *w, uint64_t *h)
{
    if (n < 3 || (nal[0] >> 1 & 0x3f) != 33)
        return false;
    /* emulation prevention removed from the whole unit, its 2-byte header
     * included, as libde265 removes it (a header ending in 0 counts towards
     * a 00 00 03); the header then skipped. The fields needed fit in ~140
     * bytes. */
    uint8_t r[256];
    size_t rn = 0;
    int zeros = 0;
    for (size_t i = 0; i < n && rn < sizeof r; i++) {
        if (zeros >= 2 && nal[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = nal[i] == 0 ? zeros + 1 : 0;
        r[rn++] = nal[i];
    }
    bitrd b = {r, rn * 8, 16, false};
    bits_skip(&b, 4);
    int sub = (int)bits_u(&b, 3);
    bits_skip(&b, 1);
    bits_skip(&b, 88 + 8); /* general profile, tier, level */
    bool prof[8] = {0}, lev[8] = {0};
    for (int i = 0; i < sub; i++) {
        prof[i] = bits_u(&b, 1);
        lev[i] = bits_u(&b, 1);
    }
    if (sub > 0)
        bits_skip(&b, 2 * (size_t)(8 - sub));
    for (int i = 0; i < sub; i++)
        bits_skip(&b, (prof[i] ? 88 : 0) + (lev[i] ? 8 : 0));
    bits_ue(&b); /* sps_seq_parameter_set_id */
    if (bits_ue(&b) == 3)
        bits_skip(&b, 1); /* separate_colour_plane_flag */
    *w = bits_ue(&b);
    *h = bits_ue(&b);
    return !b.bad;
}

static odx_status nal_ok(const uint8_t *nal, size_t n, uint32_t id, const cap_limits *lim,
                         const char *name, const char *fmt, odx_err *err)
{
    uint64_t w, h;
    if (!hevc_sps_size(nal, n, &w, &h))
        return ODX_OK;
    return size_ok(w, h, "HEVC sequence parameters", id, lim, name, fmt, err);
}

/* Most NAL units accepted in one hvc1 item: a picture is its parameter
 * sets, a few SEI and its slices (600 at most at HEVC level 6.2). 32
 * extents of one 256 MiB region of zeros make 2^31 empty units, each a
 * step here (33 s for 2^29) and an allocation in libde265. */
#define HEIF_MAX_NALS 65536

/* The NAL units of an hvc1 item's data as libheif hands them to libde265:
 * each after a 4-byte length (libheif 1.15 assumes 4 whatever the hvcC
 * says); a length past the end stops it (libheif refuses the data). Read
 * in place across the item's pieces: the data may be up to 32 times the
 * file (extents may repeat) and an SPS may sit at its very end. */
static odx_status hevc_data_ok(const heif_span *sp, int nsp, uint32_t id, const cap_limits *lim,
                               const char *name, const char *fmt, odx_err *err)
{
    uint64_t total = 0;
    for (int i = 0; i < nsp; i++)
        total += sp[i].n;
    span_rd r = {sp, nsp, 0, 0};
    uint64_t at = 0;
    uint8_t nal[512]; /* enough of a unit for hevc_sps_size */
    for (unsigned k = 0; total - at >= 4; k++) {
        if (k == HEIF_MAX_NALS)
            return core_err(err, ODX_ERR_LIMIT, "'%s': %s item %u holds more than %d NAL units",
                            cap_dec_name(name), fmt, (unsigned)id, HEIF_MAX_NALS);
        uint8_t l4[4];
        span_take(&r, l4, 4);
        uint64_t len = rd_be(l4, 4);
        at += 4;
        if (len > total - at)
            break;
        uint64_t got = span_take(&r, nal, len < sizeof nal ? len : sizeof nal);
        span_take(&r, NULL, len - got);
        at += len;
        odx_status st = nal_ok(nal, (size_t)got, id, lim, name, fmt, err);
        if (st != ODX_OK)
            return st;
    }
    return ODX_OK;
}

/* The parameter sets of an 'hvcC' property: 22 bytes of configuration,
 * a count of arrays, each a NAL type, a count and length-prefixed units. */
static odx_status hvcc_ok(const uint8_t *p, const uint8_t *end, const cap_limits *lim,
                          const char *name, const char *fmt, odx_err *err)
{
    if (end - p < 23)
        return ODX_OK;
    unsigned na = p[22];
    p += 23;
    for (unsigned a = 0; a < na; a++) {
        if (end - p < 3)
            return ODX_OK;
        unsigned nn = (unsigned)rd_be(p + 1, 2);
        p += 3;
        for (unsigned k = 0; k < nn; k++) {
            if (end - p < 2)
                return ODX_OK;
            size_t len = (size_t)rd_be(p, 2);
            p += 2;
            if ((size_t)(end - p) < len)
                return ODX_OK;
            odx_status st = nal_ok(p, len, 0, lim, name, fmt, err);
            if (st != ODX_OK)
                return st;
            p += len;
        }
    }
    return ODX_OK;
}

/* Most deflate-compressed metadata ('mime' items, XMP as libheif 1.15 can
 * write it) accepted, all items together: libheif inflates each whole when
 * it opens the file, deb12u1 without a bound (a 1.04 MB file inflated to
 * 1 GB of RSS), deb12u2 to 512 MiB an item. Deflate packs zeros 1032:1,
 * so this is at most ~66 MB; an XMP packet is a few KiB. */
#define HEIF_MAX_DEFLATED (64 << 10)

/* Whether some entry of item id is deflate-compressed metadata. */
static bool item_deflated(const heif_meta *m, uint32_t id)
{
    size_t f, n = item_find(m, id, &f);
    for (size_t i = f; i < f + n; i++)
        if (m->items[i].deflate)
            return true;
    return false;
}

/* A field size of 'iloc' as libheif 1.15 reads it: 4 or 8 bytes, any
 * other value none (the field is 0). */
static int iloc_field(int n)
{
    return n == 4 || n == 8 ? n : 0;
}

/* Every grid and overlay canvas of the 'iloc' boxes: their data holds the
 * output size libheif allocates before decoding; and every SPS in the data
 * of an hvc1 item. Each 'iloc' is read as libheif 1.15 reads it
 * (Box_iloc::parse): a version above 2 as 2, the index size only from
 * version 2 on, field sizes other than 4 and 8 as absent. */
static odx_status canvases_ok(const heif_meta *m, const uint8_t *file, size_t flen,
                              const cap_limits *lim, const char *name, const char *fmt,
                              odx_err *err)
{
    /* libheif 1.15 reads the data of every item when it opens the file
     * (interpret_heif_file: "metadata" of every kind, kept for the items
     * a cdsc names) and each item may repeat a region of the file in 32
     * extents: a 1 MiB file of 48 such items held 1.6 GB before anything
     * was decoded. Items store their data once, so all of it together is
     * refused past twice the file and 1 MiB. */
    uint64_t all = 0, all_max = 2 * (uint64_t)flen + (1u << 20), defl = 0;
    for (int L = 0; L < m->niloc; L++) {
        const uint8_t *q = m->iloc[L], *qe = m->iloc_end[L];
        if (qe - q < 6)
            continue;
        iloc_sizes z = {q[0], iloc_field(q[4] >> 4), iloc_field(q[4] & 15),
                        iloc_field(q[5] >> 4), q[0] >= 2 ? iloc_field(q[5] & 15) : 0};
        q += 6;
        int cn = z.v < 2 ? 2 : 4;
        if (qe - q < cn)
            continue;
        uint64_t count = rd_be(q, cn);
        q += cn;
        int idn = z.v < 2 ? 2 : 4;
        bool bad = false;
        for (uint64_t i = 0; i < count && !bad; i++) {
            int hn = idn + (z.v >= 1 ? 2 : 0) + 2 + z.basen + 2;
            if (qe - q < hn)
                break;
            uint32_t id = (uint32_t)rd_be(q, idn);
            q += idn;
            int method = 0;
            if (z.v >= 1) {
                method = q[1] & 15;
                q += 2;
            }
            q += 2; /* data_reference_index: not used by libheif */
            uint64_t base = rd_be(q, z.basen);
            q += z.basen;
            unsigned next = (unsigned)rd_be(q, 2);
            q += 2;
            heif_span sp[HEIF_MAX_EXTENTS];
            int nsp = iloc_entry_spans(m, file, flen, &z, method, base, &q, qe, next, sp, &bad);
            if (bad)
                break;
            uint64_t here = 0;
            for (int k = 0; k < nsp; k++)
                here += sp[k].n;
            all += here;
            if (item_deflated(m, id) && (defl += here) > HEIF_MAX_DEFLATED)
                return core_err(err, ODX_ERR_LIMIT,
                                "'%s': %s metadata of more than %d bytes deflate-compressed "
                                "(libheif inflates it whole when it opens the file)",
                                cap_dec_name(name), fmt, HEIF_MAX_DEFLATED);
            if (all > all_max)
                return core_err(err, ODX_ERR_LIMIT,
                                "'%s': %s items of more than %llu bytes of data in a file of %zu "
                                "(regions read more than once)",
                                cap_dec_name(name), fmt, (unsigned long long)all_max, flen);
            if (item_has(m, id, FOURCC('h', 'v', 'c', '1'), false)) {
                odx_status st = hevc_data_ok(sp, nsp, id, lim, name, fmt, err);
                if (st != ODX_OK)
                    return st;
            }
            uint8_t d[32];
            span_rd r = {sp, nsp, 0, 0};
            size_t got = (size_t)span_take(&r, d, sizeof d);
            if (got < 2)
                continue;
            int fl = d[1] & 1 ? 4 : 2;
            if (item_has(m, id, FOURCC('g', 'r', 'i', 'd'), false) && got >= (size_t)4 + 2 * fl) {
                odx_status st = size_ok(rd_be(d + 4, fl), rd_be(d + 4 + fl, fl), "grid", id, lim,
                                        name, fmt, err);
                if (st != ODX_OK)
                    return st;
            }
            if (item_has(m, id, FOURCC('i', 'o', 'v', 'l'), false) &&
                got >= (size_t)10 + 2 * fl) {
                odx_status st = size_ok(rd_be(d + 10, fl), rd_be(d + 10 + fl, fl), "overlay",
                                        id, lim, name, fmt, err);
                if (st != ODX_OK)
                    return st;
            }
        }
    }
    return ODX_OK;
}

/* Every 'ispe' of an 'ipco': the stored size of an item (tiles, alpha and
 * depth planes, thumbnails); a zero side allocates nothing and is left to
 * libheif. And the SPS of every 'hvcC'. */
static odx_status ipco_ok(const uint8_t *p, const uint8_t *end, const cap_limits *lim,
                          const char *name, const char *fmt, odx_err *err)
{
    uint32_t type;
    const uint8_t *b, *e;
    for (; box_next(p, end, &type, &b, &e); p = e) {
        if (type == FOURCC('h', 'v', 'c', 'C')) {
            odx_status st = hvcc_ok(b, e, lim, name, fmt, err);
            if (st != ODX_OK)
                return st;
        }
        if (type != FOURCC('i', 's', 'p', 'e') || e - b < 12)
            continue;
        uint64_t w = rd_be(b + 4, 4), h = rd_be(b + 8, 4);
        if (w && h) {
            odx_status st = size_ok(w, h, "stored size of an item", 0, lim, name, fmt, err);
            if (st != ODX_OK)
                return st;
        }
    }
    return ODX_OK;
}

static char *fourcc_str(uint32_t t, char s[8])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)(t >> (24 - 8 * i));
        s[i] = c >= 0x20 && c < 0x7f ? c : '?';
    }
    s[4] = 0;
    return s;
}

static odx_status meta_ok(const uint8_t *b, const uint8_t *e, const uint8_t *file, size_t flen,
                          const cap_limits *lim, const char *name, const char *fmt,
                          odx_err *err)
{
    heif_meta m = {0};
    odx_status st = ODX_OK;
    const char *bad = NULL, *bad_in = "item references";
    const uint8_t *q = b + 4, *cb, *ce;
    uint32_t ct;
    while (!bad && st == ODX_OK && box_next(q, e, &ct, &cb, &ce)) {
        if (ct == FOURCC('i', 'r', 'e', 'f')) {
            if (!iref_read(cb, ce, &m))
                bad = "a malformed or oversized 'iref' box";
        } else if (ct == FOURCC('i', 'i', 'n', 'f') && !m.have_iinf) {
            m.have_iinf = true;
            if (!iinf_read(cb, ce, &m))
                bad = "more items than can be checked", bad_in = "items";
        } else if (ct == FOURCC('i', 'd', 'a', 't') && !m.idat) {
            m.idat = cb;
            m.idat_box = (size_t)(ce - q);
        } else if (ct == FOURCC('i', 'l', 'o', 'c')) {
            if (m.niloc == 8) {
                bad = "more than 8 'iloc' boxes", bad_in = "items";
            } else {
                m.iloc[m.niloc] = cb;
                m.iloc_end[m.niloc++] = ce;
            }
        } else if (ct == FOURCC('i', 'p', 'r', 'p')) {
            const uint8_t *r = cb, *pb, *pe;
            uint32_t pt;
            for (; st == ODX_OK && box_next(r, ce, &pt, &pb, &pe); r = pe)
                if (pt == FOURCC('i', 'p', 'c', 'o'))
                    st = ipco_ok(pb, pe, lim, name, fmt, err);
        }
        q = ce;
    }
    if (bad) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': corrupt %s (%s): %s", cap_dec_name(name),
                      fmt, bad_in, bad);
        goto done;
    }
    if (st != ODX_OK)
        goto done;
    uint32_t at = 0, why = 0;
    int r = m.ndeps ? refs_check(m.deps, m.ndeps, &at) : 0;
    char t[8];
    if (r == 1)
        st = core_err(err, ODX_ERR_DECODE,
                      "'%s': corrupt %s (item references): the references of item %u lead back to it",
                      cap_dec_name(name), fmt, (unsigned)at);
    else if (r == 2)
        st = core_err(err, ODX_ERR_DECODE,
                      "'%s': corrupt %s (item references): a chain deeper than %d items",
                      cap_dec_name(name), fmt, HEIF_MAX_REF_DEPTH);
    else if (r == 3)
        st = core_err(err, ODX_ERR_LIMIT,
                      "'%s': %s item %u decodes more than %d images (its references)",
                      cap_dec_name(name), fmt, (unsigned)at, HEIF_MAX_DECODES);
    else if (!dimg_inputs_ok(&m, &at, &why))
        st = core_err(err, ODX_ERR_DECODE,
                      "'%s': corrupt %s (item references): item %u, an input of a derived image, %s%s%s",
                      cap_dec_name(name), fmt, (unsigned)at,
                      why ? "is not an image but '" : "does not exist",
                      why ? fourcc_str(why, t) : "", why ? "'" : "");
    else if ((r = tile_aux_check(&m, &at)) != 0)
        st = r < 0 ? core_err(err, ODX_ERR_NOMEM, "'%s': %s item references", cap_dec_name(name),
                              fmt)
                   : core_err(err, ODX_ERR_DECODE,
                              "'%s': corrupt %s (item references): item %u, an input of a grid or overlay, has an auxiliary image (libheif 1.15 reads such an alpha plane past its end)",
                              cap_dec_name(name), fmt, (unsigned)at);
    else
        st = canvases_ok(&m, file, flen, lim, name, fmt, err);
done:
    free(m.deps);
    free(m.dimg);
    free(m.auxl);
    free(m.items);
    return st;
}

odx_status cap_dec_heif_scan(const uint8_t *data, size_t len, const cap_limits *lim,
                             const char *name, const char *fmt, odx_err *err)
{
    const uint8_t *p = data, *end = data + len, *b, *e;
    uint32_t type;
    for (; box_next(p, end, &type, &b, &e); p = e)
        if (type == FOURCC('m', 'e', 't', 'a') && e - b >= 4) {
            odx_status st = meta_ok(b, e, data, len, lim, name, fmt, err);
            if (st != ODX_OK)
                return st;
        }
    return ODX_OK;
}

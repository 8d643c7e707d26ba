/* lexidx.c - the in-memory inverted index behind lexidx.h.
 *
 * Layout. Rows get dense numbers (docnums) in the order they are added; a
 * removed row keeps its docnum as a dead slot until lex_compact. Per term:
 * docnums ascending (uint32), tf saturated into a byte, and a byte stream
 * holding, per posting, varint tf and the varint gaps of its positions
 * (read only to check phrases and for tf >= 255). Every LEX_BLOCK postings
 * form a block with its last docnum (to skip), the fields it holds and its
 * largest BM25 tf part at a reference average length: with the query's
 * idf, field weights and the ratio of the averages this bounds the score
 * of any row in the block. Two position-adjacent CJK characters are also
 * indexed as one pair term, so Chinese words need no list intersection.
 * Per row: id, length, field, and the distinct term ids (varint gaps), so
 * a removal corrects the live document frequencies without the text.
 *
 * Search (MaxScore with block maxima): phrases sorted by their bound;
 * the low-bound prefix whose sum cannot reach the current k-th score is
 * "non-essential" and only looked up for candidates the others produce;
 * runs of candidates whose block bounds cannot reach it are skipped whole.
 * Candidates that survive are scored in the query's phrase order with
 * FTS5's expression, so scores are bit-identical to the exhaustive path. */
#include "lexidx.h"

#include "embedder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define K1 1.2
#define B 0.75
/* Bounds are compared after this relative slack: partial sums are added
 * in another order than the final score, which may round differently. */
#define BOUND_SLACK (1.0 + 1e-9)

typedef struct blk {
    uint32_t last;    /* docnum of the block's last posting */
    uint32_t fields;  /* bit per field present */
    float impact;     /* largest tf part at ref_avgdl, rounded up */
    uint64_t pos_off; /* the block's first posting in pos[] */
} blk;

typedef struct term {
    uint32_t n, cap, dead;
    uint16_t key_len;
    bool pooled; /* arrays live in the index's pools (lex_compact) */
    uint64_t key_off, hash;
    uint32_t *doc;
    uint8_t *tf;
    blk *blk;
    uint8_t *pos;
    uint64_t pos_len, pos_cap;
} term;

typedef struct id_slot {
    int64_t id;
    uint32_t doc; /* docnum + 1; 0 = empty */
} id_slot;

struct lex_index {
    /* terms and their dictionary (open addressing, term id + 1) */
    term *t;
    uint32_t n_t, cap_t;
    uint32_t *dict;
    uint32_t dict_cap;
    char *keys;
    uint64_t keys_len, keys_cap;
    /* rows */
    uint32_t n_d, cap_d;
    int64_t *rowid;
    uint32_t *len;
    uint8_t *field, *alive;
    uint64_t *fwd_off;
    uint8_t *fwd;
    uint64_t fwd_len, fwd_cap;
    id_slot *map;
    uint32_t map_cap, map_n;
    int64_t n_live, tokens_live;
    /* the average row length block impacts are computed at (the first
     * row's length, then the live average at each lex_compact); a search
     * at average A scales them by max(1, A / ref_avgdl) */
    double ref_avgdl;
    uint64_t postings, dead_postings;
    /* lex_compact packs every term's arrays into these, exactly sized */
    uint32_t *pool_doc;
    uint8_t *pool_tf, *pool_pos;
    blk *pool_blk;
    uint64_t pool_bytes;
};

/* ------------------------------------------------------------ helpers ---- */

static bool grow(void **p, uint64_t *cap, uint64_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    uint64_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, (size_t)(nc * elem));
    if (!q)
        return false;
    *p = q;
    *cap = nc;
    return true;
}

static inline uint8_t *put_varint(uint8_t *o, uint32_t v)
{
    while (v >= 0x80) {
        *o++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *o++ = (uint8_t)v;
    return o;
}

static inline const uint8_t *get_varint(const uint8_t *p, uint32_t *v)
{
    uint32_t x = 0;
    int s = 0;
    while (*p & 0x80) {
        x |= (uint32_t)(*p++ & 0x7F) << s;
        s += 7;
    }
    *v = x | (uint32_t)*p++ << s;
    return p;
}

static inline double tf_part(double tf, double D, double avgdl)
{
    /* fts5Bm25Function's expression, operation for operation */
    return (tf * (K1 + 1.0)) / (tf + K1 * (1 - B + B * D / avgdl));
}

/* tf_part at the reference average, rounded up to a float. BM25 grows
 * with tf and shrinks with D; with average A >= A0 every summand of the
 * denominator shrinks by at most A0 / A, so tf_part(A) <= tf_part(A0) *
 * A / A0, and for A < A0 tf_part(A) <= tf_part(A0). */
static float impact_of(uint32_t tf, uint32_t D, double a0)
{
    double v = tf_part((double)tf, (double)D, a0);
    float f = (float)v;
    if ((double)f < v)
        f = nextafterf(f, INFINITY);
    return f;
}

/* A CJK character on its own (the tokens that pair up, below). */
static bool single_cjk(const char *tok, int len)
{
    if (len < 2 || len > 4)
        return false;
    int32_t cp;
    int n = core_utf8_next(tok, (size_t)len, &cp);
    return n == len && core_is_cjk(cp);
}

/* Pair terms: every two position-adjacent single CJK characters are also
 * indexed as one term at the first one's position, so a two-character
 * phrase (most Chinese words) is one posting list instead of an
 * intersection of two long unigram lists. Adjacent positions, not the
 * same run: "星,图" holds the pair as FTS5's phrase "星图" matches it. */
#define PAIR_MARK '\x01'

/* ---------------------------------------------------------- dictionary ---- */

static uint64_t key_hash(const char *s, int n) { return core_hash64(s, (size_t)n, 0x1e7); }

static int64_t term_find(const lex_index *x, const char *s, int n)
{
    if (!x->dict_cap)
        return -1;
    uint64_t h = key_hash(s, n);
    for (uint32_t i = (uint32_t)h & (x->dict_cap - 1);; i = (i + 1) & (x->dict_cap - 1)) {
        uint32_t v = x->dict[i];
        if (!v)
            return -1;
        const term *t = &x->t[v - 1];
        if (t->hash == h && t->key_len == n && !memcmp(x->keys + t->key_off, s, (size_t)n))
            return v - 1;
    }
}

static bool dict_rehash(lex_index *x, uint32_t cap)
{
    uint32_t *d = calloc(cap, sizeof *d);
    if (!d)
        return false;
    for (uint32_t k = 0; k < x->n_t; k++) {
        uint32_t i = (uint32_t)x->t[k].hash & (cap - 1);
        while (d[i])
            i = (i + 1) & (cap - 1);
        d[i] = k + 1;
    }
    free(x->dict);
    x->dict = d;
    x->dict_cap = cap;
    return true;
}

static int64_t term_get(lex_index *x, const char *s, int n)
{
    int64_t f = term_find(x, s, n);
    if (f >= 0)
        return f;
    if ((uint64_t)(x->n_t + 1) * 4 > (uint64_t)x->dict_cap * 3 &&
        !dict_rehash(x, x->dict_cap ? x->dict_cap * 2 : 1024))
        return -1;
    uint64_t cap = x->cap_t, kc = x->keys_cap;
    if (!grow((void **)&x->t, &cap, x->n_t + 1, sizeof *x->t) ||
        !grow((void **)&x->keys, &kc, x->keys_len + (uint64_t)n, 1))
        return -1;
    x->cap_t = (uint32_t)cap;
    x->keys_cap = kc;
    term *t = &x->t[x->n_t];
    memset(t, 0, sizeof *t);
    t->hash = key_hash(s, n);
    t->key_len = (uint16_t)n;
    t->key_off = x->keys_len;
    memcpy(x->keys + x->keys_len, s, (size_t)n);
    x->keys_len += (uint64_t)n;
    uint32_t i = (uint32_t)t->hash & (x->dict_cap - 1);
    while (x->dict[i])
        i = (i + 1) & (x->dict_cap - 1);
    x->dict[i] = x->n_t + 1;
    return x->n_t++;
}

/* ------------------------------------------------------------- id map ---- */

static uint32_t id_slot_of(const lex_index *x, int64_t id)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32) & (x->map_cap - 1);
}

static int64_t map_find(const lex_index *x, int64_t id)
{
    if (!x->map_cap)
        return -1;
    for (uint32_t i = id_slot_of(x, id);; i = (i + 1) & (x->map_cap - 1)) {
        if (!x->map[i].doc)
            return -1;
        if (x->map[i].id == id)
            return i;
    }
}

/* Room for one more id (the table grown to keep it under 3/4 full), so
 * that map_put after it cannot fail: lex_add asks for it before a row's
 * postings are appended, and an allocation failure leaves nothing. */
static bool map_reserve(lex_index *x)
{
    if ((uint64_t)(x->map_n + 1) * 4 <= (uint64_t)x->map_cap * 3)
        return true;
    uint32_t cap = x->map_cap ? x->map_cap * 2 : 1024;
    id_slot *m = calloc(cap, sizeof *m);
    if (!m)
        return false;
    id_slot *old = x->map;
    uint32_t oc = x->map_cap;
    x->map = m;
    x->map_cap = cap;
    for (uint32_t k = 0; k < oc; k++) {
        if (!old[k].doc)
            continue;
        uint32_t i = id_slot_of(x, old[k].id);
        while (m[i].doc)
            i = (i + 1) & (cap - 1);
        m[i] = old[k];
    }
    free(old);
    return true;
}

/* After map_reserve. */
static void map_put(lex_index *x, int64_t id, uint32_t doc)
{
    uint32_t i = id_slot_of(x, id);
    while (x->map[i].doc)
        i = (i + 1) & (x->map_cap - 1);
    x->map[i].id = id;
    x->map[i].doc = doc + 1;
    x->map_n++;
}

/* linear probing: deletion shifts the following run back */
static void map_del(lex_index *x, uint32_t i)
{
    uint32_t m = x->map_cap - 1;
    x->map[i].doc = 0;
    for (uint32_t j = (i + 1) & m; x->map[j].doc; j = (j + 1) & m) {
        uint32_t home = id_slot_of(x, x->map[j].id);
        /* can entry j move to the hole at i? (home not cyclically in (i, j]) */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            x->map[i] = x->map[j];
            x->map[j].doc = 0;
            i = j;
        }
    }
    x->map_n--;
}

/* ---------------------------------------------------------- building ---- */

lex_index *lex_new(void) { return calloc(1, sizeof(lex_index)); }

void lex_free(lex_index *x)
{
    if (!x)
        return;
    for (uint32_t i = 0; i < x->n_t; i++) {
        if (x->t[i].pooled)
            continue;
        free(x->t[i].doc);
        free(x->t[i].tf);
        free(x->t[i].blk);
        free(x->t[i].pos);
    }
    free(x->pool_doc);
    free(x->pool_tf);
    free(x->pool_pos);
    free(x->pool_blk);
    free(x->t);
    free(x->dict);
    free(x->keys);
    free(x->rowid);
    free(x->len);
    free(x->field);
    free(x->alive);
    free(x->fwd_off);
    free(x->fwd);
    free(x->map);
    free(x);
}

typedef struct tp {
    uint32_t t, pos;
} tp;

typedef struct tok_acc {
    lex_index *x;
    tp *v;
    uint64_t n, cap;
    uint32_t pos;
    char prev[8]; /* the previous token when it is a single CJK character */
    int prev_len;
    bool oom;
} tok_acc;

static bool acc_put(tok_acc *a, const char *tok, int len, uint32_t pos)
{
    int64_t t = term_get(a->x, tok, len);
    if (t < 0 || !grow((void **)&a->v, &a->cap, a->n + 1, sizeof *a->v)) {
        a->oom = true;
        return false;
    }
    a->v[a->n].t = (uint32_t)t;
    a->v[a->n].pos = pos;
    a->n++;
    return true;
}

static int acc_cb(void *ctx, const char *tok, int len, int start, int end, bool colocated)
{
    (void)start, (void)end;
    tok_acc *a = ctx;
    /* FTS5 gives a colocated token the previous position without counting
     * it; no query phrase can reach one (lexidx.h), so it is not kept */
    if (colocated && a->pos > 0)
        return 0;
    if (len <= 0 || len > 0xFFFF) {
        a->prev_len = 0;
        return 0;
    }
    if (!acc_put(a, tok, len, a->pos))
        return 1;
    bool cjk = single_cjk(tok, len);
    if (cjk && a->prev_len) {
        char pair[9];
        pair[0] = PAIR_MARK;
        memcpy(pair + 1, a->prev, (size_t)a->prev_len);
        memcpy(pair + 1 + a->prev_len, tok, (size_t)len);
        if (!acc_put(a, pair, 1 + a->prev_len + len, a->pos - 1))
            return 1;
    }
    a->prev_len = cjk ? len : 0;
    if (cjk)
        memcpy(a->prev, tok, (size_t)len);
    a->pos++;
    return 0;
}

static int cmp_tp(const void *a, const void *b)
{
    const tp *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* A packed term that grows again moves out of the pools. */
static bool term_unpool(term *t)
{
    uint32_t nc = t->n ? t->n * 2 : 2, nb = (nc + LEX_BLOCK - 1) / LEX_BLOCK;
    uint64_t pc = t->pos_len * 2 + 16;
    uint32_t *d = malloc(nc * sizeof *d);
    uint8_t *f = malloc(nc), *ps = malloc((size_t)pc);
    blk *b = malloc(nb * sizeof *b);
    if (!d || !f || !ps || !b) {
        free(d), free(f), free(ps), free(b);
        return false;
    }
    if (t->n) {
        memcpy(d, t->doc, t->n * sizeof *d);
        memcpy(f, t->tf, t->n);
        memcpy(b, t->blk, ((t->n + LEX_BLOCK - 1) / LEX_BLOCK) * sizeof *b);
    }
    if (t->pos_len)
        memcpy(ps, t->pos, (size_t)t->pos_len);
    t->doc = d, t->tf = f, t->pos = ps, t->blk = b;
    t->cap = nc;
    t->pos_cap = pc;
    t->pooled = false;
    return true;
}

static bool term_append(term *t, uint32_t doc, float imp, int field, const tp *p,
                        uint32_t tf)
{
    if (t->pooled && !term_unpool(t))
        return false;
    if (t->n == t->cap) {
        uint32_t nc = t->cap ? t->cap * 2 : 2;
        uint32_t *d = realloc(t->doc, nc * sizeof *d);
        if (!d)
            return false;
        t->doc = d;
        uint8_t *f = realloc(t->tf, nc);
        if (!f)
            return false;
        t->tf = f;
        blk *b = realloc(t->blk, ((nc + LEX_BLOCK - 1) / LEX_BLOCK) * sizeof *b);
        if (!b)
            return false;
        t->blk = b;
        t->cap = nc;
    }
    if (!grow((void **)&t->pos, &t->pos_cap, t->pos_len + 5 * ((uint64_t)tf + 1), 1))
        return false;
    blk *b = &t->blk[t->n / LEX_BLOCK];
    if (t->n % LEX_BLOCK == 0) {
        b->impact = 0;
        b->fields = 0;
        b->pos_off = t->pos_len;
    }
    b->last = doc;
    if (imp > b->impact)
        b->impact = imp;
    b->fields |= 1u << field;
    uint8_t *o = t->pos + t->pos_len;
    o = put_varint(o, tf);
    uint32_t prev = 0;
    for (uint32_t i = 0; i < tf; i++) {
        o = put_varint(o, p[i].pos - prev);
        prev = p[i].pos;
    }
    t->pos_len = (uint64_t)(o - t->pos);
    t->doc[t->n] = doc;
    t->tf[t->n] = tf > 255 ? 255 : (uint8_t)tf;
    t->n++;
    return true;
}

static bool docs_grow(lex_index *x)
{
    if (x->n_d < x->cap_d)
        return true;
    uint32_t nc = x->cap_d ? x->cap_d * 2 : 1024;
    int64_t *r = realloc(x->rowid, nc * sizeof *r);
    if (r)
        x->rowid = r;
    uint32_t *l = realloc(x->len, nc * sizeof *l);
    if (l)
        x->len = l;
    uint8_t *f = realloc(x->field, nc);
    if (f)
        x->field = f;
    uint8_t *a = realloc(x->alive, nc);
    if (a)
        x->alive = a;
    uint64_t *o = realloc(x->fwd_off, (nc + 1) * sizeof *o);
    if (o)
        x->fwd_off = o;
    if (!r || !l || !f || !a || !o)
        return false;
    x->cap_d = nc;
    return true;
}

odx_status lex_add(lex_index *x, int64_t id, int field, const char *text, int len,
                   odx_err *err)
{
    if (!x || field < 0 || field >= LEX_MAX_FIELDS || len < 0 || (len && !text))
        return core_err(err, ODX_ERR_INVALID, "lex_add: bad arguments");
    if (x->n_d == UINT32_MAX - 1)
        return core_err(err, ODX_ERR_NOMEM, "lexical index: too many rows");
    lex_remove(x, id);
    tok_acc a = {.x = x};
    emb_tokenize(text, len, acc_cb, &a);
    odx_status rc = ODX_OK;
    /* every allocation that is not a posting comes first: a failure
     * after the first posting is appended can only be a posting's */
    if (a.oom || !docs_grow(x) || !map_reserve(x)) {
        rc = core_err(err, ODX_ERR_NOMEM, "lexical index: out of memory");
        goto done;
    }
    if (a.n)
        qsort(a.v, (size_t)a.n, sizeof *a.v, cmp_tp);
    uint32_t doc = x->n_d, dlen = a.pos;
    if (x->ref_avgdl <= 0)
        x->ref_avgdl = dlen ? dlen : 1;
    /* forward entry: count, then term id gaps */
    uint64_t distinct = 0;
    for (uint64_t i = 0; i < a.n; i++)
        distinct += i == 0 || a.v[i].t != a.v[i - 1].t;
    if (!grow((void **)&x->fwd, &x->fwd_cap, x->fwd_len + 5 * (distinct + 1), 1)) {
        rc = core_err(err, ODX_ERR_NOMEM, "lexical index: out of memory");
        goto done;
    }
    uint8_t *o = put_varint(x->fwd + x->fwd_len, (uint32_t)distinct);
    uint32_t prev = 0;
    for (uint64_t i = 0; i < a.n;) {
        uint64_t j = i;
        while (j < a.n && a.v[j].t == a.v[i].t)
            j++;
        uint32_t tf = (uint32_t)(j - i);
        if (!term_append(&x->t[a.v[i].t], doc, impact_of(tf, dlen, x->ref_avgdl), field,
                         a.v + i, tf)) {
            /* postings of this row already appended stay, pointing at a
             * docnum that never becomes live: counted dead */
            for (uint64_t k = 0; k < i; k++)
                if (k == 0 || a.v[k].t != a.v[k - 1].t) {
                    x->t[a.v[k].t].dead++;
                    x->postings++;
                    x->dead_postings++;
                }
            rc = core_err(err, ODX_ERR_NOMEM, "lexical index: out of memory");
            goto done;
        }
        o = put_varint(o, a.v[i].t - prev);
        prev = a.v[i].t;
        i = j;
    }
    map_put(x, id, doc);
    x->fwd_off[doc] = x->fwd_len;
    x->fwd_len = (uint64_t)(o - x->fwd);
    x->fwd_off[doc + 1] = x->fwd_len;
    x->rowid[doc] = id;
    x->len[doc] = dlen;
    x->field[doc] = (uint8_t)field;
    x->alive[doc] = 1;
    x->n_d++;
    x->n_live++;
    x->tokens_live += dlen;
    x->postings += distinct;
done:
    if (rc != ODX_OK && docs_grow(x)) {
        /* a half-added row: a dead slot whose postings are all dead */
        uint32_t doc = x->n_d;
        x->fwd_off[doc] = x->fwd_off[doc + 1] = x->fwd_len;
        x->rowid[doc] = id;
        x->len[doc] = 0;
        x->field[doc] = (uint8_t)field;
        x->alive[doc] = 0;
        x->n_d++;
    }
    free(a.v);
    return rc;
}

bool lex_remove(lex_index *x, int64_t id)
{
    int64_t slot = x ? map_find(x, id) : -1;
    if (slot < 0)
        return false;
    uint32_t doc = x->map[slot].doc - 1;
    map_del(x, (uint32_t)slot);
    x->alive[doc] = 0;
    x->n_live--;
    x->tokens_live -= x->len[doc];
    const uint8_t *p = x->fwd + x->fwd_off[doc];
    uint32_t n, t = 0, gap;
    p = get_varint(p, &n);
    for (uint32_t i = 0; i < n; i++) {
        p = get_varint(p, &gap);
        t += gap;
        x->t[t].dead++;
    }
    x->dead_postings += n;
    return true;
}

bool lex_has(const lex_index *x, int64_t id) { return x && map_find(x, id) >= 0; }
int64_t lex_rows(const lex_index *x) { return x ? x->n_live : 0; }

int64_t lex_token_df(const lex_index *x, const char *tok, int len)
{
    if (!x || !tok || len <= 0)
        return 0;
    int64_t t = term_find(x, tok, len);
    return t < 0 ? 0 : (int64_t)x->t[t].n - x->t[t].dead;
}

double lex_dead_share(const lex_index *x)
{
    return x && x->postings ? (double)x->dead_postings / (double)x->postings : 0;
}

size_t lex_bytes(const lex_index *x)
{
    if (!x)
        return 0;
    size_t b = sizeof *x + (size_t)x->cap_t * sizeof(term) + (size_t)x->dict_cap * 4 +
               (size_t)x->keys_cap + (size_t)x->cap_d * (8 + 4 + 1 + 1 + 8) +
               (size_t)x->fwd_cap + (size_t)x->map_cap * sizeof(id_slot);
    b += (size_t)x->pool_bytes;
    for (uint32_t i = 0; i < x->n_t; i++) {
        const term *t = &x->t[i];
        if (!t->pooled)
            b += (size_t)t->cap * 5 + ((t->cap + LEX_BLOCK - 1) / LEX_BLOCK) * sizeof(blk) +
                 (size_t)t->pos_cap;
    }
    return b;
}

/* Length in bytes of one posting's entry in pos[] starting at p. */
static const uint8_t *skip_posting(const uint8_t *p)
{
    uint32_t tf, v;
    p = get_varint(p, &tf);
    for (uint32_t i = 0; i < tf; i++)
        p = get_varint(p, &v);
    return p;
}

odx_status lex_compact(lex_index *x, odx_err *err)
{
    if (!x)
        return core_err(err, ODX_ERR_INVALID, "lex_compact: no index");
    uint32_t *renum = malloc(((size_t)x->n_d + 1) * sizeof *renum);
    if (!renum)
        return core_err(err, ODX_ERR_NOMEM, "lexical index: out of memory");
    uint32_t nd = 0;
    for (uint32_t d = 0; d < x->n_d; d++)
        renum[d] = x->alive[d] ? nd++ : UINT32_MAX;
    /* sizes of the live postings, then one pool per array kind */
    uint64_t n_post = 0, n_blk = 0, n_pos = 0;
    for (uint32_t i = 0; i < x->n_t; i++) {
        const term *t = &x->t[i];
        uint32_t live = 0;
        const uint8_t *p = t->pos;
        for (uint32_t k = 0; k < t->n; k++) {
            const uint8_t *q = skip_posting(p);
            if (renum[t->doc[k]] != UINT32_MAX) {
                live++;
                n_pos += (uint64_t)(q - p);
            }
            p = q;
        }
        n_post += live;
        n_blk += (live + LEX_BLOCK - 1) / LEX_BLOCK;
    }
    uint32_t *pd = malloc((size_t)(n_post ? n_post : 1) * sizeof *pd);
    uint8_t *pt = malloc((size_t)(n_post ? n_post : 1));
    uint8_t *pp = malloc((size_t)(n_pos ? n_pos : 1));
    blk *pb = malloc((size_t)(n_blk ? n_blk : 1) * sizeof *pb);
    if (!pd || !pt || !pp || !pb) {
        free(pd), free(pt), free(pp), free(pb), free(renum);
        return core_err(err, ODX_ERR_NOMEM, "lexical index: out of memory");
    }
    if (x->n_live > 0 && x->tokens_live > 0)
        x->ref_avgdl = (double)x->tokens_live / (double)x->n_live;
    uint64_t od = 0, ob = 0, op = 0;
    for (uint32_t i = 0; i < x->n_t; i++) {
        term *t = &x->t[i];
        term nt = *t;
        nt.doc = pd + od;
        nt.tf = pt + od;
        nt.blk = pb + ob;
        nt.pos = pp + op;
        nt.n = nt.dead = 0;
        nt.pos_len = 0;
        const uint8_t *p = t->pos;
        for (uint32_t k = 0; k < t->n; k++) {
            const uint8_t *q = skip_posting(p);
            uint32_t d = renum[t->doc[k]];
            if (d != UINT32_MAX) {
                uint32_t tf;
                get_varint(p, &tf);
                blk *b = &nt.blk[nt.n / LEX_BLOCK];
                float imp = impact_of(tf, x->len[t->doc[k]], x->ref_avgdl);
                if (nt.n % LEX_BLOCK == 0) {
                    b->impact = 0;
                    b->fields = 0;
                    b->pos_off = nt.pos_len;
                }
                b->last = d;
                if (imp > b->impact)
                    b->impact = imp;
                b->fields |= 1u << x->field[t->doc[k]];
                memcpy(nt.pos + nt.pos_len, p, (size_t)(q - p));
                nt.pos_len += (uint64_t)(q - p);
                nt.doc[nt.n] = d;
                nt.tf[nt.n] = t->tf[k];
                nt.n++;
            }
            p = q;
        }
        nt.cap = nt.n;
        nt.pos_cap = nt.pos_len;
        nt.pooled = true;
        od += nt.n;
        ob += (nt.n + LEX_BLOCK - 1) / LEX_BLOCK;
        op += nt.pos_len;
        if (!t->pooled)
            free(t->doc), free(t->tf), free(t->blk), free(t->pos);
        *t = nt;
    }
    free(x->pool_doc), free(x->pool_tf), free(x->pool_pos), free(x->pool_blk);
    x->pool_doc = pd, x->pool_tf = pt, x->pool_pos = pp, x->pool_blk = pb;
    x->pool_bytes = n_post * 5 + n_pos + n_blk * sizeof(blk);
    /* rows: move live ones down, rebuild the forward entries and the map */
    uint64_t fl = 0;
    for (uint32_t d = 0; d < x->n_d; d++) {
        uint32_t n = renum[d];
        if (n == UINT32_MAX)
            continue;
        uint64_t a = x->fwd_off[d], e = x->fwd_off[d + 1];
        memmove(x->fwd + fl, x->fwd + a, (size_t)(e - a));
        x->fwd_off[n] = fl;
        fl += e - a;
        x->rowid[n] = x->rowid[d];
        x->len[n] = x->len[d];
        x->field[n] = x->field[d];
        x->alive[n] = 1;
    }
    if (x->fwd_off)
        x->fwd_off[nd] = fl;
    x->fwd_len = fl;
    x->n_d = nd;
    for (uint32_t i = 0; i < x->map_cap; i++)
        if (x->map[i].doc)
            x->map[i].doc = renum[x->map[i].doc - 1] + 1;
    x->postings -= x->dead_postings;
    x->dead_postings = 0;
    free(renum);
    return ODX_OK;
}

/* ------------------------------------------------------------ search ---- */

/* One phrase's postings: a term's own arrays, or a list made for the
 * query (phrases of several tokens). */
typedef struct plist {
    const uint32_t *doc;
    const uint8_t *tf8;  /* term lists: saturated tf */
    const uint32_t *tf;  /* made lists: exact tf */
    const term *t;
    const blk *blk;
    uint32_t n, cur;
    uint32_t *own_doc, *own_tf;
    blk *own_blk;
    double idf, ub;
    double *bb;  /* per block: bound on a row's contribution */
    int phrase;
} plist;

/* Exact tf of posting i of a term (tf >= 255 is in the position stream). */
static uint32_t term_tf(const term *t, uint32_t i)
{
    if (t->tf[i] < 255)
        return t->tf[i];
    const uint8_t *p = t->pos + t->blk[i / LEX_BLOCK].pos_off;
    for (uint32_t k = i / LEX_BLOCK * LEX_BLOCK; k < i; k++)
        p = skip_posting(p);
    uint32_t tf;
    get_varint(p, &tf);
    return tf;
}

static inline uint32_t pl_tf(const plist *l, uint32_t i)
{
    return l->tf ? l->tf[i] : term_tf(l->t, i);
}

/* First posting at or after i with doc >= d (blocks first, then binary
 * search inside the block). */
static inline uint32_t seek(const uint32_t *doc, const blk *bl, uint32_t n, uint32_t i,
                            uint32_t d)
{
    if (i >= n || doc[i] >= d)
        return i;
    uint32_t b = i / LEX_BLOCK, nb = (n + LEX_BLOCK - 1) / LEX_BLOCK;
    if (bl[b].last < d) {
        /* gallop over blocks */
        uint32_t step = 1, lo = b + 1;
        while (lo < nb && bl[lo].last < d) {
            b = lo;
            lo += step;
            step *= 2;
        }
        uint32_t hi = lo < nb ? lo : nb;
        lo = b + 1;
        while (lo < hi) {
            uint32_t m = lo + (hi - lo) / 2;
            if (bl[m].last < d)
                lo = m + 1;
            else
                hi = m;
        }
        b = lo;
        if (b >= nb)
            return n;
        i = b * LEX_BLOCK;
    }
    uint32_t hi = (b + 1) * LEX_BLOCK < n ? (b + 1) * LEX_BLOCK : n;
    while (i < hi) {
        uint32_t m = i + (hi - i) / 2;
        if (doc[m] < d)
            i = m + 1;
        else
            hi = m;
    }
    return i;
}

/* Positions of posting i of term t, decoded into *buf (grown). */
typedef struct posbuf {
    uint32_t *v;
    uint64_t n, cap;
} posbuf;

/* Where a term's position stream was left: postings are read in rising
 * order within a phrase, so each is decoded from the previous one's end
 * instead of from its block's start (up to LEX_BLOCK - 1 skipped). */
typedef struct pos_cursor {
    uint32_t next;       /* the posting p starts at */
    const uint8_t *p;    /* NULL: none yet */
} pos_cursor;

static bool term_positions(const term *t, uint32_t i, posbuf *pb, pos_cursor *c)
{
    const uint8_t *p;
    uint32_t k;
    if (c->p && c->next <= i && c->next / LEX_BLOCK == i / LEX_BLOCK) {
        p = c->p;
        k = c->next;
    } else {
        p = t->pos + t->blk[i / LEX_BLOCK].pos_off;
        k = i / LEX_BLOCK * LEX_BLOCK;
    }
    for (; k < i; k++)
        p = skip_posting(p);
    uint32_t tf, v, at = 0;
    p = get_varint(p, &tf);
    if (!grow((void **)&pb->v, &pb->cap, tf, sizeof *pb->v))
        return false;
    for (uint32_t k2 = 0; k2 < tf; k2++) {
        p = get_varint(p, &v);
        at += v;
        pb->v[k2] = at;
    }
    pb->n = tf;
    c->next = i + 1;
    c->p = p;
    return true;
}

typedef struct qtok {
    const lex_index *x;
    int64_t t[LEX_MAX_PHRASE];
    char cjk[LEX_MAX_PHRASE][4]; /* the token, when a single CJK character */
    uint8_t cjk_len[LEX_MAX_PHRASE];
    int n;
    bool missing, all_cjk;
} qtok;

static int qtok_cb(void *ctx, const char *tok, int len, int start, int end, bool colocated)
{
    (void)start, (void)end;
    qtok *q = ctx;
    if (colocated && q->n > 0)
        return 0; /* a synonym of the previous token: adds no match */
    if (q->n == (int)(sizeof q->t / sizeof *q->t)) {
        q->missing = true; /* longer than we follow: matches nothing */
        return 1;
    }
    int64_t t = term_find(q->x, tok, len);
    if (t < 0)
        q->missing = true;
    if (single_cjk(tok, len)) {
        memcpy(q->cjk[q->n], tok, (size_t)len);
        q->cjk_len[q->n] = (uint8_t)len;
    } else {
        q->all_cjk = false;
    }
    q->t[q->n++] = t;
    return 0;
}

static bool has_pos(const posbuf *pb, uint32_t v)
{
    uint64_t lo = 0, hi = pb->n;
    while (lo < hi) {
        uint64_t m = lo + (hi - lo) / 2;
        if (pb->v[m] < v)
            lo = m + 1;
        else
            hi = m;
    }
    return lo < pb->n && pb->v[lo] == v;
}

/* The rows holding tokens t[0..n) at consecutive positions, with the
 * number of places each holds them (the phrase's tf). Live rows only. */
static bool make_phrase(const lex_index *x, const int64_t *tk, int n, double avgdl,
                        plist *l, lex_stats *st)
{
    int drv = 0;
    for (int j = 1; j < n; j++)
        if (x->t[tk[j]].n < x->t[tk[drv]].n)
            drv = j;
    const term *dt = &x->t[tk[drv]];
    uint32_t cur[LEX_MAX_PHRASE] = {0};
    posbuf pb[LEX_MAX_PHRASE];
    pos_cursor pc[LEX_MAX_PHRASE];
    memset(pb, 0, sizeof pb);
    memset(pc, 0, sizeof pc);
    uint64_t cap = 0, cap_tf = 0;
    bool ok = true;
    for (uint32_t i = 0; i < dt->n && ok; i++) {
        uint32_t d = dt->doc[i];
        if (!x->alive[d])
            continue;
        bool all = true;
        for (int j = 0; j < n && all; j++) {
            if (j == drv)
                continue;
            const term *tj = &x->t[tk[j]];
            cur[j] = seek(tj->doc, tj->blk, tj->n, cur[j], d);
            all = cur[j] < tj->n && tj->doc[cur[j]] == d;
        }
        if (st)
            st->postings++;
        if (!all)
            continue;
        for (int j = 0; j < n && ok; j++)
            ok = term_positions(&x->t[tk[j]], j == drv ? i : cur[j], &pb[j], &pc[j]);
        if (!ok)
            break;
        uint32_t tf = 0;
        for (uint64_t k = 0; k < pb[drv].n; k++) {
            uint32_t q = pb[drv].v[k];
            if (q < (uint32_t)drv)
                continue;
            uint32_t p0 = q - (uint32_t)drv;
            bool m = true;
            for (int j = 0; j < n && m; j++)
                m = j == drv || has_pos(&pb[j], p0 + (uint32_t)j);
            tf += m;
        }
        if (!tf)
            continue;
        if (!grow((void **)&l->own_doc, &cap, (uint64_t)l->n + 1, sizeof *l->own_doc) ||
            !grow((void **)&l->own_tf, &cap_tf, (uint64_t)l->n + 1, sizeof *l->own_tf)) {
            ok = false;
            break;
        }
        l->own_doc[l->n] = d;
        l->own_tf[l->n] = tf;
        l->n++;
    }
    for (int j = 0; j < n; j++)
        free(pb[j].v);
    if (!ok)
        return false;
    uint32_t nb = (l->n + LEX_BLOCK - 1) / LEX_BLOCK;
    l->own_blk = calloc(nb ? nb : 1, sizeof *l->own_blk);
    if (!l->own_blk)
        return false;
    for (uint32_t i = 0; i < l->n; i++) {
        blk *b = &l->own_blk[i / LEX_BLOCK];
        uint32_t d = l->own_doc[i];
        float imp = impact_of(l->own_tf[i], x->len[d], avgdl);
        b->last = d;
        if (imp > b->impact)
            b->impact = imp;
        b->fields |= 1u << x->field[d];
    }
    l->doc = l->own_doc;
    l->tf = l->own_tf;
    l->blk = l->own_blk;
    return true;
}

typedef struct heap_e {
    double score;
    int64_t id;
    uint32_t doc;
} heap_e;

/* a ranks below b: lower score, or the same score and a larger id */
static inline bool worse(const heap_e *a, const heap_e *b)
{
    return a->score < b->score || (a->score == b->score && a->id > b->id);
}

static void heap_down(heap_e *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[l], &h[m]))
            m = l;
        if (r < n && worse(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        heap_e t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_up(heap_e *h, int i)
{
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!worse(&h[i], &h[p]))
            return;
        heap_e t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

/* Offers a scored row to the k best. */
static void heap_offer(heap_e *h, int *n, int k, heap_e e)
{
    if (*n < k) {
        h[*n] = e;
        heap_up(h, (*n)++);
    } else if (worse(&h[0], &e)) {
        h[0] = e;
        heap_down(h, *n, 0);
    }
}

static int cmp_hit_desc(const void *a, const void *b)
{
    const heap_e *x = a, *y = b;
    if (worse(x, y))
        return 1;
    if (worse(y, x))
        return -1;
    return 0;
}

static int cmp_ub(const void *a, const void *b)
{
    const plist *x = *(plist *const *)a, *y = *(plist *const *)b;
    if (x->ub != y->ub)
        return x->ub < y->ub ? -1 : 1;
    return x->phrase - y->phrase;
}

/* The exhaustive reference: every matching row scored. */
static bool search_all(const lex_index *x, plist *pl, int np, const double *w, double avgdl,
                       heap_e *h, int *nh, int k, lex_stats *st)
{
    double *acc = calloc(x->n_d ? x->n_d : 1, sizeof *acc);
    uint32_t *touched = NULL;
    uint64_t nt = 0, cap = 0;
    if (!acc)
        return false;
    for (int i = 0; i < np; i++) {
        plist *l = &pl[i];
        for (uint32_t j = 0; j < l->n; j++) {
            uint32_t d = l->doc[j];
            if (!x->alive[d])
                continue;
            if (st)
                st->postings++;
            if (acc[d] == 0) {
                if (!grow((void **)&touched, &cap, nt + 1, sizeof *touched)) {
                    free(acc);
                    free(touched);
                    return false;
                }
                touched[nt++] = d;
            }
            acc[d] += l->idf * tf_part((double)pl_tf(l, j), (double)x->len[d], avgdl);
        }
    }
    for (uint64_t i = 0; i < nt; i++) {
        uint32_t d = touched[i];
        heap_e e = {w[x->field[d]] * acc[d], x->rowid[d], d};
        heap_offer(h, nh, k, e);
    }
    if (st) {
        st->scored += (int64_t)nt;
        st->matched = (int64_t)nt;
    }
    free(acc);
    free(touched);
    return true;
}

static bool search_maxscore(const lex_index *x, plist *pl, int np, const double *w,
                            double avgdl, heap_e *h, int *nh, int k, lex_stats *st)
{
    plist **o = malloc((size_t)np * sizeof *o);
    double *pre = malloc((size_t)np * sizeof *pre);
    uint32_t *tfs = calloc((size_t)np, sizeof *tfs);
    if (!o || !pre || !tfs) {
        free(o), free(pre), free(tfs);
        return false;
    }
    for (int i = 0; i < np; i++)
        o[i] = &pl[i];
    qsort(o, (size_t)np, sizeof *o, cmp_ub);
    for (int i = 0; i < np; i++)
        pre[i] = (i ? pre[i - 1] : 0) + o[i]->ub;
    int ess = 0; /* o[ess..np) are essential */
    double theta = 0;
    bool full = false;
    for (;;) {
        /* next candidate: the smallest doc of the essential lists */
        uint32_t d = UINT32_MAX;
        for (int i = ess; i < np; i++)
            if (o[i]->cur < o[i]->n && o[i]->doc[o[i]->cur] < d)
                d = o[i]->doc[o[i]->cur];
        if (d == UINT32_MAX)
            break;
        double rest = ess ? pre[ess - 1] : 0;
        if (full) {
            /* block maxima: no row up to the end of the earliest-ending
             * current block can beat theta? skip them all */
            double bsum = rest;
            uint32_t upto = UINT32_MAX;
            for (int i = ess; i < np; i++) {
                plist *l = o[i];
                if (l->cur >= l->n)
                    continue;
                uint32_t b = l->cur / LEX_BLOCK;
                bsum += l->bb[b];
                if (l->blk[b].last < upto)
                    upto = l->blk[b].last;
            }
            if (bsum * BOUND_SLACK < theta) {
                for (int i = ess; i < np; i++) {
                    plist *l = o[i];
                    if (l->cur < l->n && l->doc[l->cur] <= upto)
                        l->cur = upto == UINT32_MAX ? l->n
                                                    : seek(l->doc, l->blk, l->n, l->cur, upto + 1);
                }
                continue;
            }
        }
        bool live = x->alive[d];
        double wd = w[x->field[d]], D = (double)x->len[d], part = 0, bound = rest;
        if (live && full) {
            for (int i = ess; i < np; i++) {
                plist *l = o[i];
                if (l->cur < l->n && l->doc[l->cur] == d)
                    bound += l->bb[l->cur / LEX_BLOCK];
            }
            live = bound * BOUND_SLACK >= theta;
        }
        for (int i = ess; i < np; i++) {
            plist *l = o[i];
            if (l->cur < l->n && l->doc[l->cur] == d) {
                if (live) {
                    uint32_t tf = pl_tf(l, l->cur);
                    tfs[l->phrase] = tf;
                    part += wd * l->idf * tf_part((double)tf, D, avgdl);
                }
                l->cur++;
                if (st)
                    st->postings++;
            }
        }
        if (!live)
            continue;
        bool pruned = false;
        for (int i = ess - 1; i >= 0; i--) {
            plist *l = o[i];
            if (full && (part + pre[i]) * BOUND_SLACK < theta) {
                pruned = true;
                break;
            }
            l->cur = seek(l->doc, l->blk, l->n, l->cur, d);
            if (st)
                st->postings++;
            if (l->cur < l->n && l->doc[l->cur] == d) {
                uint32_t tf = pl_tf(l, l->cur);
                tfs[l->phrase] = tf;
                part += wd * l->idf * tf_part((double)tf, D, avgdl);
            }
        }
        if (!pruned) {
            /* the row's score in the query's phrase order (as FTS5 adds) */
            double s = 0;
            for (int p = 0; p < np; p++)
                if (tfs[p])
                    s += pl[p].idf * tf_part((double)tfs[p], D, avgdl);
            heap_e e = {wd * s, x->rowid[d], d};
            heap_offer(h, nh, k, e);
            if (st)
                st->scored++;
            if (*nh == k) {
                full = true;
                theta = h[0].score;
                while (ess < np && pre[ess] * BOUND_SLACK < theta)
                    ess++;
            }
        }
        for (int p = 0; p < np; p++)
            tfs[p] = 0;
    }
    free(o);
    free(pre);
    free(tfs);
    return true;
}

odx_status lex_search(const lex_index *x, const char *const *terms, int n_terms,
                      const lex_params *p, lex_hit **hits, int *n, lex_stats *stats,
                      odx_err *err)
{
    if (!x || !p || !hits || !n || n_terms < 0 || (n_terms && !terms))
        return core_err(err, ODX_ERR_INVALID, "lex_search: bad arguments");
    if (p->k < 1 || p->k > LEX_MAX_K)
        return core_err(err, ODX_ERR_INVALID, "lex_search: k must be 1..%d", LEX_MAX_K);
    *hits = NULL;
    *n = 0;
    if (stats)
        memset(stats, 0, sizeof *stats);
    double w[LEX_MAX_FIELDS];
    for (int f = 0; f < LEX_MAX_FIELDS; f++) {
        w[f] = p->weights[f] == 0 ? 1.0 : p->weights[f];
        if (!(w[f] > 0) || !isfinite(w[f]))
            return core_err(err, ODX_ERR_INVALID, "lex_search: field weights must be > 0");
    }
    if (n_terms > LEX_MAX_TERMS)
        n_terms = LEX_MAX_TERMS;
    if (x->n_live == 0 || n_terms == 0)
        return ODX_OK;
    odx_status rc = ODX_OK;
    plist *pl = calloc((size_t)n_terms, sizeof *pl);
    heap_e *h = malloc((size_t)p->k * sizeof *h);
    int np = 0, nh = 0;
    if (!pl || !h) {
        rc = core_err(err, ODX_ERR_NOMEM, "lexical search: out of memory");
        goto done;
    }
    double N = (double)x->n_live, avgdl = (double)x->tokens_live / N;
    double wmask[256]; /* the largest weight of the fields in a block's mask */
    for (uint32_t m = 0; m < 256; m++) {
        wmask[m] = 0;
        for (int f = 0; f < LEX_MAX_FIELDS; f++)
            if (m & (1u << f) && w[f] > wmask[m])
                wmask[m] = w[f];
    }
    for (int i = 0; i < n_terms; i++) {
        plist *l = &pl[np];
        l->phrase = np;
        qtok q = {.x = x, .all_cjk = true};
        const char *s = terms[i] ? terms[i] : "";
        emb_tokenize(s, (int)strlen(s), qtok_cb, &q);
        if (q.n > 1 && q.all_cjk && !q.missing) {
            /* CJK characters only: the phrase of their pairs, one shorter */
            for (int j = 0; j + 1 < q.n; j++) {
                char pair[9];
                pair[0] = PAIR_MARK;
                memcpy(pair + 1, q.cjk[j], q.cjk_len[j]);
                memcpy(pair + 1 + q.cjk_len[j], q.cjk[j + 1], q.cjk_len[j + 1]);
                q.t[j] = term_find(x, pair, 1 + q.cjk_len[j] + q.cjk_len[j + 1]);
                q.missing |= q.t[j] < 0;
            }
            q.n--;
        }
        int64_t hit = 0;
        if (q.n > 0 && !q.missing) {
            if (q.n == 1) {
                const term *t = &x->t[q.t[0]];
                l->t = t;
                l->doc = t->doc;
                l->tf8 = t->tf;
                l->blk = t->blk;
                l->n = t->n;
                hit = (int64_t)t->n - t->dead;
            } else if (!make_phrase(x, q.t, q.n, avgdl, l, stats)) {
                np++;
                rc = core_err(err, ODX_ERR_NOMEM, "lexical search: out of memory");
                goto done;
            } else {
                hit = l->n;
            }
        }
        /* a phrase no live row holds still counts as one (it adds 0) */
        double idf = log((N - (double)hit + 0.5) / ((double)hit + 0.5));
        if (idf <= 0.0)
            idf = 1e-6;
        l->idf = idf;
        uint32_t nb = (l->n + LEX_BLOCK - 1) / LEX_BLOCK;
        l->bb = malloc((nb ? nb : 1) * sizeof *l->bb);
        if (!l->bb) {
            np++;
            rc = core_err(err, ODX_ERR_NOMEM, "lexical search: out of memory");
            goto done;
        }
        l->ub = 0;
        /* made lists have impacts at this very average */
        double scale = l->tf || avgdl <= x->ref_avgdl ? 1.0 : avgdl / x->ref_avgdl;
        for (uint32_t b = 0; b < nb; b++) {
            l->bb[b] = wmask[l->blk[b].fields & 0xFF] * idf * scale * (double)l->blk[b].impact;
            if (l->bb[b] > l->ub)
                l->ub = l->bb[b];
        }
        np++;
    }
    bool ok = p->exhaustive ? search_all(x, pl, np, w, avgdl, h, &nh, p->k, stats)
                            : search_maxscore(x, pl, np, w, avgdl, h, &nh, p->k, stats);
    if (!ok) {
        rc = core_err(err, ODX_ERR_NOMEM, "lexical search: out of memory");
        goto done;
    }
    qsort(h, (size_t)nh, sizeof *h, cmp_hit_desc);
    lex_hit *out = malloc((size_t)(nh ? nh : 1) * sizeof *out);
    if (!out) {
        rc = core_err(err, ODX_ERR_NOMEM, "lexical search: out of memory");
        goto done;
    }
    for (int i = 0; i < nh; i++) {
        out[i].id = h[i].id;
        out[i].score = h[i].score;
        out[i].field = x->field[h[i].doc];
    }
    *hits = out;
    *n = nh;
done:
    for (int i = 0; i < np; i++) {
        free(pl[i].own_doc);
        free(pl[i].own_tf);
        free(pl[i].own_blk);
        free(pl[i].bb);
    }
    free(pl);
    free(h);
    return rc;
}

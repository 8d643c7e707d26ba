/* search.c - hybrid search: the query's embedding against FAISS and its
 * terms against FTS5, fused by reciprocal rank fusion, grouped per content
 * (one result per image, exact copies collapsed), filtered, scored 0..1. */
#include "retriever.h"
#include "embedder.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RRF_K 60.0

struct odx_results {
    int n;
    odx_result *items;
    uint64_t *dhash; /* per item, for near-duplicate collapsing */
    /* what was asked, for ret_results_object_json: the query of a search,
     * or the example of a search by example (its image id when indexed,
     * else the path of the file described) */
    char *query;
    int64_t similar_to;
    char *like;
    /* the learned-vector path: asked for (model NULL: not), used, and why
     * not when not */
    char *embed_model, *embed_note;
    bool embed_asked, embed_used;
};

typedef struct cand {
    char hash[65];
    int dense_rank, lex_rank;    /* 1-based, 0 = absent */
    int embed_rank;              /* the learned-vector path's rank, 0 = absent */
    double cos, bm25, rrf, cover, score;
    double ecos;                 /* cosine of the learned vectors */
    bool kind_match;             /* domain (and chart type) the query asks for */
    bool photo_match;            /* a photo, for queries about things/scenes */
    bool cov_done;               /* cover and matched computed while scoring */
    bool pending;                /* score is an upper bound: cov_pending or dom_pending */
    bool cov_pending;            /* coverage not read yet (counted as full) */
    bool dom_pending;            /* domain not read yet (counted as a photo) */
    double cosn, rel_rank;       /* the parts of the score besides coverage */
    char matched[96];            /* text kinds holding query words */
    char dense_field[16], lex_kind[16];
    char picture[96];            /* search by example: the near-duplicate model's
                                    reading of the pair, for explain */
} cand;

/* The candidates, with an open-addressing table from content hash to
 * position (slot: position + 1, 0 empty): a query with intent adds up to
 * INTENT_MAX_CANDIDATES, which a linear lookup per hit made quadratic. */
typedef struct cand_set {
    cand *v;
    int n, cap;
    uint32_t *slot;
    uint32_t slot_cap; /* a power of two, >= 2 * cap; 0 before the first */
    bool stale;        /* v was reordered: the table is rebuilt on next use */
} cand_set;

static uint32_t cand_home(const cand_set *cs, const char *hash)
{
    return (uint32_t)core_hash64(hash, strlen(hash), 0xca4d) & (cs->slot_cap - 1);
}

static bool cand_reindex(cand_set *cs, uint32_t cap)
{
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return false;
    free(cs->slot);
    cs->slot = t;
    cs->slot_cap = cap;
    for (int i = 0; i < cs->n; i++) {
        uint32_t h = cand_home(cs, cs->v[i].hash);
        while (t[h])
            h = (h + 1) & (cap - 1);
        t[h] = (uint32_t)i + 1;
    }
    cs->stale = false;
    return true;
}

static void cand_reset(cand_set *cs)
{
    cs->n = 0;
    if (cs->slot)
        memset(cs->slot, 0, cs->slot_cap * sizeof *cs->slot);
    cs->stale = false;
}

static void cand_sort(cand_set *cs, int (*cmp)(const void *, const void *))
{
    qsort(cs->v, (size_t)cs->n, sizeof *cs->v, cmp);
    cs->stale = true;
}

static void cand_free(cand_set *cs)
{
    free(cs->v);
    free(cs->slot);
}

static cand *cand_get(cand_set *cs, const char *hash)
{
    if ((cs->stale || !cs->slot_cap) && !cand_reindex(cs, cs->slot_cap ? cs->slot_cap : 256))
        return NULL;
    uint32_t h = cand_home(cs, hash);
    for (; cs->slot[h]; h = (h + 1) & (cs->slot_cap - 1))
        if (strcmp(cs->v[cs->slot[h] - 1].hash, hash) == 0)
            return &cs->v[cs->slot[h] - 1];
    if (cs->n == cs->cap) {
        int cap = cs->cap ? cs->cap * 2 : 64;
        cand *v = realloc(cs->v, (size_t)cap * sizeof *v);
        if (!v)
            return NULL;
        cs->v = v;
        cs->cap = cap;
    }
    if ((uint32_t)cs->cap * 2 > cs->slot_cap) {
        uint32_t nc = cs->slot_cap;
        while ((uint32_t)cs->cap * 2 > nc)
            nc *= 2;
        if (!cand_reindex(cs, nc))
            return NULL;
        for (h = cand_home(cs, hash); cs->slot[h]; h = (h + 1) & (cs->slot_cap - 1))
            ;
    }
    cand *c = &cs->v[cs->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->hash, sizeof c->hash, "%s", hash);
    cs->slot[h] = (uint32_t)cs->n;
    return c;
}

/* ---------------------------------------------------------- coverage ---- */

/* Token hashes of one image's texts, to see which query groups it holds. */
typedef struct tokset {
    uint64_t *v;
    int n, cap;
} tokset;

static int tokset_add_cb(void *ctx, const char *tok, int len, int start, int end,
                         bool colocated)
{
    (void)start, (void)end, (void)colocated;
    tokset *ts = ctx;
    if (ts->n == ts->cap) {
        int cap = ts->cap ? ts->cap * 2 : 256;
        if (cap > (1 << 20))
            return 1;
        uint64_t *v = realloc(ts->v, (size_t)cap * sizeof *v);
        if (!v)
            return 1;
        ts->v = v;
        ts->cap = cap;
    }
    ts->v[ts->n++] = core_hash64(tok, (size_t)len, 7);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool tokset_has(const tokset *ts, uint64_t h)
{
    return bsearch(&h, ts->v, (size_t)ts->n, sizeof h, cmp_u64) != NULL;
}

typedef struct term_toks {
    uint64_t h[16];
    int n;
} term_toks;

static int term_cb(void *ctx, const char *tok, int len, int start, int end, bool colocated)
{
    (void)start, (void)end;
    term_toks *t = ctx;
    if (colocated)
        return 0; /* bigrams of CJK terms: unigrams suffice for presence */
    if (t->n < 16)
        t->h[t->n++] = core_hash64(tok, (size_t)len, 7);
    return 0;
}

static void term_toks_of(const char *term, term_toks *t)
{
    t->n = 0;
    emb_tokenize(term, (int)strlen(term), term_cb, t);
}

static bool term_in(const tokset *ts, const term_toks *t)
{
    if (t->n == 0)
        return false;
    for (int i = 0; i < t->n; i++)
        if (!tokset_has(ts, t->h[i]))
            return false;
    return true;
}

/* ------------------------------------------------------------ filters ---- */

typedef struct filters {
    const char *domain, *text_lang, *path, *ext, *after, *before;
    int min_w, min_h;
    int64_t min_size, max_size; /* bytes; 0: no bound */
} filters;

static bool filters_active(const filters *f)
{
    return f->domain || f->text_lang || f->path || f->ext || f->after || f->before ||
           f->min_w || f->min_h || f->min_size || f->max_size;
}

/* The file's size (as indexed) within the bounds, both included. */
static bool size_ok(const filters *f, int64_t size)
{
    return (!f->min_size || size >= f->min_size) && (!f->max_size || size <= f->max_size);
}

/* Two bounds that must both hold: the larger minimum, the smaller maximum
 * (0 is no bound). */
static int64_t tighter_max(int64_t a, int64_t b)
{
    return !a ? b : !b ? a : a < b ? a : b;
}

/* Spellings of one format's extension: ext:jpg finds .jpeg too. */
static int ext_group(const char *e)
{
    static const char *const groups[][4] = {
        {"jpg", "jpeg", "jpe", "jfif"}, {"tif", "tiff", NULL, NULL},
        {"heic", "heif", "hif", NULL},  {"bmp", "dib", NULL, NULL}};
    for (int g = 0; g < (int)(sizeof groups / sizeof *groups); g++)
        for (int i = 0; i < 4 && groups[g][i]; i++)
            if (strcasecmp(e, groups[g][i]) == 0)
                return g;
    return -1;
}

static bool ext_ok(const char *path, const char *ext)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return false;
    dot++;
    if (strcasecmp(dot, ext) == 0)
        return true;
    int a = ext_group(dot);
    return a >= 0 && a == ext_group(ext);
}

/* ------------------------------------------------------------ results ---- */

static void result_clear(odx_result *r)
{
    free((char *)r->path);
    free((char *)r->domain);
    free((char *)r->short_caption);
    free((char *)r->detailed_caption);
    free((char *)r->tags);
    free((char *)r->ocr_text);
    free((char *)r->structure);
    free((char *)r->matched);
    free((char *)r->explain);
    free((char *)r->vlm_caption);
    free((char *)r->vlm_model);
    free((char *)r->hash);
}

/* The detailed caption a VLM wrote for a content, in the query's language
 * when there is one (store_vlm.c); left NULL without. */
static void vlm_pick(store *s, const char *hash, const char *lang, odx_result *r)
{
    store_vlm_text *v = NULL;
    int n = 0, best = -1;
    if (store_vlm_texts(s, hash, &v, &n, NULL) != ODX_OK)
        return;
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i].kind, "detailed") &&
            (best < 0 || (strcmp(v[best].lang, lang) != 0 && !strcmp(v[i].lang, lang))))
            best = i;
    if (best >= 0) {
        r->vlm_caption = core_strdup(v[best].text);
        r->vlm_model = core_strdup(v[best].model ? v[best].model : "");
    }
    store_vlm_texts_free(v, n);
}

void ret_results_free(odx_results *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        result_clear(&r->items[i]);
    free(r->items);
    free(r->dhash);
    free(r->query);
    free(r->like);
    free(r->embed_model);
    free(r->embed_note);
    free(r);
}

int ret_results_count(const odx_results *r) { return r ? r->n : 0; }

odx_search_params ret_search_params_default(void)
{
    odx_search_params p;
    memset(&p, 0, sizeof p);
    p.k = 10;
    p.w_dense = 1.0;
    p.w_lexical = 1.0;
    p.w_embed = 1.0;
    p.embed_timeout_s = 5;
    return p;
}

const odx_result *ret_results_get(const odx_results *r, int i)
{
    return r && i >= 0 && i < r->n ? &r->items[i] : NULL;
}

static void add_opt(cJSON *o, const char *k, const char *v)
{
    if (v)
        core_json_add_text(o, k, v);
}

/* The results as a JSON array (NULL on no memory). */
static cJSON *results_array(const odx_results *r)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; r && i < r->n; i++) {
        const odx_result *x = &r->items[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "rank", i + 1);
        core_json_add_path(o, "path", x->path, strlen(x->path));
        cJSON_AddNumberToObject(o, "id", (double)x->image_id);
        cJSON_AddNumberToObject(o, "score", round(x->score * 1000) / 1000);
        add_opt(o, "domain", x->domain);
        cJSON_AddNumberToObject(o, "width", x->width);
        cJSON_AddNumberToObject(o, "height", x->height);
        cJSON_AddNumberToObject(o, "size", (double)x->size);
        add_opt(o, "caption", x->short_caption);
        add_opt(o, "detailed", x->detailed_caption);
        add_opt(o, "vlm_caption", x->vlm_caption);
        add_opt(o, "vlm_model", x->vlm_model);
        if (x->tags) {
            cJSON *t = cJSON_AddArrayToObject(o, "tags");
            const char *p = x->tags;
            while (*p) {
                const char *e = strstr(p, ", ");
                size_t n = e ? (size_t)(e - p) : strlen(p);
                char *s = strndup(p, n);
                char *c = s ? core_utf8_sanitize(s, n) : NULL;
                if (c)
                    cJSON_AddItemToArray(t, cJSON_CreateString(c));
                free(c);
                free(s);
                p += n;
                if (e)
                    p += 2;
            }
        }
        add_opt(o, "text", x->ocr_text);
        add_opt(o, "structure", x->structure);
        add_opt(o, "matched", x->matched);
        add_opt(o, "explain", x->explain);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

char *ret_results_json(const odx_results *r)
{
    cJSON *a = results_array(r);
    char *s = a ? cJSON_Print(a) : NULL;
    cJSON_Delete(a);
    return s;
}

odx_status ret_results_set_example(odx_results *r, int64_t image_id, const char *path,
                                   odx_err *err)
{
    if (!r)
        return core_err(err, ODX_ERR_INVALID, "no results");
    char *like = path ? strdup(path) : NULL;
    if (path && !like)
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    free(r->like);
    r->like = like;
    r->similar_to = image_id;
    return ODX_OK;
}

char *ret_results_object_json(const odx_results *r)
{
    cJSON *o = cJSON_CreateObject(), *a = results_array(r);
    char *s = NULL;
    bool ok = o && a;
    if (ok && r && r->query)
        ok = core_json_add_text(o, "query", r->query);
    if (ok && r && !r->query && r->similar_to > 0)
        ok = cJSON_AddNumberToObject(o, "similar_to", (double)r->similar_to) != NULL;
    if (ok && r && !r->query && r->like)
        ok = core_json_add_path(o, "like", r->like, strlen(r->like));
    if (ok && r && r->embed_asked) {
        /* the learned-vector path was configured: used, or why not */
        cJSON *e = cJSON_AddObjectToObject(o, "embed");
        ok = e && cJSON_AddBoolToObject(e, "used", r->embed_used) &&
             (!r->embed_model || core_json_add_text(e, "model", r->embed_model)) &&
             (!r->embed_note || core_json_add_text(e, "note", r->embed_note));
    }
    if (ok)
        ok = cJSON_AddNumberToObject(o, "count", r ? r->n : 0) != NULL;
    if (ok && cJSON_AddItemToObject(o, "results", a)) {
        a = NULL;
        s = cJSON_Print(o);
    }
    cJSON_Delete(a);
    cJSON_Delete(o);
    return s;
}

/* ------------------------------------------------------------- search ---- */

typedef struct search_ctx {
    store *s;
    const odx_search_params *p;
    filters f;
    const char *text;
    emb_query q;
    int n_groups;       /* non-stop-word groups (or all when only stop-words) */
    bool zh;            /* caption language for the results */
    double *gw;         /* per query group: idf weight for coverage */
    int64_t *gdf;       /* per query group: caption rows holding it */
    int64_t n_docs;     /* caption rows in the index (estimate) */
    const char *want_domain; /* the kind of image the query's head names */
    const char *want_chart;  /* bar, line, pie, scatter */
    bool want_photo;         /* the head is a thing or a scene, not a kind */
    bool similar;            /* ret_similar: near-duplicates never collapse, matched set */
    const ret_embed *emb;    /* the query's learned vector, or NULL */
    cand_set cs;
    term_toks *tt;           /* the query terms' tokens, groups after each
                                other (tokenized once a query; NULL in
                                ret_similar, which has no words) */
    int *order;              /* score_candidates: candidates best first
                                (indexes into cs.v); NULL: cs.v's order */
} search_ctx;

/* What kind of image does the query ask for? Only the head of the query
 * counts: "table with population by state" wants tables, "cup of espresso
 * on a wooden table" does not. */
/* Images of the kind a query's head names that join the candidates
 * (newest first). */
#define INTENT_MAX_CANDIDATES 2000

static void query_intent(search_ctx *x)
{
    static const char *const charts[][2] = {{"bar_chart", "bar"}, {"line_chart", "line"},
                                            {"pie_chart", "pie"}, {"scatter_chart", "scatter"}};
    int ids[16];
    int n = emb_head_concepts(x->text, strlen(x->text), ids, 16);
    bool thing = false;
    for (int i = 0; i < n; i++) {
        const char *kind = emb_concept_kind(ids[i]);
        thing |= kind && (strcmp(kind, "object") == 0 || strcmp(kind, "scene") == 0);
    }
    /* a head the lexicon does not know ("pelican in flight"): WordNet's */
    if (n == 0)
        thing = emb_head_is_thing(x->text, strlen(x->text));
    for (int i = 0; i < n && !x->want_domain; i++) {
        for (int up = ids[i], depth = 0; up >= 0 && depth < 3 && !x->want_domain;
             up = emb_concept_parent(up), depth++) {
            const char *id = emb_concept_id(up);
            if (!id)
                break;
            for (int c = 0; c < 4; c++) {
                if (strcmp(id, charts[c][0]) == 0) {
                    x->want_chart = charts[c][1];
                    x->want_domain = "chart";
                }
            }
            /* not photo: its words (image, picture) are how people say "an
             * image of anything", so they do not single out a kind */
            for (int d = 0; d < ODX_N_DOMAINS && !x->want_domain; d++)
                if (d != ODX_DOMAIN_PHOTO && strcmp(id, core_domain_name(d)) == 0)
                    x->want_domain = core_domain_name(d);
        }
    }
    /* "dark forest with a footpath", "red motorcycle in a garage": the
     * query is about what a picture shows, which photos hold */
    x->want_photo = !x->want_domain && thing;
}

static int mark_kind(void *ctx, const char *hash)
{
    cand *c = cand_get(ctx, hash);
    if (c)
        c->kind_match = true;
    return 0;
}

/* Adds the images of the wanted kind as candidates (a query like "a
 * table" should list every table) and marks candidates of that kind. */
static odx_status intent_candidates(search_ctx *x, odx_err *err)
{
    /* photos are marked (never added) when a candidate comes to the front
     * of the results (cand_resolve): most never do */
    if (x->want_photo || !x->want_domain)
        return ODX_OK;
    return store_contents_each(x->s, x->want_domain, x->want_chart, INTENT_MAX_CANDIDATES,
                               mark_kind, &x->cs, err);
}

/* Ranks of one search path per content: the first hit of a content is
 * its rank on that path (a content has several vectors / caption rows). */
enum { PATH_DENSE, PATH_LEX, PATH_EMBED };
static void merge_hits(search_ctx *x, const store_hit *hits, int n, int path)
{
    int rank = 0;
    bool dense = path == PATH_DENSE;
    for (int i = 0; i < n; i++) {
        cand *c = cand_get(&x->cs, hits[i].hash);
        if (!c)
            break;
        int *r = dense ? &c->dense_rank : path == PATH_LEX ? &c->lex_rank : &c->embed_rank;
        if (*r)
            continue;
        *r = ++rank;
        if (path == PATH_EMBED) {
            c->ecos = hits[i].score;
        } else if (dense) {
            c->cos = hits[i].score;
            snprintf(c->dense_field, sizeof c->dense_field, "%s", hits[i].field);
        } else {
            c->bm25 = hits[i].score;
            snprintf(c->lex_kind, sizeof c->lex_kind, "%s", hits[i].field);
        }
    }
}

static odx_status run_dense(search_ctx *x, int k, odx_err *err)
{
    float *qv = malloc(sizeof(float) * EMB_DIM);
    if (!qv)
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    emb_embed(x->text, strlen(x->text), qv);
    store_hit *hits = NULL;
    int n = 0;
    odx_status st = store_dense_search(x->s, qv, k, &hits, &n, err);
    free(qv);
    if (st != ODX_OK)
        return st;
    merge_hits(x, hits, n, PATH_DENSE);
    free(hits);
    return ODX_OK;
}

/* The learned-vector path: the query's remote embedding against the
 * stored ones of the same model. A failure here is not the search's: it
 * answers from the native paths and says why. */
static void run_embed(search_ctx *x, odx_results *res, int k)
{
    store_hit *hits = NULL;
    int n = 0;
    odx_err e = {0};
    if (store_embed_search(x->s, x->emb->model, x->emb->v, x->emb->dim, k, &hits, &n, &e) !=
        ODX_OK) {
        res->embed_used = false;
        free(res->embed_note);
        res->embed_note = core_strdup(e.msg);
        return;
    }
    merge_hits(x, hits, n, PATH_EMBED);
    free(hits);
}

/* FTS5 scores every row that matches (FACTS.md): at scale a word found in
 * a large share of all captions costs far more than it tells. Such groups
 * are left out of MATCH (they still count for coverage and the dense
 * path) as long as a rarer group remains. */
#define DF_MIN_ROWS 20000
#define DF_MAX_SHARE 0.15

/* Document frequencies of the query groups, once per query: they weight
 * coverage (a rare word says more than a common one) and decide which
 * words leave MATCH at scale. */
static void group_stats(search_ctx *x)
{
    int n = x->q.n_groups, n_terms = 0;
    x->gw = calloc((size_t)(n ? n : 1), sizeof *x->gw);
    x->gdf = calloc((size_t)(n ? n : 1), sizeof *x->gdf);
    for (int g = 0; g < n; g++)
        n_terms += x->q.groups[g].n_terms;
    const char **terms = calloc((size_t)(n_terms ? n_terms : 1), sizeof *terms);
    int64_t *df = calloc((size_t)(n_terms ? n_terms : 1), sizeof *df);
    if (!x->gw || !x->gdf || !terms || !df)
        goto done;
    for (int g = 0; g < n; g++)
        x->gw[g] = 1.0; /* unweighted if the frequencies cannot be read */
    for (int g = 0, k = 0; g < n; g++)
        for (int t = 0; t < x->q.groups[g].n_terms; t++)
            terms[k++] = x->q.groups[g].terms[t];
    if (store_terms_df(x->s, terms, n_terms, df, &x->n_docs, NULL) != ODX_OK)
        x->n_docs = 0;
    for (int g = 0, k = 0; g < n; g++) {
        int64_t gdf = 0;
        for (int t = 0; t < x->q.groups[g].n_terms; t++)
            gdf += df[k++];
        x->gdf[g] = gdf > x->n_docs ? x->n_docs : gdf;
        x->gw[g] = x->n_docs > 0 ? log(1.0 + (double)x->n_docs / (1.0 + (double)x->gdf[g]))
                                 : 1.0;
    }
done:
    free(terms);
    free(df);
}

/* Leaves the very common groups out at scale (above), with their flags
 * saved in was[] for lex_restore. */
static bool *lex_cut(search_ctx *x)
{
    int n = x->q.n_groups;
    bool *was = calloc((size_t)(n ? n : 1), sizeof *was);
    if (!was)
        return NULL;
    for (int g = 0; g < n; g++)
        was[g] = x->q.groups[g].stopword;
    if (n > 1 && x->gdf && x->n_docs >= DF_MIN_ROWS) {
        int kept = 0;
        for (int g = 0; g < n; g++)
            kept += !x->q.groups[g].stopword &&
                    (double)x->gdf[g] <= DF_MAX_SHARE * (double)x->n_docs;
        for (int g = 0; kept > 0 && g < n; g++)
            if ((double)x->gdf[g] > DF_MAX_SHARE * (double)x->n_docs)
                x->q.groups[g].stopword = true;
    }
    return was;
}

static void lex_restore(search_ctx *x, bool *was)
{
    for (int g = 0; g < x->q.n_groups; g++)
        x->q.groups[g].stopword = was[g];
    free(was);
}

/* Which engine finds the lexical candidates (the same rows and scores
 * either way): storage's in-memory index once this handle has searched
 * enough to pay for building it (the default, OMNIDEX_LEXICAL=auto), the
 * index from the first search (=index), or FTS5 alone (=fts5). */
static int lex_engine(void)
{
    const char *e = getenv("OMNIDEX_LEXICAL");
    if (e && strcmp(e, "fts5") == 0)
        return 2;
    return e && strcmp(e, "index") == 0 ? 1 : 0;
}

static odx_status run_lexical(search_ctx *x, int limit, odx_err *err)
{
    bool *was = lex_cut(x);
    if (!was)
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    store_hit *hits = NULL;
    int n = 0;
    odx_status st = ODX_OK;
    int engine = lex_engine();
    if (engine == 2) {
        char *match = emb_query_fts(&x->q);
        lex_restore(x, was);
        if (!match)
            return ODX_OK;
        st = store_fts_search(x->s, match, limit, &hits, &n, err);
        free(match);
    } else {
        const char *terms[EMB_QUERY_MAX_TERMS];
        int nt = emb_query_terms(&x->q, terms, EMB_QUERY_MAX_TERMS);
        /* terms point into x->q, whose strings the flags do not touch */
        lex_restore(x, was);
        if (nt == 0)
            return ODX_OK;
        st = store_lex_search(x->s, terms, nt, limit,
                              engine == 1 ? STORE_LEX_INDEX : STORE_LEX_AUTO, &hits, &n, err);
    }
    if (st != ODX_OK)
        return st;
    merge_hits(x, hits, n, PATH_LEX);
    free(hits);
    return ODX_OK;
}

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return strcmp(x->hash, y->hash);
}

/* Date of an image for after:/before: EXIF time if any, else file mtime. */
static void image_date(const char *taken_at, int64_t mtime_ns, char out[11])
{
    if (taken_at && strlen(taken_at) >= 10) {
        memcpy(out, taken_at, 10);
        out[10] = 0;
        return;
    }
    time_t t = (time_t)(mtime_ns / 1000000000LL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static bool date_ok(const filters *f, const char *date)
{
    if (f->after && strncmp(date, f->after, strlen(f->after)) < 0)
        return false;
    if (f->before && strncmp(date, f->before, strlen(f->before)) >= 0)
        return false;
    return true;
}

/* "'term' in field", unless already said: groups share expanded terms and
 * two caption kinds share one label. */
static void explain_once(core_buf *explain, const char *term, const char *label)
{
    char item[320];
    snprintf(item, sizeof item, "'%s' in %s", term, label);
    if (explain->len && explain->data) {
        size_t n = strlen(item);
        for (const char *p = explain->data; (p = strstr(p, item)) != NULL; p += n)
            if ((p == explain->data || p[-1] == ' ') && (p[n] == ';' || p[n] == 0))
                return;
    }
    core_buf_printf(explain, "%s%s", explain->len ? "; " : "", item);
}

/* A query word found only through an expansion (a synonym, the other
 * language's word, pinyin) is weaker evidence than the word itself: "古代"
 * in a query is better met by 古代 than by a page that says 历史. */
#define EXPANSION_CREDIT 0.5

/* Coverage of the query groups by one content's texts and the kinds that
 * matched (caption, tags, OCR text, structure). */
static double coverage(search_ctx *x, const store_text *t, int n_t, char *matched,
                       size_t mlen, core_buf *explain)
{
    if (mlen)
        matched[0] = 0;
    if (x->n_groups == 0 || !x->tt)
        return 0;
    /* per odx_caption_kind: how explain and "matched" name it */
    static const char *const labels[ODX_N_CAPTION_KINDS] = {
        [ODX_CAPTION_DETAILED] = "caption", [ODX_CAPTION_SHORT] = "caption",
        [ODX_CAPTION_TAGS] = "tags", [ODX_CAPTION_OCR] = "OCR text",
        [ODX_CAPTION_STRUCTURE] = "structure"};
    _Static_assert(ODX_N_CAPTION_KINDS == 5, "a label per caption kind");
    tokset ts[5] = {{0}};
    for (int i = 0; i < n_t; i++) {
        int k = core_caption_kind_parse(t[i].kind);
        if (k >= 0)
            emb_tokenize(t[i].text, (int)strlen(t[i].text), tokset_add_cb, &ts[k]);
    }
    for (int k = 0; k < 5; k++)
        if (ts[k].n)
            qsort(ts[k].v, (size_t)ts[k].n, sizeof(uint64_t), cmp_u64);
    bool kind_hit[5] = {false};
    double covered = 0, total = 0;
    bool only_stop = x->n_groups == x->q.n_groups;
    for (int g = 0, base = 0; g < x->q.n_groups; base += x->q.groups[g].n_terms, g++) {
        const emb_query_group *gr = &x->q.groups[g];
        if (gr->stopword && !only_stop)
            continue;
        bool hit = false, own = false;
        for (int k = 0; k < 5; k++) {
            for (int j = 0; j < gr->n_terms; j++) {
                if (ts[k].n && term_in(&ts[k], &x->tt[base + j])) {
                    hit = true;
                    own |= j < gr->n_own;
                    kind_hit[k] = true;
                    if (explain)
                        explain_once(explain, gr->terms[j], labels[k]);
                    break;
                }
            }
        }
        double w = x->gw ? x->gw[g] : 1.0;
        covered += hit ? (own ? w : w * EXPANSION_CREDIT) : 0;
        total += w;
    }
    matched[0] = 0;
    for (int k = 0; k < 5; k++) {
        if (kind_hit[k] && !strstr(matched, labels[k])) {
            size_t l = strlen(matched);
            snprintf(matched + l, mlen - l, "%s%s", l ? ", " : "", labels[k]);
        }
        free(ts[k].v);
    }
    return total > 0 ? covered / total : 0;
}

static const char *text_of(const store_text *t, int n, const char *kind, const char *lang)
{
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].kind, kind) == 0 && (!lang || strcmp(t[i].lang, lang) == 0))
            return t[i].text;
    return NULL;
}

/* A near-identical image (re-encoded, resized) already in the results?
 * Photos: the difference hashes are within a few bits. Other domains (text
 * pages look alike at 9x8) also need the same short caption. */
static bool near_duplicate(odx_results *res, uint64_t dhash, const char *domain,
                           const char *hash, search_ctx *x)
{
    if (!domain)
        return false;
    bool photo = strcmp(domain, "photo") == 0;
    char *cap = NULL;
    bool dup = false;
    for (int i = 0; i < res->n && !dup; i++) {
        const odx_result *r = &res->items[i];
        if (!r->domain || strcmp(r->domain, domain) != 0)
            continue;
        if (__builtin_popcountll(res->dhash[i] ^ dhash) > 4)
            continue;
        if (photo) {
            dup = true;
            break;
        }
        if (!cap) {
            store_text *t = NULL;
            int n_t = 0;
            if (store_content_texts(x->s, hash, &t, &n_t, NULL) == ODX_OK)
                cap = core_strdup(text_of(t, n_t, "short", x->zh ? "zh" : "en"));
            store_texts_free(t, n_t);
            if (!cap)
                return false;
        }
        dup = r->short_caption && strcmp(r->short_caption, cap) == 0;
    }
    free(cap);
    return dup;
}

/* A candidate's score for a coverage: relevance (coverage and cosine)
 * scaled by the fused rank, then the bonus of the wanted kind. */
static double cand_score(const search_ctx *x, const cand *c, double cover)
{
    double abs_rel = x->n_groups ? 0.6 * cover + 0.4 * c->cosn : c->cosn;
    if (x->p->mode == ODX_MODE_DENSE)
        abs_rel = c->cosn;
    double score = abs_rel * (0.5 + 0.5 * c->rel_rank);
    /* the image is of the kind the query asks for: halfway to 1 */
    if (c->kind_match)
        score += (1 - score) * 0.5;
    else if (c->photo_match)
        score += (1 - score) * 0.25;
    return score;
}

/* Reads what a pending candidate's score waits for (its domain, its
 * texts for coverage) and sets the exact score. A text that cannot be read
 * counts as not covering, as before; a domain that cannot be read fails
 * the search. */
static odx_status cand_resolve(search_ctx *x, cand *c, odx_err *err)
{
    if (!c->pending)
        return ODX_OK;
    if (c->dom_pending) {
        char d[32];
        bool found;
        odx_status rc = store_content_domain(x->s, c->hash, d, sizeof d, &found, err);
        if (rc != ODX_OK)
            return rc;
        c->photo_match = found && strcmp(d, "photo") == 0;
        c->dom_pending = false;
    }
    if (c->cov_pending) {
        store_text *t = NULL;
        int n_t = 0;
        c->cover = 0;
        if (store_content_texts(x->s, c->hash, &t, &n_t, NULL) == ODX_OK) {
            c->cover = coverage(x, t, n_t, c->matched, sizeof c->matched, NULL);
            c->cov_done = true;
        }
        store_texts_free(t, n_t);
        c->cov_pending = false;
    }
    c->pending = false;
    c->score = cand_score(x, c, c->cover);
    return ODX_OK;
}

/* Best first; on equal keys an upper bound goes first (it may be read to
 * something that sorts before), then by hash as cmp_cand. */
static int cmp_pending(const cand *p, const cand *q)
{
    if (p->score != q->score)
        return p->score < q->score ? 1 : -1;
    if (p->pending != q->pending)
        return p->pending ? -1 : 1;
    return strcmp(p->hash, q->hash);
}

/* The candidate at position i of the order, its exact score known: an
 * upper bound at the front is replaced by the score and moved back to
 * its place, until the front is exact. NULL on a failed read (*st). */
static cand *next_cand(search_ctx *x, int i, odx_status *st, odx_err *err)
{
    if (!x->order)
        return &x->cs.v[i];
    for (;;) {
        cand *c = &x->cs.v[x->order[i]];
        if (!c->pending)
            return c;
        if ((*st = cand_resolve(x, c, err)) != ODX_OK)
            return NULL;
        int me = x->order[i], j = i;
        while (j + 1 < x->cs.n && cmp_pending(&x->cs.v[x->order[j + 1]], c) < 0) {
            x->order[j] = x->order[j + 1];
            j++;
        }
        x->order[j] = me;
    }
}

/* Turns candidate contents into results: filters, paths, captions. */
static odx_status build_results(search_ctx *x, odx_results *res, int k, odx_err *err)
{
    odx_status st = ODX_OK;
    res->items = calloc((size_t)k, sizeof *res->items);
    free(res->dhash);
    res->dhash = calloc((size_t)k, sizeof *res->dhash);
    if (!res->items || !res->dhash)
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    for (int i = 0; i < x->cs.n && res->n < k; i++) {
        cand *c = next_cand(x, i, &st, err);
        if (!c)
            break;
        if (x->p->min_score > 0 && c->score < x->p->min_score)
            break;
        store_content_info ci;
        bool found;
        if ((st = store_content_info_get(x->s, c->hash, &ci, &found, err)) != ODX_OK)
            break;
        if (!found)
            continue; /* content gone since the index was searched */
        if (!ci.desc_valid) {
            /* written by omnidex as JSON: unreadable now means damage */
            store_content_info_clear(&ci);
            st = core_err(err, ODX_ERR_CORRUPT,
                          "search: the description of content %s is not valid JSON (the"
                          " database is damaged: run 'omnidex check')", c->hash);
            break;
        }
        const char *domain = ci.domain, *tlang = ci.text_lang;
        int w = ci.width, h = ci.height;
        bool keep = true;
        if (x->f.domain && (!domain || strcmp(domain, x->f.domain) != 0))
            keep = false;
        if (keep && x->f.text_lang) {
            bool zhf = strcmp(x->f.text_lang, "zh") == 0;
            if (!tlang || !(strcmp(tlang, x->f.text_lang) == 0 ||
                            (zhf && strcmp(tlang, "mixed") == 0)))
                keep = false;
        }
        if (keep && (w < x->f.min_w || h < x->f.min_h))
            keep = false;
        uint64_t dhash = ci.dhash;
        if (keep && !x->p->all && !x->similar && ci.has_dhash &&
            near_duplicate(res, dhash, domain, c->hash, x))
            keep = false;
        store_image *ims = NULL;
        int n_ims = 0;
        if (keep && (st = store_images_of(x->s, c->hash, STORE_BY_LENGTH, &ims, &n_ims, err)) !=
                        ODX_OK)
            keep = false;
        store_text *t = NULL;
        int n_t = 0;
        bool first = true;
        for (int j = 0; keep && j < n_ims && res->n < k; j++) {
            char date[11];
            image_date(ci.taken_at, ims[j].mtime_ns, date);
            const char *path = ims[j].path;
            if ((x->f.path && !strstr(path, x->f.path)) || (x->f.ext && !ext_ok(path, x->f.ext)) ||
                !date_ok(&x->f, date) || !size_ok(&x->f, ims[j].size))
                continue;
            if (!first && !x->p->all)
                break; /* exact copies collapse into the first path */
            if (first) {
                if ((st = store_content_texts(x->s, c->hash, &t, &n_t, err)) != ODX_OK)
                    break;
            }
            first = false;
            res->dhash[res->n] = dhash;
            odx_result *r = &res->items[res->n++];
            const char *lang = x->zh ? "zh" : "en";
            r->image_id = ims[j].id;
            r->hash = core_strdup(c->hash);
            r->path = ims[j].path;
            ims[j].path = NULL; /* moved into the result */
            r->score = c->score;
            r->domain = core_strdup(domain);
            r->width = w;
            r->height = h;
            r->size = ims[j].size;
            r->short_caption = core_strdup(text_of(t, n_t, "short", lang));
            r->detailed_caption = core_strdup(text_of(t, n_t, "detailed", lang));
            r->tags = core_strdup(text_of(t, n_t, "tags", lang));
            r->ocr_text = core_strdup(text_of(t, n_t, "ocr", NULL));
            r->structure = core_strdup(text_of(t, n_t, "structure", NULL));
            vlm_pick(x->s, c->hash, lang, r);
            char matched[96];
            core_buf ex;
            core_buf_init(&ex, 4096);
            /* scoring already read these texts; explain needs the terms */
            if (c->cov_done && (!x->p->explain || x->similar))
                snprintf(matched, sizeof matched, "%s", c->matched);
            else
                coverage(x, t, n_t, matched, sizeof matched, x->p->explain ? &ex : NULL);
            if (!matched[0] && (c->dense_rank || c->embed_rank))
                snprintf(matched, sizeof matched, "similar meaning");
            r->matched = core_strdup(matched);
            if (x->p->explain) {
                core_buf_printf(&ex, "%sdense rank %d (cos %.3f, %s); lexical rank %d (%s); "
                                "term coverage %.2f",
                                ex.len ? "; " : "", c->dense_rank, c->cos,
                                c->dense_field[0] ? c->dense_field : "-", c->lex_rank,
                                c->lex_kind[0] ? c->lex_kind : "-", c->cover);
                if (c->picture[0])
                    core_buf_printf(&ex, "; %s", c->picture);
                if (res->embed_used)
                    core_buf_printf(&ex, "; learned rank %d (cos %.3f, %s)", c->embed_rank,
                                    c->ecos, res->embed_model ? res->embed_model : "-");
                else if (res->embed_asked)
                    core_buf_printf(&ex, "; learned vectors not used: %s",
                                    res->embed_note ? res->embed_note : "?");
                r->explain = core_buf_steal(&ex);
            }
            core_buf_free(&ex);
        }
        store_texts_free(t, n_t);
        store_images_free(ims, n_ims);
        store_content_info_clear(&ci);
        if (st != ODX_OK)
            break;
    }
    return st;
}

/* The results of the current candidates, replacing those of a narrower
 * fetch. */
static odx_status rebuild_results(search_ctx *x, odx_results *res, int k, odx_err *err)
{
    for (int i = 0; i < res->n; i++)
        result_clear(&res->items[i]);
    free(res->items);
    res->items = NULL;
    res->n = 0;
    return build_results(x, res, k, err);
}

/* Whether to fetch again, four times wider: only while filters or a
 * minimum score left fewer than k results, the index had more than was
 * fetched, and the fetch is under 100000. */
static bool widen(const odx_results *res, const odx_search_params *p, const filters *f,
                  bool exhausted, int fetch)
{
    return res->n < p->k && !exhausted && fetch < 100000 && (filters_active(f) || p->min_score);
}

/* Relevance in 0..1 that means the same across queries: the share of the
 * query's words the image holds (any language, any text kind) blended with
 * the cosine of the dense match, then scaled by the fused rank. */
static int cmp_pending_ptr(const void *a, const void *b)
{
    return cmp_pending(*(cand *const *)a, *(cand *const *)b);
}

static odx_status score_candidates(search_ctx *x, odx_err *err)
{
    const odx_search_params *p = x->p;
    double wd = p->mode == ODX_MODE_LEXICAL ? 0 : p->w_dense;
    double wl = p->mode == ODX_MODE_DENSE ? 0 : p->w_lexical;
    /* the learned vectors are a third ranking beside the two native ones,
     * fused the same way (not tuned: w_embed defaults to w_dense's 1) */
    double we = p->mode == ODX_MODE_LEXICAL ? 0 : p->w_embed;
    double best_rrf = 0;
    for (int i = 0; i < x->cs.n; i++) {
        cand *c = &x->cs.v[i];
        c->rrf = (c->dense_rank ? wd / (RRF_K + c->dense_rank) : 0) +
                 (c->lex_rank ? wl / (RRF_K + c->lex_rank) : 0) +
                 (c->embed_rank ? we / (RRF_K + c->embed_rank) : 0);
        if (c->rrf > best_rrf)
            best_rrf = c->rrf;
    }
    /* Coverage needs the texts, read for (at most) the first 300
     * candidates found by words or kind; and only when the candidate can
     * still reach the results: each starts at its score with full coverage
     * (an upper bound) and is read when it comes to the front (next_cand),
     * which gives the order a full sort of the exact scores would. */
    int n_cov = 0;
    for (int i = 0; i < x->cs.n; i++) {
        cand *c = &x->cs.v[i];
        c->cover = 0;
        double cosn = c->cos > 0 ? fmin(1.0, c->cos / 0.6) : 0;
        /* a learned cosine counts on the same scale, where it is higher
         * (models differ in their cosines: not calibrated per model) */
        if (we > 0 && c->ecos > 0)
            cosn = fmax(cosn, fmin(1.0, c->ecos / 0.6));
        c->cosn = cosn;
        c->rel_rank = best_rrf > 0 ? c->rrf / best_rrf : 0;
        c->cov_pending = x->n_groups > 0 && (c->lex_rank || c->kind_match) && n_cov < 300;
        n_cov += c->cov_pending;
        /* a query about a thing or a scene: counted as a photo until read */
        c->dom_pending = x->want_photo;
        c->photo_match = x->want_photo;
        c->pending = c->cov_pending || c->dom_pending;
        /* the bound is nudged up so that rounding can never put it below */
        c->score = c->pending ? cand_score(x, c, c->cov_pending ? 1.0 : 0) + 1e-12
                              : cand_score(x, c, 0);
    }
    free(x->order);
    x->order = malloc(sizeof *x->order * (size_t)(x->cs.n ? x->cs.n : 1));
    cand **pv = malloc(sizeof *pv * (size_t)(x->cs.n ? x->cs.n : 1));
    if (!x->order || !pv) {
        /* no memory for the order: every score now, sorted in place */
        free(x->order);
        free(pv);
        x->order = NULL;
        for (int i = 0; i < x->cs.n; i++) {
            odx_status rc = cand_resolve(x, &x->cs.v[i], err);
            if (rc != ODX_OK)
                return rc;
        }
        cand_sort(&x->cs, cmp_cand);
        return ODX_OK;
    }
    for (int i = 0; i < x->cs.n; i++)
        pv[i] = &x->cs.v[i];
    qsort(pv, (size_t)x->cs.n, sizeof *pv, cmp_pending_ptr);
    for (int i = 0; i < x->cs.n; i++)
        x->order[i] = (int)(pv[i] - x->cs.v);
    free(pv);
    return ODX_OK;
}

static int add_listed(void *ctx, const char *hash)
{
    cand *c = cand_get(ctx, hash);
    if (c)
        c->score = 1.0;
    return 0;
}

/* Filter-only queries (no words): every matching image, newest first. */
static odx_status list_all(search_ctx *x, odx_err *err)
{
    return store_contents_each(x->s, NULL, NULL, 0, add_listed, &x->cs, err);
}

odx_status ret_search(store *s, const char *query, const odx_search_params *pin,
                      odx_results **out, odx_err *err)
{
    return ret_search_embed(s, query, pin, NULL, out, err);
}

odx_status ret_search_embed(store *s, const char *query, const odx_search_params *pin,
                            const ret_embed *emb, odx_results **out, odx_err *err)
{
    odx_search_params p = pin ? *pin : ret_search_params_default();
    odx_status st = ret_params_check(&p, err);
    if (st != ODX_OK)
        return st;
    ret_query rq;
    st = ret_query_parse(query, &rq, err);
    if (st != ODX_OK)
        return st;
    search_ctx x;
    memset(&x, 0, sizeof x);
    x.s = s;
    x.p = &p;
    x.text = rq.text;
    x.f.domain = p.domain ? p.domain : rq.domain;
    x.f.text_lang = p.text_lang ? p.text_lang : rq.lang;
    x.f.path = p.path_prefix ? p.path_prefix : rq.path_prefix;
    x.f.ext = p.ext ? p.ext : rq.ext;
    x.f.after = p.after ? p.after : rq.after;
    x.f.before = p.before ? p.before : rq.before;
    x.f.min_w = p.min_width > rq.min_width ? p.min_width : rq.min_width;
    x.f.min_h = p.min_height > rq.min_height ? p.min_height : rq.min_height;
    x.f.min_size = p.min_size > rq.min_size ? p.min_size : rq.min_size;
    x.f.max_size = tighter_max(p.max_size, rq.max_size);
    x.zh = p.lang ? strcmp(p.lang, "zh") == 0 : core_has_cjk(rq.text);
    odx_results *res = calloc(1, sizeof *res);
    if (!res || !(res->query = strdup(query ? query : ""))) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory");
        goto done;
    }
    if (emb && emb->asked) {
        res->embed_asked = true;
        res->embed_used = emb->v && emb->dim > 0 && p.mode != ODX_MODE_LEXICAL;
        res->embed_model = emb->model ? core_strdup(emb->model) : NULL;
        res->embed_note = emb->note ? core_strdup(emb->note)
                          : p.mode == ODX_MODE_LEXICAL ? core_strdup("lexical mode")
                                                       : NULL;
        if (res->embed_used)
            x.emb = emb;
    }
    /* flags and inline filters together may leave no size at all */
    if ((st = ret_size_range_check(x.f.min_size, x.f.max_size, err)) != ODX_OK)
        goto done;
    st = store_refresh(s, err);
    if (st != ODX_OK)
        goto done;
    st = emb_query_parse(rq.text, &x.q, err);
    if (st != ODX_OK)
        goto done;
    /* the terms' tokens, once, for every candidate's coverage */
    int n_tt = 0;
    for (int g = 0; g < x.q.n_groups; g++)
        n_tt += x.q.groups[g].n_terms;
    if (!(x.tt = malloc(sizeof *x.tt * (size_t)(n_tt ? n_tt : 1)))) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory");
        goto done;
    }
    for (int g = 0, i = 0; g < x.q.n_groups; g++)
        for (int j = 0; j < x.q.groups[g].n_terms; j++)
            term_toks_of(x.q.groups[g].terms[j], &x.tt[i++]);
    for (int g = 0; g < x.q.n_groups; g++)
        x.n_groups += !x.q.groups[g].stopword;
    query_intent(&x);
    group_stats(&x);
    if (x.n_groups == 0)
        x.n_groups = x.q.n_groups;

    if (x.q.n_groups == 0) {
        if (!filters_active(&x.f)) {
            st = core_err(err, ODX_ERR_INVALID, "the query has no words to search for");
            goto done;
        }
        st = list_all(&x, err);
        if (st == ODX_OK)
            st = build_results(&x, res, p.k, err);
        goto done;
    }
    /* Over-fetch; with filters, widen until k results pass or the index is
     * exhausted. */
    int fetch = p.k * 5 < 100 ? 100 : p.k * 5;
    for (;;) {
        cand_reset(&x.cs);
        if (p.mode != ODX_MODE_LEXICAL && (st = run_dense(&x, fetch, err)) != ODX_OK)
            goto done;
        if (p.mode != ODX_MODE_DENSE && (st = run_lexical(&x, fetch * 2, err)) != ODX_OK)
            goto done;
        if (x.emb && res->embed_used)
            run_embed(&x, res, fetch);
        if ((st = intent_candidates(&x, err)) != ODX_OK)
            goto done;
        if ((st = score_candidates(&x, err)) != ODX_OK)
            goto done;
        st = rebuild_results(&x, res, p.k, err);
        if (st != ODX_OK)
            goto done;
        if (!widen(res, &p, &x.f, x.cs.n < fetch, fetch))
            break;
        fetch *= 4;
    }
done:
    emb_query_free(&x.q);
    free(x.gw);
    free(x.gdf);
    free(x.tt);
    free(x.order);
    cand_free(&x.cs);
    ret_query_free(&rq);
    if (st != ODX_OK) {
        ret_results_free(res);
        return st;
    }
    *out = res;
    return ODX_OK;
}

/* ------------------------------------------------------------ similar ---- */

/* Weights of the vector fields in the likeness of two contents: the
 * caption says what the picture is, the tags list what is in it, the text
 * field what it says (absent for most photos, so it weighs least). Fields
 * the example lacks drop out and the rest are renormalised. */
static const struct {
    const char *field;
    double w;
} SIM_FIELDS[] = {{"caption", 0.6}, {"tags", 0.25}, {"text", 0.15}};
#define SIM_N_FIELDS ((int)(sizeof SIM_FIELDS / sizeof *SIM_FIELDS))

/* Near-duplicates (a re-encoded, resized or slightly cropped copy, or the
 * original of one) are decided per pair by a logistic model fitted on a
 * by-construction corpus (tests/eval/near_dup_fit.py writes
 * near_dup_model.h, and says why these features and no others) over: the
 * closest Hamming distance of the two pictures' difference hashes (9x8,
 * 64 bits), min(whole, crop + NEAR_CROP_PENALTY), where whole compares the
 * whole-picture hashes and crop is the closest cross-match of a picture's
 * whole hash against the other's 8 crop hashes (centred 95/90/85/80 %,
 * four 90 % corners); the cosine of the caption vectors; and the smaller
 * number of set bits of the two hashes (flat pages hash to few, and
 * collide). It replaced a hand-set rule (whole <= 10 or crop <= 7 bits,
 * same domain, caption cosine >= 0.6) that missed crops whose caption or
 * domain changed with the crop (a chart's title cut off). */
#include "near_dup_model.h"

static int ex_closest(const ret_example *ex, uint64_t dh, bool has_crops, const uint64_t *crops)
{
    int crop = 64;
    for (int k = 0; k < STORE_N_DHASH_CROPS; k++) {
        int d;
        if (has_crops && (d = __builtin_popcountll(crops[k] ^ ex->dhash)) < crop)
            crop = d;
        if (ex->has_dhash_crops && (d = __builtin_popcountll(ex->dhash_crops[k] ^ dh)) < crop)
            crop = d;
    }
    int whole = __builtin_popcountll(dh ^ ex->dhash);
    return whole < crop + NEAR_CROP_PENALTY ? whole : crop + NEAR_CROP_PENALTY;
}

/* A grey grid is compared through the whole picture and the crop
 * rectangles (core_pic_crops). */
#define GREY_SIDE 16
_Static_assert(GREY_SIDE * GREY_SIDE == STORE_GREY_N, "grey grid size");
static const double GREY_WHOLE[4] = {0, 0, 1, 1};

/* The window w of grey grid g resampled to a whole grid, bilinearly
 * between cell centres (tests/eval/near_dup_fit.py computes the same). */
static void grey_window(const uint8_t *g, const double w[4], double *out)
{
    for (int i = 0; i < GREY_SIDE; i++) {
        double gy = (w[1] + (i + 0.5) / GREY_SIDE * (w[3] - w[1])) * GREY_SIDE - 0.5;
        gy = gy < 0 ? 0 : gy > GREY_SIDE - 1 ? GREY_SIDE - 1 : gy;
        int y0 = (int)gy, y1 = y0 + 1 < GREY_SIDE ? y0 + 1 : y0;
        double fy = gy - y0;
        for (int j = 0; j < GREY_SIDE; j++) {
            double gx = (w[0] + (j + 0.5) / GREY_SIDE * (w[2] - w[0])) * GREY_SIDE - 0.5;
            gx = gx < 0 ? 0 : gx > GREY_SIDE - 1 ? GREY_SIDE - 1 : gx;
            int x0 = (int)gx, x1 = x0 + 1 < GREY_SIDE ? x0 + 1 : x0;
            double fx = gx - x0;
            double top = g[y0 * GREY_SIDE + x0] * (1 - fx) + g[y0 * GREY_SIDE + x1] * fx;
            double bot = g[y1 * GREY_SIDE + x0] * (1 - fx) + g[y1 * GREY_SIDE + x1] * fx;
            out[i * GREY_SIDE + j] = top * (1 - fy) + bot * fy;
        }
    }
}

/* Pearson correlation of two grids; 0 where either is flat (a standard
 * deviation under 2 grey levels says nothing). */
static double grey_ncc(const double *a, const double *b)
{
    const int n = GREY_SIDE * GREY_SIDE;
    double ma = 0, mb = 0;
    for (int i = 0; i < n; i++)
        ma += a[i], mb += b[i];
    ma /= n;
    mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        double x = a[i] - ma, y = b[i] - mb;
        sab += x * y, saa += x * x, sbb += y * y;
    }
    if (saa < 4.0 * n || sbb < 4.0 * n)
        return 0;
    return sab / sqrt(saa * sbb);
}

/* How well the two pictures' grey grids agree, one as it is and the other
 * through each window (either may be the crop), clipped to [0, 1]. */
static double grey_corr(const uint8_t *ga, const uint8_t *gb)
{
    double a[GREY_SIDE * GREY_SIDE], b[GREY_SIDE * GREY_SIDE], w[GREY_SIDE * GREY_SIDE];
    grey_window(ga, GREY_WHOLE, a);
    grey_window(gb, GREY_WHOLE, b);
    double best = grey_ncc(a, b);
    for (int k = 0; k < CORE_N_PIC_CROPS; k++) {
        double c;
        grey_window(gb, core_pic_crops[k], w);
        if ((c = grey_ncc(a, w)) > best)
            best = c;
        grey_window(ga, core_pic_crops[k], w);
        if ((c = grey_ncc(w, b)) > best)
            best = c;
    }
    return best < 0 ? 0 : best;
}

/* The model's log-odds from its features: closest distance (bits), caption
 * cosine, the hashes' smaller number of set bits, and the grey grids'
 * correlation (< 0: a grid is missing, so the model fitted without). */
static double near_z(int closest, double cos, int bits, double grey)
{
    if (grey >= 0) {
        const double f[NEAR_N_FEATURES] = {closest / 64.0, cos, bits / 64.0, grey};
        double z = NEAR_INTERCEPT;
        for (int i = 0; i < NEAR_N_FEATURES; i++)
            z += NEAR_COEF[i] * f[i];
        return z;
    }
    const double f[NEAR_N_FEATURES_NOGREY] = {closest / 64.0, cos, bits / 64.0};
    double z = NEAR_INTERCEPT_NOGREY;
    for (int i = 0; i < NEAR_N_FEATURES_NOGREY; i++)
        z += NEAR_COEF_NOGREY[i] * f[i];
    return z;
}

static int min_bits(uint64_t a, uint64_t b)
{
    int pa = __builtin_popcountll(a), pb = __builtin_popcountll(b);
    return pa < pb ? pa : pb;
}

/* The model's log-odds that the picture with hashes (dh, crops) and grey
 * grid (NULL: none stored) is a near duplicate of the example; > 0 means
 * more likely than not. why (may be NULL) gets its reading, for explain. */
static double near_logit(const ret_example *ex, uint64_t dh, bool has_crops,
                         const uint64_t *crops, const uint8_t *grey, double cos, char *why,
                         size_t why_len)
{
    int closest = ex_closest(ex, dh, has_crops, crops), bits = min_bits(dh, ex->dhash);
    double r = grey && ex->has_grey ? grey_corr(ex->grey, grey) : -1;
    double z = near_z(closest, fmax(0.0, fmin(1.0, cos)), bits, r);
    if (why) {
        char g[32] = "no grey grid";
        if (r >= 0)
            snprintf(g, sizeof g, "grey r %.2f", r);
        snprintf(why, why_len, "picture: hash distance %d (crops +%d), %d bits set, %s, copy p %.2f",
                 closest, NEAR_CROP_PENALTY, bits, g, 1.0 / (1.0 + exp(-z)));
    }
    return z;
}

/* store_dhash_scan's filter: could the row rank among the copies with some
 * caption cosine and grey correlation in [0, 1] (the model is linear in
 * both: its best is at a corner)? Key: its closest distance. */
static int near_rank(void *ctx, uint64_t dh, bool has_crops, const uint64_t *crops)
{
    const ret_example *ex = ctx;
    int closest = ex_closest(ex, dh, has_crops, crops), bits = min_bits(dh, ex->dhash);
    for (int c = 0; c <= 1; c++)
        for (int g = -1; g <= (ex->has_grey ? 1 : -1); g++) /* -1: no grid */
            if (near_z(closest, c, bits, g) > NEAR_RANK_Z)
                return closest;
    return -1;
}
/* At most this many candidates by picture per example, closest first. */
#define SIM_PICTURE_CANDS 64

/* Per candidate: the cosine of its vector of each field against the
 * example's vector of the same field (cross-field matches say little). */
typedef struct sim_cand {
    char hash[65];
    double cos[SIM_N_FIELDS];
    int best_rank;
} sim_cand;

static int sim_field(const char *f)
{
    for (int i = 0; i < SIM_N_FIELDS; i++)
        if (strcmp(f, SIM_FIELDS[i].field) == 0)
            return i;
    return -1;
}

static sim_cand *sim_cand_add(sim_cand **sc, int *n, int *cap, const char *hash)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 64;
        sim_cand *v = realloc(*sc, sizeof **sc * (size_t)nc);
        if (!v)
            return NULL;
        *sc = v;
        *cap = nc;
    }
    sim_cand *c = &(*sc)[(*n)++];
    memset(c, 0, sizeof *c);
    snprintf(c->hash, sizeof c->hash, "%s", hash);
    return c;
}

/* The candidates by picture (the scan's rows but the example itself),
 * with the cosines of their stored vectors against the example's (the
 * best of a field's vectors, as the dense search would have found); once
 * per example, before the dense rounds. */
static odx_status picture_cands(store *s, const ret_example *ex, const char *self,
                                const store_dhash_row *pics, int n_pics, sim_cand **pc,
                                int *n_pc, odx_err *err)
{
    const store_vecs *qv = ex->vecs;
    int cap = 0;
    for (int i = 0; i < n_pics; i++) {
        if (strcmp(pics[i].hash, self) == 0)
            continue;
        store_vecs cv = {0};
        odx_status st = store_content_vectors(s, pics[i].hash, &cv, err);
        if (st != ODX_OK)
            return st;
        /* one without vectors (an embedding that failed) is a picture still */
        sim_cand *c = sim_cand_add(pc, n_pc, &cap, pics[i].hash);
        if (!c) {
            store_vecs_clear(&cv);
            return core_err(err, ODX_ERR_NOMEM, "no memory");
        }
        c->best_rank = INT_MAX / 2;
        for (int f = 0; cv.n > 0 && cv.dim == qv->dim && f < qv->n; f++) {
            int k = sim_field(qv->field[f]);
            if (k < 0 || c->cos[k] != 0)
                continue; /* the example's first vector of a field counts */
            double best = 0;
            for (int g = 0; g < cv.n; g++) {
                if (strcmp(cv.field[g], qv->field[f]) != 0)
                    continue;
                double d = 0;
                const float *a = qv->v + (size_t)f * (size_t)qv->dim;
                const float *b = cv.v + (size_t)g * (size_t)cv.dim;
                for (int t = 0; t < qv->dim; t++)
                    d += (double)a[t] * b[t];
                best = d > best ? d : best;
            }
            if (best > 0)
                c->cos[k] = best;
        }
        store_vecs_clear(&cv);
    }
    return ODX_OK;
}

odx_status ret_similar(store *s, const char *hash, const odx_search_params *p,
                       odx_results **out, odx_err *err)
{
    if (!s || !hash || !*hash || !out)
        return core_err(err, ODX_ERR_INVALID, "similar: missing argument");
    store_vecs qv = {0};
    store_content_info qi = {0};
    bool found = false;
    odx_status st;
    if ((st = store_refresh(s, err)) != ODX_OK ||
        (st = store_content_info_get(s, hash, &qi, &found, err)) != ODX_OK ||
        (st = store_content_vectors(s, hash, &qv, err)) != ODX_OK)
        goto done;
    if (!found) {
        st = core_err(err, ODX_ERR_NOT_FOUND, "similar: content %.16s... is not in the index",
                      hash);
        goto done;
    }
    ret_example ex = {.vecs = &qv, .has_dhash = qi.has_dhash, .dhash = qi.dhash,
                      .has_dhash_crops = qi.has_dhash_crops,
                      .domain = qi.domain, .exclude_hash = hash};
    memcpy(ex.dhash_crops, qi.dhash_crops, sizeof ex.dhash_crops);
    ex.has_grey = qi.has_grey;
    memcpy(ex.grey, qi.grey, sizeof ex.grey);
    st = ret_similar_to(s, &ex, p, out, err);
done:
    store_vecs_clear(&qv);
    store_content_info_clear(&qi);
    return st;
}

odx_status ret_similar_to(store *s, const ret_example *ex, const odx_search_params *pin,
                          odx_results **out, odx_err *err)
{
    if (!s || !ex || !ex->vecs || !out)
        return core_err(err, ODX_ERR_INVALID, "similar: missing argument");
    const store_vecs qv = *ex->vecs;
    const char *hash = ex->exclude_hash ? ex->exclude_hash : "";
    odx_search_params p = pin ? *pin : ret_search_params_default();
    odx_status st = ret_params_check(&p, err);
    if (st != ODX_OK)
        return st;
    search_ctx x;
    memset(&x, 0, sizeof x);
    x.s = s;
    x.p = &p;
    x.text = "";
    x.f.domain = p.domain;
    x.f.text_lang = p.text_lang;
    x.f.path = p.path_prefix;
    x.f.ext = p.ext;
    x.f.after = p.after;
    x.f.before = p.before;
    x.f.min_w = p.min_width;
    x.f.min_h = p.min_height;
    x.f.min_size = p.min_size;
    x.f.max_size = p.max_size;
    x.zh = p.lang && strcmp(p.lang, "zh") == 0;
    /* the example's near-duplicates are what is asked for: never collapse
     * them into each other by picture alone */
    x.similar = true;
    sim_cand *sc = NULL;
    int n_sc = 0, cap_sc = 0;
    store_dhash_row *pics = NULL;
    sim_cand *pc = NULL; /* candidates by picture */
    int n_pics = 0, n_pc = 0;
    odx_results *res = calloc(1, sizeof *res);
    if (!res) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory");
        goto done;
    }
    if ((st = store_refresh(s, err)) != ODX_OK)
        goto done;
    if (qv.dim != store_dim(s)) {
        st = core_err(err, ODX_ERR_INVALID, "similar: vectors of %d floats for an index of %d",
                      qv.dim, store_dim(s));
        goto done;
    }
    double wsum = 0;
    for (int f = 0; f < qv.n; f++) {
        int k = sim_field(qv.field[f]);
        wsum += k >= 0 ? SIM_FIELDS[k].w : 0;
    }
    if (wsum <= 0) {
        st = core_err(err, ODX_ERR_INVALID,
                      "similar: the image has no stored vectors to compare (run 'omnidex "
                      "index' to embed it)");
        goto done;
    }
    /* candidates by picture: near duplicates whose captions differ too
     * much for the dense search to bring them */
    if (ex->has_dhash &&
        ((st = store_dhash_scan(s, near_rank, (void *)ex, SIM_PICTURE_CANDS, &pics, &n_pics,
                                err)) != ODX_OK ||
         (st = picture_cands(s, ex, hash, pics, n_pics, &pc, &n_pc, err)) != ODX_OK))
        goto done;
    int fetch = p.k * 5 < 100 ? 100 : p.k * 5;
    for (;;) {
        n_sc = 0;
        for (int f = 0; f < qv.n; f++) {
            int k = sim_field(qv.field[f]);
            if (k < 0)
                continue;
            store_hit *hits = NULL;
            int n = 0;
            /* every field shares one FAISS index: fetch for all of them */
            st = store_dense_search(s, qv.v + (size_t)f * (size_t)qv.dim, fetch * SIM_N_FIELDS,
                                    &hits, &n, err);
            if (st != ODX_OK)
                goto done;
            int rank = 0;
            for (int i = 0; i < n; i++) {
                if (strcmp(hits[i].field, qv.field[f]) != 0 || strcmp(hits[i].hash, hash) == 0)
                    continue;
                sim_cand *c = NULL;
                for (int j = 0; j < n_sc && !c; j++)
                    if (strcmp(sc[j].hash, hits[i].hash) == 0)
                        c = &sc[j];
                rank++;
                if (c && c->cos[k] != 0)
                    continue; /* a second vector of that field: the first counts */
                if (!c) {
                    if (!(c = sim_cand_add(&sc, &n_sc, &cap_sc, hits[i].hash))) {
                        free(hits);
                        st = core_err(err, ODX_ERR_NOMEM, "no memory");
                        goto done;
                    }
                    c->best_rank = rank;
                }
                c->cos[k] = hits[i].score > 1e-9 ? hits[i].score : 1e-9;
                if (rank < c->best_rank)
                    c->best_rank = rank;
            }
            free(hits);
        }
        /* and the candidates by picture the dense search did not bring */
        for (int i = 0; i < n_pc; i++) {
            bool seen = false;
            for (int j = 0; j < n_sc && !seen; j++)
                seen = strcmp(sc[j].hash, pc[i].hash) == 0;
            sim_cand *c = seen ? NULL : sim_cand_add(&sc, &n_sc, &cap_sc, pc[i].hash);
            if (!seen && !c) {
                st = core_err(err, ODX_ERR_NOMEM, "no memory");
                goto done;
            }
            if (c)
                *c = pc[i];
        }
        /* scores into the candidates build_results reads */
        cand_reset(&x.cs);
        for (int i = 0; i < n_sc; i++) {
            cand *c = cand_get(&x.cs, sc[i].hash);
            if (!c) {
                st = core_err(err, ODX_ERR_NOMEM, "no memory");
                goto done;
            }
            double base = 0;
            char fields[64] = "";
            for (int k = 0; k < SIM_N_FIELDS; k++) {
                if (sc[i].cos[k] <= 0)
                    continue;
                base += SIM_FIELDS[k].w * fmin(1.0, sc[i].cos[k]);
                size_t l = strlen(fields);
                snprintf(fields + l, sizeof fields - l, "%s%s", l ? ", " : "",
                         SIM_FIELDS[k].field);
            }
            base /= wsum;
            bool near = false, called = false;
            double pnear = 0;
            store_content_info ci;
            bool have = false;
            if (ex->has_dhash &&
                store_content_info_get(s, sc[i].hash, &ci, &have, NULL) == ODX_OK && have) {
                if (ci.has_dhash) {
                    double z = near_logit(ex, ci.dhash, ci.has_dhash_crops, ci.dhash_crops,
                                          ci.has_grey ? ci.grey : NULL, sc[i].cos[0],
                                          c->picture, sizeof c->picture);
                    pnear = 1.0 / (1.0 + exp(-z));
                    near = z > NEAR_RANK_Z; /* ranks among the copies */
                    called = z > 0;         /* and is said to be one */
                }
                store_content_info_clear(&ci);
            }
            /* a likely copy ranks above anything merely alike, the likelier
             * copy first: the model's p wherever it exceeds the rank
             * threshold chosen on the corpus (near_dup_model.h) */
            c->score = near ? 0.9 + 0.1 * pnear : 0.9 * base;
            c->cos = sc[i].cos[0];
            c->dense_rank = sc[i].best_rank;
            snprintf(c->dense_field, sizeof c->dense_field, "%s", qv.field[0]);
            c->cov_done = true;
            if (called)
                snprintf(c->matched, sizeof c->matched, "near-identical picture");
            else if (near)
                snprintf(c->matched, sizeof c->matched, "possibly the same picture");
            else
                snprintf(c->matched, sizeof c->matched, "similar %s", fields);
        }
        cand_sort(&x.cs, cmp_cand);
        st = rebuild_results(&x, res, p.k, err);
        if (st != ODX_OK)
            goto done;
        if (!widen(res, &p, &x.f, n_sc < fetch, fetch))
            break;
        fetch *= 4;
    }
done:
    free(sc);
    free(pics);
    free(pc);
    cand_free(&x.cs);
    free(x.tt);
    if (st != ODX_OK) {
        ret_results_free(res);
        return st;
    }
    *out = res;
    return ODX_OK;
}

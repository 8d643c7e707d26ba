/* retriever.h - text query in, ranked images out: inline filters, dense
 * (FAISS) + lexical (BM25: storage's lexical index, or FTS5) search,
 * reciprocal rank fusion, grouping per image, calibrated scores, and the
 * RAG context block. Never writes. */
#ifndef ODX_RETRIEVER_H
#define ODX_RETRIEVER_H

#include "storage.h"

#define RET_MAX_QUERY_BYTES 2048
#define RET_MAX_K 10000       /* most images one search returns */
#define RET_MAX_SIDE 1000000  /* largest min-width / min-height accepted */
#define RET_MAX_SIZE (1LL << 50) /* largest min-size / max-size accepted (1 PiB) */

/* Sets one search parameter from text: the one parser behind CLI flags,
 * inline filters and HTTP arguments (odx_search_params_set). Keys:
 * k, lang, text_lang, domain, path, ext, after, before, min_width (minw),
 * min_height (minh), min_size (minsize), max_size (maxsize: bytes, or with
 * a K/M/G unit, ret_size_parse), min_score, w_dense, w_lexical, mode, all,
 * explain;
 * '-' and '_' are alike, case is ignored. String values are borrowed (an
 * empty one clears the filter); domain and languages point to static
 * strings. Bad value: ODX_ERR_INVALID; unknown key: ODX_ERR_NOT_FOUND. */
odx_status ret_param_set(odx_search_params *p, const char *key, const char *value,
                         odx_err *err);
/* YYYY, YYYY-MM or YYYY-MM-DD naming a real calendar day; why says what is
 * wrong otherwise. */
bool ret_date_valid(const char *s, char *why, size_t why_len);
int ret_days_in_month(int year, int month); /* 0 for a month outside 1..12 */
/* A file size: a number (a fraction only before a unit) with an optional
 * unit K, M or G (powers of 1024; any case; then an optional "B" or "iB"),
 * or a plain number of bytes with an optional "B"; 0..RET_MAX_SIZE, whole
 * bytes (a fraction rounds down). False for anything else. */
bool ret_size_parse(const char *s, int64_t *out);
/* Checks params filled in directly (library callers) by the same rules and
 * with the same messages as ret_param_set; spells domain and languages the
 * canonical way and turns empty strings into no filter. */
odx_status ret_params_check(odx_search_params *p, odx_err *err);
/* ODX_ERR_INVALID when both size bounds are set and max_size < min_size. */
odx_status ret_size_range_check(int64_t min_size, int64_t max_size, odx_err *err);

/* A query split into free text and filters (inline `key:value` words
 * override nothing set by the caller: caller's params win). */
typedef struct ret_query {
    char *text;        /* free text without filter words */
    char *domain, *lang, *path_prefix, *ext, *after, *before;
    int min_width, min_height;
    int64_t min_size, max_size;
} ret_query;

/* Parses inline filters. Unknown `key:` words stay in the text (a URL or
 * "Note:" is not a filter). Bad filter values -> ODX_ERR_INVALID. */
odx_status ret_query_parse(const char *q, ret_query *out, odx_err *err);
void ret_query_free(ret_query *q);

/* k 10, fusion weights 1 and 1, no filters (odx_search_params_default) */
odx_search_params ret_search_params_default(void);

odx_status ret_search(store *s, const char *query, const odx_search_params *p,
                      odx_results **out, odx_err *err);
/* The query's learned vector (lib/ asks the remote endpoint, the
 * retriever never calls out): asked says the path was configured; v/dim
 * the vector of the free text (NULL when it could not be had: note says
 * why), model the one the index holds. Borrowed for the call. */
typedef struct ret_embed {
    bool asked;
    const float *v;
    int dim;
    const char *model;
    const char *note;
} ret_embed;
/* ret_search with a third ranking: store_embed_search of emb->v, fused
 * by RRF with weight p->w_embed beside the native dense and lexical ones
 * (its cosine counts like the dense one in the 0..1 score, where higher).
 * A failure of that path leaves the native answer (the results say why:
 * "embed" in ret_results_object_json, and explain). emb NULL: ret_search. */
odx_status ret_search_embed(store *s, const char *query, const odx_search_params *p,
                            const ret_embed *emb, odx_results **out, odx_err *err);
/* The results of ret_search (behind odx_results_*; same contracts). */
int ret_results_count(const odx_results *r);
const odx_result *ret_results_get(const odx_results *r, int i);
char *ret_results_json(const odx_results *r);
/* odx_results_json_object: {"query" | "similar_to" / "like", "count",
 * "results"}; the query is the one ret_search was given. */
char *ret_results_object_json(const odx_results *r);
/* Records the example of a search by example (odx_similar): its image id
 * (> 0) when indexed, else the path of the file described (copied). */
odx_status ret_results_set_example(odx_results *r, int64_t image_id, const char *path,
                                   odx_err *err);
void ret_results_free(odx_results *r);

/* Images like the content hash (odx_similar): each of its stored vectors
 * (caption, tags, text) searched in FAISS against the same field of every
 * other content; likeness = the fields' cosines weighted 0.6 / 0.25 / 0.15
 * (renormalised over the fields the example has), times 0.9; a
 * near-duplicate (a re-encoded, resized or slightly cropped copy:
 * difference hash within 10 bits of the example's, same domain, caption
 * cosine >= 0.6) scores 0.9 + 0.1 x likeness, so it ranks first. The example itself (and its exact copies, which share its
 * hash) is left out. Filters, k, lang, min_score and explain as for
 * ret_search; mode and fusion weights are ignored; copies of one content
 * collapse unless all, near-identical ones never do. ODX_ERR_NOT_FOUND: no
 * such content; ODX_ERR_INVALID: it has no vectors. */
odx_status ret_similar(store *s, const char *hash, const odx_search_params *p,
                       odx_results **out, odx_err *err);
/* The same for an example given by what ret_similar reads of a stored one:
 * its vectors (fields "caption", "tags", "text"), difference hash and
 * domain (NULL: none; no near-duplicate then); exclude_hash (NULL: none)
 * is the content left out (the example itself when it is indexed). */
typedef struct ret_example {
    const store_vecs *vecs;
    bool has_dhash;
    uint64_t dhash;
    bool has_dhash_crops; /* hashes of its crops (cap_dhash_crops) */
    uint64_t dhash_crops[STORE_N_DHASH_CROPS];
    bool has_grey; /* its grey grid (cap_grey_grid) */
    uint8_t grey[STORE_GREY_N];
    const char *domain;
    const char *exclude_hash;
} ret_example;
odx_status ret_similar_to(store *s, const ret_example *ex, const odx_search_params *p,
                          odx_results **out, odx_err *err);

/* k 5, 12000 characters (odx_context_params_default) */
odx_context_params ret_context_params_default(void);

odx_status ret_context(store *s, const char *query, const odx_context_params *p,
                       char **out, odx_err *err);
/* ret_context over ret_search_embed. */
odx_status ret_context_embed(store *s, const char *query, const odx_context_params *p,
                             const ret_embed *emb, char **out, odx_err *err);

#endif

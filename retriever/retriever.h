/* retriever.h - text query in, ranked images out: inline filters, dense
 * (FAISS) + lexical (FTS5 BM25) search, reciprocal rank fusion, grouping
 * per image, calibrated scores, and the RAG context block. Never writes. */
#ifndef ODX_RETRIEVER_H
#define ODX_RETRIEVER_H

#include "storage.h"

#define RET_MAX_QUERY_BYTES 2048

/* A query split into free text and filters (inline `key:value` words
 * override nothing set by the caller: caller's params win). */
typedef struct ret_query {
    char *text;        /* free text without filter words */
    char *domain, *lang, *path_prefix, *ext, *after, *before;
    int min_width, min_height;
} ret_query;

/* Parses inline filters. Unknown `key:` words stay in the text (a URL or
 * "Note:" is not a filter). Bad filter values -> ODX_ERR_INVALID. */
odx_status ret_query_parse(const char *q, ret_query *out, odx_err *err);
void ret_query_free(ret_query *q);

/* k 10, fusion weights 1 and 1, no filters (odx_search_params_default) */
odx_search_params ret_search_params_default(void);

odx_status ret_search(store *s, const char *query, const odx_search_params *p,
                      odx_results **out, odx_err *err);

odx_status ret_context(store *s, const char *query, const odx_context_params *p,
                       char **out, odx_err *err);

#endif

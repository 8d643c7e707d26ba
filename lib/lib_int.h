/* lib_int.h - names shared by the files of lib/ (the library behind
 * omnidex.h). */
#ifndef ODX_LIB_INT_H
#define ODX_LIB_INT_H

#include "omnidex.h"
#include "core.h"
#include "retriever.h"
#include "storage.h"

#include <cjson/cJSON.h>

/* The database directory of a handle (borrowed, lives as long as db). */
const char *lib_db_dir(const odx_db *db);
/* The store of a handle (NULL for NULL). Borrowed. */
store *lib_db_store(odx_db *db);

/* A remote setting: given (non-empty), else $env, else "key" of
 * dir/config; *owned receives what must be freed (or NULL). */
const char *lib_setting(const char *given, const char *env, const char *dir, const char *key,
                        char **owned);

/* The query side of remote embeddings (embed_query.c): one per handle
 * (its client's breaker spans searches). */
typedef struct lib_embed lib_embed;
lib_embed *lib_embed_new(void);
void lib_embed_free(lib_embed *e); /* NULL fine */
/* A query's learned vector and what the retriever is told (e points into
 * the rest); lib_qembed_clear frees. */
typedef struct lib_qembed {
    ret_embed e;
    float *v;
    char *note;
    char model[STORE_EMBED_MODEL_MAX];
} lib_qembed;
/* Fills q for a search of query with p on store s of directory dir: the
 * endpoint from p, the environment or dir/config (none: q->e.asked
 * false), the model the index holds (a different one named in the
 * settings: not used, and why), the query's free text embedded within
 * p->embed_timeout_s without retries. Never fails: what went wrong is
 * q->e.note. */
void lib_query_embed(lib_embed *e, store *s, const char *dir, const char *query,
                     const odx_search_params *p, lib_qembed *q);
void lib_qembed_clear(lib_qembed *q);

/* Captions one file (odx_caption_file): *desc is the description as JSON
 * with "path"; *structure (if not NULL) the structure record or NULL. */
odx_status lib_caption_desc(const char *path, const odx_caption_params *p, cJSON **desc,
                            char **structure, odx_err *err);

#endif

/* store_fts.c - the FTS5 tokenizer "odx" (a thin adapter over the
 * embedder's emb_tokenize, so lexical search splits Chinese and English
 * exactly like the embedding does) and the BM25 search over captions. */
#include "storage_int.h"

#include "embedder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One tokenizer instance carries no state: emb_tokenize is re-entrant. */
typedef struct fts_tok {
    int unused;
} fts_tok;

static int tok_create(void *ctx, const char **args, int n_args, Fts5Tokenizer **out)
{
    (void)ctx;
    (void)args;
    (void)n_args;
    fts_tok *t = calloc(1, sizeof *t);
    if (!t)
        return SQLITE_NOMEM;
    *out = (Fts5Tokenizer *)t;
    return SQLITE_OK;
}

static void tok_delete(Fts5Tokenizer *t) { free(t); }

typedef struct tok_ctx {
    void *fts_ctx;
    int (*x_token)(void *, int, const char *, int, int, int);
    int n_text;
    int rc;
} tok_ctx;

static int tok_cb(void *ctx, const char *tok, int len, int start, int end, bool colocated)
{
    tok_ctx *c = ctx;
    /* Offsets come from another module: clamp rather than trust, FTS5
     * uses them for highlight()/snippet(). */
    if (len <= 0)
        return 0;
    if (start < 0)
        start = 0;
    if (end > c->n_text)
        end = c->n_text;
    if (end < start)
        end = start;
    int rc = c->x_token(c->fts_ctx, colocated ? FTS5_TOKEN_COLOCATED : 0, tok, len, start,
                        end);
    if (rc != SQLITE_OK) {
        c->rc = rc;
        return 1;
    }
    return 0;
}

static int tok_tokenize(Fts5Tokenizer *t, void *fts_ctx, int flags, const char *text,
                        int n_text,
                        int (*x_token)(void *, int, const char *, int, int, int))
{
    (void)t;
    (void)flags;
    if (!text || n_text <= 0)
        return SQLITE_OK;
    tok_ctx c = {fts_ctx, x_token, n_text, SQLITE_OK};
    emb_tokenize(text, n_text, tok_cb, &c);
    return c.rc;
}

odx_status store_fts_register(sqlite3 *db, odx_err *err)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    odx_status rc = ODX_OK;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK) {
        rc = core_err(err, ODX_ERR_DB, "FTS5 is not available: %s", sqlite3_errmsg(db));
        goto done;
    }
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    if (!api || api->iVersion < 2) {
        rc = core_err(err, ODX_ERR_DB, "FTS5 API not available in this SQLite");
        goto done;
    }
    fts5_tokenizer tk = {tok_create, tok_delete, tok_tokenize};
    if (api->xCreateTokenizer(api, "odx", NULL, &tk, NULL) != SQLITE_OK)
        rc = core_err(err, ODX_ERR_DB, "registering FTS5 tokenizer: %s", sqlite3_errmsg(db));
done:
    sqlite3_finalize(st);
    return rc;
}

odx_status store_fts_search(store *s, const char *match, int limit, store_hit **hits,
                            int *n, odx_err *err)
{
    if (!s || !match || !hits || !n)
        return core_err(err, ODX_ERR_INVALID, "store_fts_search: bad arguments");
    if (limit <= 0)
        limit = 10;
    if (limit > STORE_MAX_K)
        limit = STORE_MAX_K;
    odx_status rc = ODX_OK;
    store_hit *h = NULL;
    int n_h = 0, cap = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = store_stmt(s, ST_FTS_SEARCH, err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit);
    for (;;) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            /* A bad MATCH expression is the caller's error, not the
             * database's: FTS5 reports it as SQLITE_ERROR with "fts5:". */
            int code = sqlite3_errcode(s->db);
            rc = core_err(err, code == SQLITE_ERROR ? ODX_ERR_INVALID : store_sqlite_status(code),
                          "full-text query '%.200s': %s%s", match, sqlite3_errmsg(s->db),
                          store_sqlite_hint(code));
            goto done;
        }
        if (n_h == cap) {
            int nc = cap ? cap * 2 : 16;
            store_hit *nh = realloc(h, sizeof *h * (size_t)nc);
            if (!nh) {
                rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
                goto done;
            }
            h = nh;
            cap = nc;
        }
        store_hit *x = &h[n_h++];
        memset(x, 0, sizeof *x);
        const char *hash = (const char *)sqlite3_column_text(st, 0);
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        const char *lang = (const char *)sqlite3_column_text(st, 2);
        snprintf(x->hash, sizeof x->hash, "%s", hash ? hash : "");
        snprintf(x->field, sizeof x->field, "%s", kind ? kind : "");
        snprintf(x->lang, sizeof x->lang, "%s", lang ? lang : "");
        x->score = -sqlite3_column_double(st, 3);
    }
done:
    if (st)
        sqlite3_reset(st);
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK) {
        free(h);
        return rc;
    }
    *hits = h;
    *n = n_h;
    return ODX_OK;
}

typedef struct df_ctx {
    store_token_df_fn fn;
    void *fn_ctx;
    int64_t min_df;
    bool any;
} df_ctx;

static int df_cb(void *ctx, const char *tok, int len, int start, int end, bool colocated)
{
    (void)start, (void)end;
    df_ctx *c = ctx;
    if (colocated)
        return 0;
    int64_t df = c->fn(c->fn_ctx, tok, len);
    if (!c->any || df < c->min_df)
        c->min_df = df;
    c->any = true;
    return 0;
}

void store_min_token_df(const char *const *terms, int n_terms, store_token_df_fn fn,
                        void *ctx, int64_t *df)
{
    for (int i = 0; i < n_terms; i++) {
        df_ctx c = {.fn = fn, .fn_ctx = ctx};
        emb_tokenize(terms[i], (int)strlen(terms[i]), df_cb, &c);
        df[i] = c.any ? c.min_df : 0;
    }
}

int64_t store_caption_rows_locked(store *s)
{
    sqlite3_stmt *st = store_stmt(s, ST_CAPTION_ROWS, NULL);
    int64_t n = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (st)
        sqlite3_reset(st);
    return n;
}

static int64_t vocab_df(void *ctx, const char *tok, int len)
{
    sqlite3_stmt *st = ctx;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, tok, len, SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
}

odx_status store_fts_terms_df(store *s, const char *const *terms, int n_terms, int64_t *df,
                              int64_t *n_docs, odx_err *err)
{
    odx_status rc = ODX_OK;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    /* fts5vocab over the caption index, per connection (temp schema) */
    if (sqlite3_exec(s->db,
                     "CREATE VIRTUAL TABLE IF NOT EXISTS temp.odx_vocab USING "
                     "fts5vocab(main, 'captions_fts', 'row')",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "SELECT doc FROM temp.odx_vocab WHERE term = ?1", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "term frequency");
        goto done;
    }
    *n_docs = store_caption_rows_locked(s);
    store_min_token_df(terms, n_terms, vocab_df, st, df);
done:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

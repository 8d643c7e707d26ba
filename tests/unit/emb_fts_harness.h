/* emb_fts_harness.h - a real in-memory FTS5 table tokenised by the
 * embedder's emb_tokenize, for the embedder tests that run generated
 * MATCH strings (test_emb_query, test_emb_pinyin). Header-only: each test
 * is its own program. */
#ifndef EMB_FTS_HARNESS_H
#define EMB_FTS_HARNESS_H

#include "embedder.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

/* The MATCH string of a query (malloc'd), NULL when it does not parse. */
static char *fts_of(const char *text)
{
    emb_query q;
    odx_err e = {0};
    if (emb_query_parse(text, &q, &e) != ODX_OK)
        return NULL;
    char *f = emb_query_fts(&q);
    emb_query_free(&q);
    return f;
}

typedef struct ftok {
    void *ctx;
    int (*x)(void *, int, const char *, int, int, int);
    int rc;
} ftok;

static int ftok_cb(void *c, const char *tok, int len, int s, int e, bool coloc)
{
    ftok *f = c;
    f->rc = f->x(f->ctx, coloc ? FTS5_TOKEN_COLOCATED : 0, tok, len, s, e);
    return f->rc != SQLITE_OK;
}

static int ftok_create(void *c, const char **a, int n, Fts5Tokenizer **out)
{
    (void)c, (void)a, (void)n;
    static int dummy;
    *out = (Fts5Tokenizer *)&dummy;
    return SQLITE_OK;
}

static void ftok_delete(Fts5Tokenizer *t) { (void)t; }

static int ftok_tokenize(Fts5Tokenizer *t, void *ctx, int flags, const char *text, int n,
                         int (*x)(void *, int, const char *, int, int, int))
{
    (void)t, (void)flags;
    ftok f = {ctx, x, SQLITE_OK};
    emb_tokenize(text, n, ftok_cb, &f);
    return f.rc;
}

/* Table t(body[, title]) holding docs[i] at rowid i + 1; the optional
 * title column (value 'x') lets a test check that "title:" in a query is
 * not taken as a column filter. */
static sqlite3 *fts_open(const char *const *docs, int n, bool with_title)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        return NULL;
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL);
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (!api)
        return db;
    fts5_tokenizer tk = {ftok_create, ftok_delete, ftok_tokenize};
    api->xCreateTokenizer(api, "odx", NULL, &tk, NULL);
    sqlite3_exec(db,
                 with_title ? "CREATE VIRTUAL TABLE t USING fts5(body, title, tokenize='odx')"
                            : "CREATE VIRTUAL TABLE t USING fts5(body, tokenize='odx')",
                 NULL, NULL, NULL);
    for (int i = 0; i < n; i++) {
        sqlite3_prepare_v2(db,
                           with_title ? "INSERT INTO t(rowid, body, title) VALUES (?1, ?2, 'x')"
                                      : "INSERT INTO t(rowid, body) VALUES (?1, ?2)",
                           -1, &st, NULL);
        sqlite3_bind_int(st, 1, i + 1);
        sqlite3_bind_text(st, 2, docs[i], -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    return db;
}

/* Bitmask of the rowids matching the query's MATCH string; -1 on error. */
static int run_match(sqlite3 *db, const char *query)
{
    char *m = fts_of(query);
    if (!m)
        return 0;
    sqlite3_stmt *st = NULL;
    int mask = 0;
    if (sqlite3_prepare_v2(db, "SELECT rowid FROM t WHERE t MATCH ?1", -1, &st, NULL) !=
        SQLITE_OK) {
        free(m);
        return -1;
    }
    sqlite3_bind_text(st, 1, m, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        mask |= 1 << sqlite3_column_int(st, 0);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "MATCH %s: %s\n", m, sqlite3_errmsg(db));
        mask = -1;
    }
    sqlite3_finalize(st);
    free(m);
    return mask;
}

#endif

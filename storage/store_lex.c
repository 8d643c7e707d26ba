/* store_lex.c - the lexical index (lexidx.h) as a cache of the captions
 * table, as the FAISS index is one of the vectors table: built from
 * SQLite on first use, caught up from caption_log (schema 3: triggers
 * append the id of every caption row inserted, deleted or changed, and
 * trim the log to its newest rows), rebuilt when the log no longer
 * reaches back to what the cache holds. SQLite stays the truth. */
#include "storage_int.h"

#include "embedder.h"
#include "lexidx.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Dead postings share at which a catch-up packs the index again. */
#define LEX_COMPACT_DEAD 0.25
/* STORE_LEX_AUTO builds the index once the FTS5 searches of this handle
 * have cost what a build would (so a handle never spends more than twice
 * the better of the two): a one-shot CLI search of a large index stays on
 * FTS5, a server moves to the index after a while. A build costs about
 * this much per caption row (bench_lex: 49 us wall, 27 us CPU per row
 * with packing at 100k rows on a loaded machine); below LEX_BUILD_NOW_ROWS
 * rows (a tenth of a second or so) it is built at once. */
#define LEX_BUILD_S_PER_ROW 40e-6
#define LEX_BUILD_NOW_ROWS 5000

/* Fields of lexidx rows: the caption kinds, then VLM captions. All weigh
 * 1 today, which makes the scores FTS5's bm25(). */
static int field_of(const char *kind, const char *source)
{
    static const char *const kinds[] = {"short", "detailed", "tags", "ocr", "structure"};
    if (source && strcmp(source, "native") != 0)
        return 6;
    for (int i = 0; i < 5; i++)
        if (kind && strcmp(kind, kinds[i]) == 0)
            return i;
    return 5;
}

/* The log's last sequence number ever given (0 before the first) and its
 * oldest kept row (0 when empty), on connection db (s->mu held when it is
 * the handle's). */
static odx_status log_bounds_on(store *s, sqlite3 *db, int64_t *last, int64_t *oldest,
                                odx_err *err)
{
    sqlite3_stmt *st = NULL;
    odx_status rc = ODX_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT seq FROM sqlite_sequence WHERE name='caption_log'),"
                           " (SELECT min(seq) FROM caption_log)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = store_conn_err(s, db, err, "reading the caption log");
    } else {
        *last = sqlite3_column_int64(st, 0);
        *oldest = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc;
}

static odx_status log_bounds(store *s, int64_t *last, int64_t *oldest, odx_err *err)
{
    return log_bounds_on(s, s->db, last, oldest, err);
}

static odx_status add_row(store *s, lex_index *x, sqlite3_stmt *st, odx_err *err)
{
    (void)s;
    int64_t id = sqlite3_column_int64(st, 0);
    const char *kind = (const char *)sqlite3_column_text(st, 1);
    const char *source = (const char *)sqlite3_column_text(st, 2);
    const char *text = (const char *)sqlite3_column_text(st, 3);
    int len = sqlite3_column_bytes(st, 3);
    return lex_add(x, id, field_of(kind, source), text ? text : "", text ? len : 0, err);
}

/* Every caption row into a new index, read on connection db inside a
 * read transaction (s->mu held when it is the handle's). A set *cancel
 * stops it (ODX_ERR_INTERRUPTED). */
static odx_status build_on(store *s, sqlite3 *db, const atomic_bool *cancel, lex_index **out,
                           odx_err *err)
{
    lex_index *x = lex_new();
    sqlite3_stmt *st = NULL;
    odx_status rc = ODX_OK;
    if (!x)
        return core_err(err, ODX_ERR_NOMEM, "lexical index: out of memory");
    if (sqlite3_prepare_v2(db, "SELECT id, kind, source, text FROM captions", -1, &st, NULL) !=
        SQLITE_OK)
        goto db_err;
    int r;
    for (int64_t n = 0; (r = sqlite3_step(st)) == SQLITE_ROW; n++) {
        if ((rc = add_row(s, x, st, err)) != ODX_OK)
            goto done;
        if (cancel && (n & 1023) == 0 && atomic_load(cancel)) {
            rc = core_err(err, ODX_ERR_INTERRUPTED, "lexical index: build stopped");
            goto done;
        }
    }
    if (r != SQLITE_DONE)
        goto db_err;
    rc = lex_compact(x, err);
    goto done;
db_err:
    rc = store_conn_err(s, db, err, "reading captions for the lexical index");
done:
    sqlite3_finalize(st);
    if (rc != ODX_OK) {
        lex_free(x);
        return rc;
    }
    *out = x;
    return ODX_OK;
}

static odx_status build(store *s, lex_index **out, odx_err *err)
{
    return build_on(s, s->db, NULL, out, err);
}

/* The rows the log names after seq from: removed, then read again. */
static odx_status catch_up(store *s, int64_t from, odx_err *err)
{
    sqlite3_stmt *lg = NULL, *row = NULL;
    odx_status rc = ODX_OK;
    if (sqlite3_prepare_v2(s->db, "SELECT DISTINCT id FROM caption_log WHERE seq > ?1", -1,
                           &lg, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "SELECT id, kind, source, text FROM captions WHERE id = ?1",
                           -1, &row, NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "reading the caption log");
        goto done;
    }
    sqlite3_bind_int64(lg, 1, from);
    int r;
    while ((r = sqlite3_step(lg)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(lg, 0);
        lex_remove(s->lex, id);
        sqlite3_reset(row);
        sqlite3_bind_int64(row, 1, id);
        int r2 = sqlite3_step(row);
        if (r2 == SQLITE_ROW) {
            if ((rc = add_row(s, s->lex, row, err)) != ODX_OK)
                goto done;
        } else if (r2 != SQLITE_DONE) {
            rc = store_db_err(s, err, "reading a caption");
            goto done;
        }
    }
    if (r != SQLITE_DONE) {
        rc = store_db_err(s, err, "reading the caption log");
        goto done;
    }
    if (lex_dead_share(s->lex) > LEX_COMPACT_DEAD)
        rc = lex_compact(s->lex, err);
done:
    sqlite3_finalize(lg);
    sqlite3_finalize(row);
    return rc;
}

/* Brings the cache to the captions table's current state. */
static odx_status lex_sync(store *s, odx_err *err)
{
    int64_t last = 0, oldest = 0;
    pthread_mutex_lock(&s->mu);
    odx_status rc = log_bounds(s, &last, &oldest, err);
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK)
        return rc;
    pthread_rwlock_rdlock(&s->lex_lock);
    bool current = s->lex && s->lex_seq == last;
    pthread_rwlock_unlock(&s->lex_lock);
    if (current)
        return ODX_OK;

    pthread_rwlock_wrlock(&s->lex_lock);
    pthread_mutex_lock(&s->mu);
    /* one snapshot for the log and the rows (a batch of our own is one) */
    bool own_read = !s->in_txn;
    if (own_read && (rc = store_exec(s, "BEGIN", err)) != ODX_OK)
        goto unlock;
    if ((rc = log_bounds(s, &last, &oldest, err)) != ODX_OK)
        goto end;
    if (s->lex && s->lex_seq == last)
        goto end;
    /* rebuild when there is none, when the log went back (a rolled-back
     * batch of this connection) or no longer reaches back to lex_seq */
    if (!s->lex || last < s->lex_seq || oldest == 0 || oldest > s->lex_seq + 1) {
        lex_index *x = NULL;
        double t = core_now();
        if ((rc = build(s, &x, err)) != ODX_OK)
            goto end;
        lex_free(s->lex);
        s->lex = x;
        core_log(CORE_LOG_DEBUG, "%s: lexical index built: %" PRId64 " rows, %.1f MB, %.2f s",
                 s->db_path, lex_rows(x), (double)lex_bytes(x) / 1e6, core_now() - t);
    } else if ((rc = catch_up(s, s->lex_seq, err)) != ODX_OK) {
        /* half caught up: drop it, the next search rebuilds */
        lex_free(s->lex);
        s->lex = NULL;
        goto end;
    }
    s->lex_seq = last;
end:
    if (own_read)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
unlock:
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_unlock(&s->lex_lock);
    return rc;
}

/* The MATCH string store_fts_search takes for the same terms (quoted,
 * quotes doubled, OR'ed: what emb_query_fts writes for them). */
static char *match_of(const char *const *terms, int n_terms)
{
    core_buf b;
    core_buf_init(&b, 0);
    for (int i = 0; i < n_terms; i++) {
        core_buf_puts(&b, i ? " OR \"" : "\"");
        for (const char *p = terms[i] ? terms[i] : ""; *p; p++) {
            core_buf_append(&b, p, 1);
            if (*p == '"') /* FTS5 string syntax: a quote inside is doubled */
                core_buf_append(&b, p, 1);
        }
        core_buf_puts(&b, "\"");
    }
    if (b.overflow) {
        core_buf_free(&b);
        return NULL;
    }
    return core_buf_steal(&b);
}

/* Whether a STORE_LEX_AUTO search should still go to FTS5. */
static bool auto_fts5(store *s)
{
    pthread_rwlock_rdlock(&s->lex_lock);
    bool have = s->lex != NULL;
    pthread_rwlock_unlock(&s->lex_lock);
    if (have)
        return false;
    if (atomic_load(&s->lex_building))
        return true; /* store_lex_warm's thread will bring it */
    pthread_mutex_lock(&s->mu);
    int64_t rows = store_caption_rows_locked(s);
    double spent = s->lex_fts_spent;
    pthread_mutex_unlock(&s->mu);
    return rows > LEX_BUILD_NOW_ROWS && spent < (double)rows * LEX_BUILD_S_PER_ROW;
}

odx_status store_lex_search(store *s, const char *const *terms, int n_terms, int limit,
                            store_lex_policy policy, store_hit **hits, int *n, odx_err *err)
{
    if (!s || (n_terms > 0 && !terms) || n_terms < 0 || !hits || !n)
        return core_err(err, ODX_ERR_INVALID, "store_lex_search: bad arguments");
    *hits = NULL;
    *n = 0;
    if (limit <= 0)
        limit = 10;
    if (limit > STORE_MAX_K)
        limit = STORE_MAX_K;
    if (policy == STORE_LEX_AUTO && n_terms > 0 && auto_fts5(s)) {
        char *match = match_of(terms, n_terms);
        if (!match)
            return core_err(err, ODX_ERR_NOMEM, "lexical search: out of memory");
        double t = core_now();
        odx_status frc = store_fts_search(s, match, limit, hits, n, err);
        free(match);
        pthread_mutex_lock(&s->mu);
        s->lex_fts_spent += core_now() - t;
        pthread_mutex_unlock(&s->mu);
        return frc;
    }
    odx_status rc = lex_sync(s, err);
    if (rc != ODX_OK)
        return rc;
    lex_hit *lh = NULL;
    int nl = 0;
    lex_params p = {.k = limit};
    pthread_rwlock_rdlock(&s->lex_lock);
    if (s->lex)
        rc = lex_search(s->lex, terms, n_terms, &p, &lh, &nl, NULL, err);
    pthread_rwlock_unlock(&s->lex_lock);
    if (rc != ODX_OK || nl == 0) {
        free(lh);
        return rc;
    }
    /* caption rows -> content, kind, language: one statement for all */
    core_buf ids;
    core_buf_init(&ids, 0);
    core_buf_puts(&ids, "[");
    for (int i = 0; i < nl; i++)
        core_buf_printf(&ids, "%s%" PRId64, i ? "," : "", lh[i].id);
    core_buf_puts(&ids, "]");
    store_hit *h = calloc((size_t)nl, sizeof *h);
    bool *got = calloc((size_t)nl, sizeof *got);
    sqlite3_stmt *st = NULL;
    if (!h || !got || ids.overflow) {
        rc = core_err(err, ODX_ERR_NOMEM, "lexical search: out of memory");
        goto done;
    }
    store_rd rd;
    store_rd_begin(s, &rd);
    if (sqlite3_prepare_v2(rd.db,
                           "SELECT j.key, c.hash, c.kind, c.lang FROM json_each(?1) j"
                           " JOIN captions c ON c.id = j.value",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store_rd_err(&rd, err, "lexical search");
    } else {
        sqlite3_bind_text(st, 1, ids.data, (int)ids.len, SQLITE_STATIC);
        int r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            int i = sqlite3_column_int(st, 0);
            if (i < 0 || i >= nl)
                continue;
            const char *hash = (const char *)sqlite3_column_text(st, 1);
            const char *kind = (const char *)sqlite3_column_text(st, 2);
            const char *lang = (const char *)sqlite3_column_text(st, 3);
            snprintf(h[i].hash, sizeof h[i].hash, "%s", hash ? hash : "");
            snprintf(h[i].field, sizeof h[i].field, "%s", kind ? kind : "");
            snprintf(h[i].lang, sizeof h[i].lang, "%s", lang ? lang : "");
            h[i].score = lh[i].score;
            got[i] = true;
        }
        if (r != SQLITE_DONE)
            rc = store_rd_err(&rd, err, "lexical search");
    }
    sqlite3_finalize(st);
    store_rd_end(&rd);
    if (rc == ODX_OK) {
        /* rows deleted since the index was read (another process) drop out */
        int k = 0;
        for (int i = 0; i < nl; i++)
            if (got[i])
                h[k++] = h[i];
        *hits = h;
        *n = k;
        h = NULL;
    }
done:
    free(h);
    free(got);
    free(lh);
    core_buf_free(&ids);
    return rc;
}

static int64_t index_df(void *ctx, const char *tok, int len)
{
    return lex_token_df(ctx, tok, len);
}

/* From the index when this handle has built one (caught up first, so the
 * numbers are FTS5's for the same rows), else from FTS5's vocabulary: a
 * search never builds the index for its frequencies alone. */
odx_status store_terms_df(store *s, const char *const *terms, int n_terms, int64_t *df,
                          int64_t *n_docs, odx_err *err)
{
    if (!s || (n_terms > 0 && (!terms || !df)) || !n_docs)
        return core_err(err, ODX_ERR_INVALID, "store_terms_df: bad arguments");
    pthread_rwlock_rdlock(&s->lex_lock);
    bool have = s->lex != NULL;
    pthread_rwlock_unlock(&s->lex_lock);
    if (!have || lex_sync(s, NULL) != ODX_OK)
        return store_fts_terms_df(s, terms, n_terms, df, n_docs, err);
    pthread_rwlock_rdlock(&s->lex_lock);
    if (!s->lex) { /* dropped since (a failed catch-up) */
        pthread_rwlock_unlock(&s->lex_lock);
        return store_fts_terms_df(s, terms, n_terms, df, n_docs, err);
    }
    store_min_token_df(terms, n_terms, index_df, s->lex, df);
    pthread_rwlock_unlock(&s->lex_lock);
    /* the estimate of rows FTS5's path gives */
    pthread_mutex_lock(&s->mu);
    *n_docs = store_caption_rows_locked(s);
    pthread_mutex_unlock(&s->mu);
    return ODX_OK;
}

/* The warm-up thread: its own read-only connection and snapshot, so no
 * search waits for it; the index is handed over under lex_lock with the
 * log position of that snapshot, and lex_sync catches it up from there. */
static void *warm_main(void *p)
{
    store *s = p;
    sqlite3 *db = NULL;
    lex_index *x = NULL;
    int64_t last = 0, oldest = 0;
    odx_err e = {0};
    double t = core_now();
    odx_status rc = ODX_ERR_DB;
    if (sqlite3_open_v2(s->db_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) ==
            SQLITE_OK &&
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, STORE_READER_BUSY_TIMEOUT_MS);
        if ((rc = log_bounds_on(s, db, &last, &oldest, &e)) == ODX_OK)
            rc = build_on(s, db, &s->lex_cancel, &x, &e);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    } else {
        snprintf(e.msg, sizeof e.msg, "cannot open '%s': %s", s->db_path,
                 db ? sqlite3_errmsg(db) : "out of memory");
    }
    sqlite3_close_v2(db);
    if (rc == ODX_OK) {
        pthread_rwlock_wrlock(&s->lex_lock);
        if (!s->lex) {
            s->lex = x;
            s->lex_seq = last;
            x = NULL;
        }
        pthread_rwlock_unlock(&s->lex_lock);
        core_log(CORE_LOG_DEBUG, "%s: lexical index built in the background: %.2f s",
                 s->db_path, core_now() - t);
    } else if (rc != ODX_ERR_INTERRUPTED) {
        core_log(CORE_LOG_WARN, "%s: building the lexical index in the background: %s"
                                " (searches build it when they need it)", s->db_path, e.msg);
    }
    lex_free(x);
    atomic_store(&s->lex_building, false);
    return NULL;
}

odx_status store_lex_warm(store *s, odx_err *err)
{
    if (!s)
        return core_err(err, ODX_ERR_INVALID, "store_lex_warm: no store");
    pthread_rwlock_rdlock(&s->lex_lock);
    bool have = s->lex != NULL;
    pthread_rwlock_unlock(&s->lex_lock);
    if (have || s->lex_thread_on)
        return ODX_OK;
    atomic_store(&s->lex_cancel, false);
    atomic_store(&s->lex_building, true);
    if (pthread_create(&s->lex_thread, NULL, warm_main, s) != 0) {
        atomic_store(&s->lex_building, false);
        return core_err(err, ODX_ERR_NOMEM, "cannot start a thread for the lexical index");
    }
    s->lex_thread_on = true;
    return ODX_OK;
}

bool store_lex_warming(store *s) { return s && atomic_load(&s->lex_building); }

void store_lex_free(store *s)
{
    if (s->lex_thread_on) {
        atomic_store(&s->lex_cancel, true);
        pthread_join(s->lex_thread, NULL);
        s->lex_thread_on = false;
    }
    lex_free(s->lex);
    s->lex = NULL;
    s->lex_seq = 0;
}

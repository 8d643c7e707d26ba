/* store_compact.c - giving back the space an index run leaves behind:
 * free pages of deleted rows (edited files' old captions and vectors),
 * tombstones the saved FAISS file already reflects, and FTS5 segments full
 * of delete markers. Called by the indexer at the end of a run; every step
 * is one SQLite transaction, so a kill at any moment leaves the database
 * as it was before that step. */
#include "storage_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int64_t pragma_int(store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static odx_status waste_locked(store *s, store_waste *w, odx_err *err)
{
    memset(w, 0, sizeof *w);
    w->page_size = pragma_int(s, "PRAGMA page_size");
    w->pages = pragma_int(s, "PRAGMA page_count");
    w->free_pages = pragma_int(s, "PRAGMA freelist_count");
    w->auto_vacuum = (int)pragma_int(s, "PRAGMA auto_vacuum");
    w->tombstones = pragma_int(s, "SELECT count(*) FROM tombstones");
    w->vectors = pragma_int(s, "SELECT count(*) FROM vectors");
    if (w->page_size < 0 || w->pages < 0 || w->free_pages < 0 || w->tombstones < 0 ||
        w->vectors < 0)
        return store_db_err(s, err, "measuring free space");
    return ODX_OK;
}

odx_status store_waste_get(store *s, store_waste *w, odx_err *err)
{
    if (!s || !w)
        return core_err(err, ODX_ERR_INVALID, "store_waste_get: bad arguments");
    pthread_mutex_lock(&s->mu);
    odx_status rc = waste_locked(s, w, err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

bool store_waste_over(const store_waste *w)
{
    int64_t free_bytes = w->free_pages * w->page_size;
    bool pages = free_bytes >= STORE_COMPACT_MIN_FREE_BYTES &&
                 w->free_pages * 100 >= w->pages * STORE_COMPACT_FREE_PCT;
    bool tombs = w->tombstones >= STORE_COMPACT_MIN_TOMBS &&
                 w->tombstones * 100 >= (w->vectors + 1) * STORE_COMPACT_TOMB_PCT;
    return pages || tombs;
}

odx_status store_compact(store *s, bool force, bool *did, odx_err *err)
{
    if (!s)
        return core_err(err, ODX_ERR_INVALID, "store_compact: no store");
    if (s->read_only)
        return core_err(err, ODX_ERR_INVALID, "store '%s' is open read-only", s->dir);
    if (did)
        *did = false;
    store_waste w;
    odx_status rc = store_waste_get(s, &w, err);
    if (rc != ODX_OK)
        return rc;
    if (!force && !store_waste_over(&w))
        return ODX_OK;
    int64_t before = w.pages * w.page_size;

    /* 1. The FAISS file first: tombstones may go only once it reflects
     * them (it is the one a reader that opens later starts from). */
    pthread_rwlock_rdlock(&s->idx_lock);
    bool dirty = s->index && s->index_gen != s->file_gen;
    pthread_rwlock_unlock(&s->idx_lock);
    if (dirty && (rc = store_faiss_save(s, err)) != ODX_OK)
        return rc;

    pthread_mutex_lock(&s->mu);
    if (s->in_txn) {
        rc = core_err(err, ODX_ERR_INVALID, "store_compact: a batch is open");
        goto done;
    }
    /* 2. Tombstones the saved file holds: a reader whose index is older
     * than tomb_floor rebuilds it from the vectors table instead. */
    if (w.tombstones > 0 && s->file_gen >= 0) {
        int64_t floor = 0;
        char sql[96];
        snprintf(sql, sizeof sql, "DELETE FROM tombstones WHERE gen <= %" PRId64, s->file_gen);
        if ((rc = store_exec(s, "BEGIN IMMEDIATE", err)) != ODX_OK)
            goto done;
        if ((rc = store_meta_int(s, "tomb_floor", 0, &floor, err)) != ODX_OK ||
            (rc = store_exec(s, sql, err)) != ODX_OK ||
            (floor < s->file_gen &&
             (rc = store_meta_set_int(s, "tomb_floor", s->file_gen, err)) != ODX_OK) ||
            (rc = store_exec(s, "COMMIT", err)) != ODX_OK) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            goto done;
        }
    }
    /* 3. FTS5 segments merged into one (drops delete markers). */
    if ((rc = store_exec(s, "INSERT INTO captions_fts(captions_fts) VALUES('optimize')",
                         err)) != ODX_OK)
        goto done;
    /* 4. Free pages back to the file system. A database made before
     * auto_vacuum=INCREMENTAL was set at creation is converted by one
     * VACUUM (a transaction of its own, through the WAL: readers keep
     * their snapshot); after that an incremental vacuum suffices. */
    if (w.auto_vacuum != 2)
        rc = store_exec(s, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM", err);
    else
        rc = store_exec(s, "PRAGMA incremental_vacuum", err);
    if (rc != ODX_OK)
        goto done;
    /* Copy what no reader still needs into the file now (never waits;
     * journal_size_limit then trims the WAL the VACUUM grew). */
    sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    store_waste a;
    if (waste_locked(s, &a, NULL) == ODX_OK)
        core_log(CORE_LOG_INFO,
                 "%s: compacted %" PRId64 " -> %" PRId64 " bytes (%" PRId64
                 " tombstones dropped)", s->db_path, before, a.pages * a.page_size,
                 w.tombstones - a.tombstones);
    if (did)
        *did = true;
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* The journal mode the connection reports after sql ("" on error). */
static void journal_mode(store *s, const char *sql, char *buf, size_t len)
{
    sqlite3_stmt *st = NULL;
    buf[0] = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 0);
        snprintf(buf, len, "%s", m ? m : "");
    }
    sqlite3_finalize(st);
}

odx_status store_compact_all(store *s, int64_t *before, int64_t *after, odx_err *err)
{
    if (!s)
        return core_err(err, ODX_ERR_INVALID, "store_compact_all: no store");
    store_waste w;
    odx_status rc = store_waste_get(s, &w, err);
    if (rc != ODX_OK)
        return rc;
    if (before)
        *before = w.pages * w.page_size;
    if ((rc = store_compact(s, true, NULL, err)) != ODX_OK)
        return rc;
    if ((rc = store_waste_get(s, &w, err)) != ODX_OK)
        return rc;
    /* A database from before STORE_PAGE_SIZE: WAL keeps the page size, so
     * the VACUUM that changes it runs in rollback-journal mode (as crash
     * safe; readers wait meanwhile), which SQLite allows only while no
     * other connection is open: else it stays as it is, said in the log. */
    if (w.page_size != STORE_PAGE_SIZE) {
        char mode[16], sql[64];
        pthread_mutex_lock(&s->mu);
        if (s->in_txn) {
            pthread_mutex_unlock(&s->mu);
            return core_err(err, ODX_ERR_INVALID, "store_compact_all: a batch is open");
        }
        journal_mode(s, "PRAGMA journal_mode=DELETE", mode, sizeof mode);
        if (strcmp(mode, "delete") == 0) {
            snprintf(sql, sizeof sql, "PRAGMA page_size=%d; VACUUM", STORE_PAGE_SIZE);
            rc = store_exec(s, sql, err);
        } else {
            core_log(CORE_LOG_WARN, "%s: another process has the database open: its %" PRId64
                     "-byte pages stay (close readers and run compact again)",
                     s->db_path, w.page_size);
        }
        journal_mode(s, "PRAGMA journal_mode=WAL", mode, sizeof mode);
        if (rc == ODX_OK && strcmp(mode, "wal") != 0)
            rc = core_err(err, ODX_ERR_DB, "%s: cannot return to WAL mode: %s", s->db_path,
                          sqlite3_errmsg(s->db));
        pthread_mutex_unlock(&s->mu);
        if (rc != ODX_OK)
            return rc;
        if ((rc = store_waste_get(s, &w, err)) != ODX_OK)
            return rc;
    }
    if (after)
        *after = w.pages * w.page_size;
    return ODX_OK;
}

/* store_sql.c - the SQL plumbing every file of storage/ shares: the
 * prepared-statement cache and its SQL, SQLite results as odx_status,
 * plain statements, meta values. Needs nothing else of storage. */
#include "storage_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* SQL of the cached statements, indexed by enum store_stmt_id. */
static const char *const stmt_sql[ST__COUNT] = {
    [ST_META_GET] = "SELECT value FROM meta WHERE key=?1",
    [ST_META_SET] = "INSERT INTO meta(key,value) VALUES(?1,?2)"
                    " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
    [ST_IMAGE_GET] = "SELECT id,path,size,mtime_ns,hash,status,err_stage,err_reason"
                     " FROM images WHERE path=?1",
    [ST_IMAGE_PUT_OK] =
        "INSERT INTO images(path,size,mtime_ns,hash,status,err_stage,err_reason,indexed_at)"
        " VALUES(?1,?2,?3,?4,'ok',NULL,NULL,strftime('%s','now'))"
        " ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns,"
        " hash=excluded.hash, status='ok', err_stage=NULL, err_reason=NULL,"
        " indexed_at=excluded.indexed_at",
    [ST_IMAGE_PUT_ERR] =
        "INSERT INTO images(path,size,mtime_ns,hash,status,err_stage,err_reason,indexed_at)"
        " VALUES(?1,?2,?3,NULL,'error',?4,?5,strftime('%s','now'))"
        " ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns,"
        " hash=NULL, status='error', err_stage=excluded.err_stage,"
        " err_reason=excluded.err_reason, indexed_at=excluded.indexed_at",
    [ST_IMAGE_DEL] = "DELETE FROM images WHERE id=?1",
    [ST_CONTENT_GET] = "SELECT engine_version, embedder FROM content WHERE hash=?1",
    [ST_CONTENT_UPSERT] =
        "INSERT INTO content(hash,width,height,format,domain,domain_conf,chart_type,"
        "text_lang,taken_at,engine_version,embedder,desc_z,dhash,dhash_crops,grey,created_at)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,strftime('%s','now'))"
        " ON CONFLICT(hash) DO UPDATE SET width=excluded.width, height=excluded.height,"
        " format=excluded.format, domain=excluded.domain,"
        " domain_conf=excluded.domain_conf, chart_type=excluded.chart_type,"
        " text_lang=excluded.text_lang, taken_at=excluded.taken_at,"
        " engine_version=excluded.engine_version, embedder=excluded.embedder,"
        " desc_z=excluded.desc_z, dhash=excluded.dhash, dhash_crops=excluded.dhash_crops,"
        " grey=excluded.grey",
    [ST_CONTENT_EXISTS] = "SELECT 1 FROM content WHERE hash=?1",
    [ST_CONTENT_SET_EMB] = "UPDATE content SET embedder=?2 WHERE hash=?1",
    [ST_CAPTIONS_DEL] = "DELETE FROM captions WHERE hash=?1 AND source='native'",
    [ST_CAPTION_INS] = "INSERT INTO captions(hash,kind,lang,text) VALUES(?1,?2,?3,?4)",
    [ST_CAPTIONS_OF] =
        "SELECT kind,lang,text FROM captions WHERE hash=?1 ORDER BY source<>'native', id",
    [ST_VEC_TOMB] = "INSERT INTO tombstones(id,gen) SELECT id,?2 FROM vectors WHERE hash=?1",
    [ST_VEC_DEL] = "DELETE FROM vectors WHERE hash=?1",
    [ST_VEC_INS] = "INSERT INTO vectors(hash,field,gen,embedding) VALUES(?1,?2,?3,?4)",
    [ST_VEC_LOOKUP] = "SELECT hash, field FROM vectors WHERE id=?1",
    /* The inner query lets FTS5 do its rank-ordered LIMIT before the join. */
    [ST_FTS_SEARCH] = "SELECT c.hash, c.kind, c.lang, f.rank FROM"
                      " (SELECT rowid, rank FROM captions_fts WHERE captions_fts MATCH ?1"
                      "  ORDER BY rank LIMIT ?2) AS f"
                      " JOIN captions c ON c.id = f.rowid ORDER BY f.rank",
    [ST_ROOT_ADD] = "INSERT OR IGNORE INTO roots(path, added_at)"
                    " VALUES(?1, strftime('%s','now'))",
    [ST_ROOTS] = "SELECT path FROM roots ORDER BY added_at, path",
    /* store_read.c */
    [ST_CONTENT_INFO] =
        "SELECT domain, width, height, taken_at, text_lang, dhash, desc_z, chart_type,"
        " dhash_crops, grey FROM content WHERE hash=?1",
    [ST_CONTENT_DOMAIN] = "SELECT domain FROM content WHERE hash=?1",
    [ST_IMAGES_OF] = "SELECT id,path,size,mtime_ns,hash,status,err_stage,err_reason"
                     " FROM images WHERE hash=?1 AND status='ok' ORDER BY length(path), path",
    [ST_IMAGES_OF_BY_PATH] = "SELECT id,path,size,mtime_ns,hash,status,err_stage,err_reason"
                             " FROM images WHERE hash=?1 ORDER BY path",
    [ST_IMAGES_FAILED] = "SELECT id,path,size,mtime_ns,hash,status,err_stage,err_reason,"
                         "indexed_at FROM images WHERE status='error' ORDER BY path",
#define IMAGE_DETAIL                                                                          \
    "SELECT i.id, i.path, i.size, i.mtime_ns, i.hash, i.status, i.err_stage, i.err_reason,"   \
    " i.indexed_at, c.desc_z, c.engine_version, c.embedder, c.hash"                        \
    " FROM images i LEFT JOIN content c ON c.hash = i.hash WHERE "
    [ST_IMAGE_DETAIL_PATH] = IMAGE_DETAIL "i.path = ?1",
    [ST_IMAGE_DETAIL_ID] = IMAGE_DETAIL "i.id = ?1",
#undef IMAGE_DETAIL
    [ST_VECS_OF] = "SELECT field, embedding FROM vectors WHERE hash=?1 ORDER BY id",
    [ST_NATIVE_TEXTS] =
        "SELECT kind,lang,text FROM captions WHERE hash=?1 AND source='native' ORDER BY id",
    [ST_DHASH_SCAN] = "SELECT rowid, dhash, dhash_crops FROM content WHERE dhash IS NOT NULL",
    [ST_DATA_VERSION] = "PRAGMA data_version",
    [ST_CONTENT_HASH_OF] = "SELECT hash FROM content WHERE rowid=?1",
    [ST_CAPTION_ROWS] = "SELECT coalesce(max(id), 0) FROM captions",
};

odx_status store_sqlite_status(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ODX_ERR_LOCKED;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return ODX_ERR_CORRUPT;
    case SQLITE_NOMEM: return ODX_ERR_NOMEM;
    default: return ODX_ERR_DB;
    }
}

const char *store_sqlite_hint(int sqlite_rc)
{
    switch (store_sqlite_status(sqlite_rc)) {
    case ODX_ERR_LOCKED: return " (another process is writing the database; try again later)";
    case ODX_ERR_CORRUPT: return " (the database is damaged: run 'omnidex check')";
    default: return "";
    }
}

odx_status store_db_status(store *s)
{
    return store_sqlite_status(sqlite3_extended_errcode(s->db));
}

odx_status store_conn_err(store *s, sqlite3 *db, odx_err *err, const char *what)
{
    int code = sqlite3_extended_errcode(db);
    return core_err(err, store_sqlite_status(code), "%s in '%s': %s%s", what, s->db_path,
                    sqlite3_errmsg(db), store_sqlite_hint(code));
}

odx_status store_db_err(store *s, odx_err *err, const char *what)
{
    return store_conn_err(s, s->db, err, what);
}

sqlite3_stmt *store_stmt(store *s, int i, odx_err *err)
{
    if (i < 0 || i >= ST__COUNT) {
        core_err(err, ODX_ERR_INTERNAL, "bad statement id %d", i);
        return NULL;
    }
    if (!s->stmt[i]) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &s->stmt[i], NULL) != SQLITE_OK) {
            store_db_err(s, err, "preparing statement");
            s->stmt[i] = NULL;
            return NULL;
        }
    } else {
        sqlite3_reset(s->stmt[i]);
        sqlite3_clear_bindings(s->stmt[i]);
    }
    return s->stmt[i];
}

/* ------------------------------------------------------ read lanes ---- */

/* Whether db_path is still the file the handle's connection opened. */
static bool same_file(const store *s)
{
    struct stat sb;
    return stat(s->db_path, &sb) == 0 && sb.st_dev == s->db_dev && sb.st_ino == s->db_ino;
}

static bool lane_open(store *s, struct store_lane *l)
{
    if (l->db)
        return true;
    if (l->failed || !same_file(s))
        return false;
    /* NOMUTEX: the lane's own mutex serialises its users. No tokenizer:
     * lanes read plain tables, never the FTS5 one. */
    if (sqlite3_open_v2(s->db_path, &l->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(l->db, "PRAGMA cell_size_check=ON", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close_v2(l->db);
        l->db = NULL;
        l->failed = true;
        return false;
    }
    sqlite3_busy_timeout(l->db, STORE_READER_BUSY_TIMEOUT_MS);
    if (!same_file(s)) { /* swapped while it opened */
        sqlite3_close_v2(l->db);
        l->db = NULL;
        return false;
    }
    return true;
}

void store_rd_begin(store *s, store_rd *r)
{
    r->s = s;
    if (s->read_only) {
        for (int i = 0; i < STORE_READ_LANES; i++) {
            struct store_lane *l = &s->lanes[i];
            if (pthread_mutex_trylock(&l->mu) != 0)
                continue;
            if (lane_open(s, l)) {
                r->lane = l;
                r->db = l->db;
                return;
            }
            pthread_mutex_unlock(&l->mu);
        }
    }
    pthread_mutex_lock(&s->mu);
    r->lane = NULL;
    r->db = s->db;
}

void store_rd_end(store_rd *r)
{
    pthread_mutex_unlock(r->lane ? &r->lane->mu : &r->s->mu);
}

sqlite3_stmt *store_rd_stmt(store_rd *r, int i, odx_err *err)
{
    if (!r->lane)
        return store_stmt(r->s, i, err);
    if (i < 0 || i >= ST__COUNT) {
        core_err(err, ODX_ERR_INTERNAL, "bad statement id %d", i);
        return NULL;
    }
    sqlite3_stmt **st = &r->lane->stmt[i];
    if (!*st) {
        if (sqlite3_prepare_v3(r->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, st, NULL) !=
            SQLITE_OK) {
            store_rd_err(r, err, "preparing statement");
            *st = NULL;
            return NULL;
        }
    } else {
        sqlite3_reset(*st);
        sqlite3_clear_bindings(*st);
    }
    return *st;
}

odx_status store_rd_err(store_rd *r, odx_err *err, const char *what)
{
    return store_conn_err(r->s, r->db, err, what);
}

odx_status store_rd_status(store_rd *r)
{
    return store_sqlite_status(sqlite3_extended_errcode(r->db));
}

void store_lanes_close(store *s)
{
    for (int i = 0; i < STORE_READ_LANES; i++) {
        struct store_lane *l = &s->lanes[i];
        for (int j = 0; j < ST__COUNT; j++)
            sqlite3_finalize(l->stmt[j]);
        if (l->db)
            sqlite3_close_v2(l->db);
        memset(l->stmt, 0, sizeof l->stmt);
        l->db = NULL;
    }
}

odx_status store_exec(store *s, const char *sql, odx_err *err)
{
    char *msg = NULL;
    int code = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (code != SQLITE_OK) {
        odx_status rc = core_err(err, store_sqlite_status(code), "'%.40s' in '%s': %s%s", sql,
                                 s->db_path, msg ? msg : sqlite3_errmsg(s->db),
                                 store_sqlite_hint(code));
        sqlite3_free(msg);
        return rc;
    }
    return ODX_OK;
}

odx_status store_meta_int(store *s, const char *key, int64_t def, int64_t *out,
                          odx_err *err)
{
    sqlite3_stmt *st = store_stmt(s, ST_META_GET, err);
    if (!st)
        return store_db_status(s);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    odx_status rc = ODX_OK;
    if (r == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else if (r == SQLITE_DONE)
        *out = def;
    else
        rc = store_db_err(s, err, "reading meta");
    sqlite3_reset(st);
    return rc;
}

odx_status store_meta_set_int(store *s, const char *key, int64_t v, odx_err *err)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    sqlite3_stmt *st = store_stmt(s, ST_META_SET, err);
    if (!st)
        return store_db_status(s);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, buf, -1, SQLITE_TRANSIENT);
    odx_status rc = sqlite3_step(st) == SQLITE_DONE ? ODX_OK
                                                    : store_db_err(s, err, "writing meta");
    sqlite3_reset(st);
    return rc;
}

sqlite3 *store_sqlite(store *s) { return s ? s->db : NULL; }
const char *store_dir(const store *s) { return s ? s->dir : NULL; }
int store_dim(const store *s) { return s ? s->dim : 0; }

odx_status store_meta_get(store *s, const char *key, char **val, odx_err *err)
{
    if (!s || !key || !val)
        return core_err(err, ODX_ERR_INVALID, "store_meta_get: bad arguments");
    odx_status rc = ODX_OK;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = store_stmt(s, ST_META_GET, err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        char *copy = core_strdup(v ? v : "");
        if (!copy) {
            rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
            goto done;
        }
        *val = copy;
    } else if (r == SQLITE_DONE) {
        *val = NULL;
    } else {
        rc = store_db_err(s, err, "reading meta");
    }
done:
    if (st)
        sqlite3_reset(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

odx_status store_meta_set(store *s, const char *key, const char *val, odx_err *err)
{
    if (!s || !key || !val)
        return core_err(err, ODX_ERR_INVALID, "store_meta_set: bad arguments");
    if (s->read_only)
        return core_err(err, ODX_ERR_INVALID, "store '%s' is open read-only", s->dir);
    odx_status rc = ODX_OK;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = store_stmt(s, ST_META_SET, err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = store_db_err(s, err, "writing meta");
    sqlite3_reset(st);
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

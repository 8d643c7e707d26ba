/* store_schema.c - the SQLite schema and its migrations. Runs once per
 * store_open, before any statement is prepared; a database made by a newer
 * omnidex is refused instead of being guessed at. */
#include "storage_int.h"

#include "embedder.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Version 1. Paths are BLOBs so non-UTF-8 names survive byte for byte.
 * Derived data hangs off the content hash; vector ids never get reused
 * (AUTOINCREMENT), so a tombstone can never delete a newer vector. The FTS
 * table is external-content over captions, kept in step by triggers so
 * no code path can forget it. */
static const char SCHEMA_V1[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
    "CREATE TABLE roots(path BLOB PRIMARY KEY, added_at INTEGER NOT NULL);"
    "CREATE TABLE content("
    " hash TEXT PRIMARY KEY, width INTEGER, height INTEGER, format TEXT,"
    " domain TEXT, domain_conf REAL, chart_type TEXT, text_lang TEXT,"
    " taken_at TEXT, engine_version TEXT NOT NULL DEFAULT '',"
    " embedder TEXT NOT NULL DEFAULT '', desc_json TEXT,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE images("
    " id INTEGER PRIMARY KEY, path BLOB UNIQUE NOT NULL, size INTEGER,"
    " mtime_ns INTEGER, hash TEXT,"
    " status TEXT NOT NULL CHECK(status IN ('ok','error')),"
    " err_stage TEXT, err_reason TEXT, indexed_at INTEGER NOT NULL);"
    "CREATE INDEX images_hash ON images(hash);"
    "CREATE TABLE captions("
    " id INTEGER PRIMARY KEY, hash TEXT NOT NULL REFERENCES content(hash),"
    " kind TEXT NOT NULL, lang TEXT NOT NULL, text TEXT NOT NULL,"
    " source TEXT NOT NULL DEFAULT 'native');"
    "CREATE INDEX captions_hash ON captions(hash);"
    "CREATE VIRTUAL TABLE captions_fts USING fts5("
    " text, content='captions', content_rowid='id', tokenize='odx');"
    "CREATE TRIGGER captions_ai AFTER INSERT ON captions BEGIN"
    " INSERT INTO captions_fts(rowid, text) VALUES (new.id, new.text); END;"
    "CREATE TRIGGER captions_ad AFTER DELETE ON captions BEGIN"
    " INSERT INTO captions_fts(captions_fts, rowid, text)"
    " VALUES ('delete', old.id, old.text); END;"
    "CREATE TRIGGER captions_au AFTER UPDATE OF text ON captions BEGIN"
    " INSERT INTO captions_fts(captions_fts, rowid, text)"
    " VALUES ('delete', old.id, old.text);"
    " INSERT INTO captions_fts(rowid, text) VALUES (new.id, new.text); END;"
    "CREATE TABLE vectors("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " hash TEXT NOT NULL REFERENCES content(hash), field TEXT NOT NULL,"
    " gen INTEGER NOT NULL, embedding BLOB NOT NULL);"
    "CREATE INDEX vectors_hash ON vectors(hash);"
    "CREATE INDEX vectors_gen ON vectors(gen);"
    "CREATE TABLE tombstones(id INTEGER NOT NULL, gen INTEGER NOT NULL);"
    "CREATE INDEX tombstones_gen ON tombstones(gen);";

/* Version 2: VLM captions (store_vlm.c) record the model and the prompt
 * version that made them; native rows leave both NULL. */
static const char SCHEMA_V2[] =
    "ALTER TABLE captions ADD COLUMN model TEXT;"
    "ALTER TABLE captions ADD COLUMN prompt TEXT;"
    "CREATE INDEX captions_source ON captions(source, hash);";

/* Version 3: the caption log the in-memory lexical index catches up from
 * (store_lex.c): every caption row inserted, deleted or changed appends
 * its id, from triggers so no code path can forget it. AUTOINCREMENT keeps
 * sequence numbers rising even when the log is emptied; every 4096th row
 * trims it to its newest 200000 (a reader further behind rebuilds). */
static const char SCHEMA_V3[] =
    "CREATE TABLE caption_log(seq INTEGER PRIMARY KEY AUTOINCREMENT, id INTEGER NOT NULL);"
    "CREATE TRIGGER caption_log_ai AFTER INSERT ON captions BEGIN"
    " INSERT INTO caption_log(id) VALUES (new.id); END;"
    "CREATE TRIGGER caption_log_ad AFTER DELETE ON captions BEGIN"
    " INSERT INTO caption_log(id) VALUES (old.id); END;"
    "CREATE TRIGGER caption_log_au AFTER UPDATE ON captions BEGIN"
    " INSERT INTO caption_log(id) VALUES (old.id);"
    " INSERT INTO caption_log(id) VALUES (new.id); END;"
    "CREATE TRIGGER caption_log_trim AFTER INSERT ON caption_log WHEN new.seq % 4096 = 0"
    " BEGIN DELETE FROM caption_log WHERE seq <= new.seq - 200000; END;";

/* Version 4: compact storage. The description JSON goes from a TEXT
 * column to content.desc_z (store_desc.c: the texts that are caption rows
 * taken out, deflated with a preset dictionary; about 5x smaller), its
 * difference hash, which search reads for every hit, to its own column;
 * the index over (source, hash), a copy of every caption's hash, becomes
 * one over the VLM rows only (the only ones looked up by source). */
static const char SCHEMA_V4_PRE[] =
    "ALTER TABLE content ADD COLUMN dhash INTEGER;"
    "ALTER TABLE content ADD COLUMN desc_z BLOB;";
static const char SCHEMA_V4_POST[] =
    "ALTER TABLE content DROP COLUMN desc_json;"
    "DROP INDEX captions_source;"
    "CREATE INDEX captions_vlm ON captions(hash) WHERE source = 'vlm';";

static odx_status migrate_v4(store *s, odx_err *err);

/* Version 5: the difference hashes of a picture's crops (8 x 8 bytes), so
 * that cropped copies find their original (ret_similar). Content captioned
 * before has none until it is captioned again. */
static const char SCHEMA_V5[] = "ALTER TABLE content ADD COLUMN dhash_crops BLOB;";
/* Version 6: the picture's mean grey in 16 x 16 cells (256 bytes), which
 * search by example correlates a crop with its original by. Content
 * captioned before has none until it is captioned again. */
static const char SCHEMA_V6[] = "ALTER TABLE content ADD COLUMN grey BLOB;";
/* Version 7: contents by domain, newest first (store_contents_each: a
 * query that names a kind, "a table", lists that kind's newest; without
 * the index every such query read the whole content table, tens of ms at
 * 100k images). Covering (hash and chart type in the index): the listing
 * reads no content row, in one order however many share a second. About
 * 90 bytes an image. */
static const char SCHEMA_V7[] = "CREATE INDEX IF NOT EXISTS content_domain ON"
                                " content(domain, created_at, hash, chart_type);";

/* migrations[v] takes a database from version v to v + 1: sql, then fn
 * (NULL: none), then sql_after (NULL: none), all inside one transaction. */
static const struct migration {
    const char *sql;
    odx_status (*fn)(store *s, odx_err *err);
    const char *sql_after;
} migrations[] = {
    {SCHEMA_V1, NULL, NULL},
    {SCHEMA_V2, NULL, NULL},
    {SCHEMA_V3, NULL, NULL},
    {SCHEMA_V4_PRE, migrate_v4, SCHEMA_V4_POST},
    {SCHEMA_V5, NULL, NULL},
    {SCHEMA_V6, NULL, NULL},
    {SCHEMA_V7, NULL, NULL},
};

/* Packs every stored description into desc_z (with its native caption
 * rows, as store_content_put would have). */
static odx_status migrate_v4(store *s, odx_err *err)
{
    sqlite3_stmt *rd = NULL, *caps = NULL, *up = NULL;
    odx_status rc = ODX_OK;
    store_text *t = NULL;
    int n_t = 0, cap = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT rowid, hash, desc_json FROM content"
                                  " WHERE desc_json IS NOT NULL",
                           -1, &rd, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "SELECT kind, lang, text FROM captions"
                                  " WHERE hash = ?1 AND source = 'native' ORDER BY id",
                           -1, &caps, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "UPDATE content SET desc_z = ?2, dhash = ?3 WHERE rowid = ?1",
                           -1, &up, NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "migrating descriptions");
        goto done;
    }
    int r;
    while ((r = sqlite3_step(rd)) == SQLITE_ROW) {
        int64_t rowid = sqlite3_column_int64(rd, 0);
        const char *hash = (const char *)sqlite3_column_text(rd, 1);
        const char *json = (const char *)sqlite3_column_text(rd, 2);
        n_t = 0;
        sqlite3_reset(caps);
        sqlite3_bind_text(caps, 1, hash ? hash : "", -1, SQLITE_STATIC);
        int rc2;
        while ((rc2 = sqlite3_step(caps)) == SQLITE_ROW) {
            if (n_t == cap) {
                int nc = cap ? cap * 2 : 16;
                store_text *nt = realloc(t, sizeof *t * (size_t)nc);
                if (!nt) {
                    rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
                    goto done;
                }
                t = nt;
                cap = nc;
            }
            /* copies: a column's text lasts only until the next step */
            const char *k = (const char *)sqlite3_column_text(caps, 0);
            const char *l = (const char *)sqlite3_column_text(caps, 1);
            const char *x = (const char *)sqlite3_column_text(caps, 2);
            t[n_t++] = (store_text){core_strdup(k ? k : ""), core_strdup(l ? l : ""),
                                    core_strdup(x ? x : "")};
        }
        sqlite3_reset(caps);
        bool oom = false;
        for (int i = 0; i < n_t; i++)
            oom = oom || !t[i].kind || !t[i].lang || !t[i].text;
        if (oom || (rc2 != SQLITE_ROW && rc2 != SQLITE_DONE)) {
            for (int i = 0; i < n_t; i++) {
                free((char *)t[i].kind);
                free((char *)t[i].lang);
                free((char *)t[i].text);
            }
            rc = oom ? core_err(err, ODX_ERR_NOMEM, "out of memory")
                     : store_db_err(s, err, "migrating descriptions");
            goto done;
        }
        unsigned char *z = NULL;
        size_t z_len = 0;
        bool has_dh = false;
        uint64_t dh = 0;
        odx_err pe = {0};
        odx_status prc = store_desc_pack(json ? json : "", t, n_t, &z, &z_len, &has_dh, &dh,
                                         &pe);
        for (int i = 0; i < n_t; i++) {
            free((char *)t[i].kind);
            free((char *)t[i].lang);
            free((char *)t[i].text);
        }
        if (prc == ODX_ERR_INVALID) {
            /* damage from before: kept as it was, whole (check reports it) */
            core_log(CORE_LOG_WARN, "%s: content %s: %s; stored as it was", s->db_path,
                     hash ? hash : "?", pe.msg);
            size_t n = strlen(json ? json : "");
            prc = store_desc_pack_raw(json ? json : "", n, &z, &z_len, &pe);
        }
        if (prc != ODX_OK) {
            rc = core_err(err, prc, "migrating the description of %s: %s", hash ? hash : "?",
                          pe.msg);
            goto done;
        }
        sqlite3_reset(up);
        sqlite3_bind_int64(up, 1, rowid);
        sqlite3_bind_blob(up, 2, z, (int)z_len, free);
        if (has_dh)
            sqlite3_bind_int64(up, 3, (int64_t)dh);
        else
            sqlite3_bind_null(up, 3);
        if (sqlite3_step(up) != SQLITE_DONE) {
            rc = store_db_err(s, err, "migrating descriptions");
            goto done;
        }
    }
    if (r != SQLITE_DONE)
        rc = store_db_err(s, err, "migrating descriptions");
done:
    free(t);
    sqlite3_finalize(rd);
    sqlite3_finalize(caps);
    sqlite3_finalize(up);
    return rc;
}

static odx_status schema_version(store *s, int64_t *ver, odx_err *err)
{
    sqlite3_stmt *st = NULL;
    odx_status rc = ODX_OK;
    *ver = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT count(*) FROM sqlite_master"
                           " WHERE type='table' AND name='meta'",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = store_db_err(s, err, "reading schema");
        goto done;
    }
    bool has_meta = sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    st = NULL;
    if (!has_meta)
        goto done;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key='schema_version'",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "reading schema version");
        goto done;
    }
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        char *end = NULL;
        long long x = v ? strtoll(v, &end, 10) : -1;
        if (!v || end == v || *end || x < 0) {
            rc = core_err(err, ODX_ERR_SCHEMA, "database '%s': bad schema_version '%s'",
                          s->db_path, v ? v : "(null)");
            goto done;
        }
        *ver = x;
    } else if (r != SQLITE_DONE) {
        rc = store_db_err(s, err, "reading schema version");
    }
done:
    sqlite3_finalize(st);
    return rc;
}

static odx_status set_meta_str(store *s, const char *key, const char *val, odx_err *err)
{
    sqlite3_stmt *st = NULL;
    odx_status rc = ODX_OK;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO meta(key,value) VALUES(?1,?2)"
                                  " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "writing meta");
        goto done;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = store_db_err(s, err, "writing meta");
done:
    sqlite3_finalize(st);
    return rc;
}

static odx_status set_meta_i64(store *s, const char *key, int64_t v, odx_err *err)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return set_meta_str(s, key, buf, err);
}

/* Reads meta key as string into buf ("" when absent). */
static odx_status get_meta_str(store *s, const char *key, char *buf, size_t len,
                               odx_err *err)
{
    sqlite3_stmt *st = NULL;
    odx_status rc = ODX_OK;
    buf[0] = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key=?1", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "reading meta");
        goto done;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        snprintf(buf, len, "%s", v ? v : "");
    } else if (r != SQLITE_DONE) {
        rc = store_db_err(s, err, "reading meta");
    }
done:
    sqlite3_finalize(st);
    return rc;
}

/* Writer side: the embedding dimension changed (a new embedder). The old
 * vectors cannot live in the new index, so they go, and content is marked
 * as not embedded so the indexer re-embeds it from stored captions. */
static odx_status reset_vectors_for_dim(store *s, int64_t gen, odx_err *err)
{
    odx_status rc;
    if ((rc = store_exec(s, "DELETE FROM vectors; DELETE FROM tombstones;"
                            " UPDATE content SET embedder='';",
                         err)) != ODX_OK)
        return rc;
    if ((rc = set_meta_i64(s, "dim", EMB_DIM, err)) != ODX_OK ||
        (rc = set_meta_i64(s, "generation", gen + 1, err)) != ODX_OK ||
        (rc = set_meta_i64(s, "tomb_floor", gen + 1, err)) != ODX_OK)
        return rc;
    core_log(CORE_LOG_WARN, "%s: embedding dimension changed to %d: vectors dropped,"
                            " content will be re-embedded", s->db_path, EMB_DIM);
    return ODX_OK;
}

odx_status store_schema_init(store *s, odx_err *err)
{
    odx_status rc = ODX_OK;
    bool in_txn = false;
    int64_t ver = 0;
    const int64_t n_mig = (int64_t)(sizeof migrations / sizeof migrations[0]);

    if (s->read_only) {
        if ((rc = schema_version(s, &ver, err)) != ODX_OK)
            goto done;
    } else {
        /* IMMEDIATE: two writers racing to create the schema serialise. */
        if ((rc = store_exec(s, "BEGIN IMMEDIATE", err)) != ODX_OK)
            goto done;
        in_txn = true;
        if ((rc = schema_version(s, &ver, err)) != ODX_OK)
            goto done;
    }
    if (ver > STORE_SCHEMA_VERSION) {
        rc = core_err(err, ODX_ERR_SCHEMA,
                      "database '%s' has schema version %" PRId64
                      ", newer than this omnidex supports (%d): upgrade omnidex",
                      s->db_path, ver, STORE_SCHEMA_VERSION);
        goto done;
    }
    if (s->read_only) {
        char tok[64];
        if (ver == STORE_SCHEMA_VERSION &&
            get_meta_str(s, "tokenizer", tok, sizeof tok, NULL) == ODX_OK &&
            strcmp(tok, emb_tokenizer_id()) != 0)
            core_log(CORE_LOG_WARN, "%s: text index made by tokenizer '%s', not '%s':"
                                    " open it for writing once (omnidex index) to rebuild it",
                     s->db_path, tok[0] ? tok : "(unknown)", emb_tokenizer_id());
        if (ver == 0)
            rc = core_err(err, ODX_ERR_NOT_FOUND, "no index in '%s' (run an index first)",
                          s->dir);
        else if (ver < STORE_SCHEMA_VERSION)
            rc = core_err(err, ODX_ERR_SCHEMA,
                          "database '%s' has schema version %" PRId64
                          " and needs a migration: open it for writing once",
                          s->db_path, ver);
        goto done;
    }

    bool fresh = ver == 0;
    for (int64_t v = ver; v < STORE_SCHEMA_VERSION && v < n_mig; v++) {
        const struct migration *m = &migrations[v];
        for (int step = 0; step < 3; step++) {
            char *msg = NULL;
            const char *sql = step == 0 ? m->sql : step == 2 ? m->sql_after : NULL;
            if (step == 1 && m->fn) {
                odx_err me = {0};
                if ((rc = m->fn(s, &me)) != ODX_OK) {
                    rc = core_err(err, rc, "migrating '%s' from schema %" PRId64 ": %s",
                                  s->db_path, v, me.msg);
                    goto done;
                }
            }
            if (sql && sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
                rc = core_err(err, ODX_ERR_DB, "migrating '%s' from schema %" PRId64 ": %s",
                              s->db_path, v, msg ? msg : "?");
                sqlite3_free(msg);
                goto done;
            }
        }
        if (v > 0 && v + 1 == STORE_SCHEMA_VERSION)
            core_log(CORE_LOG_INFO, "%s: schema migrated from version %" PRId64 " to %d",
                     s->db_path, ver, STORE_SCHEMA_VERSION);
    }
    if (fresh) {
        if ((rc = set_meta_i64(s, "dim", EMB_DIM, err)) != ODX_OK ||
            (rc = set_meta_str(s, "faiss_factory", STORE_DEFAULT_FACTORY, err)) != ODX_OK ||
            (rc = set_meta_i64(s, "generation", 0, err)) != ODX_OK ||
            (rc = set_meta_i64(s, "tomb_floor", 0, err)) != ODX_OK ||
            (rc = set_meta_i64(s, "created_at", (int64_t)time(NULL), err)) != ODX_OK)
            goto done;
    }
    if (ver != STORE_SCHEMA_VERSION &&
        (rc = set_meta_i64(s, "schema_version", STORE_SCHEMA_VERSION, err)) != ODX_OK)
        goto done;

    char buf[64];
    if ((rc = get_meta_str(s, "dim", buf, sizeof buf, err)) != ODX_OK)
        goto done;
    if (atoi(buf) != EMB_DIM) {
        char gbuf[32];
        if ((rc = get_meta_str(s, "generation", gbuf, sizeof gbuf, err)) != ODX_OK ||
            (rc = reset_vectors_for_dim(s, strtoll(gbuf, NULL, 10), err)) != ODX_OK)
            goto done;
    }
    if ((rc = get_meta_str(s, "embedder", buf, sizeof buf, err)) != ODX_OK)
        goto done;
    if (strcmp(buf, emb_model_id()) != 0 && (rc = set_meta_str(s, "embedder", emb_model_id(), err)) != ODX_OK)
        goto done;
    /* FTS5 keeps the tokens it was given: under another tokenizer (say,
     * one that now folds traditional Han) old rows would no longer match
     * queries. The table is external-content over captions, so it is
     * rebuilt from them, once, inside this transaction. */
    if ((rc = get_meta_str(s, "tokenizer", buf, sizeof buf, err)) != ODX_OK)
        goto done;
    if (strcmp(buf, emb_tokenizer_id()) != 0) {
        if (!fresh) {
            core_log(CORE_LOG_INFO, "%s: tokenizer changed ('%s' -> '%s'): rebuilding the text index",
                     s->db_path, buf[0] ? buf : "(unknown)", emb_tokenizer_id());
            if ((rc = store_exec(s, "INSERT INTO captions_fts(captions_fts) VALUES('rebuild')",
                                 err)) != ODX_OK)
                goto done;
        }
        if ((rc = set_meta_str(s, "tokenizer", emb_tokenizer_id(), err)) != ODX_OK)
            goto done;
    }
    rc = store_exec(s, "COMMIT", err);
    in_txn = rc != ODX_OK;

done:
    if (in_txn)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

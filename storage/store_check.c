/* store_check.c - `omnidex check`: is the index whole? SQLite's own
 * integrity check, the FTS5 index against its captions, the rows against
 * each other, the FAISS file against the vectors table (the truth), and
 * the remote embeddings with embed.vec (store_embed_check). (The cheap check store_open runs is in store_db.c.) */
#include "storage_int.h"

#include <cjson/cJSON.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/MetaIndexes_c.h>

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* At most this many messages from one SQLite pragma are reported. */
#define CHECK_MAX_MSGS 20

typedef struct chk {
    store_check_report *r;
    void (*problem)(void *ctx, const char *what, const char *detail);
    void *ctx;
} chk;

static void report(chk *c, const char *what, const char *fmt, ...)
{
    char detail[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    c->r->n_problems++;
    if (c->problem)
        c->problem(c->ctx, what, detail);
}

/* Runs a pragma whose rows are "ok" or messages. A SQLite error while
 * running it is damage too (integrity_check stops at a page it cannot
 * read). */
static void pragma_msgs(chk *c, sqlite3 *db, const char *sql, const char *what)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        report(c, what, "cannot run: %s", sqlite3_errmsg(db));
        return;
    }
    int n = 0, r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 0);
        if (m && strcmp(m, "ok") == 0)
            continue;
        if (n++ < CHECK_MAX_MSGS)
            report(c, what, "%s", m ? m : "(null)");
    }
    if (r != SQLITE_DONE)
        report(c, what, "stopped: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
}

/* SELECT count(*) ... -> a problem when not zero. */
static void count_bad(chk *c, sqlite3 *db, const char *sql, const char *what,
                      const char *detail)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        report(c, what, "cannot run: %s", sqlite3_errmsg(db));
        return;
    }
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(st, 0);
        if (n > 0)
            report(c, what, "%" PRId64 " %s", n, detail);
    } else {
        report(c, what, "cannot run: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
}

static int64_t count_of(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Every description record: it inflates, its caption rows are there to
 * be put back, and the result is JSON. */
static void check_descriptions(chk *c, sqlite3 *db)
{
    sqlite3_stmt *st = NULL, *caps = NULL;
    store_text *t = NULL;
    int cap = 0;
    if (sqlite3_prepare_v2(db, "SELECT hash, desc_z FROM content WHERE desc_z IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT kind, lang, text FROM captions"
                               " WHERE hash = ?1 AND source = 'native' ORDER BY id",
                           -1, &caps, NULL) != SQLITE_OK) {
        report(c, "content", "cannot read the descriptions: %s", sqlite3_errmsg(db));
        goto done;
    }
    int64_t n_bad = 0;
    char first[STORE_MAX_HASH + 1] = "", why[sizeof((odx_err *)0)->msg] = "";
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *hash = (const char *)sqlite3_column_text(st, 0);
        sqlite3_reset(caps);
        sqlite3_bind_text(caps, 1, hash ? hash : "", -1, SQLITE_TRANSIENT);
        int n_t = 0, rc2;
        /* the texts stay valid while caps stays on its rows: read them all
         * into copies first */
        while ((rc2 = sqlite3_step(caps)) == SQLITE_ROW) {
            if (n_t == cap) {
                int nc = cap ? cap * 2 : 16;
                store_text *nt = realloc(t, sizeof *t * (size_t)nc);
                if (!nt)
                    break;
                t = nt;
                cap = nc;
            }
            t[n_t].kind = core_strdup((const char *)sqlite3_column_text(caps, 0));
            t[n_t].lang = core_strdup((const char *)sqlite3_column_text(caps, 1));
            t[n_t].text = core_strdup((const char *)sqlite3_column_text(caps, 2));
            n_t++;
        }
        odx_err e = {0};
        char *json = NULL;
        odx_status drc =
            rc2 != SQLITE_DONE
                ? core_err(&e, ODX_ERR_DB, "reading its captions: %s", sqlite3_errmsg(db))
                : store_desc_unpack(sqlite3_column_blob(st, 1),
                                    (size_t)sqlite3_column_bytes(st, 1), t, n_t, &json, &e);
        cJSON *o = drc == ODX_OK ? cJSON_Parse(json) : NULL;
        if (drc == ODX_OK && !o)
            snprintf(e.msg, sizeof e.msg, "not valid JSON");
        if (!o && n_bad++ == 0) {
            snprintf(first, sizeof first, "%s", hash ? hash : "?");
            snprintf(why, sizeof why, "%s", e.msg);
        }
        cJSON_Delete(o);
        free(json);
        for (int i = 0; i < n_t; i++) {
            free((char *)t[i].kind);
            free((char *)t[i].lang);
            free((char *)t[i].text);
        }
    }
    if (r != SQLITE_DONE)
        report(c, "content", "reading the descriptions stopped: %s", sqlite3_errmsg(db));
    if (n_bad)
        report(c, "content", "%" PRId64 " descriptions that do not read back (first %s: %s)",
               n_bad, first, why);
done:
    free(t);
    sqlite3_finalize(st);
    sqlite3_finalize(caps);
}

/* Every vector row: the right size, finite values. */
static void check_vector_rows(chk *c, sqlite3 *db, int dim)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id, embedding FROM vectors", -1, &st, NULL) !=
        SQLITE_OK) {
        report(c, "vectors", "cannot read: %s", sqlite3_errmsg(db));
        return;
    }
    int64_t n_size = 0, n_nan = 0, first = -1;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const float *v = sqlite3_column_blob(st, 1);
        int len = sqlite3_column_bytes(st, 1);
        if (len != (int)sizeof(float) * dim || !v) {
            if (first < 0)
                first = sqlite3_column_int64(st, 0);
            n_size++;
            continue;
        }
        for (int i = 0; i < dim; i++) {
            float x;
            memcpy(&x, (const char *)v + sizeof x * (size_t)i, sizeof x);
            if (!isfinite(x)) {
                if (first < 0)
                    first = sqlite3_column_int64(st, 0);
                n_nan++;
                break;
            }
        }
    }
    if (r != SQLITE_DONE)
        report(c, "vectors", "stopped reading: %s", sqlite3_errmsg(db));
    if (n_size)
        report(c, "vectors", "%" PRId64 " embeddings of the wrong size (first id %" PRId64 ")",
               n_size, first);
    if (n_nan)
        report(c, "vectors", "%" PRId64 " embeddings with non-finite values (first id %" PRId64
               ")", n_nan, first);
    sqlite3_finalize(st);
}

typedef struct id_row {
    idx_t id;
    size_t row;
} id_row;

static int cmp_id_row(const void *a, const void *b)
{
    const id_row *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The FAISS index in memory (the file, caught up to the database) against
 * the vectors table: the same ids and, for IDMap2,Flat, the same floats. */
static void check_faiss(chk *c, store *s)
{
    store_check_report *r = c->r;
    if (s->faiss_note[0])
        report(c, "faiss file", "%s: %s (the next 'omnidex index' rebuilds it from the"
               " database)", s->faiss_path, s->faiss_note);
    if (s->ann_note[0])
        report(c, "ann file", "%s: %s (dense search is exact until the next 'omnidex index'"
               " rebuilds it)", s->ann_path, s->ann_note);
    pthread_rwlock_rdlock(&s->idx_lock);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    id_row *map = NULL;
    int64_t n_missing = 0, n_differ = 0, n_sql = 0, first_missing = -1, first_differ = -1;
    if (!s->index) {
        report(c, "faiss", "no FAISS index could be loaded or built");
        goto done;
    }
    r->faiss_ntotal = (int64_t)faiss_Index_ntotal(s->index);
    FaissIndexIDMap2 *m = faiss_IndexIDMap2_cast(s->index);
    FaissIndexFlat *f = m ? faiss_IndexFlat_cast(faiss_IndexIDMap2_sub_index(m)) : NULL;
    float *xb = NULL;
    idx_t *ids = NULL;
    size_t n_floats = 0, n_ids = 0;
    if (f) {
        faiss_IndexFlat_xb(f, &xb, &n_floats);
        faiss_IndexIDMap2_id_map(m, &ids, &n_ids);
        if (n_floats != n_ids * (size_t)s->dim)
            f = NULL;
    }
    if (f && n_ids > 0) {
        map = malloc(sizeof *map * n_ids);
        if (!map) {
            report(c, "faiss", "out of memory comparing %zu vectors", n_ids);
            goto done;
        }
        for (size_t i = 0; i < n_ids; i++)
            map[i] = (id_row){ids[i], i};
        qsort(map, n_ids, sizeof *map, cmp_id_row);
        for (size_t i = 1; i < n_ids; i++)
            if (map[i].id == map[i - 1].id) {
                report(c, "faiss", "vector id %" PRId64 " is in the FAISS index twice",
                       (int64_t)map[i].id);
                break;
            }
    }
    if (sqlite3_prepare_v2(s->db, "SELECT id, embedding FROM vectors WHERE gen <= ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        report(c, "faiss", "cannot read vectors: %s", sqlite3_errmsg(s->db));
        goto done;
    }
    sqlite3_bind_int64(st, 1, s->index_gen);
    int rr;
    while ((rr = sqlite3_step(st)) == SQLITE_ROW) {
        n_sql++;
        if (!f)
            continue;
        id_row key = {sqlite3_column_int64(st, 0), 0};
        id_row *hit = n_ids ? bsearch(&key, map, n_ids, sizeof *map, cmp_id_row) : NULL;
        if (!hit) {
            if (first_missing < 0)
                first_missing = key.id;
            n_missing++;
            continue;
        }
        const void *blob = sqlite3_column_blob(st, 1);
        if (sqlite3_column_bytes(st, 1) != (int)sizeof(float) * s->dim || !blob ||
            memcmp(blob, xb + hit->row * (size_t)s->dim, sizeof(float) * (size_t)s->dim) != 0) {
            if (first_differ < 0)
                first_differ = key.id;
            n_differ++;
        }
    }
    if (rr != SQLITE_DONE)
        report(c, "faiss", "stopped reading vectors: %s", sqlite3_errmsg(s->db));
    if (n_sql != r->faiss_ntotal)
        report(c, "faiss", "%" PRId64 " vectors in the database, %" PRId64
               " in the FAISS index", n_sql, r->faiss_ntotal);
    if (n_missing)
        report(c, "faiss", "%" PRId64 " vector ids of the database missing from FAISS"
               " (first %" PRId64 ")", n_missing, first_missing);
    if (f && n_sql - n_missing < (int64_t)n_ids)
        report(c, "faiss", "%" PRId64 " FAISS ids with no vector row",
               (int64_t)n_ids - (n_sql - n_missing));
    if (n_differ)
        report(c, "faiss", "%" PRId64 " embeddings differ between the database and FAISS"
               " (first id %" PRId64 "): one of them was altered", n_differ, first_differ);
done:
    sqlite3_finalize(st);
    free(map);
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_unlock(&s->idx_lock);
}

static void embed_bad(void *ctx, const char *what, const char *detail)
{
    report(ctx, what, "%s", detail);
}

odx_status store_check(const char *dir,
                       void (*problem)(void *ctx, const char *what, const char *detail),
                       void *ctx, store_check_report *out, odx_err *err)
{
    store_check_report rep;
    memset(&rep, 0, sizeof rep);
    rep.faiss_ntotal = -1;
    chk c = {&rep, problem, ctx};
    odx_status rc = ODX_OK;
    sqlite3 *db = NULL;
    store *s = NULL;
    char *path = core_sprintf("%s/%s", dir, STORE_DB_NAME);
    struct stat sb;
    if (!path)
        return core_err(err, ODX_ERR_NOMEM, "out of memory");
    if (stat(path, &sb) != 0) {
        rc = core_err(err, ODX_ERR_NOT_FOUND, "no index in '%s' (no %s)", dir, STORE_DB_NAME);
        goto done;
    }
    /* Read-write only for FTS5's 'integrity-check' command (an INSERT that
     * writes nothing); the caller holds the index lock, so no writer runs. */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        report(&c, "sqlite", "cannot open '%s': %s", path, db ? sqlite3_errmsg(db) : "?");
        goto done;
    }
    sqlite3_busy_timeout(db, STORE_READER_BUSY_TIMEOUT_MS);
    pragma_msgs(&c, db, "PRAGMA integrity_check(100)", "sqlite integrity");
    if (rep.n_problems > 0 && count_of(db, "SELECT count(*) FROM sqlite_master") < 0)
        goto done; /* not even the schema reads: nothing more to learn */
    pragma_msgs(&c, db, "PRAGMA foreign_key_check", "foreign keys");
    rep.n_images = count_of(db, "SELECT count(*) FROM images");
    rep.n_captions = count_of(db, "SELECT count(*) FROM captions");
    rep.n_vectors = count_of(db, "SELECT count(*) FROM vectors");
    count_bad(&c, db,
              "SELECT count(*) FROM images i WHERE i.status='ok' AND"
              " (i.hash IS NULL OR NOT EXISTS (SELECT 1 FROM content c WHERE c.hash=i.hash))",
              "images", "indexed images whose content row is missing");
    count_bad(&c, db, "SELECT count(*) FROM images WHERE status NOT IN ('ok','error')",
              "images", "images with an unknown status");
    check_descriptions(&c, db);
    count_bad(&c, db,
              "SELECT count(*) FROM (SELECT 1 FROM vectors GROUP BY hash, field"
              " HAVING count(*) > 1)",
              "vectors", "content/field pairs with more than one vector");
    count_bad(&c, db,
              "SELECT count(*) FROM vectors v WHERE NOT EXISTS"
              " (SELECT 1 FROM content c WHERE c.hash=v.hash)",
              "vectors", "vectors of content that does not exist");
    count_bad(&c, db,
              "SELECT count(*) FROM captions k WHERE NOT EXISTS"
              " (SELECT 1 FROM content c WHERE c.hash=k.hash)",
              "captions", "captions of content that does not exist");
    int64_t dim = count_of(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key='dim'");
    if (dim <= 0 || dim > 65536)
        report(&c, "meta", "bad or missing embedding dimension (%" PRId64 ")", dim);
    else
        check_vector_rows(&c, db, (int)dim);
    odx_err fe = {0};
    if (store_fts_register(db, &fe) != ODX_OK) {
        report(&c, "fts", "cannot register the tokenizer: %s", fe.msg);
    } else {
        char *msg = NULL;
        int frc = sqlite3_exec(db, "INSERT INTO captions_fts(captions_fts) VALUES"
                                   "('integrity-check')", NULL, NULL, &msg);
        if (frc != SQLITE_OK)
            report(&c, "fts", "the full-text index does not match the captions: %s",
                   msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
    }
    sqlite3_close_v2(db);
    db = NULL;

    odx_err se = {0};
    if (store_open_ex(dir, true, STORE_OPEN_NO_QUICK_CHECK, &s, &se) != ODX_OK) {
        report(&c, "store", "cannot be opened: %s", se.msg);
        goto done;
    }
    check_faiss(&c, s);
    store_embed_check(s, embed_bad, &c);
done:
    if (db)
        sqlite3_close_v2(db);
    store_close(s);
    free(path);
    if (rc == ODX_OK && out)
        *out = rep;
    return rc;
}

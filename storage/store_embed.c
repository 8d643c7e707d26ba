/* store_embed.c - learned text vectors from a remote embeddings endpoint
 * (index --embed), one per content, beside the native ones: the table
 * embed_vectors is the truth (keyed by content hash, with the model,
 * dimension and a hash of the text embedded), the file embed.vec a cache
 * of the current model's vectors with a generation and a checksum, and
 * search an exact scan (one OpenBLAS sgemv) over that cache. */
#include "storage_int.h"

#include <cblas.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_FILE_NAME "embed.vec"
#define EMBED_MAGIC "ODXEMB01"

struct store_embed_idx {
    pthread_rwlock_t lock; /* searches read, a reload writes */
    bool loaded;
    int64_t gen;           /* meta embed_gen the arrays reflect */
    char model[STORE_EMBED_MODEL_MAX];
    int dim;
    int64_t n;
    char (*hash)[65];
    float *v;              /* n * dim, unit length */
};

/* The tables, created by a writer on open (new tables only: the older
 * ones and the schema version are not touched). A content that goes takes
 * its vector with it and moves the generation, so readers reload. */
static const char EMBED_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS embed_vectors("
    " hash TEXT PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL,"
    " text_sha TEXT NOT NULL, embedding BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TRIGGER IF NOT EXISTS embed_vectors_gc AFTER DELETE ON content"
    " WHEN EXISTS (SELECT 1 FROM embed_vectors WHERE hash = old.hash) BEGIN"
    " DELETE FROM embed_vectors WHERE hash = old.hash;"
    " INSERT INTO meta(key, value) VALUES('embed_gen', 1) ON CONFLICT(key) DO UPDATE"
    "  SET value = CAST(value AS INTEGER) + 1; END;";

static bool hash_ok(const char *h)
{
    return h && strlen(h) == 64;
}

static void idx_clear(struct store_embed_idx *x)
{
    free(x->hash);
    free(x->v);
    x->hash = NULL;
    x->v = NULL;
    x->n = 0;
    x->dim = 0;
    x->model[0] = 0;
    x->loaded = false;
}

odx_status store_embed_init(store *s, odx_err *err)
{
    struct store_embed_idx *x = calloc(1, sizeof *x);
    if (!x)
        return core_err(err, ODX_ERR_NOMEM, "no memory for the embeddings index");
    pthread_rwlock_init(&x->lock, NULL);
    s->embed = x;
    if (s->read_only)
        return ODX_OK;
    pthread_mutex_lock(&s->mu);
    odx_status rc = store_exec(s, EMBED_SCHEMA, err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void store_embed_free(store *s)
{
    if (!s || !s->embed)
        return;
    idx_clear(s->embed);
    pthread_rwlock_destroy(&s->embed->lock);
    free(s->embed);
    s->embed = NULL;
}

/* Prepared on the connection (s->mu held); records the error. */
static sqlite3_stmt *prep(store *s, const char *sql, odx_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        store_db_err(s, err, "preparing an embeddings statement");
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Whether embed_vectors exists (a reader of an index no writer of this
 * version has opened has none). s->mu held. */
static bool have_table(store *s)
{
    sqlite3_stmt *st = NULL;
    bool yes = false;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type='table'"
                                  " AND name='embed_vectors'", -1, &st, NULL) == SQLITE_OK)
        yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

/* meta text value into buf ("" when absent). s->mu held. */
static odx_status meta_text(store *s, const char *key, char *buf, size_t len, odx_err *err)
{
    buf[0] = 0;
    sqlite3_stmt *st = store_stmt(s, ST_META_GET, err);
    if (!st)
        return store_db_status(s);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    odx_status rc = ODX_OK;
    if (r == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(buf, len, "%s", t ? (const char *)t : "");
    } else if (r != SQLITE_DONE) {
        rc = store_db_err(s, err, "reading meta");
    }
    sqlite3_reset(st);
    return rc;
}

static odx_status meta_put(store *s, const char *key, const char *val, odx_err *err)
{
    sqlite3_stmt *st = store_stmt(s, ST_META_SET, err);
    if (!st)
        return store_db_status(s);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
    odx_status rc = sqlite3_step(st) == SQLITE_DONE ? ODX_OK
                                                    : store_db_err(s, err, "writing meta");
    sqlite3_reset(st);
    return rc;
}

/* The current model, dimension and generation. s->mu held. */
static odx_status current(store *s, char model[STORE_EMBED_MODEL_MAX], int *dim, int64_t *gen,
                          odx_err *err)
{
    int64_t d = 0;
    odx_status rc = meta_text(s, "embed_model", model, STORE_EMBED_MODEL_MAX, err);
    if (rc == ODX_OK)
        rc = store_meta_int(s, "embed_dim", 0, &d, err);
    if (rc == ODX_OK)
        rc = store_meta_int(s, "embed_gen", 0, gen, err);
    *dim = d > 0 && d <= STORE_EMBED_MAX_DIM ? (int)d : 0;
    return rc;
}

/* ------------------------------------------------------------ writes ---- */

void store_embed_items_free(store_embed_item *v, int n)
{
    (void)n;
    free(v);
}

odx_status store_embed_list(store *s, store_embed_item **out, int *n_out, odx_err *err)
{
    if (!s || !out || !n_out)
        return core_err(err, ODX_ERR_INVALID, "store_embed_list: bad arguments");
    *out = NULL;
    *n_out = 0;
    odx_status rc = ODX_OK;
    store_embed_item *v = NULL;
    int n = 0, cap = 0;
    pthread_mutex_lock(&s->mu);
    bool table = have_table(s);
    sqlite3_stmt *st = prep(s, table ? "SELECT c.hash, e.model, e.dim, e.text_sha FROM content c"
                                       " LEFT JOIN embed_vectors e ON e.hash = c.hash"
                                       " WHERE EXISTS (SELECT 1 FROM images i WHERE"
                                       " i.hash = c.hash AND i.status = 'ok') ORDER BY c.hash"
                                     : "SELECT c.hash, NULL, NULL, NULL FROM content c"
                                       " WHERE EXISTS (SELECT 1 FROM images i WHERE"
                                       " i.hash = c.hash AND i.status = 'ok') ORDER BY c.hash",
                            err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    for (;;) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = store_db_err(s, err, "listing content for embeddings");
            goto done;
        }
        if (n == cap) {
            int nc = cap ? cap * 2 : 64;
            store_embed_item *nv = realloc(v, sizeof *v * (size_t)nc);
            if (!nv) {
                rc = core_err(err, ODX_ERR_NOMEM, "no memory listing content");
                goto done;
            }
            v = nv;
            cap = nc;
        }
        store_embed_item *it = &v[n];
        memset(it, 0, sizeof *it);
        const unsigned char *h = sqlite3_column_text(st, 0);
        snprintf(it->hash, sizeof it->hash, "%s", h ? (const char *)h : "");
        it->has = sqlite3_column_type(st, 1) != SQLITE_NULL;
        if (it->has) {
            snprintf(it->model, sizeof it->model, "%s", sqlite3_column_text(st, 1));
            it->dim = sqlite3_column_int(st, 2);
            snprintf(it->text_sha, sizeof it->text_sha, "%s", sqlite3_column_text(st, 3));
        }
        if (hash_ok(it->hash))
            n++;
    }
done:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *n_out = n;
    return ODX_OK;
}

odx_status store_embed_current(store *s, char model[STORE_EMBED_MODEL_MAX], int *dim,
                               odx_err *err)
{
    if (!s || !model || !dim)
        return core_err(err, ODX_ERR_INVALID, "store_embed_current: bad arguments");
    int64_t gen;
    pthread_mutex_lock(&s->mu);
    odx_status rc = current(s, model, dim, &gen, err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

odx_status store_embed_put(store *s, const char *model, int dim, const char *const *hashes,
                           const char *const *text_shas, const float *v, int n, odx_err *err)
{
    if (!s || !model || !*model || strlen(model) >= STORE_EMBED_MODEL_MAX || dim < 1 ||
        dim > STORE_EMBED_MAX_DIM || n < 0 || (n > 0 && (!hashes || !text_shas || !v)))
        return core_err(err, ODX_ERR_INVALID, "store_embed_put: bad arguments");
    if (s->read_only)
        return core_err(err, ODX_ERR_INVALID, "store '%s' is open read-only", s->dir);
    for (int i = 0; i < n; i++)
        if (!hash_ok(hashes[i]) || !text_shas[i])
            return core_err(err, ODX_ERR_INVALID, "store_embed_put: bad content hash");
    float *unit = malloc(sizeof *unit * (size_t)dim);
    if (!unit)
        return core_err(err, ODX_ERR_NOMEM, "no memory for a vector");
    odx_status rc = ODX_OK;
    sqlite3_stmt *ins = NULL, *drop = NULL;
    pthread_mutex_lock(&s->mu);
    if (!s->in_txn) {
        pthread_mutex_unlock(&s->mu);
        free(unit);
        return core_err(err, ODX_ERR_INVALID, "store_embed_put: no batch open (store_begin)");
    }
    if ((rc = store_exec(s, "SAVEPOINT store_embed", err)) != ODX_OK)
        goto out;
    char cur[STORE_EMBED_MODEL_MAX];
    int cur_dim = 0;
    int64_t gen = 0;
    if ((rc = current(s, cur, &cur_dim, &gen, err)) != ODX_OK)
        goto undo;
    if (strcmp(cur, model) != 0 || cur_dim != dim) {
        /* another model or dimension: the old vectors cannot answer its
         * queries; they go now, with the first batch that replaces them */
        char d[16];
        snprintf(d, sizeof d, "%d", dim);
        if (!(drop = prep(s, "DELETE FROM embed_vectors WHERE model <> ?1 OR dim <> ?2", err))) {
            rc = store_db_status(s);
            goto undo;
        }
        sqlite3_bind_text(drop, 1, model, -1, SQLITE_STATIC);
        sqlite3_bind_int(drop, 2, dim);
        if (sqlite3_step(drop) != SQLITE_DONE) {
            rc = store_db_err(s, err, "dropping vectors of another embedding model");
            goto undo;
        }
        if (cur[0])
            core_log(CORE_LOG_INFO, "%s: embeddings were '%s' (%d), now '%s' (%d): %d old"
                                    " vectors dropped, re-embedding from stored captions",
                     s->dir, cur, cur_dim, model, dim, sqlite3_changes(s->db));
        if ((rc = meta_put(s, "embed_model", model, err)) != ODX_OK ||
            (rc = meta_put(s, "embed_dim", d, err)) != ODX_OK)
            goto undo;
    }
    if (!(ins = prep(s, "INSERT INTO embed_vectors(hash, model, dim, text_sha, embedding)"
                        " SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS"
                        " (SELECT 1 FROM content WHERE hash = ?1)"
                        " ON CONFLICT(hash) DO UPDATE SET model = excluded.model,"
                        " dim = excluded.dim, text_sha = excluded.text_sha,"
                        " embedding = excluded.embedding",
                     err))) {
        rc = store_db_status(s);
        goto undo;
    }
    for (int i = 0; i < n; i++) {
        const float *x = v + (size_t)i * (size_t)dim;
        double norm = 0;
        for (int j = 0; j < dim; j++)
            norm += (double)x[j] * x[j];
        norm = sqrt(norm);
        if (!(norm > 0) || !isfinite(norm)) {
            rc = core_err(err, ODX_ERR_INVALID, "store_embed_put: vector %d is not usable", i);
            goto undo;
        }
        for (int j = 0; j < dim; j++)
            unit[j] = (float)(x[j] / norm);
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, hashes[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, model, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 3, dim);
        sqlite3_bind_text(ins, 4, text_shas[i], -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 5, unit, (int)(sizeof *unit * (size_t)dim), SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = store_db_err(s, err, "writing an embedding");
            goto undo;
        }
    }
    rc = store_meta_set_int(s, "embed_gen", gen + 1, err);
undo:
    if (rc == ODX_OK) {
        rc = store_exec(s, "RELEASE store_embed", err);
    } else {
        sqlite3_exec(s->db, "ROLLBACK TO store_embed", NULL, NULL, NULL);
        sqlite3_exec(s->db, "RELEASE store_embed", NULL, NULL, NULL);
    }
out:
    sqlite3_finalize(ins);
    sqlite3_finalize(drop);
    pthread_mutex_unlock(&s->mu);
    free(unit);
    return rc;
}

odx_status store_embed_vector(store *s, const char *hash, float **v, int *dim, odx_err *err)
{
    if (!s || !hash_ok(hash) || !v || !dim)
        return core_err(err, ODX_ERR_INVALID, "store_embed_vector: bad arguments");
    *v = NULL;
    *dim = 0;
    odx_status rc = ODX_OK;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = have_table(s) ? prep(s, "SELECT dim, embedding FROM embed_vectors"
                                               " WHERE hash = ?1", err)
                                     : NULL;
    if (!st)
        goto done;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        int d = sqlite3_column_int(st, 0);
        const void *b = sqlite3_column_blob(st, 1);
        if (d < 1 || d > STORE_EMBED_MAX_DIM || !b ||
            (size_t)sqlite3_column_bytes(st, 1) != sizeof(float) * (size_t)d) {
            rc = core_err(err, ODX_ERR_CORRUPT, "%s: the embedding of %s is damaged (run"
                                                " 'omnidex check')", s->dir, hash);
        } else if (!(*v = malloc(sizeof(float) * (size_t)d))) {
            rc = core_err(err, ODX_ERR_NOMEM, "no memory for a vector");
        } else {
            memcpy(*v, b, sizeof(float) * (size_t)d);
            *dim = d;
        }
    } else if (r != SQLITE_DONE) {
        rc = store_db_err(s, err, "reading an embedding");
    }
done:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

odx_status store_embed_copy(store *to, store *from, odx_err *err)
{
    if (!to || !from || to->read_only)
        return core_err(err, ODX_ERR_INVALID, "store_embed_copy: bad arguments");
    char model[STORE_EMBED_MODEL_MAX];
    int dim = 0;
    int64_t gen = 0, n = 0, cap = 0;
    char(*hash)[65] = NULL, (*sha)[STORE_EMBED_SHA_LEN + 1] = NULL;
    float *v = NULL;
    odx_status rc = ODX_OK;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&from->mu);
    if (!have_table(from) || (rc = current(from, model, &dim, &gen, err)) != ODX_OK ||
        !model[0] || dim <= 0) {
        pthread_mutex_unlock(&from->mu);
        return rc;
    }
    if (!(st = prep(from, "SELECT hash, text_sha, embedding FROM embed_vectors"
                          " WHERE model = ?1 AND dim = ?2", err))) {
        rc = store_db_status(from);
        goto read_done;
    }
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, dim);
    size_t row = sizeof(float) * (size_t)dim;
    for (;;) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = store_db_err(from, err, "reading embeddings to copy");
            goto read_done;
        }
        const unsigned char *h = sqlite3_column_text(st, 0), *t = sqlite3_column_text(st, 1);
        const void *b = sqlite3_column_blob(st, 2);
        if (!h || !hash_ok((const char *)h) || !t || !b ||
            (size_t)sqlite3_column_bytes(st, 2) != row)
            continue; /* a damaged row is not copied: the next run re-embeds it */
        if (n == cap) {
            int64_t nc = cap ? cap * 2 : 256;
            char(*nh)[65] = realloc(hash, sizeof *nh * (size_t)nc);
            if (nh)
                hash = nh;
            char(*ns)[STORE_EMBED_SHA_LEN + 1] = nh ? realloc(sha, sizeof *ns * (size_t)nc) : NULL;
            if (ns)
                sha = ns;
            float *nv = ns ? realloc(v, row * (size_t)nc) : NULL;
            if (!nv) {
                rc = core_err(err, ODX_ERR_NOMEM, "no memory copying embeddings");
                goto read_done;
            }
            v = nv;
            cap = nc;
        }
        memcpy(hash[n], h, 65);
        snprintf(sha[n], sizeof sha[n], "%s", (const char *)t);
        memcpy(v + (size_t)n * (size_t)dim, b, row);
        n++;
    }
read_done:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&from->mu);
    const char **hp = NULL, **sp = NULL;
    if (rc == ODX_OK && n > 0) {
        hp = malloc(sizeof *hp * (size_t)n);
        sp = malloc(sizeof *sp * (size_t)n);
        if (!hp || !sp) {
            rc = core_err(err, ODX_ERR_NOMEM, "no memory copying embeddings");
        } else {
            for (int64_t i = 0; i < n; i++) {
                hp[i] = hash[i];
                sp[i] = sha[i];
            }
            rc = store_embed_put(to, model, dim, hp, sp, v, (int)n, err);
        }
    }
    free(hp);
    free(sp);
    free(hash);
    free(sha);
    free(v);
    return rc;
}

odx_status store_embed_note(store *s, const char *msg, odx_err *err)
{
    if (!s || s->read_only)
        return core_err(err, ODX_ERR_INVALID, "store_embed_note: no writer");
    pthread_mutex_lock(&s->mu);
    odx_status rc = meta_put(s, "embed_error", msg ? msg : "", err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ------------------------------------------------------------- cache ---- */

/* The current model's vectors from the table, in one read snapshot.
 * s->mu held. */
static odx_status load_sql(store *s, struct store_embed_idx *x, odx_err *err)
{
    odx_status rc = ODX_OK;
    bool own_read = !s->in_txn;
    sqlite3_stmt *st = NULL;
    if (own_read && (rc = store_exec(s, "BEGIN", err)) != ODX_OK)
        return rc;
    idx_clear(x);
    if ((rc = current(s, x->model, &x->dim, &x->gen, err)) != ODX_OK)
        goto done;
    if (!x->model[0] || x->dim <= 0 || !have_table(s))
        goto done;
    if (!(st = prep(s, "SELECT hash, embedding FROM embed_vectors WHERE model = ?1 AND dim = ?2"
                       " ORDER BY hash", err))) {
        rc = store_db_status(s);
        goto done;
    }
    sqlite3_bind_text(st, 1, x->model, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, x->dim);
    int64_t cap = 0;
    size_t row = sizeof(float) * (size_t)x->dim;
    for (;;) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = store_db_err(s, err, "reading embeddings");
            goto done;
        }
        const unsigned char *h = sqlite3_column_text(st, 0);
        const void *b = sqlite3_column_blob(st, 1);
        if (!h || !hash_ok((const char *)h) || !b || (size_t)sqlite3_column_bytes(st, 1) != row) {
            rc = core_err(err, ODX_ERR_CORRUPT, "%s: an embedding row of '%s' is not %d floats"
                                                " (the database is damaged: run 'omnidex check')",
                          s->dir, x->model, x->dim);
            goto done;
        }
        if (x->n == cap) {
            int64_t nc = cap ? cap * 2 : 256;
            char(*nh)[65] = realloc(x->hash, sizeof *nh * (size_t)nc);
            if (nh)
                x->hash = nh;
            float *nv = nh ? realloc(x->v, row * (size_t)nc) : NULL;
            if (!nv) {
                rc = core_err(err, ODX_ERR_NOMEM, "no memory for the embeddings");
                goto done;
            }
            x->v = nv;
            cap = nc;
        }
        memcpy(x->hash[x->n], h, 65);
        memcpy(x->v + (size_t)x->n * (size_t)x->dim, b, row);
        x->n++;
    }
done:
    sqlite3_finalize(st);
    if (own_read)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != ODX_OK)
        idx_clear(x);
    else
        x->loaded = true;
    return rc;
}

/* The file: magic, generation, count, dimension, model length, checksum
 * of what follows the header, the model name, the hashes (64 bytes
 * each), the floats. */
typedef struct file_head {
    char magic[8];
    int64_t gen, n;
    int32_t dim, model_len;
    uint64_t sum;
} file_head;

static char *file_path(const store *s)
{
    return core_sprintf("%s/%s", s->dir, EMBED_FILE_NAME);
}

/* Loads the file when it is the generation, model and dimension asked
 * for and intact; false (why says what) otherwise. */
static bool load_file(store *s, struct store_embed_idx *x, int64_t gen, const char *model,
                      int dim, char *why, size_t why_len)
{
    why[0] = 0;
    char *path = file_path(s);
    uint8_t *data = NULL;
    size_t len = 0;
    bool ok = false;
    odx_err e = {0};
    if (!path)
        goto done;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno != ENOENT)
            snprintf(why, why_len, "%s: %s", path, strerror(errno));
        goto done;
    }
    fclose(f);
    if (core_read_file(path, (int64_t)1 << 36, &data, &len, &e) != ODX_OK) {
        snprintf(why, why_len, "%.200s", e.msg);
        goto done;
    }
    file_head h;
    if (len < sizeof h) {
        snprintf(why, why_len, "%s: too short", path);
        goto done;
    }
    memcpy(&h, data, sizeof h);
    size_t ml = strlen(model);
    if (memcmp(h.magic, EMBED_MAGIC, 8) != 0 || h.dim != dim || h.n < 0 ||
        h.model_len != (int32_t)ml) {
        snprintf(why, why_len, "%s: not this index's vectors", path);
        goto done;
    }
    if (h.gen != gen) {
        snprintf(why, why_len, "%s: generation %" PRId64 ", the index is at %" PRId64, path,
                 h.gen, gen);
        goto done;
    }
    size_t want = sizeof h + ml + (size_t)h.n * 64 + (size_t)h.n * (size_t)dim * sizeof(float);
    if (len != want || memcmp(data + sizeof h, model, ml) != 0) {
        snprintf(why, why_len, "%s: wrong size or model", path);
        goto done;
    }
    store_sum c;
    store_sum_init(&c);
    store_sum_update(&c, data + sizeof h, len - sizeof h);
    if (store_sum_final(&c) != h.sum) {
        snprintf(why, why_len, "%s: checksum mismatch", path);
        goto done;
    }
    idx_clear(x);
    x->hash = malloc(sizeof *x->hash * (size_t)(h.n ? h.n : 1));
    x->v = malloc(sizeof(float) * (size_t)(h.n ? h.n : 1) * (size_t)dim);
    if (!x->hash || !x->v) {
        idx_clear(x);
        snprintf(why, why_len, "no memory");
        goto done;
    }
    const uint8_t *p = data + sizeof h + ml;
    for (int64_t i = 0; i < h.n; i++) {
        memcpy(x->hash[i], p + i * 64, 64);
        x->hash[i][64] = 0;
    }
    memcpy(x->v, p + h.n * 64, sizeof(float) * (size_t)h.n * (size_t)dim);
    x->n = h.n;
    x->dim = dim;
    x->gen = gen;
    snprintf(x->model, sizeof x->model, "%s", model);
    x->loaded = true;
    ok = true;
done:
    free(data);
    free(path);
    return ok;
}

static odx_status write_file(store *s, const struct store_embed_idx *x, odx_err *err)
{
    size_t ml = strlen(x->model);
    size_t len = sizeof(file_head) + ml + (size_t)x->n * 64 +
                 (size_t)x->n * (size_t)x->dim * sizeof(float);
    uint8_t *buf = malloc(len);
    char *path = file_path(s);
    odx_status rc;
    if (!buf || !path) {
        rc = core_err(err, ODX_ERR_NOMEM, "no memory for the embeddings file");
        goto done;
    }
    file_head h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, EMBED_MAGIC, 8);
    h.gen = x->gen;
    h.n = x->n;
    h.dim = x->dim;
    h.model_len = (int32_t)ml;
    uint8_t *p = buf + sizeof h;
    memcpy(p, x->model, ml);
    p += ml;
    for (int64_t i = 0; i < x->n; i++)
        memcpy(p + i * 64, x->hash[i], 64);
    p += x->n * 64;
    if (x->n)
        memcpy(p, x->v, sizeof(float) * (size_t)x->n * (size_t)x->dim);
    store_sum c;
    store_sum_init(&c);
    store_sum_update(&c, buf + sizeof h, len - sizeof h);
    h.sum = store_sum_final(&c);
    memcpy(buf, &h, sizeof h);
    rc = core_write_atomic(path, buf, len, err);
done:
    free(buf);
    free(path);
    return rc;
}

/* Whether the file's header names this generation, model and dimension
 * (a cheap test for the writer: readers check the checksum). */
static bool file_current(store *s, int64_t gen, const char *model, int dim)
{
    char *path = file_path(s);
    FILE *f = path ? fopen(path, "rb") : NULL;
    free(path);
    if (!f)
        return false;
    file_head h;
    char m[STORE_EMBED_MODEL_MAX];
    size_t ml = strlen(model);
    bool ok = fread(&h, sizeof h, 1, f) == 1 && memcmp(h.magic, EMBED_MAGIC, 8) == 0 &&
              h.gen == gen && h.dim == dim && h.model_len == (int32_t)ml &&
              ml < sizeof m && fread(m, 1, ml, f) == ml && memcmp(m, model, ml) == 0;
    fclose(f);
    return ok;
}

odx_status store_embed_save(store *s, odx_err *err)
{
    if (!s || !s->embed || s->read_only)
        return core_err(err, ODX_ERR_INVALID, "store_embed_save: no writer");
    struct store_embed_idx *x = s->embed;
    char model[STORE_EMBED_MODEL_MAX];
    int dim = 0;
    int64_t gen = 0;
    pthread_mutex_lock(&s->mu);
    odx_status rc = current(s, model, &dim, &gen, err);
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK || !model[0] || dim <= 0)
        return rc;
    /* the file says this state already and is intact (its checksum read
     * through): leave it, and keep what was read */
    pthread_rwlock_wrlock(&x->lock);
    char why[600];
    if (file_current(s, gen, model, dim) && load_file(s, x, gen, model, dim, why, sizeof why)) {
        pthread_rwlock_unlock(&x->lock);
        return ODX_OK;
    }
    pthread_mutex_lock(&s->mu);
    rc = load_sql(s, x, err);
    pthread_mutex_unlock(&s->mu);
    if (rc == ODX_OK && x->model[0] && x->dim > 0)
        rc = write_file(s, x, err);
    pthread_rwlock_unlock(&x->lock);
    return rc;
}

/* Brings the cache to the database's generation: the file when it is
 * current, else the table (a reader then says why, once per reload). */
static odx_status sync_idx(store *s, odx_err *err)
{
    struct store_embed_idx *x = s->embed;
    char model[STORE_EMBED_MODEL_MAX];
    int dim = 0;
    int64_t gen = 0;
    pthread_mutex_lock(&s->mu);
    odx_status rc = current(s, model, &dim, &gen, err);
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK)
        return rc;
    pthread_rwlock_rdlock(&x->lock);
    bool fresh = x->loaded && x->gen == gen && x->dim == dim && !strcmp(x->model, model);
    pthread_rwlock_unlock(&x->lock);
    if (fresh)
        return ODX_OK;
    pthread_rwlock_wrlock(&x->lock);
    char why[600] = "";
    if (x->loaded && x->gen == gen && x->dim == dim && !strcmp(x->model, model)) {
        /* another search reloaded it meanwhile */
    } else if (!model[0] || dim <= 0) {
        idx_clear(x);
        x->gen = gen;
        x->loaded = true;
    } else if (!load_file(s, x, gen, model, dim, why, sizeof why)) {
        /* behind or of the previous model is normal while a writer runs;
         * damaged is worth a word */
        bool damaged = strstr(why, ": checksum mismatch") || strstr(why, ": wrong size") ||
                       strstr(why, ": too short");
        if (why[0])
            core_log(damaged ? CORE_LOG_WARN : CORE_LOG_INFO,
                     "embeddings file: %s: reading the vectors from the database", why);
        pthread_mutex_lock(&s->mu);
        rc = load_sql(s, x, err);
        pthread_mutex_unlock(&s->mu);
    }
    pthread_rwlock_unlock(&x->lock);
    return rc;
}

/* ------------------------------------------------------------ search ---- */

typedef struct top_item {
    float v;
    int64_t i;
} top_item;

/* a worse b: lower score, or equal score and later row (the heap's top
 * is the worst kept) */
static bool worse(const top_item *a, const top_item *b)
{
    return a->v < b->v || (a->v == b->v && a->i > b->i);
}

static void sift_down(top_item *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[l], &h[m]))
            m = l;
        if (r < n && worse(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        top_item t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int cmp_top(const void *a, const void *b)
{
    const top_item *x = a, *y = b;
    return worse(x, y) ? 1 : worse(y, x) ? -1 : 0;
}

odx_status store_embed_search(store *s, const char *model, const float *q, int dim, int k,
                              store_hit **hits, int *n_out, odx_err *err)
{
    if (!s || !s->embed || !model || !q || dim < 1 || k < 1 || !hits || !n_out)
        return core_err(err, ODX_ERR_INVALID, "store_embed_search: bad arguments");
    *hits = NULL;
    *n_out = 0;
    if (k > STORE_MAX_K)
        k = STORE_MAX_K;
    odx_status rc = sync_idx(s, err);
    if (rc != ODX_OK)
        return rc;
    struct store_embed_idx *x = s->embed;
    pthread_rwlock_rdlock(&x->lock);
    float *qn = NULL, *scores = NULL;
    top_item *h = NULL;
    if (strcmp(x->model, model) != 0 || x->dim != dim) {
        rc = core_err(err, ODX_ERR_INVALID,
                      "the index holds embeddings of '%s' (%d dimensions), not '%s' (%d)",
                      x->model[0] ? x->model : "no model", x->dim, model, dim);
        goto done;
    }
    if (x->n == 0)
        goto done;
    double norm = 0;
    for (int j = 0; j < dim; j++)
        norm += (double)q[j] * q[j];
    norm = sqrt(norm);
    qn = malloc(sizeof *qn * (size_t)dim);
    scores = malloc(sizeof *scores * (size_t)x->n);
    int kk = (int64_t)k < x->n ? k : (int)x->n;
    h = malloc(sizeof *h * (size_t)kk);
    if (!qn || !scores || !h) {
        rc = core_err(err, ODX_ERR_NOMEM, "no memory for the search");
        goto done;
    }
    if (!(norm > 0) || !isfinite(norm)) {
        rc = core_err(err, ODX_ERR_INVALID, "the query's embedding is zero or not finite");
        goto done;
    }
    for (int j = 0; j < dim; j++)
        qn[j] = (float)(q[j] / norm);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)x->n, dim, 1.0f, x->v, dim, qn, 1, 0.0f,
                scores, 1);
    int m = 0;
    for (int64_t i = 0; i < x->n; i++) {
        top_item t = {scores[i], i};
        if (m < kk) {
            h[m++] = t;
            if (m == kk)
                for (int j = kk / 2 - 1; j >= 0; j--)
                    sift_down(h, kk, j);
        } else if (worse(&h[0], &t)) {
            h[0] = t;
            sift_down(h, kk, 0);
        }
    }
    qsort(h, (size_t)m, sizeof *h, cmp_top);
    store_hit *out = calloc((size_t)m, sizeof *out);
    if (!out) {
        rc = core_err(err, ODX_ERR_NOMEM, "no memory for the hits");
        goto done;
    }
    for (int i = 0; i < m; i++) {
        memcpy(out[i].hash, x->hash[h[i].i], 65);
        snprintf(out[i].field, sizeof out[i].field, "embed");
        out[i].score = h[i].v;
    }
    *hits = out;
    *n_out = m;
done:
    pthread_rwlock_unlock(&x->lock);
    free(qn);
    free(scores);
    free(h);
    return rc;
}

odx_status store_embed_stats_get(store *s, store_embed_stats *st, odx_err *err)
{
    if (!s || !st)
        return core_err(err, ODX_ERR_INVALID, "store_embed_stats_get: bad arguments");
    memset(st, 0, sizeof *st);
    int64_t gen = 0;
    odx_status rc = ODX_OK;
    pthread_mutex_lock(&s->mu);
    if (!have_table(s))
        goto done;
    if ((rc = current(s, st->model, &st->dim, &gen, err)) != ODX_OK ||
        (rc = meta_text(s, "embed_error", st->last_error, sizeof st->last_error, err)) != ODX_OK)
        goto done;
    sqlite3_stmt *q = prep(s, "SELECT count(*), coalesce(sum(model = ?1 AND dim = ?2), 0)"
                              " FROM embed_vectors", err);
    if (!q) {
        rc = store_db_status(s);
        goto done;
    }
    sqlite3_bind_text(q, 1, st->model, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, st->dim);
    if (sqlite3_step(q) == SQLITE_ROW) {
        st->n_rows = sqlite3_column_int64(q, 0);
        st->n_current = sqlite3_column_int64(q, 1);
    } else {
        rc = store_db_err(s, err, "counting embeddings");
    }
    sqlite3_finalize(q);
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ------------------------------------------------------------- check ---- */

void store_embed_check(store *s, void (*bad)(void *ctx, const char *what, const char *detail),
                       void *ctx)
{
    char msg[700], model[STORE_EMBED_MODEL_MAX];
    int dim = 0;
    int64_t gen = 0;
    odx_err e = {0};
    pthread_mutex_lock(&s->mu);
    bool table = have_table(s);
    odx_status rc = table ? current(s, model, &dim, &gen, &e) : ODX_OK;
    pthread_mutex_unlock(&s->mu);
    if (!table)
        return;
    if (rc != ODX_OK) {
        snprintf(msg, sizeof msg, "cannot read the current model: %.500s", e.msg);
        bad(ctx, "embed vectors", msg);
        return;
    }
    int64_t other = 0, size = 0, nonfinite = 0, norm = 0, orphans = 0, rows = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = prep(s, "SELECT e.model, e.dim, e.embedding,"
                               " EXISTS (SELECT 1 FROM content c WHERE c.hash = e.hash)"
                               " FROM embed_vectors e", &e);
    int r = SQLITE_DONE;
    while (st && (r = sqlite3_step(st)) == SQLITE_ROW) {
        rows++;
        const char *m = (const char *)sqlite3_column_text(st, 0);
        int d = sqlite3_column_int(st, 1);
        const float *v = sqlite3_column_blob(st, 2);
        int bytes = sqlite3_column_bytes(st, 2);
        orphans += !sqlite3_column_int(st, 3);
        if (!m || strcmp(m, model) != 0 || d != dim)
            other++;
        if (d <= 0 || d > STORE_EMBED_MAX_DIM || !v || bytes != d * (int)sizeof(float)) {
            size++;
            continue;
        }
        double ss = 0;
        bool fin = true;
        for (int i = 0; i < d; i++) {
            float x;
            memcpy(&x, (const char *)v + (size_t)i * sizeof x, sizeof x);
            fin = fin && isfinite(x);
            ss += (double)x * x;
        }
        if (!fin)
            nonfinite++;
        else if (fabs(sqrt(ss) - 1.0) > 1e-3)
            norm++;
    }
    if (!st || r != SQLITE_DONE) {
        snprintf(msg, sizeof msg, "cannot read: %.500s", st ? sqlite3_errmsg(s->db) : e.msg);
        bad(ctx, "embed vectors", msg);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    struct {
        int64_t n;
        const char *what;
    } kinds[] = {
        {other, "of another model or dimension than the current one"},
        {size, "whose embedding is not dim floats"},
        {nonfinite, "with non-finite values"},
        {norm, "not of unit length"},
        {orphans, "of content that does not exist"},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (kinds[k].n) {
            snprintf(msg, sizeof msg, "%" PRId64 " of %" PRId64 " rows %s (model '%.128s', dim %d)",
                     kinds[k].n, rows, kinds[k].what, model, dim);
            bad(ctx, "embed vectors", msg);
        }
    if (!model[0] || dim <= 0 || size || !file_current(s, gen, model, dim))
        return; /* no file, or a stale one: readers use the table (rows of
                   the wrong size, reported, stop a comparison) */
    struct store_embed_idx f = {0}, t = {0};
    char why[600];
    char *path = file_path(s);
    if (!load_file(s, &f, gen, model, dim, why, sizeof why)) {
        snprintf(msg, sizeof msg, "%.600s (the next index run rewrites it from the database)",
                 why);
        bad(ctx, "embed file", msg);
    } else {
        pthread_mutex_lock(&s->mu);
        rc = load_sql(s, &t, &e);
        pthread_mutex_unlock(&s->mu);
        int64_t differ = 0;
        if (rc == ODX_OK && t.n == f.n) {
            for (int64_t i = 0; i < t.n; i++)
                differ += strcmp(t.hash[i], f.hash[i]) != 0 ||
                          memcmp(t.v + i * dim, f.v + i * dim, sizeof(float) * (size_t)dim) != 0;
        }
        if (rc != ODX_OK) {
            snprintf(msg, sizeof msg, "cannot read the table: %.500s", e.msg);
            bad(ctx, "embed vectors", msg);
        } else if (t.n != f.n || differ) {
            snprintf(msg, sizeof msg, "%.300s says it is current (generation %" PRId64
                     ") but holds %" PRId64 " vectors, the table %" PRId64 ", %" PRId64
                     " differing (the next index run rewrites it)",
                     path ? path : EMBED_FILE_NAME, gen, f.n, t.n, differ);
            bad(ctx, "embed file", msg);
        }
    }
    free(path);
    idx_clear(&f);
    idx_clear(&t);
}

/* store_write.c - rows the indexer writes and reads back: images, content
 * (description, captions + FTS via triggers, vectors + tombstones), roots.
 * Each write is a savepoint inside the caller's batch, so one failed file
 * leaves the batch as it was before the call. */
#include "storage_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXTS 4096
#define MAX_VECS 4096
#define MAX_PATH_BYTES 65536

/* ------------------------------------------------------------ helpers ---- */

static bool valid_hash(const char *h)
{
    if (!h || !*h)
        return false;
    size_t n = 0;
    for (const char *p = h; *p; p++, n++)
        if (n >= STORE_MAX_HASH || *p <= ' ' || *p > '~')
            return false;
    return true;
}

static bool valid_path(const char *p)
{
    return p && *p && strlen(p) <= MAX_PATH_BYTES;
}

/* Locks mu and makes sure a batch is open (its own when the caller has
 * none), then sets a savepoint for this one call. */
static odx_status w_enter(store *s, bool *own, odx_err *err)
{
    *own = false;
    if (s->read_only)
        return core_err(err, ODX_ERR_INVALID, "store '%s' is open read-only", s->dir);
    pthread_mutex_lock(&s->mu);
    odx_status rc = ODX_OK;
    if (!s->in_txn) {
        if ((rc = store_begin_locked(s, err)) != ODX_OK)
            goto fail;
        *own = true;
    }
    if ((rc = store_exec(s, "SAVEPOINT store_w", err)) == ODX_OK)
        return ODX_OK;
    if (*own) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->in_txn = false;
        *own = false;
    }
fail:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Ends the call started by a successful w_enter; returns the final status. */
static odx_status w_leave(store *s, bool own, odx_status rc, odx_err *err)
{
    if (rc == ODX_OK) {
        rc = store_exec(s, "RELEASE store_w", err);
    } else {
        sqlite3_exec(s->db, "ROLLBACK TO store_w", NULL, NULL, NULL);
        sqlite3_exec(s->db, "RELEASE store_w", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&s->mu);
    if (own) {
        if (rc == ODX_OK)
            rc = store_commit(s, err);
        else
            store_rollback(s);
    }
    return rc;
}

static odx_status step_done(store *s, sqlite3_stmt *st, const char *what, odx_err *err)
{
    int r = sqlite3_step(st);
    odx_status rc = ODX_OK;
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        rc = store_db_err(s, err, what);
    sqlite3_reset(st);
    return rc;
}

static char *col_dup_blob(sqlite3_stmt *st, int i)
{
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    char *out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    if (n > 0)
        memcpy(out, p, (size_t)n);
    out[n] = 0;
    return out;
}

static char *col_dup_text(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const char *p = (const char *)sqlite3_column_text(st, i);
    return core_strdup(p ? p : "");
}

/* ------------------------------------------------------------- images ---- */

void store_image_clear(store_image *im)
{
    if (!im)
        return;
    free(im->path);
    free(im->err_stage);
    free(im->err_reason);
    memset(im, 0, sizeof *im);
}

/* Columns: id, path, size, mtime_ns, hash, status, err_stage, err_reason. */
static odx_status image_from_row(sqlite3_stmt *st, store_image *im, odx_err *err)
{
    memset(im, 0, sizeof *im);
    im->id = sqlite3_column_int64(st, 0);
    im->path = col_dup_blob(st, 1);
    im->size = sqlite3_column_int64(st, 2);
    im->mtime_ns = sqlite3_column_int64(st, 3);
    const char *h = (const char *)sqlite3_column_text(st, 4);
    snprintf(im->hash, sizeof im->hash, "%s", h ? h : "");
    const char *status = (const char *)sqlite3_column_text(st, 5);
    im->ok = status && strcmp(status, "ok") == 0;
    im->err_stage = col_dup_text(st, 6);
    im->err_reason = col_dup_text(st, 7);
    if (!im->path || (sqlite3_column_type(st, 6) != SQLITE_NULL && !im->err_stage) ||
        (sqlite3_column_type(st, 7) != SQLITE_NULL && !im->err_reason)) {
        store_image_clear(im);
        return core_err(err, ODX_ERR_NOMEM, "out of memory");
    }
    return ODX_OK;
}

odx_status store_image_get(store *s, const char *path, store_image *out, bool *found,
                           odx_err *err)
{
    if (!s || !valid_path(path) || !out || !found)
        return core_err(err, ODX_ERR_INVALID, "store_image_get: bad arguments");
    odx_status rc = ODX_OK;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = store_stmt(s, ST_IMAGE_GET, err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    sqlite3_bind_blob(st, 1, path, (int)strlen(path), SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        store_image im;
        if ((rc = image_from_row(st, &im, err)) == ODX_OK) {
            *out = im;
            *found = true;
        }
    } else if (r == SQLITE_DONE) {
        *found = false;
    } else {
        rc = store_db_err(s, err, "reading image");
    }
    sqlite3_reset(st);
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

odx_status store_image_put_ok(store *s, const char *path, int64_t size, int64_t mtime_ns,
                              const char *hash, odx_err *err)
{
    if (!s || !valid_path(path) || !valid_hash(hash))
        return core_err(err, ODX_ERR_INVALID, "store_image_put_ok: bad path or hash");
    bool own;
    odx_status rc = w_enter(s, &own, err);
    if (rc != ODX_OK)
        return rc;
    sqlite3_stmt *st = store_stmt(s, ST_IMAGE_PUT_OK, err);
    if (!st) {
        rc = store_db_status(s);
    } else {
        sqlite3_bind_blob(st, 1, path, (int)strlen(path), SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, size);
        sqlite3_bind_int64(st, 3, mtime_ns);
        sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
        rc = step_done(s, st, "writing image", err);
    }
    return w_leave(s, own, rc, err);
}

odx_status store_image_put_error(store *s, const char *path, int64_t size,
                                 int64_t mtime_ns, const char *stage, const char *reason,
                                 odx_err *err)
{
    if (!s || !valid_path(path))
        return core_err(err, ODX_ERR_INVALID, "store_image_put_error: bad path");
    bool own;
    odx_status rc = w_enter(s, &own, err);
    if (rc != ODX_OK)
        return rc;
    sqlite3_stmt *st = store_stmt(s, ST_IMAGE_PUT_ERR, err);
    if (!st) {
        rc = store_db_status(s);
    } else {
        sqlite3_bind_blob(st, 1, path, (int)strlen(path), SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, size);
        sqlite3_bind_int64(st, 3, mtime_ns);
        sqlite3_bind_text(st, 4, stage ? stage : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, reason ? reason : "", -1, SQLITE_STATIC);
        rc = step_done(s, st, "writing image error", err);
    }
    return w_leave(s, own, rc, err);
}

odx_status store_image_delete(store *s, int64_t id, odx_err *err)
{
    if (!s)
        return core_err(err, ODX_ERR_INVALID, "store_image_delete: no store");
    bool own;
    odx_status rc = w_enter(s, &own, err);
    if (rc != ODX_OK)
        return rc;
    sqlite3_stmt *st = store_stmt(s, ST_IMAGE_DEL, err);
    if (!st) {
        rc = store_db_status(s);
    } else {
        sqlite3_bind_int64(st, 1, id);
        rc = step_done(s, st, "deleting image", err);
    }
    return w_leave(s, own, rc, err);
}

odx_status store_images_each(store *s, int (*fn)(void *ctx, const store_image *im),
                             void *ctx, odx_err *err)
{
    if (!s || !fn)
        return core_err(err, ODX_ERR_INVALID, "store_images_each: bad arguments");
    /* A private statement, and mu is not held while fn runs, so fn may
     * call reading store functions. */
    sqlite3_stmt *st = NULL;
    odx_status rc = ODX_OK;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id,path,size,mtime_ns,hash,status,err_stage,err_reason"
                           " FROM images ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "listing images");
        goto done;
    }
    for (;;) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = store_db_err(s, err, "listing images");
            break;
        }
        store_image im;
        if ((rc = image_from_row(st, &im, err)) != ODX_OK)
            break;
        int stop = fn(ctx, &im);
        store_image_clear(&im);
        if (stop)
            break;
    }
done:
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------------------ content ---- */

odx_status store_content_get(store *s, const char *hash, char engine[32], char embedder[32],
                             bool *found, odx_err *err)
{
    if (!s || !valid_hash(hash) || !found)
        return core_err(err, ODX_ERR_INVALID, "store_content_get: bad arguments");
    odx_status rc = ODX_OK;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = store_stmt(s, ST_CONTENT_GET, err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *e = (const char *)sqlite3_column_text(st, 0);
        const char *m = (const char *)sqlite3_column_text(st, 1);
        if (engine)
            snprintf(engine, 32, "%s", e ? e : "");
        if (embedder)
            snprintf(embedder, 32, "%s", m ? m : "");
        *found = true;
    } else if (r == SQLITE_DONE) {
        *found = false;
    } else {
        rc = store_db_err(s, err, "reading content");
    }
    sqlite3_reset(st);
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static odx_status check_vecs(const store *s, const store_vec *v, int n, odx_err *err)
{
    if (n < 0 || n > MAX_VECS || (n > 0 && !v))
        return core_err(err, ODX_ERR_INVALID, "bad vector list (%d vectors)", n);
    for (int i = 0; i < n; i++) {
        if (!v[i].field || !*v[i].field || strlen(v[i].field) > STORE_MAX_FIELD || !v[i].v)
            return core_err(err, ODX_ERR_INVALID, "vector %d: bad field or data", i);
        for (int j = 0; j < s->dim; j++)
            if (!isfinite(v[i].v[j]))
                return core_err(err, ODX_ERR_INVALID, "vector %d ('%s'): not finite", i,
                                v[i].field);
    }
    return ODX_OK;
}

/* Old vectors of hash become tombstones (so FAISS copies can drop them),
 * then the new ones go in at this batch's generation. mu held, in batch. */
static odx_status vectors_replace_locked(store *s, const char *hash, const store_vec *v,
                                         int n, odx_err *err)
{
    odx_status rc;
    sqlite3_stmt *st = store_stmt(s, ST_VEC_TOMB, err);
    if (!st)
        return store_db_status(s);
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, s->txn_gen);
    if ((rc = step_done(s, st, "tombstoning vectors", err)) != ODX_OK)
        return rc;
    if (sqlite3_changes(s->db) > 0)
        s->txn_vec_changed = true;
    if (!(st = store_stmt(s, ST_VEC_DEL, err)))
        return store_db_status(s);
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    if ((rc = step_done(s, st, "deleting vectors", err)) != ODX_OK)
        return rc;
    for (int i = 0; i < n; i++) {
        if (!(st = store_stmt(s, ST_VEC_INS, err)))
            return store_db_status(s);
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, v[i].field, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, s->txn_gen);
        sqlite3_bind_blob(st, 4, v[i].v, (int)(sizeof(float) * (size_t)s->dim),
                          SQLITE_STATIC);
        if ((rc = step_done(s, st, "writing vector", err)) != ODX_OK)
            return rc;
        s->txn_vec_changed = true;
    }
    return ODX_OK;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

odx_status store_content_put(store *s, const char *hash, const store_content *c,
                             odx_err *err)
{
    if (!s || !valid_hash(hash) || !c)
        return core_err(err, ODX_ERR_INVALID, "store_content_put: bad hash or content");
    if (c->n_texts < 0 || c->n_texts > MAX_TEXTS || (c->n_texts > 0 && !c->texts))
        return core_err(err, ODX_ERR_INVALID, "store_content_put '%s': bad text list", hash);
    for (int i = 0; i < c->n_texts; i++) {
        const store_text *t = &c->texts[i];
        if (!t->kind || !*t->kind || strlen(t->kind) > STORE_MAX_FIELD || !t->lang ||
            strlen(t->lang) > STORE_MAX_LANG || !t->text)
            return core_err(err, ODX_ERR_INVALID, "store_content_put '%s': bad text %d",
                            hash, i);
    }
    odx_status rc = check_vecs(s, c->vecs, c->n_vecs, err);
    if (rc != ODX_OK)
        return rc;
    /* The description as stored: its caption texts are the rows below. */
    unsigned char *z = NULL;
    size_t z_len = 0;
    bool has_dh = false;
    uint64_t dh = 0;
    if (c->desc_json) {
        odx_err pe = {0};
        if ((rc = store_desc_pack(c->desc_json, c->texts, c->n_texts, &z, &z_len, &has_dh, &dh,
                                  &pe)) != ODX_OK)
            return core_err(err, rc, "store_content_put '%s': %s", hash, pe.msg);
    }

    bool own;
    if ((rc = w_enter(s, &own, err)) != ODX_OK) {
        free(z);
        return rc;
    }
    sqlite3_stmt *st = store_stmt(s, ST_CONTENT_UPSERT, err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, c->width);
    sqlite3_bind_int(st, 3, c->height);
    bind_text_or_null(st, 4, c->format);
    bind_text_or_null(st, 5, c->domain);
    sqlite3_bind_double(st, 6, isfinite(c->domain_conf) ? c->domain_conf : 0.0);
    bind_text_or_null(st, 7, c->chart_type);
    bind_text_or_null(st, 8, c->text_lang);
    bind_text_or_null(st, 9, c->taken_at);
    sqlite3_bind_text(st, 10, c->engine_version ? c->engine_version : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, c->embedder ? c->embedder : "", -1, SQLITE_STATIC);
    if (z)
        sqlite3_bind_blob(st, 12, z, (int)z_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 12);
    if (has_dh)
        sqlite3_bind_int64(st, 13, (int64_t)dh);
    else
        sqlite3_bind_null(st, 13);
    /* the crop hashes: 8 bytes each, most significant first */
    unsigned char crops[8 * STORE_N_DHASH_CROPS];
    for (int k = 0; k < STORE_N_DHASH_CROPS; k++)
        for (int b = 0; b < 8; b++)
            crops[8 * k + b] = (unsigned char)(c->dhash_crops[k] >> (56 - 8 * b));
    if (c->has_dhash_crops)
        sqlite3_bind_blob(st, 14, crops, (int)sizeof crops, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 14);
    if (c->has_grey)
        sqlite3_bind_blob(st, 15, c->grey, STORE_GREY_N, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 15);
    rc = step_done(s, st, "writing content", err);
    sqlite3_clear_bindings(st); /* z goes below */
    if (rc != ODX_OK)
        goto done;

    if (!(st = store_stmt(s, ST_CAPTIONS_DEL, err))) {
        rc = store_db_status(s);
        goto done;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    if ((rc = step_done(s, st, "deleting captions", err)) != ODX_OK)
        goto done;
    for (int i = 0; i < c->n_texts; i++) {
        if (!(st = store_stmt(s, ST_CAPTION_INS, err))) {
            rc = store_db_status(s);
            goto done;
        }
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->texts[i].kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c->texts[i].lang, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, c->texts[i].text, -1, SQLITE_STATIC);
        if ((rc = step_done(s, st, "writing caption", err)) != ODX_OK)
            goto done;
    }
    rc = vectors_replace_locked(s, hash, c->vecs, c->n_vecs, err);
done:
    free(z);
    return w_leave(s, own, rc, err);
}

void store_texts_free(store_text *t, int n)
{
    if (!t)
        return;
    for (int i = 0; i < n; i++) {
        free((char *)t[i].kind);
        free((char *)t[i].lang);
        free((char *)t[i].text);
    }
    free(t);
}

odx_status store_content_texts(store *s, const char *hash, store_text **out, int *n,
                               odx_err *err)
{
    if (!s || !valid_hash(hash) || !out || !n)
        return core_err(err, ODX_ERR_INVALID, "store_content_texts: bad arguments");
    odx_status rc = ODX_OK;
    store_text *t = NULL;
    int n_t = 0, cap = 0;
    store_rd rd;
    store_rd_begin(s, &rd);
    sqlite3_stmt *st = store_rd_stmt(&rd, ST_CAPTIONS_OF, err);
    if (!st) {
        rc = store_rd_status(&rd);
        goto done;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    for (;;) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = store_rd_err(&rd, err, "reading captions");
            goto done;
        }
        if (n_t == cap) {
            int nc = cap ? cap * 2 : 8;
            store_text *nt = realloc(t, sizeof *t * (size_t)nc);
            if (!nt) {
                rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
                goto done;
            }
            t = nt;
            cap = nc;
        }
        store_text *x = &t[n_t++];
        x->kind = col_dup_text(st, 0);
        x->lang = col_dup_text(st, 1);
        x->text = col_dup_text(st, 2);
        if (!x->kind || !x->lang || !x->text) {
            rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
done:
    if (st)
        sqlite3_reset(st);
    store_rd_end(&rd);
    if (rc != ODX_OK) {
        store_texts_free(t, n_t);
        return rc;
    }
    *out = t;
    *n = n_t;
    return ODX_OK;
}

odx_status store_vectors_replace(store *s, const char *hash, const store_vec *v, int n,
                                 const char *embedder, odx_err *err)
{
    if (!s || !valid_hash(hash))
        return core_err(err, ODX_ERR_INVALID, "store_vectors_replace: bad hash");
    odx_status rc = check_vecs(s, v, n, err);
    if (rc != ODX_OK)
        return rc;
    bool own;
    if ((rc = w_enter(s, &own, err)) != ODX_OK)
        return rc;
    sqlite3_stmt *st = store_stmt(s, ST_CONTENT_EXISTS, err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r == SQLITE_DONE) {
        rc = core_err(err, ODX_ERR_NOT_FOUND, "store_vectors_replace: no content '%s'", hash);
        goto done;
    }
    if (r != SQLITE_ROW) {
        rc = store_db_err(s, err, "reading content");
        goto done;
    }
    if ((rc = vectors_replace_locked(s, hash, v, n, err)) != ODX_OK)
        goto done;
    if (embedder) {
        if (!(st = store_stmt(s, ST_CONTENT_SET_EMB, err))) {
            rc = store_db_status(s);
            goto done;
        }
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, embedder, -1, SQLITE_STATIC);
        rc = step_done(s, st, "writing content embedder", err);
    }
done:
    return w_leave(s, own, rc, err);
}

odx_status store_content_gc(store *s, int64_t *n_removed, odx_err *err)
{
    if (!s)
        return core_err(err, ODX_ERR_INVALID, "store_content_gc: no store");
    static const char orphan[] = " NOT EXISTS (SELECT 1 FROM images i WHERE i.hash = ";
    bool own;
    odx_status rc = w_enter(s, &own, err);
    if (rc != ODX_OK)
        return rc;
    char *sql = core_sprintf("INSERT INTO tombstones(id,gen) SELECT id, %" PRId64
                             " FROM vectors WHERE%svectors.hash)",
                             s->txn_gen, orphan);
    if (!sql) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    rc = store_exec(s, sql, err);
    free(sql);
    if (rc != ODX_OK)
        goto done;
    if (sqlite3_changes(s->db) > 0)
        s->txn_vec_changed = true;
    char buf[256];
    snprintf(buf, sizeof buf, "DELETE FROM vectors WHERE%svectors.hash)", orphan);
    if ((rc = store_exec(s, buf, err)) != ODX_OK)
        goto done;
    snprintf(buf, sizeof buf, "DELETE FROM captions WHERE%scaptions.hash)", orphan);
    if ((rc = store_exec(s, buf, err)) != ODX_OK)
        goto done;
    snprintf(buf, sizeof buf, "DELETE FROM content WHERE%scontent.hash)", orphan);
    if ((rc = store_exec(s, buf, err)) != ODX_OK)
        goto done;
    if (n_removed)
        *n_removed = sqlite3_changes(s->db);
done:
    return w_leave(s, own, rc, err);
}

/* -------------------------------------------------------------- roots ---- */

odx_status store_root_add(store *s, const char *path, odx_err *err)
{
    if (!s || !valid_path(path))
        return core_err(err, ODX_ERR_INVALID, "store_root_add: bad path");
    bool own;
    odx_status rc = w_enter(s, &own, err);
    if (rc != ODX_OK)
        return rc;
    sqlite3_stmt *st = store_stmt(s, ST_ROOT_ADD, err);
    if (!st) {
        rc = store_db_status(s);
    } else {
        sqlite3_bind_blob(st, 1, path, (int)strlen(path), SQLITE_STATIC);
        rc = step_done(s, st, "writing root", err);
    }
    return w_leave(s, own, rc, err);
}

odx_status store_roots(store *s, char ***out, odx_err *err)
{
    if (!s || !out)
        return core_err(err, ODX_ERR_INVALID, "store_roots: bad arguments");
    odx_status rc = ODX_OK;
    char **v = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = store_stmt(s, ST_ROOTS, err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    for (;;) {
        if (n + 1 >= cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **nv = realloc(v, sizeof *v * nc);
            if (!nv) {
                rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
                goto done;
            }
            v = nv;
            cap = nc;
        }
        v[n] = NULL;
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = store_db_err(s, err, "reading roots");
            goto done;
        }
        if (!(v[n] = col_dup_blob(st, 0))) {
            rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
            goto done;
        }
        v[++n] = NULL;
    }
done:
    if (st)
        sqlite3_reset(st);
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return rc;
    }
    *out = v;
    return ODX_OK;
}

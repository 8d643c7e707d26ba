/* store_read.c - the typed reads the retriever and the library's
 * inspection calls (show, stats, errors) make: content facts by hash,
 * content lists by domain, the images showing a content, one image with
 * its content, the failed images, images per domain. SQL stays here;
 * callers get plain C records. */
#include "storage_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_text(sqlite3_stmt *st, int i, bool *oom)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const char *p = (const char *)sqlite3_column_text(st, i);
    char *d = core_strdup(p ? p : "");
    if (!d)
        *oom = true;
    return d;
}

static char *dup_blob(sqlite3_stmt *st, int i, bool *oom)
{
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    char *out = malloc((size_t)n + 1);
    if (!out) {
        *oom = true;
        return NULL;
    }
    if (n > 0)
        memcpy(out, p, (size_t)n);
    out[n] = 0;
    return out;
}

static bool hash_ok(const char *h)
{
    return h && *h && strlen(h) <= STORE_MAX_HASH;
}

/* ----------------------------------------------------------- content ---- */

void store_content_info_clear(store_content_info *ci)
{
    if (!ci)
        return;
    free(ci->domain);
    free(ci->chart_type);
    free(ci->text_lang);
    free(ci->taken_at);
    memset(ci, 0, sizeof *ci);
}

/* content.dhash_crops (store_content_put's layout): false, and zeros,
 * for NULL or a blob of another length. */
static bool read_dhash_crops(const void *blob, int n, uint64_t out[STORE_N_DHASH_CROPS])
{
    memset(out, 0, sizeof(uint64_t) * STORE_N_DHASH_CROPS);
    if (!blob || n != 8 * STORE_N_DHASH_CROPS)
        return false;
    const unsigned char *p = blob;
    for (int k = 0; k < STORE_N_DHASH_CROPS; k++)
        for (int b = 0; b < 8; b++)
            out[k] = out[k] << 8 | p[8 * k + b];
    return true;
}

odx_status store_content_info_get(store *s, const char *hash, store_content_info *out,
                                  bool *found, odx_err *err)
{
    if (!s || !hash_ok(hash) || !out || !found)
        return core_err(err, ODX_ERR_INVALID, "store_content_info_get: bad arguments");
    memset(out, 0, sizeof *out);
    *found = false;
    odx_status rc = ODX_OK;
    store_rd rd;
    store_rd_begin(s, &rd);
    sqlite3_stmt *st = store_rd_stmt(&rd, ST_CONTENT_INFO, err);
    if (!st) {
        rc = store_rd_status(&rd);
        goto done;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        bool oom = false;
        store_content_info ci = {0};
        ci.domain = dup_text(st, 0, &oom);
        ci.width = sqlite3_column_int(st, 1);
        ci.height = sqlite3_column_int(st, 2);
        ci.taken_at = dup_text(st, 3, &oom);
        ci.text_lang = dup_text(st, 4, &oom);
        ci.has_dhash = sqlite3_column_type(st, 5) != SQLITE_NULL;
        ci.dhash = (uint64_t)sqlite3_column_int64(st, 5);
        /* the record's header only: unpacking it is show's and check's */
        ci.desc_valid = sqlite3_column_type(st, 6) == SQLITE_NULL ||
                        store_desc_header_ok(sqlite3_column_blob(st, 6),
                                             (size_t)sqlite3_column_bytes(st, 6));
        ci.chart_type = dup_text(st, 7, &oom);
        ci.has_dhash_crops = read_dhash_crops(sqlite3_column_blob(st, 8),
                                              sqlite3_column_bytes(st, 8), ci.dhash_crops);
        ci.has_grey = sqlite3_column_bytes(st, 9) == STORE_GREY_N;
        if (ci.has_grey)
            memcpy(ci.grey, sqlite3_column_blob(st, 9), STORE_GREY_N);
        if (oom) {
            store_content_info_clear(&ci);
            rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
        } else {
            *out = ci;
            *found = true;
        }
    } else if (r != SQLITE_DONE) {
        rc = store_rd_err(&rd, err, "search");
    }
    sqlite3_reset(st);
done:
    store_rd_end(&rd);
    return rc;
}

odx_status store_content_domain(store *s, const char *hash, char *buf, size_t len,
                                bool *found, odx_err *err)
{
    if (!s || !hash_ok(hash) || !buf || !len || !found)
        return core_err(err, ODX_ERR_INVALID, "store_content_domain: bad arguments");
    buf[0] = 0;
    *found = false;
    odx_status rc = ODX_OK;
    store_rd rd;
    store_rd_begin(s, &rd);
    sqlite3_stmt *st = store_rd_stmt(&rd, ST_CONTENT_DOMAIN, err);
    if (!st) {
        rc = store_rd_status(&rd);
        goto done;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 0);
        if (d) {
            snprintf(buf, len, "%s", d);
            *found = true;
        }
    } else if (r != SQLITE_DONE) {
        rc = store_rd_err(&rd, err, "search");
    }
    sqlite3_reset(st);
done:
    store_rd_end(&rd);
    return rc;
}

odx_status store_contents_each(store *s, const char *domain, const char *chart_type, int limit,
                               int (*fn)(void *ctx, const char *hash), void *ctx,
                               odx_err *err)
{
    if (!s || !fn || (chart_type && !domain))
        return core_err(err, ODX_ERR_INVALID, "store_contents_each: bad arguments");
    /* A private statement, and mu is not held while fn runs. */
    sqlite3_stmt *st = NULL;
    odx_status rc = ODX_OK;
    const char *sql =
        domain ? "SELECT hash FROM content WHERE domain = ?1 AND (?2 IS NULL OR "
                 "chart_type = ?2) ORDER BY created_at DESC, hash DESC LIMIT ?3"
               : "SELECT hash FROM content ORDER BY created_at DESC, hash LIMIT ?3";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "search");
        goto done;
    }
    if (domain) {
        sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
        if (chart_type)
            sqlite3_bind_text(st, 2, chart_type, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 2);
    }
    sqlite3_bind_int(st, 3, limit > 0 ? limit : -1);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(st, 0);
        if (h && fn(ctx, h))
            break;
    }
    /* a damaged page reads as an error here, never as the end of rows */
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        rc = store_db_err(s, err, "search");
done:
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------------------ images ---- */

void store_images_free(store_image *v, int n)
{
    for (int i = 0; v && i < n; i++)
        store_image_clear(&v[i]);
    free(v);
}

/* Columns: id, path, size, mtime_ns, hash, status, err_stage, err_reason. */
static bool image_row(sqlite3_stmt *st, store_image *im)
{
    bool oom = false;
    memset(im, 0, sizeof *im);
    im->id = sqlite3_column_int64(st, 0);
    im->path = dup_blob(st, 1, &oom);
    im->size = sqlite3_column_int64(st, 2);
    im->mtime_ns = sqlite3_column_int64(st, 3);
    const char *h = (const char *)sqlite3_column_text(st, 4);
    snprintf(im->hash, sizeof im->hash, "%s", h ? h : "");
    const char *status = (const char *)sqlite3_column_text(st, 5);
    im->ok = status && strcmp(status, "ok") == 0;
    im->err_stage = dup_text(st, 6, &oom);
    im->err_reason = dup_text(st, 7, &oom);
    if (oom)
        store_image_clear(im);
    return !oom;
}

/* Runs a cached statement bound to one text and collects image rows. */
static odx_status collect_images(store *s, int stmt, const char *arg, store_image **out,
                                 int *n, odx_err *err)
{
    odx_status rc = ODX_OK;
    store_image *v = NULL;
    int n_v = 0, cap = 0;
    store_rd rd;
    store_rd_begin(s, &rd);
    sqlite3_stmt *st = store_rd_stmt(&rd, stmt, err);
    if (!st) {
        rc = store_rd_status(&rd);
        goto done;
    }
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    for (;;) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = store_rd_err(&rd, err, "reading images");
            break;
        }
        if (n_v == cap) {
            int nc = cap ? cap * 2 : 4;
            store_image *nv = realloc(v, sizeof *v * (size_t)nc);
            if (!nv) {
                rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
                break;
            }
            v = nv;
            cap = nc;
        }
        if (!image_row(st, &v[n_v])) {
            rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
            break;
        }
        n_v++;
    }
    sqlite3_reset(st);
done:
    store_rd_end(&rd);
    if (rc != ODX_OK) {
        store_images_free(v, n_v);
        return rc;
    }
    *out = v;
    *n = n_v;
    return ODX_OK;
}

odx_status store_images_of(store *s, const char *hash, int order, store_image **out, int *n,
                           odx_err *err)
{
    if (!s || !hash_ok(hash) || !out || !n)
        return core_err(err, ODX_ERR_INVALID, "store_images_of: bad arguments");
    *out = NULL;
    *n = 0;
    return collect_images(s, order == STORE_BY_PATH ? ST_IMAGES_OF_BY_PATH : ST_IMAGES_OF, hash,
                          out, n, err);
}

void store_image_detail_clear(store_image_detail *d)
{
    if (!d)
        return;
    store_image_clear(&d->im);
    free(d->desc_json);
    free(d->engine_version);
    free(d->embedder);
    memset(d, 0, sizeof *d);
}

/* The description JSON of content hash from its record z (mu held): the
 * native caption rows put back into it. */
static odx_status desc_of(store *s, const char *hash, const void *z, size_t z_len, char **out,
                          odx_err *err)
{
    store_text *t = NULL;
    int n_t = 0, cap = 0;
    odx_status rc = ODX_OK;
    sqlite3_stmt *st = store_stmt(s, ST_NATIVE_TEXTS, err);
    if (!st)
        return store_db_status(s);
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
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
        bool oom = false;
        store_text *x = &t[n_t++];
        x->kind = dup_text(st, 0, &oom);
        x->lang = dup_text(st, 1, &oom);
        x->text = dup_text(st, 2, &oom);
        if (oom) {
            rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    if (r != SQLITE_DONE) {
        rc = store_db_err(s, err, "reading captions");
        goto done;
    }
    odx_err de = {0};
    if ((rc = store_desc_unpack(z, z_len, t, n_t, out, &de)) != ODX_OK)
        rc = core_err(err, rc, "the description of content %s in '%s': %s%s", hash,
                      s->db_path, de.msg,
                      rc == ODX_ERR_CORRUPT ? " (the database is damaged: run 'omnidex check')"
                                            : "");
done:
    sqlite3_reset(st);
    store_texts_free(t, n_t);
    return rc;
}

odx_status store_image_detail_get(store *s, const char *path, int64_t id,
                                  store_image_detail *out, bool *found, odx_err *err)
{
    if (!s || !out || !found || (path && !*path))
        return core_err(err, ODX_ERR_INVALID, "store_image_detail_get: bad arguments");
    memset(out, 0, sizeof *out);
    *found = false;
    odx_status rc = ODX_OK;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = store_stmt(s, path ? ST_IMAGE_DETAIL_PATH : ST_IMAGE_DETAIL_ID, err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    if (path)
        sqlite3_bind_blob(st, 1, path, (int)strlen(path), SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        store_image_detail d = {0};
        bool oom = !image_row(st, &d.im);
        d.indexed_at = sqlite3_column_int64(st, 8);
        d.has_content = sqlite3_column_type(st, 12) != SQLITE_NULL;
        d.engine_version = dup_text(st, 10, &oom);
        d.embedder = dup_text(st, 11, &oom);
        if (!oom && sqlite3_column_type(st, 9) != SQLITE_NULL) {
            char hash[STORE_MAX_HASH + 1];
            snprintf(hash, sizeof hash, "%s", (const char *)sqlite3_column_text(st, 12));
            size_t z_len = (size_t)sqlite3_column_bytes(st, 9);
            void *z = malloc(z_len ? z_len : 1);
            if (!z)
                oom = true;
            else {
                memcpy(z, sqlite3_column_blob(st, 9), z_len);
                rc = desc_of(s, hash, z, z_len, &d.desc_json, err);
                free(z);
            }
        }
        if (rc != ODX_OK) {
            store_image_detail_clear(&d);
        } else if (oom) {
            store_image_detail_clear(&d);
            rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
        } else {
            *out = d;
            *found = true;
        }
    } else if (r != SQLITE_DONE) {
        rc = store_db_err(s, err, "show");
    }
    sqlite3_reset(st);
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

odx_status store_domain_counts(store *s, store_domain_count **out, int *n, odx_err *err)
{
    if (!s || !out || !n)
        return core_err(err, ODX_ERR_INVALID, "store_domain_counts: bad arguments");
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    odx_status rc = ODX_OK;
    store_domain_count *v = NULL;
    int n_v = 0, cap = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT c.domain, count(*) FROM images i JOIN content c ON "
                           "c.hash = i.hash WHERE i.status = 'ok' GROUP BY c.domain ORDER BY 2 DESC",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "stats");
        goto done;
    }
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (n_v == cap) {
            int nc = cap ? cap * 2 : 8;
            store_domain_count *nv = realloc(v, sizeof *v * (size_t)nc);
            if (!nv) {
                rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
                goto done;
            }
            v = nv;
            cap = nc;
        }
        const char *d = (const char *)sqlite3_column_text(st, 0);
        snprintf(v[n_v].domain, sizeof v[n_v].domain, "%s", d ? d : "");
        v[n_v].has_domain = d != NULL;
        v[n_v].n = sqlite3_column_int64(st, 1);
        n_v++;
    }
    if (r != SQLITE_DONE)
        rc = store_db_err(s, err, "stats");
done:
    sqlite3_finalize(st);
    if (rc != ODX_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *n = n_v;
    return ODX_OK;
}

void store_image_details_free(store_image_detail *v, int n)
{
    for (int i = 0; v && i < n; i++)
        store_image_detail_clear(&v[i]);
    free(v);
}

odx_status store_images_failed(store *s, store_image_detail **out, int *n, odx_err *err)
{
    if (!s || !out || !n)
        return core_err(err, ODX_ERR_INVALID, "store_images_failed: bad arguments");
    *out = NULL;
    *n = 0;
    odx_status rc = ODX_OK;
    store_image_detail *v = NULL;
    int n_v = 0, cap = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = store_stmt(s, ST_IMAGES_FAILED, err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    for (;;) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) { /* a damaged page: not the end of the list */
            rc = store_db_err(s, err, "errors");
            break;
        }
        if (n_v == cap) {
            int nc = cap ? cap * 2 : 8;
            store_image_detail *nv = realloc(v, sizeof *v * (size_t)nc);
            if (!nv) {
                rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
                break;
            }
            v = nv;
            cap = nc;
        }
        store_image_detail *d = &v[n_v];
        memset(d, 0, sizeof *d);
        if (!image_row(st, &d->im)) {
            rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
            break;
        }
        d->indexed_at = sqlite3_column_int64(st, 8);
        n_v++;
    }
    sqlite3_reset(st);
done:
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK) {
        store_image_details_free(v, n_v);
        return rc;
    }
    *out = v;
    *n = n_v;
    return ODX_OK;
}

/* ----------------------------------------------------------- vectors ---- */

void store_vecs_clear(store_vecs *v)
{
    if (!v)
        return;
    free(v->field);
    free(v->v);
    memset(v, 0, sizeof *v);
}

odx_status store_content_vectors(store *s, const char *hash, store_vecs *out, odx_err *err)
{
    if (!s || !hash_ok(hash) || !out)
        return core_err(err, ODX_ERR_INVALID, "store_content_vectors: bad arguments");
    memset(out, 0, sizeof *out);
    store_vecs r = {.dim = s->dim};
    int cap = 0;
    odx_status rc = ODX_OK;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = store_stmt(s, ST_VECS_OF, err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    for (;;) {
        int x = sqlite3_step(st);
        if (x == SQLITE_DONE)
            break;
        if (x != SQLITE_ROW) {
            rc = store_db_err(s, err, "reading vectors");
            goto done;
        }
        const void *blob = sqlite3_column_blob(st, 1);
        size_t bytes = (size_t)sqlite3_column_bytes(st, 1);
        if (!blob || bytes != sizeof(float) * (size_t)r.dim) {
            rc = core_err(err, ODX_ERR_CORRUPT,
                          "a vector of content %s has %zu bytes, not %d floats (the database"
                          " is damaged: run 'omnidex check')",
                          hash, bytes, r.dim);
            goto done;
        }
        if (r.n == cap) {
            int nc = cap ? cap * 2 : 4;
            char(*nf)[16] = realloc(r.field, sizeof *r.field * (size_t)nc);
            if (nf)
                r.field = nf;
            float *nv = nf ? realloc(r.v, sizeof(float) * (size_t)r.dim * (size_t)nc) : NULL;
            if (!nv) {
                rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
                goto done;
            }
            r.v = nv;
            cap = nc;
        }
        const char *f = (const char *)sqlite3_column_text(st, 0);
        snprintf(r.field[r.n], sizeof r.field[r.n], "%s", f ? f : "");
        memcpy(r.v + (size_t)r.n * (size_t)r.dim, blob, bytes);
        r.n++;
    }
done:
    if (st)
        sqlite3_reset(st);
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK) {
        store_vecs_clear(&r);
        return rc;
    }
    *out = r;
    return ODX_OK;
}

odx_status store_table_bytes(store *s, void (*fn)(void *ctx, const char *name, int64_t bytes),
                             void *ctx, odx_err *err)
{
    if (!s || !fn)
        return core_err(err, ODX_ERR_INVALID, "store_table_bytes: bad arguments");
    sqlite3_stmt *st = NULL;
    odx_status rc = ODX_OK;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = core_err(err, ODX_ERR_UNSUPPORTED, "table sizes: %s (SQLite without dbstat?)",
                      sqlite3_errmsg(s->db));
        goto done;
    }
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        fn(ctx, name ? name : "?", sqlite3_column_int64(st, 1));
    }
    if (r != SQLITE_DONE)
        rc = store_db_err(s, err, "table sizes");
done:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int cmp_dhash_row(const void *a, const void *b)
{
    const store_dhash_row *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return strcmp(x->hash, y->hash); /* the same order every time */
}

/* One content's hashes in the cache (88 bytes; 88 MB at a million). */
typedef struct dh_entry {
    int64_t rowid;
    uint64_t dhash;
    uint64_t crops[STORE_N_DHASH_CROPS];
    bool has_crops;
} dh_entry;
struct store_dhash_cache {
    dh_entry *v;
    size_t n;
};
/* Above this many contents the hashes are read from SQLite per scan. */
#define DH_CACHE_MAX 4000000

static void dh_cache_free(struct store_dhash_cache *c)
{
    if (c) {
        free(c->v);
        free(c);
    }
}

/* One row of ST_DHASH_SCAN. */
static void dh_row_read(sqlite3_stmt *st, dh_entry *e)
{
    e->rowid = sqlite3_column_int64(st, 0);
    e->dhash = (uint64_t)sqlite3_column_int64(st, 1);
    e->has_crops =
        read_dhash_crops(sqlite3_column_blob(st, 2), sqlite3_column_bytes(st, 2), e->crops);
}

/* The cache, (re)loaded when the database changed since; NULL (and ODX_OK)
 * when it would be too big. s->mu held. */
static odx_status dh_cache_get(store *s, struct store_dhash_cache **out, odx_err *err)
{
    *out = NULL;
    if (s->dh_too_big)
        return ODX_OK;
    sqlite3_stmt *st = store_stmt(s, ST_DATA_VERSION, err);
    if (!st)
        return store_db_status(s);
    int64_t ver = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    int64_t changes = sqlite3_total_changes64(s->db);
    if (s->dh && ver >= 0 && ver == s->dh_version && changes == s->dh_changes) {
        *out = s->dh;
        return ODX_OK;
    }
    dh_cache_free(s->dh);
    s->dh = NULL;
    if (!(st = store_stmt(s, ST_DHASH_SCAN, err)))
        return store_db_status(s);
    struct store_dhash_cache *c = calloc(1, sizeof *c);
    size_t cap = 0;
    odx_status rc = c ? ODX_OK : core_err(err, ODX_ERR_NOMEM, "out of memory");
    int r = SQLITE_DONE;
    while (rc == ODX_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        if (c->n == DH_CACHE_MAX)
            break;
        if (c->n == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            dh_entry *g = realloc(c->v, sizeof *g * nc);
            if (!g) {
                rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
                break;
            }
            c->v = g;
            cap = nc;
        }
        dh_row_read(st, &c->v[c->n++]);
    }
    if (rc == ODX_OK && r != SQLITE_ROW && r != SQLITE_DONE)
        rc = store_db_err(s, err, "picture hash scan");
    bool too_big = rc == ODX_OK && r == SQLITE_ROW; /* stopped at DH_CACHE_MAX */
    sqlite3_reset(st);
    if (rc != ODX_OK || too_big) {
        dh_cache_free(c);
        s->dh_too_big = too_big;
        return rc;
    }
    s->dh = c;
    s->dh_free = dh_cache_free;
    s->dh_version = ver;
    s->dh_changes = changes;
    *out = c;
    return ODX_OK;
}

/* By key, then rowid (the order before the content hashes are read). */
static int cmp_dhash_key(const void *a, const void *b)
{
    const store_dhash_row *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Adds a kept row (its hash is read once the best are known); keeps the
 * best max when the array is full. */
static odx_status dh_keep(store_dhash_row **v, int *nv, int *cap, int max, int key,
                          const dh_entry *e, odx_err *err)
{
    if (*nv == *cap) {
        if (*nv >= 4 * max) { /* keep the best max, so memory stays bounded */
            qsort(*v, (size_t)*nv, sizeof **v, cmp_dhash_key);
            *nv = max;
        } else {
            int nc = *cap ? *cap * 2 : 64;
            store_dhash_row *g = realloc(*v, sizeof **v * (size_t)nc);
            if (!g)
                return core_err(err, ODX_ERR_NOMEM, "out of memory");
            *v = g;
            *cap = nc;
        }
    }
    store_dhash_row *o = &(*v)[(*nv)++];
    memset(o, 0, sizeof *o);
    o->id = e->rowid;
    o->key = key;
    o->dhash = e->dhash;
    o->has_crops = e->has_crops;
    memcpy(o->crops, e->crops, sizeof o->crops);
    return ODX_OK;
}

odx_status store_dhash_scan(store *s, store_dhash_rank rank, void *ctx, int max,
                            store_dhash_row **out, int *n, odx_err *err)
{
    if (!s || !rank || max <= 0 || !out || !n)
        return core_err(err, ODX_ERR_INVALID, "store_dhash_scan: bad arguments");
    *out = NULL;
    *n = 0;
    store_dhash_row *v = NULL;
    int nv = 0, cap = 0;
    pthread_mutex_lock(&s->mu);
    struct store_dhash_cache *c = NULL;
    odx_status rc = dh_cache_get(s, &c, err);
    if (rc == ODX_OK && c) {
        for (size_t i = 0; i < c->n && rc == ODX_OK; i++) {
            const dh_entry *e = &c->v[i];
            int key = rank(ctx, e->dhash, e->has_crops, e->crops);
            if (key >= 0)
                rc = dh_keep(&v, &nv, &cap, max, key, e, err);
        }
    } else if (rc == ODX_OK) { /* too many to keep in memory: from SQLite */
        sqlite3_stmt *st = store_stmt(s, ST_DHASH_SCAN, err);
        int r = SQLITE_DONE;
        if (!st)
            rc = store_db_status(s);
        while (rc == ODX_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
            dh_entry e;
            dh_row_read(st, &e);
            int key = rank(ctx, e.dhash, e.has_crops, e.crops);
            if (key >= 0)
                rc = dh_keep(&v, &nv, &cap, max, key, &e, err);
        }
        if (rc == ODX_OK && r != SQLITE_DONE)
            rc = store_db_err(s, err, "picture hash scan");
        if (st)
            sqlite3_reset(st);
    }
    /* the best max by key (rows tied at the cut all go on, to be decided
     * by content hash below), then their content hashes */
    if (rc == ODX_OK) {
        qsort(v, (size_t)nv, sizeof *v, cmp_dhash_key);
        int cut = nv;
        if (cut > max) {
            cut = max;
            while (cut < nv && v[cut].key == v[max - 1].key)
                cut++;
        }
        int w = 0;
        for (int i = 0; i < cut && rc == ODX_OK; i++) {
            sqlite3_stmt *st = store_stmt(s, ST_CONTENT_HASH_OF, err);
            if (!st) {
                rc = store_db_status(s);
                break;
            }
            sqlite3_bind_int64(st, 1, v[i].id);
            int r = sqlite3_step(st);
            const char *h = r == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
            if (h && hash_ok(h)) {
                v[w] = v[i];
                snprintf(v[w].hash, sizeof v[w].hash, "%s", h);
                w++;
            } else if (r != SQLITE_ROW && r != SQLITE_DONE) {
                rc = store_db_err(s, err, "picture hash scan");
            }
            sqlite3_reset(st);
        }
        nv = w;
    }
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK) {
        free(v);
        return rc;
    }
    qsort(v, (size_t)nv, sizeof *v, cmp_dhash_row);
    *out = v;
    *n = nv < max ? nv : max;
    return ODX_OK;
}

/* store_vlm.c - captions written by a remote vision-language model:
 * caption rows with source 'vlm', the model and the prompt version they
 * were made with, keyed by content hash like every derived row (so a
 * renamed file keeps them). The FTS triggers index them like native
 * captions. Native captions are never touched here. */
#include "storage_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool hash_ok(const char *h)
{
    return h && strlen(h) == 64;
}

/* Prepared on the connection (s->mu held); records the error. */
static sqlite3_stmt *prep(store *s, const char *sql, odx_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        store_db_err(s, err, "preparing a VLM caption statement");
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? core_strdup((const char *)t) : NULL;
}

void store_vlm_todo_free(store_vlm_item *v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i].path);
    free(v);
}

odx_status store_vlm_list(store *s, store_vlm_item **out, int *n_out, odx_err *err)
{
    if (!s || !out || !n_out)
        return core_err(err, ODX_ERR_INVALID, "store_vlm_list: bad arguments");
    *out = NULL;
    *n_out = 0;
    /* one path per content (the shortest, as search shows), and the
     * model/prompt of its VLM captions when it has any */
    static const char sql[] =
        "SELECT c.hash, coalesce(c.domain, ''), c.width, c.height, c.format,"
        " (SELECT i.path FROM images i WHERE i.hash = c.hash AND i.status = 'ok'"
        "  ORDER BY length(i.path), i.path LIMIT 1),"
        " (SELECT k.model FROM captions k WHERE k.hash = c.hash AND k.source = 'vlm' LIMIT 1),"
        " (SELECT k.prompt FROM captions k WHERE k.hash = c.hash AND k.source = 'vlm' LIMIT 1)"
        " FROM content c ORDER BY c.hash";
    odx_status rc = ODX_OK;
    store_vlm_item *v = NULL;
    int n = 0, cap = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = prep(s, sql, err);
    if (!st) {
        rc = store_db_status(s);
        goto done;
    }
    for (;;) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = store_db_err(s, err, "listing content for VLM captions");
            goto done;
        }
        if (sqlite3_column_type(st, 5) == SQLITE_NULL)
            continue; /* no image holds it now */
        if (n == cap) {
            int nc = cap ? cap * 2 : 64;
            store_vlm_item *nv = realloc(v, sizeof *v * (size_t)nc);
            if (!nv) {
                rc = core_err(err, ODX_ERR_NOMEM, "no memory listing content");
                goto done;
            }
            v = nv;
            cap = nc;
        }
        store_vlm_item *x = &v[n];
        memset(x, 0, sizeof *x);
        const char *t;
        snprintf(x->hash, sizeof x->hash, "%s", (t = (const char *)sqlite3_column_text(st, 0)) ? t : "");
        snprintf(x->domain, sizeof x->domain, "%s", (t = (const char *)sqlite3_column_text(st, 1)) ? t : "");
        x->width = sqlite3_column_int(st, 2);
        x->height = sqlite3_column_int(st, 3);
        snprintf(x->format, sizeof x->format, "%s", (t = (const char *)sqlite3_column_text(st, 4)) ? t : "");
        const void *p = sqlite3_column_blob(st, 5);
        int pl = sqlite3_column_bytes(st, 5);
        x->path = malloc((size_t)pl + 1);
        if (!x->path) {
            rc = core_err(err, ODX_ERR_NOMEM, "no memory listing content");
            goto done;
        }
        memcpy(x->path, p, (size_t)pl);
        x->path[pl] = 0;
        snprintf(x->model, sizeof x->model, "%s", (t = (const char *)sqlite3_column_text(st, 6)) ? t : "");
        snprintf(x->prompt, sizeof x->prompt, "%s", (t = (const char *)sqlite3_column_text(st, 7)) ? t : "");
        x->has_vlm = sqlite3_column_type(st, 6) != SQLITE_NULL || sqlite3_column_type(st, 7) != SQLITE_NULL;
        n++;
    }
done:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK) {
        store_vlm_todo_free(v, n);
        return rc;
    }
    *out = v;
    *n_out = n;
    return ODX_OK;
}

odx_status store_vlm_put(store *s, const char *hash, const char *model, const char *prompt,
                         const store_text *t, int n, odx_err *err)
{
    if (!s || !hash_ok(hash) || !model || !prompt || (n > 0 && !t))
        return core_err(err, ODX_ERR_INVALID, "store_vlm_put: bad arguments");
    if (s->read_only)
        return core_err(err, ODX_ERR_INVALID, "store '%s' is open read-only", s->dir);
    odx_status rc = ODX_OK;
    bool own = false;
    sqlite3_stmt *del = NULL, *ins = NULL;
    pthread_mutex_lock(&s->mu);
    if (!s->in_txn) {
        if ((rc = store_begin_locked(s, err)) != ODX_OK) {
            pthread_mutex_unlock(&s->mu);
            return rc;
        }
        own = true;
    }
    if ((rc = store_exec(s, "SAVEPOINT store_vlm", err)) != ODX_OK)
        goto out;
    if (!(del = prep(s, "DELETE FROM captions WHERE hash = ?1 AND source = 'vlm'", err)) ||
        !(ins = prep(s, "INSERT INTO captions(hash, kind, lang, text, source, model, prompt)"
                        " SELECT ?1, ?2, ?3, ?4, 'vlm', ?5, ?6"
                        " WHERE EXISTS (SELECT 1 FROM content WHERE hash = ?1)",
                     err))) {
        rc = store_db_status(s);
        goto undo;
    }
    sqlite3_bind_text(del, 1, hash, -1, SQLITE_STATIC);
    if (sqlite3_step(del) != SQLITE_DONE) {
        rc = store_db_err(s, err, "deleting VLM captions");
        goto undo;
    }
    for (int i = 0; i < n; i++) {
        if (!t[i].kind || !t[i].lang || !t[i].text || !*t[i].text)
            continue;
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, t[i].kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, t[i].lang, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, t[i].text, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, model, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, prompt, -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = store_db_err(s, err, "writing a VLM caption");
            goto undo;
        }
    }
undo:
    if (rc == ODX_OK) {
        rc = store_exec(s, "RELEASE store_vlm", err);
    } else {
        sqlite3_exec(s->db, "ROLLBACK TO store_vlm", NULL, NULL, NULL);
        sqlite3_exec(s->db, "RELEASE store_vlm", NULL, NULL, NULL);
    }
out:
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    pthread_mutex_unlock(&s->mu);
    if (own) {
        if (rc == ODX_OK)
            rc = store_commit(s, err);
        else
            store_rollback(s);
    }
    return rc;
}

odx_status store_vlm_texts(store *s, const char *hash, store_vlm_text **out, int *n_out,
                           odx_err *err)
{
    if (!s || !hash_ok(hash) || !out || !n_out)
        return core_err(err, ODX_ERR_INVALID, "store_vlm_texts: bad arguments");
    *out = NULL;
    *n_out = 0;
    odx_status rc = ODX_OK;
    store_vlm_text *v = NULL;
    int n = 0, cap = 0;
    store_rd rd;
    store_rd_begin(s, &rd);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(rd.db, "SELECT kind, lang, text, model, prompt FROM captions"
                                  " WHERE hash = ?1 AND source = 'vlm' ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store_rd_err(&rd, err, "preparing a VLM caption statement");
        goto done;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    for (;;) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = store_rd_err(&rd, err, "reading VLM captions");
            goto done;
        }
        if (n == cap) {
            int nc = cap ? cap * 2 : 8;
            store_vlm_text *nv = realloc(v, sizeof *v * (size_t)nc);
            if (!nv) {
                rc = core_err(err, ODX_ERR_NOMEM, "no memory for VLM captions");
                goto done;
            }
            v = nv;
            cap = nc;
        }
        store_vlm_text *x = &v[n++];
        x->kind = col_dup(st, 0);
        x->lang = col_dup(st, 1);
        x->text = col_dup(st, 2);
        x->model = col_dup(st, 3);
        x->prompt = col_dup(st, 4);
        if (!x->kind || !x->lang || !x->text) {
            rc = core_err(err, ODX_ERR_NOMEM, "no memory for VLM captions");
            goto done;
        }
    }
done:
    sqlite3_finalize(st);
    store_rd_end(&rd);
    if (rc != ODX_OK) {
        store_vlm_texts_free(v, n);
        return rc;
    }
    *out = v;
    *n_out = n;
    return ODX_OK;
}

void store_vlm_texts_free(store_vlm_text *v, int n)
{
    for (int i = 0; v && i < n; i++) {
        free(v[i].kind);
        free(v[i].lang);
        free(v[i].text);
        free(v[i].model);
        free(v[i].prompt);
    }
    free(v);
}

odx_status store_vlm_count(store *s, int64_t *n_content, odx_err *err)
{
    if (!s || !n_content)
        return core_err(err, ODX_ERR_INVALID, "store_vlm_count: bad arguments");
    *n_content = 0;
    odx_status rc = ODX_OK;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = prep(s, "SELECT count(DISTINCT hash) FROM captions WHERE source = 'vlm'", err);
    if (!st)
        rc = store_db_status(s);
    else if (sqlite3_step(st) == SQLITE_ROW)
        *n_content = sqlite3_column_int64(st, 0);
    else
        rc = store_db_err(s, err, "counting VLM captions");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

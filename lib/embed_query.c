/* embed_query.c - the remote settings (flag, environment, DBDIR/config)
 * and the query side of remote embeddings: the free text of a query
 * embedded at the configured endpoint with the model the index
 * holds, for the retriever's learned-vector path. One client per handle,
 * so its circuit breaker spans the searches of a long-lived process (the
 * server): once the endpoint is down, searches stop waiting for it. */
#include "lib_int.h"
#include "remote.h"
#include "retriever.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *lib_setting(const char *given, const char *env, const char *dir, const char *key,
                        char **owned)
{
    *owned = NULL;
    if (given && *given)
        return given;
    const char *e = getenv(env);
    if (e && *e)
        return e;
    return *owned = rmt_config_file_get(dir, key);
}

struct lib_embed {
    pthread_mutex_t mu;
    rmt_client *cl;
    char *url, *key;
    double timeout_s;
};

lib_embed *lib_embed_new(void)
{
    lib_embed *e = calloc(1, sizeof *e);
    if (e)
        pthread_mutex_init(&e->mu, NULL);
    return e;
}

void lib_embed_free(lib_embed *e)
{
    if (!e)
        return;
    rmt_client_free(e->cl);
    free(e->url);
    free(e->key);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The handle's client for url (made again when the settings change). */
static rmt_client *client(lib_embed *e, const char *url, const char *key, double timeout_s,
                          odx_err *err)
{
    pthread_mutex_lock(&e->mu);
    if (!e->cl || !same(e->url, url) || !same(e->key, key) || e->timeout_s != timeout_s) {
        rmt_config cfg = rmt_config_default();
        cfg.base_url = url;
        cfg.api_key = key;
        cfg.timeout_s = timeout_s;
        cfg.connect_timeout_s = timeout_s < 2 ? timeout_s : 2;
        cfg.max_retries = 0; /* a search does not wait for backoffs */
        rmt_client *c = NULL;
        if (rmt_client_new(&cfg, &c, err) == ODX_OK) {
            rmt_client_free(e->cl);
            free(e->url);
            free(e->key);
            e->cl = c;
            e->url = core_strdup(url);
            e->key = key ? core_strdup(key) : NULL;
            e->timeout_s = timeout_s;
        }
    }
    rmt_client *c = e->cl && same(e->url, url) ? e->cl : NULL;
    pthread_mutex_unlock(&e->mu);
    return c;
}

void lib_qembed_clear(lib_qembed *q)
{
    if (!q)
        return;
    free(q->v);
    free(q->note);
    memset(q, 0, sizeof *q);
}

void lib_query_embed(lib_embed *e, store *s, const char *dir, const char *query,
                     const odx_search_params *p, lib_qembed *q)
{
    memset(q, 0, sizeof *q);
    if (!e || !p || p->no_embed)
        return;
    char *o_url = NULL, *o_model = NULL, *o_key = NULL;
    const char *url = lib_setting(p->embed_url, "OMNIDEX_EMBED_URL", dir, "embed_url", &o_url);
    if (!url || !*url)
        goto done;
    const char *want = lib_setting(p->embed_model, "OMNIDEX_EMBED_MODEL", dir, "embed_model",
                                   &o_model);
    const char *key = lib_setting(p->embed_api_key, "OMNIDEX_API_KEY", dir, "api_key", &o_key);
    q->e.asked = true;
    odx_err er = {0};
    int dim = 0;
    if (store_embed_current(s, q->model, &dim, &er) != ODX_OK) {
        q->note = core_sprintf("reading the index's embedding model: %s", er.msg);
        goto done;
    }
    q->e.model = q->model[0] ? q->model : NULL;
    if (!q->model[0] || dim <= 0) {
        q->note = core_strdup("the index has no learned vectors yet (omnidex index --embed)");
        goto done;
    }
    if (want && *want && strcmp(want, q->model) != 0) {
        q->note = core_sprintf("the index holds vectors of '%s', not '%s' (run omnidex index"
                               " --embed-model %s to re-embed)", q->model, want, want);
        goto done;
    }
    if (p->mode == ODX_MODE_LEXICAL)
        goto done;
    ret_query rq;
    if (ret_query_parse(query, &rq, &er) != ODX_OK)
        goto done; /* the search itself reports the bad query */
    if (!rq.text || !*rq.text) {
        ret_query_free(&rq);
        goto done;
    }
    double t = p->embed_timeout_s > 0 ? p->embed_timeout_s : 5;
    rmt_client *c = client(e, url, key, t, &er);
    if (!c) {
        q->note = core_strdup(er.msg[0] ? er.msg : "no client");
        ret_query_free(&rq);
        goto done;
    }
    rmt_embed_resp a = {0};
    const char *text = rq.text;
    if (rmt_embed(c, q->model, &text, 1, dim, &a, &er) == ODX_OK) {
        q->v = a.v;
        a.v = NULL;
        q->e.v = q->v;
        q->e.dim = a.dim;
    } else {
        q->note = core_sprintf("%s: answered from the native paths", er.msg);
    }
    rmt_embed_resp_clear(&a);
    ret_query_free(&rq);
done:
    q->e.note = q->note;
    free(o_url);
    free(o_model);
    free(o_key);
}

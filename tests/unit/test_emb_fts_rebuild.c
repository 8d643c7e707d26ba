/* test_emb_fts_rebuild.c - the tokenizer id that storage keeps in meta:
 * an index whose FTS5 rows were made by another tokenizer (simulated by
 * emptying the FTS index and writing an old id) is rebuilt from the
 * captions on the next writer open, once; traditional captions are then
 * found by simplified queries. */
#include "check.h"
#include "embedder.h"
#include "storage_int.h" /* store_sqlite: storage's own tests reach the connection */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void rmtree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

/* Number of FTS hits of a query (through emb_query_fts), -1 on error. */
static int hits(store *s, const char *query)
{
    emb_query q;
    odx_err e = {0};
    if (emb_query_parse(query, &q, &e) != ODX_OK)
        return -1;
    char *m = emb_query_fts(&q);
    emb_query_free(&q);
    if (!m)
        return -1;
    store_hit *h = NULL;
    int n = 0;
    odx_status st = store_fts_search(s, m, 50, &h, &n, &e);
    if (st != ODX_OK)
        fprintf(stderr, "fts '%s': %s\n", m, e.msg);
    free(m);
    free(h);
    return st == ODX_OK ? n : -1;
}

static bool meta_is(store *s, const char *key, const char *want)
{
    char *v = NULL;
    odx_err e = {0};
    bool ok = store_meta_get(s, key, &v, &e) == ODX_OK && v && strcmp(v, want) == 0;
    if (!ok)
        fprintf(stderr, "meta %s = '%s', want '%s'\n", key, v ? v : "(null)", want);
    free(v);
    return ok;
}

/* An FTS index as an older tokenizer would have left it: rows that no
 * longer answer today's queries, and that tokenizer's id. */
static void age_index(store *s, const char *old_id)
{
    odx_err e = {0};
    CHECK(sqlite3_exec(store_sqlite(s),
                       "INSERT INTO captions_fts(captions_fts) VALUES('delete-all')", NULL,
                       NULL, NULL) == SQLITE_OK);
    if (old_id)
        CHECK(store_meta_set(s, "tokenizer", old_id, &e) == ODX_OK);
}

int main(void)
{
    char tmpl[] = "/tmp/odx_emb_fts_rebuild_XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return check_result("test_emb_fts_rebuild");
    odx_err e = {0};
    store *s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return check_result("test_emb_fts_rebuild");
    CHECK(meta_is(s, "tokenizer", emb_tokenizer_id()));

    store_text t[] = {
        {"ocr", "zh", "海報：星圖進寶，臺灣圖書館"},
        {"detailed", "en", "A poster with the title LXGW WenKai"},
    };
    store_content c = {0};
    c.desc_json = "{}";
    c.format = "png";
    c.domain = "poster";
    c.engine_version = "eng-1";
    c.embedder = emb_model_id();
    c.texts = t;
    c.n_texts = 2;
    CHECK(store_begin(s, &e) == ODX_OK);
    CHECK(store_content_put(s, "cafe0001", &c, &e) == ODX_OK);
    CHECK(store_image_put_ok(s, "/p/poster.png", 1, 1, "cafe0001", &e) == ODX_OK);
    CHECK(store_commit(s, &e) == ODX_OK);
    CHECK(hits(s, "星图") == 1);
    CHECK(hits(s, "台湾") == 1);
    CHECK(hits(s, "霞鹜文楷") == 1);

    /* the setup really hides the caption */
    age_index(s, "odx-tok-v1");
    CHECK(hits(s, "星图") == 0);
    store_close(s);
    s = NULL;

    /* a reader cannot rebuild: it opens and still finds nothing */
    CHECK(store_open(dir, true, &s, &e) == ODX_OK);
    if (s) {
        CHECK(hits(s, "星图") == 0);
        CHECK(meta_is(s, "tokenizer", "odx-tok-v1"));
    }
    store_close(s);
    s = NULL;

    /* the next writer rebuilds from the captions and records the id */
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return check_result("test_emb_fts_rebuild");
    CHECK(meta_is(s, "tokenizer", emb_tokenizer_id()));
    CHECK(hits(s, "星图") == 1);
    CHECK(hits(s, "進寶") == 1);
    CHECK(hits(s, "wenkai") == 1);
    /* only once: with the id current, an open leaves FTS5 alone */
    age_index(s, NULL);
    store_close(s);
    s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (s)
        CHECK(hits(s, "星图") == 0);
    /* an index from before the id was kept (no meta row) is rebuilt too */
    if (s) {
        CHECK(sqlite3_exec(store_sqlite(s), "DELETE FROM meta WHERE key='tokenizer'", NULL,
                           NULL, NULL) == SQLITE_OK);
        store_close(s);
        s = NULL;
        CHECK(store_open(dir, false, &s, &e) == ODX_OK);
        if (s)
            CHECK(hits(s, "星图") == 1);
    }
    store_close(s);
    rmtree(dir);
    return check_result("test_emb_fts_rebuild");
}

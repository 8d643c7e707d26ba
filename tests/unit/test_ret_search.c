/* test_ret_search.c - ranking evidence of retriever/search.c on a small
 * store built through the storage API: a query word met by the word itself
 * counts fully toward term coverage, met only through an expansion (the
 * other language's word, a synonym) it counts half; the literal match
 * ranks first. */
#include "check.h"
#include "embedder.h"
#include "retriever.h"
#include "storage.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void rmtree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

/* Content whose caption and tags vectors are the embeddings of its texts,
 * as the indexer makes them. */
static odx_status put(store *s, const char *hash, const char *path, const char *caption,
                      const char *tags)
{
    odx_err e = {0};
    float *v = malloc(sizeof(float) * EMB_DIM * 2);
    if (!v)
        return ODX_ERR_NOMEM;
    emb_embed(caption, strlen(caption), v);
    emb_embed(tags, strlen(tags), v + EMB_DIM);
    store_vec sv[2] = {{"caption", v}, {"tags", v + EMB_DIM}};
    store_text t[2] = {{"detailed", "en", caption}, {"tags", "en", tags}};
    store_content c = {0};
    c.desc_json = "{}";
    c.format = "jpeg";
    c.domain = "photo";
    c.width = 800;
    c.height = 600;
    c.engine_version = "test";
    c.embedder = emb_model_id();
    c.texts = t;
    c.n_texts = 2;
    c.vecs = sv;
    c.n_vecs = 2;
    odx_status rc = store_content_put(s, hash, &c, &e);
    if (rc == ODX_OK)
        rc = store_image_put_ok(s, path, 1, 1, hash, &e);
    if (rc != ODX_OK)
        fprintf(stderr, "put %s: %s\n", hash, e.msg);
    free(v);
    return rc;
}

static double coverage_of(const odx_result *r)
{
    const char *p = r && r->explain ? strstr(r->explain, "term coverage ") : NULL;
    return p ? atof(p + strlen("term coverage ")) : -1;
}

int main(void)
{
    char tmpl[] = "/tmp/odx_ret_search_XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return check_result("test_ret_search");
    odx_err e = {0};
    store *s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s) {
        rmtree(dir);
        return check_result("test_ret_search");
    }
    CHECK(store_begin(s, &e) == ODX_OK);
    /* "cat" is a lexicon concept: 猫 is its Chinese form */
    CHECK(put(s, "aaaa0001", "/p/zh.jpg", "一只猫睡在沙发上。", "猫, 沙发, 照片") == ODX_OK);
    CHECK(put(s, "bbbb0002", "/p/en.jpg", "A cat asleep on a sofa.", "cat, sofa, photo") ==
          ODX_OK);
    CHECK(put(s, "cccc0003", "/p/dog.jpg", "A dog on the grass.", "dog, grass, photo") ==
          ODX_OK);
    CHECK(store_commit(s, &e) == ODX_OK);

    odx_search_params p = {0};
    p.k = 3;
    p.w_dense = 1;
    p.w_lexical = 1;
    p.explain = true;
    odx_results *res = NULL;
    CHECK(ret_search(s, "猫", &p, &res, &e) == ODX_OK);
    int n = res ? ret_results_count(res) : 0;
    CHECK_MSG(n >= 2, "%d results", n);
    if (n >= 2) {
        const odx_result *a = ret_results_get(res, 0), *b = ret_results_get(res, 1);
        CHECK_MSG(strcmp(a->path, "/p/zh.jpg") == 0, "first %s", a->path);
        CHECK_MSG(strcmp(b->path, "/p/en.jpg") == 0, "second %s", b->path);
        CHECK_MSG(coverage_of(a) > 0.99, "literal coverage %.2f", coverage_of(a));
        CHECK_MSG(coverage_of(b) > 0.45 && coverage_of(b) < 0.55,
                  "expansion-only coverage %.2f", coverage_of(b));
        CHECK(a->score > b->score);
    }
    ret_results_free(res);

    /* and the other way round: the English word in the English caption */
    res = NULL;
    CHECK(ret_search(s, "cat", &p, &res, &e) == ODX_OK);
    n = res ? ret_results_count(res) : 0;
    CHECK(n >= 2);
    if (n >= 2) {
        const odx_result *a = ret_results_get(res, 0), *b = ret_results_get(res, 1);
        CHECK_MSG(strcmp(a->path, "/p/en.jpg") == 0, "first %s", a->path);
        CHECK_MSG(coverage_of(a) > 0.99 && coverage_of(b) < 0.55, "coverage %.2f / %.2f",
                  coverage_of(a), coverage_of(b));
    }
    /* the object of search --json and GET /search: the query as given,
     * count, and the array of ret_results_json */
    char *js = ret_results_object_json(res), *arr = ret_results_json(res);
    cJSON *o = js ? cJSON_Parse(js) : NULL, *a = arr ? cJSON_Parse(arr) : NULL;
    CHECK(o && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "query")), "cat") == 0);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "count")) == n);
    CHECK(a && cJSON_Compare(cJSON_GetObjectItem(o, "results"), a, true));
    CHECK(!cJSON_GetObjectItem(o, "similar_to"));
    cJSON_Delete(o);
    cJSON_Delete(a);
    free(js);
    free(arr);
    ret_results_free(res);

    store_close(s);
    rmtree(dir);
    return check_result("test_ret_search");
}

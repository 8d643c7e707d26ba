/* test_ret_search.c - ranking evidence of retriever/search.c on a small
 * store built through the storage API: a query word met by the word itself
 * counts fully toward term coverage, met only through an expansion (the
 * other language's word, a synonym) it counts half; the literal match
 * ranks first. The file-size filter keeps the sizes within its bounds. */
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
static odx_status put_sized(store *s, const char *hash, const char *path, const char *caption,
                            const char *tags, int64_t size)
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
        rc = store_image_put_ok(s, path, size, 1, hash, &e);
    if (rc != ODX_OK)
        fprintf(stderr, "put %s: %s\n", hash, e.msg);
    free(v);
    return rc;
}

static odx_status put(store *s, const char *hash, const char *path, const char *caption,
                      const char *tags)
{
    return put_sized(s, hash, path, caption, tags, 1);
}

/* The paths a search for q finds, in order, joined by spaces ("" on
 * failure, "!" on a refused search). */
static void paths_of(store *s, const char *q, const odx_search_params *p, char *out, size_t n)
{
    odx_results *r = NULL;
    out[0] = 0;
    if (ret_search(s, q, p, &r, NULL) != ODX_OK) {
        snprintf(out, n, "!");
        return;
    }
    for (int i = 0; i < ret_results_count(r); i++) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", i ? " " : "", ret_results_get(r, i)->path);
    }
    ret_results_free(r);
}

/* min_size / max_size (and minsize: / maxsize:) keep the files whose size
 * as indexed is within the bounds, both included; results carry it. */
static void test_size_filter(store *s)
{
    odx_err e = {0};
    CHECK(store_begin(s, &e) == ODX_OK);
    CHECK(put_sized(s, "dddd0001", "/b/small.jpg", "A red bus in the street.", "bus, street",
                    1000) == ODX_OK);
    CHECK(put_sized(s, "dddd0002", "/b/mid.jpg", "A red bus at the stop.", "bus, stop",
                    5000) == ODX_OK);
    CHECK(put_sized(s, "dddd0003", "/b/big.jpg", "A red bus on the bridge.", "bus, bridge",
                    204800) == ODX_OK);
    CHECK(store_commit(s, &e) == ODX_OK);
    odx_search_params p = ret_search_params_default();
    p.path_prefix = "/b/";
    char got[256];
    paths_of(s, "bus", &p, got, sizeof got);
    CHECK_MSG(strstr(got, "small") && strstr(got, "mid") && strstr(got, "big"), "all: %s", got);
    p.min_size = 5000; /* included */
    paths_of(s, "bus", &p, got, sizeof got);
    CHECK_MSG(!strstr(got, "small") && strstr(got, "mid") && strstr(got, "big"), ">=5000: %s", got);
    p.max_size = 5000;
    paths_of(s, "bus", &p, got, sizeof got);
    CHECK_STR(got, "/b/mid.jpg");
    p.min_size = 0;
    p.max_size = 4999;
    paths_of(s, "bus", &p, got, sizeof got);
    CHECK_STR(got, "/b/small.jpg");
    p.max_size = 0;
    paths_of(s, "bus minsize:200K", &p, got, sizeof got);
    CHECK_STR(got, "/b/big.jpg");
    /* a filter-only query lists by the bounds too */
    paths_of(s, "maxsize:1000", &p, got, sizeof got);
    CHECK_STR(got, "/b/small.jpg");
    /* flags and inline bounds both hold: the tighter of each */
    p.min_size = 2000;
    paths_of(s, "bus minsize:1K maxsize:10K", &p, got, sizeof got);
    CHECK_STR(got, "/b/mid.jpg");
    /* ... and together may leave no size at all: refused, said why */
    odx_results *r = NULL;
    odx_err e2 = {0};
    CHECK(ret_search(s, "bus maxsize:1K", &p, &r, &e2) == ODX_ERR_INVALID && r == NULL);
    CHECK_MSG(strstr(e2.msg, "below min-size") != NULL, "%s", e2.msg);
    p.min_size = 0;
    CHECK(ret_search(s, "bus", &p, &r, NULL) == ODX_OK);
    for (int i = 0; r && i < ret_results_count(r); i++) {
        const odx_result *x = ret_results_get(r, i);
        int64_t want = strstr(x->path, "small") ? 1000 : strstr(x->path, "mid") ? 5000 : 204800;
        CHECK_MSG(x->size == want, "%s: size %lld", x->path, (long long)x->size);
    }
    char *js = ret_results_json(r);
    cJSON *a = js ? cJSON_Parse(js) : NULL, *it;
    bool big = false;
    cJSON_ArrayForEach(it, a) big |= cJSON_GetNumberValue(cJSON_GetObjectItem(it, "size")) == 204800;
    CHECK_MSG(big, "JSON size: %s", js ? js : "-");
    cJSON_Delete(a);
    free(js);
    ret_results_free(r);
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

    test_size_filter(s);

    store_close(s);
    rmtree(dir);
    return check_result("test_ret_search");
}

/* test_store_search.c - storage: content with captions and vectors, FTS5
 * through the "odx" tokenizer (English and Chinese, 1- and 2-character
 * queries), dense search, replacing content, delete + gc, generations. */
#include "check.h"
#include "storage.h"

#include <stdint.h>
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

/* Deterministic pseudo-random unit vector. */
static void unit_vec(float *v, int dim, uint32_t seed)
{
    double n = 0;
    uint32_t x = seed * 2654435761u + 12345u;
    for (int i = 0; i < dim; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v[i] = (float)((double)(x & 0xffff) / 65535.0 - 0.5);
        n += (double)v[i] * v[i];
    }
    for (int i = 0; i < dim; i++)
        v[i] = (float)(v[i] / sqrt(n));
}

static int64_t gen_of(store *s)
{
    char *v = NULL;
    odx_err e = {0};
    int64_t g = -1;
    if (store_meta_get(s, "generation", &v, &e) == ODX_OK && v)
        g = atoll(v);
    free(v);
    return g;
}

/* FTS hits for match; returns count, and whether hash is among them. */
static int fts(store *s, const char *match, const char *hash, bool *has)
{
    store_hit *h = NULL;
    int n = 0;
    odx_err e = {0};
    *has = false;
    if (store_fts_search(s, match, 50, &h, &n, &e) != ODX_OK) {
        fprintf(stderr, "fts '%s': %s\n", match, e.msg);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(h[i].hash, hash) == 0)
            *has = true;
        if (i > 0 && h[i].score > h[i - 1].score)
            *has = false; /* must be best first */
    }
    free(h);
    return n;
}

static odx_status put(store *s, const char *hash, const store_text *t, int nt, float *vecs,
                      int nv)
{
    odx_err e = {0};
    store_vec sv[4];
    static const char *fields[] = {"caption", "tags", "text", "extra"};
    for (int i = 0; i < nv; i++) {
        sv[i].field = fields[i];
        sv[i].v = vecs + (size_t)i * store_dim(s);
    }
    store_content c = {0};
    c.desc_json = "{}";
    c.format = "png";
    c.domain = "chart";
    c.width = 640;
    c.height = 480;
    c.engine_version = "eng-1";
    c.embedder = "emb-1";
    c.texts = t;
    c.n_texts = nt;
    c.vecs = sv;
    c.n_vecs = nv;
    odx_status rc = store_content_put(s, hash, &c, &e);
    if (rc != ODX_OK)
        fprintf(stderr, "put %s: %s\n", hash, e.msg);
    return rc;
}

int main(void)
{
    char tmpl[] = "/tmp/odx_store_search_XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return check_result("test_store_search");
    odx_err e = {0};
    store *s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return check_result("test_store_search");
    int dim = store_dim(s);
    float *va = malloc(sizeof(float) * dim * 2), *vb = malloc(sizeof(float) * dim * 2);
    float *vc = malloc(sizeof(float) * dim);
    unit_vec(va, dim, 1);
    unit_vec(va + dim, dim, 2);
    unit_vec(vb, dim, 3);
    unit_vec(vb + dim, dim, 4);
    unit_vec(vc, dim, 5);

    const char *HA = "aaaa1111", *HB = "bbbb2222";
    store_text ta[] = {
        {"detailed", "en", "A bar chart of quarterly sales by region"},
        {"detailed", "zh", "一张按地区显示季度销售额的柱状图"},
        {"tags", "en", "chart, bar, sales"},
    };
    store_text tb[] = {
        {"detailed", "en", "A photo of a cat sleeping on a red sofa"},
        {"short", "zh", "红色沙发上的猫"},
    };

    int64_t g0 = gen_of(s);
    CHECK(store_begin(s, &e) == ODX_OK);
    CHECK(put(s, HA, ta, 3, va, 2) == ODX_OK);
    CHECK(put(s, HB, tb, 2, vb, 2) == ODX_OK);
    CHECK(store_image_put_ok(s, "/p/a.png", 1, 1, HA, &e) == ODX_OK);
    CHECK(store_image_put_ok(s, "/p/b.jpg", 1, 1, HB, &e) == ODX_OK);
    CHECK(store_commit(s, &e) == ODX_OK);
    int64_t g1 = gen_of(s);
    CHECK(g1 == g0 + 1);

    /* a batch without vector changes keeps the generation */
    CHECK(store_begin(s, &e) == ODX_OK);
    CHECK(store_image_put_ok(s, "/p/a2.png", 1, 1, HA, &e) == ODX_OK);
    CHECK(store_commit(s, &e) == ODX_OK);
    CHECK(gen_of(s) == g1);

    char eng[32], emb[32];
    bool found = false;
    CHECK(store_content_get(s, HA, eng, emb, &found, &e) == ODX_OK);
    CHECK(found);
    CHECK_STR(eng, "eng-1");
    CHECK_STR(emb, "emb-1");
    CHECK(store_content_get(s, "cccc", eng, emb, &found, &e) == ODX_OK);
    CHECK(!found);

    /* lexical: English word, Chinese 2 chars, Chinese 1 char, none */
    bool has;
    CHECK(fts(s, "\"sales\"", HA, &has) >= 1 && has);
    CHECK(fts(s, "\"SALES\"", HA, &has) >= 1 && has); /* case folded */
    CHECK(fts(s, "\"销售\"", HA, &has) >= 1 && has);
    CHECK(fts(s, "\"图\"", HA, &has) >= 1 && has);
    CHECK(fts(s, "\"猫\"", HB, &has) == 1 && has);
    CHECK(fts(s, "\"沙发\"", HB, &has) == 1 && has);
    CHECK(fts(s, "\"sofa\" OR \"region\"", HA, &has) == 2 && has);
    CHECK(fts(s, "\"giraffe\"", HA, &has) == 0);
    CHECK(fts(s, "\"柱状图\"", HA, &has) == 1 && has);
    CHECK(fts(s, "\"状柱\"", HA, &has) == 0); /* order matters in a phrase */
    {
        store_hit *h = NULL;
        int n = 0;
        CHECK(store_fts_search(s, "\"猫\"", 10, &h, &n, &e) == ODX_OK);
        CHECK(n == 1);
        if (n == 1) {
            CHECK_STR(h[0].field, "short");
            CHECK_STR(h[0].lang, "zh");
            CHECK(h[0].score > 0);
        }
        free(h);
    }

    /* malformed MATCH: ODX_ERR_INVALID with SQLite's message, no crash */
    {
        store_hit *h = NULL;
        int n = 0;
        core_err_clear(&e);
        CHECK(store_fts_search(s, "\"unterminated", 10, &h, &n, &e) == ODX_ERR_INVALID);
        /* SQLite's own reason is passed on */
        CHECK(strstr(e.msg, "unterminated") != NULL);
        core_err_clear(&e);
        CHECK(store_fts_search(s, "AND OR (", 10, &h, &n, &e) == ODX_ERR_INVALID);
        core_err_clear(&e);
        CHECK(store_fts_search(s, "nosuchcol: x", 10, &h, &n, &e) == ODX_ERR_INVALID);
        core_err_clear(&e);
    }

    /* dense: each stored vector finds its own hash first, score ~ 1 */
    {
        store_hit *h = NULL;
        int n = 0;
        CHECK(store_dense_search(s, vb + dim, 3, &h, &n, &e) == ODX_OK);
        CHECK(n == 3);
        if (n >= 1) {
            CHECK_STR(h[0].hash, HB);
            CHECK_STR(h[0].field, "tags");
            CHECK_NEAR(h[0].score, 1.0, 1e-4);
            CHECK(n < 2 || h[1].score <= h[0].score);
        }
        free(h);
        CHECK(store_dense_search(s, va, 100, &h, &n, &e) == ODX_OK);
        CHECK(n == 4); /* k larger than ntotal */
        if (n >= 1) {
            CHECK_STR(h[0].hash, HA);
            CHECK_STR(h[0].field, "caption");
        }
        free(h);
        core_err_clear(&e);
        CHECK(store_dense_search(s, va, 0, &h, &n, &e) == ODX_ERR_INVALID);
    }

    /* content texts round trip */
    {
        store_text *t = NULL;
        int n = 0;
        CHECK(store_content_texts(s, HA, &t, &n, &e) == ODX_OK);
        CHECK(n == 3);
        if (n == 3) {
            CHECK_STR(t[1].lang, "zh");
            CHECK_STR(t[1].text, ta[1].text);
            CHECK_STR(t[2].kind, "tags");
        }
        store_texts_free(t, n);
    }

    /* replace: old captions and vectors are gone from FTS and FAISS */
    store_stats st;
    CHECK(store_get_stats(s, &st, &e) == ODX_OK);
    CHECK(st.n_vectors == 4 && st.faiss_ntotal == 4 && st.n_content == 2);
    store_text ta2[] = {{"detailed", "en", "A line chart of temperature"}};
    CHECK(put(s, HA, ta2, 1, vc, 1) == ODX_OK); /* outside a batch: own batch */
    CHECK(gen_of(s) == g1 + 1);
    CHECK(fts(s, "\"sales\"", HA, &has) == 0);
    CHECK(fts(s, "\"销售\"", HA, &has) == 0);
    CHECK(fts(s, "\"temperature\"", HA, &has) == 1 && has);
    CHECK(store_get_stats(s, &st, &e) == ODX_OK);
    CHECK(st.n_vectors == 3 && st.faiss_ntotal == 3);
    {
        store_hit *h = NULL;
        int n = 0;
        CHECK(store_dense_search(s, va, 10, &h, &n, &e) == ODX_OK);
        for (int i = 0; i < n; i++)
            CHECK(h[i].score < 0.9); /* va itself is no longer stored */
        free(h);
        CHECK(store_dense_search(s, vc, 1, &h, &n, &e) == ODX_OK);
        CHECK(n == 1 && strcmp(h[0].hash, HA) == 0);
        free(h);
    }

    /* vectors_replace keeps captions, swaps vectors, records the embedder */
    CHECK(store_vectors_replace(s, HA, (store_vec[]){{"caption", va}}, 1, "emb-2", &e) ==
          ODX_OK);
    CHECK(store_content_get(s, HA, eng, emb, &found, &e) == ODX_OK);
    CHECK_STR(emb, "emb-2");
    CHECK(fts(s, "\"temperature\"", HA, &has) == 1 && has);
    {
        store_hit *h = NULL;
        int n = 0;
        CHECK(store_dense_search(s, va, 1, &h, &n, &e) == ODX_OK);
        CHECK(n == 1 && strcmp(h[0].hash, HA) == 0 && h[0].score > 0.99);
        free(h);
    }
    /* non-finite vectors are refused */
    float *nanv = calloc((size_t)dim, sizeof(float));
    nanv[3] = NAN;
    core_err_clear(&e);
    CHECK(store_vectors_replace(s, HA, (store_vec[]){{"caption", nanv}}, 1, "x", &e) ==
          ODX_ERR_INVALID);
    free(nanv);

    /* delete + gc: HB loses its only image; HA keeps two */
    store_image im = {0};
    CHECK(store_image_get(s, "/p/b.jpg", &im, &found, &e) == ODX_OK && found);
    int64_t gen_before = gen_of(s);
    CHECK(store_begin(s, &e) == ODX_OK);
    CHECK(store_image_delete(s, im.id, &e) == ODX_OK);
    int64_t n_removed = -1;
    CHECK(store_content_gc(s, &n_removed, &e) == ODX_OK);
    CHECK(store_commit(s, &e) == ODX_OK);
    store_image_clear(&im);
    CHECK(n_removed == 1);
    CHECK(gen_of(s) == gen_before + 1);
    CHECK(fts(s, "\"猫\"", HB, &has) == 0);
    CHECK(store_content_get(s, HB, eng, emb, &found, &e) == ODX_OK);
    CHECK(!found);
    CHECK(store_get_stats(s, &st, &e) == ODX_OK);
    CHECK(st.n_content == 1 && st.n_vectors == 1 && st.faiss_ntotal == 1);
    {
        store_hit *h = NULL;
        int n = 0;
        CHECK(store_dense_search(s, vb, 5, &h, &n, &e) == ODX_OK);
        for (int i = 0; i < n; i++)
            CHECK(strcmp(h[i].hash, HB) != 0);
        free(h);
    }
    /* gc with nothing to do does not move the generation */
    CHECK(store_content_gc(s, &n_removed, &e) == ODX_OK);
    CHECK(n_removed == 0);
    CHECK(gen_of(s) == gen_before + 1);

    /* an error row for a file drops its reference; gc then removes content */
    CHECK(store_image_put_error(s, "/p/a.png", 1, 1, "decode", "bad", &e) == ODX_OK);
    CHECK(store_content_gc(s, &n_removed, &e) == ODX_OK);
    CHECK(n_removed == 0); /* /p/a2.png still refers to HA */
    CHECK(store_get_stats(s, &st, &e) == ODX_OK);
    CHECK(st.n_errors == 1 && st.n_images == 1);
    CHECK(st.generation == gen_of(s));
    CHECK(strstr(st.index_type, "Flat") != NULL);
    CHECK(st.db_bytes > 0);

    /* odd caption bytes (invalid UTF-8, empty, NUL-free control chars)
     * go through the tokenizer without harm and stay searchable */
    store_text odd[] = {{"ocr", "en", "\xff\xfe zebra\xc3 \x01\x02 \xe4\xb8"},
                        {"short", "en", ""}};
    CHECK(put(s, "odd1", odd, 2, NULL, 0) == ODX_OK);
    CHECK(fts(s, "\"zebra\"", "odd1", &has) == 1 && has);

    store_close(s);
    free(va);
    free(vb);
    free(vc);
    rmtree(dir);
    return check_result("test_store_search");
}

/* test_ret_similar.c - search by example (ret_similar) on a small store
 * built through the storage API: the stored vectors come back as written
 * (store_content_vectors), a near-duplicate (a few bits of difference hash
 * apart, much the same caption) ranks first and is named so, a picture
 * with the example's hash is one whatever its domain or caption and is
 * found by its hash alone, hashes far apart are none even with the same
 * caption, the example itself is left out, a picture about the same things
 * comes before unrelated ones, filters and k hold, store_dhash_scan keeps
 * and orders what it is told, and an example without vectors or not in
 * the store is refused. The bounds are the fitted model's
 * (retriever/near_dup_model.h). */
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

/* Content with caption and tags vectors embedded from its texts (as the
 * indexer makes them; none when caption is NULL) and a difference hash. */
/* the grey grid the next put_crops stores (NULL: none) */
static const uint8_t *next_grey;

static odx_status put_crops(store *s, const char *hash, const char *path, const char *domain,
                            const char *dhash, const char *crops, const char *caption,
                            const char *tags)
{
    odx_err e = {0};
    float *v = malloc(sizeof(float) * EMB_DIM * 2);
    if (!v)
        return ODX_ERR_NOMEM;
    store_vec sv[2] = {{"caption", v}, {"tags", v + EMB_DIM}};
    store_text t[2] = {{"detailed", "en", caption ? caption : "?"},
                       {"tags", "en", tags ? tags : "?"}};
    if (caption) {
        emb_embed(caption, strlen(caption), v);
        emb_embed(tags, strlen(tags), v + EMB_DIM);
    }
    char desc[96];
    snprintf(desc, sizeof desc, "{\"dhash\":\"%s\"}", dhash);
    store_content c = {0};
    /* crops: STORE_N_DHASH_CROPS runs of 16 hex digits */
    if (crops && strlen(crops) == 16 * STORE_N_DHASH_CROPS) {
        c.has_dhash_crops = true;
        for (int k = 0; k < STORE_N_DHASH_CROPS; k++) {
            char part[17];
            memcpy(part, crops + 16 * k, 16);
            part[16] = 0;
            c.dhash_crops[k] = strtoull(part, NULL, 16);
        }
    }
    if (next_grey) {
        c.has_grey = true;
        memcpy(c.grey, next_grey, STORE_GREY_N);
        next_grey = NULL;
    }
    c.desc_json = desc;
    c.format = "jpeg";
    c.domain = domain;
    c.width = 800;
    c.height = 600;
    c.engine_version = "test";
    c.embedder = emb_model_id();
    c.texts = t;
    c.n_texts = 2;
    c.vecs = caption ? sv : NULL;
    c.n_vecs = caption ? 2 : 0;
    odx_status rc = store_content_put(s, hash, &c, &e);
    if (rc == ODX_OK)
        rc = store_image_put_ok(s, path, 1, 1, hash, &e);
    if (rc != ODX_OK)
        fprintf(stderr, "put %s: %s\n", hash, e.msg);
    free(v);
    return rc;
}

static odx_status put(store *s, const char *hash, const char *path, const char *domain,
                      const char *dhash, const char *caption, const char *tags)
{
    return put_crops(s, hash, path, domain, dhash, NULL, caption, tags);
}

/* store_dhash_scan rankers: bits from the cat's hash (all kept); none
 * kept; the rows with crop hashes only */
static int rank_by_cat(void *ctx, uint64_t dh, bool has_crops, const uint64_t *crops)
{
    (void)ctx, (void)has_crops, (void)crops;
    return __builtin_popcountll(dh ^ 0xf0f0f0f00f0f0f0fULL);
}

static int rank_none(void *ctx, uint64_t dh, bool has_crops, const uint64_t *crops)
{
    (void)ctx, (void)dh, (void)has_crops, (void)crops;
    return -1;
}

static int rank_dog(void *ctx, uint64_t dh, bool has_crops, const uint64_t *crops)
{
    (void)ctx, (void)dh, (void)crops;
    return has_crops ? 0 : -1;
}

static int index_of(const odx_results *r, const char *path)
{
    for (int i = 0; i < ret_results_count(r); i++)
        if (strcmp(ret_results_get(r, i)->path, path) == 0)
            return i;
    return -1;
}

int main(void)
{
    char tmpl[] = "/tmp/odx_ret_similar_XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return check_result("test_ret_similar");
    odx_err e = {0};
    store *s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s) {
        rmtree(dir);
        return check_result("test_ret_similar");
    }
    CHECK(store_begin(s, &e) == ODX_OK);
    const char *cat = "A grey cat asleep on a red sofa in a living room.";
    CHECK(put(s, "aaaa0001", "/p/cat.jpg", "photo", "f0f0f0f00f0f0f0f", cat,
              "cat, sofa, living room") == ODX_OK);
    /* the same photo re-encoded: 3 bits of dhash, a caption that differs a little */
    CHECK(put(s, "aaaa0002", "/p/cat_small.jpg", "photo", "f0f0f0f00f0f0f08",
              "A grey cat asleep on a red sofa.", "cat, sofa") == ODX_OK);
    /* another cat picture: other dhash */
    CHECK(put(s, "aaaa0003", "/p/cat2.jpg", "photo", "123456789abcdef0",
              "A cat asleep on a chair.", "cat, chair") == ODX_OK);
    /* 10 bits from the cat, and a chart about rainfall: not a near-duplicate */
    CHECK(put(s, "aaaa0004", "/p/chart.png", "chart", "f0f0f0f00f0f0cf0",
              "A bar chart of monthly rainfall.", "bar chart, rainfall") == ODX_OK);
    /* the cat's very hash, another domain, no vectors at all (so no dense
     * hit brings it): a copy whose domain flipped, found by its picture */
    CHECK(put(s, "aaaa0009", "/p/cat_shot.png", "screenshot", "f0f0f0f00f0f0f0f", NULL, NULL) ==
          ODX_OK);
    CHECK(put(s, "aaaa0005", "/p/bus.jpg", "photo", "0fedcba987654321",
              "A yellow bus on a city street.", "bus, street") == ODX_OK);
    CHECK(put(s, "aaaa0006", "/p/novec.jpg", "photo", "0000000000000000", NULL, NULL) ==
          ODX_OK);
    /* a photo with the hashes of its crops: the second (its central 90%) is
     * 00ff00ff00ff00ff; another without */
    CHECK(put_crops(s, "aaaa0007", "/p/dog.jpg", "photo", "5555aaaa5555aaaa",
                    "0123456789abcdef00ff00ff00ff00ff1111111111111111222222222222222233333333"
                    "3333333344444444444444446666666666666666777777777777777f",
                    "A brown dog running on a beach.", "dog, beach, sand") == ODX_OK);
    CHECK(put_crops(s, "aaaa0008", "/p/dog2.jpg", "photo", "5555aaaa5555aaab", NULL,
                    "A brown dog running on a beach at dusk.", "dog, beach") == ODX_OK);
    /* a texture with its grey grid (a pattern, not flat) */
    uint8_t texture[STORE_GREY_N];
    for (int i = 0; i < STORE_GREY_N; i++)
        texture[i] = (uint8_t)(i * 37 % 251);
    next_grey = texture;
    CHECK(put(s, "aaaa000a", "/p/texture.png", "photo", "3c3c3c3cc3c3c3c3",
              "A woven basket seen from above.", "basket, wicker") == ODX_OK);
    CHECK(store_commit(s, &e) == ODX_OK);

    store_vecs qv = {0};
    CHECK(store_content_vectors(s, "aaaa0001", &qv, &e) == ODX_OK);
    CHECK(qv.n == 2 && qv.dim == EMB_DIM);
    if (qv.n == 2) {
        float *want = malloc(sizeof(float) * EMB_DIM);
        CHECK_STR(qv.field[0], "caption");
        CHECK_STR(qv.field[1], "tags");
        if (want) {
            emb_embed(cat, strlen(cat), want);
            CHECK(memcmp(want, qv.v, sizeof(float) * EMB_DIM) == 0);
        }
        free(want);
    }
    store_vecs_clear(&qv);
    CHECK(qv.n == 0 && qv.v == NULL);
    CHECK(store_content_vectors(s, "aaaa0006", &qv, &e) == ODX_OK && qv.n == 0);
    store_vecs_clear(&qv);

    odx_search_params p = ret_search_params_default();
    p.k = 10;
    odx_results *r = NULL;
    CHECK(ret_similar(s, "aaaa0001", &p, &r, &e) == ODX_OK);
    if (r) {
        CHECK(ret_results_count(r) >= 3);
        const odx_result *top = ret_results_get(r, 0);
        CHECK(top && strcmp(top->path, "/p/cat_small.jpg") == 0);
        CHECK(top && top->matched && strcmp(top->matched, "near-identical picture") == 0);
        CHECK(top && top->score >= 0.9 && top->score <= 1.0);
        CHECK(top && top->hash && strcmp(top->hash, "aaaa0002") == 0);
        CHECK(index_of(r, "/p/cat.jpg") < 0); /* the example itself */
        int cat2 = index_of(r, "/p/cat2.jpg"), bus = index_of(r, "/p/bus.jpg");
        int chart = index_of(r, "/p/chart.png");
        CHECK(cat2 > 0 && (bus < 0 || cat2 < bus));
        CHECK_MSG(chart != 0, "the chart 10 bits from the cat is no near-duplicate");
        const odx_result *rc = chart >= 0 ? ret_results_get(r, chart) : NULL;
        /* not called a copy; if it ranks among them (possibly the same
         * picture), then after the copies */
        CHECK(!rc || strcmp(rc->matched, "near-identical picture") != 0);
        CHECK(!rc || rc->score < 0.9 || strcmp(rc->matched, "possibly the same picture") == 0);
        CHECK(!rc || chart > 1);
        int shot = index_of(r, "/p/cat_shot.png");
        CHECK_MSG(shot == 1, "the cat's hash in a screenshot without vectors is second: %d", shot);
        const odx_result *rs = shot >= 0 ? ret_results_get(r, shot) : NULL;
        CHECK(rs && rs->score >= 0.9 && strcmp(rs->matched, "near-identical picture") == 0);
        for (int i = 1; i < ret_results_count(r); i++)
            CHECK(ret_results_get(r, i)->score <= ret_results_get(r, i - 1)->score);
    }
    ret_results_free(r);
    r = NULL;

    p.k = 1;
    CHECK(ret_similar(s, "aaaa0001", &p, &r, &e) == ODX_OK && ret_results_count(r) == 1);
    /* the object of search --like --json and /similar: the example's id,
     * or the path of a file not indexed (the path rule: like_b64) */
    CHECK(ret_results_set_example(r, 42, NULL, &e) == ODX_OK);
    char *js = ret_results_object_json(r);
    cJSON *o = js ? cJSON_Parse(js) : NULL;
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "similar_to")) == 42);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "count")) == 1);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "results")) == 1);
    CHECK(!cJSON_GetObjectItem(o, "query") && !cJSON_GetObjectItem(o, "like"));
    cJSON_Delete(o);
    free(js);
    CHECK(ret_results_set_example(r, 0, "/x/caf\xe9.png", &e) == ODX_OK);
    js = ret_results_object_json(r);
    o = js ? cJSON_Parse(js) : NULL;
    const char *like = cJSON_GetStringValue(cJSON_GetObjectItem(o, "like"));
    const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItem(o, "like_b64"));
    CHECK_MSG(like && strcmp(like, "/x/caf\xef\xbf\xbd.png") == 0, "like %s", like ? like : "-");
    CHECK_MSG(b64 && strcmp(b64, "L3gvY2Fm6S5wbmc=") == 0, "like_b64 %s", b64 ? b64 : "-");
    CHECK(!cJSON_GetObjectItem(o, "similar_to"));
    cJSON_Delete(o);
    free(js);
    ret_results_free(r);
    r = NULL;
    p.k = 10;
    p.domain = "chart";
    CHECK(ret_similar(s, "aaaa0001", &p, &r, &e) == ODX_OK && ret_results_count(r) == 1 &&
          strcmp(ret_results_get(r, 0)->path, "/p/chart.png") == 0);
    ret_results_free(r);
    r = NULL;
    p.domain = NULL;

    /* an example given by its vectors (not stored as such): the cat's own
     * vectors and dhash, nothing excluded -> the cat first, near-identical */
    store_vecs cv = {0};
    CHECK(store_content_vectors(s, "aaaa0001", &cv, &e) == ODX_OK && cv.n == 2);
    ret_example ex = {.vecs = &cv, .has_dhash = true, .dhash = 0xf0f0f0f00f0f0f0fULL,
                      .domain = "photo", .exclude_hash = NULL};
    CHECK(ret_similar_to(s, &ex, &p, &r, &e) == ODX_OK);
    CHECK(r && ret_results_count(r) >= 2 && strcmp(ret_results_get(r, 0)->path, "/p/cat.jpg") == 0 &&
          strcmp(ret_results_get(r, 0)->matched, "near-identical picture") == 0);
    ret_results_free(r);
    r = NULL;
    /* the domain plays no part: without one the cat is still near-identical */
    ex.domain = NULL;
    CHECK(ret_similar_to(s, &ex, &p, &r, &e) == ODX_OK);
    CHECK(r && ret_results_count(r) >= 1 && strcmp(ret_results_get(r, 0)->path, "/p/cat.jpg") == 0 &&
          ret_results_get(r, 0)->score >= 0.9);
    ret_results_free(r);
    r = NULL;
    /* 22 bits from every stored hash, the cat's own vectors: similar, no
     * near duplicate (the caption alone does not make one) */
    ex.dhash = 0xf0f0f0f0f0f0f0f0ULL ^ 0x0000ffff0000003fULL;
    CHECK(ret_similar_to(s, &ex, &p, &r, &e) == ODX_OK);
    CHECK(r && ret_results_count(r) >= 1 && strcmp(ret_results_get(r, 0)->path, "/p/cat.jpg") == 0 &&
          ret_results_get(r, 0)->score < 0.9);
    ret_results_free(r);
    r = NULL;
    store_vecs_clear(&cv);

    /* cropped copies (store_content_info_get reads the crop hashes) */
    store_content_info di = {0};
    bool found = false;
    CHECK(store_content_info_get(s, "aaaa0007", &di, &found, &e) == ODX_OK && found);
    CHECK(di.has_dhash_crops && di.dhash_crops[1] == 0x00ff00ff00ff00ffULL &&
          di.dhash_crops[7] == 0x777777777777777fULL);
    store_content_info_clear(&di);
    CHECK(store_content_info_get(s, "aaaa0008", &di, &found, &e) == ODX_OK && found);
    CHECK(!di.has_dhash_crops && di.dhash_crops[0] == 0);
    store_content_info_clear(&di);
    store_vecs dv = {0};
    CHECK(store_content_vectors(s, "aaaa0007", &dv, &e) == ODX_OK && dv.n == 2);
    /* the example is a crop: its hash is the stored central 90% crop's,
     * 3 bits off, and 32 bits from the dog's whole picture */
    ret_example cx = {.vecs = &dv, .has_dhash = true, .dhash = 0x00ff00ff00ff00f8ULL,
                      .domain = "photo", .exclude_hash = "aaaa0008"};
    CHECK(ret_similar_to(s, &cx, &p, &r, &e) == ODX_OK);
    CHECK_MSG(r && ret_results_count(r) >= 1 &&
                  strcmp(ret_results_get(r, 0)->path, "/p/dog.jpg") == 0 &&
                  strcmp(ret_results_get(r, 0)->matched, "near-identical picture") == 0,
              "a crop finds its original as near-identical: %s",
              r && ret_results_count(r) ? ret_results_get(r, 0)->matched : "-");
    ret_results_free(r);
    r = NULL;
    /* 16 bits from the crop hash, the dog's own caption: no near duplicate */
    cx.dhash = 0x00ff00ff00000000ULL;
    CHECK(ret_similar_to(s, &cx, &p, &r, &e) == ODX_OK);
    CHECK(r && ret_results_count(r) >= 1 && ret_results_get(r, 0)->score < 0.9);
    ret_results_free(r);
    r = NULL;
    /* the example is the original, with the hashes of its crops, and the
     * indexed picture is its crop: the example's crop hash against the
     * stored whole-picture hash */
    cx.dhash = 0x0f0f0f0f0f0f0f0fULL;
    cx.has_dhash_crops = true;
    for (int k = 0; k < STORE_N_DHASH_CROPS; k++)
        cx.dhash_crops[k] = 0x0f0f0f0f0f0f0f0fULL;
    cx.dhash_crops[3] = 0x5555aaaa5555aaabULL; /* dog2's hash, 0 bits; dog's 1 bit */
    cx.exclude_hash = "aaaa0007";
    CHECK(ret_similar_to(s, &cx, &p, &r, &e) == ODX_OK);
    CHECK(r && ret_results_count(r) >= 1 &&
          strcmp(ret_results_get(r, 0)->path, "/p/dog2.jpg") == 0 &&
          strcmp(ret_results_get(r, 0)->matched, "near-identical picture") == 0);
    ret_results_free(r);
    r = NULL;
    store_vecs_clear(&dv);

    /* the grey grids: 12 bits from the texture's hash and the cat's
     * caption is no near duplicate by the hashes, but with the texture's
     * very grey grid it is one (and its grid is read back as stored) */
    store_content_info ti = {0};
    CHECK(store_content_info_get(s, "aaaa000a", &ti, &found, &e) == ODX_OK && found &&
          ti.has_grey && memcmp(ti.grey, texture, sizeof texture) == 0);
    store_content_info_clear(&ti);
    CHECK(store_content_info_get(s, "aaaa0001", &ti, &found, &e) == ODX_OK && found &&
          !ti.has_grey);
    store_content_info_clear(&ti);
    CHECK(store_content_vectors(s, "aaaa0001", &dv, &e) == ODX_OK && dv.n == 2);
    ret_example gx = {.vecs = &dv, .has_dhash = true, .dhash = 0x3c3c3c3cc3c3c3c3ULL ^ 0xfffULL,
                      .domain = "photo", .exclude_hash = "aaaa0001"};
    CHECK(ret_similar_to(s, &gx, &p, &r, &e) == ODX_OK);
    int tx = r ? index_of(r, "/p/texture.png") : -1;
    CHECK_MSG(tx < 0 || strcmp(ret_results_get(r, tx)->matched, "near-identical picture") != 0,
              "no grey: texture at %d called a copy", tx);
    ret_results_free(r);
    r = NULL;
    gx.has_grey = true;
    memcpy(gx.grey, texture, sizeof texture);
    CHECK(ret_similar_to(s, &gx, &p, &r, &e) == ODX_OK);
    CHECK_MSG(r && ret_results_count(r) >= 1 &&
                  strcmp(ret_results_get(r, 0)->path, "/p/texture.png") == 0 &&
                  strcmp(ret_results_get(r, 0)->matched, "near-identical picture") == 0,
              "the same grey grid: %s", r && ret_results_count(r) ? ret_results_get(r, 0)->path : "-");
    ret_results_free(r);
    r = NULL;
    /* explain reads the pair as the model did: 12 bits, 32 set, r 1 */
    p.explain = true;
    CHECK(ret_similar_to(s, &gx, &p, &r, &e) == ODX_OK);
    const char *why = r && ret_results_count(r) ? ret_results_get(r, 0)->explain : NULL;
    CHECK_MSG(why && strstr(why, "picture: hash distance 12 (crops +") &&
                  strstr(why, "32 bits set, grey r 1.00, copy p 0."),
              "explain: %s", why ? why : "-");
    ret_results_free(r);
    r = NULL;
    p.explain = false;
    /* a flat grid says nothing: the same hashes, the example's grid flat */
    memset(gx.grey, 90, sizeof gx.grey);
    CHECK(ret_similar_to(s, &gx, &p, &r, &e) == ODX_OK);
    tx = r ? index_of(r, "/p/texture.png") : -1;
    CHECK_MSG(tx < 0 || ret_results_get(r, tx)->score < 0.9, "flat grid: texture at %d", tx);
    ret_results_free(r);
    r = NULL;
    store_vecs_clear(&dv);

    /* the scan: what rank keeps, in key order, at most max of them */
    store_dhash_row *rows = NULL;
    int n_rows = -1;
    CHECK(store_dhash_scan(s, rank_by_cat, NULL, 3, &rows, &n_rows, &e) == ODX_OK);
    CHECK_MSG(n_rows == 3, "rows %d", n_rows);
    if (rows && n_rows == 3) {
        /* 0 bits: the cat and the screenshot (by content hash), then 3 */
        CHECK_STR(rows[0].hash, "aaaa0001");
        CHECK_STR(rows[1].hash, "aaaa0009");
        CHECK_STR(rows[2].hash, "aaaa0002");
        CHECK(rows[0].key == 0 && rows[1].key == 0 && rows[2].key == 3);
        CHECK(rows[2].dhash == 0xf0f0f0f00f0f0f08ULL && !rows[2].has_crops);
    }
    free(rows);
    rows = NULL;
    /* the scan's copy of the hashes follows writes: this connection's,
     * then another's (a second store on the same directory) */
    CHECK(store_begin(s, &e) == ODX_OK);
    CHECK(put(s, "aaaa0000", "/p/cat_again.jpg", "photo", "f0f0f0f00f0f0f0f", NULL, NULL) ==
          ODX_OK);
    CHECK(store_commit(s, &e) == ODX_OK);
    CHECK(store_dhash_scan(s, rank_by_cat, NULL, 3, &rows, &n_rows, &e) == ODX_OK && n_rows == 3);
    CHECK(rows && strcmp(rows[0].hash, "aaaa0000") == 0 && strcmp(rows[2].hash, "aaaa0009") == 0);
    free(rows);
    rows = NULL;
    store *s2 = NULL;
    CHECK(store_open(dir, false, &s2, &e) == ODX_OK);
    if (s2) {
        CHECK(store_begin(s2, &e) == ODX_OK);
        CHECK(put(s2, "0aaa0000", "/p/cat_once_more.jpg", "photo", "f0f0f0f00f0f0f0f", NULL,
                  NULL) == ODX_OK);
        CHECK(store_commit(s2, &e) == ODX_OK);
        store_close(s2);
    }
    CHECK(store_dhash_scan(s, rank_by_cat, NULL, 3, &rows, &n_rows, &e) == ODX_OK && n_rows == 3);
    CHECK_MSG(rows && strcmp(rows[0].hash, "0aaa0000") == 0 &&
                  strcmp(rows[1].hash, "aaaa0000") == 0 && strcmp(rows[2].hash, "aaaa0001") == 0,
              "after another connection's write: %s", rows ? rows[0].hash : "-");
    free(rows);
    rows = NULL;
    CHECK(store_dhash_scan(s, rank_none, NULL, 3, &rows, &n_rows, &e) == ODX_OK && n_rows == 0);
    free(rows);
    rows = NULL;
    /* a crop-carrying row comes back with its crops */
    CHECK(store_dhash_scan(s, rank_dog, NULL, 1, &rows, &n_rows, &e) == ODX_OK && n_rows == 1);
    CHECK(rows && strcmp(rows[0].hash, "aaaa0007") == 0 && rows[0].has_crops &&
          rows[0].crops[1] == 0x00ff00ff00ff00ffULL);
    free(rows);
    CHECK(store_dhash_scan(s, NULL, NULL, 3, &rows, &n_rows, &e) == ODX_ERR_INVALID);

    odx_err e2 = {0};
    CHECK(ret_similar(s, "aaaa0006", &p, &r, &e2) == ODX_ERR_INVALID && r == NULL);
    CHECK(strstr(e2.msg, "no stored vectors") != NULL);
    odx_err e3 = {0};
    CHECK(ret_similar(s, "ffff9999", &p, &r, &e3) == ODX_ERR_NOT_FOUND && r == NULL);

    store_close(s);
    rmtree(dir);
    return check_result("test_ret_similar");
}

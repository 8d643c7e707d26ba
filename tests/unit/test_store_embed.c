/* test_store_embed.c - storage: remote learned vectors (store_embed.c).
 * Written in a batch only, stored at unit length, searched by cosine
 * best first; the current model and dimension are the only ones searched
 * and a new one drops the old vectors; the cache file is written, read by
 * a reader, and read past when damaged; a content that goes takes its
 * vector with it and moves the generation; a bad vector writes nothing;
 * rebuild --fresh's copy keeps vectors and text hashes; store_check finds
 * a damaged current file, a file that disagrees with the table, and rows of
 * the wrong size or length, and nothing in a sound index. */
#include "check.h"
#include "storage_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void rmtree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

static char hashes[4][65];

static odx_status put_content(store *s, int i, odx_err *e)
{
    static const float nv[2] = {1, 0};
    float *v = calloc((size_t)store_dim(s), sizeof *v);
    memcpy(v, nv, sizeof nv);
    store_text t[] = {{"detailed", "en", "a picture"}};
    store_vec sv[] = {{"caption", v}};
    store_content c = {0};
    c.desc_json = "{\"a\":1}";
    c.format = "png";
    c.domain = "photo";
    c.engine_version = "eng-1";
    c.embedder = "emb-1";
    c.texts = t;
    c.n_texts = 1;
    c.vecs = sv;
    c.n_vecs = 1;
    odx_status rc = store_content_put(s, hashes[i], &c, e);
    char path[64];
    snprintf(path, sizeof path, "/p/%d.png", i);
    if (rc == ODX_OK)
        rc = store_image_put_ok(s, path, 1, 1, hashes[i], e);
    free(v);
    return rc;
}

static odx_status put_batch(store *s, const char *model, int dim, const int *idx, int n,
                            const float *v, odx_err *e)
{
    const char *h[4], *sha[4];
    static const char *shas[4] = {"s0", "s1", "s2", "s3"};
    for (int i = 0; i < n; i++) {
        h[i] = hashes[idx[i]];
        sha[i] = shas[idx[i]];
    }
    odx_status rc = store_begin(s, e);
    if (rc != ODX_OK)
        return rc;
    rc = store_embed_put(s, model, dim, h, sha, v, n, e);
    if (rc == ODX_OK)
        return store_commit(s, e);
    store_rollback(s);
    return rc;
}

/* store_check's problems, "what: detail" lines */
static char problems[4096];
static void on_problem(void *ctx, const char *what, const char *detail)
{
    (void)ctx;
    size_t l = strlen(problems);
    snprintf(problems + l, sizeof problems - l, "%s: %s\n", what, detail);
}

static int64_t check_dir(const char *dir)
{
    problems[0] = 0;
    store_check_report rep;
    odx_err e = {0};
    if (store_check(dir, on_problem, NULL, &rep, &e) != ODX_OK) {
        fprintf(stderr, "store_check: %s\n", e.msg);
        return -1;
    }
    if (rep.n_problems) fprintf(stderr, "store_check found:\n%s", problems);
    return rep.n_problems;
}

static int64_t meta_gen(store *s)
{
    char *v = NULL;
    store_meta_get(s, "embed_gen", &v, NULL);
    int64_t g = v ? strtoll(v, NULL, 10) : -1;
    free(v);
    return g;
}

int main(void)
{
    char dir[] = "/tmp/odx_test_embed_XXXXXX", dir2[] = "/tmp/odx_test_embed2_XXXXXX";
    if (!mkdtemp(dir) || !mkdtemp(dir2))
        return 1;
    for (int i = 0; i < 4; i++) {
        char in[8];
        snprintf(in, sizeof in, "c%d", i);
        core_sha256_hex(in, strlen(in), hashes[i]);
    }
    odx_err e = {0};
    store *s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    for (int i = 0; i < 3; i++)
        CHECK(put_content(s, i, &e) == ODX_OK);

    store_embed_item *it = NULL;
    int n = 0;
    CHECK(store_embed_list(s, &it, &n, &e) == ODX_OK && n == 3);
    for (int i = 0; i < n; i++)
        CHECK(!it[i].has);
    store_embed_items_free(it, n);

    /* a batch only */
    const char *h0[] = {hashes[0]}, *s0[] = {"x"};
    float one[4] = {1, 0, 0, 0};
    CHECK(store_embed_put(s, "m1", 4, h0, s0, one, 1, &e) == ODX_ERR_INVALID);
    memset(&e, 0, sizeof e);

    /* three vectors, not unit length; content 3 does not exist: skipped */
    int idx[] = {0, 1, 2};
    float v[] = {2, 0, 0, 0, /**/ 0, 3, 0, 0, /**/ 1, 1, 0, 0};
    int64_t g0 = meta_gen(s);
    CHECK(put_batch(s, "m1", 4, idx, 3, v, &e) == ODX_OK);
    CHECK(meta_gen(s) == (g0 < 0 ? 0 : g0) + 1);
    char model[STORE_EMBED_MODEL_MAX];
    int dim = 0;
    CHECK(store_embed_current(s, model, &dim, &e) == ODX_OK);
    CHECK_STR(model, "m1");
    CHECK(dim == 4);
    CHECK(store_embed_list(s, &it, &n, &e) == ODX_OK && n == 3);
    for (int i = 0; i < n; i++)
        CHECK(it[i].has && !strcmp(it[i].model, "m1") && it[i].dim == 4 && it[i].text_sha[0] == 's');
    store_embed_items_free(it, n);

    float q[4] = {0, 5, 0, 0};
    store_hit *hits = NULL;
    int nh = 0;
    CHECK(store_embed_search(s, "m1", q, 4, 10, &hits, &nh, &e) == ODX_OK && nh == 3);
    if (nh == 3) {
        CHECK_STR(hits[0].hash, hashes[1]);
        CHECK_NEAR(hits[0].score, 1.0, 1e-6);
        CHECK_STR(hits[1].hash, hashes[2]);
        CHECK_NEAR(hits[1].score, 0.70710678, 1e-5);
        CHECK_NEAR(hits[2].score, 0.0, 1e-6);
        CHECK_STR(hits[0].field, "embed");
    }
    free(hits);
    CHECK(store_embed_search(s, "m1", q, 4, 1, &hits, &nh, &e) == ODX_OK && nh == 1);
    free(hits);
    CHECK(store_embed_search(s, "other", q, 4, 10, &hits, &nh, &e) == ODX_ERR_INVALID);
    CHECK(strstr(e.msg, "'m1'") != NULL);
    memset(&e, 0, sizeof e);
    CHECK(store_embed_search(s, "m1", q, 3, 10, &hits, &nh, &e) == ODX_ERR_INVALID);
    memset(&e, 0, sizeof e);

    /* a bad vector writes nothing of its batch */
    float bad[] = {0, 1, 0, 0, /**/ 0, 0, 0, 0};
    int idx2[] = {0, 1};
    CHECK(put_batch(s, "m1", 4, idx2, 2, bad, &e) == ODX_ERR_INVALID);
    memset(&e, 0, sizeof e);
    float *got = NULL;
    CHECK(store_embed_vector(s, hashes[0], &got, &dim, &e) == ODX_OK && got && dim == 4);
    if (got)
        CHECK_NEAR(got[0], 1.0, 1e-6); /* still the first vector, unit length */
    free(got);

    /* the file, and a reader */
    char file[600];
    snprintf(file, sizeof file, "%s/embed.vec", dir);
    CHECK(store_embed_save(s, &e) == ODX_OK);
    struct stat sb;
    CHECK(stat(file, &sb) == 0 && sb.st_size > 0);
    store *r = NULL;
    CHECK(store_open(dir, true, &r, &e) == ODX_OK);
    CHECK(store_embed_search(r, "m1", q, 4, 10, &hits, &nh, &e) == ODX_OK && nh == 3);
    if (nh)
        CHECK_STR(hits[0].hash, hashes[1]);
    free(hits);
    store_close(r);
    /* damaged: read past, same answer */
    FILE *f = fopen(file, "r+b");
    if (f) {
        fseek(f, -3, SEEK_END);
        fputc(0x7f, f);
        fclose(f);
    }
    CHECK(store_open(dir, true, &r, &e) == ODX_OK);
    CHECK(store_embed_search(r, "m1", q, 4, 10, &hits, &nh, &e) == ODX_OK && nh == 3);
    if (nh)
        CHECK_STR(hits[0].hash, hashes[1]);
    free(hits);
    store_close(r);
    /* store_check names the damaged file (the search above read past it) */
    CHECK(check_dir(dir) == 1 && strstr(problems, "embed file: ") &&
          strstr(problems, "checksum mismatch"));
    /* the writer rewrites a damaged file even at the same generation */
    CHECK(store_embed_save(s, &e) == ODX_OK);
    CHECK(store_open(dir, true, &r, &e) == ODX_OK);
    CHECK(store_embed_search(r, "m1", q, 4, 10, &hits, &nh, &e) == ODX_OK && nh == 3);
    free(hits);
    store_close(r);
    CHECK_MSG(check_dir(dir) == 0, "a sound index: %s", problems);
    /* rows damaged behind the store's back (the generation does not move,
     * so the file still says it is current): a short row; then a row not
     * of unit length, which the file no longer agrees with */
    CHECK(sqlite3_exec(s->db, "UPDATE embed_vectors SET embedding = zeroblob(12) WHERE hash ="
                              " (SELECT min(hash) FROM embed_vectors)", NULL, NULL, NULL) ==
          SQLITE_OK);
    CHECK(check_dir(dir) == 1);
    CHECK(strstr(problems, "1 of 3 rows whose embedding is not dim floats") != NULL);
    CHECK(put_batch(s, "m1", 4, idx, 3, v, &e) == ODX_OK);
    CHECK(store_embed_save(s, &e) == ODX_OK);
    sqlite3_stmt *up = NULL;
    float two[4] = {2, 0, 0, 0};
    CHECK(sqlite3_prepare_v2(s->db, "UPDATE embed_vectors SET embedding = ?1 WHERE hash ="
                                    " (SELECT max(hash) FROM embed_vectors)", -1, &up,
                             NULL) == SQLITE_OK);
    sqlite3_bind_blob(up, 1, two, sizeof two, SQLITE_STATIC);
    CHECK(sqlite3_step(up) == SQLITE_DONE);
    sqlite3_finalize(up);
    CHECK(check_dir(dir) == 2);
    CHECK(strstr(problems, "1 of 3 rows not of unit length") != NULL);
    CHECK(strstr(problems, "embed file: ") && strstr(problems, "1 differing"));
    /* written again through the store: sound */
    CHECK(put_batch(s, "m1", 4, idx, 3, v, &e) == ODX_OK);
    CHECK(store_embed_save(s, &e) == ODX_OK);
    CHECK_MSG(check_dir(dir) == 0, "rewritten: %s", problems);

    /* a content that goes takes its vector and moves the generation */
    store_image im;
    bool found = false;
    CHECK(store_image_get(s, "/p/2.png", &im, &found, &e) == ODX_OK && found);
    int64_t g1 = meta_gen(s);
    CHECK(store_image_delete(s, im.id, &e) == ODX_OK);
    store_image_clear(&im);
    int64_t removed = 0;
    CHECK(store_content_gc(s, &removed, &e) == ODX_OK && removed == 1);
    CHECK(meta_gen(s) == g1 + 1);
    store_embed_stats es;
    CHECK(store_embed_stats_get(s, &es, &e) == ODX_OK && es.n_rows == 2 && es.n_current == 2);
    CHECK(store_embed_search(s, "m1", q, 4, 10, &hits, &nh, &e) == ODX_OK && nh == 2);
    free(hits);

    /* another model and dimension: current now, the old vectors go */
    float v3[] = {0, 0, 1};
    int idx3[] = {1};
    CHECK(put_batch(s, "m2", 3, idx3, 1, v3, &e) == ODX_OK);
    CHECK(store_embed_stats_get(s, &es, &e) == ODX_OK);
    CHECK_STR(es.model, "m2");
    CHECK(es.dim == 3 && es.n_rows == 1 && es.n_current == 1);
    got = NULL;
    CHECK(store_embed_vector(s, hashes[0], &got, &dim, &e) == ODX_OK && !got);
    CHECK(store_embed_search(s, "m2", v3, 3, 10, &hits, &nh, &e) == ODX_OK && nh == 1);
    free(hits);
    CHECK(store_embed_note(s, "boom", &e) == ODX_OK);
    CHECK(store_embed_stats_get(s, &es, &e) == ODX_OK);
    CHECK_STR(es.last_error, "boom");

    /* rebuild --fresh's copy */
    store *t = NULL;
    CHECK(store_open(dir2, false, &t, &e) == ODX_OK);
    for (int i = 0; i < 2; i++)
        CHECK(put_content(t, i, &e) == ODX_OK);
    CHECK(store_begin(t, &e) == ODX_OK);
    CHECK(store_embed_copy(t, s, &e) == ODX_OK);
    CHECK(store_commit(t, &e) == ODX_OK);
    CHECK(store_embed_stats_get(t, &es, &e) == ODX_OK);
    CHECK_STR(es.model, "m2");
    CHECK(es.n_current == 1);
    CHECK(store_embed_list(t, &it, &n, &e) == ODX_OK && n == 2);
    for (int i = 0; i < n; i++)
        if (!strcmp(it[i].hash, hashes[1]))
            CHECK(it[i].has && !strcmp(it[i].text_sha, "s1"));
    store_embed_items_free(it, n);
    store_close(t);

    if (e.code)
        fprintf(stderr, "last error: %s\n", e.msg);
    store_close(s);
    rmtree(dir);
    rmtree(dir2);
    return check_result("test_store_embed");
}

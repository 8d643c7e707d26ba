/* test_store_compact.c - storage: compaction gives back the space of
 * deleted content (free pages, tombstones, FTS delete markers) without
 * changing any answer: dense and lexical hits identical before and after,
 * for the writer and for a reader opened before (behind the new tomb
 * floor), and store_check finds nothing. Also an old database without
 * auto_vacuum is converted. */
#include "check.h"
#include "storage_int.h" /* store_sqlite: storage's own tests reach the connection */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void rmtree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

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

/* Content i in round r: two captions and two vectors. */
static odx_status put(store *s, int i, int r, odx_err *e)
{
    char hash[32], text[160];
    snprintf(hash, sizeof hash, "h%04d", i);
    snprintf(text, sizeof text, "round%d picture number %d of a %s %s with words w%d w%d", r,
             i, i % 3 ? "red" : "blue", i % 2 ? "chart" : "photo", i % 17, (i * 7 + r) % 23);
    int dim = store_dim(s);
    float *v = malloc(sizeof(float) * (size_t)dim * 2);
    unit_vec(v, dim, (uint32_t)(i * 10 + r * 100000 + 1));
    unit_vec(v + dim, dim, (uint32_t)(i * 10 + r * 100000 + 2));
    store_text t[] = {{"detailed", "en", text}, {"tags", "en", "picture, test"}};
    store_vec sv[] = {{"caption", v}, {"tags", v + dim}};
    store_content c = {0};
    c.desc_json = "{\"a\":1}";
    c.format = "png";
    c.domain = "chart";
    c.engine_version = "eng-1";
    c.embedder = "emb-1";
    c.texts = t;
    c.n_texts = 2;
    c.vecs = sv;
    c.n_vecs = 2;
    odx_status rc = store_content_put(s, hash, &c, e);
    char path[64];
    snprintf(path, sizeof path, "/p/%04d.png", i);
    if (rc == ODX_OK)
        rc = store_image_put_ok(s, path, 1, 1, hash, e);
    free(v);
    return rc;
}

/* All answers of a few queries as one string. */
static char *answers(store *s)
{
    static const char *m[] = {"red", "chart", "w3", "picture", "round3"};
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    odx_err e = {0};
    int dim = store_dim(s);
    float *q = malloc(sizeof(float) * (size_t)dim);
    for (int k = 0; k < 5; k++) {
        store_hit *h = NULL;
        int n = 0;
        if (store_fts_search(s, m[k], 20, &h, &n, &e) == ODX_OK)
            for (int i = 0; i < n && len + 100 < cap; i++)
                len += (size_t)snprintf(out + len, cap - len, "%s:%s:%.6f ", h[i].hash,
                                        h[i].field, h[i].score);
        free(h);
        h = NULL;
        unit_vec(q, dim, (uint32_t)(k * 10 + 300001));
        if (store_dense_search(s, q, 10, &h, &n, &e) == ODX_OK)
            for (int i = 0; i < n && len + 100 < cap; i++)
                len += (size_t)snprintf(out + len, cap - len, "%s:%s:%.6f ", h[i].hash,
                                        h[i].field, h[i].score);
        free(h);
        len += (size_t)snprintf(out + len, cap - len, "|\n");
    }
    free(q);
    return out;
}

static int64_t file_size(const char *dir)
{
    char p[600];
    struct stat sb;
    snprintf(p, sizeof p, "%s/omnidex.db", dir);
    return stat(p, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

static int n_problems;
static void on_problem(void *ctx, const char *what, const char *detail)
{
    (void)ctx;
    n_problems++;
    fprintf(stderr, "check: %s: %s\n", what, detail);
}

static void scenario(const char *dir, bool old_style)
{
    odx_err e = {0};
    store *s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return;
    if (old_style) /* as made before auto_vacuum was set at creation */
        CHECK(sqlite3_exec(store_sqlite(s), "PRAGMA auto_vacuum=NONE; VACUUM", NULL, NULL,
                           NULL) == SQLITE_OK);
    const int N = 400;
    for (int r = 0; r < 4; r++) { /* every content replaced three times */
        CHECK(store_begin(s, &e) == ODX_OK);
        for (int i = 0; i < N; i++)
            CHECK(put(s, i, r, &e) == ODX_OK);
        CHECK(store_commit(s, &e) == ODX_OK);
    }
    /* three quarters of the images go: their content is collected */
    CHECK(store_begin(s, &e) == ODX_OK);
    for (int i = N / 4; i < N; i++) {
        store_image im;
        memset(&im, 0, sizeof im);
        bool found = false;
        char path[64];
        snprintf(path, sizeof path, "/p/%04d.png", i);
        CHECK(store_image_get(s, path, &im, &found, &e) == ODX_OK && found);
        if (found)
            CHECK(store_image_delete(s, im.id, &e) == ODX_OK);
        store_image_clear(&im);
    }
    int64_t n_gc = 0;
    CHECK(store_content_gc(s, &n_gc, &e) == ODX_OK);
    CHECK(n_gc == N - N / 4);
    CHECK(store_commit(s, &e) == ODX_OK);
    CHECK(store_save(s, &e) == ODX_OK);
    store *reader = NULL; /* opened before compaction: its FAISS is behind later */
    CHECK(store_open(dir, true, &reader, &e) == ODX_OK);

    store_waste w0, w1;
    CHECK(store_waste_get(s, &w0, &e) == ODX_OK);
    CHECK_MSG(store_waste_over(&w0), "free %lld of %lld pages, %lld tombstones",
              (long long)w0.free_pages, (long long)w0.pages, (long long)w0.tombstones);
    CHECK(w0.tombstones >= 3 * 2 * N);
    CHECK(w0.free_pages * 4 >= w0.pages);
    char *before = answers(s);
    /* the file as it stands once the WAL is copied into it (16 KiB pages:
     * the automatic checkpoint, at 1000 pages, may not have come yet) */
    sqlite3_wal_checkpoint_v2(store_sqlite(s), NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    int64_t size0 = file_size(dir);
    bool did = false;
    CHECK(store_compact(s, false, &did, &e) == ODX_OK);
    CHECK(did);
    CHECK(store_waste_get(s, &w1, &e) == ODX_OK);
    CHECK(w1.tombstones == 0);
    CHECK(w1.free_pages * 20 <= w1.pages);
    CHECK(w1.auto_vacuum == 2);
    int64_t size1 = file_size(dir);
    CHECK_MSG(size1 * 10 < size0 * 7, "%lld -> %lld bytes", (long long)size0,
              (long long)size1);
    char *after = answers(s);
    CHECK_MSG(strcmp(before, after) == 0, "writer answers changed:\n%s\nvs\n%s", before, after);

    /* more edits after compaction: the reader is behind the tomb floor */
    CHECK(store_begin(s, &e) == ODX_OK);
    for (int i = 0; i < N / 4; i += 2)
        CHECK(put(s, i, 4, &e) == ODX_OK);
    CHECK(store_commit(s, &e) == ODX_OK);
    CHECK(store_save(s, &e) == ODX_OK);
    bool again = true;
    CHECK(store_compact(s, false, &again, &e) == ODX_OK); /* under the threshold now */
    CHECK(!again);
    CHECK(store_compact(s, true, &again, &e) == ODX_OK); /* forced */
    CHECK(again);
    char *w_now = answers(s);
    CHECK(store_refresh(reader, &e) == ODX_OK);
    char *r_now = answers(reader);
    CHECK_MSG(strcmp(w_now, r_now) == 0, "reader behind the floor answers differently");
    store_close(reader);
    store_close(s);

    store_check_report rep;
    n_problems = 0;
    CHECK(store_check(dir, on_problem, NULL, &rep, &e) == ODX_OK);
    CHECK(rep.n_problems == 0 && n_problems == 0);
    CHECK(rep.n_vectors == 2 * (N / 4) && rep.faiss_ntotal == 2 * (N / 4));
    free(before);
    free(after);
    free(w_now);
    free(r_now);
}

int main(void)
{
    char tmpl[] = "/tmp/odx_store_compact_XXXXXX";
    char *base = mkdtemp(tmpl);
    CHECK(base != NULL);
    if (!base)
        return check_result("test_store_compact");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/new", base);
    scenario(dir, false);
    snprintf(dir, sizeof dir, "%s/old", base);
    scenario(dir, true);
    rmtree(base);
    return check_result("test_store_compact");
}

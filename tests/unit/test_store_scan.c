/* test_store_scan.c - the dense search (BLAS scan over the flat index)
 * returns exactly the brute-force top k, best first, across deletes. */
#include "check.h"
#include "storage.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void rand_vec(float *v, int dim, uint32_t *x)
{
    double n = 0;
    for (int i = 0; i < dim; i++) {
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        v[i] = (float)((double)(*x & 0xffff) / 65535.0 - 0.5);
        n += (double)v[i] * v[i];
    }
    for (int i = 0; i < dim; i++)
        v[i] = (float)(v[i] / sqrt(n));
}

#define N 400

int main(void)
{
    char dir[] = "/tmp/odx_scan_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    odx_err e = {0};
    store *s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return check_result("test_store_scan");
    int dim = store_dim(s);
    float *vecs = malloc(sizeof(float) * (size_t)dim * N);
    uint32_t x = 777;
    CHECK(store_begin(s, &e) == ODX_OK);
    for (int i = 0; i < N; i++) {
        rand_vec(vecs + (size_t)i * dim, dim, &x);
        char hash[65];
        snprintf(hash, sizeof hash, "%064d", i);
        store_text t = {"short", "en", "a caption"};
        store_vec v = {"caption", vecs + (size_t)i * dim};
        store_content c = {.desc_json = "{}", .format = "png", .domain = "photo",
                           .engine_version = "t", .embedder = "t", .texts = &t, .n_texts = 1,
                           .vecs = &v, .n_vecs = 1, .width = 1, .height = 1};
        CHECK(store_content_put(s, hash, &c, &e) == ODX_OK);
        CHECK(store_image_put_ok(s, hash, 1, 1, hash, &e) == ODX_OK);
    }
    CHECK(store_commit(s, &e) == ODX_OK);
    /* drop every third content so the id map has holes */
    CHECK(store_begin(s, &e) == ODX_OK);
    for (int i = 0; i < N; i += 3) {
        store_image im = {0};
        bool found = false;
        char hash[65];
        snprintf(hash, sizeof hash, "%064d", i);
        CHECK(store_image_get(s, hash, &im, &found, &e) == ODX_OK && found);
        CHECK(store_image_delete(s, im.id, &e) == ODX_OK);
        store_image_clear(&im);
    }
    CHECK(store_content_gc(s, NULL, &e) == ODX_OK);
    CHECK(store_commit(s, &e) == ODX_OK);

    float q[1024];
    for (int trial = 0; trial < 5; trial++) {
        rand_vec(q, dim, &x);
        /* brute force over the surviving contents */
        int best[10];
        double bestv[10];
        int nb = 0;
        for (int i = 0; i < N; i++) {
            if (i % 3 == 0)
                continue;
            double d = 0;
            for (int j = 0; j < dim; j++)
                d += (double)q[j] * vecs[(size_t)i * dim + j];
            int pos = nb < 10 ? nb++ : 10;
            while (pos > 0 && bestv[pos - 1] < d) {
                if (pos < 10) {
                    best[pos] = best[pos - 1];
                    bestv[pos] = bestv[pos - 1];
                }
                pos--;
            }
            if (pos < 10) {
                best[pos] = i;
                bestv[pos] = d;
            }
        }
        store_hit *h = NULL;
        int n = 0;
        CHECK(store_dense_search(s, q, 10, &h, &n, &e) == ODX_OK);
        CHECK(n == 10);
        for (int i = 0; i < n && i < nb; i++) {
            char hash[65];
            snprintf(hash, sizeof hash, "%064d", best[i]);
            CHECK_MSG(strcmp(h[i].hash, hash) == 0, "rank %d: %s vs %s", i, h[i].hash, hash);
            CHECK_NEAR(h[i].score, bestv[i], 1e-4);
        }
        free(h);
    }
    store_close(s);
    free(vecs);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    return check_result("test_store_scan");
}

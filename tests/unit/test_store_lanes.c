/* test_store_lanes.c - the extra read connections of a read-only handle
 * (store_rd_begin, storage/store_sql.c): search threads reading texts,
 * domains, images and lexical hits at once get what one thread gets, while
 * a writer commits; the extra connections were used; a writer's handle
 * never opens any (its reads must see its own batch); none opens on a
 * database file swapped in after the handle opened. Run under TSan by
 * hand for the locking: build-tsan/storage/test_store_lanes. */
#include "check.h"
#include "storage_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_FIXED 200  /* contents every thread checks; never changed */
#define N_THREADS 4
#define N_ROUNDS 150

static void hash_of(int id, char hash[65]) { snprintf(hash, 65, "%064d", id); }

static odx_status put(store *s, int id, const char *word)
{
    char hash[65], a[128], b[128];
    hash_of(id, hash);
    snprintf(a, sizeof a, "a %s chart of item %d", word, id);
    snprintf(b, sizeof b, "%s, chart, item", word);
    store_text t[2] = {{"detailed", "en", a}, {"tags", "en", b}};
    store_content c = {0};
    c.desc_json = "{}";
    c.format = "png";
    c.domain = id % 2 ? "chart" : "photo";
    c.engine_version = "eng-1";
    c.embedder = "emb-1";
    c.texts = t;
    c.n_texts = 2;
    odx_err e = {0};
    char path[64];
    snprintf(path, sizeof path, "/x/%d.png", id);
    odx_status rc = store_content_put(s, hash, &c, &e);
    if (rc == ODX_OK)
        rc = store_image_put_ok(s, path, 100, 1, hash, &e);
    if (rc != ODX_OK)
        fprintf(stderr, "put: %s\n", e.msg);
    return rc;
}

typedef struct job {
    store *r;
    int seed;
    atomic_int *bad;
} job;

static void *reader(void *p)
{
    job *j = p;
    uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(j->seed + 1);
    for (int round = 0; round < N_ROUNDS; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int id = 1 + (int)(x % N_FIXED);
        char hash[65];
        hash_of(id, hash);
        odx_err e = {0};
        store_text *t = NULL;
        int nt = 0;
        if (store_content_texts(j->r, hash, &t, &nt, &e) != ODX_OK || nt != 2 ||
            !strstr(t[0].text, "fixed"))
            atomic_fetch_add(j->bad, 1);
        store_texts_free(t, nt);
        char d[32];
        bool found = false;
        if (store_content_domain(j->r, hash, d, sizeof d, &found, &e) != ODX_OK || !found ||
            strcmp(d, id % 2 ? "chart" : "photo") != 0)
            atomic_fetch_add(j->bad, 1);
        store_image *im = NULL;
        int ni = 0;
        if (store_images_of(j->r, hash, STORE_BY_PATH, &im, &ni, &e) != ODX_OK || ni != 1)
            atomic_fetch_add(j->bad, 1);
        store_images_free(im, ni);
        const char *terms[] = {"fixed"};
        store_hit *h = NULL;
        int nh = 0;
        if (store_lex_search(j->r, terms, 1, 50, STORE_LEX_INDEX, &h, &nh, &e) != ODX_OK ||
            nh != 50)
            atomic_fetch_add(j->bad, 1);
        for (int i = 0; i < nh; i++)
            if (strlen(h[i].hash) != 64 || !h[i].field[0])
                atomic_fetch_add(j->bad, 1);
        free(h);
    }
    return NULL;
}

int main(void)
{
    char tmpl[] = "/tmp/odx_store_lanes_XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return check_result("test_store_lanes");
    odx_err e = {0};
    store *w = NULL, *r = NULL;
    CHECK(store_open(dir, false, &w, &e) == ODX_OK);
    if (!w)
        return check_result("test_store_lanes");
    CHECK(store_begin(w, &e) == ODX_OK);
    for (int i = 1; i <= N_FIXED; i++)
        CHECK(put(w, i, "fixed") == ODX_OK);
    CHECK(store_commit(w, &e) == ODX_OK);
    /* a writer reads on its own connection: inside a batch it sees the
     * batch */
    CHECK(store_begin(w, &e) == ODX_OK);
    CHECK(put(w, 5000, "batch") == ODX_OK);
    char hb[65];
    hash_of(5000, hb);
    store_text *t = NULL;
    int nt = 0;
    CHECK(store_content_texts(w, hb, &t, &nt, &e) == ODX_OK && nt == 2);
    store_texts_free(t, nt);
    CHECK(store_commit(w, &e) == ODX_OK);
    for (int i = 0; i < STORE_READ_LANES; i++)
        CHECK(w->lanes[i].db == NULL);

    CHECK(store_open(dir, true, &r, &e) == ODX_OK);
    if (!r)
        return check_result("test_store_lanes");
    atomic_int bad = 0;
    pthread_t th[N_THREADS];
    job jobs[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (job){r, i, &bad};
        CHECK(pthread_create(&th[i], NULL, reader, &jobs[i]) == 0);
    }
    /* the writer adds and replaces other contents meanwhile */
    for (int b = 0; b < 10; b++) {
        CHECK(store_begin(w, &e) == ODX_OK);
        for (int i = 0; i < 20; i++)
            CHECK(put(w, 1000 + (b * 7 + i) % 60, b % 2 ? "odd" : "even") == ODX_OK);
        CHECK(store_commit(w, &e) == ODX_OK);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK_MSG(atomic_load(&bad) == 0, "%d reads differed", atomic_load(&bad));
    int opened = 0;
    for (int i = 0; i < STORE_READ_LANES; i++)
        opened += r->lanes[i].db != NULL;
    CHECK_MSG(opened >= 1, "no extra read connection was used");
    /* one thread alone: a lane (the first free one) */
    store_rd rd;
    store_rd_begin(r, &rd);
    CHECK(rd.lane != NULL && rd.db != store_sqlite(r));
    store_rd_end(&rd);
    store_close(r);
    store_close(w);
    /* the database file swapped under an open handle (a rebuild): no extra
     * connection opens on the new file; reads stay on the handle's own */
    store *r2 = NULL;
    CHECK(store_open(dir, true, &r2, &e) == ODX_OK);
    char swap[700];
    snprintf(swap, sizeof swap, "cp '%s/omnidex.db' '%s/copy.db' && mv '%s/copy.db' '%s/omnidex.db'",
             dir, dir, dir, dir);
    CHECK(system(swap) == 0);
    if (r2) {
        char h1[65];
        hash_of(1, h1);
        store_text *t2 = NULL;
        int n2 = 0;
        CHECK(store_content_texts(r2, h1, &t2, &n2, &e) == ODX_OK && n2 == 2);
        store_texts_free(t2, n2);
        for (int i = 0; i < STORE_READ_LANES; i++)
            CHECK(r2->lanes[i].db == NULL);
        store_close(r2);
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_result("test_store_lanes");
}

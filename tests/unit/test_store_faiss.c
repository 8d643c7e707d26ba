/* test_store_faiss.c - storage: the FAISS file and its consistency with
 * SQLite: save/reopen, a crashed writer caught up, missing/corrupt files
 * rebuilt, readers refreshing, tombstone pruning, searches from threads. */
#include "check.h"
#include "storage_int.h" /* store_sqlite: storage's own tests reach the connection */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int n_rebuild_logs;

static void log_fn(int level, const char *msg, void *user)
{
    (void)user;
    if (level <= CORE_LOG_WARN && strstr(msg, "rebuild"))
        n_rebuild_logs++;
}

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
    uint32_t x = seed * 2654435761u + 777u;
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

/* Content "h<i>" with one caption and two vectors (seeds 2i, 2i+1), and an
 * image /img/<i>.png referring to it. */
static odx_status put_item(store *s, int i)
{
    int dim = store_dim(s);
    float *v = malloc(sizeof(float) * (size_t)dim * 2);
    if (!v)
        return ODX_ERR_NOMEM;
    unit_vec(v, dim, (uint32_t)(2 * i));
    unit_vec(v + dim, dim, (uint32_t)(2 * i + 1));
    char hash[32], path[64], text[64];
    snprintf(hash, sizeof hash, "h%d", i);
    snprintf(path, sizeof path, "/img/%d.png", i);
    snprintf(text, sizeof text, "item number w%d", i);
    store_text t = {"detailed", "en", text};
    store_vec sv[2] = {{"caption", v}, {"tags", v + dim}};
    store_content c = {.desc_json = "{}", .texts = &t, .n_texts = 1, .vecs = sv, .n_vecs = 2};
    odx_err e = {0};
    odx_status rc = store_content_put(s, hash, &c, &e);
    if (rc == ODX_OK)
        rc = store_image_put_ok(s, path, 1, 1, hash, &e);
    if (rc != ODX_OK)
        fprintf(stderr, "put_item %d: %s\n", i, e.msg);
    free(v);
    return rc;
}

static odx_status del_item(store *s, int i)
{
    char path[64];
    snprintf(path, sizeof path, "/img/%d.png", i);
    store_image im = {0};
    bool found = false;
    odx_err e = {0};
    odx_status rc = store_image_get(s, path, &im, &found, &e);
    if (rc == ODX_OK && found)
        rc = store_image_delete(s, im.id, &e);
    store_image_clear(&im);
    if (rc == ODX_OK)
        rc = store_content_gc(s, NULL, &e);
    return rc;
}

/* Top-1 dense hit for item i's caption vector: its hash, or "" */
static void top1(store *s, int i, char out[65])
{
    int dim = store_dim(s);
    float *q = malloc(sizeof(float) * (size_t)dim);
    store_hit *h = NULL;
    int n = 0;
    odx_err e = {0};
    out[0] = 0;
    unit_vec(q, dim, (uint32_t)(2 * i));
    if (store_dense_search(s, q, 1, &h, &n, &e) == ODX_OK && n == 1 && h[0].score > 0.99)
        snprintf(out, 65, "%s", h[0].hash);
    free(h);
    free(q);
}

static bool has_item(store *s, int i)
{
    char got[65], want[32];
    top1(s, i, got);
    snprintf(want, sizeof want, "h%d", i);
    return strcmp(got, want) == 0;
}

static store_stats stats(store *s)
{
    store_stats st = {0};
    odx_err e = {0};
    if (store_get_stats(s, &st, &e) != ODX_OK)
        fprintf(stderr, "stats: %s\n", e.msg);
    return st;
}

static bool copy_file(const char *from, const char *to)
{
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    return system(cmd) == 0;
}

static void test_save_reopen_crash(const char *dir)
{
    char fpath[700], old[700];
    snprintf(fpath, sizeof fpath, "%s/vectors.faiss", dir);
    snprintf(old, sizeof old, "%s/old.faiss", dir);
    odx_err e = {0};
    store *s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return;
    CHECK(store_begin(s, &e) == ODX_OK);
    for (int i = 0; i < 40; i++)
        CHECK(put_item(s, i) == ODX_OK);
    CHECK(store_commit(s, &e) == ODX_OK);
    CHECK(store_save(s, &e) == ODX_OK);
    store_stats st = stats(s);
    CHECK(st.faiss_ntotal == 80 && st.n_vectors == 80);
    CHECK(st.faiss_bytes > 80 * 4 * store_dim(s));
    store_close(s);
    s = NULL;

    /* clean reopen: same ntotal, loaded from the file, no rebuild */
    n_rebuild_logs = 0;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return;
    CHECK(stats(s).faiss_ntotal == 80);
    CHECK(n_rebuild_logs == 0);
    CHECK(has_item(s, 7));
    store_close(s);
    s = NULL;
    CHECK(copy_file(fpath, old));

    /* crash: a child commits a batch (add + delete) and dies without
     * saving or closing; the file stays at the older generation */
    pid_t pid = fork();
    if (pid == 0) {
        store *c = NULL;
        odx_err ce = {0};
        if (store_open(dir, false, &c, &ce) != ODX_OK)
            _exit(2);
        if (store_begin(c, &ce) != ODX_OK)
            _exit(3);
        for (int i = 40; i < 50; i++)
            if (put_item(c, i) != ODX_OK)
                _exit(4);
        if (del_item(c, 3) != ODX_OK || store_commit(c, &ce) != ODX_OK)
            _exit(5);
        _exit(0); /* no store_close: nothing saved */
    }
    int wst = 0;
    CHECK(pid > 0 && waitpid(pid, &wst, 0) == pid);
    CHECK(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);

    n_rebuild_logs = 0;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return;
    st = stats(s);
    CHECK(st.n_vectors == 98);
    CHECK(st.faiss_ntotal == st.n_vectors);
    CHECK(n_rebuild_logs == 0); /* caught up, not rebuilt */
    CHECK(has_item(s, 45));
    CHECK(!has_item(s, 3));
    CHECK(has_item(s, 4));
    store_close(s); /* saves the caught-up index */
    s = NULL;

    /* an older copy of the file (behind by a batch with a delete) */
    CHECK(copy_file(old, fpath));
    CHECK(store_open(dir, true, &s, &e) == ODX_OK); /* a reader catches up in memory */
    if (s) {
        CHECK(stats(s).faiss_ntotal == 98);
        CHECK(!has_item(s, 3) && has_item(s, 49));
        store_close(s);
        s = NULL;
    }
    struct stat a, b;
    CHECK(stat(fpath, &a) == 0 && stat(old, &b) == 0 && a.st_size == b.st_size);

    /* missing file: rebuilt from the vectors table and saved again */
    unlink(fpath);
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (s) {
        CHECK(stats(s).faiss_ntotal == 98);
        CHECK(has_item(s, 0) && has_item(s, 44));
        store_close(s);
        s = NULL;
    }
    CHECK(stat(fpath, &a) == 0);
}

/* Damages the file in one of several ways; reopening must rebuild. */
static void test_corrupt_files(const char *dir)
{
    char fpath[700];
    snprintf(fpath, sizeof fpath, "%s/vectors.faiss", dir);
    for (int mode = 0; mode < 5; mode++) {
        struct stat sb;
        CHECK(stat(fpath, &sb) == 0);
        FILE *f = fopen(fpath, "r+b");
        CHECK(f != NULL);
        if (!f)
            return;
        if (mode == 0) { /* flip a byte in the payload */
            fseek(f, sb.st_size / 2, SEEK_SET);
            int c = fgetc(f);
            fseek(f, sb.st_size / 2, SEEK_SET);
            fputc(c ^ 0x5a, f);
        } else if (mode == 1) { /* truncated */
            CHECK(ftruncate(fileno(f), sb.st_size - 100) == 0);
        } else if (mode == 2) { /* header says another dimension */
            fseek(f, 12, SEEK_SET);
            fputc(0x7f, f);
        } else if (mode == 3) { /* garbage */
            for (int i = 0; i < 300; i++)
                fputc((i * 31) & 0xff, f);
            CHECK(ftruncate(fileno(f), 300) == 0);
        } else { /* empty */
            CHECK(ftruncate(fileno(f), 0) == 0);
        }
        fclose(f);
        n_rebuild_logs = 0;
        odx_err e = {0};
        store *s = NULL;
        CHECK_MSG(store_open(dir, false, &s, &e) == ODX_OK, "mode %d: %s", mode, e.msg);
        if (!s)
            return;
        CHECK_MSG(n_rebuild_logs >= 1, "mode %d", mode);
        store_stats st = stats(s);
        CHECK_MSG(st.faiss_ntotal == 98 && st.n_vectors == 98, "mode %d", mode);
        CHECK(has_item(s, 10) && !has_item(s, 3));
        store_close(s); /* rebuilt index saved again for the next round */
    }
}

static void test_reader_refresh(const char *dir)
{
    odx_err e = {0};
    store *w = NULL, *r = NULL;
    CHECK(store_open(dir, false, &w, &e) == ODX_OK);
    CHECK(store_open(dir, true, &r, &e) == ODX_OK);
    if (!w || !r)
        goto done;
    CHECK(!has_item(r, 60));
    CHECK(store_begin(w, &e) == ODX_OK);
    CHECK(put_item(w, 60) == ODX_OK);
    CHECK(del_item(w, 10) == ODX_OK);
    CHECK(store_commit(w, &e) == ODX_OK);
    CHECK(has_item(w, 60) && !has_item(w, 10));
    /* the reader's FAISS copy is behind until it refreshes */
    CHECK(!has_item(r, 60));
    CHECK(store_refresh(r, &e) == ODX_OK);
    CHECK(has_item(r, 60));
    CHECK(!has_item(r, 10));
    CHECK(stats(r).faiss_ntotal == stats(w).n_vectors);
    /* nothing changed: refresh is a no-op */
    CHECK(store_refresh(r, &e) == ODX_OK);
    CHECK(stats(r).faiss_ntotal == stats(w).n_vectors);
    /* FTS needs no refresh: SQLite is shared */
    store_hit *h = NULL;
    int n = 0;
    CHECK(store_fts_search(r, "\"w60\"", 5, &h, &n, &e) == ODX_OK);
    CHECK(n == 1 && strcmp(h[0].hash, "h60") == 0);
    free(h);

    /* many generations later, with tombstones pruned past the reader: it
     * rebuilds instead of catching up, and still ends up right */
    for (int g = 0; g < 110; g++) {
        CHECK(store_begin(w, &e) == ODX_OK);
        CHECK(put_item(w, 61 + (g % 3)) == ODX_OK); /* replaces: tombstones */
        CHECK(store_commit(w, &e) == ODX_OK);
    }
    CHECK(store_save(w, &e) == ODX_OK);
    char *floor = NULL;
    CHECK(store_meta_get(w, "tomb_floor", &floor, &e) == ODX_OK);
    CHECK(floor && atoll(floor) > 0);
    free(floor);
    int64_t n_tomb = -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(store_sqlite(w), "SELECT count(*) FROM tombstones", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n_tomb = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    CHECK(n_tomb >= 0 && n_tomb < 110 * 2);
    n_rebuild_logs = 0;
    CHECK(store_refresh(r, &e) == ODX_OK);
    CHECK(stats(r).faiss_ntotal == stats(w).n_vectors);
    CHECK(has_item(r, 61) && has_item(r, 62) && has_item(r, 63) && has_item(r, 60));
done:
    store_close(r);
    store_close(w);
}

/* Dimension or factory changes recorded in meta are honoured on open. */
static void test_meta_changes(const char *dir)
{
    odx_err e = {0};
    store *s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return;
    int64_t nv = stats(s).n_vectors;
    CHECK(store_meta_set(s, "faiss_factory", "IDMap,Flat", &e) == ODX_OK);
    store_close(s);
    s = NULL;
    n_rebuild_logs = 0;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return;
    store_stats st = stats(s);
    CHECK_STR(st.index_type, "IDMap,Flat");
    CHECK(st.faiss_ntotal == nv);
    CHECK(n_rebuild_logs >= 1);
    CHECK(del_item(s, 20) == ODX_OK); /* remove_ids works on IDMap too */
    CHECK(!has_item(s, 20) && has_item(s, 21));

    /* a database made with another embedding dimension: vectors dropped,
     * content marked for re-embedding */
    char buf[16];
    snprintf(buf, sizeof buf, "%d", store_dim(s) + 8);
    CHECK(store_meta_set(s, "dim", buf, &e) == ODX_OK);
    store_close(s);
    s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return;
    st = stats(s);
    CHECK(st.n_vectors == 0 && st.faiss_ntotal == 0 && st.n_content > 0);
    char eng[32], emb[32];
    bool found = false;
    CHECK(store_content_get(s, "h21", eng, emb, &found, &e) == ODX_OK);
    CHECK(found && emb[0] == 0);
    CHECK(put_item(s, 21) == ODX_OK);
    CHECK(has_item(s, 21));
    store_close(s);
}

/* ---------------------------------------------------------- threads ---- */

typedef struct thr_arg {
    store *s;
    atomic_int *stop;
    int n_err, n_ok;
} thr_arg;

static void *searcher(void *p)
{
    thr_arg *a = p;
    int dim = store_dim(a->s);
    float *q = malloc(sizeof(float) * (size_t)dim);
    for (int it = 0; !atomic_load(a->stop) || it < 20; it++) {
        odx_err e = {0};
        store_hit *h = NULL;
        int n = 0;
        unit_vec(q, dim, (uint32_t)(it % 50));
        if (store_dense_search(a->s, q, 5, &h, &n, &e) != ODX_OK)
            a->n_err++;
        else
            a->n_ok++;
        free(h);
        h = NULL;
        if (store_fts_search(a->s, "\"item\"", 5, &h, &n, &e) != ODX_OK)
            a->n_err++;
        free(h);
        if (it % 10 == 0 && store_refresh(a->s, &e) != ODX_OK)
            a->n_err++;
    }
    free(q);
    return NULL;
}

static void test_threads(const char *dir)
{
    odx_err e = {0};
    store *s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return;
    atomic_int stop = 0;
    pthread_t th[3];
    thr_arg args[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (thr_arg){s, &stop, 0, 0};
        pthread_create(&th[i], NULL, searcher, &args[i]);
    }
    for (int b = 0; b < 15; b++) {
        CHECK(store_begin(s, &e) == ODX_OK);
        CHECK(put_item(s, 100 + b) == ODX_OK);
        if (b % 3 == 0)
            CHECK(del_item(s, 100 + b - 1) == ODX_OK);
        CHECK(store_commit(s, &e) == ODX_OK);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].n_err == 0);
        CHECK(args[i].n_ok >= 20);
    }
    store_stats st = stats(s);
    CHECK(st.faiss_ntotal == st.n_vectors);
    CHECK(has_item(s, 114) && !has_item(s, 102) && has_item(s, 101));
    store_close(s);
}

int main(void)
{
    core_log_set(log_fn, NULL, 3);
    char tmpl[] = "/tmp/odx_store_faiss_XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return check_result("test_store_faiss");
    test_save_reopen_crash(dir);
    test_corrupt_files(dir);
    test_reader_refresh(dir);
    test_threads(dir);
    test_meta_changes(dir);
    rmtree(dir);
    return check_result("test_store_faiss");
}

/* test_store_db.c - storage: opening, schema versions, images, roots,
 * meta, byte-exact paths, batches and bad inputs (no FAISS specifics). */
#include "check.h"
#include "storage_int.h" /* store_sqlite: storage's own tests reach the connection */

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/odx_store_db_XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static void rmtree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

static int count_cb(void *ctx, const store_image *im)
{
    (void)im;
    (*(int *)ctx)++;
    return 0;
}

static int find_cb(void *ctx, const store_image *im)
{
    const char *want = ((const char **)ctx)[0];
    if (strcmp(im->path, want) == 0) {
        ((const char **)ctx)[1] = "found";
        return 1;
    }
    return 0;
}

static void test_open_reopen_schema(const char *base)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/nested/idx", base);
    odx_err e = {0};
    store *s = NULL;

    /* read-only on a missing index is a clear NOT_FOUND, not a crash */
    CHECK(store_open(dir, true, &s, &e) == ODX_ERR_NOT_FOUND);
    CHECK(s == NULL);
    CHECK(strlen(e.msg) > 0);

    core_err_clear(&e);
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    CHECK(s != NULL);
    if (!s)
        return;
    struct stat sb;
    CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK(store_dim(s) > 0);
    CHECK_STR(store_dir(s), dir);
    char *v = NULL;
    CHECK(store_meta_get(s, "schema_version", &v, &e) == ODX_OK);
    CHECK(v && atoi(v) == STORE_SCHEMA_VERSION);
    free(v);
    v = NULL;
    CHECK(store_meta_get(s, "faiss_factory", &v, &e) == ODX_OK);
    CHECK(v && strstr(v, "IDMap") != NULL);
    free(v);
    v = (char *)1;
    CHECK(store_meta_get(s, "no-such-key", &v, &e) == ODX_OK);
    CHECK(v == NULL);
    CHECK(store_meta_set(s, "note", "hello", &e) == ODX_OK);
    CHECK(store_image_put_ok(s, "/a/b.png", 10, 20, "h1", &e) == ODX_OK);
    store_close(s);
    s = NULL;

    /* reopen keeps data and meta */
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return;
    v = NULL;
    CHECK(store_meta_get(s, "note", &v, &e) == ODX_OK);
    CHECK(v && strcmp(v, "hello") == 0);
    free(v);
    store_image im = {0};
    bool found = false;
    CHECK(store_image_get(s, "/a/b.png", &im, &found, &e) == ODX_OK);
    CHECK(found && im.ok && im.size == 10 && im.mtime_ns == 20);
    CHECK_STR(im.hash, "h1");
    store_image_clear(&im);

    /* a database from a newer omnidex is refused with ODX_ERR_SCHEMA */
    char buf[16];
    snprintf(buf, sizeof buf, "%d", STORE_SCHEMA_VERSION + 1);
    CHECK(store_meta_set(s, "schema_version", buf, &e) == ODX_OK);
    store_close(s);
    s = NULL;
    core_err_clear(&e);
    CHECK(store_open(dir, false, &s, &e) == ODX_ERR_SCHEMA);
    CHECK(s == NULL);
    CHECK(strstr(e.msg, "newer") != NULL);
    core_err_clear(&e);
    CHECK(store_open(dir, true, &s, &e) == ODX_ERR_SCHEMA);
    CHECK(s == NULL);
}

static void test_corrupt_db(const char *base)
{
    /* SQLite results as statuses: busy is the lock code, never fatal */
    CHECK(store_sqlite_status(SQLITE_BUSY) == ODX_ERR_LOCKED);
    CHECK(store_sqlite_status(SQLITE_BUSY_SNAPSHOT) == ODX_ERR_LOCKED);
    CHECK(store_sqlite_status(SQLITE_LOCKED) == ODX_ERR_LOCKED);
    CHECK(store_sqlite_status(SQLITE_CORRUPT) == ODX_ERR_CORRUPT);
    CHECK(store_sqlite_status(SQLITE_NOTADB) == ODX_ERR_CORRUPT);
    CHECK(store_sqlite_status(SQLITE_ERROR) == ODX_ERR_DB);

    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/corrupt", base);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/omnidex.db", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    for (int i = 0; i < 4096; i++)
        fputc((i * 7) & 0xff, f);
    fclose(f);
    odx_err e = {0};
    store *s = NULL;
    /* not a database: the damage status, and the message says what to do */
    CHECK(store_open(dir, false, &s, &e) == ODX_ERR_CORRUPT);
    CHECK(s == NULL);
    CHECK(strstr(e.msg, "omnidex check") != NULL);

    /* a file where the directory should be */
    snprintf(path, sizeof path, "%s/afile", base);
    f = fopen(path, "wb");
    if (f)
        fclose(f);
    core_err_clear(&e);
    CHECK(store_open(path, false, &s, &e) != ODX_OK);
    CHECK(s == NULL);
    core_err_clear(&e);
    CHECK(store_open("", false, &s, &e) == ODX_ERR_INVALID);
}

static void test_images_paths_roots(const char *base)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/img", base);
    odx_err e = {0};
    store *s = NULL;
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return;

    /* Latin-1 bytes, not UTF-8: must round-trip byte for byte */
    const char bad[] = "/photos/caf\xe9/\xff\xfe na\xefve.jpg";
    CHECK(store_image_put_ok(s, bad, 123, 456, "abc", &e) == ODX_OK);
    store_image im = {0};
    bool found = false;
    CHECK(store_image_get(s, bad, &im, &found, &e) == ODX_OK);
    CHECK(found);
    CHECK(im.path && strlen(im.path) == strlen(bad) && memcmp(im.path, bad, strlen(bad)) == 0);
    int64_t bad_id = im.id;
    store_image_clear(&im);
    const char *ctx[2] = {bad, NULL};
    CHECK(store_images_each(s, find_cb, ctx, &e) == ODX_OK);
    CHECK(ctx[1] != NULL);

    /* a similar but different byte sequence is a different path */
    found = true;
    CHECK(store_image_get(s, "/photos/caf\xc3\xa9/\xff\xfe na\xefve.jpg", &im, &found, &e) ==
          ODX_OK);
    CHECK(!found);

    /* error rows keep stage and reason; a later ok clears them, same id */
    CHECK(store_image_put_error(s, "/x/broken.png", 5, 6, "decode", "truncated PNG", &e) ==
          ODX_OK);
    CHECK(store_image_get(s, "/x/broken.png", &im, &found, &e) == ODX_OK);
    CHECK(found && !im.ok && im.hash[0] == 0);
    CHECK(im.err_stage && strcmp(im.err_stage, "decode") == 0);
    CHECK(im.err_reason && strcmp(im.err_reason, "truncated PNG") == 0);
    int64_t id = im.id;
    store_image_clear(&im);
    CHECK(store_image_put_ok(s, "/x/broken.png", 7, 8, "def", &e) == ODX_OK);
    CHECK(store_image_get(s, "/x/broken.png", &im, &found, &e) == ODX_OK);
    CHECK(found && im.ok && im.id == id && im.err_stage == NULL && im.size == 7);
    store_image_clear(&im);

    int n = 0;
    CHECK(store_images_each(s, count_cb, &n, &e) == ODX_OK);
    CHECK(n == 2);
    store_stats st;
    CHECK(store_get_stats(s, &st, &e) == ODX_OK);
    CHECK(st.n_images == 2 && st.n_errors == 0);

    CHECK(store_image_delete(s, bad_id, &e) == ODX_OK);
    CHECK(store_image_get(s, bad, &im, &found, &e) == ODX_OK);
    CHECK(!found);
    n = 0;
    CHECK(store_images_each(s, count_cb, &n, &e) == ODX_OK);
    CHECK(n == 1);

    /* roots: byte-exact, deduplicated, NULL-terminated */
    CHECK(store_root_add(s, "/data/pics", &e) == ODX_OK);
    CHECK(store_root_add(s, "/data/\xe9t\xe9", &e) == ODX_OK);
    CHECK(store_root_add(s, "/data/pics", &e) == ODX_OK);
    char **roots = NULL;
    CHECK(store_roots(s, &roots, &e) == ODX_OK);
    int n_roots = 0;
    bool has_latin1 = false;
    for (; roots && roots[n_roots]; n_roots++)
        if (strcmp(roots[n_roots], "/data/\xe9t\xe9") == 0)
            has_latin1 = true;
    CHECK(n_roots == 2);
    CHECK(has_latin1);
    for (int i = 0; roots && roots[i]; i++)
        free(roots[i]);
    free(roots);

    /* bad arguments are errors, not crashes */
    core_err_clear(&e);
    CHECK(store_image_put_ok(s, NULL, 1, 1, "h", &e) == ODX_ERR_INVALID);
    CHECK(store_image_put_ok(s, "/p", 1, 1, "", &e) == ODX_ERR_INVALID);
    CHECK(store_image_put_ok(s, "/p", 1, 1, "has space", &e) == ODX_ERR_INVALID);
    CHECK(store_image_get(s, "", &im, &found, &e) == ODX_ERR_INVALID);

    /* batches: rollback discards, commit keeps; nesting is refused */
    CHECK(store_begin(s, &e) == ODX_OK);
    core_err_clear(&e);
    CHECK(store_begin(s, &e) == ODX_ERR_INVALID);
    CHECK(store_image_put_ok(s, "/r/1.png", 1, 1, "r1", &e) == ODX_OK);
    store_rollback(s);
    CHECK(store_image_get(s, "/r/1.png", &im, &found, &e) == ODX_OK);
    CHECK(!found);
    CHECK(store_begin(s, &e) == ODX_OK);
    CHECK(store_image_put_ok(s, "/r/2.png", 1, 1, "r2", &e) == ODX_OK);
    /* a failing call inside a batch leaves the rest of the batch intact */
    core_err_clear(&e);
    CHECK(store_vectors_replace(s, "nohash", NULL, 0, "x", &e) == ODX_ERR_NOT_FOUND);
    CHECK(store_commit(s, &e) == ODX_OK);
    CHECK(store_image_get(s, "/r/2.png", &im, &found, &e) == ODX_OK);
    CHECK(found);
    store_image_clear(&im);
    core_err_clear(&e);
    CHECK(store_commit(s, &e) == ODX_ERR_INVALID);
    store_close(s);

    /* read-only handles refuse writes */
    s = NULL;
    core_err_clear(&e);
    CHECK(store_open(dir, true, &s, &e) == ODX_OK);
    if (s) {
        CHECK(store_image_put_ok(s, "/ro.png", 1, 1, "h", &e) == ODX_ERR_INVALID);
        CHECK(store_meta_set(s, "k", "v", &e) == ODX_ERR_INVALID);
        CHECK(store_save(s, &e) == ODX_ERR_INVALID);
        CHECK(store_image_get(s, "/x/broken.png", &im, &found, &e) == ODX_OK);
        CHECK(found);
        store_image_clear(&im);
        store_close(s);
    }
    store_close(NULL);
    store_image_clear(NULL);
    store_texts_free(NULL, 0);
}

int main(void)
{
    char *base = tmpdir();
    CHECK(base != NULL);
    if (!base)
        return check_result("test_store_db");
    test_open_reopen_schema(base);
    test_corrupt_db(base);
    test_images_paths_roots(base);
    rmtree(base);
    free(base);
    return check_result("test_store_db");
}

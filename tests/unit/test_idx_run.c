/* test_idx_run.c - whole index passes over a temp folder of generated PNGs:
 * change detection and its counters, content reuse for renamed/copied files,
 * re-embedding, prune, error rows for bad files, retry rules, progress
 * events, cancel, the lock, and rebuild --fresh. OCR/detector are off. */
#include "check.h"
#include "embedder.h"
#include "indexer.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static char g_tmp[256], g_img[300], g_db[300];

static void pathf(char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s/%s", g_img, rel);
}

/* A small RGB PNG whose pixels depend on seed (distinct seeds, distinct
 * content hashes). */
static void write_png(const char *rel, int w, int h, unsigned seed)
{
    char p[512];
    pathf(p, sizeof p, rel);
    FILE *f = fopen(p, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", p);
        exit(2);
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "libpng failed on %s\n", p);
        exit(2);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    unsigned char *row = malloc((size_t)w * 3);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            row[3 * x] = (unsigned char)(x * 4 + seed * 37);
            row[3 * x + 1] = (unsigned char)(y * 4 + seed * 91);
            row[3 * x + 2] = (unsigned char)((x ^ y) + seed * 13);
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    fclose(f);
}

static void write_bytes(const char *rel, const void *d, size_t n)
{
    char p[512];
    pathf(p, sizeof p, rel);
    FILE *f = fopen(p, "wb");
    if (!f || (n && fwrite(d, 1, n, f) != n)) {
        fprintf(stderr, "cannot write %s\n", p);
        exit(2);
    }
    fclose(f);
}

static uint8_t *slurp(const char *rel, size_t *n)
{
    char p[512];
    pathf(p, sizeof p, rel);
    uint8_t *d = NULL;
    if (core_read_file(p, 0, &d, n, NULL) != ODX_OK)
        exit(2);
    return d;
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* A valid PNG header claiming 100000 x 100000 pixels, then nothing. */
static void write_huge_header(const char *rel)
{
    uint8_t b[8 + 25] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    put32(b + 8, 13);
    memcpy(b + 12, "IHDR", 4);
    put32(b + 16, 100000);
    put32(b + 20, 100000);
    b[24] = 8, b[25] = 2, b[26] = 0, b[27] = 0, b[28] = 0;
    put32(b + 29, crc32_of(b + 12, 17));
    write_bytes(rel, b, sizeof b);
}

typedef struct events {
    int scan, file, error, done, batch;
    int64_t last_done, last_total;
} events;

static void on_progress(const odx_progress *e, void *user)
{
    events *ev = user;
    if (!strcmp(e->event, "scan"))
        ev->scan++;
    else if (!strcmp(e->event, "file"))
        ev->file++;
    else if (!strcmp(e->event, "error"))
        ev->error++;
    else if (!strcmp(e->event, "done"))
        ev->done++;
    else if (!strcmp(e->event, "batch"))
        ev->batch++;
    ev->last_done = e->done;
    ev->last_total = e->total;
}

static odx_index_params params(void)
{
    odx_index_params p;
    memset(&p, 0, sizeof p);
    p.n_workers = 2;
    p.batch_size = 3;
    p.max_pixels = 100LL * 1000 * 1000;
    p.max_file_bytes = 1 << 20;
    p.prune = true;
    p.follow_symlinks = true;
    return p;
}

static cap_config g_cap;

static odx_status run_once(store *s, const odx_index_params *p, odx_index_stats *st,
                           odx_err *err)
{
    const char *roots[] = {g_img};
    memset(err, 0, sizeof *err);
    odx_status rc = idx_run(s, g_db, &g_cap, roots, 1, p, st, err);
    if (rc != ODX_OK)
        fprintf(stderr, "idx_run: %s (%s)\n", err->msg, core_status_str(rc));
    return rc;
}

static bool image_row(store *s, const char *rel, store_image *im)
{
    char p[512];
    pathf(p, sizeof p, rel);
    bool found = false;
    memset(im, 0, sizeof *im);
    if (store_image_get(s, p, im, &found, NULL) != ODX_OK)
        return false;
    return found;
}

static void check_consistent(store *s)
{
    store_stats ss;
    memset(&ss, 0, sizeof ss);
    CHECK(store_get_stats(s, &ss, NULL) == ODX_OK);
    CHECK_MSG(ss.faiss_ntotal == ss.n_vectors, "faiss %lld vs vectors %lld",
              (long long)ss.faiss_ntotal, (long long)ss.n_vectors);
}

static int64_t n_images(store *s)
{
    store_stats ss;
    memset(&ss, 0, sizeof ss);
    store_get_stats(s, &ss, NULL);
    return ss.n_images;
}

static int64_t n_rows(store *s)
{
    store_stats ss;
    memset(&ss, 0, sizeof ss);
    store_get_stats(s, &ss, NULL);
    return ss.n_images + ss.n_errors;
}

static void test_passes(void)
{
    store *s = NULL;
    odx_err err = {0};
    CHECK(store_open(g_db, false, &s, &err) == ODX_OK);
    if (!s) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        return;
    }
    for (unsigned i = 0; i < 6; i++) {
        char n[32];
        snprintf(n, sizeof n, i < 3 ? "img%u.png" : "sub/img%u.png", i);
        write_png(n, 40 + (int)i, 30, i + 1);
    }
    write_bytes("README.txt", "not an image", 12);

    /* 1. first pass: everything new, captioned */
    odx_index_params p = params();
    events ev = {0};
    p.progress = on_progress;
    p.progress_user = &ev;
    odx_index_stats st;
    CHECK(run_once(s, &p, &st, &err) == ODX_OK);
    CHECK(st.n_seen == 6 && st.n_new == 6 && st.n_changed == 0);
    CHECK(st.n_reused == 0 && st.n_failed == 0 && st.n_unchanged == 0);
    CHECK(st.n_skipped == 1);
    CHECK(ev.scan == 1 && ev.done == 1 && ev.file == 6 && ev.error == 0);
    CHECK(ev.batch >= 2); /* batch_size 3: at least two transactions */
    CHECK(ev.last_done == 6 && ev.last_total == 6);
    CHECK(n_images(s) == 6);
    store_image im;
    CHECK(image_row(s, "sub/img4.png", &im) && im.ok && strlen(im.hash) == 64);
    store_image_clear(&im);
    check_consistent(s);
    char **roots = NULL;
    CHECK(store_roots(s, &roots, NULL) == ODX_OK && roots && roots[0] &&
          !strcmp(roots[0], g_img) && !roots[1]);
    for (int i = 0; roots && roots[i]; i++)
        free(roots[i]);
    free(roots);

    /* 2. nothing changed: nothing read */
    p.progress = NULL;
    CHECK(run_once(s, &p, &st, &err) == ODX_OK);
    CHECK(st.n_unchanged == 6 && st.n_new == 0 && st.n_changed == 0 &&
          st.n_reused == 0 && st.n_removed == 0);

    /* 3. rename + copy: reused, old path removed */
    char a[512], b[512];
    pathf(a, sizeof a, "img1.png");
    pathf(b, sizeof b, "renamed.png");
    CHECK(rename(a, b) == 0);
    size_t n = 0;
    uint8_t *d = slurp("img2.png", &n);
    write_bytes("sub/copy.png", d, n);
    free(d);
    CHECK(run_once(s, &p, &st, &err) == ODX_OK);
    CHECK_MSG(st.n_new == 2 && st.n_reused == 2 && st.n_removed == 1,
              "new %lld reused %lld removed %lld", (long long)st.n_new,
              (long long)st.n_reused, (long long)st.n_removed);
    CHECK(!image_row(s, "img1.png", &im));
    CHECK(image_row(s, "renamed.png", &im) && im.ok);
    store_image_clear(&im);
    CHECK(n_images(s) == 7);
    check_consistent(s);

    /* 4. edited content: re-captioned; touched only: re-hashed and reused */
    write_png("img0.png", 44, 31, 99);
    pathf(a, sizeof a, "sub/img3.png");
    struct timeval tv[2] = {{1500000000, 0}, {1500000000, 0}};
    CHECK(utimes(a, tv) == 0);
    CHECK(run_once(s, &p, &st, &err) == ODX_OK);
    CHECK(st.n_changed == 2 && st.n_reused == 1 && st.n_new == 0);
    CHECK(image_row(s, "sub/img3.png", &im) && im.mtime_ns == 1500000000LL * 1000000000LL);
    store_image_clear(&im);

    /* 5. a different embedder on one content: re-embedded, file not read */
    CHECK(image_row(s, "img2.png", &im));
    float v[EMB_DIM] = {0};
    v[0] = 1;
    store_vec sv = {"caption", v};
    CHECK(store_begin(s, NULL) == ODX_OK);
    CHECK(store_vectors_replace(s, im.hash, &sv, 1, "old-embedder", NULL) == ODX_OK);
    CHECK(store_commit(s, NULL) == ODX_OK);
    char eng[32], emb[32];
    bool found = false;
    CHECK(store_content_get(s, im.hash, eng, emb, &found, NULL) == ODX_OK && found &&
          !strcmp(emb, "old-embedder"));
    pathf(a, sizeof a, "img2.png");
    chmod(a, 0); /* proves the file is not read (where permissions bite) */
    CHECK(run_once(s, &p, &st, &err) == ODX_OK);
    chmod(a, 0644);
    CHECK(st.n_reembedded == 1 && st.n_unchanged == 7 && st.n_failed == 0);
    CHECK(store_content_get(s, im.hash, eng, emb, &found, NULL) == ODX_OK && found &&
          !strcmp(emb, emb_model_id()));
    check_consistent(s);

    /* 6. an older caption engine on one content: re-captioned */
    store_text *tx = NULL;
    int ntx = 0;
    CHECK(store_content_texts(s, im.hash, &tx, &ntx, NULL) == ODX_OK && ntx > 0);
    store_content c = {.desc_json = "{}", .format = "png", .domain = "photo",
                       .engine_version = "native-0", .embedder = emb_model_id(),
                       .texts = tx, .n_texts = ntx, .width = 1, .height = 1};
    CHECK(store_begin(s, NULL) == ODX_OK);
    CHECK(store_content_put(s, im.hash, &c, NULL) == ODX_OK);
    CHECK(store_commit(s, NULL) == ODX_OK);
    store_texts_free(tx, ntx);
    CHECK(run_once(s, &p, &st, &err) == ODX_OK);
    /* img2 + its copy: captioned once. The copy is either re-processed and
     * reused, or (when the first result was written before the walk reached
     * it) already current and unchanged. */
    CHECK_MSG(st.n_changed >= 1 && st.n_changed - st.n_reused == 1 && st.n_failed == 0, "changed %lld reused %lld failed %lld",
              (long long)st.n_changed, (long long)st.n_reused, (long long)st.n_failed);
    CHECK(store_content_get(s, im.hash, eng, emb, &found, NULL) == ODX_OK && found &&
          !strcmp(eng, CAP_ENGINE_VERSION));
    store_image_clear(&im);
    check_consistent(s);

    /* 7. no-prune keeps vanished files, prune removes them */
    pathf(a, sizeof a, "sub/img5.png");
    CHECK(unlink(a) == 0);
    p.prune = false;
    CHECK(run_once(s, &p, &st, &err) == ODX_OK);
    CHECK(st.n_removed == 0 && image_row(s, "sub/img5.png", &im));
    store_image_clear(&im);
    p.prune = true;
    CHECK(run_once(s, &p, &st, &err) == ODX_OK);
    CHECK(st.n_removed == 1 && !image_row(s, "sub/img5.png", &im));
    check_consistent(s);

    /* 8. two new copies of one new image in one pass: captioned once */
    write_png("twin_a.png", 33, 33, 777);
    d = slurp("twin_a.png", &n);
    write_bytes("twin_b.png", d, n);
    free(d);
    CHECK(run_once(s, &p, &st, &err) == ODX_OK);
    CHECK(st.n_new == 2 && st.n_reused == 1);

    /* 9. bad files: each an error row with its stage, the rest indexed */
    static const uint8_t magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t junk[64];
    memcpy(junk, magic, 8);
    for (int i = 8; i < 64; i++)
        junk[i] = (uint8_t)(i * 7);
    write_bytes("bad/corrupt.png", junk, sizeof junk);
    d = slurp("img0.png", &n);
    write_bytes("bad/truncated.png", d, n / 2);
    free(d);
    write_bytes("bad/zero.png", "", 0);
    write_bytes("bad/text.png", "hello, I am text", 16);
    write_bytes("bad/text.jpg", "hello, I am text", 16);
    write_huge_header("bad/huge.png");
    write_png("bad/locked.png", 20, 20, 4242);
    pathf(a, sizeof a, "bad/locked.png");
    chmod(a, 0);
    bool readable = access(a, R_OK) == 0; /* root reads anyway */
    uint8_t *big = calloc(1, (1 << 20) + 10);
    memcpy(big, magic, 8);
    write_bytes("bad/toolarge.png", big, (1 << 20) + 10);
    free(big);
    write_png("bad/fine.png", 25, 25, 31337);
    CHECK(run_once(s, &p, &st, &err) == ODX_OK);
    int n_bad = readable ? 7 : 8;
    CHECK_MSG(st.n_failed == n_bad, "failed %lld, want %d", (long long)st.n_failed, n_bad);
    CHECK(st.n_new == 9);
    static const struct {
        const char *rel, *stage;
    } bad[] = {{"bad/corrupt.png", "decode"}, {"bad/truncated.png", "decode"},
               {"bad/zero.png", "decode"},    {"bad/text.png", "decode"},
               {"bad/text.jpg", "decode"},    {"bad/huge.png", "decode"},
               {"bad/toolarge.png", "read"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool got = image_row(s, bad[i].rel, &im);
        CHECK_MSG(got && !im.ok && im.err_stage && !strcmp(im.err_stage, bad[i].stage) &&
                      im.err_reason && im.err_reason[0],
                  "%s: row %d ok %d stage %s reason %s", bad[i].rel, got, im.ok,
                  im.err_stage ? im.err_stage : "-", im.err_reason ? im.err_reason : "-");
        store_image_clear(&im);
    }
    CHECK(image_row(s, "bad/huge.png", &im) && im.err_reason &&
          strstr(im.err_reason, "100000"));
    store_image_clear(&im);
    CHECK(image_row(s, "bad/locked.png", &im));
    if (readable)
        CHECK(im.ok);
    else
        CHECK(!im.ok && im.err_stage && !strcmp(im.err_stage, "read"));
    store_image_clear(&im);
    CHECK(image_row(s, "bad/fine.png", &im) && im.ok);
    store_image_clear(&im);

    /* errors are not retried while unchanged, unless asked */
    CHECK(run_once(s, &p, &st, &err) == ODX_OK);
    CHECK(st.n_failed == 0 && st.n_new == 0 && st.n_changed == 0);
    p.retry_errors = true;
    CHECK(run_once(s, &p, &st, &err) == ODX_OK);
    CHECK(st.n_failed == n_bad && st.n_changed == n_bad);
    p.retry_errors = false;
    pathf(a, sizeof a, "bad/locked.png");
    chmod(a, 0644);
    check_consistent(s);

    /* 10. cancel: stops before doing anything more */
    volatile int stop = 1;
    write_png("late.png", 21, 21, 555);
    p.cancel = &stop;
    CHECK(run_once(s, &p, &st, &err) == ODX_ERR_INTERRUPTED);
    CHECK(!image_row(s, "late.png", &im));
    p.cancel = NULL;

    /* 11. the lock held elsewhere: refused, nothing done */
    char lp[512];
    snprintf(lp, sizeof lp, "%s/lock", g_db);
    int fd = open(lp, O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
    err = (odx_err){0};
    const char *roots1[] = {g_img};
    CHECK(idx_run(s, g_db, &g_cap, roots1, 1, &p, &st, &err) == ODX_ERR_LOCKED);
    close(fd);

    /* 12. remembered roots: no argument re-indexes them */
    err = (odx_err){0};
    CHECK(idx_run(s, g_db, &g_cap, NULL, 0, &p, &st, &err) == ODX_OK);
    CHECK(st.n_new == 1 && image_row(s, "late.png", &im));
    store_image_clear(&im);

    /* 13. a missing explicit root fails up front */
    err = (odx_err){0};
    const char *missing[] = {"/nonexistent/odx/folder"};
    CHECK(idx_run(s, g_db, &g_cap, missing, 1, &p, &st, &err) == ODX_ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "/nonexistent/odx/folder") != NULL);

    int64_t before = n_rows(s), before_ok = n_images(s);
    store_close(s);

    /* 14. rebuild --fresh: a new database swapped in, same images; a reader
     * opened before keeps answering from the old files */
    store *reader = NULL;
    CHECK(store_open(g_db, true, &reader, NULL) == ODX_OK);
    err = (odx_err){0};
    CHECK(idx_rebuild_fresh(g_db, &g_cap, &p, &st, &err) == ODX_OK);
    if (reader) {
        store_stats rs;
        memset(&rs, 0, sizeof rs);
        CHECK(store_get_stats(reader, &rs, NULL) == ODX_OK &&
              rs.n_images + rs.n_errors == before);
        store_close(reader);
    }
    if (err.code)
        fprintf(stderr, "rebuild: %s\n", err.msg);
    char fresh[400];
    snprintf(fresh, sizeof fresh, "%s.fresh", g_db);
    CHECK(access(fresh, F_OK) != 0);
    s = NULL;
    CHECK(store_open(g_db, false, &s, NULL) == ODX_OK);
    CHECK(s && n_rows(s) == before && n_images(s) == before_ok);
    CHECK_MSG(st.n_new == before && st.n_reused >= 1, "new %lld reused %lld before %lld",
              (long long)st.n_new, (long long)st.n_reused, (long long)before);
    if (s)
        check_consistent(s);
    store_close(s);
}

int main(void)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/odx_idx_run_XXXXXX");
    if (!mkdtemp(g_tmp))
        return 2;
    snprintf(g_img, sizeof g_img, "%s/imgs", g_tmp);
    snprintf(g_db, sizeof g_db, "%s/db", g_tmp);
    mkdir(g_img, 0755);
    char sub[400];
    snprintf(sub, sizeof sub, "%s/sub", g_img);
    mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/bad", g_img);
    mkdir(sub, 0755);
    g_cap = cap_config_default();
    g_cap.ocr = false;
    g_cap.detect = false;
    test_passes();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", g_tmp);
    return check_result("test_idx_run");
}

/* test_idx_walk.c - the indexer's file-system side: walker filters (hidden,
 * globs, extensions), symlink loops, non-UTF-8 names, magic sniffing, the
 * key set, and the writer lock refusing a second holder. */
#include "check.h"
#include "indexer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_root[256];

static void touch(const char *rel, const char *content)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_root, rel);
    FILE *f = fopen(p, "wb");
    if (!f) {
        fprintf(stderr, "cannot create %s: %s\n", p, strerror(errno));
        exit(2);
    }
    fputs(content, f);
    fclose(f);
}

static void mkd(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_root, rel);
    mkdir(p, 0755);
}

typedef struct seen {
    char rel[64][128];
    int kind[64];
    char reason[64][96];
    int n;
} seen;

static int collect(void *ctx, const idx_entry *e)
{
    seen *s = ctx;
    if (s->n < 64) {
        snprintf(s->rel[s->n], sizeof s->rel[0], "%s", e->rel);
        snprintf(s->reason[s->n], sizeof s->reason[0], "%s", e->reason ? e->reason : "");
        s->kind[s->n] = e->kind;
        s->n++;
    }
    return 0;
}

static int find(const seen *s, const char *rel)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->rel[i], rel))
            return i;
    return -1;
}

static int kind_of(const seen *s, const char *rel)
{
    int i = find(s, rel);
    return i < 0 ? -1 : s->kind[i];
}

static void walk(const idx_walk_opts *o, seen *s, odx_status *st)
{
    idx_walker *w = NULL;
    odx_err err = {0};
    memset(s, 0, sizeof *s);
    CHECK(idx_walker_new(o, &w, &err) == ODX_OK);
    *st = idx_walk(w, g_root, collect, s, &err);
    idx_walker_free(w);
}

static void test_names(void)
{
    CHECK(idx_has_image_ext("a.png"));
    CHECK(idx_has_image_ext("dir/A.JPG"));
    CHECK(idx_has_image_ext("x.jpeg"));
    CHECK(!idx_has_image_ext("README.txt"));
    CHECK(!idx_has_image_ext("png"));
    CHECK(!idx_has_image_ext("a.png/b"));
    CHECK(!idx_has_image_ext("a.png.bak"));
    static const char *more[] = {"a.webp", "b.GIF", "c.tif", "d.TIFF", "e.bmp", "f.heic",
                                 "g.HEIF", "h.hif", "i.avif", "j.jfif", "k.dib"};
    for (size_t i = 0; i < sizeof more / sizeof *more; i++)
        CHECK_MSG(idx_has_image_ext(more[i]), "%s", more[i]);
    CHECK_STR(idx_skip_reason("notes.txt"), IDX_SKIP_NOT_IMAGE);
    CHECK_STR(idx_skip_reason("noext"), IDX_SKIP_NOT_IMAGE);
    CHECK_STR(idx_skip_reason("logo.SVG"), IDX_SKIP_UNSUPPORTED);
    CHECK_STR(idx_skip_reason("raw.cr2"), IDX_SKIP_UNSUPPORTED);
    CHECK(idx_sniff((const uint8_t *)"GIF89a\1\0\1\0", 10) &&
          !strcmp(idx_sniff((const uint8_t *)"GIF89a\1\0\1\0", 10), "gif"));
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t jpg[4] = {0xff, 0xd8, 0xff, 0xe0};
    CHECK(idx_sniff(png, 8) && !strcmp(idx_sniff(png, 8), "png"));
    CHECK(idx_sniff(jpg, 4) && !strcmp(idx_sniff(jpg, 4), "jpeg"));
    CHECK(idx_sniff(png, 7) == NULL); /* truncated magic */
    CHECK(idx_sniff((const uint8_t *)"hello world", 11) == NULL);
}

static void test_set(void)
{
    idx_set s = {0};
    CHECK(idx_set_add(&s, 42));
    CHECK(!idx_set_add(&s, 42));
    CHECK(idx_set_add(&s, 0));
    CHECK(idx_set_has(&s, 0));
    int fresh = 0;
    for (uint64_t k = 1000; k < 21000; k++)
        fresh += idx_set_add(&s, k * 7919);
    CHECK(fresh == 20000);
    CHECK(idx_set_has(&s, 1000 * 7919) && idx_set_has(&s, 20999ULL * 7919));
    CHECK(!idx_set_has(&s, 3));
    idx_set_free(&s);
    idx_set_free(&s); /* twice is harmless */
}

static void test_walk(void)
{
    mkd("sub");
    mkd("sub/deeper");
    mkd(".hidden");
    mkd("thumbs");
    touch("a.png", "x");
    touch("b.JPG", "x");
    touch("notes.txt", "x");
    touch(".secret.png", "x");
    touch(".hidden/in.png", "x");
    touch("sub/c.jpeg", "x");
    touch("sub/deeper/d.png", "x");
    touch("sub/skip.tmp.png", "x");
    touch("thumbs/t.png", "x");
    /* a non-UTF-8 name, kept byte-exact */
    touch("bad\xff\xfe.png", "x");
    /* a loop: sub/deeper/up -> the root; and a self-referencing pair */
    char p[512], t[512];
    snprintf(p, sizeof p, "%s/sub/deeper/up", g_root);
    CHECK(symlink(g_root, p) == 0);
    snprintf(p, sizeof p, "%s/loop1.png", g_root);
    snprintf(t, sizeof t, "%s/loop2.png", g_root);
    CHECK(symlink(t, p) == 0);
    CHECK(symlink(p, t) == 0);
    /* a link to a file: indexed under the link's name */
    snprintf(p, sizeof p, "%s/link.png", g_root);
    snprintf(t, sizeof t, "%s/a.png", g_root);
    CHECK(symlink(t, p) == 0);
    /* a dangling non-image link: skipped quietly */
    snprintf(p, sizeof p, "%s/gone.txt", g_root);
    CHECK(symlink("/nonexistent/x", p) == 0);

    seen s;
    odx_status st;
    idx_walk_opts o = {.follow_symlinks = true};
    walk(&o, &s, &st);
    CHECK(st == ODX_OK);
    CHECK(kind_of(&s, "a.png") == IDX_E_IMAGE);
    CHECK(kind_of(&s, "b.JPG") == IDX_E_IMAGE);
    CHECK(kind_of(&s, "notes.txt") == IDX_E_SKIPPED);
    CHECK(kind_of(&s, ".secret.png") == IDX_E_SKIPPED);
    CHECK(kind_of(&s, ".hidden") == IDX_E_SKIPPED);
    CHECK(find(&s, ".hidden/in.png") < 0);
    CHECK(kind_of(&s, "sub/c.jpeg") == IDX_E_IMAGE);
    CHECK(kind_of(&s, "sub/deeper/d.png") == IDX_E_IMAGE);
    CHECK(kind_of(&s, "bad\xff\xfe.png") == IDX_E_IMAGE);
    CHECK(kind_of(&s, "link.png") == IDX_E_IMAGE);
    CHECK(kind_of(&s, "gone.txt") == IDX_E_SKIPPED);
    /* the loop back to the root is cut, not followed */
    CHECK(kind_of(&s, "sub/deeper/up") == IDX_E_SKIPPED);
    CHECK(find(&s, "sub/deeper/up/a.png") < 0);
    CHECK(kind_of(&s, "loop1.png") == IDX_E_ERROR);
    int i = find(&s, "loop1.png");
    CHECK(i >= 0 && strstr(s.reason[i], "loop"));
    /* sorted byte order: a.png before b.JPG? 'B'... bytes: 'a'(0x61) > 'b'? */
    CHECK(find(&s, "a.png") < find(&s, "b.JPG"));
    CHECK(find(&s, "sub/c.jpeg") < find(&s, "sub/deeper/d.png"));

    /* hidden included */
    o.include_hidden = true;
    walk(&o, &s, &st);
    CHECK(kind_of(&s, ".secret.png") == IDX_E_IMAGE);
    CHECK(kind_of(&s, ".hidden/in.png") == IDX_E_IMAGE);

    /* globs: exclude prunes a directory and matches across '/' */
    const char *ex[] = {"thumbs", "*.tmp.png"};
    idx_walk_opts o2 = {.follow_symlinks = true, .exclude = ex, .n_exclude = 2};
    walk(&o2, &s, &st);
    CHECK(kind_of(&s, "thumbs") == IDX_E_SKIPPED);
    CHECK(find(&s, "thumbs/t.png") < 0);
    CHECK(kind_of(&s, "sub/skip.tmp.png") == IDX_E_SKIPPED);
    CHECK(kind_of(&s, "sub/c.jpeg") == IDX_E_IMAGE);
    const char *in[] = {"sub/*"};
    idx_walk_opts o3 = {.follow_symlinks = true, .include = in, .n_include = 1};
    walk(&o3, &s, &st);
    CHECK(kind_of(&s, "a.png") == IDX_E_SKIPPED);
    CHECK(kind_of(&s, "sub/c.jpeg") == IDX_E_IMAGE);
    CHECK(kind_of(&s, "sub/deeper/d.png") == IDX_E_IMAGE);

    /* symlinks not followed */
    idx_walk_opts o4 = {.follow_symlinks = false};
    walk(&o4, &s, &st);
    CHECK(kind_of(&s, "link.png") == IDX_E_SKIPPED);
    CHECK(kind_of(&s, "loop1.png") == IDX_E_SKIPPED);

    /* a file root: one entry, its base name as rel */
    idx_walker *w = NULL;
    odx_err err = {0};
    CHECK(idx_walker_new(&o, &w, &err) == ODX_OK);
    memset(&s, 0, sizeof s);
    snprintf(p, sizeof p, "%s/sub/c.jpeg", g_root);
    CHECK(idx_walk(w, p, collect, &s, &err) == ODX_OK);
    CHECK(s.n == 1 && s.kind[0] == IDX_E_IMAGE && !strcmp(s.rel[0], "c.jpeg"));
    /* a missing root */
    err = (odx_err){0};
    snprintf(p, sizeof p, "%s/nope", g_root);
    CHECK(idx_walk(w, p, collect, &s, &err) == ODX_ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "nope") != NULL);
    idx_walker_free(w);

    /* an unreadable directory is an error entry (as root, chmod 000 does not
     * stop us: then its files must be listed instead) */
    mkd("closed");
    touch("closed/e.png", "x");
    snprintf(p, sizeof p, "%s/closed", g_root);
    chmod(p, 0);
    bool can_read = access(p, R_OK | X_OK) == 0;
    walk(&o, &s, &st);
    if (can_read)
        CHECK(kind_of(&s, "closed/e.png") == IDX_E_IMAGE);
    else
        CHECK(kind_of(&s, "closed") == IDX_E_ERROR && find(&s, "closed/e.png") < 0);
    chmod(p, 0755);
}

static void test_lock(void)
{
    int fd = -1, fd2 = -1;
    odx_err err = {0};
    CHECK(idx_lock_acquire(g_root, false, NULL, &fd, &err) == ODX_OK);
    CHECK(fd >= 0);
    /* the same process asking again (idx_run under a caller's lock) nests */
    CHECK(idx_lock_acquire(g_root, false, NULL, &fd2, &err) == ODX_OK);
    CHECK(fd2 == -1);
    /* another process is refused, and told the holder's pid */
    pid_t child = fork();
    if (child == 0) {
        int cfd = -1;
        odx_err cerr = {0};
        odx_status st = idx_lock_acquire(g_root, false, NULL, &cfd, &cerr);
        char want[32];
        snprintf(want, sizeof want, "pid %ld", (long)getppid());
        _exit(st == ODX_ERR_LOCKED && strstr(cerr.msg, want) ? 0 : 1);
    }
    int ws = 0;
    waitpid(child, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    idx_lock_release(fd);
    idx_lock_release(-1);

    /* a lock held through another descriptor (any holder) -> LOCKED */
    char p[512];
    snprintf(p, sizeof p, "%s/lock", g_root);
    int raw = open(p, O_RDWR);
    CHECK(raw >= 0 && flock(raw, LOCK_EX | LOCK_NB) == 0);
    err = (odx_err){0};
    CHECK(idx_lock_acquire(g_root, false, NULL, &fd, &err) == ODX_ERR_LOCKED);
    CHECK(strstr(err.msg, "lock") != NULL);
    close(raw);
    err = (odx_err){0};
    CHECK(idx_lock_acquire(g_root, false, NULL, &fd, &err) == ODX_OK);
    idx_lock_release(fd);
}

int main(void)
{
    snprintf(g_root, sizeof g_root, "/tmp/odx_idx_walk_XXXXXX");
    if (!mkdtemp(g_root))
        return 2;
    test_names();
    test_set();
    test_walk();
    test_lock();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", g_root);
    return check_result("test_idx_walk");
}

/* walk.c - the file-system side of the indexer: walks a root in sorted byte
 * order, applies the hidden/glob/extension filters, follows symlinks without
 * loops, and hands each entry to the runner (run.c) or the pre-scan. */
#include "indexer.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define WALK_MAX_DEPTH 256
#define WALK_MAX_PATH 65536
#define WALK_MAX_DIR_ENTRIES 50000000

struct idx_walker {
    idx_walk_opts o;
    idx_set visited; /* hash of (dev, ino) of every directory entered */
};

typedef struct walk_name {
    char *name;
    unsigned char type; /* d_type */
} walk_name;

typedef struct walk_ctx {
    idx_walker *w;
    char *path;   /* current path, grown as needed */
    size_t cap;
    size_t root_len;
    int (*fn)(void *ctx, const idx_entry *e);
    void *user;
    bool stopped;
} walk_ctx;

/* The names the walk picks; the content then decides the decoder (by
 * magic bytes, cap_sniff), so a .png that holds a JPEG is read as JPEG. */
const char *const IDX_IMAGE_EXTS[] = {"png", "jpg", "jpeg", "jpe", "jfif", "webp", "gif",
                                      "tif", "tiff", "bmp", "dib", "heic", "heif", "hif",
                                      "avif", NULL};

/* Image kinds omnidex does not read: skipped with their own reason, so a
 * user counting what was left out sees them apart from other files. */
static const char *const IDX_OTHER_IMAGE_EXTS[] = {
    "svg", "svgz", "psd", "xcf", "ico", "cur", "jxl", "jp2", "j2k", "jpx", "dng", "cr2", "cr3",
    "nef", "arw", "orf", "rw2", "raf", "srw", "pef", "exr", "hdr", "tga", "pcx", "ppm", "pgm",
    "pbm", "pnm", "eps", "apng", "avifs", "heics", NULL};

static const char *ext_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || strchr(dot, '/') || !dot[1])
        return NULL;
    return dot + 1;
}

static bool ext_in(const char *ext, const char *const *list)
{
    for (int i = 0; ext && list[i]; i++)
        if (!strcasecmp(ext, list[i]))
            return true;
    return false;
}

bool idx_has_image_ext(const char *name)
{
    return ext_in(ext_of(name), IDX_IMAGE_EXTS);
}

const char *idx_skip_reason(const char *name)
{
    return ext_in(ext_of(name), IDX_OTHER_IMAGE_EXTS) ? IDX_SKIP_UNSUPPORTED : IDX_SKIP_NOT_IMAGE;
}

const char *idx_sniff(const uint8_t *d, size_t len)
{
    return cap_sniff(d, len);
}

static uint64_t dir_key(const struct stat *sb)
{
    uint64_t k[2] = {(uint64_t)sb->st_dev, (uint64_t)sb->st_ino};
    return core_hash64(k, sizeof k, 0x6964785f64697273ULL);
}

odx_status idx_walker_new(const idx_walk_opts *o, idx_walker **out,
                          odx_err *err)
{
    idx_walker *w = calloc(1, sizeof *w);
    if (!w)
        return core_err(err, ODX_ERR_NOMEM, "no memory for the walker");
    w->o = *o;
    *out = w;
    return ODX_OK;
}

void idx_walker_free(idx_walker *w)
{
    if (!w)
        return;
    idx_set_free(&w->visited);
    free(w);
}

static bool glob_any(const char *const *pat, int n, const char *rel)
{
    for (int i = 0; i < n; i++)
        if (pat[i] && fnmatch(pat[i], rel, 0) == 0)
            return true;
    return false;
}

static int emit(walk_ctx *c, int kind, const char *reason, const struct stat *sb,
                bool is_dir)
{
    idx_entry e = {0};
    e.kind = kind;
    e.path = c->path;
    e.rel = c->path[c->root_len] == '/' ? c->path + c->root_len + 1
                                         : c->path + c->root_len;
    e.reason = reason;
    e.is_dir = is_dir;
    if (sb) {
        e.size = (int64_t)sb->st_size;
        e.mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000LL +
                     (int64_t)sb->st_mtim.tv_nsec;
    }
    int r = c->fn(c->user, &e);
    if (r)
        c->stopped = true;
    return r;
}

static bool path_push(walk_ctx *c, size_t at, const char *name)
{
    size_t n = strlen(name);
    size_t need = at + 1 + n + 1;
    if (need > WALK_MAX_PATH)
        return false;
    if (need > c->cap) {
        size_t nc = c->cap ? c->cap : 256;
        while (nc < need)
            nc *= 2;
        char *p = realloc(c->path, nc);
        if (!p)
            return false;
        c->path = p;
        c->cap = nc;
    }
    c->path[at] = '/';
    memcpy(c->path + at + 1, name, n + 1);
    return true;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(((const walk_name *)a)->name, ((const walk_name *)b)->name);
}

static void names_free(walk_name *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* Reads a directory whole and closes it before descending, so the walk holds
 * one DIR at a time however deep it goes, and the order is reproducible. */
static int read_names(const char *path, walk_name **out, size_t *n_out)
{
    DIR *d = opendir(path);
    if (!d)
        return errno ? errno : EIO;
    walk_name *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            rc = errno;
            break;
        }
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            if (nc > WALK_MAX_DIR_ENTRIES) {
                rc = EFBIG;
                break;
            }
            walk_name *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                rc = ENOMEM;
                break;
            }
            v = nv;
            cap = nc;
        }
        v[n].name = strdup(de->d_name);
        if (!v[n].name) {
            rc = ENOMEM;
            break;
        }
        v[n].type = de->d_type;
        n++;
    }
    closedir(d);
    if (rc) {
        names_free(v, n);
        return rc;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, name_cmp);
    *out = v;
    *n_out = n;
    return 0;
}

static int walk_dir(walk_ctx *c, int depth);

/* One directory entry whose full path is in c->path. */
static int walk_entry(walk_ctx *c, const char *name, unsigned char type,
                      int depth)
{
    const idx_walk_opts *o = &c->w->o;
    const char *rel = c->path + c->root_len + 1;
    if (name[0] == '.' && !o->include_hidden)
        return emit(c, IDX_E_SKIPPED, "hidden", NULL, false);

    struct stat sb;
    bool have_stat = false;
    bool is_link = type == DT_LNK;
    if (type == DT_UNKNOWN) {
        if (lstat(c->path, &sb) != 0)
            return emit(c, IDX_E_ERROR, strerror(errno), NULL, false);
        is_link = S_ISLNK(sb.st_mode);
        have_stat = !is_link;
    }
    if (is_link) {
        if (!o->follow_symlinks)
            return emit(c, IDX_E_SKIPPED, "symlink (not followed)", NULL, false);
        if (stat(c->path, &sb) != 0) {
            int e = errno;
            /* A loop of links is a broken entry worth reporting; a dangling
             * link is only worth it where it claims to be an image. */
            if (e == ELOOP || idx_has_image_ext(name))
                return emit(c, IDX_E_ERROR, e == ELOOP ? "symlink loop" : strerror(e),
                            NULL, false);
            return emit(c, IDX_E_SKIPPED, "dangling symlink", NULL, false);
        }
        have_stat = true;
    }
    bool is_dir = have_stat ? S_ISDIR(sb.st_mode) : type == DT_DIR;
    if (is_dir) {
        if (glob_any(o->exclude, o->n_exclude, rel))
            return emit(c, IDX_E_SKIPPED, "excluded", NULL, true);
        if (!have_stat && stat(c->path, &sb) != 0)
            return emit(c, IDX_E_ERROR, strerror(errno), NULL, true);
        if (!idx_set_add(&c->w->visited, dir_key(&sb)))
            return emit(c, IDX_E_SKIPPED,
                        "directory already walked (symlink loop or second link)",
                        NULL, true);
        if (depth + 1 > WALK_MAX_DEPTH)
            return emit(c, IDX_E_ERROR, "directory nesting too deep", NULL, true);
        return walk_dir(c, depth + 1);
    }
    bool regular = have_stat ? S_ISREG(sb.st_mode) : type == DT_REG;
    if (!idx_has_image_ext(name))
        return emit(c, IDX_E_SKIPPED, idx_skip_reason(name), NULL, false);
    if (glob_any(o->exclude, o->n_exclude, rel) ||
        (o->n_include > 0 && !glob_any(o->include, o->n_include, rel)))
        return emit(c, IDX_E_SKIPPED, "excluded", NULL, false);
    if (!regular)
        return emit(c, IDX_E_ERROR, "not a regular file", NULL, false);
    if (o->count_only)
        return emit(c, IDX_E_IMAGE, NULL, NULL, false);
    if (!have_stat && stat(c->path, &sb) != 0)
        return emit(c, IDX_E_ERROR, strerror(errno), NULL, false);
    if (!S_ISREG(sb.st_mode)) /* changed under us */
        return emit(c, IDX_E_ERROR, "not a regular file", NULL, false);
    return emit(c, IDX_E_IMAGE, NULL, &sb, false);
}

static int walk_dir(walk_ctx *c, int depth)
{
    walk_name *names = NULL;
    size_t n = 0;
    int e = read_names(c->path, &names, &n);
    if (e)
        return emit(c, IDX_E_ERROR, strerror(e), NULL, true);
    size_t at = strlen(c->path);
    int r = 0;
    for (size_t i = 0; i < n && !r; i++) {
        if (c->w->o.cancel && *c->w->o.cancel) {
            c->stopped = true;
            r = 1;
            break;
        }
        if (!path_push(c, at, names[i].name)) {
            c->path[at] = '\0';
            r = emit(c, IDX_E_ERROR, "path too long", NULL, false);
            continue;
        }
        r = walk_entry(c, names[i].name, names[i].type, depth);
        c->path[at] = '\0';
    }
    names_free(names, n);
    return r;
}

odx_status idx_walk(idx_walker *w, const char *root,
                    int (*fn)(void *ctx, const idx_entry *e), void *ctx,
                    odx_err *err)
{
    odx_status st = ODX_OK;
    walk_ctx c = {.w = w, .fn = fn, .user = ctx};
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/')
        len--;
    c.cap = len + 256;
    c.path = malloc(c.cap);
    if (!c.path)
        return core_err(err, ODX_ERR_NOMEM, "no memory walking '%s'", root);
    memcpy(c.path, root, len);
    c.path[len] = '\0';

    struct stat sb;
    if (stat(c.path, &sb) != 0) {
        st = core_err_errno(err, errno == ENOENT ? ODX_ERR_NOT_FOUND : ODX_ERR_IO,
                            "cannot index '%s'", root);
        goto done;
    }
    if (S_ISDIR(sb.st_mode)) {
        c.root_len = strcmp(c.path, "/") == 0 ? 0 : len;
        if (c.root_len == 0)
            c.path[0] = '\0'; /* children become "/name" */
        if (idx_set_add(&w->visited, dir_key(&sb)))
            walk_dir(&c, 0);
        if (c.root_len == 0)
            strcpy(c.path, "/");
    } else {
        /* A file root: globs see its base name. */
        const char *slash = strrchr(c.path, '/');
        c.root_len = slash ? (size_t)(slash - c.path) : 0;
        const char *name = slash ? slash + 1 : c.path;
        if (!slash) {
            /* relative file root: emit() expects a separator at root_len */
            c.root_len = 0;
        }
        const idx_walk_opts *o = &w->o;
        const char *rel = name;
        if (!idx_has_image_ext(name))
            emit(&c, IDX_E_SKIPPED, idx_skip_reason(name), NULL, false);
        else if (glob_any(o->exclude, o->n_exclude, rel) ||
                 (o->n_include > 0 && !glob_any(o->include, o->n_include, rel)))
            emit(&c, IDX_E_SKIPPED, "excluded", NULL, false);
        else if (!S_ISREG(sb.st_mode))
            emit(&c, IDX_E_ERROR, "not a regular file", NULL, false);
        else
            emit(&c, IDX_E_IMAGE, NULL, &sb, false);
    }
    if (c.stopped)
        st = core_err(err, ODX_ERR_INTERRUPTED, "walk of '%s' stopped", root);
done:
    free(c.path);
    return st;
}

/* store_faiss_file.c - FAISS index files and their sync with SQL, shared by
 * the exact index (store_faiss.c) and the ANN index (store_ann.c): our
 * header + faiss_write_index output, saved atomically; adding vectors and
 * removing tombstoned ids of a generation range. */
#include "storage_int.h"

#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_io_c.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* File layout: a 56-byte little-endian header, then the FAISS payload.
 * The header says which generation of the vectors table the payload holds,
 * so a file behind the database is caught up instead of rebuilt, and
 * carries a checksum so a torn or flipped file is rebuilt, never trusted.
 * The ANN file (vectors.ivf) has its own magic and 8 more bytes: the
 * number of vectors its lists were trained on. */
#define FILE_MAGIC "ODXFAISS"
#define ANN_MAGIC "ODXIVF01"
#define FILE_VERSION 1u
#define HDR_LEN 56
#define ANN_HDR_LEN 64
#define HDR_MAX 64
#define CHUNK 4096

typedef struct faiss_hdr {
    uint32_t version, dim;
    int64_t gen, ntotal;
    uint64_t payload_len, sum, factory_hash;
    int64_t aux; /* ANN file only */
} faiss_hdr;

/* ---------------------------------------------------------- checksum ---- */

static uint64_t sum_mix(uint64_t h, uint64_t w)
{
    h ^= w * 0x87c37b91114253d5ULL;
    h = (h << 31) | (h >> 33);
    return h * 0x4cf5ad432745937fULL + 0x52dce729ULL;
}

void store_sum_init(store_sum *c)
{
    memset(c, 0, sizeof *c);
    c->h = 0x9e3779b97f4a7c15ULL;
}

void store_sum_update(store_sum *c, const void *p, size_t n)
{
    const uint8_t *b = p;
    c->n += n;
    while (n > 0 && c->n_tail > 0 && c->n_tail < 8) {
        c->tail[c->n_tail++] = *b++;
        n--;
        if (c->n_tail == 8) {
            uint64_t w;
            memcpy(&w, c->tail, 8);
            c->h = sum_mix(c->h, w);
            c->n_tail = 0;
        }
    }
    for (; n >= 8; n -= 8, b += 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        c->h = sum_mix(c->h, w);
    }
    for (; n > 0; n--)
        c->tail[c->n_tail++] = *b++;
}

uint64_t store_sum_final(store_sum *c)
{
    uint64_t h = c->h;
    if (c->n_tail > 0) {
        uint64_t w = 0;
        memcpy(&w, c->tail, (size_t)c->n_tail);
        h = sum_mix(h, w);
    }
    h ^= c->n;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* ------------------------------------------------------------ header ---- */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static size_t hdr_len(int kind) { return kind == STORE_FILE_ANN ? ANN_HDR_LEN : HDR_LEN; }

static void hdr_encode(int kind, const faiss_hdr *h, uint8_t out[HDR_MAX])
{
    memcpy(out, kind == STORE_FILE_ANN ? ANN_MAGIC : FILE_MAGIC, 8);
    put_u32(out + 8, h->version);
    put_u32(out + 12, h->dim);
    put_u64(out + 16, (uint64_t)h->gen);
    put_u64(out + 24, (uint64_t)h->ntotal);
    put_u64(out + 32, h->payload_len);
    put_u64(out + 40, h->sum);
    put_u64(out + 48, h->factory_hash);
    if (kind == STORE_FILE_ANN)
        put_u64(out + 56, (uint64_t)h->aux);
}

static bool hdr_decode(int kind, const uint8_t in[HDR_MAX], faiss_hdr *h)
{
    if (memcmp(in, kind == STORE_FILE_ANN ? ANN_MAGIC : FILE_MAGIC, 8) != 0)
        return false;
    h->version = get_u32(in + 8);
    h->dim = get_u32(in + 12);
    h->gen = (int64_t)get_u64(in + 16);
    h->ntotal = (int64_t)get_u64(in + 24);
    h->payload_len = get_u64(in + 32);
    h->sum = get_u64(in + 40);
    h->factory_hash = get_u64(in + 48);
    h->aux = kind == STORE_FILE_ANN ? (int64_t)get_u64(in + 56) : 0;
    return true;
}

/* What the payload must be: the factory string of the exact index, the
 * one kind of ANN index store_ann.c builds. */
#define ANN_KIND "IVF,Flat,IP"
static uint64_t factory_hash(const store *s, int kind)
{
    if (kind == STORE_FILE_ANN)
        return core_hash64(ANN_KIND, strlen(ANN_KIND), 0x6f6478u);
    return core_hash64(s->factory, strlen(s->factory), 0x6f6478u);
}

static const char *kind_path(const store *s, int kind)
{
    return kind == STORE_FILE_ANN ? s->ann_path : s->faiss_path;
}

/* ----------------------------------------------------------- helpers ---- */

odx_status store_faiss_fail(odx_err *err, int frc, const char *what, const char *where)
{
    const char *m = faiss_get_last_error();
    return core_err(err, ODX_ERR_FAISS, "%s '%s': %s (faiss code %d)", what, where,
                    m ? m : "unknown error", frc);
}

/* -------------------------------------------------------------- load ---- */

/* Reads dir/vectors.faiss (or the ANN file). Any problem is a reason to
 * rebuild, reported in why (empty when the file is simply missing); only
 * *out matters. */
void store_index_read(store *s, int kind, FaissIndex **out, int64_t *gen, int64_t *aux,
                      char *why, size_t why_len)
{
    uint8_t hb[HDR_MAX];
    faiss_hdr h;
    FaissIndex *idx = NULL;
    size_t hl = hdr_len(kind);
    why[0] = 0;
    *out = NULL;
    FILE *f = fopen(kind_path(s, kind), "rb");
    if (!f) {
        if (errno != ENOENT)
            snprintf(why, why_len, "cannot open: %s", strerror(errno));
        return;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || fread(hb, 1, hl, f) != hl || !hdr_decode(kind, hb, &h)) {
        snprintf(why, why_len, "no valid header");
        goto done;
    }
    if (h.version != FILE_VERSION) {
        snprintf(why, why_len, "file format %u, expected %u", h.version, FILE_VERSION);
        goto done;
    }
    if ((int)h.dim != s->dim || h.factory_hash != factory_hash(s, kind)) {
        snprintf(why, why_len, "made for dimension %u / another index type", h.dim);
        goto done;
    }
    if ((uint64_t)sb.st_size != hl + h.payload_len) {
        snprintf(why, why_len, "truncated or padded (%lld bytes, header says %llu)",
                 (long long)sb.st_size, (unsigned long long)(hl + h.payload_len));
        goto done;
    }
    /* Checksum before parsing: FAISS trusts the sizes inside its payload. */
    {
        store_sum c;
        store_sum_init(&c);
        uint8_t *buf = malloc(1 << 20);
        if (!buf) {
            snprintf(why, why_len, "out of memory");
            goto done;
        }
        size_t got;
        while ((got = fread(buf, 1, 1 << 20, f)) > 0)
            store_sum_update(&c, buf, got);
        free(buf);
        if (ferror(f) || store_sum_final(&c) != h.sum) {
            snprintf(why, why_len, "checksum mismatch");
            goto done;
        }
    }
    if (fseek(f, (long)hl, SEEK_SET) != 0) {
        snprintf(why, why_len, "seek failed");
        goto done;
    }
    int frc = faiss_read_index(f, 0, &idx);
    if (frc != 0 || !idx) {
        const char *m = faiss_get_last_error();
        snprintf(why, why_len, "FAISS could not read it: %s", m ? m : "?");
        idx = NULL;
        goto done;
    }
    if (faiss_Index_d(idx) != s->dim || faiss_Index_ntotal(idx) != h.ntotal ||
        faiss_Index_metric_type(idx) != METRIC_INNER_PRODUCT) {
        snprintf(why, why_len, "index does not match its header");
        faiss_Index_free(idx);
        idx = NULL;
        goto done;
    }
    *out = idx;
    *gen = h.gen;
    if (aux)
        *aux = h.aux;
done:
    fclose(f);
}

/* ----------------------------------------------------- sync with SQL ---- */

/* Adds vectors with from < gen <= to into idx (all of them when the index
 * still needs training, which it then gets). mu held. */
odx_status store_faiss_add(store *s, FaissIndex *idx, int64_t from, int64_t to, odx_err *err)
{
    odx_status rc = ODX_OK;
    sqlite3_stmt *st = NULL;
    bool train = !faiss_Index_is_trained(idx);
    size_t cap = CHUNK, n = 0, n_bad = 0;
    size_t row = (size_t)s->dim;
    float *x = malloc(sizeof(float) * row * cap);
    idx_t *ids = malloc(sizeof(idx_t) * cap);
    if (!x || !ids) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory loading vectors");
        goto done;
    }
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, embedding FROM vectors WHERE gen > ?1 AND gen <= ?2"
                           " ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "reading vectors");
        goto done;
    }
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    for (;;) {
        int r = sqlite3_step(st);
        if (r != SQLITE_ROW && r != SQLITE_DONE) {
            rc = store_db_err(s, err, "reading vectors");
            goto done;
        }
        if (r == SQLITE_ROW) {
            if ((size_t)sqlite3_column_bytes(st, 1) != sizeof(float) * row) {
                n_bad++;
                continue;
            }
            if (n == cap) {
                /* Only an untrained index keeps everything in memory. */
                size_t nc = cap * 2;
                float *nx = realloc(x, sizeof(float) * row * nc);
                if (!nx) {
                    rc = core_err(err, ODX_ERR_NOMEM, "out of memory loading vectors");
                    goto done;
                }
                x = nx;
                idx_t *ni = realloc(ids, sizeof(idx_t) * nc);
                if (!ni) {
                    rc = core_err(err, ODX_ERR_NOMEM, "out of memory loading vectors");
                    goto done;
                }
                ids = ni;
                cap = nc;
            }
            memcpy(x + n * row, sqlite3_column_blob(st, 1), sizeof(float) * row);
            ids[n++] = sqlite3_column_int64(st, 0);
        }
        bool flush = r == SQLITE_DONE ? n > 0 : (!train && n == CHUNK);
        if (flush) {
            int frc;
            if (train && (frc = faiss_Index_train(idx, (idx_t)n, x)) != 0) {
                rc = store_faiss_fail(err, frc, "training FAISS index", s->factory);
                goto done;
            }
            train = false;
            if ((frc = faiss_Index_add_with_ids(idx, (idx_t)n, x, ids)) != 0) {
                rc = store_faiss_fail(err, frc, "adding vectors to FAISS index", s->factory);
                goto done;
            }
            n = 0;
        }
        if (r == SQLITE_DONE)
            break;
    }
    if (n_bad)
        core_log(CORE_LOG_WARN, "%s: %zu vectors with a wrong size were skipped",
                 s->db_path, n_bad);
done:
    sqlite3_finalize(st);
    free(x);
    free(ids);
    return rc;
}

/* Removes ids tombstoned with from < gen <= to. mu held. */
odx_status store_faiss_remove(store *s, FaissIndex *idx, int64_t from, int64_t to,
                              odx_err *err)
{
    odx_status rc = ODX_OK;
    sqlite3_stmt *st = NULL;
    idx_t *ids = NULL;
    size_t n = 0, cap = 0;
    FaissIDSelectorBatch *sel = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT id FROM tombstones WHERE gen > ?1 AND gen <= ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "reading tombstones");
        goto done;
    }
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            idx_t *ni = realloc(ids, sizeof *ids * nc);
            if (!ni) {
                rc = core_err(err, ODX_ERR_NOMEM, "out of memory reading tombstones");
                goto done;
            }
            ids = ni;
            cap = nc;
        }
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    if (r != SQLITE_DONE) {
        rc = store_db_err(s, err, "reading tombstones");
        goto done;
    }
    if (n == 0)
        goto done;
    int frc = faiss_IDSelectorBatch_new(&sel, n, ids);
    if (frc != 0) {
        rc = store_faiss_fail(err, frc, "building id selector for", s->faiss_path);
        goto done;
    }
    size_t n_removed = 0;
    frc = faiss_Index_remove_ids(idx, (const FaissIDSelector *)sel, &n_removed);
    if (frc != 0)
        rc = store_faiss_fail(err, frc, "removing vectors from FAISS index", s->factory);
done:
    if (sel)
        faiss_IDSelector_free((FaissIDSelector *)sel);
    sqlite3_finalize(st);
    free(ids);
    return rc;
}

/* -------------------------------------------------------------- save ---- */

static odx_status fsync_dir(const char *dir, odx_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return core_err_errno(err, ODX_ERR_IO, "opening directory '%s'", dir);
    int r = fsync(fd);
    close(fd);
    if (r != 0 && errno != EINVAL)
        return core_err_errno(err, ODX_ERR_IO, "syncing directory '%s'", dir);
    return ODX_OK;
}

/* Writes idx to a temp file next to the target, checksums what was
 * written, then fsync + rename, so the file on disk is always either the
 * old one or the new one, complete. idx_lock held (read). */
odx_status store_index_write(store *s, int kind, const FaissIndex *idx, int64_t gen,
                             int64_t aux, odx_err *err)
{
    odx_status rc = ODX_OK;
    const char *path = kind_path(s, kind);
    size_t hl = hdr_len(kind);
    char *tmp = core_sprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *f = NULL;
    uint8_t *buf = NULL;
    uint8_t hb[HDR_MAX] = {0};
    if (!tmp)
        return core_err(err, ODX_ERR_NOMEM, "out of memory");
    if (!(f = fopen(tmp, "w+b"))) { /* read back for the checksum */
        rc = core_err_errno(err, ODX_ERR_IO, "creating '%s'", tmp);
        goto done;
    }
    if (fwrite(hb, 1, hl, f) != hl) {
        rc = core_err_errno(err, ODX_ERR_IO, "writing '%s'", tmp);
        goto done;
    }
    int frc = faiss_write_index(idx, f);
    if (frc != 0) {
        rc = store_faiss_fail(err, frc, "writing FAISS index to", tmp);
        goto done;
    }
    if (fflush(f) != 0) {
        rc = core_err_errno(err, ODX_ERR_IO, "writing '%s'", tmp);
        goto done;
    }
    long end = ftell(f);
    if (end < (long)hl) {
        rc = core_err_errno(err, ODX_ERR_IO, "writing '%s'", tmp);
        goto done;
    }
    faiss_hdr h = {FILE_VERSION,
                   (uint32_t)s->dim,
                   gen,
                   (int64_t)faiss_Index_ntotal(idx),
                   (uint64_t)(end - (long)hl),
                   0,
                   factory_hash(s, kind),
                   aux};
    int fd = fileno(f);
    if (!(buf = malloc(1 << 20))) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    store_sum c;
    store_sum_init(&c);
    for (off_t off = (off_t)hl; off < end;) {
        ssize_t got = pread(fd, buf, 1 << 20, off);
        if (got <= 0) {
            rc = core_err_errno(err, ODX_ERR_IO, "reading back '%s'", tmp);
            goto done;
        }
        store_sum_update(&c, buf, (size_t)got);
        off += got;
    }
    h.sum = store_sum_final(&c);
    hdr_encode(kind, &h, hb);
    if (pwrite(fd, hb, hl, 0) != (ssize_t)hl || fsync(fd) != 0) {
        rc = core_err_errno(err, ODX_ERR_IO, "writing '%s'", tmp);
        goto done;
    }
    int cr = fclose(f);
    f = NULL;
    if (cr != 0) {
        rc = core_err_errno(err, ODX_ERR_IO, "closing '%s'", tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        rc = core_err_errno(err, ODX_ERR_IO, "renaming '%s' to '%s'", tmp, path);
        goto done;
    }
    rc = fsync_dir(s->dir, err);
done:
    if (f)
        fclose(f);
    if (rc != ODX_OK)
        unlink(tmp);
    free(buf);
    free(tmp);
    return rc;
}


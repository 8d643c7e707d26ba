/* store_faiss.c - the FAISS side of the store: the in-memory index, its file
 * (our header + faiss_write_index output, saved atomically), and keeping it
 * in step with the vectors/tombstones tables, which are the truth. */
#include "storage_int.h"

#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/MetaIndexes_c.h>

#include <cblas.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* File layout: a 56-byte little-endian header, then the FAISS payload.
 * The header says which generation of the vectors table the payload holds,
 * so a file behind the database is caught up instead of rebuilt, and
 * carries a checksum so a torn or flipped file is rebuilt, never trusted. */
#define FILE_MAGIC "ODXFAISS"
#define FILE_VERSION 1u
#define HDR_LEN 56
#define CHUNK 4096

typedef struct faiss_hdr {
    uint32_t version, dim;
    int64_t gen, ntotal;
    uint64_t payload_len, sum, factory_hash;
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

static void hdr_encode(const faiss_hdr *h, uint8_t out[HDR_LEN])
{
    memcpy(out, FILE_MAGIC, 8);
    put_u32(out + 8, h->version);
    put_u32(out + 12, h->dim);
    put_u64(out + 16, (uint64_t)h->gen);
    put_u64(out + 24, (uint64_t)h->ntotal);
    put_u64(out + 32, h->payload_len);
    put_u64(out + 40, h->sum);
    put_u64(out + 48, h->factory_hash);
}

static bool hdr_decode(const uint8_t in[HDR_LEN], faiss_hdr *h)
{
    if (memcmp(in, FILE_MAGIC, 8) != 0)
        return false;
    h->version = get_u32(in + 8);
    h->dim = get_u32(in + 12);
    h->gen = (int64_t)get_u64(in + 16);
    h->ntotal = (int64_t)get_u64(in + 24);
    h->payload_len = get_u64(in + 32);
    h->sum = get_u64(in + 40);
    h->factory_hash = get_u64(in + 48);
    return true;
}

static uint64_t factory_hash(const store *s)
{
    return core_hash64(s->factory, strlen(s->factory), 0x6f6478u);
}

/* ----------------------------------------------------------- helpers ---- */

static odx_status faiss_fail(odx_err *err, int frc, const char *what, const char *where)
{
    const char *m = faiss_get_last_error();
    return core_err(err, ODX_ERR_FAISS, "%s '%s': %s (faiss code %d)", what, where,
                    m ? m : "unknown error", frc);
}

static odx_status new_index(store *s, FaissIndex **out, odx_err *err)
{
    FaissIndex *idx = NULL;
    int frc = faiss_index_factory(&idx, s->dim, s->factory, METRIC_INNER_PRODUCT);
    if (frc != 0 || !idx)
        return faiss_fail(err, frc, "creating FAISS index", s->factory);
    *out = idx;
    return ODX_OK;
}

void store_faiss_free(store *s)
{
    if (s && s->index) {
        faiss_Index_free(s->index);
        s->index = NULL;
    }
}

/* -------------------------------------------------------------- load ---- */

/* Reads dir/vectors.faiss. Any problem is a reason to rebuild, reported in
 * why (empty when the file is simply missing); only *out matters. */
static void read_file(store *s, FaissIndex **out, int64_t *gen, char *why, size_t why_len)
{
    uint8_t hb[HDR_LEN];
    faiss_hdr h;
    FaissIndex *idx = NULL;
    why[0] = 0;
    *out = NULL;
    FILE *f = fopen(s->faiss_path, "rb");
    if (!f) {
        if (errno != ENOENT)
            snprintf(why, why_len, "cannot open: %s", strerror(errno));
        return;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || fread(hb, 1, HDR_LEN, f) != HDR_LEN ||
        !hdr_decode(hb, &h)) {
        snprintf(why, why_len, "no valid header");
        goto done;
    }
    if (h.version != FILE_VERSION) {
        snprintf(why, why_len, "file format %u, expected %u", h.version, FILE_VERSION);
        goto done;
    }
    if ((int)h.dim != s->dim || h.factory_hash != factory_hash(s)) {
        snprintf(why, why_len, "made for dimension %u / another index type", h.dim);
        goto done;
    }
    if ((uint64_t)sb.st_size != HDR_LEN + h.payload_len) {
        snprintf(why, why_len, "truncated or padded (%lld bytes, header says %llu)",
                 (long long)sb.st_size, (unsigned long long)(HDR_LEN + h.payload_len));
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
    if (fseek(f, HDR_LEN, SEEK_SET) != 0) {
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
done:
    fclose(f);
}

/* ----------------------------------------------------- sync with SQL ---- */

/* Adds vectors with from < gen <= to into idx (all of them when the index
 * still needs training, which it then gets). mu held. */
static odx_status add_vectors(store *s, FaissIndex *idx, int64_t from, int64_t to,
                              odx_err *err)
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
                rc = faiss_fail(err, frc, "training FAISS index", s->factory);
                goto done;
            }
            train = false;
            if ((frc = faiss_Index_add_with_ids(idx, (idx_t)n, x, ids)) != 0) {
                rc = faiss_fail(err, frc, "adding vectors to FAISS index", s->factory);
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
static odx_status remove_tombstoned(store *s, FaissIndex *idx, int64_t from, int64_t to,
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
        rc = faiss_fail(err, frc, "building id selector for", s->faiss_path);
        goto done;
    }
    size_t n_removed = 0;
    frc = faiss_Index_remove_ids(idx, (const FaissIDSelector *)sel, &n_removed);
    if (frc != 0)
        rc = faiss_fail(err, frc, "removing vectors from FAISS index", s->factory);
done:
    if (sel)
        faiss_IDSelector_free((FaissIDSelector *)sel);
    sqlite3_finalize(st);
    free(ids);
    return rc;
}

/* idx_lock (write) and mu held, inside a read snapshot. */
static odx_status rebuild_locked(store *s, int64_t gen, odx_err *err)
{
    FaissIndex *idx = NULL;
    odx_status rc = new_index(s, &idx, err);
    if (rc != ODX_OK)
        return rc;
    if ((rc = add_vectors(s, idx, INT64_MIN, gen, err)) != ODX_OK) {
        faiss_Index_free(idx);
        return rc;
    }
    store_faiss_free(s);
    s->index = idx;
    s->index_gen = gen;
    return ODX_OK;
}

static odx_status sync_locked(store *s, odx_err *err)
{
    odx_status rc = ODX_OK;
    /* A snapshot, so the generation and the rows read agree even while
     * another process commits. Inside the writer's own batch the batch is
     * the snapshot; its uncommitted rows are above meta.generation. */
    bool own_read = !s->in_txn;
    if (own_read && (rc = store_exec(s, "BEGIN", err)) != ODX_OK)
        return rc;
    int64_t gen = 0, floor = 0;
    if ((rc = store_meta_int(s, "generation", 0, &gen, err)) != ODX_OK ||
        (rc = store_meta_int(s, "tomb_floor", 0, &floor, err)) != ODX_OK)
        goto done;
    if (s->index && s->index_gen == gen)
        goto done;
    bool incremental = s->index && s->index_gen < gen && s->index_gen >= floor &&
                       faiss_Index_is_trained(s->index);
    if (incremental) {
        odx_err e = {0};
        if (remove_tombstoned(s, s->index, s->index_gen, gen, &e) == ODX_OK &&
            add_vectors(s, s->index, s->index_gen, gen, &e) == ODX_OK) {
            s->index_gen = gen;
            goto done;
        }
        /* Half-applied: the index can no longer be trusted. */
        core_log(CORE_LOG_WARN, "FAISS catch-up failed (%s): rebuilding", e.msg);
        store_faiss_free(s);
    }
    rc = rebuild_locked(s, gen, err);
done:
    if (own_read)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    return rc;
}

odx_status store_faiss_sync(store *s, odx_err *err)
{
    pthread_rwlock_wrlock(&s->idx_lock);
    pthread_mutex_lock(&s->mu);
    odx_status rc = sync_locked(s, err);
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_unlock(&s->idx_lock);
    return rc;
}

odx_status store_faiss_load(store *s, odx_err *err)
{
    char why[256];
    int64_t gen = -1;
    FaissIndex *idx = NULL;
    odx_status rc = ODX_OK;
    s->last_save = core_now();
    read_file(s, &idx, &gen, why, sizeof why);
    if (idx) {
        s->index = idx;
        s->index_gen = gen;
        s->file_gen = gen;
    } else if (why[0]) {
        core_log(CORE_LOG_WARN, "FAISS file '%s' unusable (%s): rebuilding from the database",
                 s->faiss_path, why);
        snprintf(s->faiss_note, sizeof s->faiss_note, "unusable (%s)", why);
    }
    if ((rc = store_faiss_sync(s, err)) != ODX_OK)
        return rc;
    /* A file that claims more than the database holds (a restored backup
     * of one but not the other) shows up as a count mismatch. */
    pthread_rwlock_wrlock(&s->idx_lock);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM vectors WHERE gen <= ?1", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "counting vectors");
    } else {
        sqlite3_bind_int64(st, 1, s->index_gen);
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = store_db_err(s, err, "counting vectors");
        } else if (!s->index ||
                   sqlite3_column_int64(st, 0) != (int64_t)faiss_Index_ntotal(s->index)) {
            sqlite3_finalize(st);
            st = NULL;
            if (s->index) {
                core_log(CORE_LOG_WARN, "FAISS index '%s' disagrees with the database:"
                                        " rebuilding", s->faiss_path);
                snprintf(s->faiss_note, sizeof s->faiss_note,
                         "holds another number of vectors than the database");
            }
            store_faiss_free(s);
            s->file_gen = -1; /* the file is wrong too: save the rebuilt index */
            rc = sync_locked(s, err);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_unlock(&s->idx_lock);
    if (rc == ODX_OK && !s->read_only && s->file_gen < 0)
        rc = store_faiss_save(s, err);
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

/* Writes the index to a temp file next to the target, checksums what was
 * written, then fsync + rename, so the file on disk is always either the
 * old one or the new one, complete. idx_lock held (read). */
static odx_status write_file(store *s, int64_t *saved_gen, odx_err *err)
{
    odx_status rc = ODX_OK;
    char *tmp = core_sprintf("%s.tmp.%ld", s->faiss_path, (long)getpid());
    FILE *f = NULL;
    uint8_t *buf = NULL;
    uint8_t hb[HDR_LEN] = {0};
    if (!tmp)
        return core_err(err, ODX_ERR_NOMEM, "out of memory");
    if (!(f = fopen(tmp, "w+b"))) { /* read back for the checksum */
        rc = core_err_errno(err, ODX_ERR_IO, "creating '%s'", tmp);
        goto done;
    }
    if (fwrite(hb, 1, HDR_LEN, f) != HDR_LEN) {
        rc = core_err_errno(err, ODX_ERR_IO, "writing '%s'", tmp);
        goto done;
    }
    int frc = faiss_write_index(s->index, f);
    if (frc != 0) {
        rc = faiss_fail(err, frc, "writing FAISS index to", tmp);
        goto done;
    }
    if (fflush(f) != 0) {
        rc = core_err_errno(err, ODX_ERR_IO, "writing '%s'", tmp);
        goto done;
    }
    long end = ftell(f);
    if (end < HDR_LEN) {
        rc = core_err_errno(err, ODX_ERR_IO, "writing '%s'", tmp);
        goto done;
    }
    faiss_hdr h = {FILE_VERSION, (uint32_t)s->dim, s->index_gen,
                   (int64_t)faiss_Index_ntotal(s->index), (uint64_t)(end - HDR_LEN), 0,
                   factory_hash(s)};
    int fd = fileno(f);
    if (!(buf = malloc(1 << 20))) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    store_sum c;
    store_sum_init(&c);
    for (off_t off = HDR_LEN; off < end;) {
        ssize_t got = pread(fd, buf, 1 << 20, off);
        if (got <= 0) {
            rc = core_err_errno(err, ODX_ERR_IO, "reading back '%s'", tmp);
            goto done;
        }
        store_sum_update(&c, buf, (size_t)got);
        off += got;
    }
    h.sum = store_sum_final(&c);
    hdr_encode(&h, hb);
    if (pwrite(fd, hb, HDR_LEN, 0) != HDR_LEN || fsync(fd) != 0) {
        rc = core_err_errno(err, ODX_ERR_IO, "writing '%s'", tmp);
        goto done;
    }
    int cr = fclose(f);
    f = NULL;
    if (cr != 0) {
        rc = core_err_errno(err, ODX_ERR_IO, "closing '%s'", tmp);
        goto done;
    }
    if (rename(tmp, s->faiss_path) != 0) {
        rc = core_err_errno(err, ODX_ERR_IO, "renaming '%s' to '%s'", tmp, s->faiss_path);
        goto done;
    }
    rc = fsync_dir(s->dir, err);
    *saved_gen = h.gen;
done:
    if (f)
        fclose(f);
    if (rc != ODX_OK)
        unlink(tmp);
    free(buf);
    free(tmp);
    return rc;
}

/* Tombstones already in the saved file, and far enough behind the current
 * generation, are dropped; tomb_floor tells readers older than that to
 * rebuild rather than catch up. Best effort: a failure only costs space. */
static void prune_tombstones(store *s, int64_t saved_gen)
{
    pthread_mutex_lock(&s->mu);
    int64_t gen = 0, floor = 0;
    odx_err e = {0};
    if (s->in_txn || store_meta_int(s, "generation", 0, &gen, &e) != ODX_OK ||
        store_meta_int(s, "tomb_floor", 0, &floor, &e) != ODX_OK)
        goto done;
    int64_t bound = saved_gen < gen - STORE_TOMB_KEEP_GENS ? saved_gen
                                                           : gen - STORE_TOMB_KEEP_GENS;
    if (bound <= floor)
        goto done;
    char sql[160];
    snprintf(sql, sizeof sql,
             "BEGIN IMMEDIATE; DELETE FROM tombstones WHERE gen <= %" PRId64 ";", bound);
    if (store_exec(s, sql, &e) != ODX_OK || store_meta_set_int(s, "tomb_floor", bound, &e) != ODX_OK ||
        store_exec(s, "COMMIT", &e) != ODX_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        core_log(CORE_LOG_DEBUG, "pruning tombstones: %s", e.msg);
    }
done:
    pthread_mutex_unlock(&s->mu);
}

odx_status store_faiss_save(store *s, odx_err *err)
{
    if (s->read_only)
        return core_err(err, ODX_ERR_INVALID, "store '%s' is open read-only", s->dir);
    int64_t saved = -1;
    odx_status rc = ODX_OK;
    pthread_rwlock_rdlock(&s->idx_lock);
    if (!s->index)
        rc = core_err(err, ODX_ERR_FAISS, "no FAISS index to save in '%s'", s->dir);
    else
        rc = write_file(s, &saved, err);
    pthread_rwlock_unlock(&s->idx_lock);
    if (rc != ODX_OK)
        return rc;
    s->file_gen = saved;
    s->last_save = core_now();
    prune_tombstones(s, saved);
    return ODX_OK;
}

/* ----------------------------------------------------------- reading ---- */

odx_status store_refresh(store *s, odx_err *err)
{
    if (!s)
        return core_err(err, ODX_ERR_INVALID, "store_refresh: no store");
    int64_t gen = 0;
    pthread_mutex_lock(&s->mu);
    odx_status rc = store_meta_int(s, "generation", 0, &gen, err);
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK)
        return rc;
    pthread_rwlock_rdlock(&s->idx_lock);
    bool current = s->index && s->index_gen == gen;
    pthread_rwlock_unlock(&s->idx_lock);
    return current ? ODX_OK : store_faiss_sync(s, err);
}

/* One query against an IDMap2,Flat index scanned with OpenBLAS sgemv
 * instead of FAISS's per-vector loop (Debian's FAISS has no AVX kernels and
 * runs one query on one thread; FACTS.md). Same results: exact inner
 * products, best first. Returns false when the index is of another type. */
typedef struct heap_item {
    float v;
    idx_t id;
} heap_item;

static void heap_down(heap_item *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && h[l].v < h[m].v)
            m = l;
        if (r < n && h[r].v < h[m].v)
            m = r;
        if (m == i)
            return;
        heap_item t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int cmp_item_desc(const void *a, const void *b)
{
    const heap_item *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static bool flat_scan(store *s, const float *q, idx_t k, float *dist, idx_t *lab)
{
    FaissIndexIDMap2 *m = faiss_IndexIDMap2_cast(s->index);
    if (!m)
        return false;
    FaissIndexFlat *f = faiss_IndexFlat_cast(faiss_IndexIDMap2_sub_index(m));
    if (!f)
        return false;
    float *xb = NULL;
    size_t n_floats = 0, n_ids = 0;
    idx_t *ids = NULL;
    faiss_IndexFlat_xb(f, &xb, &n_floats);
    faiss_IndexIDMap2_id_map(m, &ids, &n_ids);
    size_t n = n_floats / (size_t)s->dim;
    if (n != n_ids || n == 0 || n > (size_t)INT32_MAX)
        return false;
    float *sc = malloc(sizeof(float) * n);
    heap_item *h = malloc(sizeof *h * (size_t)k);
    if (!sc || !h) {
        free(sc);
        free(h);
        return false;
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, s->dim, 1.0f, xb, s->dim, q, 1, 0.0f,
                sc, 1);
    int hn = 0;
    for (size_t i = 0; i < n; i++) {
        if (hn < k) {
            h[hn++] = (heap_item){sc[i], ids[i]};
            if (hn == k)
                for (int j = hn / 2 - 1; j >= 0; j--)
                    heap_down(h, hn, j);
        } else if (sc[i] > h[0].v) {
            h[0] = (heap_item){sc[i], ids[i]};
            heap_down(h, hn, 0);
        }
    }
    qsort(h, (size_t)hn, sizeof *h, cmp_item_desc);
    for (idx_t i = 0; i < k; i++) {
        dist[i] = i < hn ? h[i].v : -INFINITY;
        lab[i] = i < hn ? h[i].id : -1;
    }
    free(sc);
    free(h);
    return true;
}

odx_status store_dense_search(store *s, const float *q, int k, store_hit **hits, int *n,
                              odx_err *err)
{
    if (!s || !q || !hits || !n || k <= 0)
        return core_err(err, ODX_ERR_INVALID, "store_dense_search: bad arguments");
    for (int i = 0; i < s->dim; i++)
        if (!isfinite(q[i]))
            return core_err(err, ODX_ERR_INVALID, "store_dense_search: query not finite");
    if (k > STORE_MAX_K)
        k = STORE_MAX_K;
    odx_status rc = ODX_OK;
    float *dist = malloc(sizeof(float) * (size_t)k);
    idx_t *lab = malloc(sizeof(idx_t) * (size_t)k);
    store_hit *h = NULL;
    int n_h = 0;
    if (!dist || !lab) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    pthread_rwlock_rdlock(&s->idx_lock);
    idx_t kk = 0;
    if (!s->index) {
        rc = core_err(err, ODX_ERR_FAISS, "FAISS index of '%s' is unavailable", s->dir);
    } else {
        idx_t nt = faiss_Index_ntotal(s->index);
        kk = nt < k ? nt : k;
        int frc = kk > 0 && !flat_scan(s, q, kk, dist, lab)
                      ? faiss_Index_search(s->index, 1, q, kk, dist, lab)
                      : 0;
        if (frc != 0)
            rc = faiss_fail(err, frc, "searching FAISS index of", s->dir);
    }
    pthread_rwlock_unlock(&s->idx_lock);
    if (rc != ODX_OK)
        goto done;
    if (kk > 0 && !(h = calloc((size_t)kk, sizeof *h))) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    pthread_mutex_lock(&s->mu);
    for (idx_t i = 0; i < kk; i++) {
        if (lab[i] < 0)
            continue;
        sqlite3_stmt *st = store_stmt(s, ST_VEC_LOOKUP, err);
        if (!st) {
            rc = store_db_status(s);
            break;
        }
        sqlite3_bind_int64(st, 1, lab[i]);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            /* A vector deleted since the last refresh simply drops out. */
            const char *hash = (const char *)sqlite3_column_text(st, 0);
            const char *field = (const char *)sqlite3_column_text(st, 1);
            store_hit *x = &h[n_h++];
            snprintf(x->hash, sizeof x->hash, "%s", hash ? hash : "");
            snprintf(x->field, sizeof x->field, "%s", field ? field : "");
            x->score = dist[i];
        } else if (r != SQLITE_DONE) {
            rc = store_db_err(s, err, "mapping vector ids");
        }
        sqlite3_reset(st);
        if (rc != ODX_OK)
            break;
    }
    pthread_mutex_unlock(&s->mu);
done:
    free(dist);
    free(lab);
    if (rc != ODX_OK) {
        free(h);
        return rc;
    }
    *hits = h;
    *n = n_h;
    return ODX_OK;
}

/* rebuild.c - `rebuild --fresh`: a whole new database built beside the old
 * one by the normal pass (run.c), then swapped in with one rename so readers
 * see either the old index or the new one, never a half-built one. The old
 * index's VLM captions are carried over (made remotely, not re-derivable). */
#define _GNU_SOURCE /* renameat2 */
#include "indexer.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        core_log(CORE_LOG_WARN, "cannot remove '%s': %s", path, strerror(errno));
    return 0;
}

static void rm_tree(const char *dir)
{
    struct stat sb;
    if (lstat(dir, &sb) != 0)
        return;
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Exchanges the two directories in one step where the kernel and file system
 * allow it; otherwise moves the old one aside first (a reader opening the
 * database in that instant finds no directory and reports it). */
static odx_status swap_dirs(const char *fresh, const char *db_dir,
                            const char *old_aside, bool *exchanged, odx_err *err)
{
    if (renameat2(AT_FDCWD, fresh, AT_FDCWD, db_dir, RENAME_EXCHANGE) == 0) {
        *exchanged = true;
        return ODX_OK;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return core_err_errno(err, ODX_ERR_IO, "cannot swap '%s' into '%s'", fresh,
                              db_dir);
    *exchanged = false;
    rm_tree(old_aside);
    if (rename(db_dir, old_aside) != 0)
        return core_err_errno(err, ODX_ERR_IO, "cannot move '%s' aside", db_dir);
    if (rename(fresh, db_dir) != 0) {
        odx_status st = core_err_errno(err, ODX_ERR_IO, "cannot move '%s' to '%s'",
                                       fresh, db_dir);
        if (rename(old_aside, db_dir) != 0)
            core_log(CORE_LOG_ERROR, "the old index is left at '%s'", old_aside);
        return st;
    }
    return ODX_OK;
}

odx_status idx_rebuild_fresh(const char *db_dir, const cap_config *cap,
                             const odx_index_params *p, odx_index_stats *st,
                             odx_err *err)
{
    odx_status rc = ODX_OK;
    int fd = -1, fd_new = -1;
    store *old = NULL, *fresh_store = NULL;
    char **roots = NULL;
    int n_roots = 0;
    char *fresh = NULL, *aside = NULL;
    if (!db_dir || !cap || !p)
        return core_err(err, ODX_ERR_INVALID, "idx_rebuild_fresh: bad arguments");

    size_t len = strlen(db_dir);
    while (len > 1 && db_dir[len - 1] == '/')
        len--;
    fresh = core_sprintf("%.*s.fresh", (int)len, db_dir);
    aside = core_sprintf("%.*s.old", (int)len, db_dir);
    char *dir = core_sprintf("%.*s", (int)len, db_dir);
    if (!fresh || !aside || !dir) {
        rc = core_err(err, ODX_ERR_NOMEM, "no memory for rebuild paths");
        goto done;
    }
    if ((rc = idx_lock_acquire_for(dir, p->wait_lock, p->wait_lock_s, p->cancel, &fd,
                                   err)) != ODX_OK)
        goto done;

    if ((rc = store_open(dir, true, &old, err)) != ODX_OK)
        goto done;
    /* old stays open (read-only) through the pass: its VLM captions are
     * copied into the new index, never asked for again */
    rc = store_roots(old, &roots, err);
    if (rc != ODX_OK)
        goto done;
    while (roots && roots[n_roots])
        n_roots++;
    if (n_roots == 0) {
        rc = core_err(err, ODX_ERR_INVALID,
                      "nothing to rebuild: the index in '%s' has no folders", dir);
        goto done;
    }

    rm_tree(fresh); /* leftover of a killed rebuild; we hold the lock */
    if (mkdir(fresh, 0755) != 0) {
        rc = core_err_errno(err, ODX_ERR_IO, "cannot create '%s'", fresh);
        goto done;
    }
    if ((rc = store_open(fresh, false, &fresh_store, err)) != ODX_OK)
        goto done;
    /* Locked too, so once swapped in nobody writes before we are done. */
    if ((rc = idx_lock_acquire(fresh, false, NULL, &fd_new, err)) != ODX_OK)
        goto done;
    odx_index_params q = *p;
    q.recaption = false; /* an empty database captions everything anyway */
    rc = idx_pass(fresh_store, old, cap, (const char *const *)roots, n_roots, true, &q,
                  st, err);
    /* the learned vectors too (remote embeddings): a later run with
     * --embed asks only for contents whose captions changed */
    if (rc == ODX_OK && (rc = store_begin(fresh_store, err)) == ODX_OK) {
        if ((rc = store_embed_copy(fresh_store, old, err)) == ODX_OK)
            rc = store_commit(fresh_store, err);
        else
            store_rollback(fresh_store);
    }
    if (rc == ODX_OK)
        rc = store_embed_save(fresh_store, err);
    if (rc == ODX_OK)
        rc = store_save(fresh_store, err);
    store_close(fresh_store);
    fresh_store = NULL;
    store_close(old);
    old = NULL;
    if (rc != ODX_OK)
        goto done;

    /* the settings file (VLM/LLM endpoints) moves with the index */
    char *cfg_old = core_sprintf("%s/config", dir), *cfg_new = core_sprintf("%s/config", fresh);
    uint8_t *cfg = NULL;
    size_t cfg_len = 0;
    if (cfg_old && cfg_new && core_read_file(cfg_old, 1 << 20, &cfg, &cfg_len, NULL) == ODX_OK)
        rc = core_write_atomic(cfg_new, cfg, cfg_len, err);
    free(cfg);
    free(cfg_old);
    free(cfg_new);
    if (rc != ODX_OK)
        goto done;

    bool exchanged = false;
    if ((rc = swap_dirs(fresh, dir, aside, &exchanged, err)) != ODX_OK)
        goto done;
    rm_tree(exchanged ? fresh : aside);

done:
    store_close(old);
    store_close(fresh_store);
    if (rc != ODX_OK && fresh)
        rm_tree(fresh);
    idx_lock_release(fd_new);
    idx_lock_release(fd);
    for (int i = 0; roots && roots[i]; i++)
        free(roots[i]);
    free(roots);
    free(fresh);
    free(aside);
    free(dir);
    return rc;
}

/* test_store_lexsync.c - storage's lexical index kept in step with the
 * captions table (store_lex.c): store_lex_search gives exactly what
 * store_fts_search gives for the same terms (rows, order, scores) after
 * batches that add, replace and remove content, for the writer's own
 * handle and a reader catching up from the caption log, inside a batch and
 * after its rollback, and after the log was trimmed past a reader; and
 * store_terms_df answers from the index with FTS5's vocabulary counts. */
#include "check.h"
#include "storage_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rs = 88172645463325252ull;
static int rndi(int n)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (int)(rs % (uint64_t)n);
}

static const char *const WORDS[] = {"red", "bar", "chart", "city", "river", "dog", "cat",
                                    "sales", "2023", "table", "photo", "street", "map",
                                    "柱状图", "销售", "城市", "河流", "地圖", "猫", "狗"};
#define N_WORDS ((int)(sizeof WORDS / sizeof *WORDS))

static void sentence(char *o, size_t cap)
{
    size_t n = 0;
    int w = 1 + rndi(10);
    o[0] = 0;
    for (int i = 0; i < w && n + 32 < cap; i++)
        n += (size_t)snprintf(o + n, cap - n, "%s%s", i ? (rndi(5) ? " " : ", ") : "",
                              WORDS[rndi(N_WORDS)]);
}

static odx_status put(store *s, int id)
{
    static const char *const kinds[] = {"short", "detailed", "tags", "ocr"};
    char hash[65], txt[4][256];
    store_text t[4];
    snprintf(hash, sizeof hash, "%064d", id);
    int nt = 1 + rndi(4);
    for (int i = 0; i < nt; i++) {
        sentence(txt[i], sizeof txt[i]);
        t[i].kind = kinds[i];
        t[i].lang = rndi(2) ? "en" : "zh";
        t[i].text = txt[i];
    }
    store_content c = {0};
    c.desc_json = "{}";
    c.format = "png";
    c.engine_version = "eng-1";
    c.embedder = "emb-1";
    c.texts = t;
    c.n_texts = nt;
    odx_err e = {0};
    odx_status rc = store_content_put(s, hash, &c, &e);
    if (rc != ODX_OK)
        fprintf(stderr, "put: %s\n", e.msg);
    return rc;
}

/* the sum of some frequencies compared, so that a run comparing only
 * zeros cannot pass */
static int64_t dfs;

/* Both engines on random queries; returns how many differed. */
static int compare(store *s, const char *who)
{
    int bad = 0;
    for (int q = 0; q < 40; q++) {
        const char *terms[4];
        char match[256] = "";
        int nt = 1 + rndi(3);
        size_t ml = 0;
        for (int i = 0; i < nt; i++) {
            terms[i] = rndi(8) ? WORDS[rndi(N_WORDS)] : "bar chart";
            ml += (size_t)snprintf(match + ml, sizeof match - ml, "%s\"%s\"", i ? " OR " : "",
                                   terms[i]);
        }
        store_hit *a = NULL, *b = NULL;
        int na = 0, nb = 0;
        odx_err e = {0};
        CHECK(store_lex_search(s, terms, nt, 30, STORE_LEX_INDEX, &a, &na, &e) == ODX_OK);
        CHECK(store_fts_search(s, match, 30, &b, &nb, &e) == ODX_OK);
        bool same = na == nb;
        for (int i = 0; same && i < na; i++)
            same = !strcmp(a[i].hash, b[i].hash) && !strcmp(a[i].field, b[i].field) &&
                   !strcmp(a[i].lang, b[i].lang) && a[i].score == b[i].score;
        if (!same) {
            bad++;
            fprintf(stderr, "%s: %s: lexidx %d rows, FTS5 %d\n", who, match, na, nb);
        }
        free(a);
        free(b);
        /* the index exists now: document frequencies come from it */
        int64_t d1[4], d2[4], n1 = -1, n2 = -2;
        CHECK(s->lex != NULL);
        CHECK(store_terms_df(s, terms, nt, d1, &n1, &e) == ODX_OK);
        CHECK(store_fts_terms_df(s, terms, nt, d2, &n2, &e) == ODX_OK);
        bool same_df = n1 == n2;
        for (int i = 0; i < nt; i++)
            same_df = same_df && d1[i] == d2[i];
        if (!same_df) {
            bad++;
            fprintf(stderr, "%s: %s: document frequencies differ (%lld vs %lld, rows %lld vs %lld)\n",
                    who, match, (long long)d1[0], (long long)d2[0], (long long)n1, (long long)n2);
        }
        dfs += d1[0];
    }
    return bad;
}

static void batch(store *s, int n_puts, int max_id)
{
    odx_err e = {0};
    CHECK(store_begin(s, &e) == ODX_OK);
    for (int i = 0; i < n_puts; i++)
        CHECK(put(s, 1 + rndi(max_id)) == ODX_OK);
    CHECK(store_commit(s, &e) == ODX_OK);
}

int main(void)
{
    char tmpl[] = "/tmp/odx_store_lexsync_XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return check_result("test_store_lexsync");
    odx_err e = {0};
    store *w = NULL, *r = NULL;
    CHECK(store_open(dir, false, &w, &e) == ODX_OK);
    if (!w)
        return check_result("test_store_lexsync");
    /* an empty index answers nothing, without error */
    const char *one[] = {"chart"};
    store_hit *h = NULL;
    int n = -1;
    CHECK(store_lex_search(w, one, 1, 10, STORE_LEX_AUTO, &h, &n, &e) == ODX_OK && n == 0);
    free(h);
    batch(w, 200, 150);
    CHECK(store_open(dir, true, &r, &e) == ODX_OK);
    int bad = compare(w, "writer") + (r ? compare(r, "reader") : 1);
    /* replacements (new captions for old hashes) and new content */
    for (int round = 0; round < 6; round++) {
        batch(w, 40, 220);
        bad += compare(w, "writer") + compare(r, "reader");
    }
    /* content removed: its captions go with it */
    sqlite3 *db = store_sqlite(w);
    CHECK(sqlite3_exec(db, "DELETE FROM captions WHERE hash IN"
                           " (SELECT hash FROM content ORDER BY hash LIMIT 30)",
                       NULL, NULL, NULL) == SQLITE_OK);
    bad += compare(w, "writer after delete") + compare(r, "reader after delete");
    /* inside a batch the writer sees its own rows; after a rollback, not */
    CHECK(store_begin(w, &e) == ODX_OK);
    for (int i = 0; i < 30; i++)
        CHECK(put(w, 500 + i) == ODX_OK);
    bad += compare(w, "writer in batch");
    store_rollback(w);
    bad += compare(w, "writer after rollback") + compare(r, "reader after rollback");
    /* the log trimmed past the reader: it rebuilds */
    batch(w, 20, 220);
    CHECK(sqlite3_exec(db, "DELETE FROM caption_log", NULL, NULL, NULL) == SQLITE_OK);
    batch(w, 20, 220);
    bad += compare(w, "writer after trim") + compare(r, "reader after trim");
    /* STORE_LEX_AUTO on a fresh handle of a larger index answers from FTS5
     * first (no index built), with the same rows */
    CHECK(store_begin(w, &e) == ODX_OK);
    for (int i = 0; i < 2600; i++)
        CHECK(put(w, 1000 + i) == ODX_OK);
    CHECK(store_commit(w, &e) == ODX_OK);
    store *r2 = NULL;
    CHECK(store_open(dir, true, &r2, &e) == ODX_OK);
    if (r2) {
        const char *t2[] = {"chart", "猫"};
        store_hit *a = NULL, *b = NULL;
        int na = 0, nb = 0;
        CHECK(store_lex_search(r2, t2, 2, 50, STORE_LEX_AUTO, &a, &na, &e) == ODX_OK);
        CHECK(r2->lex == NULL);
        CHECK(store_lex_search(r2, t2, 2, 50, STORE_LEX_INDEX, &b, &nb, &e) == ODX_OK);
        CHECK(r2->lex != NULL);
        bool same = na == nb && na == 50;
        for (int i = 0; same && i < na; i++)
            same = !strcmp(a[i].hash, b[i].hash) && a[i].score == b[i].score;
        CHECK(same);
        free(a);
        free(b);
        store_close(r2);
    }
    {
        /* store_lex_warm: built in the background on its own connection,
         * then used by automatic searches and caught up like any */
        store *r3 = NULL;
        CHECK(store_open(dir, true, &r3, &e) == ODX_OK);
        CHECK(store_lex_warm(r3, &e) == ODX_OK);
        CHECK(store_lex_warm(r3, &e) == ODX_OK); /* a second call: nothing */
        for (int i = 0; i < 3000 && store_lex_warming(r3); i++)
            usleep(10000);
        CHECK(!store_lex_warming(r3));
        CHECK(r3->lex != NULL);
        bad += compare(r3, "warmed reader");
        batch(w, 30, 1500);
        bad += compare(r3, "warmed reader after a batch");
        store_close(r3);
        /* closed while it builds: stopped and joined, nothing leaks */
        store *r4 = NULL;
        CHECK(store_open(dir, true, &r4, &e) == ODX_OK);
        CHECK(store_lex_warm(r4, &e) == ODX_OK);
        store_close(r4);
    }
    CHECK_MSG(bad == 0, "%d comparisons differ", bad);
    CHECK_MSG(dfs > 1000, "document frequencies compared sum to only %lld", (long long)dfs);
    /* every caption change left a log row (the log is what readers use) */
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM caption_log", -1, &st, NULL) ==
          SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 20);
    sqlite3_finalize(st);
    store_close(r);
    store_close(w);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_result("test_store_lexsync");
}

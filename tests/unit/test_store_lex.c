/* test_store_lex.c - the lexical top-k index (storage/lexidx.c): pruned
 * search equals the exhaustive scorer bit for bit over random corpora
 * (many seeds, removals, replacements, compaction, field weights), the
 * exhaustive scorer equals FTS5's bm25() over the same rows with the
 * product's tokenizer (same rows, order and scores, bit for bit), and odd
 * queries (none, unknown, huge) behave. */
#include "check.h"
#include "lexidx.h"
#include "storage_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rs;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}
static int rndi(int n) { return (int)(rnd() % (uint64_t)n); }

/* Zipf-like pick in 0..n-1: the square of a uniform skews towards 0. */
static int zipf(int n)
{
    double u = (double)(rnd() % 1000003) / 1000003.0;
    int v = (int)(u * u * u * n);
    return v < n ? v : n - 1;
}

/* CJK characters, some traditional (folded to the simplified ones). */
static const char *const HAN[] = {"图", "表", "山", "水", "星", "月", "人", "口", "圖",
                                  "車", "车", "电", "脑", "书", "展", "年", "份", "地"};
#define N_HAN ((int)(sizeof HAN / sizeof *HAN))

static void gen_doc(char *out, size_t cap, int vocab)
{
    size_t n = 0;
    int words = rndi(4) == 0 ? rndi(60) : rndi(12);
    out[0] = 0;
    for (int i = 0; i < words && n + 64 < cap; i++) {
        int kind = rndi(10);
        if (kind < 7) {
            n += (size_t)snprintf(out + n, cap - n, "w%d", zipf(vocab));
        } else if (kind < 9) {
            int run = 1 + rndi(4);
            for (int j = 0; j < run; j++)
                n += (size_t)snprintf(out + n, cap - n, "%s", HAN[zipf(N_HAN)]);
        } else {
            n += (size_t)snprintf(out + n, cap - n, "%s", rndi(2) ? "," : "。");
        }
        n += (size_t)snprintf(out + n, cap - n, "%s", rndi(8) ? " " : "  ");
    }
}

/* A query term: a word, a two-word phrase, a CJK string, an unknown word
 * or one without tokens. */
static void gen_term(char *out, size_t cap, int vocab)
{
    int kind = rndi(12);
    if (kind < 6)
        snprintf(out, cap, "w%d", zipf(vocab));
    else if (kind < 8)
        snprintf(out, cap, "w%d w%d", zipf(vocab / 4 + 1), zipf(vocab / 4 + 1));
    else if (kind < 10)
        snprintf(out, cap, "%s%s%s", HAN[zipf(N_HAN)], HAN[zipf(N_HAN)],
                 rndi(3) ? "" : HAN[rndi(N_HAN)]);
    else if (kind < 11)
        snprintf(out, cap, "%s", HAN[rndi(N_HAN)]);
    else
        snprintf(out, cap, "%s", rndi(2) ? "nosuchword" : "!!");
}

static bool same_hits(const lex_hit *a, int na, const lex_hit *b, int nb)
{
    if (na != nb)
        return false;
    for (int i = 0; i < na; i++)
        if (a[i].id != b[i].id || a[i].score != b[i].score || a[i].field != b[i].field)
            return false;
    return true;
}

static int n_diff_seeds;

/* One corpus: pruned vs exhaustive for many queries and several k. */
static void run_seed(uint64_t seed, int n_docs, int vocab, bool weights)
{
    rs = seed * 0x9E3779B97F4A7C15ull + 1;
    lex_index *x = lex_new();
    char buf[4096];
    odx_err e = {0};
    for (int i = 0; i < n_docs; i++) {
        gen_doc(buf, sizeof buf, vocab);
        CHECK(lex_add(x, 1000 + i * 3, rndi(5), buf, (int)strlen(buf), &e) == ODX_OK);
    }
    /* removals and replacements (same id, new text) */
    for (int i = 0; i < n_docs / 5; i++) {
        int64_t id = 1000 + rndi(n_docs) * 3;
        if (rndi(2)) {
            lex_remove(x, id);
        } else {
            gen_doc(buf, sizeof buf, vocab);
            CHECK(lex_add(x, id, rndi(5), buf, (int)strlen(buf), &e) == ODX_OK);
        }
    }
    bool bad = false;
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            CHECK(lex_compact(x, &e) == ODX_OK);
        for (int q = 0; q < 40; q++) {
            char tb[12][64];
            const char *terms[12];
            int nt = 1 + rndi(8);
            for (int t = 0; t < nt; t++) {
                gen_term(tb[t], sizeof tb[t], vocab);
                terms[t] = tb[t];
            }
            if (rndi(10) == 0 && nt > 1)
                terms[nt - 1] = terms[0]; /* a repeated term counts twice */
            static const int ks[] = {1, 3, 10, 50, 1000};
            lex_params p = {.k = ks[rndi(5)]};
            if (weights)
                for (int f = 0; f < LEX_MAX_FIELDS; f++)
                    p.weights[f] = 0.25 + rndi(8) * 0.25;
            lex_hit *a = NULL, *b = NULL;
            int na = 0, nb = 0;
            lex_stats sa, sb;
            CHECK(lex_search(x, terms, nt, &p, &a, &na, &sa, &e) == ODX_OK);
            p.exhaustive = true;
            CHECK(lex_search(x, terms, nt, &p, &b, &nb, &sb, &e) == ODX_OK);
            if (!same_hits(a, na, b, nb)) {
                bad = true;
                fprintf(stderr, "seed %llu query %d (k %d): pruned %d hits, exhaustive %d\n",
                        (unsigned long long)seed, q, p.k, na, nb);
            }
            CHECK(sa.scored <= sb.scored);
            free(a);
            free(b);
        }
    }
    n_diff_seeds += bad;
    lex_free(x);
}

/* ------------------------------------------------ against FTS5 itself ---- */

static void quote_into(char *o, size_t cap, const char *t)
{
    size_t n = 0;
    o[n++] = '"';
    for (; *t && n + 3 < cap; t++) {
        if (*t == '"')
            o[n++] = '"';
        o[n++] = *t;
    }
    o[n++] = '"';
    o[n] = 0;
}

static void against_fts5(uint64_t seed)
{
    rs = seed;
    sqlite3 *db = NULL;
    odx_err e = {0};
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    CHECK(store_fts_register(db, &e) == ODX_OK);
    CHECK(sqlite3_exec(db, "CREATE VIRTUAL TABLE f USING fts5(text, tokenize='odx')", NULL,
                       NULL, NULL) == SQLITE_OK);
    sqlite3_stmt *ins = NULL, *del = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO f(rowid, text) VALUES(?1, ?2)", -1, &ins, NULL);
    sqlite3_prepare_v2(db, "DELETE FROM f WHERE rowid=?1", -1, &del, NULL);
    lex_index *x = lex_new();
    char buf[4096];
    int n_docs = 400, vocab = 300;
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (int i = 0; i < n_docs; i++) {
        gen_doc(buf, sizeof buf, vocab);
        lex_add(x, i + 1, 0, buf, (int)strlen(buf), &e);
        sqlite3_reset(ins);
        sqlite3_bind_int(ins, 1, i + 1);
        sqlite3_bind_text(ins, 2, buf, -1, SQLITE_TRANSIENT);
        CHECK(sqlite3_step(ins) == SQLITE_DONE);
    }
    for (int i = 0; i < 60; i++) {
        int id = 1 + rndi(n_docs);
        lex_remove(x, id);
        sqlite3_reset(del);
        sqlite3_bind_int(del, 1, id);
        CHECK(sqlite3_step(del) == SQLITE_DONE);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_stmt *q = NULL;
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT rowid, -rank FROM f WHERE f MATCH ?1 ORDER BY rank LIMIT ?2",
                             -1, &q, NULL) == SQLITE_OK);
    int compared = 0, mismatched = 0;
    for (int qi = 0; qi < 150; qi++) {
        char tb[8][64], match[1024] = "";
        const char *terms[8];
        int nt = 1 + rndi(6);
        size_t ml = 0;
        for (int t = 0; t < nt; t++) {
            gen_term(tb[t], sizeof tb[t], vocab);
            terms[t] = tb[t];
            char qt[160];
            quote_into(qt, sizeof qt, tb[t]);
            ml += (size_t)snprintf(match + ml, sizeof match - ml, "%s%s", t ? " OR " : "", qt);
        }
        int k = qi % 3 == 0 ? 1000 : 10;
        lex_params p = {.k = k};
        lex_hit *h = NULL;
        int nh = 0;
        CHECK(lex_search(x, terms, nt, &p, &h, &nh, NULL, &e) == ODX_OK);
        int64_t fid[1000];
        double fsc[1000];
        int nf = 0;
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, match, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(q, 2, k);
        int r;
        while ((r = sqlite3_step(q)) == SQLITE_ROW && nf < 1000) {
            fid[nf] = sqlite3_column_int64(q, 0);
            fsc[nf++] = sqlite3_column_double(q, 1);
        }
        CHECK_MSG(r == SQLITE_DONE || r == SQLITE_ROW, "%s: %s", match, sqlite3_errmsg(db));
        /* the same rows in the same order with the same scores, bit for bit
         * (FTS5 ranks equal scores by rowid, as lexidx does) */
        bool ok = nf == nh;
        for (int i = 0; ok && i < nh; i++)
            ok = h[i].score == fsc[i] && h[i].id == fid[i];
        if (!ok) {
            mismatched++;
            fprintf(stderr, "FTS5 differs on %s: %d vs %d rows (first %g vs %g)\n", match, nh,
                    nf, nh ? h[0].score : 0.0, nf ? fsc[0] : 0.0);
        }
        compared += nh > 0;
        free(h);
    }
    CHECK_MSG(mismatched == 0, "%d of 150 queries differ from FTS5", mismatched);
    CHECK_MSG(compared > 75, "only %d queries matched anything", compared);
    sqlite3_finalize(q);
    sqlite3_finalize(ins);
    sqlite3_finalize(del);
    sqlite3_close(db);
    lex_free(x);
}

/* --------------------------------------------------------- edge cases ---- */

static odx_status add_str(lex_index *x, int64_t id, int field, const char *text)
{
    odx_err e = {0};
    return lex_add(x, id, field, text, (int)strlen(text), &e);
}

static void edges(void)
{
    lex_index *x = lex_new();
    odx_err e = {0};
    lex_hit *h = NULL;
    int n = -1;
    lex_params p = {.k = 10};
    const char *one[] = {"星图"};
    /* empty index, also once compacted */
    CHECK(lex_search(x, one, 1, &p, &h, &n, NULL, &e) == ODX_OK && n == 0);
    free(h);
    CHECK(lex_compact(x, &e) == ODX_OK);
    CHECK(lex_search(x, one, 1, &p, &h, &n, NULL, &e) == ODX_OK && n == 0);
    free(h);
    CHECK(add_str(x, 7, 0, "星圖 and a bar chart") == ODX_OK);
    CHECK(add_str(x, 8, 1, "") == ODX_OK); /* empty row counts as a row */
    CHECK(add_str(x, 9, 2, "星 图 ocr spaced") == ODX_OK);
    CHECK(add_str(x, 10, 3, "星,图 not one run") == ODX_OK);
    CHECK(add_str(x, 11, 3, "图星") == ODX_OK);
    CHECK(lex_rows(x) == 5);
    /* traditional folds; "星 图" is one run; "星,图" is adjacent too (FTS5
     * phrases follow positions); "图星" is not the phrase */
    CHECK(lex_search(x, one, 1, &p, &h, &n, NULL, &e) == ODX_OK);
    CHECK(n == 3);
    bool seen11 = false;
    for (int i = 0; i < n; i++)
        seen11 |= h[i].id == 11;
    CHECK(!seen11);
    free(h);
    /* no terms, unknown terms, terms without tokens */
    const char *none[] = {"", "!!", "zzzunknown"};
    CHECK(lex_search(x, none, 0, &p, &h, &n, NULL, &e) == ODX_OK && n == 0);
    free(h);
    CHECK(lex_search(x, none, 3, &p, &h, &n, NULL, &e) == ODX_OK && n == 0);
    free(h);
    /* a huge query: many terms (past LEX_MAX_TERMS) and a very long phrase */
    static char big[200][16];
    const char *many[200];
    for (int i = 0; i < 200; i++) {
        snprintf(big[i], sizeof big[i], i == 199 ? "bar" : "t%d", i);
        many[i] = big[i];
    }
    CHECK(lex_search(x, many, 200, &p, &h, &n, NULL, &e) == ODX_OK && n == 0);
    free(h);
    many[3] = "chart";
    CHECK(lex_search(x, many, 200, &p, &h, &n, NULL, &e) == ODX_OK && n == 1 && h[0].id == 7);
    free(h);
    char longp[2000] = "";
    for (int i = 0; i < 150; i++)
        strcat(longp, "bar ");
    const char *lp[] = {longp};
    CHECK(lex_search(x, lp, 1, &p, &h, &n, NULL, &e) == ODX_OK && n == 0);
    free(h);
    /* bad arguments */
    p.k = 0;
    CHECK(lex_search(x, one, 1, &p, &h, &n, NULL, &e) == ODX_ERR_INVALID);
    p.k = 10;
    p.weights[2] = -1;
    CHECK(lex_search(x, one, 1, &p, &h, &n, NULL, &e) == ODX_ERR_INVALID);
    p.weights[2] = 0;
    CHECK(lex_add(x, 1, LEX_MAX_FIELDS, "x", 1, &e) == ODX_ERR_INVALID);
    /* field weights reorder: row 9 (field 2) first once its field weighs 10 */
    const char *xing[] = {"星"};
    p.weights[2] = 10;
    CHECK(lex_search(x, xing, 1, &p, &h, &n, NULL, &e) == ODX_OK && n == 4 && h[0].id == 9 &&
          h[0].field == 2);
    free(h);
    p.weights[2] = 0;
    /* replace and remove */
    CHECK(add_str(x, 9, 2, "nothing here") == ODX_OK);
    CHECK(lex_rows(x) == 5);
    CHECK(lex_search(x, one, 1, &p, &h, &n, NULL, &e) == ODX_OK && n == 2);
    free(h);
    CHECK(lex_remove(x, 7));
    CHECK(!lex_remove(x, 7));
    CHECK(!lex_has(x, 7) && lex_has(x, 10));
    CHECK(lex_dead_share(x) > 0);
    size_t before = lex_bytes(x);
    CHECK(lex_compact(x, &e) == ODX_OK);
    CHECK(lex_dead_share(x) == 0);
    CHECK(lex_bytes(x) <= before);
    CHECK(lex_search(x, one, 1, &p, &h, &n, NULL, &e) == ODX_OK && n == 1 && h[0].id == 10);
    free(h);
    /* many rows with the same id slot pattern: the id map survives churn */
    for (int i = 0; i < 5000; i++)
        CHECK(lex_add(x, 100 + i % 700, 0, "churn word", 10, &e) == ODX_OK);
    CHECK(lex_rows(x) == 4 + 700);
    for (int i = 0; i < 700; i += 2)
        CHECK(lex_remove(x, 100 + i));
    CHECK(lex_rows(x) == 4 + 350);
    const char *churn[] = {"churn"};
    p.k = 1000;
    CHECK(lex_search(x, churn, 1, &p, &h, &n, NULL, &e) == ODX_OK && n == 350);
    free(h);
    lex_free(x);
}

int main(void)
{
    edges();
    for (uint64_t s = 1; s <= 60; s++)
        run_seed(s, s % 6 == 0 ? 3000 : 300, s % 2 ? 50 : 400, s % 3 == 0);
    CHECK_MSG(n_diff_seeds == 0, "%d of 60 seeds differ", n_diff_seeds);
    against_fts5(11);
    against_fts5(12);
    against_fts5(13);
    return check_result("test_store_lex");
}

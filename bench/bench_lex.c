/* bench_lex.c - lexical top-k at scale: the in-memory index of
 * storage/lexidx.c (pruned, and exhaustive as the reference) next to raw
 * FTS5 over the same rows with the product's tokenizer, in one run.
 * Rows are generated in memory: captions-sized English rows over a
 * Zipf-distributed vocabulary, longer OCR-like rows, and Chinese rows over
 * Zipf-distributed characters. Queries: 1-4 English words drawn from the
 * same distribution, or 1-3 Chinese two-character words (phrases) taken
 * from rows. Not a test: prints JSON, never asserts a time.
 * Usage: bench_lex [--n N]... [--queries Q] [--fts-queries F] [--k K] */
#include "lexidx.h"
#include "storage_int.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}
static double rnd01(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

/* Zipf(s) over 0..n-1 by inverting a precomputed CDF. */
typedef struct zipf {
    double *cdf;
    int n;
} zipf;

static zipf zipf_new(int n, double s)
{
    zipf z = {malloc((size_t)n * sizeof(double)), n};
    double acc = 0;
    for (int i = 0; i < n; i++)
        z.cdf[i] = acc += 1.0 / pow(i + 1.0, s);
    for (int i = 0; i < n; i++)
        z.cdf[i] /= acc;
    return z;
}

static int zipf_draw(const zipf *z)
{
    double u = rnd01();
    int lo = 0, hi = z->n - 1;
    while (lo < hi) {
        int m = (lo + hi) / 2;
        if (z->cdf[m] < u)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

/* Word i of the vocabulary: letters only, distinct for distinct i. */
static int word(int i, char *o)
{
    static const char *const syl[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo",
                                      "be", "da", "fu", "go", "hi", "ju", "pe", "zo"};
    int n = 0;
    do {
        const char *s = syl[i % 16];
        o[n++] = s[0];
        o[n++] = s[1];
        i /= 16;
    } while (i > 0);
    o[n] = 0;
    return n;
}

/* CJK character i (UTF-8, 3 bytes) from the common block. */
static int han(int i, char *o)
{
    uint32_t cp = 0x4E00 + (uint32_t)(i * 7 % 0x5000);
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

#define VOCAB 200000
#define HANS 3500

static zipf zw, zh;

/* One row: field 0 short caption, 1 detailed, 2 tags, 3 OCR (longer), 4 zh. */
static int gen_row(char *o, size_t cap, int *field)
{
    int f = (int)(rnd() % 10);
    *field = f < 3 ? 0 : f < 5 ? 1 : f < 6 ? 2 : f < 8 ? 3 : 4;
    size_t n = 0;
    if (*field == 4) {
        int chars = 6 + (int)(rnd() % 30);
        for (int i = 0; i < chars && n + 8 < cap; i++) {
            n += (size_t)han(zipf_draw(&zh), o + n);
            if (rnd() % 9 == 0)
                n += (size_t)snprintf(o + n, cap - n, "，");
        }
    } else {
        int words = *field == 3 ? 20 + (int)(rnd() % 60) : *field == 2 ? 4 + (int)(rnd() % 6)
                                                                        : 6 + (int)(rnd() % 14);
        for (int i = 0; i < words && n + 40 < cap; i++) {
            n += (size_t)word(zipf_draw(&zw), o + n);
            o[n++] = ' ';
        }
    }
    o[n] = 0;
    return (int)n;
}

typedef struct query {
    char terms[4][32];
    int n;
} query;

static void gen_query(query *q, char *rowbuf, size_t cap)
{
    if (rnd() % 10 < 7) {
        q->n = 1 + (int)(rnd() % 4);
        for (int i = 0; i < q->n; i++)
            word(zipf_draw(&zw), q->terms[i]);
    } else {
        q->n = 1 + (int)(rnd() % 3);
        for (int i = 0; i < q->n; i++) {
            /* two adjacent characters of a Chinese row */
            int f;
            do
                gen_row(rowbuf, cap, &f);
            while (f != 4);
            size_t len = strlen(rowbuf), at;
            do {
                at = (size_t)(rnd() % (len / 3)) * 3;
                if (at + 6 > len)
                    at = len - 6;
            } while (!memcmp(rowbuf + at, "，", 3) || !memcmp(rowbuf + at + 3, "，", 3));
            memcpy(q->terms[i], rowbuf + at, 6);
            q->terms[i][6] = 0;
        }
    }
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static double wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)ceil(p * n) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static void print_lat(const char *name, double *wall, double *cpu, int n, bool last)
{
    printf("      \"%s\": {\"n\": %d, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"cpu_p50_ms\": %.3f, "
           "\"cpu_p99_ms\": %.3f}%s\n",
           name, n, pct(wall, n, 0.5), pct(wall, n, 0.99), pct(cpu, n, 0.5),
           pct(cpu, n, 0.99), last ? "" : ",");
}

/* A search that fails ends the run: timing it would measure the failure.
 * (The run's buffers are left to the exit that follows.) */
static int search_failed(const char *what, const query *q, const odx_err *e)
{
    fprintf(stderr, "bench_lex: lex_search (%s) failed for '%s'%s: %s\n", what, q->terms[0],
            q->n > 1 ? " ..." : "", e->msg[0] ? e->msg : "no message");
    return 1;
}

static int run(int n_rows, int n_queries, int n_fts, int k, bool first)
{
    rs = 0x9E3779B97F4A7C15ull ^ (uint64_t)n_rows;
    char row[4096];
    odx_err e = {0};
    long rss0 = rss_kb();
    lex_index *x = lex_new();
    double t0 = wall_now(), c0 = cpu_now();
    int64_t bytes = 0;
    /* the rows are generated twice from the same seed (lexical index, then
     * FTS5) instead of being kept */
    for (int i = 0; i < n_rows; i++) {
        int f;
        int len = gen_row(row, sizeof row, &f);
        bytes += len;
        if (lex_add(x, i + 1, f, row, len, &e) != ODX_OK) {
            fprintf(stderr, "lex_add: %s\n", e.msg);
            return 1;
        }
    }
    double lex_build = wall_now() - t0, lex_build_cpu = cpu_now() - c0;
    size_t lb_grown = lex_bytes(x);
    t0 = wall_now();
    if (lex_compact(x, &e) != ODX_OK) {
        fprintf(stderr, "lex_compact: %s\n", e.msg);
        return 1;
    }
    double lex_pack = wall_now() - t0;
    long rss1 = rss_kb();

    char dbpath[256];
    snprintf(dbpath, sizeof dbpath, "%s/odx_bench_lex_%d.db",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    unlink(dbpath);
    sqlite3 *db = NULL;
    if (sqlite3_open(dbpath, &db) != SQLITE_OK || store_fts_register(db, &e) != ODX_OK) {
        fprintf(stderr, "sqlite: %s\n", e.msg);
        return 1;
    }
    sqlite3_stmt *ins = NULL;
    if (sqlite3_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                         "PRAGMA cache_size=-262144;"
                         "CREATE VIRTUAL TABLE f USING fts5(text, tokenize='odx');",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO f(rowid, text) VALUES(?1, ?2)", -1, &ins, NULL) !=
            SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    rs = 0x9E3779B97F4A7C15ull ^ (uint64_t)n_rows;
    t0 = wall_now();
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (int i = 0; i < n_rows; i++) {
        int f;
        int len = gen_row(row, sizeof row, &f);
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, i + 1);
        sqlite3_bind_text(ins, 2, row, len, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
            return 1;
        }
    }
    sqlite3_finalize(ins);
    sqlite3_stmt *q = NULL;
    /* the product's inner query (store_sql.c ST_FTS_SEARCH) */
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "INSERT INTO f(f) VALUES('optimize')", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT rowid, -rank FROM f WHERE f MATCH ?1 ORDER BY rank LIMIT ?2",
                           -1, &q, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    double fts_build = wall_now() - t0;

    query *qs = malloc((size_t)n_queries * sizeof *qs);
    rs = 0xD1B54A32D192ED03ull;
    for (int i = 0; i < n_queries; i++)
        gen_query(&qs[i], row, sizeof row);
    double *w[4], *c[4];
    for (int j = 0; j < 4; j++) {
        w[j] = calloc((size_t)n_queries, sizeof(double));
        c[j] = calloc((size_t)n_queries, sizeof(double));
    }
    int n_ex = 0, n_ft = 0, same_fts = 0, same_ex = 0;
    int64_t scored = 0, matched = 0, postings = 0, postings_ex = 0;
    for (int pass = 0; pass < 2; pass++) {
        int nq = pass ? n_queries : (n_queries < 10 ? n_queries : 10); /* pass 0 warms */
        for (int i = 0; i < nq; i++) {
            const char *terms[4];
            char match[256];
            size_t ml = 0;
            for (int t = 0; t < qs[i].n; t++) {
                terms[t] = qs[i].terms[t];
                ml += (size_t)snprintf(match + ml, sizeof match - ml, "%s\"%s\"", t ? " OR " : "",
                                       terms[t]);
            }
            lex_params p = {.k = k};
            lex_hit *h = NULL, *hx = NULL;
            int nh = 0, nx = 0;
            lex_stats st, sx;
            double tw = wall_now(), tc = cpu_now();
            odx_status sr = lex_search(x, terms, qs[i].n, &p, &h, &nh, &st, &e);
            double dw = wall_now() - tw, dc = cpu_now() - tc;
            if (sr != ODX_OK)
                return search_failed("top-k", &qs[i], &e);
            bool do_ex = i < n_fts * 4, do_fts = i < n_fts;
            if (pass) {
                w[0][i] = dw * 1e3;
                c[0][i] = dc * 1e3;
                scored += st.scored;
                postings += st.postings;
            }
            /* k 200: what odx_search asks the lexical path for at k 10 */
            lex_params p2 = {.k = 200};
            lex_hit *h2 = NULL;
            int n2 = 0;
            tw = wall_now(), tc = cpu_now();
            sr = lex_search(x, terms, qs[i].n, &p2, &h2, &n2, NULL, &e);
            if (sr != ODX_OK)
                return search_failed("top-k 200", &qs[i], &e);
            if (pass) {
                w[3][i] = (wall_now() - tw) * 1e3;
                c[3][i] = (cpu_now() - tc) * 1e3;
            }
            free(h2);
            if (do_ex) {
                p.exhaustive = true;
                tw = wall_now(), tc = cpu_now();
                sr = lex_search(x, terms, qs[i].n, &p, &hx, &nx, &sx, &e);
                dw = wall_now() - tw, dc = cpu_now() - tc;
                if (sr != ODX_OK)
                    return search_failed("exhaustive", &qs[i], &e);
                if (pass) {
                    w[1][n_ex] = dw * 1e3;
                    c[1][n_ex++] = dc * 1e3;
                    matched += sx.matched;
                    postings_ex += sx.postings;
                    bool same = nx == nh;
                    for (int r = 0; same && r < nh; r++)
                        same = h[r].id == hx[r].id && h[r].score == hx[r].score;
                    same_ex += same;
                }
            }
            if (do_fts) {
                sqlite3_reset(q);
                sqlite3_bind_text(q, 1, match, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int(q, 2, k);
                double fs[LEX_MAX_K > 1000 ? 1000 : LEX_MAX_K];
                int nf = 0;
                tw = wall_now(), tc = cpu_now();
                int sq;
                while ((sq = sqlite3_step(q)) == SQLITE_ROW)
                    if (nf < 1000)
                        fs[nf++] = sqlite3_column_double(q, 1);
                dw = wall_now() - tw, dc = cpu_now() - tc;
                if (sq != SQLITE_DONE) {
                    fprintf(stderr, "bench_lex: FTS5 search failed for '%s': %s\n", match,
                            sqlite3_errmsg(db));
                    return 1;
                }
                if (pass) {
                    w[2][n_ft] = dw * 1e3;
                    c[2][n_ft++] = dc * 1e3;
                    /* same scores in the same order (ties may swap rows) */
                    bool same = nf == nh;
                    for (int r = 0; same && r < nh; r++)
                        same = fabs(fs[r] - h[r].score) <= 1e-12 * fabs(fs[r]);
                    same_fts += same;
                }
            }
            free(h);
            free(hx);
        }
    }
    sqlite3_finalize(q);
    long db_kb = 0;
    {
        FILE *f = fopen(dbpath, "rb");
        if (f) {
            fseek(f, 0, SEEK_END);
            db_kb = ftell(f) / 1024;
            fclose(f);
        }
    }
    sqlite3_close(db);
    unlink(dbpath);
    size_t lb = lex_bytes(x);
    printf("%s  {\n    \"rows\": %d, \"text_mb\": %.1f, \"k\": %d, \"queries\": %d,\n", first ? "" : ",\n",
           n_rows, bytes / 1e6, k, n_queries);
    printf("    \"lex_build_s\": %.2f, \"lex_build_cpu_s\": %.2f, \"lex_pack_s\": %.2f, "
           "\"fts5_build_s\": %.2f,\n",
           lex_build, lex_build_cpu, lex_pack, fts_build);
    printf("    \"lex_bytes_per_row_growing\": %.1f, \"lex_bytes_per_row\": %.1f, "
           "\"lex_rss_growth_per_row\": %.1f, \"fts5_db_bytes_per_row\": %.1f,\n",
           (double)lb_grown / n_rows, (double)lb / n_rows, (rss1 - rss0) * 1024.0 / n_rows,
           db_kb * 1024.0 / n_rows);
    printf("    \"mean_rows_scored_pruned\": %.1f, \"mean_postings_pruned\": %.1f, "
           "\"mean_rows_matched\": %.1f, \"mean_postings_exhaustive\": %.1f,\n",
           (double)scored / n_queries, (double)postings / n_queries,
           n_ex ? (double)matched / n_ex : 0.0, n_ex ? (double)postings_ex / n_ex : 0.0);
    printf("    \"pruned_equals_exhaustive\": \"%d/%d\", \"scores_equal_fts5\": \"%d/%d\",\n",
           same_ex, n_ex, same_fts, n_ft);
    printf("    \"example_queries\": [\"%s\", \"%s %s\", \"%s\"],\n", qs[0].terms[0],
           qs[1 % n_queries].terms[0], qs[1 % n_queries].n > 1 ? qs[1 % n_queries].terms[1] : "",
           qs[2 % n_queries].terms[0]);
    printf("    \"latency\": {\n");
    print_lat("lex_topk", w[0], c[0], n_queries, false);
    print_lat("lex_topk_k200", w[3], c[3], n_queries, false);
    print_lat("lex_exhaustive", w[1], c[1], n_ex, false);
    print_lat("fts5", w[2], c[2], n_ft, true);
    printf("    }\n  }");
    fflush(stdout);
    for (int j = 0; j < 4; j++) {
        free(w[j]);
        free(c[j]);
    }
    free(qs);
    lex_free(x);
    return 0;
}

int main(int argc, char **argv)
{
    int ns[8], nn = 0, n_queries = 500, n_fts = 100, k = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc && nn < 8)
            ns[nn++] = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--queries") && i + 1 < argc)
            n_queries = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--fts-queries") && i + 1 < argc)
            n_fts = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--k") && i + 1 < argc)
            k = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_lex [--n ROWS]... [--queries Q] [--fts-queries F] "
                            "[--k K]\n");
            return 2;
        }
    }
    if (nn == 0)
        ns[nn++] = 100000;
    if (n_queries < 1 || k < 1 || k > 1000 || n_fts < 0)
        return 2;
    if (n_fts > n_queries)
        n_fts = n_queries;
    zw = zipf_new(VOCAB, 1.0);
    zh = zipf_new(HANS, 0.9);
    printf("[\n");
    int rc = 0;
    for (int i = 0; i < nn && rc == 0; i++)
        rc = run(ns[i], n_queries, n_fts, k, i == 0);
    printf("\n]\n");
    free(zw.cdf);
    free(zh.cdf);
    return rc;
}

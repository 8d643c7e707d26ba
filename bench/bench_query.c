/* bench_query.c - query latency at scale: builds an index of N synthetic
 * caption records (en + zh, realistic vocabulary) straight through storage,
 * then times odx_search next to raw FAISS (exact and ANN) and raw FTS5 in
 * the same run, with the ANN's recall against exact. --vectors N builds
 * N clustered synthetic vectors only and times dense search alone.
 * Not a test: prints JSON. Usage: bench_query [--n N] [--queries Q] [--k K] */
#include "embedder.h"
#include "omnidex.h"
#include "storage.h"
#include "ivf_int.h"     /* our IVF scan and FAISS's, timed alone */
#include "storage_int.h" /* the ANN index's nprobe, for the sweep */
#include "vec_dot.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------ vocabulary ---- */

typedef struct pair {
    const char *en, *zh;
} pair;

static const pair COLORS[] = {{"red", "红色"}, {"blue", "蓝色"}, {"green", "绿色"},
                              {"yellow", "黄色"}, {"white", "白色"}, {"black", "黑色"},
                              {"orange", "橙色"}, {"purple", "紫色"}, {"grey", "灰色"},
                              {"brown", "棕色"}};
static const pair THINGS[] = {
    {"dog", "狗"},       {"cat", "猫"},        {"car", "汽车"},     {"bicycle", "自行车"},
    {"boat", "船"},      {"bird", "鸟"},       {"tree", "树"},      {"person", "人"},
    {"bus", "公共汽车"}, {"horse", "马"},      {"flower", "花"},    {"bridge", "桥"},
    {"mountain", "山"},  {"building", "建筑"}, {"train", "火车"},   {"cup", "杯子"},
    {"laptop", "笔记本电脑"}, {"umbrella", "雨伞"}, {"chair", "椅子"}, {"clock", "时钟"}};
static const pair PLACES[] = {
    {"beach", "海滩"}, {"street", "街道"}, {"park", "公园"},   {"kitchen", "厨房"},
    {"office", "办公室"}, {"forest", "森林"}, {"river", "河边"}, {"city", "城市"},
    {"garden", "花园"}, {"station", "车站"}, {"market", "市场"}, {"lake", "湖边"}};
static const pair CHARTS[] = {{"bar", "柱状"}, {"line", "折线"}, {"pie", "饼"},
                              {"scatter", "散点"}};
static const pair TOPICS[] = {
    {"rainfall", "降雨量"},   {"sales", "销售额"},   {"population", "人口"},
    {"temperature", "气温"},  {"revenue", "收入"},   {"visitors", "游客"},
    {"exports", "出口"},      {"energy use", "能耗"}, {"prices", "价格"},
    {"enrolment", "入学人数"}, {"traffic", "交通量"}, {"profit", "利润"}};
static const pair DIMS[] = {{"month", "月份"}, {"year", "年份"}, {"region", "地区"},
                            {"product", "产品"}, {"city", "城市"}, {"age group", "年龄组"}};
static const pair APPS[] = {{"settings", "设置"}, {"email", "邮件"}, {"browser", "浏览器"},
                            {"calendar", "日历"}, {"chat", "聊天"}, {"terminal", "终端"}};
static const pair EVENTS[] = {{"book fair", "书展"}, {"concert", "音乐会"},
                              {"film festival", "电影节"}, {"marathon", "马拉松"},
                              {"art exhibition", "艺术展"}, {"food market", "美食节"}};
static const char *const CITIES[] = {"Shanghai", "Berlin", "Lisbon", "Osaka", "Toronto",
                                     "Nairobi", "Lima", "Oslo", "Chengdu", "Hangzhou"};

#define N_OF(a) ((int)(sizeof a / sizeof *a))

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}
static int pick(int n) { return (int)(rnd() % (uint64_t)n); }

/* store_dhash_scan's ranker for the scan's timing: within 12 bits of a
 * random hash (what near_rank in retriever/search.c computes per row,
 * less the model) */
static int scan_rank(void *ctx, uint64_t dh, bool has_crops, const uint64_t *crops)
{
    uint64_t probe = *(const uint64_t *)ctx;
    int best = __builtin_popcountll(dh ^ probe);
    for (int k = 0; has_crops && k < STORE_N_DHASH_CROPS; k++) {
        int d = __builtin_popcountll(crops[k] ^ probe) + 2;
        best = d < best ? d : best;
    }
    return best <= 12 ? best : -1;
}
#define PICK(a) (&(a)[pick(N_OF(a))])

static const char *const DOMAINS[] = {"photo", "chart", "table", "document", "screenshot",
                                      "poster"};

typedef struct record {
    char det_en[512], det_zh[512], short_en[256], short_zh[256], tags_en[256], tags_zh[256];
    const char *domain;
} record;

static void make_record(record *r)
{
    int d = pick(N_OF(DOMAINS));
    r->domain = DOMAINS[d];
    const pair *c1 = PICK(COLORS), *c2 = PICK(COLORS), *t = PICK(THINGS), *t2 = PICK(THINGS),
               *pl = PICK(PLACES), *ch = PICK(CHARTS), *to = PICK(TOPICS), *di = PICK(DIMS),
               *ap = PICK(APPS), *ev = PICK(EVENTS);
    const char *city = CITIES[pick(N_OF(CITIES))];
    int n1 = 2 + pick(20), n2 = 2 + pick(8), year = 2015 + pick(10);
    switch (d) {
    case 0:
        snprintf(r->det_en, sizeof r->det_en,
                 "A photo of a %s %s and a %s in a %s. The dominant colours are %s and %s.",
                 c1->en, t->en, t2->en, pl->en, c1->en, c2->en);
        snprintf(r->det_zh, sizeof r->det_zh, "一张%s的照片，画面中有%s的%s和%s。主色调为%s和%s。",
                 pl->zh, c1->zh, t->zh, t2->zh, c1->zh, c2->zh);
        snprintf(r->short_en, sizeof r->short_en, "A %s %s in a %s.", c1->en, t->en, pl->en);
        snprintf(r->short_zh, sizeof r->short_zh, "%s里的%s%s。", pl->zh, c1->zh, t->zh);
        snprintf(r->tags_en, sizeof r->tags_en, "photo, %s, %s, %s, %s", t->en, t2->en, pl->en,
                 c1->en);
        snprintf(r->tags_zh, sizeof r->tags_zh, "照片, %s, %s, %s, %s", t->zh, t2->zh, pl->zh,
                 c1->zh);
        break;
    case 1:
        snprintf(r->det_en, sizeof r->det_en,
                 "A %s chart titled '%s by %s, %d'. The x axis shows %s, the y axis %s. %d "
                 "series in %s and %s.",
                 ch->en, to->en, di->en, year, di->en, to->en, n2, c1->en, c2->en);
        snprintf(r->det_zh, sizeof r->det_zh, "一张%s图，标题为「%d年各%s%s」。横轴为%s，纵轴为%s。",
                 ch->zh, year, di->zh, to->zh, di->zh, to->zh);
        snprintf(r->short_en, sizeof r->short_en, "A %s chart of %s by %s.", ch->en, to->en,
                 di->en);
        snprintf(r->short_zh, sizeof r->short_zh, "%s的%s图。", to->zh, ch->zh);
        snprintf(r->tags_en, sizeof r->tags_en, "chart, %s chart, %s, %s, graph", ch->en,
                 to->en, di->en);
        snprintf(r->tags_zh, sizeof r->tags_zh, "图表, %s图, %s, %s", ch->zh, to->zh, di->zh);
        break;
    case 2:
        snprintf(r->det_en, sizeof r->det_en,
                 "A table with %d rows and %d columns: %s, %s and %s in %s.", n1, n2 + 1,
                 di->en, to->en, "change", city);
        snprintf(r->det_zh, sizeof r->det_zh, "一个%d行%d列的表格，列为%s、%s和变化。", n1, n2 + 1,
                 di->zh, to->zh);
        snprintf(r->short_en, sizeof r->short_en, "A table of %s by %s.", to->en, di->en);
        snprintf(r->short_zh, sizeof r->short_zh, "按%s统计的%s表格。", di->zh, to->zh);
        snprintf(r->tags_en, sizeof r->tags_en, "table, %s, %s, %s", to->en, di->en, city);
        snprintf(r->tags_zh, sizeof r->tags_zh, "表格, %s, %s", to->zh, di->zh);
        break;
    case 3:
        snprintf(r->det_en, sizeof r->det_en,
                 "A document page about %s in %s with a heading, %d paragraphs and a list.",
                 to->en, city, n2);
        snprintf(r->det_zh, sizeof r->det_zh, "一页关于%s的文档，包含标题、%d个段落和一个列表。",
                 to->zh, n2);
        snprintf(r->short_en, sizeof r->short_en, "A document about %s.", to->en);
        snprintf(r->short_zh, sizeof r->short_zh, "关于%s的文档。", to->zh);
        snprintf(r->tags_en, sizeof r->tags_en, "document, text, page, %s", to->en);
        snprintf(r->tags_zh, sizeof r->tags_zh, "文档, 文字, 页面, %s", to->zh);
        break;
    case 4:
        snprintf(r->det_en, sizeof r->det_en,
                 "A screenshot of a %s app with a %s toolbar, %d buttons and a list of items.",
                 ap->en, c1->en, n1);
        snprintf(r->det_zh, sizeof r->det_zh, "一张%s应用的截图，有%s工具栏和%d个按钮。", ap->zh,
                 c1->zh, n1);
        snprintf(r->short_en, sizeof r->short_en, "A %s app screenshot.", ap->en);
        snprintf(r->short_zh, sizeof r->short_zh, "%s应用截图。", ap->zh);
        snprintf(r->tags_en, sizeof r->tags_en, "screenshot, user interface, %s, window",
                 ap->en);
        snprintf(r->tags_zh, sizeof r->tags_zh, "截图, 界面, %s, 窗口", ap->zh);
        break;
    default:
        snprintf(r->det_en, sizeof r->det_en,
                 "A %s poster announcing the %s in %s, %d May %d, with large title text.",
                 c1->en, ev->en, city, 1 + pick(28), year);
        snprintf(r->det_zh, sizeof r->det_zh, "一张%s海报，宣传在%s举办的%s，标题文字很大。",
                 c1->zh, city, ev->zh);
        snprintf(r->short_en, sizeof r->short_en, "A poster for the %s in %s.", ev->en, city);
        snprintf(r->short_zh, sizeof r->short_zh, "%s%s海报。", city, ev->zh);
        snprintf(r->tags_en, sizeof r->tags_en, "poster, %s, %s, event", ev->en, city);
        snprintf(r->tags_zh, sizeof r->tags_zh, "海报, %s, 活动", ev->zh);
        break;
    }
}

/* Queries people type: one to four words, in either language. */
static void make_query(char *q, size_t n)
{
    switch (pick(8)) {
    case 0: snprintf(q, n, "%s %s", PICK(COLORS)->en, PICK(THINGS)->en); break;
    case 1: snprintf(q, n, "%s chart %s", PICK(CHARTS)->en, PICK(TOPICS)->en); break;
    case 2: snprintf(q, n, "table of %s by %s", PICK(TOPICS)->en, PICK(DIMS)->en); break;
    case 3: snprintf(q, n, "%s poster %s", PICK(EVENTS)->en, CITIES[pick(N_OF(CITIES))]); break;
    case 4: snprintf(q, n, "%s%s", PICK(COLORS)->zh, PICK(THINGS)->zh); break;
    case 5: snprintf(q, n, "%s%s图", PICK(TOPICS)->zh, PICK(CHARTS)->zh); break;
    case 6: snprintf(q, n, "%s in the %s", PICK(THINGS)->en, PICK(PLACES)->en); break;
    default: snprintf(q, n, "%s截图", PICK(APPS)->zh); break;
    }
}

/* ---------------------------------------------------------- timing ---- */

/* CPU seconds of the whole process: on a shared, loaded machine wall time
 * includes waiting for a core; CPU time is what the work itself costs. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct lat {
    double p50, p99, mean, max;
} lat;

static lat summarise(double *ms, int n)
{
    lat l = {0};
    if (n <= 0)
        return l;
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    for (int i = 0; i < n; i++)
        l.mean += ms[i];
    l.mean /= n;
    l.p50 = ms[n / 2];
    int i99 = (int)(0.99 * (n - 1) + 0.5);
    l.p99 = ms[i99];
    l.max = ms[n - 1];
    return l;
}

static void print_lat(const char *name, lat l, lat cpu, bool comma)
{
    printf("      \"%s\": {\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"mean_ms\": %.3f, \"max_ms\": %.3f, "
           "\"cpu_p50_ms\": %.3f, \"cpu_p99_ms\": %.3f}%s\n",
           name, l.p50, l.p99, l.mean, l.max, cpu.p50, cpu.p99, comma ? "," : "");
}

/* ----------------------------------------------------------- build ---- */

static int fail(const char *what, const odx_err *e)
{
    fprintf(stderr, "bench_query: %s: %s\n", what, e->msg);
    return 1;
}

/* The ANN index, trained whatever the size (below the threshold auto
 * searches stay exact, but OMNIDEX_DENSE=ann measures it). */
static int build_ann(store *s, double *ann_s)
{
    odx_err e = {0};
    bool did = false;
    double t = core_now();
    if (store_ann_update(s, true, &did, &e) != ODX_OK)
        return fail("store_ann_update", &e);
    *ann_s = core_now() - t;
    return 0;
}

/* A kept index: the ANN index trained again (the code may have changed). */
static int retrain(const char *dir, double *ann_s)
{
    odx_err e = {0};
    store *w = NULL;
    if (store_open(dir, false, &w, &e) != ODX_OK)
        return fail("store_open", &e);
    int rc = build_ann(w, ann_s);
    store_close(w);
    return rc;
}

static int build(const char *dir, int n, int batch, double *build_s, double *build_cpu_s,
                 double *ann_s)
{
    odx_err e = {0};
    store *s = NULL;
    if (store_open(dir, false, &s, &e) != ODX_OK)
        return fail("store_open", &e);
    record r;
    float *vcap = malloc(sizeof(float) * EMB_DIM), *vtag = malloc(sizeof(float) * EMB_DIM);
    char *buf = malloc(4096);
    int rc = 1;
    if (!vcap || !vtag || !buf) {
        fprintf(stderr, "bench_query: out of memory\n");
        goto done;
    }
    double t0 = core_now(), c0 = cpu_now();
    rng_state = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    for (int i = 0; i < n; i += batch) {
        if (store_begin(s, &e) != ODX_OK) {
            fail("store_begin", &e);
            goto done;
        }
        for (int j = i; j < n && j < i + batch; j++) {
            make_record(&r);
            char key[32], hash[65], path[96], desc[64];
            snprintf(key, sizeof key, "bench-%d", j);
            core_sha256_hex(key, strlen(key), hash);
            snprintf(path, sizeof path, "/bench/%s/%07d.png", r.domain, j);
            snprintf(desc, sizeof desc, "{\"dhash\":\"%016llx\"}", (unsigned long long)rnd());
            snprintf(buf, 4096, "%s\n%s\n%s\n%s", r.det_en, r.short_en, r.det_zh, r.short_zh);
            emb_embed(buf, strlen(buf), vcap);
            snprintf(buf, 4096, "%s\n%s", r.tags_en, r.tags_zh);
            emb_embed(buf, strlen(buf), vtag);
            store_text texts[6] = {{"detailed", "en", r.det_en}, {"detailed", "zh", r.det_zh},
                                   {"short", "en", r.short_en},  {"short", "zh", r.short_zh},
                                   {"tags", "en", r.tags_en},    {"tags", "zh", r.tags_zh}};
            store_vec vecs[2] = {{"caption", vcap}, {"tags", vtag}};
            store_content c = {.desc_json = desc, .format = "png", .domain = r.domain,
                               .text_lang = "none", .domain_conf = 0.9f, .width = 800,
                               .height = 600, .engine_version = "bench",
                               .embedder = EMB_ID, .texts = texts, .n_texts = 6,
                               .vecs = vecs, .n_vecs = 2};
            /* the hashes of its crops and its grey grid, as the captioner
             * stores them */
            c.has_dhash_crops = true;
            for (int k = 0; k < STORE_N_DHASH_CROPS; k++)
                c.dhash_crops[k] = rnd();
            c.has_grey = true;
            for (int k = 0; k < STORE_GREY_N; k += 8) {
                uint64_t g = rnd();
                memcpy(c.grey + k, &g, 8);
            }
            if (store_content_put(s, hash, &c, &e) != ODX_OK ||
                store_image_put_ok(s, path, 12345, 1700000000000000000LL + j, hash, &e) !=
                    ODX_OK) {
                fail("store put", &e);
                store_rollback(s);
                goto done;
            }
        }
        if (store_commit(s, &e) != ODX_OK) {
            fail("store_commit", &e);
            goto done;
        }
    }
    if (store_save(s, &e) != ODX_OK) {
        fail("store_save", &e);
        goto done;
    }
    *build_s = core_now() - t0;
    *build_cpu_s = cpu_now() - c0;
    if (build_ann(s, ann_s) != 0)
        goto done;
    rc = 0;
done:
    store_close(s);
    free(vcap);
    free(vtag);
    free(buf);
    return rc;
}

/* ----------------------------------------------------------- query ---- */

/* A store handle whose dense search is fixed by OMNIDEX_DENSE (read by
 * store_open): "exact" or "ann". */
static odx_status open_dense(const char *dir, const char *mode, store **s, odx_err *e)
{
    setenv("OMNIDEX_DENSE", mode, 1);
    odx_status st = store_open(dir, true, s, e);
    unsetenv("OMNIDEX_DENSE");
    return st;
}

/* Tie-aware recall@k of hits a against exact hits x: the share of a's
 * first k that score at least x's k-th (copies score alike, so ids alone
 * would count a tie as a miss). */
static double dense_recall(const store_hit *a, int na, const store_hit *x, int nx, int k)
{
    if (nx < k)
        k = nx;
    if (k <= 0)
        return 1;
    double thr = x[k - 1].score;
    int hit = 0;
    for (int i = 0; i < k && i < na; i++)
        hit += a[i].score >= thr - 1e-5;
    return (double)hit / k;
}

/* The first k image ids of a search's results (0 past its end). */
static void result_ids(const odx_results *r, int k, int64_t *out)
{
    int n = odx_results_count(r);
    for (int i = 0; i < k; i++)
        out[i] = i < n ? odx_results_get(r, i)->image_id : 0;
}

/* recall@k of ids a against the exact hybrid's ids x (0: no result). */
static double ids_recall(const int64_t *a, const int64_t *x, int k)
{
    int nx = 0, hit = 0;
    while (nx < k && x[nx])
        nx++;
    if (nx == 0)
        return 1;
    for (int i = 0; i < nx; i++)
        for (int j = 0; a[i] && j < nx; j++)
            if (a[i] == x[j]) {
                hit++;
                break;
            }
    return (double)hit / nx;
}

/* Resident memory of this process in MB (VmRSS), -1 where unknown. */
static double rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    double mb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            mb = strtod(line + 6, NULL) / 1024.0;
    fclose(f);
    return mb;
}

/* A library handle with OMNIDEX_DENSE (and, unless NULL, OMNIDEX_LEXICAL)
 * set while it opens and searches: the caller unsets them. */
static odx_status open_db(const char *dir, const char *dense, odx_db **db, odx_err *e)
{
    odx_db_params dp = odx_db_params_default();
    dp.read_only = true;
    if (dense)
        setenv("OMNIDEX_DENSE", dense, 1);
    return odx_db_open(dir, &dp, db, e);
}

/* Every query through odx_search on db (warm-up pass, then timed when ms
 * is given), keeping the first k image ids of each. */
static int search_all(odx_db *db, char (*qs)[128], int n_queries, int n_warm, int k,
                      int64_t *ids, double *ms, double *cpu, long *total)
{
    odx_search_params sp = odx_search_params_default();
    sp.k = k;
    odx_err e = {0};
    for (int pass = ms ? 0 : 1; pass < 2; pass++) {
        for (int i = 0; i < (pass ? n_queries : n_warm); i++) {
            odx_results *res = NULL;
            double t = core_now(), c = cpu_now();
            if (odx_search(db, qs[i], &sp, &res, &e) != ODX_OK)
                return fail("odx_search", &e);
            if (ms) {
                ms[i] = (core_now() - t) * 1e3;
                cpu[i] = (cpu_now() - c) * 1e3;
            }
            if (pass) {
                result_ids(res, k, ids + (size_t)i * k);
                if (total)
                    *total += odx_results_count(res);
            }
            odx_results_free(res);
        }
    }
    return 0;
}

/* Queries per second of n_threads threads each running every query on
 * one handle (odx_search is thread-safe per odx_db): what a second core
 * adds to a server's throughput. */
typedef struct qps_arg {
    odx_db *db;
    char (*qs)[128];
    int n, k, rc;
} qps_arg;

static void *qps_thread(void *p)
{
    qps_arg *a = p;
    odx_search_params sp = odx_search_params_default();
    sp.k = a->k;
    for (int i = 0; i < a->n && a->rc == 0; i++) {
        odx_results *res = NULL;
        odx_err e = {0};
        if (odx_search(a->db, a->qs[i], &sp, &res, &e) != ODX_OK)
            a->rc = fail("odx_search (threads)", &e);
        odx_results_free(res);
    }
    return NULL;
}

static double qps_of(odx_db *db, char (*qs)[128], int n, int k, int n_threads)
{
    pthread_t th[8];
    qps_arg a[8];
    double t = core_now();
    int started = 0;
    for (int i = 0; i < n_threads && i < 8; i++) {
        a[i] = (qps_arg){db, qs, n, k, 0};
        if (pthread_create(&th[i], NULL, qps_thread, &a[i]) != 0)
            break;
        started++;
    }
    int rc = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        rc |= a[i].rc;
    }
    t = core_now() - t;
    return rc || started < n_threads || t <= 0 ? -1 : (double)started * n / t;
}

/* Dense recall and latency of the ANN index at multiples of the tuned
 * nprobe, against the exact hits of the same queries: what tuning chose
 * against what the queries of this run get. */
static int nprobe_sweep(store *sa, const float *qv, int n_queries, int fetch,
                        store_hit *const *hx, const int *nx)
{
    if (!sa->ann)
        return 0;
    size_t tuned = sa->ann_nprobe;
    static const double mult[] = {0.5, 1, 2, 4, 8};
    double *ms = malloc(sizeof(double) * (size_t)n_queries);
    if (!ms)
        return 1;
    printf("    \"nprobe_sweep\": [");
    for (int m = 0; m < (int)(sizeof mult / sizeof *mult); m++) {
        size_t np = (size_t)(tuned * mult[m] + 0.5);
        if (np < 1)
            np = 1;
        if (np > sa->ann_nlist)
            np = sa->ann_nlist;
        sa->ann_nprobe = np;
        double r10 = 0, rk = 0;
        for (int i = 0; i < n_queries; i++) {
            odx_err e = {0};
            store_hit *ha = NULL;
            int na = 0;
            double t = core_now();
            if (store_dense_search(sa, qv + (size_t)i * EMB_DIM, fetch, &ha, &na, &e) != ODX_OK) {
                free(ms);
                sa->ann_nprobe = tuned;
                return fail("store_dense_search (ANN)", &e);
            }
            ms[i] = (core_now() - t) * 1e3;
            r10 += dense_recall(ha, na, hx[i], nx[i], 10);
            rk += dense_recall(ha, na, hx[i], nx[i], fetch);
            free(ha);
        }
        lat l = summarise(ms, n_queries);
        printf("%s{\"nprobe\": %zu, \"dense_recall_at_10\": %.4f, \"dense_recall_at_%d\": %.4f, "
               "\"p50_ms\": %.3f, \"p99_ms\": %.3f}",
               m ? ", " : "", np, r10 / n_queries, fetch, rk / n_queries, l.p50, l.p99);
    }
    printf("],\n");
    sa->ann_nprobe = tuned;
    free(ms);
    return 0;
}

static void print_ann(const store_stats *st, double ann_s)
{
    printf("    \"dense_search\": \"%s\", \"ann_ntotal\": %lld, \"ann_nlist\": %lld, "
           "\"ann_nprobe\": %lld, \"ann_mb\": %.1f, \"ann_build_s\": %.2f,\n",
           st->dense_search, (long long)st->ann_ntotal, (long long)st->ann_nlist,
           (long long)st->ann_nprobe, st->ann_bytes / 1e6, ann_s);
}

/* Bytes per image: the database file, the vectors' floats, and each
 * table's and index's pages (store_table_bytes; left out when SQLite
 * lacks dbstat). */
typedef struct bytes_ctx {
    double n, rest;
    int i;
} bytes_ctx;

static void table_bytes(void *ctx, const char *name, int64_t bytes)
{
    bytes_ctx *c = ctx;
    if (strcmp(name, "vectors") != 0)
        c->rest += (double)bytes;
    printf("%s\"%s\": %.0f", c->i++ ? ", " : "", name, (double)bytes / c->n);
}

static void print_bytes(store *s, int64_t db_bytes, int64_t n_images, int64_t n_vectors)
{
    bytes_ctx c = {n_images > 0 ? (double)n_images : 1.0, 0, 0};
    printf("    \"db_bytes_per_image\": %.0f, \"vector_bytes_per_image\": %.0f,\n",
           (double)db_bytes / c.n, (double)n_vectors * EMB_DIM * sizeof(float) / c.n);
    printf("    \"table_bytes_per_image\": {");
    odx_err e = {0};
    odx_status rc = store_table_bytes(s, table_bytes, &c, &e);
    printf("},\n");
    if (rc == ODX_OK)
        printf("    \"db_bytes_per_image_beyond_vectors\": %.0f,\n", c.rest / c.n);
}

/* One size: the handles are opened one after another (each holds its own
 * copy of the vectors: four at once did not fit in memory at 1M images),
 * every query through each. */
static int run_size(int n, int n_queries, int k, int batch, const char *keep, bool last)
{
    char dir[4096];
    if (keep)
        snprintf(dir, sizeof dir, "%s/n%d", keep, n);
    else
        snprintf(dir, sizeof dir, "/tmp/odx_bench_query_%d_%d", (int)getpid(), n);
    mkdir(keep ? keep : "/tmp", 0755);
    double build_s = 0, build_cpu_s = 0, ann_s = 0;
    struct stat sb;
    bool reuse = keep && stat(dir, &sb) == 0;
    if (!reuse && build(dir, n, batch, &build_s, &build_cpu_s, &ann_s) != 0)
        return 1;
    if (reuse && retrain(dir, &ann_s) != 0)
        return 1;

    /* The same queries, prepared once for the raw paths: the vector the
     * retriever would embed and the MATCH it would build. */
    char (*qs)[128] = malloc((size_t)n_queries * sizeof *qs);
    float *qv = malloc((size_t)n_queries * EMB_DIM * sizeof(float));
    char **match = calloc((size_t)n_queries, sizeof *match);
    size_t nd = (size_t)n_queries;
    double *ms_search = calloc(nd, sizeof(double)), *cpu_search = calloc(nd, sizeof(double));
    double *ms_dense = calloc(nd, sizeof(double)), *cpu_dense = calloc(nd, sizeof(double));
    double *ms_fts = calloc(nd, sizeof(double)), *cpu_fts = calloc(nd, sizeof(double));
    double *ms_ann = calloc(nd, sizeof(double)), *cpu_ann = calloc(nd, sizeof(double));
    double *ms_ivf = calloc(nd, sizeof(double)), *ms_ivf_ref = calloc(nd, sizeof(double));
    double *cpu_ivf = calloc(nd, sizeof(double)), *cpu_ivf_ref = calloc(nd, sizeof(double));
    int64_t *ids = calloc(nd * (size_t)k, sizeof *ids), *ids_x = calloc(nd * (size_t)k, sizeof *ids);
    int64_t *ids_a = calloc(nd * (size_t)k, sizeof *ids);
    store_hit **hx = calloc(nd, sizeof *hx);
    int *nhx = calloc(nd, sizeof *nhx);
    int n_sim = n_queries < 50 ? n_queries : 50;
    double *ms_sim = calloc((size_t)n_sim, sizeof(double));
    double *cpu_sim = calloc((size_t)n_sim, sizeof(double));
    double *ms_scan = calloc((size_t)n_sim, sizeof(double));
    double *cpu_scan = calloc((size_t)n_sim, sizeof(double));
    odx_err e = {0};
    odx_db *db = NULL;
    store *s = NULL, *sa = NULL;
    int rc = 0;
    if (!qs || !qv || !match || !ms_search || !cpu_search || !ms_dense || !cpu_dense ||
        !ms_fts || !cpu_fts || !ms_ann || !cpu_ann || !ms_ivf || !ms_ivf_ref || !cpu_ivf || !cpu_ivf_ref || !ids || !ids_x || !ids_a || !hx || !nhx ||
        !ms_sim || !cpu_sim || !ms_scan || !cpu_scan) {
        rc = 1;
        fprintf(stderr, "bench_query: out of memory\n");
        goto done;
    }
    rng_state = 0xD1B54A32D192ED03ull;
    for (int i = 0; i < n_queries; i++) {
        make_query(qs[i], sizeof qs[i]);
        emb_embed(qs[i], strlen(qs[i]), qv + (size_t)i * EMB_DIM);
        emb_query eq;
        if (emb_query_parse(qs[i], &eq, NULL) == ODX_OK) {
            match[i] = emb_query_fts(&eq);
            emb_query_free(&eq);
        }
    }
    /* the retriever's over-fetch for k (see ret_search) */
    int fetch = k * 5 < 100 ? 100 : k * 5;
    /* pass 0 warms the page cache and SQLite's cache on the first queries
     * (a full warm pass doubles the run time at 100k for no change) */
    int n_warm = n_queries < 20 ? n_queries : 20;
    long total_results = 0, total_dense = 0, total_fts = 0;

    /* 1. odx_search as a server runs it (dense search chosen by size) */
    double t_open = core_now();
    if (open_db(dir, NULL, &db, &e) != ODX_OK) {
        rc = fail("odx_db_open", &e);
        goto done;
    }
    t_open = core_now() - t_open;
    if ((rc = search_all(db, qs, n_queries, n_warm, k, ids, ms_search, cpu_search,
                         &total_results)) != 0)
        goto done;
    /* search by example: odx_similar of stored images (its scan of every
     * picture's hashes included) */
    odx_search_params sp = odx_search_params_default();
    sp.k = k;
    store_stats st = {0}, sta = {0};
    {
        char *sj = NULL;
        long long n_img = 0;
        if (odx_stats_json(db, &sj, &e) != ODX_OK || !sj) {
            rc = fail("odx_stats_json", &e);
            goto done;
        }
        const char *d = strstr(sj, "\"images\"");
        d = d ? strchr(d, ':') : NULL;
        n_img = d ? strtoll(d + 1, NULL, 10) : 0;
        odx_free(sj);
        for (int i = 0; i < n_sim && n_img > 0; i++) {
            char ref[32];
            snprintf(ref, sizeof ref, "#%lld", 1 + (long long)(rnd() % (uint64_t)n_img));
            odx_results *res = NULL;
            double t = core_now(), c = cpu_now();
            if (odx_similar(db, ref, &sp, &res, &e) != ODX_OK) {
                rc = fail("odx_similar", &e);
                goto done;
            }
            ms_sim[i] = (core_now() - t) * 1e3;
            cpu_sim[i] = (cpu_now() - c) * 1e3;
            odx_results_free(res);
        }
    }
    /* what the timed handle's automatic choice used */
    char db_dense[16] = "?";
    {
        char *sj = NULL;
        if (odx_stats_json(db, &sj, NULL) == ODX_OK && sj) {
            const char *d = strstr(sj, "\"dense_search\"");
            d = d ? strchr(d + 14, ':') : NULL;
            d = d ? strchr(d, '"') : NULL;
            if (d)
                sscanf(d + 1, "%15[a-z]", db_dense);
        }
        odx_free(sj);
    }
    double server_rss = rss_mb();
    double qps1 = qps_of(db, qs, n_queries, k, 1), qps2 = qps_of(db, qs, n_queries, k, 2);
    odx_db_close(db);
    db = NULL;

    /* 2. the exact hybrid: exact dense, the same scoring (FTS5 gives the
     * lexical index's rows and scores: tested bit for bit, and it spares
     * building the index again) */
    char lex_main[32];
    snprintf(lex_main, sizeof lex_main, "%s", getenv("OMNIDEX_LEXICAL"));
    setenv("OMNIDEX_LEXICAL", "fts5", 1);
    rc = open_db(dir, "exact", &db, &e) != ODX_OK
             ? fail("odx_db_open (exact)", &e)
             : search_all(db, qs, n_queries, n_warm, k, ids_x, NULL, NULL, NULL);
    odx_db_close(db);
    db = NULL;
    /* 3. ANN whatever the size: the same handle as 1 where it chose ANN */
    bool ann_is_auto = strcmp(db_dense, "ivf") == 0;
    if (rc == 0 && !ann_is_auto) {
        rc = open_db(dir, "ann", &db, &e) != ODX_OK
                 ? fail("odx_db_open (ann)", &e)
                 : search_all(db, qs, n_queries, n_warm, k, ids_a, NULL, NULL, NULL);
        odx_db_close(db);
        db = NULL;
    }
    unsetenv("OMNIDEX_DENSE");
    setenv("OMNIDEX_LEXICAL", lex_main, 1);
    if (rc != 0)
        goto done;
    double rec_hybrid = 0, rec_hybrid_ann = 0;
    for (int i = 0; i < n_queries; i++) {
        rec_hybrid += ids_recall(ids + (size_t)i * k, ids_x + (size_t)i * k, k);
        rec_hybrid_ann += ids_recall((ann_is_auto ? ids : ids_a) + (size_t)i * k,
                                     ids_x + (size_t)i * k, k);
    }

    /* 4. raw exact FAISS and raw FTS5 on one store handle, the picture-hash
     * scan, the bytes */
    if (open_dense(dir, "exact", &s, &e) != ODX_OK) {
        rc = fail("store_open (exact)", &e);
        goto done;
    }
    store_get_stats(s, &st, &e);
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (int i = 0; i < (pass ? n_queries : n_warm); i++) {
            store_hit *hits = NULL;
            int nh = 0;
            double t = core_now(), c = cpu_now();
            if (store_dense_search(s, qv + (size_t)i * EMB_DIM, fetch, &hits, &nh, &e) != ODX_OK) {
                rc = fail("store_dense_search", &e);
                break;
            }
            ms_dense[i] = (core_now() - t) * 1e3;
            cpu_dense[i] = (cpu_now() - c) * 1e3;
            if (pass) {
                total_dense += nh;
                hx[i] = hits;
                nhx[i] = nh;
            } else {
                free(hits);
            }
            ms_fts[i] = cpu_fts[i] = 0;
            if (match[i]) {
                hits = NULL;
                nh = 0;
                t = core_now();
                c = cpu_now();
                if (store_fts_search(s, match[i], fetch * 2, &hits, &nh, &e) != ODX_OK) {
                    rc = fail("store_fts_search", &e);
                    break;
                }
                ms_fts[i] = (core_now() - t) * 1e3;
                cpu_fts[i] = (cpu_now() - c) * 1e3;
                free(hits);
                if (pass)
                    total_fts += nh;
            }
        }
    }
    for (int i = 0; i < n_sim && rc == 0; i++) {
        uint64_t probe = rnd();
        store_dhash_row *rows = NULL;
        int nr = 0;
        double t = core_now(), c = cpu_now();
        if (store_dhash_scan(s, scan_rank, &probe, 64, &rows, &nr, &e) != ODX_OK) {
            rc = fail("store_dhash_scan", &e);
            break;
        }
        ms_scan[i] = (core_now() - t) * 1e3;
        cpu_scan[i] = (cpu_now() - c) * 1e3;
        free(rows);
    }
    if (rc != 0)
        goto done;
    printf("  {\n    \"n_images\": %lld, \"vectors\": %lld, \"faiss_ntotal\": %lld, "
           "\"index_type\": \"%s\",\n",
           (long long)st.n_images, (long long)st.n_vectors, (long long)st.faiss_ntotal,
           st.index_type);
    printf("    \"build_s\": %.2f, \"build_cpu_s\": %.2f, \"reused_index\": %s, \"open_s\": %.3f, "
           "\"db_mb\": %.1f, \"faiss_mb\": %.1f, \"server_rss_mb\": %.0f,\n",
           build_s, build_cpu_s, reuse ? "true" : "false", t_open, st.db_bytes / 1e6,
           st.faiss_bytes / 1e6, server_rss);
    print_bytes(s, st.db_bytes, st.n_images, st.n_vectors);
    store_close(s);
    s = NULL;

    /* 5. raw ANN against the exact hits kept from 4 */
    if (open_dense(dir, "ann", &sa, &e) != ODX_OK) {
        rc = fail("store_open (ann)", &e);
        goto done;
    }
    store_get_stats(sa, &sta, &e);
    double rec10 = 0, rec100 = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (int i = 0; i < (pass ? n_queries : n_warm); i++) {
            store_hit *ha = NULL;
            int na = 0;
            double t = core_now(), c = cpu_now();
            if (store_dense_search(sa, qv + (size_t)i * EMB_DIM, fetch, &ha, &na, &e) != ODX_OK) {
                rc = fail("store_dense_search (ANN)", &e);
                break;
            }
            ms_ann[i] = (core_now() - t) * 1e3;
            cpu_ann[i] = (cpu_now() - c) * 1e3;
            /* the IVF scan alone, ours and FAISS's, at the same nprobe */
            if (sa->ann) {
                float dist[1000];
                idx_t lab[1000];
                int kk = fetch < 1000 ? fetch : 1000;
                const float *qi = qv + (size_t)i * EMB_DIM;
                t = core_now();
                c = cpu_now();
                store_ivf_search(sa->ann, 1, qi, kk, sa->ann_nprobe, dist, lab);
                ms_ivf[i] = (core_now() - t) * 1e3;
                cpu_ivf[i] = (cpu_now() - c) * 1e3;
                t = core_now();
                c = cpu_now();
                store_ivf_search_ref(sa->ann, 1, qi, kk, sa->ann_nprobe, dist, lab);
                ms_ivf_ref[i] = (core_now() - t) * 1e3;
                cpu_ivf_ref[i] = (cpu_now() - c) * 1e3;
            }
            if (pass) {
                rec10 += dense_recall(ha, na, hx[i], nhx[i], 10);
                rec100 += dense_recall(ha, na, hx[i], nhx[i], fetch);
            }
            free(ha);
        }
    }
    if (rc != 0)
        goto done;
    printf("    \"queries\": %d, \"warmup_queries\": %d, \"k\": %d, \"raw_fetch\": %d, \"mean_results\": %.1f, "
           "\"mean_dense_hits\": %.1f, \"mean_fts_hits\": %.1f,\n",
           n_queries, n_warm, k, fetch, (double)total_results / n_queries,
           (double)total_dense / n_queries, (double)total_fts / n_queries);
    printf("    \"example_queries\": [\"%s\", \"%s\", \"%s\"],\n", qs[0], qs[1 % n_queries],
           qs[2 % n_queries]);
    print_ann(&sta, ann_s);
    if (nprobe_sweep(sa, qv, n_queries, fetch, hx, nhx) != 0) {
        rc = 1;
        goto done;
    }
    printf("    \"qps_1_thread\": %.1f, \"qps_2_threads\": %.1f, \"thread_scaling\": %.2f,\n",
           qps1, qps2, qps1 > 0 && qps2 > 0 ? qps2 / qps1 : -1.0);
    printf("    \"recall_at_10\": %.4f, \"recall_at_10_ann_forced\": %.4f, "
           "\"dense_recall_at_10\": %.4f, \"dense_recall_at_%d\": %.4f, "
           "\"odx_search_dense\": \"%s\",\n",
           rec_hybrid / n_queries, rec_hybrid_ann / n_queries, rec10 / n_queries, fetch,
           rec100 / n_queries, db_dense);
    printf("    \"latency\": {\n");
    print_lat("odx_search", summarise(ms_search, n_queries), summarise(cpu_search, n_queries),
              true);
    print_lat("raw_faiss", summarise(ms_dense, n_queries), summarise(cpu_dense, n_queries),
              true);
    print_lat("raw_faiss_ann", summarise(ms_ann, n_queries), summarise(cpu_ann, n_queries),
              true);
    print_lat("raw_fts5", summarise(ms_fts, n_queries), summarise(cpu_fts, n_queries), true);
    printf("      \"ivf_scan_kernel\": \"%s\",\n", vec_dots_kernel());
    print_lat("ivf_scan", summarise(ms_ivf, n_queries), summarise(cpu_ivf, n_queries), true);
    print_lat("ivf_scan_faiss", summarise(ms_ivf_ref, n_queries),
              summarise(cpu_ivf_ref, n_queries), true);
    print_lat("odx_similar", summarise(ms_sim, n_sim), summarise(cpu_sim, n_sim), true);
    print_lat("dhash_scan", summarise(ms_scan, n_sim), summarise(cpu_scan, n_sim), false);
    printf("    }\n  }%s\n", last ? "" : ",");
    fflush(stdout);
done:
    for (int i = 0; match && i < n_queries; i++)
        free(match[i]);
    for (int i = 0; hx && i < n_queries; i++)
        free(hx[i]);
    free(match);
    free(hx);
    free(nhx);
    free(qs);
    free(qv);
    free(ms_search);
    free(cpu_search);
    free(ms_dense);
    free(cpu_dense);
    free(ms_fts);
    free(cpu_fts);
    free(ms_ann);
    free(cpu_ann);
    free(ms_ivf);
    free(ms_ivf_ref);
    free(cpu_ivf);
    free(cpu_ivf_ref);
    free(ids);
    free(ids_x);
    free(ids_a);
    free(ms_sim);
    free(cpu_sim);
    free(ms_scan);
    free(cpu_scan);
    store_close(s);
    store_close(sa);
    odx_db_close(db);
    if (!keep) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_query: could not remove %s\n", dir);
    }
    return rc;
}

/* ------------------------------------------------- vectors only ---- */

static double gauss(void)
{
    double u = ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
    double v = ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* A point of cluster c (centres fixed by c): centre + noise of 0.8 of its
 * length, normalised (in-cluster cosine ~0.6, across ~0). */
static void cluster_point(float *v, int c)
{
    uint64_t keep = rng_state;
    rng_state = 0xC0FFEEULL + (uint64_t)c * 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < EMB_DIM; i++)
        v[i] = (float)(gauss() / sqrt((double)EMB_DIM));
    rng_state = keep;
    double nn = 0;
    for (int i = 0; i < EMB_DIM; i++) {
        v[i] += (float)(0.8 * gauss() / sqrt((double)EMB_DIM));
        nn += (double)v[i] * v[i];
    }
    for (int i = 0; i < EMB_DIM; i++)
        v[i] = (float)(v[i] / sqrt(nn));
}

/* N clustered vectors (two per content, 100 per cluster), no captions:
 * dense search alone, exact against ANN, at sizes a caption index of this
 * machine cannot reach in a session. */
static int run_vectors(int n, int n_queries, int k, int batch, const char *keep, bool last)
{
    char dir[4096];
    if (keep)
        snprintf(dir, sizeof dir, "%s/v%d", keep, n);
    else
        snprintf(dir, sizeof dir, "/tmp/odx_bench_vectors_%d_%d", (int)getpid(), n);
    mkdir(keep ? keep : "/tmp", 0755);
    int n_clusters = n / 100 > 16 ? n / 100 : 16;
    struct stat sb;
    bool reuse = keep && stat(dir, &sb) == 0;
    double build_s = 0, ann_s = 0;
    odx_err e = {0};
    float *v = malloc(sizeof(float) * EMB_DIM * 2);
    if (!v)
        return 1;
    if (reuse && retrain(dir, &ann_s) != 0) {
        free(v);
        return 1;
    }
    if (!reuse) {
        store *w = NULL;
        if (store_open(dir, false, &w, &e) != ODX_OK) {
            free(v);
            return fail("store_open", &e);
        }
        double t0 = core_now();
        rng_state = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
        int rc = 0;
        for (int i = 0; i < n / 2 && rc == 0; i += batch) {
            if (store_begin(w, &e) != ODX_OK) {
                rc = fail("store_begin", &e);
                break;
            }
            for (int j = i; j < n / 2 && j < i + batch; j++) {
                char key[32], hash[65];
                snprintf(key, sizeof key, "vec-%d", j);
                core_sha256_hex(key, strlen(key), hash);
                int c = pick(n_clusters);
                cluster_point(v, c);
                cluster_point(v + EMB_DIM, c);
                store_vec vecs[2] = {{"caption", v}, {"tags", v + EMB_DIM}};
                store_content ct = {.desc_json = "{}", .format = "png", .domain = "photo",
                                    .engine_version = "bench", .embedder = EMB_ID,
                                    .vecs = vecs, .n_vecs = 2};
                if (store_content_put(w, hash, &ct, &e) != ODX_OK) {
                    rc = fail("store_content_put", &e);
                    store_rollback(w);
                    break;
                }
            }
            if (rc == 0 && store_commit(w, &e) != ODX_OK)
                rc = fail("store_commit", &e);
        }
        if (rc == 0 && store_save(w, &e) != ODX_OK)
            rc = fail("store_save", &e);
        build_s = core_now() - t0;
        if (rc == 0)
            rc = build_ann(w, &ann_s);
        store_close(w);
        if (rc != 0) {
            free(v);
            return rc;
        }
    }
    store *s = NULL, *sa = NULL;
    if (open_dense(dir, "exact", &s, &e) != ODX_OK || open_dense(dir, "ann", &sa, &e) != ODX_OK) {
        store_close(s);
        free(v);
        return fail("store_open (read-only)", &e);
    }
    store_stats st = {0}, sta = {0};
    store_get_stats(s, &st, &e);
    store_get_stats(sa, &sta, &e);
    int fetch = k * 5 < 100 ? 100 : k * 5;
    double *ms_x = malloc(sizeof(double) * (size_t)n_queries * 4);
    double *ms_a = ms_x + n_queries, *ms_x10 = ms_a + n_queries, *ms_a10 = ms_x10 + n_queries;
    double rec10 = 0, rec100 = 0;
    int rc = ms_x ? 0 : 1;
    rng_state = 0xD1B54A32D192ED03ull;
    for (int i = 0; i < n_queries && rc == 0; i++) {
        cluster_point(v, pick(n_clusters)); /* a fresh point, not a stored one */
        store_hit *hx = NULL, *ha = NULL, *hx10 = NULL, *ha10 = NULL;
        int nx = 0, na = 0, nx10 = 0, na10 = 0;
        double t0 = core_now();
        odx_status a = store_dense_search(s, v, fetch, &hx, &nx, &e);
        double t1 = core_now();
        odx_status b = a == ODX_OK ? store_dense_search(sa, v, fetch, &ha, &na, &e) : a;
        double t2 = core_now();
        odx_status c = b == ODX_OK ? store_dense_search(s, v, 10, &hx10, &nx10, &e) : b;
        double t3 = core_now();
        odx_status d = c == ODX_OK ? store_dense_search(sa, v, 10, &ha10, &na10, &e) : c;
        double t4 = core_now();
        if (d != ODX_OK) {
            rc = fail("store_dense_search", &e);
        } else {
            ms_x[i] = (t1 - t0) * 1e3;
            ms_a[i] = (t2 - t1) * 1e3;
            ms_x10[i] = (t3 - t2) * 1e3;
            ms_a10[i] = (t4 - t3) * 1e3;
            rec10 += dense_recall(ha10, na10, hx10, nx10, 10);
            rec100 += dense_recall(ha, na, hx, nx, fetch);
        }
        free(hx);
        free(ha);
        free(hx10);
        free(ha10);
    }
    if (rc == 0) {
        lat none = {0};
        printf("  {\n    \"vectors_only\": true, \"vectors\": %lld, \"clusters\": %d, "
               "\"faiss_ntotal\": %lld, \"build_s\": %.2f, \"reused_index\": %s, "
               "\"faiss_mb\": %.1f,\n",
               (long long)st.n_vectors, n_clusters, (long long)st.faiss_ntotal, build_s,
               reuse ? "true" : "false", st.faiss_bytes / 1e6);
        print_ann(&sta, ann_s);
        printf("    \"queries\": %d, \"fetch\": %d, \"recall_at_10\": %.4f, "
               "\"recall_at_%d\": %.4f,\n    \"latency\": {\n",
               n_queries, fetch, rec10 / n_queries, fetch, rec100 / n_queries);
        char name[40];
        snprintf(name, sizeof name, "exact_k%d", fetch);
        print_lat(name, summarise(ms_x, n_queries), none, true);
        snprintf(name, sizeof name, "ann_k%d", fetch);
        print_lat(name, summarise(ms_a, n_queries), none, true);
        print_lat("exact_k10", summarise(ms_x10, n_queries), none, true);
        print_lat("ann_k10", summarise(ms_a10, n_queries), none, false);
        printf("    }\n  }%s\n", last ? "" : ",");
        fflush(stdout);
    }
    free(ms_x);
    free(v);
    store_close(s);
    store_close(sa);
    if (!keep) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_query: could not remove %s\n", dir);
    }
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: bench_query [--n N]... [--vectors N]... [--queries Q] [--k K] [--batch B]\n"
               "                   [--keep DIR]\n"
               "Builds N synthetic caption records (default: 10000 and 100000), then times\n"
               "odx_search, raw FAISS (store_dense_search, exact and ANN) and raw FTS5\n"
               "(store_fts_search) over Q queries (default 200) after a warm-up on the first 20;\n"
               "recall_at_10 is odx_search's against the exact hybrid (OMNIDEX_DENSE=exact),\n"
               "recall_at_10_ann_forced the same with the ANN index whatever the size (the\n"
               "first handle's where it chose ANN); server_rss_mb is the process's resident\n"
               "memory after odx_search's queries on one handle.\n"
               "--vectors N builds N clustered vectors only and times exact against ANN dense\n"
               "search (recall_at_10: ANN against exact). --keep DIR keeps (and reuses) the\n"
               "indexes under DIR. Run with OMP_WAIT_POLICY=PASSIVE. odx_search uses the\n"
               "in-memory lexical index from the first query (OMNIDEX_LEXICAL=index, a\n"
               "server's steady state) unless OMNIDEX_LEXICAL is set.\n");
}

int main(int argc, char **argv)
{
    int sizes[8], n_sizes = 0, n_queries = 200, k = 10, batch = 5000, vsizes[8], n_vsizes = 0;
    const char *keep = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        long x = strtol(v, NULL, 10);
        if (strcmp(a, "--n") == 0 && n_sizes < 8 && x > 0 && x <= 10000000)
            sizes[n_sizes++] = (int)x;
        else if (strcmp(a, "--vectors") == 0 && n_vsizes < 8 && x > 1 && x <= 20000000)
            vsizes[n_vsizes++] = (int)x;
        else if (strcmp(a, "--queries") == 0 && x > 0 && x <= 100000)
            n_queries = (int)x;
        else if (strcmp(a, "--k") == 0 && x > 0 && x <= 1000)
            k = (int)x;
        else if (strcmp(a, "--batch") == 0 && x > 0 && x <= 100000)
            batch = (int)x;
        else if (strcmp(a, "--keep") == 0)
            keep = v;
        else {
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (n_sizes == 0 && n_vsizes == 0) {
        sizes[0] = 10000;
        sizes[1] = 100000;
        n_sizes = 2;
    }
    odx_log_set(NULL, NULL, 1);
    /* A server's steady state: its lexical index built (the default policy
     * moves a handle to it only after FTS5 searches have cost a build, which
     * a few hundred queries at 100k do not reach). OMNIDEX_LEXICAL=fts5 or
     * auto measures the other engines; raw_fts5 is timed either way. */
    if (!getenv("OMNIDEX_LEXICAL"))
        setenv("OMNIDEX_LEXICAL", "index", 1);
    const char *omp = getenv("OMP_THREAD_LIMIT"), *wait = getenv("OMP_WAIT_POLICY");
    printf("{\n\"bench\": \"query\", \"cpus\": %d, \"OMP_THREAD_LIMIT\": \"%s\", "
           "\"OMP_WAIT_POLICY\": \"%s\", \"OMNIDEX_LEXICAL\": \"%s\", \"embedder\": \"%s\", "
           "\"dim\": %d,\n\"runs\": [\n",
           core_n_cpus(), omp ? omp : "", wait ? wait : "", getenv("OMNIDEX_LEXICAL"), EMB_ID,
           EMB_DIM);
    int rc = 0;
    for (int i = 0; i < n_sizes && rc == 0; i++)
        rc = run_size(sizes[i], n_queries, k, batch, keep, i == n_sizes - 1 && n_vsizes == 0);
    for (int i = 0; i < n_vsizes && rc == 0; i++)
        rc = run_vectors(vsizes[i], n_queries, k, batch, keep, i == n_vsizes - 1);
    printf("]\n}\n");
    return rc;
}

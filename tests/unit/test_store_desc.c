/* test_store_desc.c - storage: description records (store_desc.c) and the
 * migration to schema 4. A description packed with its caption rows reads
 * back byte for byte, smaller, with the repeated texts taken out; JSON
 * that cannot be put back exactly is kept whole; damage and missing rows
 * are ODX_ERR_CORRUPT. A schema-3 database (made here with the version-3
 * SQL, frozen below) opens, migrates, and gives back its descriptions,
 * difference hashes, captions, search hits and vectors; check finds
 * nothing. */
#include "check.h"
#include "embedder.h"
#include "storage_int.h"

#include <cjson/cJSON.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void rmtree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

/* A description shaped like cap_desc_to_json's, captions matching rows. */
static const char DESC[] =
    "{\"engine\":\"native-12\",\"format\":\"png\",\"width\":800,\"height\":500,"
    "\"dhash\":\"a88686ceccc4c4d4\",\"domain\":\"chart\",\"domain_conf\":0.75,"
    "\"features\":{\"brightness\":0.831,\"contrast\":0.526},"
    "\"colors\":[{\"name\":\"white\",\"name_zh\":\"\xe7\x99\xbd\xe8\x89\xb2\","
    "\"share\":0.705,\"rgb\":\"#fefefe\"}],"
    "\"ocr\":{\"ran\":true,\"lang\":\"en\",\"conf\":97.643,\"text\":\"Monthly rainfall\\n80\","
    "\"lines\":[{\"text\":\"Monthly rainfall\",\"conf\":99.671,\"box\":[271,38,279,19]}]},"
    "\"structure\":{\"title\":\"Monthly rainfall\"},\"objects\":{\"ran\":false,\"detections\":[]},"
    "\"captions\":{\"en\":{\"detailed\":\"A bar chart titled 'Monthly rainfall'.\","
    "\"short\":\"A bar chart.\",\"tags\":[\"chart\",\"bar chart\",\"Monthly rainfall\"]},"
    "\"zh\":{\"detailed\":\"\xe4\xb8\x80\xe5\xbc\xa0\xe6\x9f\xb1\xe7\x8a\xb6\xe5\x9b\xbe\","
    "\"short\":\"\xe6\x9f\xb1\xe7\x8a\xb6\xe5\x9b\xbe\",\"tags\":[\"\xe5\x9b\xbe\xe8\xa1\xa8\"]}},"
    "\"timing_ms\":{\"decode\":1.5,\"total\":30.25}}";

static const store_text ROWS[] = {
    {"detailed", "en", "A bar chart titled 'Monthly rainfall'."},
    {"short", "en", "A bar chart."},
    {"tags", "en", "chart, bar chart, Monthly rainfall"},
    {"detailed", "zh", "\xe4\xb8\x80\xe5\xbc\xa0\xe6\x9f\xb1\xe7\x8a\xb6\xe5\x9b\xbe"},
    {"short", "zh", "\xe6\x9f\xb1\xe7\x8a\xb6\xe5\x9b\xbe"},
    {"tags", "zh", "\xe5\x9b\xbe\xe8\xa1\xa8"},
    {"ocr", "en", "Monthly rainfall\n80"},
    {"structure", "en", "Title: Monthly rainfall\n"},
};
#define N_ROWS ((int)(sizeof ROWS / sizeof ROWS[0]))

static char *roundtrip(const char *json, const store_text *t, int n, size_t *z_len,
                       int *flags)
{
    unsigned char *z = NULL;
    bool has = false;
    uint64_t dh = 0;
    odx_err e = {0};
    char *back = NULL;
    CHECK(store_desc_pack(json, t, n, &z, z_len, &has, &dh, &e) == ODX_OK);
    if (!z)
        return NULL;
    *flags = z[2];
    CHECK(store_desc_header_ok(z, *z_len));
    CHECK(store_desc_unpack(z, *z_len, t, n, &back, &e) == ODX_OK);
    free(z);
    return back;
}

static void test_pack(void)
{
    size_t z_len = 0;
    int flags = -1;
    char *back = roundtrip(DESC, ROWS, N_ROWS, &z_len, &flags);
    CHECK(back && strcmp(back, DESC) == 0);
    CHECK_MSG(flags == 1, "flags %d: the captions were not taken out", flags);
    CHECK_MSG(z_len * 2 < sizeof DESC, "%zu bytes packed of %zu", z_len, sizeof DESC);
    free(back);

    /* the difference hash is read out of the JSON */
    unsigned char *z = NULL;
    bool has = false;
    uint64_t dh = 0;
    odx_err e = {0};
    CHECK(store_desc_pack(DESC, ROWS, N_ROWS, &z, &z_len, &has, &dh, &e) == ODX_OK);
    CHECK(has && dh == 0xa88686ceccc4c4d4ULL);

    /* the rows it names are needed to read it back: without the English
     * short caption it is damage, not a silent hole */
    store_text fewer[N_ROWS];
    int n_fewer = 0;
    for (int i = 0; i < N_ROWS; i++)
        if (!(strcmp(ROWS[i].kind, "short") == 0 && strcmp(ROWS[i].lang, "en") == 0))
            fewer[n_fewer++] = ROWS[i];
    char *out = NULL;
    CHECK(store_desc_unpack(z, z_len, fewer, n_fewer, &out, &e) == ODX_ERR_CORRUPT);
    CHECK(out == NULL);

    /* a flipped byte inside the stream, a cut record, a bad header */
    for (size_t at = 8; at < z_len; at += 7) {
        z[at] ^= 0x20;
        out = NULL;
        odx_status rc = store_desc_unpack(z, z_len, ROWS, N_ROWS, &out, &e);
        /* deflate may decode a flipped literal; Adler-32 still catches it */
        CHECK_MSG(rc == ODX_ERR_CORRUPT, "flip at %zu: %d", at, (int)rc);
        free(out);
        z[at] ^= 0x20;
    }
    CHECK(store_desc_unpack(z, z_len - 3, ROWS, N_ROWS, &out, &e) == ODX_ERR_CORRUPT);
    z[0] ^= 1;
    CHECK(!store_desc_header_ok(z, z_len));
    CHECK(store_desc_unpack(z, z_len, ROWS, N_ROWS, &out, &e) == ODX_ERR_CORRUPT);
    free(z);

    /* captions that differ from the rows stay in the record */
    store_text other[N_ROWS];
    memcpy(other, ROWS, sizeof other);
    other[0].text = "Another text.";
    other[2].text = "chart, bar chart"; /* a tags row that is not the list */
    back = roundtrip(DESC, other, N_ROWS, &z_len, &flags);
    CHECK(back && strcmp(back, DESC) == 0);
    free(back);

    /* tags that would not split back (an element with ", ") stay too */
    const char *comma = "{\"captions\":{\"en\":{\"tags\":[\"a, b\",\"c\"]}}}";
    store_text tr = {"tags", "en", "a, b, c"};
    back = roundtrip(comma, &tr, 1, &z_len, &flags);
    CHECK(back && strcmp(back, comma) == 0);
    CHECK(flags == 0);
    free(back);

    /* JSON cJSON would print otherwise, or a null where a row goes, is
     * kept whole: the bytes given come back */
    const char *spaced = "{ \"captions\" : {\"en\":{\"short\":\"A bar chart.\"}} }";
    back = roundtrip(spaced, ROWS, N_ROWS, &z_len, &flags);
    CHECK(back && strcmp(back, spaced) == 0);
    CHECK(flags == 0);
    free(back);
    const char *nul = "{\"captions\":{\"en\":{\"short\":null,\"detailed\":"
                      "\"A bar chart titled 'Monthly rainfall'.\"}}}";
    back = roundtrip(nul, ROWS, N_ROWS, &z_len, &flags);
    CHECK(back && strcmp(back, nul) == 0);
    free(back);
    back = roundtrip("{}", NULL, 0, &z_len, &flags);
    CHECK(back && strcmp(back, "{}") == 0);
    free(back);

    /* not JSON: refused (the writer never stores it) */
    CHECK(store_desc_pack("{\"a\":", ROWS, N_ROWS, &z, &z_len, &has, &dh, &e) ==
          ODX_ERR_INVALID);
}

/* The schema of version 3, as omnidex made it (store_schema.c before
 * version 4), with the meta rows of a database at that version. */
static const char V3[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
    "CREATE TABLE roots(path BLOB PRIMARY KEY, added_at INTEGER NOT NULL);"
    "CREATE TABLE content("
    " hash TEXT PRIMARY KEY, width INTEGER, height INTEGER, format TEXT,"
    " domain TEXT, domain_conf REAL, chart_type TEXT, text_lang TEXT,"
    " taken_at TEXT, engine_version TEXT NOT NULL DEFAULT '',"
    " embedder TEXT NOT NULL DEFAULT '', desc_json TEXT,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE images("
    " id INTEGER PRIMARY KEY, path BLOB UNIQUE NOT NULL, size INTEGER,"
    " mtime_ns INTEGER, hash TEXT,"
    " status TEXT NOT NULL CHECK(status IN ('ok','error')),"
    " err_stage TEXT, err_reason TEXT, indexed_at INTEGER NOT NULL);"
    "CREATE INDEX images_hash ON images(hash);"
    "CREATE TABLE captions("
    " id INTEGER PRIMARY KEY, hash TEXT NOT NULL REFERENCES content(hash),"
    " kind TEXT NOT NULL, lang TEXT NOT NULL, text TEXT NOT NULL,"
    " source TEXT NOT NULL DEFAULT 'native');"
    "CREATE INDEX captions_hash ON captions(hash);"
    "CREATE VIRTUAL TABLE captions_fts USING fts5("
    " text, content='captions', content_rowid='id', tokenize='odx');"
    "CREATE TRIGGER captions_ai AFTER INSERT ON captions BEGIN"
    " INSERT INTO captions_fts(rowid, text) VALUES (new.id, new.text); END;"
    "CREATE TRIGGER captions_ad AFTER DELETE ON captions BEGIN"
    " INSERT INTO captions_fts(captions_fts, rowid, text)"
    " VALUES ('delete', old.id, old.text); END;"
    "CREATE TRIGGER captions_au AFTER UPDATE OF text ON captions BEGIN"
    " INSERT INTO captions_fts(captions_fts, rowid, text)"
    " VALUES ('delete', old.id, old.text);"
    " INSERT INTO captions_fts(rowid, text) VALUES (new.id, new.text); END;"
    "CREATE TABLE vectors("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " hash TEXT NOT NULL REFERENCES content(hash), field TEXT NOT NULL,"
    " gen INTEGER NOT NULL, embedding BLOB NOT NULL);"
    "CREATE INDEX vectors_hash ON vectors(hash);"
    "CREATE INDEX vectors_gen ON vectors(gen);"
    "CREATE TABLE tombstones(id INTEGER NOT NULL, gen INTEGER NOT NULL);"
    "CREATE INDEX tombstones_gen ON tombstones(gen);"
    "ALTER TABLE captions ADD COLUMN model TEXT;"
    "ALTER TABLE captions ADD COLUMN prompt TEXT;"
    "CREATE INDEX captions_source ON captions(source, hash);"
    "CREATE TABLE caption_log(seq INTEGER PRIMARY KEY AUTOINCREMENT, id INTEGER NOT NULL);"
    "CREATE TRIGGER caption_log_ai AFTER INSERT ON captions BEGIN"
    " INSERT INTO caption_log(id) VALUES (new.id); END;"
    "CREATE TRIGGER caption_log_ad AFTER DELETE ON captions BEGIN"
    " INSERT INTO caption_log(id) VALUES (old.id); END;"
    "CREATE TRIGGER caption_log_au AFTER UPDATE ON captions BEGIN"
    " INSERT INTO caption_log(id) VALUES (old.id);"
    " INSERT INTO caption_log(id) VALUES (new.id); END;"
    "CREATE TRIGGER caption_log_trim AFTER INSERT ON caption_log WHEN new.seq % 4096 = 0"
    " BEGIN DELETE FROM caption_log WHERE seq <= new.seq - 200000; END;"
    "INSERT INTO meta VALUES('schema_version','3'),('faiss_factory','IDMap2,Flat'),"
    " ('generation','1'),('tomb_floor','0'),('created_at','1700000000');";

#define N_OLD 40

static char *old_desc(int i)
{
    return core_sprintf(
        "{\"engine\":\"native-12\",\"dhash\":\"%016llx\",\"domain\":\"photo\","
        "\"ocr\":{\"ran\":true,\"text\":\"sign %d\"},\"captions\":{\"en\":{\"detailed\":"
        "\"A photo of item%d on a table.\",\"short\":\"item%d\",\"tags\":[\"photo\",\"item%d\"]}}}",
        (unsigned long long)(0x1111111111111111ULL * (unsigned)(i % 15 + 1)), i, i, i, i);
}

static bool make_v3(const char *dir, int dim)
{
    char path[700];
    snprintf(path, sizeof path, "%s/omnidex.db", dir);
    mkdir(dir, 0755);
    sqlite3 *db = NULL;
    odx_err e = {0};
    bool ok = sqlite3_open(path, &db) == SQLITE_OK && store_fts_register(db, &e) == ODX_OK &&
              sqlite3_exec(db, "PRAGMA journal_mode=WAL; BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
              sqlite3_exec(db, V3, NULL, NULL, NULL) == SQLITE_OK;
    char *sql = core_sprintf("INSERT INTO meta VALUES('dim','%d'),('embedder','%s'),"
                             "('tokenizer','%s')",
                             dim, emb_model_id(), emb_tokenizer_id());
    ok = ok && sql && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    free(sql);
    sqlite3_stmt *c = NULL, *k = NULL, *v = NULL, *im = NULL;
    ok = ok &&
         sqlite3_prepare_v2(db, "INSERT INTO content(hash,domain,width,height,desc_json,"
                                "created_at) VALUES(?1,'photo',64,48,?2,1)",
                            -1, &c, NULL) == SQLITE_OK &&
         sqlite3_prepare_v2(db, "INSERT INTO captions(hash,kind,lang,text,source,model)"
                                " VALUES(?1,?2,'en',?3,?4,?5)",
                            -1, &k, NULL) == SQLITE_OK &&
         sqlite3_prepare_v2(db, "INSERT INTO vectors(hash,field,gen,embedding)"
                                " VALUES(?1,'caption',1,?2)",
                            -1, &v, NULL) == SQLITE_OK &&
         sqlite3_prepare_v2(db, "INSERT INTO images(path,size,mtime_ns,hash,status,indexed_at)"
                                " VALUES(?1,10,20,?2,'ok',1)",
                            -1, &im, NULL) == SQLITE_OK;
    float *vec = calloc((size_t)dim, sizeof *vec);
    for (int i = 0; ok && vec && i < N_OLD; i++) {
        char hash[32], path_i[32], det[64], sh[16], tags[32], ocr[16];
        snprintf(hash, sizeof hash, "h%02d", i);
        snprintf(path_i, sizeof path_i, "/old/%02d.png", i);
        snprintf(det, sizeof det, "A photo of item%d on a table.", i);
        snprintf(sh, sizeof sh, "item%d", i);
        snprintf(tags, sizeof tags, "photo, item%d", i);
        snprintf(ocr, sizeof ocr, "sign %d", i);
        char *d = old_desc(i);
        /* one damaged description (content 7): kept, and check reports it */
        sqlite3_bind_text(c, 1, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(c, 2, i == 7 ? "{\"broken\":" : d, -1, SQLITE_TRANSIENT);
        ok = ok && sqlite3_step(c) == SQLITE_DONE;
        sqlite3_reset(c);
        free(d);
        const char *kinds[4][2] = {{"detailed", det}, {"short", sh}, {"tags", tags},
                                   {"ocr", ocr}};
        for (int j = 0; j < 5; j++) {
            sqlite3_bind_text(k, 1, hash, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(k, 2, j < 4 ? kinds[j][0] : "detailed", -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(k, 3, j < 4 ? kinds[j][1] : "a vlm caption of zebras", -1,
                              SQLITE_TRANSIENT);
            sqlite3_bind_text(k, 4, j < 4 ? "native" : "vlm", -1, SQLITE_STATIC);
            if (j < 4)
                sqlite3_bind_null(k, 5);
            else
                sqlite3_bind_text(k, 5, "m1", -1, SQLITE_STATIC);
            if (j < 4 || i % 2 == 0) /* VLM rows for even contents only */
                ok = ok && sqlite3_step(k) == SQLITE_DONE;
            sqlite3_reset(k);
        }
        vec[i % dim] = 1.0f;
        sqlite3_bind_text(v, 1, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(v, 2, vec, (int)(sizeof *vec * (size_t)dim), SQLITE_TRANSIENT);
        ok = ok && sqlite3_step(v) == SQLITE_DONE;
        sqlite3_reset(v);
        vec[i % dim] = 0.0f;
        sqlite3_bind_blob(im, 1, path_i, (int)strlen(path_i), SQLITE_TRANSIENT);
        sqlite3_bind_text(im, 2, hash, -1, SQLITE_TRANSIENT);
        ok = ok && sqlite3_step(im) == SQLITE_DONE;
        sqlite3_reset(im);
    }
    free(vec);
    sqlite3_finalize(c);
    sqlite3_finalize(k);
    sqlite3_finalize(v);
    sqlite3_finalize(im);
    ok = ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    if (!ok)
        fprintf(stderr, "make_v3: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    return ok;
}

static int n_problems;
static void on_problem(void *ctx, const char *what, const char *detail)
{
    (void)ctx;
    n_problems++;
    fprintf(stderr, "  check: %s: %s\n", what, detail);
}

static void test_migrate(const char *base)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/v3", base);
    int dim = EMB_DIM;
    CHECK(make_v3(dir, dim));
    odx_err e = {0};
    store *s = NULL;
    /* a reader cannot migrate: it says so */
    CHECK(store_open(dir, true, &s, &e) == ODX_ERR_SCHEMA);
    CHECK(strstr(e.msg, "migration") != NULL);
    core_err_clear(&e);
    CHECK(store_open(dir, false, &s, &e) == ODX_OK);
    if (!s)
        return;
    char *v = NULL;
    CHECK(store_meta_get(s, "schema_version", &v, &e) == ODX_OK);
    CHECK(v && atoi(v) == STORE_SCHEMA_VERSION);
    free(v);
    sqlite3 *db = store_sqlite(s);
    sqlite3_stmt *st = NULL;
    /* desc_json is gone, every description is a record now */
    CHECK(sqlite3_prepare_v2(db, "SELECT desc_json FROM content", -1, &st, NULL) != SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*), sum(length(desc_z)) FROM content"
                                 " WHERE desc_z IS NOT NULL",
                             -1, &st, NULL) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW);
    CHECK(sqlite3_column_int(st, 0) == N_OLD);
    sqlite3_finalize(st);
    /* and every valid one with its captions taken out (flags byte 1) */
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM content WHERE substr(desc_z, 3, 1) = x'01'",
                             -1, &st, NULL) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW);
    CHECK_MSG(sqlite3_column_int(st, 0) == N_OLD - 1, "%d elided",
              sqlite3_column_int(st, 0));
    sqlite3_finalize(st);
    for (int i = 0; i < N_OLD; i++) {
        char hash[32], path[32];
        snprintf(hash, sizeof hash, "h%02d", i);
        snprintf(path, sizeof path, "/old/%02d.png", i);
        store_image_detail d;
        bool found = false;
        odx_status rc = store_image_detail_get(s, path, 0, &d, &found, &e);
        store_content_info ci;
        bool cf = false;
        CHECK(store_content_info_get(s, hash, &ci, &cf, &e) == ODX_OK && cf);
        if (i == 7) {
            /* the damaged one: kept whole, read as damage, as before */
            CHECK(rc == ODX_ERR_CORRUPT);
            CHECK(!ci.desc_valid);
            core_err_clear(&e);
        } else {
            char *want = old_desc(i);
            CHECK(rc == ODX_OK && found && d.desc_json && strcmp(d.desc_json, want) == 0);
            CHECK(ci.desc_valid && ci.has_dhash &&
                  ci.dhash == 0x1111111111111111ULL * (unsigned)(i % 15 + 1));
            free(want);
            store_image_detail_clear(&d);
        }
        store_content_info_clear(&ci);
        store_text *t = NULL;
        int n_t = 0;
        CHECK(store_content_texts(s, hash, &t, &n_t, &e) == ODX_OK);
        CHECK(n_t == (i % 2 == 0 ? 5 : 4));
        store_texts_free(t, n_t);
    }
    /* lexical search through FTS5 and the in-memory index, dense search */
    const char *terms[] = {"item17"};
    for (int pol = 0; pol < 2; pol++) {
        store_hit *h = NULL;
        int n = 0;
        CHECK(store_lex_search(s, terms, 1, 10, pol ? STORE_LEX_INDEX : STORE_LEX_AUTO, &h, &n,
                               &e) == ODX_OK);
        CHECK(n >= 1 && strcmp(h[0].hash, "h17") == 0);
        free(h);
    }
    float *q = calloc((size_t)dim, sizeof *q);
    if (q) {
        q[23 % dim] = 1.0f;
        store_hit *h = NULL;
        int n = 0;
        CHECK(store_dense_search(s, q, 1, &h, &n, &e) == ODX_OK);
        CHECK(n == 1 && strcmp(h[0].hash, "h23") == 0);
        free(h);
        free(q);
    }
    /* the VLM rows are still found by source */
    int64_t n_vlm = 0;
    CHECK(store_vlm_count(s, &n_vlm, &e) == ODX_OK);
    CHECK(n_vlm == N_OLD / 2);
    store_close(s);
    s = NULL;
    /* check: the one damaged description, nothing else */
    store_check_report rep;
    n_problems = 0;
    CHECK(store_check(dir, on_problem, NULL, &rep, &e) == ODX_OK);
    CHECK_MSG(rep.n_problems == 1 && n_problems == 1, "%lld problems",
              (long long)rep.n_problems);
    /* reopening does not migrate again */
    CHECK(store_open(dir, true, &s, &e) == ODX_OK);
    store_close(s);
}

int main(void)
{
    char tmpl[] = "/tmp/odx_store_desc_XXXXXX";
    char *base = mkdtemp(tmpl);
    CHECK(base != NULL);
    if (!base)
        return check_result("test_store_desc");
    test_pack();
    test_migrate(base);
    rmtree(base);
    return check_result("test_store_desc");
}

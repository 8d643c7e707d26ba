/* test_lib_image.c - the typed image record (odx_image_get,
 * odx_caption_image) against what odx_show_json says for the same image,
 * the vocabulary tables (domains, caption kinds, search modes), and the
 * statuses of odx_similar on a failed image and odx_ask without an LLM. */
#include "check.h"
#include "omnidex.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *jstr(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    CHECK(a && b);
    char buf[65536];
    size_t n;
    while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0)
        fwrite(buf, 1, n, b);
    if (a)
        fclose(a);
    if (b)
        fclose(b);
}

static void test_vocab(void)
{
    CHECK(ODX_N_DOMAINS == 7);
    for (int d = 0; d < ODX_N_DOMAINS; d++) {
        const char *n = odx_domain_name((odx_domain)d);
        CHECK(n && odx_domain_from_name(n) == (odx_domain)d);
        CHECK(odx_domain_name_zh((odx_domain)d) != NULL);
    }
    CHECK_STR(odx_domain_name(ODX_DOMAIN_SCREENSHOT), "screenshot");
    CHECK_STR(odx_domain_name_zh(ODX_DOMAIN_PHOTO), "照片");
    CHECK(odx_domain_from_name("Chart") == ODX_DOMAIN_CHART);
    CHECK(odx_domain_from_name("painting") == ODX_DOMAIN_UNKNOWN);
    CHECK(odx_domain_from_name(NULL) == ODX_DOMAIN_UNKNOWN);
    CHECK(odx_domain_name(ODX_DOMAIN_UNKNOWN) == NULL);
    CHECK(odx_domain_name(ODX_N_DOMAINS) == NULL);
    CHECK_STR(odx_caption_kind_name(ODX_CAPTION_OCR), "ocr");
    CHECK_STR(odx_caption_kind_name(ODX_CAPTION_STRUCTURE), "structure");
    CHECK(odx_caption_kind_name(ODX_N_CAPTION_KINDS) == NULL);
    CHECK_STR(odx_search_mode_name(ODX_MODE_LEXICAL), "lexical");
    /* the one parser takes the table's names */
    odx_search_params p = odx_search_params_default();
    CHECK(p.mode == ODX_MODE_HYBRID);
    CHECK(odx_search_params_set(&p, "mode", "dense", NULL) == ODX_OK && p.mode == ODX_MODE_DENSE);
    CHECK(odx_search_params_set(&p, "domain", "TABLE", NULL) == ODX_OK &&
          strcmp(p.domain, odx_domain_name(ODX_DOMAIN_TABLE)) == 0);
    odx_err e = {0};
    CHECK(odx_search_params_set(&p, "domain", "painting", &e) == ODX_ERR_INVALID);
    CHECK_MSG(strstr(e.msg, "photo, document, table, chart, screenshot, poster, diagram"), "%s",
              e.msg);
}

int main(void)
{
    test_vocab();
    const char *src = getenv("ODX_SOURCE_DIR");
    char tmpl[] = "/tmp/odx_lib_image_XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(src && dir);
    if (!src || !dir)
        return check_result("test_lib_image");
    char imgs[512], db_dir[512], a[600], b[600], bad[600], from[600];
    snprintf(imgs, sizeof imgs, "%s/imgs", dir);
    snprintf(db_dir, sizeof db_dir, "%s/db", dir);
    CHECK(mkdir(imgs, 0755) == 0);
    snprintf(from, sizeof from, "%s/samples/table_cities.png", src);
    snprintf(a, sizeof a, "%s/a_table.png", imgs);
    snprintf(b, sizeof b, "%s/b_copy.png", imgs);
    snprintf(bad, sizeof bad, "%s/broken.png", imgs);
    copy_file(from, a);
    copy_file(from, b);
    FILE *f = fopen(bad, "wb");
    CHECK(f && fputs("not a png", f) >= 0);
    if (f)
        fclose(f);

    odx_err e = {0};
    odx_db *db = NULL;
    CHECK(odx_db_open(db_dir, NULL, &db, &e) == ODX_OK);
    odx_index_params ip = odx_index_params_default();
    ip.ocr = true;
    ip.detect = false;
    ip.n_workers = 1;
    const char *roots[] = {imgs};
    odx_index_stats st;
    CHECK(odx_index(db, roots, 1, &ip, &st, &e) == ODX_OK && st.n_failed == 1);

    /* an indexed image: the record says what show's JSON says */
    odx_image *im = NULL;
    CHECK_MSG(odx_image_get(db, a, &im, &e) == ODX_OK, "%s", e.msg);
    char *json = NULL;
    CHECK(odx_show_json(db, a, &json, &e) == ODX_OK);
    cJSON *o = cJSON_Parse(json), *d = cJSON_GetObjectItem(o, "description");
    const odx_image_info *in = odx_image_info_get(im);
    CHECK(in && o && d);
    if (in && o && d) {
        CHECK_STR(in->path, a);
        CHECK(in->ok);
        CHECK(in->id == (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "id")));
        CHECK(same(in->hash, jstr(o, "hash")) && strlen(in->hash) == 64);
        CHECK(same(in->engine, jstr(o, "engine")));
        CHECK(in->size == (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "size")));
        CHECK(in->domain == ODX_DOMAIN_TABLE);
        CHECK_STR(odx_domain_name(in->domain), jstr(d, "domain"));
        CHECK(in->width == 700 && in->height == 320);
        CHECK(same(in->format, "png"));
        CHECK(in->orientation == 1);
        CHECK(in->table_markdown && strstr(in->table_markdown, "Oslo"));
        const cJSON *caps = cJSON_GetObjectItem(d, "captions");
        CHECK(same(odx_image_caption(im, ODX_CAPTION_SHORT, "en"),
                   jstr(cJSON_GetObjectItem(caps, "en"), "short")));
        CHECK(same(odx_image_caption(im, ODX_CAPTION_DETAILED, "zh"),
                   jstr(cJSON_GetObjectItem(caps, "zh"), "detailed")));
        const char *tags = odx_image_caption(im, ODX_CAPTION_TAGS, "en");
        CHECK(tags && strstr(tags, "table, "));
        const char *ocr = odx_image_caption(im, ODX_CAPTION_OCR, NULL);
        CHECK(ocr && strstr(ocr, "Porto"));
        CHECK(same(odx_image_ocr_lang(im), "en"));
        CHECK(odx_image_caption(im, ODX_CAPTION_OCR, "zh") == NULL);
        const char *sr = odx_image_caption(im, ODX_CAPTION_STRUCTURE, NULL);
        CHECK(sr && strstr(sr, "Oslo"));
        CHECK(odx_image_caption(im, ODX_CAPTION_SHORT, "fr") == NULL);
        CHECK(in->n_colors > 0 && odx_image_color(im, 0)->name && odx_image_color(im, 0)->share > 0);
        CHECK(odx_image_color(im, in->n_colors) == NULL);
        CHECK(in->n_copies == 2);
        CHECK(same(odx_image_copy(im, 0), a) && same(odx_image_copy(im, 1), b));
        CHECK(odx_image_copy(im, 2) == NULL);
    }
    cJSON_Delete(o);
    odx_free(json);

    /* by id, and the record outlives the handle it came from */
    char ref[32];
    snprintf(ref, sizeof ref, "#%lld", in ? (long long)in->id : 0LL);
    odx_image *byid = NULL;
    CHECK(odx_image_get(db, ref, &byid, &e) == ODX_OK);
    CHECK(byid && in && strcmp(odx_image_info_get(byid)->hash, in->hash) == 0);
    odx_image_free(byid);

    /* a failed file: the error, no description */
    odx_image *fi = NULL;
    CHECK(odx_image_get(db, bad, &fi, &e) == ODX_OK);
    const odx_image_info *fin = odx_image_info_get(fi);
    CHECK(fin && !fin->ok && fin->hash == NULL && same(fin->error_stage, "decode") &&
          fin->error && fin->domain == ODX_DOMAIN_UNKNOWN && fin->n_copies == 0 &&
          odx_image_caption(fi, ODX_CAPTION_SHORT, "en") == NULL);
    odx_image_free(fi);

    /* statuses the server answers by (422, 503; it used to look for words
     * in the message): the failed file as an example, ask without an LLM */
    odx_results *sr = NULL;
    odx_err es = {0};
    CHECK_MSG(odx_similar(db, bad, NULL, &sr, &es) == ODX_ERR_UNINDEXED && !sr, "%s", es.msg);
    CHECK(strstr(es.msg, "failed to index") != NULL);
    unsetenv("OMNIDEX_LLM_URL");
    unsetenv("OMNIDEX_LLM_MODEL");
    odx_ask_params ap = odx_ask_params_default();
    char *aj = NULL;
    odx_err ea = {0};
    CHECK_MSG(odx_ask(db, "which city", &ap, NULL, NULL, &aj, &ea) == ODX_ERR_NOT_CONFIGURED &&
                  !aj && strstr(ea.msg, "--llm "),
              "%s", ea.msg);
    ap.llm_url = "http://127.0.0.1:9/v1"; /* an endpoint but no model */
    odx_err em = {0};
    CHECK_MSG(odx_ask(db, "which city", &ap, NULL, NULL, &aj, &em) == ODX_ERR_NOT_CONFIGURED &&
                  !aj && strstr(em.msg, "--llm-model"),
              "%s", em.msg);
    CHECK(odx_ask(db, "", &ap, NULL, NULL, &aj, NULL) == ODX_ERR_INVALID);
    CHECK_STR(odx_status_str(ODX_ERR_NOT_CONFIGURED), "not configured");
    CHECK_STR(odx_status_str(ODX_ERR_UNINDEXED), "failed to index");

    odx_image *none = NULL;
    odx_err e2 = {0};
    CHECK(odx_image_get(db, "/no/such/file.png", &none, &e2) == ODX_ERR_NOT_FOUND && !none);
    CHECK(odx_image_get(db, "#999999", &none, NULL) == ODX_ERR_NOT_FOUND);
    odx_db_close(db);
    CHECK(in && strcmp(in->path, a) == 0); /* still valid after odx_db_close */
    odx_image_free(im);
    odx_image_free(NULL);

    /* the captioner's record of a file, no index */
    odx_caption_params cp = odx_caption_params_default();
    cp.detect = false;
    odx_image *ci = NULL;
    CHECK(odx_caption_image(a, &cp, &ci, &e) == ODX_OK);
    const odx_image_info *cin = odx_image_info_get(ci);
    CHECK(cin && cin->ok && cin->domain == ODX_DOMAIN_TABLE && cin->hash == NULL &&
          cin->engine && same(cin->path, a));
    CHECK(odx_image_caption(ci, ODX_CAPTION_STRUCTURE, NULL) != NULL);
    odx_image_free(ci);

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_result("test_lib_image");
}

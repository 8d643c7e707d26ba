/* ask.c - odx_ask: the caption-then-reason loop. The hybrid search and the
 * context block (retriever/) give the captions of the top images; they go
 * with the question to an OpenAI-compatible chat endpoint (remote/) with a
 * system prompt asking for step-by-step reasoning and citations by image
 * number; the answer streams back through a callback, and the images it
 * cites are listed with their paths. */
#include "lib_int.h"
#include "indexer.h"
#include "remote.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char ASK_SYSTEM[] =
    "You answer questions about a collection of images. You cannot see the images: you get "
    "their captions, the text read in them and their structure (tables, chart data), each "
    "under a numbered heading such as \"### [2] path\". Reason step by step from these "
    "descriptions only. Cite every image you use by its number in square brackets, e.g. [2]. "
    "If the descriptions do not answer the question, say so instead of guessing.";

odx_ask_params odx_ask_params_default(void)
{
    odx_ask_params p;
    memset(&p, 0, sizeof p);
    p.context = odx_context_params_default();
    p.timeout_s = 120;
    p.stream = true;
    p.max_images = 3;
    p.image_max_side = 1024;
    return p;
}

typedef struct relay {
    odx_ask_fn fn;
    void *user;
} relay;

static void on_piece(void *user, const char *piece, size_t len, bool reasoning)
{
    relay *r = user;
    if (r->fn)
        r->fn(piece, len, reasoning, r->user);
}

/* Numbers cited as [N] (also [1, 3] and [1][2]) in order of first use. */
static int cited(const char *a, int max, int *out, int cap)
{
    int n = 0;
    for (const char *p = strchr(a, '['); p; p = strchr(p + 1, '[')) {
        const char *q = p + 1;
        for (;;) {
            while (*q == ' ')
                q++;
            if (!isdigit((unsigned char)*q))
                break;
            int v = 0;
            while (isdigit((unsigned char)*q) && v < 100000)
                v = v * 10 + (*q++ - '0');
            while (*q == ' ')
                q++;
            if (*q != ',' && *q != ']')
                break;
            bool seen = false;
            for (int i = 0; i < n; i++)
                seen |= out[i] == v;
            if (!seen && v >= 1 && v <= max && n < cap)
                out[n++] = v;
            if (*q == ']')
                break;
            q++;
        }
    }
    return n;
}

/* Images in the block: the count of "### [N]" headings. */
static int blocks_in(const char *ctx)
{
    int n = 0;
    for (const char *p = strstr(ctx, "### ["); p; p = strstr(p + 5, "### ["))
        n++;
    return n;
}

odx_status odx_ask(odx_db *db, const char *question, const odx_ask_params *pin, odx_ask_fn fn,
                   void *user, char **json, odx_err *err)
{
    if (!db || !question || !*question)
        return core_err(err, ODX_ERR_INVALID, "ask: no question given");
    odx_ask_params p = pin ? *pin : odx_ask_params_default();
    const char *dir = lib_db_dir(db);
    char *o_url = NULL, *o_model = NULL, *o_key = NULL;
    const char *url = lib_setting(p.llm_url, "OMNIDEX_LLM_URL", dir, "llm_url", &o_url);
    const char *model = lib_setting(p.llm_model, "OMNIDEX_LLM_MODEL", dir, "llm_model", &o_model);
    const char *key = lib_setting(p.api_key, "OMNIDEX_API_KEY", dir, "api_key", &o_key);
    odx_status st = ODX_OK;
    char *ctx = NULL, *msg = NULL;
    char **imgs = NULL;
    int n_imgs_made = 0;
    odx_results *res = NULL;
    rmt_client *cl = NULL;
    rmt_chat_resp a;
    memset(&a, 0, sizeof a);
    cJSON *o = NULL;
    if (!url) {
        st = core_err(err, ODX_ERR_NOT_CONFIGURED,
                      "no LLM endpoint: give --llm URL, set OMNIDEX_LLM_URL, or put "
                      "'llm_url = URL' in %s/config", dir);
        goto done;
    }
    if (!model) {
        st = core_err(err, ODX_ERR_NOT_CONFIGURED,
                      "no LLM model: give --llm-model NAME, set OMNIDEX_LLM_MODEL, or put "
                      "'llm_model = NAME' in %s/config", dir);
        goto done;
    }
    odx_context_params cp = p.context;
    cp.json = false;
    if ((st = odx_context(db, question, &cp, &ctx, err)) != ODX_OK)
        goto done;
    /* the same search again, for the paths of the numbers cited */
    if ((st = odx_search(db, question, &cp.search, &res, err)) != ODX_OK)
        goto done;
    int n_img = 0;
    if (p.with_images) {
        int n_top = blocks_in(ctx) < odx_results_count(res) ? blocks_in(ctx) : odx_results_count(res);
        n_img = p.max_images < n_top ? p.max_images : n_top;
        if (n_img < 0)
            n_img = 0;
        imgs = calloc((size_t)(n_img ? n_img : 1), sizeof *imgs);
        if (!imgs) {
            st = core_err(err, ODX_ERR_NOMEM, "no memory for the images");
            goto done;
        }
        for (int i = 0; i < n_img; i++) {
            const odx_result *x = odx_results_get(res, i);
            if (!(imgs[i] = idx_image_data_url(x->path, x->width, x->height,
                                                p.image_max_side > 0 ? p.image_max_side : 1024,
                                                NULL, err))) {
                st = err && err->code ? err->code : ODX_ERR_IO;
                n_imgs_made = i;
                goto done;
            }
        }
        n_imgs_made = n_img;
    }
    if (n_img > 0)
        msg = core_sprintf("The detailed captions of the provided images:\n\n%s\n"
                           "The images [1] to [%d] are attached in that order.\n"
                           "Question: %s\nPlease think step by step.",
                           ctx, n_img, question);
    else
        msg = core_sprintf("The detailed captions of the provided images:\n\n%s\n"
                           "Question: %s\nPlease think step by step.",
                           ctx, question);
    if (!msg) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory for the prompt");
        goto done;
    }
    rmt_config rc = rmt_config_default();
    rc.base_url = url;
    rc.api_key = key;
    rc.timeout_s = p.timeout_s > 0 ? p.timeout_s : 120;
    rc.cancel = p.cancel;
    rc.max_answer_bytes = 256u << 10;
    if ((st = rmt_client_new(&rc, &cl, err)) != ODX_OK)
        goto done;
    rmt_chat_req q = {.model = model, .system = ASK_SYSTEM, .user = msg,
                      .image_urls = (const char *const *)imgs, .n_image_urls = n_img,
                      .max_tokens = p.max_tokens, .temperature = -1, .stream = p.stream};
    relay r = {fn, user};
    if ((st = rmt_chat(cl, &q, on_piece, &r, &a, err)) != ODX_OK)
        goto done;
    int n_blocks = blocks_in(ctx), n_res = odx_results_count(res);
    int max = n_blocks < n_res ? n_blocks : n_res;
    int nums[64];
    int n_cited = cited(a.content, max, nums, 64);
    if (json) {
        o = cJSON_CreateObject();
        core_json_add_text(o, "question", question);
        core_json_add_text(o, "answer", a.content);
        if (a.reasoning)
            core_json_add_text(o, "reasoning", a.reasoning);
        cJSON *c = cJSON_AddArrayToObject(o, "citations");
        for (int i = 0; i < n_cited; i++) {
            const odx_result *x = odx_results_get(res, nums[i] - 1);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "number", nums[i]);
            core_json_add_path(e, "path", x->path, strlen(x->path));
            cJSON_AddNumberToObject(e, "image_id", (double)x->image_id);
            cJSON_AddStringToObject(e, "domain", x->domain ? x->domain : "unknown");
            cJSON_AddNumberToObject(e, "score", (double)(int)(x->score * 1000 + 0.5) / 1000);
            cJSON_AddItemToArray(c, e);
        }
        core_json_add_text(o, "context", ctx);
        core_json_add_text(o, "model", model);
        cJSON_AddNumberToObject(o, "images_sent", n_img);
        if (a.finish_reason)
            cJSON_AddStringToObject(o, "finish_reason", a.finish_reason);
        cJSON_AddBoolToObject(o, "truncated", a.truncated);
        *json = cJSON_PrintUnformatted(o);
        if (!*json)
            st = core_err(err, ODX_ERR_NOMEM, "no memory");
    }
done:
    cJSON_Delete(o);
    rmt_chat_resp_clear(&a);
    rmt_client_free(cl);
    odx_results_free(res);
    free(ctx);
    free(msg);
    for (int i = 0; imgs && i < n_imgs_made; i++)
        free(imgs[i]);
    free(imgs);
    free(o_url);
    free(o_model);
    free(o_key);
    return st;
}

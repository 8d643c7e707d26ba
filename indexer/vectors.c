/* vectors.c - the vectors of one content from its stored texts, shared by
 * native captioning and re-embedding (run.c) and the VLM pass (vlm.c), so
 * all give the same vectors for the same captions. */
#include "indexer.h"
#include "embedder.h"

#include <stdlib.h>
#include <string.h>

#define IDX_TEXT_MAX (4u << 20)

/* Joins the texts of the given kinds and embeds them; false when there is no
 * text (the field is then left out rather than stored as a zero vector). */
static bool embed_kinds(const store_text *t, int n, const char *k1,
                        const char *k2, float *out)
{
    core_buf b;
    core_buf_init(&b, IDX_TEXT_MAX);
    for (int i = 0; i < n; i++) {
        if (!t[i].kind || !t[i].text || !t[i].text[0])
            continue;
        if (strcmp(t[i].kind, k1) != 0 && (!k2 || strcmp(t[i].kind, k2) != 0))
            continue;
        if (b.len)
            core_buf_puts(&b, "\n");
        core_buf_puts(&b, t[i].text);
    }
    bool any = b.len > 0;
    if (any)
        emb_embed(b.data, b.len, out);
    core_buf_free(&b);
    return any;
}

/* The vectors of one content: "caption" (detailed + short, en + zh), "tags",
 * and "text" (OCR + structure) when the image has text. Shared by captioning
 * and re-embedding so both give the same vectors for the same captions. */
odx_status idx_make_vectors(const store_text *t, int n, float **vec,
                                       store_vec *vecs, int *n_vecs,
                                       odx_err *err)
{
    float *v = malloc(sizeof(float) * EMB_DIM * IDX_N_FIELDS);
    if (!v)
        return core_err(err, ODX_ERR_NOMEM, "no memory for vectors");
    int k = 0;
    static const char *const fields[IDX_N_FIELDS][3] = {
        {"caption", "detailed", "short"}, {"tags", "tags", NULL},
        {"text", "ocr", "structure"}};
    for (int f = 0; f < IDX_N_FIELDS; f++) {
        if (embed_kinds(t, n, fields[f][1], fields[f][2], v + k * EMB_DIM)) {
            vecs[k].field = fields[f][0];
            vecs[k].v = v + k * EMB_DIM;
            k++;
        }
    }
    *vec = v;
    *n_vecs = k;
    return ODX_OK;
}

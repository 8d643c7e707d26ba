/* store_desc.c - the description JSON as content.desc_z stores it (schema
 * 4): the texts that are caption rows already taken out, then deflated
 * with a preset dictionary of the description's keys. store_content_put
 * packs, show and check unpack; the captions table stays the one copy of
 * every caption. */
#include "storage_int.h"

#include <cjson/cJSON.h>
#include <zlib.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Header: magic, format, flags, then the inflated length (u32 LE).
 * Format 1 is zlib (RFC 1950: its Adler-32 catches damage) with
 * desc_dict_v1 as the preset dictionary; a new dictionary is a new format,
 * this one never changes. */
#define DESC_MAGIC 0xD5
#define DESC_FORMAT 1
#define DESC_ELIDED 1 /* flags: caption texts were taken out */
#define DESC_NOT_JSON 2 /* flags: kept as a migration found it, not JSON */
#define DESC_HDR 7

/* The keys and fixed words of cap_desc_to_json's output, in its order
 * (deflate finds matches best near the end of the dictionary, where the
 * keys of every description sit: captions, timing). Written from the
 * captioner's JSON layout, not fitted to any corpus. Measured on the
 * samples: deflate alone 3231 -> 1357 bytes per description, with the
 * captions taken out 972, with this dictionary too 610. */
static const char desc_dict_v1[] =
    "{\"engine\":\"native-\",\"format\":\"png\",\"format\":\"jpeg\",\"width\":,\"height\":,"
    "\"frames\":\"pages\":\"animated\":true,\"alpha\":true,\"bit_depth\":"
    "\"exif\":{\"orientation\":\"dhash\":\"\",\"domain\":\"photo\",\"domain\":"
    "\"document\",\"domain_conf\":,\"chart_type\":\"bar\",\"line\",\"pie\",\"scatter\","
    "\"features\":{\"brightness\":0.,\"contrast\":0.,\"saturation\":0.,"
    "\"colourfulness\":0.,\"n_colors\":0.,\"white_share\":0.,\"black_share\":0.,"
    "\"gray_share\":0.,\"edge_density\":0.,\"h_rule_share\":0.,\"v_rule_share\":0.,"
    "\"n_h_rules\":,\"n_v_rules\":,\"grid_score\":0,\"axis_score\":0.,"
    "\"text_likeness\":0.,\"n_text_lines\":,\"flat_share\":0.,\"noise\":0.,"
    "\"sector_score\":0.,\"aspect\":1.,\"sky\":0.,\"water\":0.,\"vegetation\":0,"
    "\"snow\":0,\"sunset\":0,\"night\":0},\"colors\":[{\"name\":\"white\",\"name_zh\":"
    "\"\xe7\x99\xbd\xe8\x89\xb2\",\"share\":0.,\"rgb\":\"#\"},{\"name\":\"black\","
    "\"name_zh\":\"\xe9\xbb\x91\xe8\x89\xb2\",\"share\":0.,\"rgb\":\"#\"},"
    "{\"name\":\"gray\",\"name_zh\":\"\xe7\x81\xb0\xe8\x89\xb2\",\"share\":0.,\"rgb\":\"#\"}],"
    "\"ocr\":{\"ran\":false,\"ran\":true,\"lang\":\"en\",\"lang\":\"zh\",\"conf\":,"
    "\"text\":null,\"lines\":[{\"text\":\"\",\"conf\":,\"box\":[,,,]},{\"text\":\"\","
    "\"conf\":,\"box\":[,,,]}]},\"structure\":{\"title\":\"\",\"table_markdown\":\"| --- |"
    "\",\"rows\":,\"columns\":,\"row_sentences\":[],\"x_label\":\"\",\"y_label\":\"\","
    "\"legend\":[],\"ticks\":[],\"bars\":,\"text_columns\":,\"lead\":\"\",\"ui_words\":[]},"
    "\"objects\":{\"ran\":false,\"detections\":[]},\"objects\":{\"ran\":true,"
    "\"detections\":[{\"label\":\"person\",\"label_zh\":\"\xe4\xba\xba\",\"score\":0.,"
    "\"box\":[0.,0.,0.,0.]}]},\"captions\":{\"en\":{\"detailed\":null,\"short\":null,"
    "\"tags\":null},\"zh\":{\"detailed\":null,\"short\":null,\"tags\":null}},"
    "\"timing_ms\":{\"decode\":,\"features\":,\"ocr\":,\"detect\":,\"total\":}}";

/* Caption texts a description repeats: captions.LANG.{detailed,short}
 * (the row of that kind and language), captions.LANG.tags (the tags row:
 * the list joined with ", "), ocr.text (the ocr row). */
static const char *const desc_langs[] = {"en", "zh"};
static const char *const desc_kinds[] = {"detailed", "short", "tags"};

static const store_text *row_of(const store_text *t, int n, const char *kind, const char *lang)
{
    for (int i = 0; i < n; i++)
        if (t[i].kind && t[i].text && strcmp(t[i].kind, kind) == 0 &&
            (!lang || (t[i].lang && strcmp(t[i].lang, lang) == 0)))
            return &t[i];
    return NULL;
}

/* The tags row cut at ", " back into the list (NULL: out of memory). */
static cJSON *split_tags(const char *s)
{
    cJSON *a = cJSON_CreateArray();
    if (!a)
        return NULL;
    while (a) {
        const char *e = strstr(s, ", ");
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char *piece = malloc(n + 1);
        cJSON *str = NULL;
        if (piece) {
            memcpy(piece, s, n);
            piece[n] = 0;
            str = cJSON_CreateString(piece);
            free(piece);
        }
        if (!str || !cJSON_AddItemToArray(a, str)) {
            cJSON_Delete(str);
            cJSON_Delete(a);
            return NULL;
        }
        if (!e)
            break;
        s = e + 2;
    }
    return a;
}

/* Takes out (elide) or puts back (!elide) every repeated text. Taking out
 * replaces a value equal to its row with null; putting back replaces a
 * null with the row. Returns false on a null without a row (damage:
 * the caption row went) or out of memory. */
static bool walk(cJSON *o, const store_text *t, int n, bool elide, int *n_done)
{
    cJSON *caps = cJSON_GetObjectItemCaseSensitive(o, "captions");
    for (size_t l = 0; cJSON_IsObject(caps) && l < 2; l++) {
        cJSON *c = cJSON_GetObjectItemCaseSensitive(caps, desc_langs[l]);
        for (size_t k = 0; cJSON_IsObject(c) && k < 3; k++) {
            cJSON *v = cJSON_GetObjectItemCaseSensitive(c, desc_kinds[k]);
            const store_text *row = row_of(t, n, desc_kinds[k], desc_langs[l]);
            if (!v)
                continue;
            cJSON *nv = NULL;
            if (elide) {
                if (!row)
                    continue;
                bool same = false;
                if (k < 2) {
                    same = cJSON_IsString(v) && strcmp(v->valuestring, row->text) == 0;
                } else if (cJSON_IsArray(v)) {
                    cJSON *split = split_tags(row->text);
                    if (!split)
                        return false;
                    same = cJSON_Compare(v, split, true);
                    cJSON_Delete(split);
                }
                if (!same)
                    continue;
                nv = cJSON_CreateNull();
            } else {
                if (!cJSON_IsNull(v))
                    continue;
                if (!row)
                    return false;
                nv = k < 2 ? cJSON_CreateString(row->text) : split_tags(row->text);
            }
            if (!nv || !cJSON_ReplaceItemInObjectCaseSensitive(c, desc_kinds[k], nv)) {
                cJSON_Delete(nv);
                return false;
            }
            (*n_done)++;
        }
    }
    cJSON *ocr = cJSON_GetObjectItemCaseSensitive(o, "ocr");
    cJSON *v = cJSON_IsObject(ocr) ? cJSON_GetObjectItemCaseSensitive(ocr, "text") : NULL;
    const store_text *row = row_of(t, n, "ocr", NULL);
    if (v) {
        cJSON *nv = NULL;
        if (elide && row && cJSON_IsString(v) && strcmp(v->valuestring, row->text) == 0)
            nv = cJSON_CreateNull();
        else if (!elide && cJSON_IsNull(v)) {
            if (!row)
                return false;
            nv = cJSON_CreateString(row->text);
        } else {
            return true;
        }
        if (!nv || !cJSON_ReplaceItemInObjectCaseSensitive(ocr, "text", nv)) {
            cJSON_Delete(nv);
            return false;
        }
        (*n_done)++;
    }
    return true;
}

static odx_status deflate_dict(const char *src, size_t n, int flags, unsigned char **out,
                               size_t *out_len, odx_err *err)
{
    if (n > STORE_DESC_MAX_BYTES)
        return core_err(err, ODX_ERR_LIMIT, "description of %zu bytes (at most %d)", n,
                        STORE_DESC_MAX_BYTES);
    z_stream z;
    memset(&z, 0, sizeof z);
    uLong bound = compressBound((uLong)n) + 64; /* + the dictionary id */
    unsigned char *buf = malloc(DESC_HDR + bound);
    if (!buf)
        return core_err(err, ODX_ERR_NOMEM, "out of memory");
    if (deflateInit(&z, Z_BEST_COMPRESSION) != Z_OK) {
        free(buf);
        return core_err(err, ODX_ERR_NOMEM, "zlib: deflateInit failed");
    }
    odx_status rc = ODX_OK;
    if (deflateSetDictionary(&z, (const Bytef *)desc_dict_v1, sizeof desc_dict_v1 - 1) !=
        Z_OK) {
        rc = core_err(err, ODX_ERR_INTERNAL, "zlib: deflateSetDictionary failed");
        goto done;
    }
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)n;
    z.next_out = buf + DESC_HDR;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        rc = core_err(err, ODX_ERR_INTERNAL, "zlib: deflate did not finish");
        goto done;
    }
    buf[0] = DESC_MAGIC;
    buf[1] = DESC_FORMAT;
    buf[2] = (unsigned char)flags;
    for (int i = 0; i < 4; i++)
        buf[3 + i] = (unsigned char)(n >> (8 * i));
    *out = buf;
    *out_len = DESC_HDR + z.total_out;
    buf = NULL;
done:
    deflateEnd(&z);
    free(buf);
    return rc;
}

bool store_desc_header_ok(const void *blob, size_t len)
{
    const unsigned char *b = blob;
    if (!b || len < DESC_HDR + 6 || b[0] != DESC_MAGIC || b[1] != DESC_FORMAT ||
        (b[2] & ~DESC_ELIDED) != 0)
        return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; i++)
        n |= (uint32_t)b[3 + i] << (8 * i);
    return n <= STORE_DESC_MAX_BYTES;
}

/* The stored text (before putting back) into a new NUL-terminated buffer. */
static odx_status inflate_dict(const unsigned char *b, size_t len, char **out, int *flags,
                               odx_err *err)
{
    if (b && len > 2 && b[0] == DESC_MAGIC && (b[2] & DESC_NOT_JSON))
        return core_err(err, ODX_ERR_CORRUPT, "description record: kept as the migration to"
                                              " schema 4 found it, not valid JSON");
    if (!store_desc_header_ok(b, len))
        return core_err(err, ODX_ERR_CORRUPT, "description record: bad header");
    uint32_t n = 0;
    for (int i = 0; i < 4; i++)
        n |= (uint32_t)b[3 + i] << (8 * i);
    char *text = malloc((size_t)n + 1);
    if (!text)
        return core_err(err, ODX_ERR_NOMEM, "out of memory");
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) {
        free(text);
        return core_err(err, ODX_ERR_NOMEM, "zlib: inflateInit failed");
    }
    z.next_in = (Bytef *)(b + DESC_HDR);
    z.avail_in = (uInt)(len - DESC_HDR);
    z.next_out = (Bytef *)text;
    z.avail_out = n + 1; /* one spare byte: a longer stream is damage */
    int r = inflate(&z, Z_FINISH);
    if (r == Z_NEED_DICT) {
        if (inflateSetDictionary(&z, (const Bytef *)desc_dict_v1, sizeof desc_dict_v1 - 1) ==
            Z_OK)
            r = inflate(&z, Z_FINISH);
    }
    bool ok = r == Z_STREAM_END && z.total_out == n && z.avail_in == 0;
    inflateEnd(&z);
    if (!ok) {
        free(text);
        return core_err(err, ODX_ERR_CORRUPT, "description record: damaged (zlib: %s)",
                        r == Z_STREAM_END ? "wrong length" : z.msg ? z.msg : "bad stream");
    }
    text[n] = 0;
    *flags = b[2];
    *out = text;
    return ODX_OK;
}

/* Puts the rows back into an elided text; *out is a new string. */
static odx_status put_back(const char *text, const store_text *t, int n, char **out,
                           odx_err *err)
{
    cJSON *o = cJSON_Parse(text);
    if (!o)
        return core_err(err, ODX_ERR_CORRUPT, "description record: not JSON");
    odx_status rc = ODX_OK;
    int n_done = 0;
    if (!walk(o, t, n, false, &n_done)) {
        rc = core_err(err, ODX_ERR_CORRUPT,
                      "description record: a caption row it names is missing");
    } else if (!(*out = cJSON_PrintUnformatted(o))) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
    }
    cJSON_Delete(o);
    return rc;
}

odx_status store_desc_pack(const char *json, const store_text *t, int n, unsigned char **out,
                           size_t *out_len, bool *has_dhash, uint64_t *dhash, odx_err *err)
{
    *has_dhash = false;
    *dhash = 0;
    cJSON *o = cJSON_Parse(json);
    if (!o)
        return core_err(err, ODX_ERR_INVALID, "the description is not valid JSON");
    const char *dh = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "dhash"));
    if (dh) {
        *has_dhash = true;
        *dhash = strtoull(dh, NULL, 16);
    }
    odx_status rc = ODX_OK;
    char *elided = NULL, *back = NULL;
    int flags = 0, n_done = 0;
    if (!walk(o, t, n, true, &n_done)) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!(elided = cJSON_PrintUnformatted(o))) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* Kept only when putting back gives the very bytes given (not so for
     * JSON that cJSON would print otherwise, or with a null where a text
     * is taken out): else the text is stored whole. */
    odx_err scratch = {0};
    if (n_done > 0 && put_back(elided, t, n, &back, &scratch) == ODX_OK &&
        strcmp(back, json) == 0)
        flags = DESC_ELIDED;
    if (flags == DESC_ELIDED)
        rc = deflate_dict(elided, strlen(elided), flags, out, out_len, err);
    else
        rc = deflate_dict(json, strlen(json), 0, out, out_len, err);
done:
    free(elided);
    free(back);
    cJSON_Delete(o);
    return rc;
}

odx_status store_desc_unpack(const void *blob, size_t len, const store_text *t, int n,
                             char **json, odx_err *err)
{
    char *text = NULL;
    int flags = 0;
    odx_status rc = inflate_dict(blob, len, &text, &flags, err);
    if (rc != ODX_OK)
        return rc;
    if (!(flags & DESC_ELIDED)) {
        *json = text;
        return ODX_OK;
    }
    rc = put_back(text, t, n, json, err);
    free(text);
    return rc;
}

odx_status store_desc_pack_raw(const char *text, size_t n, unsigned char **out, size_t *out_len,
                               odx_err *err)
{
    return deflate_dict(text, n, DESC_NOT_JSON, out, out_len, err);
}

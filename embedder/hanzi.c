/* hanzi.c - Han character data for the tokenizer and query analysis:
 * traditional -> simplified folding and toneless pinyin, looked up in the
 * tables gen_unihan generates from Unihan at build time, plus the
 * tokenizer's identity that storage keeps to know when FTS5 is stale. */
#include "embedder_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* bump when the tokenizer's output changes for reasons other than the
 * Unihan data (which the table hash already covers) */
#define EMB_TOKENIZER_VERSION "odx-tok-v2"

extern const uint32_t emb_fold_from[], emb_fold_to[];
extern const int emb_fold_n;
extern const uint32_t emb_py_cp[];
extern const uint16_t emb_py_syl[];
extern const int emb_py_n;
extern const char emb_py_names[][8];
extern const int emb_py_n_names;
extern const uint32_t emb_unihan_hash;

static int find_cp(const uint32_t *v, int n, int32_t cp)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (v[mid] == (uint32_t)cp)
            return mid;
        if (v[mid] < (uint32_t)cp)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

int32_t emb_han_fold(int32_t cp)
{
    /* every folded character is at least U+346E; this keeps Latin text
     * off the search */
    if (cp < 0x3400)
        return cp;
    int i = find_cp(emb_fold_from, emb_fold_n, cp);
    return i >= 0 ? (int32_t)emb_fold_to[i] : cp;
}

const char *emb_pinyin(int32_t cp)
{
    if (cp < 0x3400)
        return NULL;
    int i = find_cp(emb_py_cp, emb_py_n, cp);
    if (i < 0 || emb_py_syl[i] >= emb_py_n_names)
        return NULL;
    return emb_py_names[emb_py_syl[i]];
}

int emb_han_fold_utf8(char *s, int len, int cap)
{
    char out[EMB_MAX_TOKEN + 8];
    int n = 0;
    bool changed = false;
    for (int i = 0; i < len;) {
        int32_t cp;
        int k = core_utf8_next(s + i, (size_t)(len - i), &cp);
        int32_t f = emb_han_fold(cp);
        if (f != cp) {
            utf8proc_uint8_t enc[4];
            utf8proc_ssize_t m = utf8proc_encode_char(f, enc);
            if (m <= 0 || n + m > (int)sizeof out)
                return len;
            memcpy(out + n, enc, (size_t)m);
            n += (int)m;
            changed = true;
        } else {
            if (n + k > (int)sizeof out)
                return len;
            memcpy(out + n, s + i, (size_t)k);
            n += k;
        }
        i += k;
    }
    if (!changed || n > cap)
        return len;
    memcpy(s, out, (size_t)n);
    return n;
}

int emb_pinyin_utf8(const char *s, size_t len, char *out, size_t cap, bool u_for_v)
{
    size_t n = 0;
    int chars = 0;
    if (!s || !out || cap == 0)
        return -1;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        int k = core_utf8_next(s + i, len - i, &cp);
        i += (size_t)k;
        const char *py = emb_pinyin(cp);
        if (!py)
            py = emb_pinyin(emb_han_fold(cp));
        if (!py)
            return -1;
        size_t pl = strlen(py);
        if (n + pl + 1 > cap)
            return -1;
        for (size_t j = 0; j < pl; j++)
            out[n++] = u_for_v && py[j] == 'v' ? 'u' : py[j];
        chars++;
    }
    out[n] = 0;
    return chars > 0 ? (int)n : -1;
}

const char *emb_tok_syllable(const emb_toklist *l, const char *text, const emb_tok *t)
{
    if (!l || !text || !t || t->kind != EMB_TOK_CJK)
        return NULL;
    int32_t cp;
    core_utf8_next(text + t->start, (size_t)(t->end - t->start), &cp);
    const char *py = emb_pinyin(cp);
    if (!py) {
        core_utf8_next(l->text + t->off, (size_t)t->len, &cp);
        py = emb_pinyin(cp);
    }
    return py;
}

static char g_tok_id[48];
static pthread_once_t g_tok_once = PTHREAD_ONCE_INIT;

static void tok_id_init(void)
{
    snprintf(g_tok_id, sizeof g_tok_id, "%s+unihan%08x", EMB_TOKENIZER_VERSION,
             (unsigned)emb_unihan_hash);
}

const char *emb_tokenizer_id(void)
{
    pthread_once(&g_tok_once, tok_id_init);
    return g_tok_id;
}

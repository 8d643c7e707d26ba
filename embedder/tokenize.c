/* tokenize.c - text normalisation (utf8proc NFKC + case fold) and the one
 * tokenizer behind both search paths: storage registers emb_tokenize as
 * the FTS5 tokenizer, and the embedding and query analysis build on it. */
#include "embedder_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* IGNORE drops default-ignorable code points (soft hyphen, zero-width
 * joiner, variation selectors) that would otherwise split or alter words
 * copied from PDFs and web pages. */
#define NORM_FLAGS                                                        \
    (UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE |               \
     UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

/* Original bytes of one word looked at for its normalised form: a word
 * longer than this keeps its full offsets but only this prefix's text. */
#define RAW_CAP 256

char *emb_normalize(const char *s, size_t len)
{
    if (!s || len > (size_t)1 << 30)
        return NULL;
    if (len == 0)
        return calloc(1, 1);
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s,
                                      (utf8proc_ssize_t)len, &dst, NORM_FLAGS);
    if (n < 0)
        return NULL;
    return (char *)dst;
}

enum { CL_SEP, CL_WORD, CL_MARK, CL_CJK, CL_APOS };

static int classify(int32_t cp)
{
    if (cp < 0x80) {
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
            (cp >= '0' && cp <= '9'))
            return CL_WORD;
        return cp == '\'' ? CL_APOS : CL_SEP;
    }
    if (cp == 0x2019) /* right single quotation mark, the typographic ' */
        return CL_APOS;
    if (cp == 0xFFFD) /* also what core_utf8_next reports for bad bytes */
        return CL_SEP;
    utf8proc_category_t c = utf8proc_category(cp);
    switch (c) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        /* Han is Lo like Thai: CJK is told apart by block; the CJK blocks
         * also hold punctuation (katakana middle dot) which stays a
         * separator because only letters get here. */
        return core_is_cjk(cp) ? CL_CJK : CL_WORD;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return CL_WORD;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return CL_MARK;
    default:
        return CL_SEP;
    }
}

/* Latin letters (with their combining marks) lose accents so that "café"
 * finds "cafe"; other scripts keep their marks, which carry meaning
 * there (Devanagari vowel signs, Arabic harakat, Hangul is composed). */
static bool is_latin(int32_t cp)
{
    return cp < 0x250 || (cp >= 0x1E00 && cp <= 0x1EFF) ||
           (cp >= 0x300 && cp <= 0x36F) || (cp >= 0xFF00 && cp <= 0xFF5E);
}

/* Normalises raw (valid UTF-8) into out[EMB_MAX_TOKEN + 4], keeping only
 * word characters so a normalised token re-tokenises to itself (NFKC can
 * turn a digit into "(1)" or "1⁄2"). Returns the byte length, 0 if
 * nothing remains. */
static int norm_token(const char *raw, int raw_len, bool ascii, bool latin,
                      char *out)
{
    int n = 0;
    if (ascii) {
        for (int i = 0; i < raw_len && n < EMB_MAX_TOKEN; i++) {
            char c = raw[i];
            out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        return n;
    }
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t m =
        utf8proc_map((const utf8proc_uint8_t *)raw, raw_len, &dst,
                     NORM_FLAGS | (latin ? UTF8PROC_STRIPMARK : 0));
    if (m < 0 || !dst) {
        free(dst);
        return 0;
    }
    size_t i = 0;
    while (i < (size_t)m) {
        int32_t cp;
        int k = core_utf8_next((const char *)dst + i, (size_t)m - i, &cp);
        int cl = classify(cp);
        if (cl == CL_WORD || cl == CL_MARK || cl == CL_CJK) {
            if (n + k > EMB_MAX_TOKEN)
                break;
            memcpy(out + n, dst + i, (size_t)k);
            n += k;
        }
        i += (size_t)k;
    }
    free(dst);
    return n;
}

/* Scans a word starting at *pos and emits it. An apostrophe between
 * letters joins ("don't" -> "dont") and a trailing possessive "'s" is
 * dropped ("dog's" -> "dog"), so both match what people type. */
static int scan_word(const char *text, int len, int *pos, emb_token_fn fn,
                     void *ctx)
{
    char raw[RAW_CAP];
    int raw_len = 0;
    bool ascii = true, latin = true;
    int start = *pos, p = *pos, end = *pos;
    while (p < len) {
        int32_t cp;
        int n = core_utf8_next(text + p, (size_t)(len - p), &cp);
        int cl = classify(cp);
        if (cl == CL_WORD || cl == CL_MARK) {
            if (raw_len + n <= RAW_CAP) {
                memcpy(raw + raw_len, text + p, (size_t)n);
                raw_len += n;
                ascii = ascii && cp < 0x80;
                latin = latin && is_latin(cp);
            }
            p += n;
            end = p;
            continue;
        }
        if (cl != CL_APOS)
            break;
        int32_t c2, c3 = 0;
        int n2 = p + n < len
                     ? core_utf8_next(text + p + n, (size_t)(len - p - n), &c2)
                     : 0;
        if (n2 == 0 || classify(c2) != CL_WORD)
            break;
        int n3 = p + n + n2 < len ? core_utf8_next(text + p + n + n2,
                                                    (size_t)(len - p - n - n2),
                                                    &c3)
                                  : 0;
        if ((c2 == 's' || c2 == 'S') &&
            (n3 == 0 || (classify(c3) != CL_WORD && classify(c3) != CL_MARK))) {
            p += n + n2;
            end = p;
            break;
        }
        p += n; /* joining apostrophe: not part of the token text */
    }
    *pos = p;
    char tok[EMB_MAX_TOKEN + 4];
    int tl = norm_token(raw, raw_len, ascii, latin, tok);
    if (tl <= 0)
        return 0;
    return fn(ctx, tok, tl, start, end, false);
}

/* CJK characters whose NFKC + case fold form is themselves: the common
 * case, kept off utf8proc's allocating path. */
static bool cjk_identity(int32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x3041 && cp <= 0x3096) || (cp >= 0x30A1 && cp <= 0x30FA) ||
           (cp >= 0xAC00 && cp <= 0xD7A3);
}

/* Scans a CJK run: each character is a unigram and each adjacent pair a
 * bigram colocated with the unigram of its first character, so FTS5
 * phrase queries over unigrams still work and bigrams sharpen ranking.
 * Combining marks (variation selectors) stay with their character. */
static int scan_cjk(const char *text, int len, int *pos, emb_token_fn fn,
                    void *ctx)
{
    char prev[EMB_MAX_TOKEN + 4], cur[EMB_MAX_TOKEN + 4], pair[2 * EMB_MAX_TOKEN + 8];
    int prev_len = 0, prev_start = 0, rc = 0;
    int p = *pos;
    while (p < len) {
        int32_t cp;
        int n = core_utf8_next(text + p, (size_t)(len - p), &cp);
        if (classify(cp) != CL_CJK) {
            /* OCR puts spaces between Chinese characters ("柱 状 图");
             * Chinese text has no spaces between words, so a short run of
             * blanks between two CJK characters does not end the run */
            int q = p;
            while (q < len && q - p < 3 && (text[q] == ' ' || text[q] == '\t'))
                q++;
            if (q == p || q >= len || prev_len == 0)
                break;
            n = core_utf8_next(text + q, (size_t)(len - q), &cp);
            if (classify(cp) != CL_CJK)
                break;
            p = q;
        }
        int cs = p;
        p += n;
        bool marks = false;
        while (p < len) {
            int32_t m;
            int k = core_utf8_next(text + p, (size_t)(len - p), &m);
            if (classify(m) != CL_MARK)
                break;
            p += k;
            marks = true;
        }
        int cur_len;
        if (!marks && cjk_identity(cp)) {
            memcpy(cur, text + cs, (size_t)n);
            cur_len = n;
        } else {
            cur_len = norm_token(text + cs, p - cs, false, false, cur);
        }
        if (cur_len <= 0) {
            prev_len = 0;
            continue;
        }
        /* traditional and simplified spellings index and query alike; the
         * offsets stay those of the original character */
        cur_len = emb_han_fold_utf8(cur, cur_len, (int)sizeof cur);
        if (prev_len > 0) {
            memcpy(pair, prev, (size_t)prev_len);
            memcpy(pair + prev_len, cur, (size_t)cur_len);
            rc = fn(ctx, pair, prev_len + cur_len, prev_start, p, true);
            if (rc)
                break;
        }
        rc = fn(ctx, cur, cur_len, cs, p, false);
        if (rc)
            break;
        memcpy(prev, cur, (size_t)cur_len);
        prev_len = cur_len;
        prev_start = cs;
    }
    *pos = p;
    return rc;
}

int emb_tokenize(const char *text, int len, emb_token_fn fn, void *ctx)
{
    if (!text || len <= 0 || !fn)
        return 0;
    int p = 0;
    while (p < len) {
        int32_t cp;
        int n = core_utf8_next(text + p, (size_t)(len - p), &cp);
        int cl = classify(cp);
        int rc = 0;
        if (cl == CL_WORD)
            rc = scan_word(text, len, &p, fn, ctx);
        else if (cl == CL_CJK)
            rc = scan_cjk(text, len, &p, fn, ctx);
        else
            p += n; /* separators, stray marks and invalid bytes */
        if (rc)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------ stop-words ---- */

/* English function words, plus the filler of search requests ("show me
 * pictures of"), and Chinese particles, measure words and fillers. The
 * embedding down-weights them and the FTS query drops them (FACTS.md:
 * FTS5 scores every match, so frequent terms cost time at scale). */
static const char *const stop_list[] = {
    "a", "about", "again", "all", "also", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "being", "both", "but", "by",
    "can", "could", "did", "do", "does", "each", "few", "find", "for",
    "from", "further", "give", "had", "has", "have", "having", "he", "her",
    "here", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "just", "like", "looking", "mainly", "may", "me", "might", "more", "most",
    "mostly", "my", "need",
    "no", "nor", "not", "of", "on", "once", "only", "onto", "or", "other",
    "our", "own", "per", "please", "s", "same", "search", "she", "should",
    "show", "showing", "shown", "shows",
    "so", "some", "such", "t", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "through", "to",
    "too", "until", "using", "very", "via", "want", "was", "we", "were",
    "what", "when",
    "where", "which", "while", "who", "whom", "whose", "why", "will",
    "with", "would", "you", "your",
    "的", "了", "和", "是", "在", "有", "与", "及", "或", "也", "都", "就",
    "而", "之", "其", "这", "那", "个", "张", "一", "只", "些", "把", "被",
    "从", "对", "着", "过", "吗", "呢", "吧", "啊", "地", "得", "我", "你",
    "一张", "一个", "一只", "一些", "一幅", "这是", "那是", "这个", "那个",
    "以及", "或者", "我们", "你们", "他们", "它们", "其中", "可以", "没有",
    "显示", "查找", "寻找", "找到", "给我", "帮我", "有关", "关于", "一下",
};

#define N_STOP ((int)(sizeof stop_list / sizeof stop_list[0]))
static const char *stop_sorted[N_STOP];
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void stop_init(void)
{
    memcpy(stop_sorted, stop_list, sizeof stop_list);
    qsort(stop_sorted, N_STOP, sizeof stop_sorted[0], cmp_str);
}

bool emb_is_stopword(const char *tok, int len)
{
    if (!tok || len <= 0 || len > 16)
        return false;
    pthread_once(&stop_once, stop_init);
    char key[17];
    memcpy(key, tok, (size_t)len);
    key[len] = 0;
    const char *k = key;
    return bsearch(&k, stop_sorted, N_STOP, sizeof stop_sorted[0], cmp_str) != NULL;
}

/* --------------------------------------------------------- stemmer ---- */

static bool is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

int emb_stem(const char *w, int len, char *out, int cap)
{
    if (!w || !out || cap <= 0)
        return 0;
    if (len >= cap)
        len = cap - 1;
    if (len < 0)
        len = 0;
    memcpy(out, w, (size_t)len);
    out[len] = 0;
    for (int i = 0; i < len; i++)
        if (w[i] < 'a' || w[i] > 'z')
            return len;
    int n = len;
#define ENDS(s) (n > (int)strlen(s) && memcmp(out + n - strlen(s), s, strlen(s)) == 0)
    if ((n >= 6 && memcmp(out + n - 6, "series", 6) == 0) ||
        (n >= 7 && memcmp(out + n - 7, "species", 7) == 0)) {
        return len; /* same in singular and plural */
    } else if (n >= 5 && ENDS("ies")) {
        n -= 3;
        out[n++] = 'y';
    } else if (ENDS("sses") || ENDS("xes") || ENDS("ches") || ENDS("shes") ||
               ENDS("zzes")) {
        n -= 2;
    } else if (n >= 4 && out[n - 1] == 's' && !ENDS("ss") && !ENDS("us") &&
               !ENDS("is")) {
        n -= 1;
    } else if (n >= 6 && ENDS("ing")) {
        n -= 3;
    } else if (n >= 5 && ENDS("ed") && !ENDS("eed")) {
        n -= 2;
    } else if ((n == 3 && memcmp(out, "men", 3) == 0) ||
               (n == 5 && memcmp(out, "women", 5) == 0)) {
        out[n - 2] = 'a';
        return n;
    } else {
        return len;
    }
#undef ENDS
    /* running -> run, stopped -> stop: undo the doubled consonant */
    if (n < len - 1 && n >= 3 && out[n - 1] == out[n - 2] && !is_vowel(out[n - 1]) &&
        out[n - 1] != 'l' && out[n - 1] != 's' && out[n - 1] != 'z')
        n--;
    out[n] = 0;
    return n;
}

/* ------------------------------------------------------- token list ---- */

typedef struct tl_ctx {
    emb_toklist *l;
    const char *text;
    int max_toks;
} tl_ctx;

static bool only_space(const char *s, int a, int b)
{
    for (int i = a; i < b; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return false;
    return true;
}

static int tl_add(void *vctx, const char *tok, int len, int start, int end,
                  bool colocated)
{
    tl_ctx *c = vctx;
    emb_toklist *l = c->l;
    if (l->n >= c->max_toks) {
        l->overflow = true;
        return 1;
    }
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        emb_tok *t = realloc(l->toks, (size_t)cap * sizeof *t);
        if (!t) {
            l->overflow = true;
            return 1;
        }
        l->toks = t, l->cap = cap;
    }
    if (l->text_len + (size_t)len + 1 > l->text_cap) {
        size_t cap = l->text_cap ? l->text_cap * 2 : 1024;
        while (cap < l->text_len + (size_t)len + 1)
            cap *= 2;
        char *t = realloc(l->text, cap);
        if (!t) {
            l->overflow = true;
            return 1;
        }
        l->text = t, l->text_cap = cap;
    }
    int32_t cp;
    core_utf8_next(tok, (size_t)len, &cp);
    int kind = colocated ? EMB_TOK_BIGRAM : core_is_cjk(cp) ? EMB_TOK_CJK : EMB_TOK_WORD;
    bool joined = false;
    /* the previous token of the same kind decides whether a phrase may
     * continue: bigrams sit between unigrams, so look past them */
    for (int i = l->n - 1; i >= 0; i--) {
        const emb_tok *p = &l->toks[i];
        if (p->kind == EMB_TOK_BIGRAM)
            continue;
        if (kind == EMB_TOK_WORD && p->kind == EMB_TOK_WORD)
            joined = only_space(c->text, p->end, start);
        else if (kind == EMB_TOK_CJK && p->kind == EMB_TOK_CJK)
            joined = p->end == start ||
                     (start - p->end <= 3 && only_space(c->text, p->end, start) &&
                      memchr(c->text + p->end, '\n', (size_t)(start - p->end)) == NULL);
        break;
    }
    emb_tok *t = &l->toks[l->n++];
    t->off = (int)l->text_len, t->len = len, t->start = start, t->end = end;
    t->kind = kind, t->joined = joined;
    memcpy(l->text + l->text_len, tok, (size_t)len);
    l->text_len += (size_t)len;
    l->text[l->text_len] = 0;
    return 0;
}

void emb_toklist_build(emb_toklist *l, const char *text, size_t len,
                       int max_toks)
{
    if (!l || !text)
        return;
    if (len > (size_t)1 << 30) {
        len = (size_t)1 << 30;
        l->overflow = true;
    }
    tl_ctx c = {l, text, max_toks > 0 ? max_toks : 1 << 20};
    emb_tokenize(text, (int)len, tl_add, &c);
}

void emb_toklist_free(emb_toklist *l)
{
    if (!l)
        return;
    free(l->toks);
    free(l->text);
    memset(l, 0, sizeof *l);
}

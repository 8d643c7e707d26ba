/* embed.c - the native text embedding: signed feature hashing of words,
 * stems, character 3-grams, CJK unigrams/bigrams and lexicon concepts into
 * EMB_DIM floats. The indexer embeds captions with it, the retriever
 * queries; shared concept features carry meaning across en and zh. */
#include "embedder_int.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Weights: a concept outweighs the words that evoke it, so that "bar
 * chart" and "柱状图", which share no surface feature, still land close.
 * Parents (bar chart -> chart) get a share, so broad queries find
 * specific captions. Stop-words keep a trace only (idf-like). */
#define W_WORD 1.0f
#define W_STEM 0.7f
#define W_TRIGRAMS 0.5f /* L2 mass of all 3-grams of one word */
#define W_NUMBER 0.7f
#define W_STOP 0.15f
#define W_CJK_UNI 0.5f
#define W_CJK_BI 1.0f
#define W_CJK_BI_WEAK 0.3f /* bigram with a particle in it: "色的" */
#define W_CONCEPT 2.0f
#define W_PARENT 0.5f /* factor per level up */
/* WordNet concepts of a word (words.c): its sense at this weight, each
 * hypernym 0.8 times the one below. Less than a lexicon concept (hand
 * checked, 2.0) and as much as the word itself: a caption's "bird" and a
 * query's "ostrich" share bird, vertebrate, animal features. */
#define W_WORDNET 1.0f

#define SEED_INDEX 0x0dd1e5a11ce0f00dULL
#define SEED_SIGN 0x5eed0f5196a1b2c3ULL

/* Texts longer than this are embedded from their first part: captions
 * and OCR text are far shorter, and it bounds the time per call. */
#define MAX_EMBED_BYTES (4u << 20)
#define MAX_TOKENS (1 << 20)
#define MAX_MATCHES 65536

typedef struct feat {
    uint64_t key; /* 0: empty */
    float wsum;
    int tf;
    int8_t sign;
} feat;

typedef struct facc {
    feat *slots;
    size_t cap, n;
    float *out;
    feat stack[256];
} facc;

/* Sublinear term frequency needs counts per feature, hence the table;
 * when it cannot grow, features go straight into the vector (raw tf). */
static bool facc_grow(facc *a)
{
    size_t cap = a->cap * 2;
    if (cap > ((size_t)1 << 22))
        return false;
    feat *s = calloc(cap, sizeof *s);
    if (!s)
        return false;
    for (size_t i = 0; i < a->cap; i++) {
        feat *f = &a->slots[i];
        if (!f->key)
            continue;
        size_t j = f->key & (cap - 1);
        while (s[j].key)
            j = (j + 1) & (cap - 1);
        s[j] = *f;
    }
    if (a->slots != a->stack)
        free(a->slots);
    a->slots = s;
    a->cap = cap;
    return true;
}

static void add_feat(facc *a, char tag, const char *s, size_t n, float w)
{
    char buf[EMB_MAX_PHRASE_WORDS * (EMB_MAX_TOKEN + 1) + 16];
    if (n + 1 > sizeof buf)
        n = sizeof buf - 1;
    buf[0] = tag;
    memcpy(buf + 1, s, n);
    uint64_t key = core_hash64(buf, n + 1, SEED_INDEX) | 1; /* never 0 */
    if (a->n * 2 >= a->cap && !facc_grow(a)) {
        int8_t sign = (core_hash64(buf, n + 1, SEED_SIGN) >> 63) ? -1 : 1;
        a->out[key % EMB_DIM] += sign * w;
        return;
    }
    size_t mask = a->cap - 1;
    size_t j = key & mask;
    while (a->slots[j].key && a->slots[j].key != key)
        j = (j + 1) & mask;
    feat *f = &a->slots[j];
    if (!f->key) {
        f->key = key;
        f->sign = (core_hash64(buf, n + 1, SEED_SIGN) >> 63) ? -1 : 1;
        a->n++;
    }
    f->wsum += w;
    f->tf++;
}

static bool all_digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Character 3-grams of "<word>" by code point; morphology ("charts" ~
 * "chart", "colour" ~ "color") without a stemmer per language. */
static void add_trigrams(facc *a, const char *w, int n)
{
    int pos[EMB_MAX_TOKEN + 3];
    char buf[EMB_MAX_TOKEN + 3];
    int m = 0, bl = 0;
    buf[bl] = '<';
    pos[m++] = bl++;
    for (int i = 0; i < n;) {
        int32_t cp;
        int k = core_utf8_next(w + i, (size_t)(n - i), &cp);
        pos[m++] = bl;
        memcpy(buf + bl, w + i, (size_t)k);
        bl += k;
        i += k;
    }
    pos[m] = bl;
    buf[bl++] = '>';
    pos[++m] = bl; /* pos[i]..pos[i+1] is symbol i; m symbols */
    int n_tri = m - 2;
    if (n_tri <= 0)
        return;
    float w3 = W_TRIGRAMS / sqrtf((float)n_tri);
    for (int i = 0; i + 3 <= m; i++)
        add_feat(a, 'g', buf + pos[i], (size_t)(pos[i + 3] - pos[i]), w3);
}

static bool has_stop_char(const char *s, int n)
{
    for (int i = 0; i < n;) {
        int32_t cp;
        int k = core_utf8_next(s + i, (size_t)(n - i), &cp);
        if (emb_is_stopword(s + i, k))
            return true;
        i += k;
    }
    return false;
}

static void add_chain(facc *a, const emb_wconcept *c, int n)
{
    for (int i = 0; i < n; i++) {
        char b[16];
        int k = snprintf(b, sizeof b, "%d", c[i].syn);
        add_feat(a, 'n', b, (size_t)k, W_WORDNET * c[i].w);
    }
}

/* WordNet concepts of the English words and CLDR concepts of the Chinese
 * words of l (longest CLDR word at each CJK position). */
static void add_words(facc *a, const emb_toklist *l)
{
    if (!emb_words_enabled())
        return;
    emb_wconcept c[EMB_MAX_CHAIN];
    for (int i = 0; i < l->n; i++) {
        const emb_tok *t = &l->toks[i];
        const char *s = l->text + t->off;
        if (t->kind == EMB_TOK_WORD) {
            if (emb_is_stopword(s, t->len) || all_digits(s, t->len))
                continue;
            add_chain(a, c, emb_words_en(s, t->len, c, EMB_MAX_CHAIN));
        } else if (t->kind == EMB_TOK_CJK) {
            int last = i;
            char key[EMB_MAX_PHRASE_CHARS * 8 + 8];
            if (emb_words_zh_match(l, i, &last, key, sizeof key) > 0) {
                add_chain(a, c, emb_words_zh(key, (int)strlen(key), c, EMB_MAX_CHAIN));
                i = last;
            }
        }
    }
}

static void add_concept(facc *a, int id, float w)
{
    for (int depth = 0; id >= 0 && depth < 4; depth++) {
        char b[16];
        int n = snprintf(b, sizeof b, "%d", id);
        /* keyed by the concept's index: emb_model_id() changes whenever
         * the lexicon does, so stored vectors are re-embedded */
        add_feat(a, 'k', b, (size_t)n, w);
        id = emb_concept_parent(id);
        w *= W_PARENT;
    }
}

void emb_embed(const char *text, size_t len, float *out)
{
    if (!out)
        return;
    memset(out, 0, EMB_DIM * sizeof *out);
    if (!text || len == 0)
        return;
    if (len > MAX_EMBED_BYTES)
        len = MAX_EMBED_BYTES;
    facc a = {.cap = sizeof a.stack / sizeof a.stack[0], .out = out};
    memset(a.stack, 0, sizeof a.stack);
    a.slots = a.stack;
    emb_toklist l = {0};
    emb_toklist_build(&l, text, len, MAX_TOKENS);
    for (int i = 0; i < l.n; i++) {
        const emb_tok *t = &l.toks[i];
        const char *s = l.text + t->off;
        if (t->kind == EMB_TOK_CJK) {
            add_feat(&a, 'c', s, (size_t)t->len,
                     emb_is_stopword(s, t->len) ? W_STOP : W_CJK_UNI);
        } else if (t->kind == EMB_TOK_BIGRAM) {
            float w = emb_is_stopword(s, t->len) ? W_STOP
                      : has_stop_char(s, t->len) ? W_CJK_BI_WEAK
                                                 : W_CJK_BI;
            add_feat(&a, 'b', s, (size_t)t->len, w);
        } else if (emb_is_stopword(s, t->len)) {
            add_feat(&a, 'w', s, (size_t)t->len, W_STOP);
        } else if (all_digits(s, t->len)) {
            add_feat(&a, 'w', s, (size_t)t->len, W_NUMBER);
        } else {
            add_feat(&a, 'w', s, (size_t)t->len, W_WORD);
            char st[EMB_MAX_TOKEN + 8];
            int sl = emb_stem(s, t->len, st, sizeof st);
            add_feat(&a, 's', st, (size_t)sl, W_STEM);
            add_trigrams(&a, s, t->len);
        }
    }
    emb_match *m = malloc(sizeof *m * 256);
    if (m) {
        /* matches in windows of tokens, so the buffer stays small */
        int done = 0;
        while (done < l.n) {
            emb_toklist win = l;
            win.toks = l.toks + done;
            win.n = l.n - done;
            int nm = emb_find_matches(&win, m, 256);
            for (int j = 0; j < nm; j++) {
                float w = W_CONCEPT / sqrtf((float)m[j].n_ids);
                for (int k = 0; k < m[j].n_ids; k++)
                    add_concept(&a, m[j].ids[k], w);
            }
            if (nm < 256)
                break;
            /* resume after the last match; a phrase cut at the window
             * edge is matched again from its start */
            done += m[nm - 1].first + m[nm - 1].n;
        }
        free(m);
    }
    add_words(&a, &l);
    emb_toklist_free(&l);
    for (size_t i = 0; i < a.cap; i++) {
        const feat *f = &a.slots[i];
        if (!f->key)
            continue;
        float v = (f->wsum / (float)f->tf) * (1.0f + logf((float)f->tf));
        out[f->key % EMB_DIM] += f->sign * v;
    }
    if (a.slots != a.stack)
        free(a.slots);
    double norm = 0;
    for (int i = 0; i < EMB_DIM; i++)
        norm += (double)out[i] * out[i];
    if (norm <= 0)
        return;
    float inv = (float)(1.0 / sqrt(norm));
    for (int i = 0; i < EMB_DIM; i++)
        out[i] *= inv;
}

/* ------------------------------------------------------------ identity ---- */

extern const unsigned char emb_lexicon_data[];
extern const size_t emb_lexicon_size;

static char g_model_id[64];
static pthread_once_t g_id_once = PTHREAD_ONCE_INIT;

static void model_id_init(void)
{
    uint64_t h = core_hash64(emb_lexicon_data, emb_lexicon_size, 0x1d);
    /* the concept layer's tables too, unless switched off (ODX_WORDS_OFF):
     * an index embedded without it is re-embedded with it, and back */
    if (emb_words_enabled())
        h ^= emb_words_tables_hash();
    if (emb_words_off() & EMB_OFF_LEXICON) /* fewer lexicon entries */
        h ^= 0x5eed1e55u;
    /* the tokens (Han folding) feed the features too; a short hash keeps
     * the id within the 31 characters content.embedder is read into */
    const char *tok = emb_tokenizer_id();
    uint64_t t = core_hash64(tok, strlen(tok), 0x1d);
    snprintf(g_model_id, sizeof g_model_id, "%s+lex%08x+tk%04x", EMB_ID,
             (unsigned)(h & 0xffffffffu), (unsigned)(t & 0xffffu));
}

const char *emb_model_id(void)
{
    pthread_once(&g_id_once, model_id_init);
    return g_model_id;
}

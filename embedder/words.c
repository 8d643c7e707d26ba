/* words.c - the concept layer: WordNet 3.0 nouns, CLDR's en/zh emoji
 * names and Unihan glosses (tables generated at build time by
 * tools/gen_words.c). A word becomes weighted concepts: its chosen sense,
 * then the hypernyms of that sense at decreasing weight. The embedding
 * (embed.c) turns them into features and query analysis (query.c) into
 * expansion terms, so "ostrich" reaches captions that say "bird". */
#include "embedder_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const uint16_t emb_wn_syn_info[];   /* lexfile | 0x80 proper | n_words << 8 */
extern const uint32_t emb_wn_syn_hyper[];  /* synset or 0xFFFFFFFF */
extern const uint32_t emb_wn_syn_first[];  /* first word in emb_wn_word_str */
extern const uint32_t emb_wn_word_str[];
extern const int emb_wn_n_syn;
extern const uint32_t emb_wn_lemma_str[];  /* sorted (strcmp) */
extern const uint32_t emb_wn_lemma_senses[]; /* first sense | count << 28 */
extern const uint32_t emb_wn_sense_syn[];
extern const uint16_t emb_wn_sense_count[];
extern const int emb_wn_n_lemma;
extern const uint32_t emb_wn_exc_from[], emb_wn_exc_to[];
extern const int emb_wn_n_exc;
extern const uint32_t emb_zh_word[], emb_zh_en[];
extern const int emb_zh_n;
extern const uint32_t emb_gloss_cp[], emb_gloss_en[];
extern const int emb_gloss_n;
extern const char emb_words_str[];
extern const uint32_t emb_words_hash;

/* How senses are chosen and how far concepts spread; see the comments at
 * their use. Chosen by reasoning about WordNet's shape, not fitted. */
static const struct {
    float proper;     /* factor of a name (every word capitalised) */
    float rank_decay; /* score / (1 + rank_decay * rank in index.noun) */
    float head;       /* factor when the word is the synset's first word */
    float step;       /* weight factor per hypernym step */
    float min_w;      /* a chain ends below this weight */
} P = {0.05f, 0.15f, 1.5f, 0.8f, 0.2f};

/* Factor of a sense by lexicographer file: things one can photograph
 * first. Most picture words are untagged in SemCor (count 0), where
 * index.noun's order says nothing, so this order decides: an animal
 * before the person a word also calls names (ostrich, fox), food before
 * the plant it grows on (pineapple), a person last among the concrete. */
static float lexfile_factor(int lf)
{
    switch (lf) {
    case 5:  return 3.0f; /* noun.animal */
    case 13: return 2.8f; /* noun.food */
    case 6:  return 2.6f; /* noun.artifact */
    case 20: return 2.4f; /* noun.plant */
    case 17: return 2.2f; /* noun.object */
    case 18: return 2.0f; /* noun.person */
    default: return 1.0f;
    }
}


/* The uninformative top of the hierarchy: a chain stops before these
 * (every concrete noun would otherwise share "entity" and "object"). */
static const char *const top_names[] = {
    "entity", "physical entity", "abstraction", "abstract entity", "thing", "object",
    "physical object", "whole", "unit", "living thing", "animate thing", "organism",
    "being", "causal agent", "cause", "causal agency", "matter", "artifact", "artefact",
    "instrumentality", "instrumentation", "psychological feature", "attribute",
    "relation", "communication", "measure", "quantity", "amount", "group", "grouping",
    "act", "deed", "human action", "human activity", "event", "state", "location",
    "substance", "part", "portion", "component part", "component", "constituent",
    "natural object", "commodity", "trade good", "good", "article", "structure",
    "construction", "device", "container", "covering", "creation", "matter",
    "solid", "material", "stuff", NULL};

static uint8_t *g_top; /* per synset: 1 = a top */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
/* ODX_WORDS_OFF (ablations, for measuring what each source adds):
 * "1" (or any word not below) turns the layer off; a comma list of
 * "hypernyms" (a word's concepts stop at its own sense), "cldr" (no
 * Chinese word from CLDR's names) and "unihan" (no character glosses)
 * turns off those parts, "lexicon" the hand lexicon's everyday entries
 * (lexicon.c) and "layer" the whole layer (so "layer,lexicon" is both). */
enum { OFF_ALL = EMB_OFF_LAYER, OFF_HYPER = 2, OFF_CLDR = 4, OFF_UNIHAN = 8 };
static unsigned g_off;

static unsigned parse_off(const char *v)
{
    if (!v || !v[0] || !strcmp(v, "0"))
        return 0;
    unsigned m = 0;
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 9 && !strncmp(p, "hypernyms", n))
            m |= OFF_HYPER;
        else if (n == 4 && !strncmp(p, "cldr", n))
            m |= OFF_CLDR;
        else if (n == 6 && !strncmp(p, "unihan", n))
            m |= OFF_UNIHAN;
        else if (n == 7 && !strncmp(p, "lexicon", n))
            m |= EMB_OFF_LEXICON;
        else if (n == 5 && !strncmp(p, "layer", n))
            m |= OFF_ALL;
        else
            return OFF_ALL;
        p += n;
        if (*p == ',')
            p++;
    }
    return m;
}

static const char *S(uint32_t off) { return emb_words_str + off; }

static int lemma_find(const char *w, size_t n)
{
    int lo = 0, hi = emb_wn_n_lemma;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        const char *s = S(emb_wn_lemma_str[mid]);
        int c = strncmp(s, w, n);
        if (c == 0 && s[n])
            c = 1;
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void words_init(void)
{
    g_off = parse_off(getenv("ODX_WORDS_OFF"));
    g_top = calloc((size_t)emb_wn_n_syn + 1, 1);
    if (!g_top)
        return;
    /* a top is a synset in noun.Tops (lexfile 3) or named in top_names
     * through its first sense, whose words include a listed name */
    for (int i = 0; top_names[i]; i++) {
        int l = lemma_find(top_names[i], strlen(top_names[i]));
        if (l < 0)
            continue;
        uint32_t s = emb_wn_lemma_senses[l];
        int first = (int)(s & 0x0FFFFFFF), n = (int)(s >> 28);
        for (int k = 0; k < n; k++) {
            int syn = (int)emb_wn_sense_syn[first + k];
            int lf = emb_wn_syn_info[syn] & 0x7F;
            if (lf == 3 || k == 0)
                g_top[syn] = 1;
        }
    }
}

static void ready(void) { pthread_once(&g_once, words_init); }

unsigned emb_words_off(void)
{
    ready();
    return g_off;
}

bool emb_words_enabled(void)
{
    ready();
    return !(g_off & OFF_ALL);
}

/* a partial ablation makes other vectors: part of the model id */
uint32_t emb_words_tables_hash(void)
{
    ready();
    return emb_words_hash ^ ((g_off & ~(unsigned)EMB_OFF_LEXICON) * 0x9E3779B1u);
}

int emb_words_syn_count(void) { return emb_wn_n_syn; }

/* WordNet's files of things a camera sees: animals, artifacts, body
 * parts, food, places, natural objects, people, natural phenomena and
 * plants (not acts, attributes, communication, cognition, ...). */
bool emb_words_syn_concrete(int syn)
{
    int lf = emb_words_syn_lexfile(syn);
    return lf == 5 || lf == 6 || lf == 8 || lf == 13 || lf == 15 || lf == 17 || lf == 18 ||
           lf == 19 || lf == 20;
}

int emb_words_syn_lexfile(int syn)
{
    return syn >= 0 && syn < emb_wn_n_syn ? emb_wn_syn_info[syn] & 0x7F : -1;
}

int emb_words_syn_hyper(int syn)
{
    if (syn < 0 || syn >= emb_wn_n_syn || emb_wn_syn_hyper[syn] == 0xFFFFFFFFu)
        return -1;
    return (int)emb_wn_syn_hyper[syn];
}

const char *emb_words_syn_word(int syn, int i)
{
    if (syn < 0 || syn >= emb_wn_n_syn || i < 0 || i >= (emb_wn_syn_info[syn] >> 8))
        return NULL;
    return S(emb_wn_word_str[emb_wn_syn_first[syn] + (uint32_t)i]);
}

bool emb_words_is_top(int syn)
{
    ready();
    return g_top && syn >= 0 && syn < emb_wn_n_syn && g_top[syn];
}

/* Morphy for nouns: the exception list (mice -> mouse), the word itself,
 * then WordNet's detachment rules (-s, -ses, -xes, -zes, -ches, -shes,
 * -men, -ies). Returns the lemma index or -1. */
int emb_words_lemma(const char *w, int len)
{
    if (!w || len <= 0 || len > EMB_MAX_PHRASE_WORDS * (EMB_MAX_TOKEN + 1))
        return -1;
    size_t n = (size_t)len;
    int lo = 0, hi = emb_wn_n_exc;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        const char *s = S(emb_wn_exc_from[mid]);
        int c = strncmp(s, w, n);
        if (c == 0 && s[n])
            c = 1;
        if (c == 0) {
            const char *to = S(emb_wn_exc_to[mid]);
            return lemma_find(to, strlen(to));
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int l = lemma_find(w, n);
    if (l >= 0)
        return l;
    static const struct {
        const char *suf, *rep;
    } rules[] = {{"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"},
                 {"men", "man"}, {"ies", "y"}, {"s", ""}};
    char buf[EMB_MAX_PHRASE_WORDS * (EMB_MAX_TOKEN + 1) + 8];
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        size_t sl = strlen(rules[r].suf), rl = strlen(rules[r].rep);
        if (n <= sl + 1 || memcmp(w + n - sl, rules[r].suf, sl) != 0)
            continue;
        if (n - sl + rl + 1 > sizeof buf)
            continue;
        memcpy(buf, w, n - sl);
        memcpy(buf + n - sl, rules[r].rep, rl);
        l = lemma_find(buf, n - sl + rl);
        if (l >= 0)
            return l;
    }
    return -1;
}

/* The sense a picture most likely shows: frequency (SemCor counts from
 * cntlist.rev, then index.noun's order), times a factor for the visual
 * lexicographer files and one for being the synset's head word; names
 * ("Crane" the poet) almost never. */
int emb_words_sense(int lemma)
{
    if (lemma < 0 || lemma >= emb_wn_n_lemma)
        return -1;
    uint32_t s = emb_wn_lemma_senses[lemma];
    int first = (int)(s & 0x0FFFFFFF), n = (int)(s >> 28);
    int best = -1;
    float best_score = -1;
    for (int k = 0; k < n; k++) {
        int syn = (int)emb_wn_sense_syn[first + k];
        uint16_t info = emb_wn_syn_info[syn];
        float sc = (float)(emb_wn_sense_count[first + k] + 1) / (1.0f + P.rank_decay * (float)k);
        sc *= lexfile_factor(info & 0x7F);
        if (info & 0x80)
            sc *= P.proper;
        /* "dolphin" is the head of the cetacean's synset, a second name of
         * the dolphinfish's */
        if (emb_words_syn_word(syn, 0) && 
            strcasecmp(emb_words_syn_word(syn, 0), S(emb_wn_lemma_str[lemma])) == 0)
            sc *= P.head;
        if (sc > best_score) {
            best_score = sc;
            best = syn;
        }
    }
    return best;
}

int emb_words_chain(int syn, emb_wconcept *out, int max)
{
    ready();
    int n = 0;
    float w = 1.0f;
    while (syn >= 0 && n < max && w >= P.min_w) {
        if (g_top && g_top[syn])
            break;
        out[n].syn = syn;
        out[n].w = w;
        n++;
        if (g_off & OFF_HYPER)
            break;
        w *= P.step;
        syn = emb_words_syn_hyper(syn);
    }
    return n;
}

/* lemma of an English word or phrase; a phrase WordNet lacks ("hot
 * beverage") falls back to its last word */
static int phrase_lemma(const char *w, size_t n)
{
    int l = emb_words_lemma(w, (int)n);
    if (l >= 0)
        return l;
    const char *sp = NULL;
    for (size_t i = 0; i < n; i++)
        if (w[i] == ' ')
            sp = w + i;
    return sp ? emb_words_lemma(sp + 1, (int)(w + n - sp - 1)) : -1;
}

int emb_words_en(const char *w, int len, emb_wconcept *out, int max)
{
    if (!w || len < 3 || !out || max <= 0 || !emb_words_enabled())
        return 0;
    int syn = emb_words_sense(phrase_lemma(w, (size_t)len));
    return syn < 0 ? 0 : emb_words_chain(syn, out, max);
}

/* ------------------------------------------------------------ Chinese ---- */

static int zh_find(const char *s, size_t n)
{
    int lo = 0, hi = emb_zh_n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        const char *k = S(emb_zh_word[mid]);
        int c = strncmp(k, s, n);
        if (c == 0 && k[n])
            c = 1;
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const char *emb_words_zh_en(const char *s, int len)
{
    if (!s || len <= 0 || !emb_words_enabled() || (g_off & OFF_CLDR))
        return NULL;
    int i = zh_find(s, (size_t)len);
    return i < 0 ? NULL : S(emb_zh_en[i]);
}

int emb_words_zh(const char *s, int len, emb_wconcept *out, int max)
{
    const char *en = emb_words_zh_en(s, len);
    return en ? emb_words_en(en, (int)strlen(en), out, max) : 0;
}

const char *emb_words_gloss(int32_t cp)
{
    if (!emb_words_enabled() || (g_off & OFF_UNIHAN))
        return NULL;
    int lo = 0, hi = emb_gloss_n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (emb_gloss_cp[mid] < (uint32_t)cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < emb_gloss_n && emb_gloss_cp[lo] == (uint32_t)cp ? S(emb_gloss_en[lo]) : NULL;
}

int emb_words_gloss_concepts(int32_t cp, emb_wconcept *out, int max)
{
    const char *en = emb_words_gloss(cp);
    if (!en)
        return 0;
    int syn = emb_words_sense(phrase_lemma(en, strlen(en)));
    /* a character's gloss is a guess about the word it is part of; it is
     * taken for creatures, plants and food only, whose Chinese names are
     * built on a character of their own (鸵, 獭, 蘑), not for the common
     * characters of everything else (星 star + 图 map is a star chart) */
    int lf = emb_words_syn_lexfile(syn);
    if (syn < 0 || (lf != 5 && lf != 13 && lf != 20))
        return 0;
    return emb_words_chain(syn, out, max);
}

/* Longest CLDR Chinese word made of the CJK unigram tokens of l starting
 * at token i (joined, no bigrams in the count); returns the number of
 * characters (0: none) and the last token index in *last. */
int emb_words_zh_match(const emb_toklist *l, int i, int *last, char *key, int cap)
{
    if (!emb_words_enabled() || (g_off & OFF_CLDR) || !l || i < 0 || i >= l->n ||
        l->toks[i].kind != EMB_TOK_CJK)
        return 0;
    int toks[EMB_MAX_PHRASE_CHARS];
    size_t lens[EMB_MAX_PHRASE_CHARS];
    char buf[EMB_MAX_PHRASE_CHARS * 8 + 8];
    size_t bl = 0;
    int nu = 0;
    for (int j = i; j < l->n && nu < EMB_MAX_PHRASE_CHARS; j++) {
        const emb_tok *t = &l->toks[j];
        if (t->kind == EMB_TOK_BIGRAM)
            continue;
        if (t->kind != EMB_TOK_CJK || (j > i && !t->joined) || bl + (size_t)t->len >= sizeof buf)
            break;
        memcpy(buf + bl, l->text + t->off, (size_t)t->len);
        bl += (size_t)t->len;
        toks[nu] = j;
        lens[nu++] = bl;
    }
    for (int k = nu; k >= 1; k--) {
        if (zh_find(buf, lens[k - 1]) >= 0) {
            if (last)
                *last = toks[k - 1];
            if (key && cap > (int)lens[k - 1]) {
                memcpy(key, buf, lens[k - 1]);
                key[lens[k - 1]] = 0;
            }
            return k;
        }
    }
    return 0;
}

/* embedder_int.h - names shared between the files of embedder/ only:
 * the token list that the embedding and query analysis build from
 * emb_tokenize, the light English stemmer and the lexicon internals. */
#ifndef ODX_EMBEDDER_INT_H
#define ODX_EMBEDDER_INT_H

#include "embedder.h"

/* Longest normalised token kept (bytes); longer words are cut at a code
 * point boundary so one run of letters cannot blow up a buffer. */
#define EMB_MAX_TOKEN 64
/* Longest lexicon phrase: words (Latin) and characters (CJK). */
#define EMB_MAX_PHRASE_WORDS 3
#define EMB_MAX_PHRASE_CHARS 8

enum { EMB_TOK_WORD = 0, EMB_TOK_CJK = 1, EMB_TOK_BIGRAM = 2 };

typedef struct emb_tok {
    int off, len;   /* normalised text in the list's text buffer */
    int start, end; /* byte offsets in the original text */
    int kind;       /* EMB_TOK_* */
    bool joined;    /* only whitespace separates it from the previous
                       token of the same script (phrases may span it) */
} emb_tok;

typedef struct emb_toklist {
    emb_tok *toks;
    int n, cap;
    char *text; /* normalised tokens back to back, not NUL-separated */
    size_t text_len, text_cap;
    bool overflow; /* allocation failed or cap hit: list is truncated */
} emb_toklist;

/* Tokenises text into l (which the caller zero-initialises and frees with
 * emb_toklist_free). At most max_toks tokens are kept. */
void emb_toklist_build(emb_toklist *l, const char *text, size_t len,
                       int max_toks);
void emb_toklist_free(emb_toklist *l);

/* Light English stemmer (plural s/es/ies, -ing, -ed). Writes at most cap-1
 * bytes plus NUL into out and returns the stem length; returns the word
 * unchanged when no rule applies or the word is not plain ASCII letters. */
int emb_stem(const char *w, int len, char *out, int cap);

/* Han data (hanzi.c, tables generated from Unihan at build time).
 * emb_han_fold: the simplified form of a traditional character (first
 * kSimplifiedVariant that differs), else cp. emb_pinyin: toneless
 * lowercase ASCII pinyin of the first kMandarin reading, u-umlaut written
 * 'v' ("lv"), or NULL for a code point without a reading. */
int32_t emb_han_fold(int32_t cp);
const char *emb_pinyin(int32_t cp);
/* Folds the Han characters of the UTF-8 token s[0..len) in place (cap:
 * bytes available) and returns the new length; unchanged when nothing
 * folds or the result would not fit. */
int emb_han_fold_utf8(char *s, int len, int cap);
/* Pinyin of a Han string, syllables concatenated ("北京" -> "beijing");
 * u_for_v writes u-umlaut as 'u' instead of 'v'. Characters without a
 * reading of their own use their simplified form's. Returns the length
 * written (NUL-terminated), or -1 when a character has no reading or
 * out[cap] is too small. */
int emb_pinyin_utf8(const char *s, size_t len, char *out, size_t cap, bool u_for_v);

/* Pinyin syllable of a CJK unigram token of l built from text: the
 * reading of the character as typed (乾 reads qian though it folds to
 * 干), else of its folded form; NULL for kana, hangul, other tokens and
 * characters without a reading. */
const char *emb_tok_syllable(const emb_toklist *l, const char *text, const emb_tok *t);

/* Number of concepts in the lexicon; parent concept (or -1). */
int emb_concept_count(void);
int emb_concept_parent(int id);
/* Kind of entry as written in the lexicon: domain, chart, colour, scene,
 * object, synonym, ... (static string). */
const char *emb_concept_kind(int id);
/* Normalised lookup key of a concept's surface form i (Latin words joined
 * by one space, CJK characters concatenated), or NULL past the end. */
const char *emb_concept_key(int id, int i);

/* A lexicon match over a token list: tokens [first, first+n) (bigrams
 * in between included) hold n_units words or CJK characters of one script
 * whose lookup key is key; they map to the concepts ids[0..n_ids). */
#define EMB_MAX_IDS 8
typedef struct emb_match {
    int first, n, n_units;
    int start, end; /* byte offsets in the original text */
    char key[EMB_MAX_PHRASE_WORDS * (EMB_MAX_TOKEN + 1) + 8];
    int ids[EMB_MAX_IDS];
    int n_ids;
} emb_match;

/* Lexicon health for tests: malformed lines skipped, keys too long to
 * ever match (more words/characters than the EMB_MAX_PHRASE_* limits). */
int emb_lexicon_errors(void);
int emb_lexicon_unmatchable(void);

/* Finds the lexicon phrases in l: at each token the longest phrase that
 * starts there, keeping only matches not contained in an earlier longer
 * match. Returns the number written (up to max). */
int emb_find_matches(const emb_toklist *l, emb_match *out, int max);

/* ---- concept layer (words.c; WordNet, CLDR, Unihan tables generated at
 * build time by tools/gen_words.c). Synsets are indices into the tables.
 * All functions are thread-safe; the tables are read-only. */
typedef struct emb_wconcept {
    int syn;  /* synset index */
    float w;  /* 1 for the word's own sense, times 0.8 per hypernym step */
} emb_wconcept;
#define EMB_MAX_CHAIN 8

/* False when the environment sets ODX_WORDS_OFF=1 (ablation: the layer
 * then adds nothing anywhere). ODX_WORDS_OFF=hypernyms,cldr,unihan (any
 * of them) turns off those parts only (words.c). */
bool emb_words_enabled(void);
/* The ablations ODX_WORDS_OFF asks for, as a mask: EMB_OFF_LAYER (the
 * whole layer: "1", "layer" or any unknown word), EMB_OFF_LEXICON
 * ("lexicon": the hand lexicon's everyday entries, kinds object, scene
 * and colour, are not loaded; lexicon.c), and words.c's own parts. */
enum { EMB_OFF_LAYER = 1, EMB_OFF_LEXICON = 16 };
unsigned emb_words_off(void);
/* Hash of the generated tables (part of emb_model_id). */
uint32_t emb_words_tables_hash(void);
/* Lemma index of a normalised English noun or phrase (morphy: exception
 * list, then -s/-es/-ies/-men rules), or -1. */
int emb_words_lemma(const char *w, int len);
/* The synset a picture most likely shows for lemma: SemCor frequency and
 * sense order, favouring noun.animal/artifact/food/object/person/plant
 * and avoiding names; -1 for a bad lemma. */
int emb_words_sense(int lemma);
/* syn and its hypernyms (first @ or @i pointer) with weights decaying by
 * 0.8 a step, stopping before the uninformative top (entity, object,
 * whole, artifact, ...) or below weight 0.2; returns how many. */
int emb_words_chain(int syn, emb_wconcept *out, int max);
/* Concepts of an English word or phrase (lemma -> sense -> chain). */
int emb_words_en(const char *w, int len, emb_wconcept *out, int max);
/* English name of a Chinese word by CLDR (刺猬 -> "hedgehog"), or NULL. */
const char *emb_words_zh_en(const char *s, int len);
int emb_words_zh(const char *s, int len, emb_wconcept *out, int max);
/* Longest CLDR Chinese word over the CJK unigrams of l from token i:
 * returns its characters (0: none), its last token in *last and its text
 * in key[cap]. */
int emb_words_zh_match(const emb_toklist *l, int i, int *last, char *key, int cap);
/* Unihan kDefinition's first noun gloss of a Han character (鸵 ->
 * "ostrich"), or NULL; _concepts: its chain, only when the gloss names an
 * animal, a plant or a food (noun.animal, noun.plant, noun.food). */
const char *emb_words_gloss(int32_t cp);
int emb_words_gloss_concepts(int32_t cp, emb_wconcept *out, int max);
/* Synset details: lexicographer file (5 noun.animal, 6 noun.artifact...),
 * hypernym (-1), word i (NULL past the end), whether it is a top. */
int emb_words_syn_count(void);
int emb_words_syn_lexfile(int syn);
/* Whether syn's lexicographer file names things a camera sees (animal,
 * artifact, body, food, location, object, person, phenomenon, plant). */
bool emb_words_syn_concrete(int syn);
int emb_words_syn_hyper(int syn);
const char *emb_words_syn_word(int syn, int i);
bool emb_words_is_top(int syn);

#endif

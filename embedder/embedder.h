/* embedder.h - text to tokens and vectors. Knows nothing about images.
 * The same tokenizer feeds FTS5 (registered by storage) and the embedding,
 * so Chinese and English behave alike on both search paths. */
#ifndef ODX_EMBEDDER_H
#define ODX_EMBEDDER_H

#include "core.h"

/* Dimension and identity of the native embedding. Changing either makes
 * the indexer re-embed from stored captions. */
#define EMB_DIM 512
#define EMB_ID "odx-hash-v2"

/* EMB_ID plus hashes of the compiled-in lexicon and of the tokenizer id,
 * e.g. "odx-hash-v2+lex1a2b3c4d+tk5e6f" (lex: the lexicon and the concept
 * layer's tables, unless ODX_WORDS_OFF): the features depend on both, so
 * store this (not EMB_ID alone) to decide when to re-embed. At most 31
 * characters (store_content_get reads it into char[32]). Static string,
 * thread-safe. */
const char *emb_model_id(void);

/* Identity of the tokenizer (version + a hash of the Unihan tables it
 * folds with), e.g. "odx-tok-v2+unihan1a2b3c4d". FTS5 stores what it
 * tokenised, so storage keeps this in meta and rebuilds the FTS index
 * when it changes; emb_model_id() includes it too. Static, thread-safe. */
const char *emb_tokenizer_id(void);

/* NFKC + case folding (utf8proc). Returns a malloc'd string or NULL on
 * invalid input/allocation failure. */
char *emb_normalize(const char *s, size_t len);

/* Token callback: tok/len is the normalised token (not NUL-terminated);
 * start/end are byte offsets of the token in the ORIGINAL text (for FTS5).
 * colocated is true for a token at the same position as the previous one
 * (e.g. a CJK bigram next to its unigram). Non-zero return stops. */
typedef int (*emb_token_fn)(void *ctx, const char *tok, int len, int start,
                            int end, bool colocated);

/* Splits text into tokens: Latin/other-script words (letters and digits,
 * case folded, NFKC), CJK runs into character unigrams and bigrams. Han
 * characters are folded to their simplified form (Unihan
 * kSimplifiedVariant), so 星圖 and 星图 give the same tokens.
 * Punctuation and spaces separate tokens. Returns the callback's non-zero
 * value or 0. */
int emb_tokenize(const char *text, int len, emb_token_fn fn, void *ctx);

/* True for very common words (en and zh) that carry little meaning. */
bool emb_is_stopword(const char *tok, int len);

/* Embeds text into out[EMB_DIM], L2-normalised (all zeros for empty text).
 * Signed feature hashing of tokens, character n-grams of words, and the
 * bilingual concepts (lexicon) the tokens map to. Thread-safe. */
void emb_embed(const char *text, size_t len, float *out);

/* Lexicon: concepts shared between English and Chinese words.
 * emb_concepts writes up to max concept ids for one normalised token (or
 * multi-word phrase, words joined by one space; CJK characters without
 * spaces) and returns how many. An English plural or -ing/-ed form also
 * finds the concepts of its stem ("charts" -> chart). Thread-safe; the
 * lexicon is parsed once, on first use. */
int emb_concepts(const char *tok, int len, int *ids, int max);
/* All surface forms (en and zh) of a concept; NULL-terminated, static. */
const char *const *emb_concept_words(int id);
/* Name of a concept (its first English word), static. */
const char *emb_concept_name(int id);
/* Kind of a concept as written in the lexicon: domain, chart, doc, ui,
 * colour, scene, object, synonym (static string). */
const char *emb_concept_kind(int id);
/* Parent concept (bar_chart -> chart) or -1. */
int emb_concept_parent(int id);
/* Identifier of a concept as written in the lexicon ("bar_chart"), static. */
const char *emb_concept_id(int id);
/* Concepts named in a text (longest lexicon phrases, en and zh), without
 * repeats; returns how many were written to ids (at most max). */
int emb_text_concepts(const char *text, size_t len, int *ids, int max);
/* Concepts of the head of a query's noun phrase: the last word before the
 * first preposition in English ("table with population by state" -> table,
 * "cup of espresso on a table" -> cup), the last phrase in Chinese
 * ("电路板设计软件截图" -> screenshot). Used to tell what kind of image a
 * query asks for. Returns how many ids were written. */
int emb_head_concepts(const char *text, size_t len, int *ids, int max);
/* Whether the head of a query's noun phrase names a thing a camera sees by
 * WordNet (its likeliest sense is an animal, artifact, food, person,
 * place, plant, natural object or phenomenon; an English word or a CLDR
 * Chinese word): "pelican in flight", "djembe drum", 蜻蜓. For heads the
 * lexicon does not know; false when the concept layer is off. */
bool emb_head_is_thing(const char *text, size_t len);

/* A query analysed for lexical search: groups of alternative terms
 * (a query word plus its synonyms/translations). */
typedef struct emb_query_group {
    char **terms; /* normalised tokens, each safe to quote for FTS5 */
    int n_terms;
    bool stopword;
    int n_own;    /* terms[0..n_own): the query's own word and its forms;
                     the rest are expansions (synonyms, translations, pinyin) */
} emb_query_group;

typedef struct emb_query {
    emb_query_group *groups;
    int n_groups;
} emb_query;

odx_status emb_query_parse(const char *text, emb_query *out, odx_err *err);
void emb_query_free(emb_query *q);

/* Builds an FTS5 MATCH expression from the query: every term is a quoted
 * string (user text never becomes FTS syntax), alternatives are OR'ed.
 * Stop-words are dropped unless the query has nothing else. Returns a
 * malloc'd string, or NULL when the query has no searchable term. */
char *emb_query_fts(const emb_query *q);
/* The terms emb_query_fts quotes, in its order and with its cuts, for a
 * lexical engine that takes terms instead of a MATCH string (storage's
 * lexidx). Writes up to max pointers borrowed from q (EMB_QUERY_MAX_TERMS
 * is enough) and returns how many: 0 where emb_query_fts gives NULL. */
#define EMB_QUERY_MAX_TERMS 64
int emb_query_terms(const emb_query *q, const char **terms, int max);

#endif

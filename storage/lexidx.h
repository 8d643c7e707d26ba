/* lexidx.h - an in-memory inverted index over caption rows, with top-k
 * BM25 search that stops early (MaxScore over per-block maxima).
 *
 * Derived data, never the truth: storage fills it from the captions table
 * (each caption row is one document, as in the FTS5 table captions_fts).
 * Tokens are the embedder's (emb_tokenize: Latin words, CJK unigrams,
 * traditional folded to simplified); positions count the tokens that are
 * not colocated, exactly as FTS5 counts them.
 *
 * Scoring is FTS5's bm25() over one column (k1 1.2, b 0.75, idf
 * log((N - n + 0.5) / (n + 0.5)) floored at 1e-6, n the live rows holding
 * the phrase, D the row's token count, avgdl over live rows), each query
 * term a phrase as in "term1" OR "term2" (a CJK bigram colocated in the
 * query adds nothing: a document holds it only where it holds the
 * unigram), then multiplied by the weight of the row's field. With every
 * weight 1 a row's score equals -bm25() of FTS5 over the same rows. Ties
 * rank by smaller id first.
 *
 * Threads: lex_search and the other const calls may run concurrently with
 * each other; lex_add, lex_remove and lex_compact need the caller's
 * exclusive lock. */
#ifndef ODX_LEXIDX_H
#define ODX_LEXIDX_H

#include "core.h"

#include <stddef.h>
#include <stdint.h>

#define LEX_MAX_FIELDS 8
#define LEX_BLOCK 128          /* postings per block (one maximum each) */
#define LEX_MAX_TERMS 64       /* query phrases looked at; more are ignored */
#define LEX_MAX_PHRASE 64      /* tokens per phrase; a longer one matches nothing */
#define LEX_MAX_K 100000

typedef struct lex_index lex_index;

typedef struct lex_hit {
    int64_t id;   /* the row id given to lex_add */
    double score; /* > 0 */
    int field;
} lex_hit;

typedef struct lex_params {
    int k;                                /* top k rows (1..LEX_MAX_K) */
    double weights[LEX_MAX_FIELDS];       /* per field, > 0; 0 means 1 */
    bool exhaustive;                      /* score every match (the reference) */
} lex_params;

/* What one search did (out-parameter, optional). */
typedef struct lex_stats {
    int64_t postings;  /* postings read (decoded docs) */
    int64_t scored;    /* rows fully scored */
    int64_t matched;   /* rows matching (exhaustive only, else 0) */
} lex_stats;

lex_index *lex_new(void);
void lex_free(lex_index *x);

/* Adds row id (replacing an existing row with the same id) of a field in
 * 0..LEX_MAX_FIELDS-1 with its text (len bytes; empty text is a row of
 * length 0, as in FTS5). On failure (ODX_ERR_NOMEM) the id is in the index
 * no more (a row it replaced is removed) and the index answers as if the
 * row had never been added; storage drops the whole cache anyway. */
odx_status lex_add(lex_index *x, int64_t id, int field, const char *text, int len,
                   odx_err *err);
/* Removes a row; false when it is not there. */
bool lex_remove(lex_index *x, int64_t id);
bool lex_has(const lex_index *x, int64_t id);
/* Live rows, and the postings' share that belongs to removed rows (0..1):
 * a caller compacts once it is large. */
int64_t lex_rows(const lex_index *x);
double lex_dead_share(const lex_index *x);
/* Drops removed rows' postings (same results, less memory). */
odx_status lex_compact(lex_index *x, odx_err *err);
/* Bytes held by the index (allocations, not counting malloc overhead). */
size_t lex_bytes(const lex_index *x);
/* Live rows holding the token tok (len bytes, one token as emb_tokenize
 * gives it): FTS5's fts5vocab 'doc' count for the same rows; 0 when none. */
int64_t lex_token_df(const lex_index *x, const char *tok, int len);

/* Top p->k rows for terms OR'ed (each term a phrase, tokenized like the
 * documents), best first. *hits is malloc'd (free()), *n its length;
 * a query without known terms gives n 0. */
odx_status lex_search(const lex_index *x, const char *const *terms, int n_terms,
                      const lex_params *p, lex_hit **hits, int *n, lex_stats *stats,
                      odx_err *err);

#endif

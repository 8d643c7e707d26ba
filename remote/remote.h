/* remote.h - the OpenAI-compatible client: POST BASE/chat/completions and
 * BASE/embeddings over
 * libcurl with per-request timeouts, retries with backoff on 429/5xx
 * (honouring Retry-After), a circuit breaker when the endpoint is down,
 * capped responses and SSE streaming; plus the VLM prompt table and the
 * parser of VLM captions. Used by indexer/ (VLM captions) and lib/ (ask).
 * No address is built in: the base URL always comes from the user. */
#ifndef ODX_REMOTE_H
#define ODX_REMOTE_H

#include "core.h"

#include <stdbool.h>
#include <stddef.h>

/* --------------------------------------------------------- client ---- */

typedef struct rmt_config {
    const char *base_url;     /* e.g. "http://127.0.0.1:8080/v1" (http/https) */
    const char *api_key;      /* sent as "Authorization: Bearer KEY"; NULL: none */
    double timeout_s;         /* whole request (non-streaming); for streams the
                                 longest silence between bytes. Default 120 */
    double connect_timeout_s; /* default 10 */
    int max_retries;          /* extra attempts on 429/5xx/timeouts (default 3) */
    double backoff_s;         /* first wait, doubled each retry (default 1) */
    double max_wait_s;        /* cap on one wait, Retry-After included (default 30) */
    size_t max_response_bytes;/* a larger body is refused (default 8 MiB) */
    size_t max_answer_bytes;  /* content beyond this is cut, truncated=true (default 64 KiB) */
    int breaker_failures;     /* consecutive failed attempts that open the circuit (default 4) */
    double breaker_cooldown_s;/* open circuit: calls fail at once for this long (default 30) */
    volatile int *cancel;     /* set non-zero: waits and transfers stop (may be NULL) */
} rmt_config;

rmt_config rmt_config_default(void);

/* A client is shared by threads (the breaker state is common); each call
 * makes its own transfer. The strings of cfg are copied. */
typedef struct rmt_client rmt_client;
/* ODX_ERR_INVALID for a URL that is not http:// or https://. */
odx_status rmt_client_new(const rmt_config *cfg, rmt_client **out, odx_err *err);
void rmt_client_free(rmt_client *c); /* NULL fine */
/* True while the circuit is open (the endpoint failed breaker_failures
 * times in a row and the cooldown has not passed). */
bool rmt_client_down(rmt_client *c);

typedef struct rmt_chat_req {
    const char *model;
    const char *system;     /* may be NULL */
    const char *user;       /* the user message text */
    const char *image_url;  /* "data:image/png;base64,..." or NULL */
    const char *const *image_urls; /* more images, sent after image_url */
    int n_image_urls;
    int max_tokens;         /* 0: not sent */
    double temperature;     /* < 0: not sent */
    bool stream;            /* SSE; pieces go to the callback as they come */
} rmt_chat_req;

typedef struct rmt_chat_resp {
    char *content;    /* the answer without any <think> block ("" if none) */
    char *reasoning;  /* reasoning_content or the <think> block, or NULL */
    char *finish_reason; /* or NULL */
    bool truncated;   /* content was cut at max_answer_bytes */
    int http_status;  /* of the last attempt (0: no answer) */
    int attempts;
} rmt_chat_resp;
void rmt_chat_resp_clear(rmt_chat_resp *r);

/* Streaming callback: a piece of the answer (reasoning true: of the
 * reasoning) as it arrives. Not called for non-streaming requests. */
typedef void (*rmt_piece_fn)(void *user, const char *piece, size_t len, bool reasoning);

/* One chat completion. Retries 429, 5xx, timeouts, connection failures and
 * malformed bodies up to max_retries times (a stream only while nothing of
 * it was passed on). Errors: ODX_ERR_REMOTE (with the HTTP status, the
 * server's error message or curl's reason, and the URL), ODX_ERR_INVALID,
 * ODX_ERR_NOMEM, ODX_ERR_INTERRUPTED. *out is filled on success (clear it
 * with rmt_chat_resp_clear) and holds http_status/attempts on failure. */
odx_status rmt_chat(rmt_client *c, const rmt_chat_req *req, rmt_piece_fn fn, void *user,
                    rmt_chat_resp *out, odx_err *err);

/* Embeddings: POST BASE/embeddings {"model", "input": [texts]} (OpenAI's
 * /v1/embeddings, also llama-server --embedding, Ollama, vLLM), with the
 * same timeout, retries, Retry-After and breaker as rmt_chat. */
#define RMT_EMBED_MAX_BATCH 256
#define RMT_EMBED_MAX_DIM 16384
typedef struct rmt_embed_resp {
    float *v;        /* n * dim floats, vector i for texts[i], as sent */
    int n, dim;
    int http_status; /* of the last attempt (0: no answer) */
    int attempts;
} rmt_embed_resp;
void rmt_embed_resp_clear(rmt_embed_resp *r);
/* Embeds n texts (1..RMT_EMBED_MAX_BATCH) in one request. The answer must
 * hold exactly n vectors ("data"[i].embedding, placed by "index" when
 * given) of one dimension (dim_want when > 0) in 1..RMT_EMBED_MAX_DIM,
 * of finite numbers, none all zeros; otherwise the whole batch is refused
 * with ODX_ERR_REMOTE naming what was wrong (not retried: the server
 * would answer the same; a body that is not JSON is retried like a
 * chat's). Errors otherwise as rmt_chat. *out filled on success (clear it
 * with rmt_embed_resp_clear). */
odx_status rmt_embed(rmt_client *c, const char *model, const char *const *texts, int n,
                     int dim_want, rmt_embed_resp *out, odx_err *err);

#ifdef ODX_TESTING
/* Tests and fuzzing only: the SSE stream parser on a whole body fed in
 * pieces of `piece` bytes; returns the content (malloc'd, "" if none) and
 * the reasoning in *reasoning (NULL if none), both cut at max bytes. */
char *rmt_sse_parse(const char *body, size_t len, size_t piece, size_t max, char **reasoning);
#endif

/* ------------------------------------------------------------- VLM ---- */

/* Prompt table (remote/vlm_prompts.txt, compiled in): one prompt per
 * native domain. Returns the prompt text and its version string
 * ("VERSION-HASH8": the file's version plus a hash of this prompt, so an
 * edited prompt re-captions only its domain). Unknown domains get the
 * photo prompt. Static strings. */
const char *rmt_vlm_prompt(const char *domain, const char **version);
/* The system prompt sent with every VLM request. */
const char *rmt_vlm_system(void);

typedef struct rmt_caption {
    char *kind;  /* detailed, short, tags */
    char *lang;  /* en, zh */
    char *text;
} rmt_caption;

/* Parses a VLM answer written in the sections the prompts ask for
 * (DETAILED:, SHORT:, TAGS:, DETAILED_ZH:, SHORT_ZH:, TAGS_ZH:). An answer
 * without sections becomes one English detailed caption. A Chinese
 * section without Han characters is dropped (wrong language), each text
 * is cut to max_chars bytes on a UTF-8 boundary. *n 0 means nothing
 * usable (empty answer). Caller frees with rmt_captions_free. */
odx_status rmt_vlm_parse(const char *answer, size_t max_chars, rmt_caption **out, int *n,
                         odx_err *err);
void rmt_captions_free(rmt_caption *c, int n);

/* --------------------------------------------------------- config ---- */

/* Reads DIR/config (lines "key = value", '#' comments) into a malloc'd
 * value for key, or NULL when the file or the key is absent. */
char *rmt_config_file_get(const char *db_dir, const char *key);

#endif

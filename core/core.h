/* core.h - what every stage shares: errors, logging, capped buffers,
 * hashing, clocks. Internal to the library; depends on no other folder. */
#ifndef ODX_CORE_H
#define ODX_CORE_H

#include "omnidex.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef ODX_TESTING
#define ODX_STATIC
#else
#define ODX_STATIC static
#endif

#if defined(__GNUC__)
#define CORE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CORE_PRINTF(a, b)
#endif

/* Records code + message in err unless err is NULL or already holds an
 * error. Returns code so callers can `return core_err(...)`. */
odx_status core_err(odx_err *err, odx_status code, const char *fmt, ...)
    CORE_PRINTF(3, 4);
/* Same, appending ": strerror(errno)". */
odx_status core_err_errno(odx_err *err, odx_status code, const char *fmt, ...)
    CORE_PRINTF(3, 4);
void core_err_clear(odx_err *err);
/* A short name for a status ("index locked"); static (odx_status_str). */
const char *core_status_str(odx_status s);

/* Logging through the hook set by core_log_set (odx_log_set): fn NULL
 * restores the default printer (stderr, escaped, one line a message). */
enum { CORE_LOG_ERROR = 0, CORE_LOG_WARN = 1, CORE_LOG_INFO = 2, CORE_LOG_DEBUG = 3 };
void core_log(int level, const char *fmt, ...) CORE_PRINTF(2, 3);
void core_log_set(odx_log_fn fn, void *user, int max_level);

/* The vocabularies (vocab.c): names of odx_domain, odx_caption_kind and
 * odx_search_mode values (NULL out of range; domains also in Chinese);
 * parse gives the value or -1 (domains and modes ignore case). */
const char *core_domain_name(int d);
const char *core_domain_name_zh(int d);
int core_domain_parse(const char *s);
const char *core_caption_kind_name(int k);
int core_caption_kind_parse(const char *s);
const char *core_search_mode_name(int m);
int core_search_mode_parse(const char *s);

/* Growable byte buffer with a hard cap; data is always NUL-terminated.
 * A failed append (cap or allocation) sets overflow and leaves data as is. */
typedef struct core_buf {
    char *data;
    size_t len, cap, max;
    bool overflow;
} core_buf;

void core_buf_init(core_buf *b, size_t max); /* max 0: 1 GiB */
bool core_buf_append(core_buf *b, const void *p, size_t n);
bool core_buf_puts(core_buf *b, const char *s);
bool core_buf_printf(core_buf *b, const char *fmt, ...) CORE_PRINTF(2, 3);
/* Returns the malloc'd string (never NULL: "" for empty) and resets b. */
char *core_buf_steal(core_buf *b);
void core_buf_free(core_buf *b);

/* SHA-256 of n bytes (libcrypto's EVP_Digest; any thread). False only
 * when libcrypto fails (no memory): out is then zeros, hex "". */
bool core_sha256(const void *p, size_t n, uint8_t out[32]);
/* Lower-case hex of the digest into hex[65]. */
bool core_sha256_hex(const void *p, size_t n, char hex[65]);

/* The sub-rectangles of a picture that its crop hashes are taken of
 * (captioner: cap_dhash_crops) and that search by example compares grey
 * grids through (retriever), as fractions (x0, y0, x1, y1): centred crops
 * to 95, 90, 85 and 80% of each side, and the four 90% crops into the
 * corners (hash.c). */
#define CORE_N_PIC_CROPS 8
extern const double core_pic_crops[CORE_N_PIC_CROPS][4];

/* 64-bit non-cryptographic hash (for feature hashing, dedup keys). */
uint64_t core_hash64(const void *p, size_t n, uint64_t seed);

/* Reads a whole file into memory, refusing files over max_bytes (ODX_ERR_LIMIT).
 * *out is malloc'd (caller frees); also NUL-terminated for text use. */
odx_status core_read_file(const char *path, int64_t max_bytes, uint8_t **out,
                          size_t *len, odx_err *err);

/* Writes data to path atomically: temp file, fsync, rename, fsync dir. */
odx_status core_write_atomic(const char *path, const void *data, size_t len,
                             odx_err *err);

/* Monotonic seconds. */
double core_now(void);

/* strdup that returns NULL on NULL. */
char *core_strdup(const char *s);
/* malloc'd printf. */
char *core_sprintf(const char *fmt, ...) CORE_PRINTF(1, 2);

/* Number of online CPUs (>= 1). */
int core_n_cpus(void);

/* UTF-8 helpers: decode one code point at s (len bytes left); returns bytes
 * consumed (>= 1) and writes the code point (0xFFFD for invalid input). */
int core_utf8_next(const char *s, size_t len, int32_t *cp);
/* True for Han ideographs, kana, Hangul (FACTS.md block ranges). */
bool core_is_cjk(int32_t cp);
/* True when s (NUL-terminated, NULL fine) holds a CJK code point. */
bool core_has_cjk(const char *s);
/* Copies s into a valid UTF-8 string (invalid bytes become U+FFFD). */
char *core_utf8_sanitize(const char *s, size_t len);
/* True when s[0..len) is valid UTF-8 (no overlong forms, no surrogates). */
bool core_utf8_valid(const char *s, size_t len);
/* Standard base64 (RFC 4648, with padding) of n bytes; malloc'd. */
char *core_base64(const void *p, size_t n);

/* Output safety (text.c). core_text_escape makes untrusted text (file
 * names, OCR text, captions, error reasons) safe to print on a terminal:
 * C0 controls, DEL and invalid UTF-8 bytes become \xHH, C1 controls and
 * the bidirectional override/isolate marks \uHHHH; everything else,
 * backslashes included, is kept. multiline keeps newline and tab (for
 * blocks of OCR text or tables); otherwise they are escaped too, so one
 * field stays on one line. Returns malloc'd text (NULL s: ""). */
char *core_text_escape(const char *s, size_t len, bool multiline);
/* The one rule for file paths in JSON: o[key] is the path as valid UTF-8
 * (invalid bytes replaced by U+FFFD) and, only when the path is not valid
 * UTF-8, o[key "_b64"] holds the standard base64 of its raw bytes. */
struct cJSON;
bool core_json_add_path(struct cJSON *o, const char *key, const char *path, size_t len);
/* o[key] = s as valid UTF-8 (invalid bytes replaced): for messages. */
bool core_json_add_text(struct cJSON *o, const char *key, const char *s);

#endif

/* srv_cache.c - what thumbnails need besides decoding: the content hash
 * that proves a file is still what was indexed (SHA-256, FIPS 180-4, as
 * the indexer keys content), and the LRU cache of finished thumbnails. */
#include "server.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------- SHA-256 ---- */

typedef struct sha256 {
    uint32_t h[8];
    uint64_t n; /* bytes so far */
    uint8_t blk[64];
    size_t used;
} sha256;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static uint32_t ror(uint32_t x, int n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha_block(sha256 *s, const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[i * 4] << 24 | (uint32_t)p[i * 4 + 1] << 16 |
               (uint32_t)p[i * 4 + 2] << 8 | p[i * 4 + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
    uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
    s->h[5] += f;
    s->h[6] += g;
    s->h[7] += h;
}

static void sha_init(sha256 *s)
{
    static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memset(s, 0, sizeof *s);
    memcpy(s->h, H0, sizeof H0);
}

static void sha_update(sha256 *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->n += len;
    while (len) {
        size_t k = 64 - s->used < len ? 64 - s->used : len;
        memcpy(s->blk + s->used, p, k);
        s->used += k;
        p += k;
        len -= k;
        if (s->used == 64) {
            sha_block(s, s->blk);
            s->used = 0;
        }
    }
}

static void sha_final_hex(sha256 *s, char hex[65])
{
    uint64_t bits = s->n * 8;
    uint8_t pad = 0x80;
    sha_update(s, &pad, 1);
    pad = 0;
    while (s->used != 56)
        sha_update(s, &pad, 1);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha_update(s, len, 8);
    static const char dig[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++) {
            uint8_t b = (uint8_t)(s->h[i] >> (24 - 8 * k));
            hex[i * 8 + k * 2] = dig[b >> 4];
            hex[i * 8 + k * 2 + 1] = dig[b & 15];
        }
    hex[64] = 0;
}

void srv_sha256_hex(const void *data, size_t len, char hex[65])
{
    sha256 s;
    sha_init(&s);
    sha_update(&s, data, len);
    sha_final_hex(&s, hex);
}

odx_status srv_sha256_fd(int fd, char hex[65], odx_err *err)
{
    if (lseek(fd, 0, SEEK_SET) != 0)
        return srv_err(err, ODX_ERR_IO, "cannot rewind the file: %s", strerror(errno));
    sha256 s;
    sha_init(&s);
    char buf[65536];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return srv_err(err, ODX_ERR_IO, "cannot read the file: %s", strerror(errno));
        if (r == 0)
            break;
        sha_update(&s, buf, (size_t)r);
    }
    sha_final_hex(&s, hex);
    return ODX_OK;
}

/* ------------------------------------------------------------ cache ---- */

typedef struct tentry {
    char key[96];
    odx_status st;
    char *msg;
    unsigned char *jpg;
    size_t len;
    struct tentry *prev, *next; /* most recently used first */
} tentry;

struct srv_tcache {
    pthread_mutex_t mu;
    tentry *head, *tail;
    size_t bytes, cap;
};

/* What an entry costs, its bookkeeping included. */
static size_t entry_cost(const tentry *e)
{
    return sizeof *e + e->len + (e->msg ? strlen(e->msg) + 1 : 0);
}

srv_tcache *srv_tcache_new(size_t cap)
{
    srv_tcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->cap = cap;
    return c;
}

static void unlink_entry(srv_tcache *c, tentry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(srv_tcache *c, tentry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void entry_free(tentry *e)
{
    free(e->msg);
    free(e->jpg);
    free(e);
}

void srv_tcache_free(srv_tcache *c)
{
    if (!c)
        return;
    while (c->head) {
        tentry *e = c->head;
        c->head = e->next;
        entry_free(e);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* A linear walk: a cache of a few MiB holds a few thousand thumbnails, and
 * one strcmp each is nothing next to one decode. */
static tentry *find(srv_tcache *c, const char *key)
{
    for (tentry *e = c->head; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

void srv_tcache_put(srv_tcache *c, const char *key, odx_status st, const char *msg,
                    const unsigned char *jpg, size_t len)
{
    if (!c)
        return;
    tentry *e = calloc(1, sizeof *e);
    if (!e)
        return;
    snprintf(e->key, sizeof e->key, "%s", key);
    e->st = st;
    e->len = jpg ? len : 0;
    if ((msg && !(e->msg = strdup(msg))) || (jpg && len && !(e->jpg = malloc(len)))) {
        entry_free(e);
        return;
    }
    if (e->jpg)
        memcpy(e->jpg, jpg, len);
    size_t cost = entry_cost(e);
    pthread_mutex_lock(&c->mu);
    tentry *old = find(c, key);
    if (old) {
        unlink_entry(c, old);
        c->bytes -= entry_cost(old);
        entry_free(old);
    }
    if (cost > c->cap) {
        pthread_mutex_unlock(&c->mu);
        entry_free(e);
        return;
    }
    while (c->bytes + cost > c->cap && c->tail) {
        tentry *v = c->tail;
        unlink_entry(c, v);
        c->bytes -= entry_cost(v);
        entry_free(v);
    }
    push_front(c, e);
    c->bytes += cost;
    pthread_mutex_unlock(&c->mu);
}

bool srv_tcache_get(srv_tcache *c, const char *key, odx_status *st, char *msg, size_t msg_len,
                    unsigned char **jpg, size_t *len)
{
    if (!c)
        return false;
    pthread_mutex_lock(&c->mu);
    tentry *e = find(c, key);
    bool hit = false;
    if (e) {
        unsigned char *copy = NULL;
        if (e->jpg && !(copy = malloc(e->len))) {
            pthread_mutex_unlock(&c->mu);
            return false;
        }
        if (copy)
            memcpy(copy, e->jpg, e->len);
        unlink_entry(c, e);
        push_front(c, e);
        *st = e->st;
        snprintf(msg, msg_len, "%s", e->msg ? e->msg : "");
        *jpg = copy;
        *len = e->len;
        hit = true;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

size_t srv_tcache_bytes(srv_tcache *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->mu);
    size_t b = c->bytes;
    pthread_mutex_unlock(&c->mu);
    return b;
}

/* srv_cache.c - what thumbnails need besides decoding: the content hash
 * that proves a file is still what was indexed (SHA-256 from libcrypto, as
 * the indexer keys content), and the LRU cache of finished thumbnails. */
#include "server.h"

#include <openssl/evp.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------- SHA-256 ---- */

/* OpenSSL's libcrypto, as the indexer (core/hash.c) computes its keys. */
static void to_hex(const unsigned char d[32], char hex[65])
{
    static const char dig[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = dig[d[i] >> 4];
        hex[2 * i + 1] = dig[d[i] & 15];
    }
    hex[64] = 0;
}

void srv_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char d[32];
    unsigned int n = 0;
    if (EVP_Digest(data, len, d, &n, EVP_sha256(), NULL) == 1 && n == 32)
        to_hex(d, hex);
    else
        hex[0] = 0;
}

odx_status srv_sha256_fd(int fd, char hex[65], odx_err *err)
{
    if (lseek(fd, 0, SEEK_SET) != 0)
        return srv_err(err, ODX_ERR_IO, "cannot rewind the file: %s", strerror(errno));
    odx_status st = ODX_OK;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        st = srv_err(err, ODX_ERR_NOMEM, "cannot start SHA-256");
        goto done;
    }
    char buf[65536];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = srv_err(err, ODX_ERR_IO, "cannot read the file: %s", strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1) {
            st = srv_err(err, ODX_ERR_INTERNAL, "SHA-256 failed");
            goto done;
        }
    }
    unsigned char d[32];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx, d, &n) != 1 || n != 32) {
        st = srv_err(err, ODX_ERR_INTERNAL, "SHA-256 failed");
        goto done;
    }
    to_hex(d, hex);
done:
    EVP_MD_CTX_free(ctx);
    return st;
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

/* model.c - loads a TF.js graph model: model.json (cJSON) + weight shards,
 * builds and checks the node graph, folds constant sub-graphs and fuses
 * conv + bias + activation. The result is read-only; run.c executes it. */
#include "runtime_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* ------------------------------------------------------------ tensors ---- */

static bool shape_count_max(int ndim, const int64_t *shape, int64_t max, int64_t *n)
{
    int64_t c = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return false;
        if (shape[i] > 0 && c > max / shape[i]) return false;
        c *= shape[i];
    }
    *n = c;
    return c <= max;
}

static bool shape_count(int ndim, const int64_t *shape, int64_t *n)
{
    return shape_count_max(ndim, shape, TFJ_MAX_ELEMS, n);
}

#define TFJ_POOL_MAX_BUFS 256
#define TFJ_POOL_MIN_BYTES ((size_t)64 << 10) /* smaller: malloc is cheap */
#define TFJ_POOL_MAX_BYTES ((size_t)512 << 20)

static _Thread_local tfj_pool *cur_pool;

/* Pool-sized buffers (allocated inside a run, t->cap set) come straight
 * from mmap and go back with munmap: through malloc, glibc's sliding mmap
 * threshold moved them onto the heap after the first frees, and the heap
 * kept every size the recogniser's varying line widths had asked for
 * (resident set of one PP-OCR state grew 110 -> 630 MB over three dev
 * pages). Sanitizer builds keep malloc so ASan still sees these buffers. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TFJ_BIG_MALLOC 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TFJ_BIG_MALLOC 1
#endif

static void *big_alloc(size_t n)
{
#ifdef TFJ_BIG_MALLOC
    return calloc(n, 1);
#else
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p; /* zero pages */
#endif
}

static void big_free(void *p, size_t n)
{
#ifdef TFJ_BIG_MALLOC
    (void)n;
    free(p);
#else
    if (p) munmap(p, n);
#endif
}

void tfj_pool_enter(tfj_pool *p)
{
    p->run++;
    cur_pool = p;
}

void tfj_pool_trim(tfj_pool *p)
{
    int k = 0;
    for (int i = 0; i < p->n; i++) {
        if (p->gen[i] == p->run) {
            p->buf[k] = p->buf[i], p->cap[k] = p->cap[i], p->gen[k] = p->gen[i];
            k++;
        } else {
            p->bytes -= p->cap[i];
            big_free(p->buf[i], p->cap[i]);
        }
    }
    p->n = k;
}
void tfj_pool_leave(void) { cur_pool = NULL; }

void tfj_pool_free(tfj_pool *p)
{
    if (!p) return;
    for (int i = 0; i < p->n; i++) big_free(p->buf[i], p->cap[i]);
    free(p->buf);
    free(p->cap);
    free(p->gen);
    memset(p, 0, sizeof *p);
}

/* Smallest pooled buffer of at least need bytes, or NULL. */
static void *pool_take(size_t need, size_t *cap)
{
    tfj_pool *p = cur_pool;
    int best = -1;
    /* best fit, and never a buffer over twice the need: a big buffer spent on
     * a small tensor would send the next big request back to mmap */
    for (int i = 0; p && i < p->n; i++)
        if (p->cap[i] >= need && p->cap[i] / 2 <= need &&
            (best < 0 || p->cap[i] < p->cap[best]))
            best = i;
    if (best < 0) return NULL;
    void *b = p->buf[best];
    *cap = p->cap[best];
    p->bytes -= p->cap[best];
    p->buf[best] = p->buf[p->n - 1];
    p->cap[best] = p->cap[p->n - 1];
    p->gen[best] = p->gen[p->n - 1];
    p->n--;
    return b;
}

static bool pool_give(void *b, size_t cap)
{
    tfj_pool *p = cur_pool;
    if (!p || p->bytes + cap > TFJ_POOL_MAX_BYTES) return false;
    if (p->n == p->max) {
        if (p->max >= TFJ_POOL_MAX_BUFS) return false;
        int nm = p->max ? p->max * 2 : 16;
        void **nb = realloc(p->buf, (size_t)nm * sizeof *nb);
        if (!nb) return false;
        p->buf = nb;
        size_t *nc = realloc(p->cap, (size_t)nm * sizeof *nc);
        if (!nc) return false;
        p->cap = nc;
        unsigned *ng = realloc(p->gen, (size_t)nm * sizeof *ng);
        if (!ng) return false;
        p->gen = ng;
        p->max = nm;
    }
    p->buf[p->n] = b;
    p->gen[p->n] = p->run;
    p->cap[p->n++] = cap;
    p->bytes += cap;
    return true;
}

static odx_status alloc_impl(tfj_tensor *t, tfj_dtype dt, int ndim, const int64_t *shape,
                             bool zero, odx_err *err)
{
    int64_t n;
    if (ndim < 0 || ndim > TFJ_MAX_DIMS)
        return core_err(err, ODX_ERR_MODEL, "tensor rank %d unsupported", ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return core_err(err, ODX_ERR_MODEL, "negative dimension %lld",
                            (long long)shape[i]);
    /* inside a run, the state's own (lower) limit, if it set one */
    int64_t max = cur_pool && cur_pool->max_elems > 0 && cur_pool->max_elems < TFJ_MAX_ELEMS
                      ? cur_pool->max_elems
                      : TFJ_MAX_ELEMS;
    if (!shape_count_max(ndim, shape, max, &n))
        return core_err(err, ODX_ERR_LIMIT,
                        "tensor of rank %d too large (limit %lld elements)", ndim,
                        (long long)max);
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->n = n;
    /* 4 bytes for both dtypes; +1 so empty tensors still own a pointer */
    size_t need = ((size_t)n + 1) * 4;
    if (cur_pool && need >= TFJ_POOL_MIN_BYTES) {
        t->d.p = pool_take(need, &t->cap);
        if (t->d.p) {
            if (zero) memset(t->d.p, 0, need);
        } else if ((t->d.p = big_alloc(need))) {
            t->cap = need;
        }
    } else {
        t->d.p = zero ? calloc(need, 1) : malloc(need);
    }
    if (!t->d.p) return core_err(err, ODX_ERR_NOMEM, "out of memory for tensor");
    t->owned = true;
    return ODX_OK;
}

odx_status tfj_tensor_alloc(tfj_tensor *t, tfj_dtype dt, int ndim, const int64_t *shape,
                            odx_err *err)
{
    return alloc_impl(t, dt, ndim, shape, true, err);
}

odx_status tfj_tensor_alloc_nz(tfj_tensor *t, tfj_dtype dt, int ndim, const int64_t *shape,
                               odx_err *err)
{
    return alloc_impl(t, dt, ndim, shape, false, err);
}

void tfj_tensor_release(tfj_tensor *t)
{
    if (!t) return;
    if (t->owned && t->cap) {
        if (!pool_give(t->d.p, t->cap)) big_free(t->d.p, t->cap);
    } else if (t->owned) {
        free(t->d.p);
    }
    memset(t, 0, sizeof *t);
}

void tfj_node_err(odx_err *err, odx_status st, const tfj_node *nd, const odx_err *ke)
{
    if (!strncmp(ke->msg, "node '", 6))
        core_err(err, st, "%s", ke->msg);
    else
        core_err(err, st, "node '%s' (%s): %s", nd->name, nd->op,
                 ke->msg[0] ? ke->msg : "failed");
}

float tfj_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t ex = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (ex == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (ex == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((ex + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* -------------------------------------------------------- json helpers ---- */

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Decodes base64 (TF.js stores string attributes so) into out (cap bytes,
 * NUL-terminated). Returns false on bad input or overflow. */
static bool b64_decode(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        int v = b64val((unsigned char)*s);
        if (v < 0) return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= cap) return false;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = 0;
    return true;
}

/* TF.js writes int64 attributes as strings, int32 ones sometimes as numbers. */
static bool json_int(const cJSON *v, int64_t *out)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= -9e15 && d <= 9e15) || d != floor(d)) return false;
        *out = (int64_t)d;
        return true;
    }
    if (cJSON_IsString(v) && v->valuestring[0]) {
        char *end;
        errno = 0;
        long long x = strtoll(v->valuestring, &end, 10);
        if (errno || *end) return false;
        *out = x;
        return true;
    }
    return false;
}

/* Parses a tensorShape {"dim":[{"size":"3"},{}]} ({} = 0, "-1" = unknown). */
static odx_status parse_shape(const cJSON *ts, const char *what, int *ndim,
                              int64_t *shape, odx_err *err)
{
    *ndim = -1; /* unknown rank */
    if (!ts) return ODX_OK;
    *ndim = 0;
    if (!cJSON_IsObject(ts))
        return core_err(err, ODX_ERR_MODEL, "bad tensorShape of '%s'", what);
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(ts, "dim");
    if (!dims) return ODX_OK;
    if (!cJSON_IsArray(dims) || cJSON_GetArraySize(dims) > TFJ_MAX_DIMS)
        return core_err(err, ODX_ERR_MODEL, "bad or too many dims in shape of '%s'",
                        what);
    const cJSON *d;
    cJSON_ArrayForEach(d, dims)
    {
        const cJSON *sz = cJSON_GetObjectItemCaseSensitive(d, "size");
        int64_t v = 0;
        if (sz && !json_int(sz, &v))
            return core_err(err, ODX_ERR_MODEL, "bad dim size in shape of '%s'", what);
        if (v < -1) return core_err(err, ODX_ERR_MODEL, "bad dim %lld in '%s'",
                                    (long long)v, what);
        shape[(*ndim)++] = v;
    }
    return ODX_OK;
}

static int parse_dtype(const char *s, tfj_dtype *dt)
{
    if (!s) return -1;
    if (!strcmp(s, "DT_FLOAT") || !strcmp(s, "float32")) {
        *dt = TFJ_F32;
        return 0;
    }
    /* int64 constants are stored as int32 by the TF.js converter */
    if (!strcmp(s, "DT_INT32") || !strcmp(s, "DT_INT64") || !strcmp(s, "int32")) {
        *dt = TFJ_I32;
        return 0;
    }
    return -1;
}

static const cJSON *attr(const cJSON *attrs, const char *k)
{
    return attrs ? cJSON_GetObjectItemCaseSensitive(attrs, k) : NULL;
}

/* Reads {"list":{"i":[...]}} into v[n] (exactly n values, or none). */
static odx_status attr_ints(const cJSON *attrs, const char *k, int *v, int n,
                            const char *node, odx_err *err)
{
    const cJSON *a = attr(attrs, k);
    if (!a) return ODX_OK;
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(a, "list");
    const cJSON *arr = l ? cJSON_GetObjectItemCaseSensitive(l, "i") : NULL;
    if (!arr) return ODX_OK; /* empty list */
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != n)
        return core_err(err, ODX_ERR_MODEL, "attribute %s of '%s' must list %d ints",
                        k, node, n);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        int64_t x;
        if (!json_int(e, &x) || x < 0 || x > 65536)
            return core_err(err, ODX_ERR_MODEL, "bad value in %s of '%s'", k, node);
        v[i++] = (int)x;
    }
    return ODX_OK;
}

static bool attr_str(const cJSON *attrs, const char *k, char *out, size_t cap)
{
    const cJSON *a = attr(attrs, k);
    const cJSON *s = a ? cJSON_GetObjectItemCaseSensitive(a, "s") : NULL;
    if (!cJSON_IsString(s)) return false;
    return b64_decode(s->valuestring, out, cap);
}

static bool attr_bool(const cJSON *attrs, const char *k)
{
    const cJSON *a = attr(attrs, k);
    const cJSON *b = a ? cJSON_GetObjectItemCaseSensitive(a, "b") : NULL;
    return cJSON_IsTrue(b);
}

/* ------------------------------------------------------- name lookup ---- */

typedef struct name_map {
    int *slot;
    size_t cap; /* power of two */
    tfj_node *nodes;
} name_map;

static size_t name_hash(const char *s, size_t len)
{
    return (size_t)core_hash64(s, len, 0x7466);
}

static int map_find(const name_map *mp, const char *s, size_t len)
{
    size_t h = name_hash(s, len) & (mp->cap - 1);
    while (mp->slot[h] >= 0) {
        const char *nm = mp->nodes[mp->slot[h]].name;
        if (strlen(nm) == len && !memcmp(nm, s, len)) return mp->slot[h];
        h = (h + 1) & (mp->cap - 1);
    }
    return -1;
}

static void map_put(name_map *mp, int idx)
{
    const char *s = mp->nodes[idx].name;
    size_t h = name_hash(s, strlen(s)) & (mp->cap - 1);
    while (mp->slot[h] >= 0) h = (h + 1) & (mp->cap - 1);
    mp->slot[h] = idx;
}

/* Splits "name:N" / "^name" into node index and output index. */
static odx_status resolve_ref(const name_map *mp, const char *ref, int *node,
                              int *out_idx, bool *ctrl, const char *who,
                              odx_err *err)
{
    *ctrl = ref[0] == '^';
    if (*ctrl) ref++;
    size_t len = strlen(ref);
    *out_idx = 0;
    const char *colon = strrchr(ref, ':');
    if (colon && colon[1]) {
        const char *p = colon + 1;
        while (*p >= '0' && *p <= '9') p++;
        if (!*p && p - colon - 1 < 6) {
            *out_idx = atoi(colon + 1);
            len = (size_t)(colon - ref);
        }
    }
    *node = map_find(mp, ref, len);
    if (*node < 0)
        return core_err(err, ODX_ERR_MODEL, "node '%s' uses unknown input '%s'", who,
                        ref);
    return ODX_OK;
}

/* ------------------------------------------------------------ weights ---- */

typedef struct weight {
    const char *name; /* borrowed from the JSON tree */
    tfj_tensor t;
    bool used;
} weight;

static char *path_join(const char *dir, const char *file)
{
    return core_sprintf("%s/%s", dir, file);
}

/* Reads all shards of one manifest group, concatenated. */
static odx_status read_group(const char *dir, const cJSON *paths, uint8_t **out,
                             size_t *len, odx_err *err)
{
    odx_status st = ODX_OK;
    uint8_t *all = NULL;
    size_t n = 0;
    const cJSON *p;
    if (!cJSON_IsArray(paths) || cJSON_GetArraySize(paths) < 1)
        return core_err(err, ODX_ERR_MODEL, "weights group without paths");
    cJSON_ArrayForEach(p, paths)
    {
        if (!cJSON_IsString(p) || !p->valuestring[0] || strstr(p->valuestring, "..") ||
            p->valuestring[0] == '/') {
            st = core_err(err, ODX_ERR_MODEL, "bad weights path in manifest");
            goto done;
        }
        char *full = path_join(dir, p->valuestring);
        uint8_t *buf = NULL;
        size_t blen = 0;
        if (!full) {
            st = core_err(err, ODX_ERR_NOMEM, "out of memory");
            goto done;
        }
        struct stat sb;
        if (stat(full, &sb) != 0) {
            st = core_err_errno(err, ODX_ERR_NOT_FOUND, "weights file '%s'", full);
            free(full);
            goto done;
        }
        st = core_read_file(full, TFJ_MAX_BIN_BYTES, &buf, &blen, err);
        free(full);
        if (st != ODX_OK) goto done;
        if (n + blen > (size_t)TFJ_MAX_BIN_BYTES) {
            free(buf);
            st = core_err(err, ODX_ERR_LIMIT, "weights over %lld bytes",
                          (long long)TFJ_MAX_BIN_BYTES);
            goto done;
        }
        uint8_t *grown = realloc(all, n + blen + 1);
        if (!grown) {
            free(buf);
            st = core_err(err, ODX_ERR_NOMEM, "out of memory for weights");
            goto done;
        }
        all = grown;
        memcpy(all + n, buf, blen);
        n += blen;
        free(buf);
    }
    *out = all;
    *len = n;
    all = NULL;
done:
    free(all);
    return st;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Decodes one manifest entry at data[*off] into w->t, advancing *off. */
static odx_status decode_weight(const cJSON *spec, const uint8_t *data, size_t len,
                                size_t *off, weight *w, odx_err *err)
{
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(spec, "name");
    const cJSON *shp = cJSON_GetObjectItemCaseSensitive(spec, "shape");
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(spec, "dtype");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(spec, "quantization");
    if (!cJSON_IsString(nm) || !cJSON_IsArray(shp) || !cJSON_IsString(dt))
        return core_err(err, ODX_ERR_MODEL, "weights entry without name/shape/dtype");
    w->name = nm->valuestring;
    int ndim = cJSON_GetArraySize(shp);
    int64_t shape[TFJ_MAX_DIMS];
    if (ndim > TFJ_MAX_DIMS)
        return core_err(err, ODX_ERR_MODEL, "weight '%s' has rank %d", w->name, ndim);
    int k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, shp)
    {
        if (!json_int(e, &shape[k]) || shape[k] < 0)
            return core_err(err, ODX_ERR_MODEL, "weight '%s' has a bad shape", w->name);
        k++;
    }
    tfj_dtype dtype;
    if (parse_dtype(dt->valuestring, &dtype) < 0)
        return core_err(err, ODX_ERR_UNSUPPORTED, "weight '%s' has dtype '%s'",
                        w->name, dt->valuestring);
    /* storage: float32/int32 (4 bytes) or a quantised float */
    int qkind = 0; /* 0 none, 1 float16, 2 uint8, 3 uint16 */
    double qmin = 0, qscale = 1;
    if (q) {
        const cJSON *qd = cJSON_GetObjectItemCaseSensitive(q, "dtype");
        if (!cJSON_IsString(qd))
            return core_err(err, ODX_ERR_MODEL, "weight '%s': bad quantization",
                            w->name);
        if (!strcmp(qd->valuestring, "float16")) qkind = 1;
        else if (!strcmp(qd->valuestring, "uint8")) qkind = 2;
        else if (!strcmp(qd->valuestring, "uint16")) qkind = 3;
        else
            return core_err(err, ODX_ERR_UNSUPPORTED,
                            "weight '%s': quantization dtype '%s'", w->name,
                            qd->valuestring);
        if (qkind >= 2) {
            const cJSON *mn = cJSON_GetObjectItemCaseSensitive(q, "min");
            const cJSON *sc = cJSON_GetObjectItemCaseSensitive(q, "scale");
            if (!cJSON_IsNumber(mn) || !cJSON_IsNumber(sc) || !isfinite(mn->valuedouble) ||
                !isfinite(sc->valuedouble))
                return core_err(err, ODX_ERR_MODEL,
                                "weight '%s': quantization needs min and scale", w->name);
            qmin = mn->valuedouble;
            qscale = sc->valuedouble;
        }
        if (dtype != TFJ_F32 && qkind == 1)
            return core_err(err, ODX_ERR_MODEL, "weight '%s': float16 of an int",
                            w->name);
    }
    odx_status st = tfj_tensor_alloc(&w->t, dtype, ndim, shape, err);
    if (st != ODX_OK) return st;
    size_t esz = qkind == 0 ? 4 : qkind == 2 ? 1 : 2;
    size_t need = (size_t)w->t.n * esz;
    if (*off > len || len - *off < need)
        return core_err(err, ODX_ERR_MODEL,
                        "weights file too short: '%s' needs %zu bytes at offset %zu of %zu",
                        w->name, need, *off, len);
    const uint8_t *p = data + *off;
    for (int64_t i = 0; i < w->t.n; i++) {
        switch (qkind) {
        case 0: {
            uint32_t v = rd32(p + 4 * i);
            memcpy(dtype == TFJ_F32 ? (void *)&w->t.d.f[i] : (void *)&w->t.d.i[i], &v, 4);
            break;
        }
        case 1:
            w->t.d.f[i] = tfj_half_to_float((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
            break;
        case 2:
            if (dtype == TFJ_F32) w->t.d.f[i] = (float)(p[i] * qscale + qmin);
            else w->t.d.i[i] = (int32_t)lround(p[i] * qscale + qmin);
            break;
        default: {
            unsigned v = p[2 * i] | p[2 * i + 1] << 8;
            if (dtype == TFJ_F32) w->t.d.f[i] = (float)(v * qscale + qmin);
            else w->t.d.i[i] = (int32_t)lround(v * qscale + qmin);
            break;
        }
        }
    }
    *off += need;
    return ODX_OK;
}

static odx_status load_weights(const cJSON *manifest, const char *dir,
                               weight **out, int *n_out, odx_err *err)
{
    odx_status st = ODX_OK;
    weight *ws = NULL;
    int n = 0, cap = 0;
    uint8_t *data = NULL;
    if (!cJSON_IsArray(manifest))
        return core_err(err, ODX_ERR_MODEL, "weightsManifest is not an array");
    const cJSON *g;
    cJSON_ArrayForEach(g, manifest)
    {
        size_t len = 0, off = 0;
        const cJSON *specs = cJSON_GetObjectItemCaseSensitive(g, "weights");
        if (!cJSON_IsArray(specs)) {
            st = core_err(err, ODX_ERR_MODEL, "weights group without 'weights'");
            goto done;
        }
        st = read_group(dir, cJSON_GetObjectItemCaseSensitive(g, "paths"), &data, &len,
                        err);
        if (st != ODX_OK) goto done;
        const cJSON *s;
        cJSON_ArrayForEach(s, specs)
        {
            if (n == cap) {
                if (cap >= TFJ_MAX_NODES) {
                    st = core_err(err, ODX_ERR_LIMIT, "too many weights");
                    goto done;
                }
                int nc = cap ? cap * 2 : 64;
                weight *grown = realloc(ws, (size_t)nc * sizeof *ws);
                if (!grown) {
                    st = core_err(err, ODX_ERR_NOMEM, "out of memory");
                    goto done;
                }
                ws = grown;
                cap = nc;
            }
            memset(&ws[n], 0, sizeof ws[n]);
            st = decode_weight(s, data, len, &off, &ws[n], err);
            n++;
            if (st != ODX_OK) goto done;
        }
        if (off != len) {
            st = core_err(err, ODX_ERR_MODEL,
                          "weights file size %zu does not match the manifest (%zu bytes)",
                          len, off);
            goto done;
        }
        free(data);
        data = NULL;
    }
done:
    free(data);
    if (st != ODX_OK) {
        for (int i = 0; i < n; i++) tfj_tensor_release(&ws[i].t);
        free(ws);
        return st;
    }
    *out = ws;
    *n_out = n;
    return ODX_OK;
}

/* -------------------------------------------------------------- nodes ---- */

static odx_status parse_node(const cJSON *jn, tfj_node *nd, odx_err *err)
{
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(jn, "name");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(jn, "op");
    if (!cJSON_IsString(nm) || !nm->valuestring[0] || !cJSON_IsString(op))
        return core_err(err, ODX_ERR_MODEL, "node without name or op");
    nd->name = core_strdup(nm->valuestring);
    nd->op = core_strdup(op->valuestring);
    if (!nd->name || !nd->op) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(jn, "attr");
    if (attrs && !cJSON_IsObject(attrs))
        return core_err(err, ODX_ERR_MODEL, "node '%s': attr is not an object", nd->name);
    nd->n_out = 1;
    for (int i = 0; i < 4; i++) nd->strides[i] = nd->dilations[i] = nd->ksize[i] = 1;
    nd->alpha = 0.2f; /* TF's LeakyRelu default */
    odx_status st;
    if ((st = attr_ints(attrs, "strides", nd->strides, 4, nd->name, err)) ||
        (st = attr_ints(attrs, "dilations", nd->dilations, 4, nd->name, err)) ||
        (st = attr_ints(attrs, "ksize", nd->ksize, 4, nd->name, err)))
        return st;
    for (int i = 0; i < 4; i++)
        if (nd->strides[i] < 1 || nd->dilations[i] < 1 || nd->ksize[i] < 1)
            return core_err(err, ODX_ERR_MODEL, "node '%s': zero stride/dilation/ksize",
                            nd->name);
    char s[32];
    if (attr_str(attrs, "padding", s, sizeof s)) {
        if (!strcmp(s, "VALID")) nd->padding = TFJ_PAD_VALID;
        else if (!strcmp(s, "SAME")) nd->padding = TFJ_PAD_SAME;
        else if (!strcmp(s, "EXPLICIT")) nd->padding = TFJ_PAD_EXPLICIT;
        else return core_err(err, ODX_ERR_MODEL, "node '%s': padding '%s'", nd->name, s);
    }
    if (attr_str(attrs, "data_format", s, sizeof s)) nd->nchw = !strcmp(s, "NCHW");
    const cJSON *ep = attr(attrs, "explicit_paddings");
    const cJSON *epl = ep ? cJSON_GetObjectItemCaseSensitive(ep, "list") : NULL;
    const cJSON *epi = epl ? cJSON_GetObjectItemCaseSensitive(epl, "i") : NULL;
    if (epi) {
        if (!cJSON_IsArray(epi) || cJSON_GetArraySize(epi) != 8)
            return core_err(err, ODX_ERR_MODEL, "node '%s': explicit_paddings needs 8",
                            nd->name);
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, epi)
        {
            if (!json_int(e, &nd->expl_pad[i]) || nd->expl_pad[i] < 0 ||
                nd->expl_pad[i] > 65536)
                return core_err(err, ODX_ERR_MODEL, "node '%s': bad explicit padding",
                                nd->name);
            i++;
        }
    }
    const cJSON *a = attr(attrs, "alpha");
    const cJSON *af = a ? cJSON_GetObjectItemCaseSensitive(a, "f") : NULL;
    if (cJSON_IsNumber(af)) nd->alpha = (float)af->valuedouble;
    nd->align_corners = attr_bool(attrs, "align_corners");
    nd->half_pixel = attr_bool(attrs, "half_pixel_centers");
    a = attr(attrs, "num_split");
    if (a) {
        int64_t ns;
        if (!json_int(cJSON_GetObjectItemCaseSensitive(a, "i"), &ns) || ns < 1 ||
            ns > 4096)
            return core_err(err, ODX_ERR_MODEL, "node '%s': bad num_split", nd->name);
        nd->num_split = (int)ns;
    }
    if (!strcmp(nd->op, "Split") || !strcmp(nd->op, "SplitV")) {
        if (nd->num_split < 1)
            return core_err(err, ODX_ERR_MODEL, "node '%s': num_split missing", nd->name);
        nd->n_out = nd->num_split;
    }
    if (!strcmp(nd->op, "Const") || !strcmp(nd->op, "Placeholder")) {
        const cJSON *dt = attr(attrs, "dtype");
        const cJSON *ty = dt ? cJSON_GetObjectItemCaseSensitive(dt, "type") : NULL;
        if (!cJSON_IsString(ty) || parse_dtype(ty->valuestring, &nd->dtype) < 0)
            return core_err(err, ODX_ERR_UNSUPPORTED, "node '%s': unsupported dtype",
                            nd->name);
        if (nd->op[0] == 'P') {
            nd->is_input = true;
            const cJSON *sh = attr(attrs, "shape");
            st = parse_shape(sh ? cJSON_GetObjectItemCaseSensitive(sh, "shape") : NULL,
                             nd->name, &nd->ph_ndim, nd->ph_shape, err);
            if (st != ODX_OK) return st;
        } else {
            nd->is_const = true;
            const cJSON *v = attr(attrs, "value");
            const cJSON *t = v ? cJSON_GetObjectItemCaseSensitive(v, "tensor") : NULL;
            st = parse_shape(t ? cJSON_GetObjectItemCaseSensitive(t, "tensorShape") : NULL,
                             nd->name, &nd->ph_ndim, nd->ph_shape, err);
            if (st != ODX_OK) return st;
        }
    } else {
        nd->def = tfj_op_find(nd->op);
        if (!nd->def)
            return core_err(err, ODX_ERR_UNSUPPORTED, "node '%s': unknown op '%s'",
                            nd->name, nd->op);
    }
    return ODX_OK;
}

static odx_status parse_inputs(const cJSON *jn, tfj_node *nd, const name_map *mp,
                               odx_err *err)
{
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(jn, "input");
    if (!ins) return ODX_OK;
    if (!cJSON_IsArray(ins) || cJSON_GetArraySize(ins) > 4096)
        return core_err(err, ODX_ERR_MODEL, "node '%s': bad input list", nd->name);
    int n = cJSON_GetArraySize(ins);
    nd->in_node = calloc((size_t)n + 1, sizeof(int));
    nd->in_out = calloc((size_t)n + 1, sizeof(int));
    nd->ctrl = calloc((size_t)n + 1, sizeof(int));
    if (!nd->in_node || !nd->in_out || !nd->ctrl)
        return core_err(err, ODX_ERR_NOMEM, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, ins)
    {
        if (!cJSON_IsString(e))
            return core_err(err, ODX_ERR_MODEL, "node '%s': input is not a string",
                            nd->name);
        int src, idx;
        bool ctrl;
        odx_status st = resolve_ref(mp, e->valuestring, &src, &idx, &ctrl, nd->name, err);
        if (st != ODX_OK) return st;
        if (ctrl) {
            nd->ctrl[nd->n_ctrl++] = src;
        } else {
            nd->in_node[nd->n_in] = src;
            nd->in_out[nd->n_in] = idx;
            nd->n_in++;
        }
    }
    return ODX_OK;
}

/* -------------------------------------------------------------- model ---- */

void tfj_model_free(tfj_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_nodes; i++) {
        tfj_node *nd = &m->nodes[i];
        free(nd->name);
        free(nd->op);
        free(nd->in_node);
        free(nd->in_out);
        free(nd->ctrl);
        tfj_tensor_release(&nd->value);
        if (nd->ox) {
            free(nd->ox->w);
            free(nd->ox->b);
            free(nd->ox->pa);
            free(nd->ox->pb);
            free(nd->ox->wbf);
            free(nd->ox);
        }
    }
    free(m->nodes);
    free(m->sched);
    free(m->inputs);
    free(m->out_node);
    free(m->out_idx);
    for (int i = 0; i < m->n_outputs; i++) free(m->out_names[i]);
    free(m->out_names);
    free(m->slot_uses);
    free(m);
}

/* Picks the outputs: the signature's, else every needed-by-nobody node. */
static odx_status find_outputs(tfj_model *m, const cJSON *root, const name_map *mp,
                               odx_err *err)
{
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(root, "signature");
    const cJSON *outs = sig ? cJSON_GetObjectItemCaseSensitive(sig, "outputs") : NULL;
    int cap = outs ? cJSON_GetArraySize(outs) : 0;
    if (cap <= 0) cap = m->n_nodes;
    m->out_node = calloc((size_t)cap, sizeof(int));
    m->out_idx = calloc((size_t)cap, sizeof(int));
    m->out_names = calloc((size_t)cap, sizeof(char *));
    if (!m->out_node || !m->out_idx || !m->out_names)
        return core_err(err, ODX_ERR_NOMEM, "out of memory");
    if (outs && cJSON_GetArraySize(outs) > 0) {
        const cJSON *o;
        cJSON_ArrayForEach(o, outs)
        {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
            const char *ref = cJSON_IsString(nm) ? nm->valuestring : o->string;
            if (!ref) return core_err(err, ODX_ERR_MODEL, "signature output without name");
            bool ctrl;
            int k = m->n_outputs;
            odx_status st = resolve_ref(mp, ref, &m->out_node[k], &m->out_idx[k], &ctrl,
                                        "signature", err);
            if (st != ODX_OK) return st;
            if (ctrl || m->out_idx[k] >= m->nodes[m->out_node[k]].n_out)
                return core_err(err, ODX_ERR_MODEL, "bad signature output '%s'", ref);
            m->out_names[k] = core_strdup(ref);
            if (!m->out_names[k]) return core_err(err, ODX_ERR_NOMEM, "out of memory");
            m->n_outputs++;
        }
        return ODX_OK;
    }
    char *used = calloc((size_t)m->n_nodes, 1);
    if (!used) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    for (int i = 0; i < m->n_nodes; i++)
        for (int j = 0; j < m->nodes[i].n_in; j++) used[m->nodes[i].in_node[j]] = 1;
    for (int i = 0; i < m->n_nodes; i++) {
        if (used[i] || m->nodes[i].is_const || m->nodes[i].is_input) continue;
        int k = m->n_outputs++;
        m->out_node[k] = i;
        m->out_idx[k] = 0;
        m->out_names[k] = core_strdup(m->nodes[i].name);
        if (!m->out_names[k]) {
            free(used);
            return core_err(err, ODX_ERR_NOMEM, "out of memory");
        }
    }
    free(used);
    if (!m->n_outputs) return core_err(err, ODX_ERR_MODEL, "graph has no outputs");
    return ODX_OK;
}

/* Marks the nodes the outputs depend on (iterative: graphs can be deep). */
static odx_status mark_needed(const tfj_model *m, const int *alias, char *need,
                              odx_err *err)
{
    int *stack = malloc(((size_t)m->n_nodes + 1) * sizeof(int));
    int sp = 0;
    if (!stack) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    memset(need, 0, (size_t)m->n_nodes);
    for (int i = 0; i < m->n_outputs; i++) {
        int o = m->out_node[i];
        while (alias && alias[o] >= 0) o = alias[o];
        if (!need[o]) {
            need[o] = 1;
            stack[sp++] = o;
        }
    }
    while (sp > 0) {
        const tfj_node *nd = &m->nodes[stack[--sp]];
        for (int j = 0; j < nd->n_in + nd->n_ctrl; j++) {
            int s = j < nd->n_in ? nd->in_node[j] : nd->ctrl[j - nd->n_in];
            while (alias && alias[s] >= 0) s = alias[s];
            if (!need[s]) {
                need[s] = 1;
                stack[sp++] = s;
            }
        }
    }
    free(stack);
    return ODX_OK;
}

/* Kahn's algorithm over the needed nodes; a leftover node lies on a cycle. */
static odx_status topo_order(const tfj_model *m, const char *need, int *order,
                             int *n_order, odx_err *err)
{
    odx_status st = ODX_OK;
    int n = m->n_nodes;
    int *indeg = calloc((size_t)n, sizeof(int));
    int *cstart = calloc((size_t)n + 1, sizeof(int));
    int *cons = NULL;
    int total = 0;
    if (!indeg || !cstart) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        if (!need[i]) continue;
        const tfj_node *nd = &m->nodes[i];
        for (int j = 0; j < nd->n_in + nd->n_ctrl; j++) {
            int s = j < nd->n_in ? nd->in_node[j] : nd->ctrl[j - nd->n_in];
            cstart[s + 1]++;
            indeg[i]++;
            total++;
        }
    }
    for (int i = 0; i < n; i++) cstart[i + 1] += cstart[i];
    cons = malloc(((size_t)total + 1) * sizeof(int));
    if (!cons) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    {
        int *fill = calloc((size_t)n, sizeof(int));
        if (!fill) {
            st = core_err(err, ODX_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int i = 0; i < n; i++) {
            if (!need[i]) continue;
            const tfj_node *nd = &m->nodes[i];
            for (int j = 0; j < nd->n_in + nd->n_ctrl; j++) {
                int s = j < nd->n_in ? nd->in_node[j] : nd->ctrl[j - nd->n_in];
                cons[cstart[s] + fill[s]++] = i;
            }
        }
        free(fill);
    }
    int head = 0, tail = 0, n_need = 0;
    for (int i = 0; i < n; i++) {
        if (!need[i]) continue;
        n_need++;
        if (indeg[i] == 0) order[tail++] = i;
    }
    while (head < tail) {
        int v = order[head++];
        for (int k = cstart[v]; k < cstart[v + 1]; k++)
            if (--indeg[cons[k]] == 0) order[tail++] = cons[k];
    }
    if (tail != n_need) {
        const char *who = "?";
        for (int i = 0; i < n; i++)
            if (need[i] && indeg[i] > 0) {
                who = m->nodes[i].name;
                break;
            }
        st = core_err(err, ODX_ERR_MODEL, "graph has a cycle through node '%s'", who);
        goto done;
    }
    *n_order = tail;
done:
    free(indeg);
    free(cstart);
    free(cons);
    return st;
}

/* Runs nodes whose inputs are all constant once, at load (e.g. the
 * SparseToDense + Add chains that compute Reshape targets). */
static odx_status fold_constants(tfj_model *m, const int *order, int n_order,
                                 odx_err *err)
{
    odx_status st = ODX_OK;
    tfj_ctx cx = {0};
    tfj_tensor in[64];
    int64_t work = 0; /* elements the folded nodes made */
    /* a pool of its own only for its tensor limit (a fold's kernel may not
     * make more than the whole folding may); what it keeps is freed below */
    tfj_pool fp = {.max_elems = TFJ_MAX_FOLD_WORK};
    tfj_pool_enter(&fp);
    for (int k = 0; k < n_order; k++) {
        tfj_node *nd = &m->nodes[order[k]];
        if (nd->is_const || nd->is_input || nd->n_out != 1 || nd->n_in > 64) continue;
        bool all = nd->n_in > 0;
        for (int j = 0; j < nd->n_in && all; j++) all = m->nodes[nd->in_node[j]].is_const;
        for (int j = 0; j < nd->n_ctrl && all; j++) all = m->nodes[nd->ctrl[j]].is_const;
        if (!all) continue;
        if (nd->n_in < nd->def->min_in || (nd->def->max_in >= 0 && nd->n_in > nd->def->max_in)) {
            st = core_err(err, ODX_ERR_MODEL, "node '%s' (%s) has %d inputs", nd->name,
                          nd->op, nd->n_in);
            goto done;
        }
        for (int j = 0; j < nd->n_in; j++) {
            const tfj_node *src = &m->nodes[nd->in_node[j]];
            if (nd->in_out[j] != 0) {
                st = core_err(err, ODX_ERR_MODEL, "node '%s' reads output %d of '%s'",
                              nd->name, nd->in_out[j], src->name);
                goto done;
            }
            in[j] = src->value;
            in[j].owned = false;
        }
        if (work + cx.macs > TFJ_MAX_FOLD_WORK) {
            st = core_err(err, ODX_ERR_LIMIT,
                          "node '%s' (%s): constant folding over its limit (%lld elements "
                          "and multiply-accumulates)",
                          nd->name, nd->op, (long long)TFJ_MAX_FOLD_WORK);
            goto done;
        }
        tfj_tensor out = {0};
        odx_err ke = {0};
        st = nd->def->fn(&cx, nd, in, nd->n_in, &out, &ke);
        if (st != ODX_OK) {
            tfj_tensor_release(&out); /* a kernel may fail after allocating */
            tfj_node_err(err, st, nd, &ke);
            goto done;
        }
        work += out.n;
        nd->value = out;
        nd->is_const = true;
    }
done:
    tfj_pool_leave();
    tfj_pool_free(&fp);
    free(cx.scratch);
    free(cx.xpack);
    return st;
}

/* Fuses Conv2D -> Add(bias) [-> Transpose] -> LeakyRelu/Relu/Relu6 into the
 * conv's epilogue. Fused-away nodes get an alias to the node that now
 * produces their value; the activation commutes with a Transpose. */
static int resolved(const int *alias, int x)
{
    while (alias[x] >= 0) x = alias[x];
    return x;
}

/* Folds Pad [-> Transpose] -> Conv2D / MaxPool into the consumer's explicit
 * padding (zeros for a conv, -inf for a max pool, whose window then simply
 * skips the border), so the padded copy is never made. The Transpose stays:
 * the pads are mapped through its permutation. */
static void fold_pad(tfj_model *m, int c, const int *alias, const int *uses)
{
    tfj_node *cv = &m->nodes[c];
    bool conv = !strcmp(cv->op, "Conv2D") || !strcmp(cv->op, "DepthwiseConv2dNative");
    if (cv->is_const || (!conv && strcmp(cv->op, "MaxPool")) || cv->nchw ||
        cv->padding == TFJ_PAD_SAME || cv->n_in < 1 || cv->in_out[0] != 0)
        return;
    int t = resolved(alias, cv->in_node[0]), p = t;
    int64_t perm[4] = {0, 1, 2, 3};
    tfj_node *tn = &m->nodes[t];
    if (!strcmp(tn->op, "Transpose")) {
        const tfj_node *pn = &m->nodes[tn->in_node[1]];
        if (uses[t] != 1 || tn->in_out[0] != 0 || !pn->is_const ||
            !tfj_perm_valid(&pn->value, 4, perm))
            return;
        p = resolved(alias, tn->in_node[0]);
    } else {
        tn = NULL;
    }
    tfj_node *pd = &m->nodes[p];
    if (pd->is_const || uses[p] != 1 || pd->n_ctrl) return;
    if (!strcmp(pd->op, "Pad")) {
        if (!conv || pd->n_in != 2) return;
    } else if (!strcmp(pd->op, "PadV2")) {
        const tfj_node *vn = &m->nodes[pd->in_node[2]];
        if (pd->n_in != 3 || !vn->is_const || vn->value.dtype != TFJ_F32 || vn->value.n != 1)
            return;
        float v = vn->value.d.f[0];
        if (conv ? v != 0 : !(isinf(v) && v < 0)) return;
    } else {
        return;
    }
    const tfj_node *pads = &m->nodes[pd->in_node[1]];
    if (!pads->is_const || pads->value.dtype != TFJ_I32 || pads->value.n != 8) return;
    const int32_t *pv = pads->value.d.i;
    int64_t add[8];
    for (int k = 0; k < 4; k++) {
        add[2 * k] = pv[2 * perm[k]];
        add[2 * k + 1] = pv[2 * perm[k] + 1];
        if (add[2 * k] < 0 || add[2 * k + 1] < 0 || add[2 * k] > 65536 || add[2 * k + 1] > 65536)
            return;
    }
    if (add[0] || add[1] || add[6] || add[7]) return; /* batch / channel padding */
    if (cv->padding == TFJ_PAD_VALID) memset(cv->expl_pad, 0, sizeof cv->expl_pad);
    for (int k = 2; k < 6; k++) cv->expl_pad[k] += add[k];
    cv->padding = TFJ_PAD_EXPLICIT;
    if (tn) {
        tn->in_node[0] = pd->in_node[0];
        tn->in_out[0] = pd->in_out[0];
    } else {
        cv->in_node[0] = pd->in_node[0];
        cv->in_out[0] = pd->in_out[0];
    }
}

static void fuse(tfj_model *m, const int *order, int n_order, int *alias)
{
    int n = m->n_nodes;
    int *uses = calloc((size_t)n, sizeof(int));
    int *user = malloc((size_t)n * sizeof(int));
    if (!uses || !user) goto done; /* fusion is optional */
    for (int i = 0; i < n; i++) user[i] = -1;
    for (int k = 0; k < n_order; k++) {
        const tfj_node *nd = &m->nodes[order[k]];
        for (int j = 0; j < nd->n_in; j++) {
            uses[nd->in_node[j]] += nd->in_out[j] == 0 ? 1 : 1000;
            user[nd->in_node[j]] = order[k];
        }
        for (int j = 0; j < nd->n_ctrl; j++) uses[nd->ctrl[j]] += 1000;
    }
    for (int i = 0; i < m->n_outputs; i++) uses[m->out_node[i]] += 1000;
    for (int k = 0; k < n_order; k++) fold_pad(m, order[k], alias, uses);
    for (int k = 0; k < n_order; k++) {
        int c = order[k];
        tfj_node *cv = &m->nodes[c];
        if (cv->is_const || strcmp(cv->op, "Conv2D") || cv->n_in != 2) continue;
        const tfj_node *f = &m->nodes[cv->in_node[1]];
        if (!f->is_const || f->value.ndim != 4 || f->value.dtype != TFJ_F32) continue;
        int64_t oc = f->value.shape[3];
        int cur = c; /* node whose output carries the conv's value */
        if (uses[cur] == 1) {
            int a = user[cur];
            tfj_node *ad = &m->nodes[a];
            if ((!strcmp(ad->op, "Add") || !strcmp(ad->op, "AddV2") ||
                 (!strcmp(ad->op, "BiasAdd") && !ad->nchw)) &&
                ad->n_in == 2 && ad->in_node[0] == c && ad->in_out[0] == 0 &&
                ad->n_ctrl == 0) {
                tfj_node *b = &m->nodes[ad->in_node[1]];
                bool vec = b->is_const && b->value.dtype == TFJ_F32 && b->value.n == oc &&
                           b->value.ndim >= 1 && b->value.shape[b->value.ndim - 1] == oc;
                if (vec) {
                    cv->bias = b->value.d.f;
                    b->is_bias = true;
                    alias[a] = c;
                    uses[c] = uses[a];
                    user[c] = user[a];
                }
            }
        }
        /* activation, directly or behind one Transpose */
        if (uses[cur] != 1) continue;
        int nx = user[cur];
        int tr = -1;
        if (!strcmp(m->nodes[nx].op, "Transpose") &&
            resolved(alias, m->nodes[nx].in_node[0]) == cur && uses[nx] == 1) {
            tr = nx;
            nx = user[nx];
        }
        tfj_node *an = &m->nodes[nx];
        int act = !strcmp(an->op, "LeakyRelu") ? TFJ_ACT_LEAKY
                  : !strcmp(an->op, "Relu")    ? TFJ_ACT_RELU
                  : !strcmp(an->op, "Relu6")   ? TFJ_ACT_RELU6
                                               : 0;
        int prod0 = tr >= 0 ? tr : cur;
        if (!act || an->n_in != 1 || an->n_ctrl || resolved(alias, an->in_node[0]) != prod0)
            continue;
        cv->act = act;
        cv->act_alpha = an->alpha;
        int prod = tr >= 0 ? tr : cur;
        alias[nx] = prod;
        uses[prod] = uses[nx];
        user[prod] = user[nx];
    }
done:
    free(uses);
    free(user);
}

static odx_status attach_weights(tfj_model *m, weight *ws, int n_ws, const name_map *mp,
                                 odx_err *err)
{
    for (int i = 0; i < n_ws; i++) {
        int k = map_find(mp, ws[i].name, strlen(ws[i].name));
        if (k < 0) continue; /* unused weight: harmless */
        tfj_node *nd = &m->nodes[k];
        if (!nd->is_const)
            return core_err(err, ODX_ERR_MODEL, "weight '%s' names a non-constant node",
                            ws[i].name);
        if (nd->value.d.p)
            return core_err(err, ODX_ERR_MODEL, "weight '%s' given twice", ws[i].name);
        if (nd->ph_ndim >= 0 && nd->ph_ndim != ws[i].t.ndim)
            return core_err(err, ODX_ERR_MODEL,
                            "constant '%s': rank %d in graph, %d in manifest", nd->name,
                            nd->ph_ndim, ws[i].t.ndim);
        for (int d = 0; d < nd->ph_ndim; d++)
            if (nd->ph_shape[d] >= 0 && nd->ph_shape[d] != ws[i].t.shape[d])
                return core_err(err, ODX_ERR_MODEL,
                                "constant '%s': shape disagrees with the manifest at dim %d "
                                "(%lld vs %lld)",
                                nd->name, d, (long long)nd->ph_shape[d],
                                (long long)ws[i].t.shape[d]);
        if (nd->dtype != ws[i].t.dtype)
            return core_err(err, ODX_ERR_MODEL, "constant '%s': dtype disagrees",
                            nd->name);
        nd->value = ws[i].t;
        memset(&ws[i].t, 0, sizeof ws[i].t);
    }
    for (int i = 0; i < m->n_nodes; i++) {
        tfj_node *nd = &m->nodes[i];
        if (!nd->is_const || nd->value.d.p) continue;
        int64_t cnt;
        if (nd->ph_ndim < 0 || !shape_count(nd->ph_ndim, nd->ph_shape, &cnt) || cnt != 0)
            return core_err(err, ODX_ERR_MODEL, "constant '%s' has no weights", nd->name);
        odx_status st = tfj_tensor_alloc(&nd->value, nd->dtype, nd->ph_ndim, nd->ph_shape,
                                         err);
        if (st != ODX_OK) return st;
    }
    return ODX_OK;
}

/* The front-end independent part of loading: given nodes, inputs marked
 * and outputs chosen, keeps what the outputs need, orders it (cycles are
 * refused), folds constant sub-graphs, runs the front-end's fusion pass
 * (which may alias fused-away nodes to their replacement), and lays out the
 * schedule and value slots. Shared by the TF.js and ONNX loaders. */
odx_status tfj_graph_finish(tfj_model *m, tfj_fuse_fn fuse_fn, odx_err *err)
{
    odx_status st = ODX_OK;
    int n = m->n_nodes;
    char *need = NULL;
    int *order = NULL, *alias = NULL;
    need = calloc((size_t)n, 1);
    order = malloc((size_t)n * sizeof(int));
    alias = malloc((size_t)n * sizeof(int));
    if (!need || !order || !alias) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < n; k++) alias[k] = -1;
    int n_order = 0;
    if ((st = mark_needed(m, NULL, need, err)) ||
        (st = topo_order(m, need, order, &n_order, err)) ||
        (st = fold_constants(m, order, n_order, err)))
        goto done;
    if (fuse_fn) fuse_fn(m, order, n_order, alias);
    /* rewire readers of fused-away nodes, then keep what is still needed */
    for (int k = 0; k < n; k++) {
        tfj_node *nd = &m->nodes[k];
        for (int j = 0; j < nd->n_in; j++)
            while (alias[nd->in_node[j]] >= 0) nd->in_node[j] = alias[nd->in_node[j]];
    }
    for (int k = 0; k < m->n_outputs; k++)
        while (alias[m->out_node[k]] >= 0) m->out_node[k] = alias[m->out_node[k]];
    if ((st = mark_needed(m, NULL, need, err))) goto done;

    m->sched = malloc(((size_t)n_order + 1) * sizeof(int));
    m->inputs = malloc(((size_t)n + 1) * sizeof(int));
    if (!m->sched || !m->inputs) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < n; k++)
        if (m->nodes[k].is_input) m->inputs[m->n_inputs++] = k;
    for (int k = 0; k < n_order; k++) {
        const tfj_node *nd = &m->nodes[order[k]];
        if (need[order[k]] && !nd->is_const && !nd->is_input) m->sched[m->n_sched++] = order[k];
    }
    for (int k = 0; k < n; k++) {
        m->nodes[k].slot = m->n_slots;
        m->n_slots += m->nodes[k].n_out;
    }
    m->slot_uses = calloc((size_t)m->n_slots + 1, sizeof(int));
    if (!m->slot_uses) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < m->n_sched; k++) {
        const tfj_node *nd = &m->nodes[m->sched[k]];
        for (int j = 0; j < nd->n_in; j++)
            m->slot_uses[m->nodes[nd->in_node[j]].slot + nd->in_out[j]]++;
    }
    /* free constants nothing reads any more (folded inputs, fused biases
     * excepted: a conv's bias points into its Add's constant) */
    for (int k = 0; k < n; k++) {
        tfj_node *nd = &m->nodes[k];
        if (!nd->is_const || need[k]) continue;
        if (!nd->is_bias) tfj_tensor_release(&nd->value);
    }
done:
    free(need);
    free(order);
    free(alias);
    return st;
}

odx_status tfj_model_load(const char *json_path, tfj_model **out, odx_err *err)
{
    odx_status st = ODX_OK;
    uint8_t *text = NULL;
    size_t text_len = 0;
    cJSON *root = NULL;
    tfj_model *m = NULL;
    weight *ws = NULL;
    int n_ws = 0;
    name_map mp = {0};
    char *dir = NULL;

    struct stat sb;
    if (!json_path || stat(json_path, &sb) != 0) {
        st = core_err_errno(err, ODX_ERR_NOT_FOUND, "model file '%s'",
                            json_path ? json_path : "(null)");
        goto done;
    }
    st = core_read_file(json_path, TFJ_MAX_JSON_BYTES, &text, &text_len, err);
    if (st != ODX_OK) goto done;
    root = cJSON_ParseWithLength((const char *)text, text_len);
    if (!root || !cJSON_IsObject(root)) {
        st = core_err(err, ODX_ERR_MODEL, "model file '%s' is not valid JSON", json_path);
        goto done;
    }
    const cJSON *topo = cJSON_GetObjectItemCaseSensitive(root, "modelTopology");
    const cJSON *jnodes = topo ? cJSON_GetObjectItemCaseSensitive(topo, "node") : NULL;
    if (!cJSON_IsArray(jnodes) || cJSON_GetArraySize(jnodes) < 1) {
        st = core_err(err, ODX_ERR_MODEL, "model file '%s' has no modelTopology.node list",
                      json_path);
        goto done;
    }
    int n = cJSON_GetArraySize(jnodes);
    if (n > TFJ_MAX_NODES) {
        st = core_err(err, ODX_ERR_LIMIT, "model '%s' has %d nodes (limit %d)", json_path,
                      n, TFJ_MAX_NODES);
        goto done;
    }
    m = calloc(1, sizeof *m);
    if (!m || !(m->nodes = calloc((size_t)n, sizeof *m->nodes))) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    m->n_nodes = n;
    mp.cap = 16;
    while (mp.cap < (size_t)n * 2) mp.cap <<= 1;
    mp.slot = malloc(mp.cap * sizeof(int));
    mp.nodes = m->nodes;
    if (!mp.slot) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < mp.cap; i++) mp.slot[i] = -1;
    int i = 0;
    const cJSON *jn;
    cJSON_ArrayForEach(jn, jnodes)
    {
        st = parse_node(jn, &m->nodes[i], err);
        if (st != ODX_OK) goto done;
        if (map_find(&mp, m->nodes[i].name, strlen(m->nodes[i].name)) >= 0) {
            st = core_err(err, ODX_ERR_MODEL, "two nodes named '%s'", m->nodes[i].name);
            goto done;
        }
        map_put(&mp, i);
        i++;
    }
    i = 0;
    cJSON_ArrayForEach(jn, jnodes)
    {
        tfj_node *nd = &m->nodes[i++];
        st = parse_inputs(jn, nd, &mp, err);
        if (st != ODX_OK) goto done;
        for (int j = 0; j < nd->n_in; j++)
            if (nd->in_out[j] >= m->nodes[nd->in_node[j]].n_out) {
                st = core_err(err, ODX_ERR_MODEL, "node '%s' reads output %d of '%s'",
                              nd->name, nd->in_out[j], m->nodes[nd->in_node[j]].name);
                goto done;
            }
        if (nd->def && (nd->n_in < nd->def->min_in ||
                        (nd->def->max_in >= 0 && nd->n_in > nd->def->max_in))) {
            st = core_err(err, ODX_ERR_MODEL, "node '%s' (%s) has %d inputs", nd->name,
                          nd->op, nd->n_in);
            goto done;
        }
    }

    /* weights */
    dir = core_strdup(json_path);
    if (!dir) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else strcpy(dir, ".");
    const cJSON *manifest = cJSON_GetObjectItemCaseSensitive(root, "weightsManifest");
    if (manifest) {
        st = load_weights(manifest, dir, &ws, &n_ws, err);
        if (st != ODX_OK) goto done;
    }
    st = attach_weights(m, ws, n_ws, &mp, err);
    if (st != ODX_OK) goto done;

    st = find_outputs(m, root, &mp, err);
    if (st != ODX_OK) goto done;
    st = tfj_graph_finish(m, fuse, err);
    if (st != ODX_OK) goto done;
    *out = m;
    m = NULL;
done:
    if (ws) {
        for (int k = 0; k < n_ws; k++) tfj_tensor_release(&ws[k].t);
        free(ws);
    }
    free(mp.slot);
    free(dir);
    cJSON_Delete(root);
    free(text);
    tfj_model_free(m);
    return st;
}

int tfj_model_n_inputs(const tfj_model *m) { return m ? m->n_inputs : 0; }
const char *tfj_model_input_name(const tfj_model *m, int i)
{
    return m && i >= 0 && i < m->n_inputs ? m->nodes[m->inputs[i]].name : NULL;
}
int tfj_model_n_outputs(const tfj_model *m) { return m ? m->n_outputs : 0; }
const char *tfj_model_output_name(const tfj_model *m, int i)
{
    return m && i >= 0 && i < m->n_outputs ? m->out_names[i] : NULL;
}
int tfj_model_output_index(const tfj_model *m, const char *name)
{
    if (!m || !name) return -1;
    size_t len = strlen(name);
    for (int i = 0; i < m->n_outputs; i++) {
        const char *o = m->out_names[i];
        if (!strcmp(o, name)) return i;
        if (!strncmp(o, name, len) && !strcmp(o + len, ":0")) return i;
    }
    return -1;
}
int tfj_model_n_scheduled(const tfj_model *m) { return m ? m->n_sched : 0; }

/* onnx.c - the ONNX front-end of the model runtime: a bounded reader of the
 * protobuf wire format for the few ONNX messages a model needs (Model, Graph,
 * Node, Attribute, Tensor, ValueInfo), building the same graph the TF.js
 * loader builds (model.c), then the ONNX fusion pass (Conv + BatchNorm +
 * activation). Kernels: onnx_ops.c. The file is outside input: every length,
 * count, type and reference is checked before use.
 *
 * Why a hand-written reader and not libprotobuf-c: onnx.proto would need
 * protoc-c code generation at build time (another build tool, ~10k lines of
 * generated code) for the five messages read here; the wire format itself is
 * five rules (varint, fixed32, fixed64, length-delimited, field key). */
#include "runtime_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ONNX_MAX_NAME 4096
#define ONNX_MAX_ATTRS 64

/* ------------------------------------------------------- wire format ---- */

typedef struct pb {
    const uint8_t *p, *end;
} pb;

static bool pb_varint(pb *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int s = 0; s < 64; s += 7) {
        if (r->p >= r->end) return false;
        uint8_t c = *r->p++;
        x |= (uint64_t)(c & 0x7f) << s;
        if (c < 0x80) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* One field: its number and wire type; a varint/fixed value in *v, a
 * length-delimited payload in *sub. False on a malformed or truncated key. */
static bool pb_next(pb *r, int *field, int *wire, uint64_t *v, pb *sub)
{
    uint64_t key;
    if (!pb_varint(r, &key)) return false;
    if ((key >> 3) == 0 || (key >> 3) > (1u << 29)) return false;
    *field = (int)(key >> 3);
    *wire = (int)(key & 7);
    switch (*wire) {
    case 0:
        return pb_varint(r, v);
    case 1:
        if (r->end - r->p < 8) return false;
        memcpy(v, r->p, 8);
        r->p += 8;
        return true;
    case 5: {
        if (r->end - r->p < 4) return false;
        uint32_t w;
        memcpy(&w, r->p, 4);
        *v = w;
        r->p += 4;
        return true;
    }
    case 2: {
        uint64_t len;
        if (!pb_varint(r, &len) || len > (uint64_t)(r->end - r->p)) return false;
        sub->p = r->p;
        sub->end = r->p + len;
        r->p += len;
        return true;
    }
    default:
        return false; /* groups (3, 4) are not used by ONNX */
    }
}

static char *pb_str(const pb *s)
{
    size_t n = (size_t)(s->end - s->p);
    if (n > ONNX_MAX_NAME) return NULL;
    char *c = malloc(n + 1);
    if (!c) return NULL;
    memcpy(c, s->p, n);
    c[n] = 0;
    if (strlen(c) != n) { /* embedded NUL */
        free(c);
        return NULL;
    }
    return c;
}

static bool pb_eq(const pb *s, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(s->end - s->p) == n && !memcmp(s->p, lit, n);
}

/* Repeated int64: packed (wire 2) or one value (wire 0). Appends to v. */
static bool pb_ints(int wire, uint64_t val, const pb *sub, int64_t *v, int *n, int max)
{
    if (wire == 0) {
        if (*n >= max) return false;
        v[(*n)++] = (int64_t)val;
        return true;
    }
    if (wire != 2) return false;
    pb r = *sub;
    while (r.p < r.end) {
        uint64_t x;
        if (!pb_varint(&r, &x) || *n >= max) return false;
        v[(*n)++] = (int64_t)x;
    }
    return true;
}

/* --------------------------------------------------------- tensors ---- */

enum {
    OX_FLOAT = 1, OX_UINT8 = 2, OX_INT8 = 3, OX_INT32 = 6, OX_INT64 = 7,
    OX_BOOL = 9, OX_FLOAT16 = 10, OX_DOUBLE = 11
};

static int32_t sat32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* TensorProto -> tensor. int64 values become int32 (saturated: the
 * INT64_MAX of a Slice end stays "to the end"); double and half become
 * float32. Counts must agree exactly with the dims. */
static odx_status read_tensor(const pb *msg, const char *who, tfj_tensor *t, odx_err *err)
{
    int64_t dims[TFJ_MAX_DIMS];
    int ndim = 0, dt = 0;
    pb raw = {0}, fdata = {0}, i32 = {0}, i64 = {0}, dbl = {0};
    bool has_raw = false;
    int n_f = 0, n_i32 = 0, n_i64 = 0, n_dbl = 0; /* unpacked entries seen */
    pb r = *msg, sub;
    int f, w;
    uint64_t v;
    while (r.p < r.end) {
        if (!pb_next(&r, &f, &w, &v, &sub))
            return core_err(err, ODX_ERR_MODEL, "tensor of '%s' is malformed", who);
        switch (f) {
        case 1:
            if (!pb_ints(w, v, &sub, dims, &ndim, TFJ_MAX_DIMS))
                return core_err(err, ODX_ERR_UNSUPPORTED,
                                "tensor of '%s' has more than %d dims", who, TFJ_MAX_DIMS);
            break;
        case 2:
            dt = (int)v;
            break;
        case 4:
            if (w == 2) fdata = sub;
            else n_f++;
            break;
        case 5:
            if (w == 2) i32 = sub;
            else n_i32++;
            break;
        case 7:
            if (w == 2) i64 = sub;
            else n_i64++;
            break;
        case 10:
            if (w == 2) dbl = sub;
            else n_dbl++;
            break;
        case 9:
            if (w != 2) return core_err(err, ODX_ERR_MODEL, "tensor of '%s': bad raw_data", who);
            raw = sub;
            has_raw = true;
            break;
        case 13:
        case 14:
            if (f == 13 || v == 1)
                return core_err(err, ODX_ERR_UNSUPPORTED,
                                "tensor of '%s' keeps its data in an external file", who);
            break;
        default:
            break;
        }
    }
    if (n_f || n_i32 || n_i64 || n_dbl)
        return core_err(err, ODX_ERR_UNSUPPORTED, "tensor of '%s': unpacked data fields", who);
    tfj_dtype tdt;
    size_t esz;
    switch (dt) {
    case OX_FLOAT: tdt = TFJ_F32; esz = 4; break;
    case OX_DOUBLE: tdt = TFJ_F32; esz = 8; break;
    case OX_FLOAT16: tdt = TFJ_F32; esz = 2; break;
    case OX_INT64: tdt = TFJ_I32; esz = 8; break;
    case OX_INT32: tdt = TFJ_I32; esz = 4; break;
    case OX_UINT8: case OX_INT8: case OX_BOOL: tdt = TFJ_I32; esz = 1; break;
    default:
        return core_err(err, ODX_ERR_UNSUPPORTED, "tensor of '%s' has data type %d", who, dt);
    }
    odx_status st = tfj_tensor_alloc_nz(t, tdt, ndim, dims, err);
    if (st != ODX_OK) return st;
    int64_t n = t->n;
    const uint8_t *src = NULL;
    if (has_raw) {
        if ((uint64_t)(raw.end - raw.p) != (uint64_t)n * esz) goto count;
        src = raw.p;
    }
    if (dt == OX_FLOAT || dt == OX_DOUBLE) {
        if (!src) {
            const pb *s = dt == OX_FLOAT ? &fdata : &dbl;
            if ((uint64_t)(s->end - s->p) != (uint64_t)n * esz) goto count;
            src = s->p;
        }
        for (int64_t i = 0; i < n; i++) {
            if (dt == OX_FLOAT) {
                memcpy(&t->d.f[i], src + 4 * i, 4);
            } else {
                double d;
                memcpy(&d, src + 8 * i, 8);
                t->d.f[i] = (float)d;
            }
        }
    } else if (dt == OX_FLOAT16 || dt == OX_UINT8 || dt == OX_INT8 || dt == OX_BOOL) {
        /* in int32_data when not raw: one varint per element */
        if (!src) {
            pb q = i32;
            for (int64_t i = 0; i < n; i++) {
                uint64_t x;
                if (!pb_varint(&q, &x)) goto count;
                if (dt == OX_FLOAT16) t->d.f[i] = tfj_half_to_float((uint16_t)x);
                else t->d.i[i] = dt == OX_INT8 ? (int8_t)x : (int32_t)(uint8_t)x;
            }
            if (q.p != q.end) goto count;
        } else {
            for (int64_t i = 0; i < n; i++) {
                if (dt == OX_FLOAT16) {
                    uint16_t h;
                    memcpy(&h, src + 2 * i, 2);
                    t->d.f[i] = tfj_half_to_float(h);
                } else {
                    t->d.i[i] = dt == OX_INT8 ? (int8_t)src[i] : (int32_t)src[i];
                }
            }
        }
    } else { /* int32 / int64 */
        if (src) {
            for (int64_t i = 0; i < n; i++) {
                if (dt == OX_INT64) {
                    int64_t x;
                    memcpy(&x, src + 8 * i, 8);
                    t->d.i[i] = sat32(x);
                } else {
                    memcpy(&t->d.i[i], src + 4 * i, 4);
                }
            }
        } else {
            pb q = dt == OX_INT64 ? i64 : i32;
            for (int64_t i = 0; i < n; i++) {
                uint64_t x;
                if (!pb_varint(&q, &x)) goto count;
                t->d.i[i] = sat32((int64_t)x);
            }
            if (q.p != q.end) goto count;
        }
    }
    return ODX_OK;
count:
    tfj_tensor_release(t);
    return core_err(err, ODX_ERR_MODEL, "tensor of '%s': data size disagrees with its dims",
                    who);
}

odx_status tfj_onnx_tensor_read(const uint8_t *data, size_t len, const char *name,
                                tfj_tensor *out, odx_err *err)
{
    if (!out || (!data && len))
        return core_err(err, ODX_ERR_INVALID, "tfj_onnx_tensor_read: bad arguments");
    memset(out, 0, sizeof *out);
    pb msg = {data, data + len};
    return read_tensor(&msg, name ? name : "(memory)", out, err);
}

/* ------------------------------------------------------ attributes ---- */

typedef struct oattr {
    pb name;
    int type;
    float f;
    int64_t i;
    pb s;
    pb t;
    bool has_t;
    int64_t ints[TFJ_ONNX_MAX_INTS];
    int n_ints;
    bool ints_ok;
    float floats[4];
    int n_floats;
} oattr;

static odx_status read_attr(const pb *msg, const char *who, oattr *a, odx_err *err)
{
    memset(a, 0, sizeof *a);
    a->ints_ok = true;
    pb r = *msg, sub;
    int f, w;
    uint64_t v;
    while (r.p < r.end) {
        if (!pb_next(&r, &f, &w, &v, &sub))
            return core_err(err, ODX_ERR_MODEL, "attribute of node '%s' is malformed", who);
        switch (f) {
        case 1: if (w == 2) a->name = sub; break;
        case 20: a->type = (int)v; break;
        case 2: {
            uint32_t u = (uint32_t)v;
            memcpy(&a->f, &u, 4);
            break;
        }
        case 3: a->i = (int64_t)v; break;
        case 4: if (w == 2) a->s = sub; break;
        case 5:
            if (w == 2) {
                a->t = sub;
                a->has_t = true;
            }
            break;
        case 8:
            if (!pb_ints(w, v, &sub, a->ints, &a->n_ints, TFJ_ONNX_MAX_INTS)) a->ints_ok = false;
            break;
        default:
            break;
        }
    }
    return ODX_OK;
}

/* Copies an ints attribute of at most max values. */
static odx_status attr_ints(const oattr *a, const char *who, int64_t *out, int *n, int max,
                            odx_err *err)
{
    if (!a->ints_ok || a->n_ints > max)
        return core_err(err, ODX_ERR_UNSUPPORTED, "node '%s': attribute '%.*s' too long", who,
                        (int)(a->name.end - a->name.p), (const char *)a->name.p);
    for (int k = 0; k < a->n_ints; k++) out[k] = a->ints[k];
    *n = a->n_ints;
    return ODX_OK;
}

static odx_status spatial(const oattr *a, const char *who, int64_t *out, int want, odx_err *err)
{
    int64_t v[TFJ_ONNX_MAX_INTS];
    int n = 0;
    odx_status st = attr_ints(a, who, v, &n, TFJ_ONNX_MAX_INTS, err);
    if (st != ODX_OK) return st;
    if (n != want)
        return core_err(err, ODX_ERR_UNSUPPORTED,
                        "node '%s': attribute '%.*s' has %d values (2-D ops only)", who,
                        (int)(a->name.end - a->name.p), (const char *)a->name.p, n);
    for (int k = 0; k < n; k++) {
        if (v[k] < 0 || v[k] > 65536)
            return core_err(err, ODX_ERR_MODEL, "node '%s': attribute '%.*s' out of range",
                            who, (int)(a->name.end - a->name.p), (const char *)a->name.p);
        out[k] = v[k];
    }
    return ODX_OK;
}

/* Interprets the attributes the kernels use; others are ignored. */
static odx_status node_attrs(const char *op, const char *who, const oattr *as, int n,
                             tfj_onnx_attr *ox, odx_err *err)
{
    odx_status st = ODX_OK;
    ox->strides[0] = ox->strides[1] = 1;
    ox->dil[0] = ox->dil[1] = 1;
    ox->group = 1;
    ox->n_kernel = 0;
    ox->n_perm = ox->n_axes = ox->n_starts = ox->n_ends = -1;
    ox->keepdims = 1;
    ox->eps = 1e-5f;
    bool hs = !strcmp(op, "HardSigmoid");
    ox->alpha = hs ? 0.2f : 0.01f;
    ox->beta = 0.5f;
    ox->axis = !strcmp(op, "Softmax") ? (ox->opset >= 13 ? -1 : 1) : 0;
    ox->to = -1;
    for (int k = 0; k < n && st == ODX_OK; k++) {
        const oattr *a = &as[k];
        const pb *nm = &a->name;
        if (pb_eq(nm, "kernel_shape")) {
            st = spatial(a, who, ox->kernel, 2, err);
            ox->n_kernel = 2;
        } else if (pb_eq(nm, "strides")) {
            st = spatial(a, who, ox->strides, 2, err);
        } else if (pb_eq(nm, "dilations")) {
            st = spatial(a, who, ox->dil, 2, err);
        } else if (pb_eq(nm, "pads")) {
            st = spatial(a, who, ox->pads, 4, err);
        } else if (pb_eq(nm, "output_padding")) {
            st = spatial(a, who, ox->out_pad, 2, err);
        } else if (pb_eq(nm, "group")) {
            if (a->i < 1 || a->i > 65536)
                st = core_err(err, ODX_ERR_MODEL, "node '%s': bad group", who);
            ox->group = a->i;
        } else if (pb_eq(nm, "perm")) {
            st = attr_ints(a, who, ox->perm, &ox->n_perm, TFJ_MAX_DIMS, err);
        } else if (pb_eq(nm, "axes")) {
            st = attr_ints(a, who, ox->axes, &ox->n_axes, TFJ_MAX_DIMS, err);
        } else if (pb_eq(nm, "starts")) {
            st = attr_ints(a, who, ox->starts, &ox->n_starts, TFJ_MAX_DIMS, err);
        } else if (pb_eq(nm, "ends")) {
            st = attr_ints(a, who, ox->ends, &ox->n_ends, TFJ_MAX_DIMS, err);
        } else if (pb_eq(nm, "axis")) {
            ox->axis = a->i;
            ox->has_axis = true;
        } else if (pb_eq(nm, "start")) {
            ox->shape_start = a->i;
        } else if (pb_eq(nm, "end")) {
            ox->shape_end = a->i;
            ox->has_shape_end = true;
        } else if (pb_eq(nm, "allowzero")) {
            ox->allowzero = a->i != 0;
        } else if (pb_eq(nm, "keepdims")) {
            ox->keepdims = a->i != 0;
        } else if (pb_eq(nm, "count_include_pad")) {
            ox->count_include_pad = a->i != 0;
        } else if (pb_eq(nm, "to")) {
            ox->to = (int)a->i;
        } else if (pb_eq(nm, "alpha")) {
            ox->alpha = a->f;
        } else if (pb_eq(nm, "beta")) {
            ox->beta = a->f;
        } else if (pb_eq(nm, "epsilon")) {
            ox->eps = a->f;
        } else if (pb_eq(nm, "min")) {
            ox->fmin = a->f;
            ox->has_min = true;
        } else if (pb_eq(nm, "max")) {
            ox->fmax = a->f;
            ox->has_max = true;
        } else if (pb_eq(nm, "mode")) {
            if (pb_eq(&a->s, "nearest")) ox->mode = 0;
            else if (pb_eq(&a->s, "linear")) ox->mode = 1;
            else st = core_err(err, ODX_ERR_UNSUPPORTED, "node '%s': Resize mode", who);
        } else if (pb_eq(nm, "coordinate_transformation_mode")) {
            if (pb_eq(&a->s, "half_pixel")) ox->coord_mode = 0;
            else if (pb_eq(&a->s, "asymmetric")) ox->coord_mode = 1;
            else if (pb_eq(&a->s, "align_corners")) ox->coord_mode = 2;
            else if (pb_eq(&a->s, "pytorch_half_pixel")) ox->coord_mode = 3;
            else
                st = core_err(err, ODX_ERR_UNSUPPORTED,
                              "node '%s': Resize coordinate_transformation_mode", who);
        } else if (pb_eq(nm, "nearest_mode")) {
            if (pb_eq(&a->s, "round_prefer_floor")) ox->nearest_mode = 0;
            else if (pb_eq(&a->s, "round_prefer_ceil")) ox->nearest_mode = 1;
            else if (pb_eq(&a->s, "floor")) ox->nearest_mode = 2;
            else if (pb_eq(&a->s, "ceil")) ox->nearest_mode = 3;
            else st = core_err(err, ODX_ERR_UNSUPPORTED, "node '%s': nearest_mode", who);
        } else if (pb_eq(nm, "auto_pad")) {
            if (!pb_eq(&a->s, "NOTSET") && !pb_eq(&a->s, "VALID") && a->s.p != a->s.end)
                st = core_err(err, ODX_ERR_UNSUPPORTED, "node '%s': auto_pad SAME", who);
        } else if (pb_eq(nm, "ceil_mode") || pb_eq(nm, "output_shape") ||
                   pb_eq(nm, "storage_order")) {
            if (a->i || a->n_ints)
                st = core_err(err, ODX_ERR_UNSUPPORTED, "node '%s': attribute '%.*s'", who,
                              (int)(nm->end - nm->p), (const char *)nm->p);
        }
    }
    return st;
}

/* ------------------------------------------------------------ graph ---- */

typedef struct vname {
    char *name;
    int node, out;
} vname;

typedef struct vmap {
    vname *v;
    int n, cap;
    int *slot;
    size_t mask;
} vmap;

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int vmap_find(const vmap *m, const char *s)
{
    for (size_t i = hash_str(s) & m->mask;; i = (i + 1) & m->mask) {
        int k = m->slot[i];
        if (k < 0) return -1;
        if (!strcmp(m->v[k].name, s)) return k;
    }
}

/* Takes ownership of name. False: duplicate or full. */
static bool vmap_put(vmap *m, char *name, int node, int out)
{
    if (m->n >= m->cap || vmap_find(m, name) >= 0) {
        free(name);
        return false;
    }
    size_t i = hash_str(name) & m->mask;
    while (m->slot[i] >= 0) i = (i + 1) & m->mask;
    m->slot[i] = m->n;
    m->v[m->n++] = (vname){name, node, out};
    return true;
}

static void vmap_free(vmap *m)
{
    for (int i = 0; i < m->n; i++) free(m->v[i].name);
    free(m->v);
    free(m->slot);
}

/* ValueInfoProto -> name, dtype, shape (-1 for a symbolic dim). */
static odx_status read_value_info(const pb *msg, char **name, tfj_dtype *dt, int *ndim,
                                  int64_t *shape, odx_err *err)
{
    pb r = *msg, sub;
    int f, w;
    uint64_t v;
    *name = NULL;
    *ndim = -1;
    *dt = TFJ_F32;
    while (r.p < r.end) {
        if (!pb_next(&r, &f, &w, &v, &sub)) goto bad;
        if (f == 1 && w == 2) {
            free(*name);
            if (!(*name = pb_str(&sub))) goto bad;
        } else if (f == 2 && w == 2) { /* TypeProto */
            pb t = sub, tt;
            while (t.p < t.end) {
                if (!pb_next(&t, &f, &w, &v, &tt)) goto bad;
                if (f != 1 || w != 2) continue; /* tensor_type */
                pb q = tt, sh;
                while (q.p < q.end) {
                    if (!pb_next(&q, &f, &w, &v, &sh)) goto bad;
                    if (f == 1 && w == 0) {
                        if (v == OX_FLOAT) *dt = TFJ_F32;
                        else if (v == OX_INT64 || v == OX_INT32) *dt = TFJ_I32;
                        else {
                            free(*name);
                            *name = NULL;
                            return core_err(err, ODX_ERR_UNSUPPORTED,
                                            "graph input of data type %d", (int)v);
                        }
                    } else if (f == 2 && w == 2) {
                        *ndim = 0;
                        pb d = sh, dd;
                        while (d.p < d.end) {
                            if (!pb_next(&d, &f, &w, &v, &dd)) goto bad;
                            if (f != 1 || w != 2) continue;
                            if (*ndim >= TFJ_MAX_DIMS) {
                                free(*name);
                                *name = NULL;
                                return core_err(err, ODX_ERR_UNSUPPORTED,
                                                "graph input of rank > %d", TFJ_MAX_DIMS);
                            }
                            int64_t dv = -1;
                            pb e = dd, ee;
                            while (e.p < e.end) {
                                if (!pb_next(&e, &f, &w, &v, &ee)) goto bad;
                                if (f == 1 && w == 0) dv = (int64_t)v;
                            }
                            if (dv < -1 || dv > TFJ_MAX_ELEMS) goto bad;
                            shape[(*ndim)++] = dv <= 0 ? -1 : dv;
                        }
                    }
                }
            }
        }
    }
    if (!*name) goto bad;
    return ODX_OK;
bad:
    free(*name);
    *name = NULL;
    return core_err(err, ODX_ERR_MODEL, "malformed graph input/output description");
}

/* Counts the messages of the graph (for allocation). */
static bool count_graph(const pb *g, int *n_node, int *n_init, int *n_in, int *n_out)
{
    pb r = *g, sub;
    int f, w;
    uint64_t v;
    *n_node = *n_init = *n_in = *n_out = 0;
    while (r.p < r.end) {
        if (!pb_next(&r, &f, &w, &v, &sub)) return false;
        if (w != 2) continue;
        if (f == 1) (*n_node)++;
        else if (f == 5) (*n_init)++;
        else if (f == 11) (*n_in)++;
        else if (f == 12) (*n_out)++;
    }
    return true;
}

typedef struct onnx_load {
    tfj_model *m;
    vmap vm;
    pb *node_msgs;
    char ***node_inputs; /* per node: input value names */
    int *node_n_inputs;
    int opset;
} onnx_load;

static int new_node(tfj_model *m)
{
    return m->n_nodes++;
}

static odx_status add_const(onnx_load *L, char *name, tfj_tensor *t, odx_err *err)
{
    tfj_model *m = L->m;
    int k = new_node(m);
    tfj_node *nd = &m->nodes[k];
    nd->name = core_strdup(name);
    nd->op = core_strdup("Const");
    if (!nd->name || !nd->op) {
        free(name);
        return core_err(err, ODX_ERR_NOMEM, "out of memory");
    }
    nd->is_const = true;
    nd->n_out = 1;
    nd->dtype = t->dtype;
    nd->ph_ndim = t->ndim;
    nd->value = *t;
    memset(t, 0, sizeof *t);
    if (!vmap_put(&L->vm, name, k, 0))
        return core_err(err, ODX_ERR_MODEL, "value '%s' is defined twice", nd->name);
    return ODX_OK;
}

/* NodeProto -> a node (inputs are resolved later, once every value is named). */
static odx_status read_node(onnx_load *L, const pb *msg, int idx, odx_err *err)
{
    tfj_model *m = L->m;
    odx_status st = ODX_OK;
    pb r = *msg, sub;
    int f, w;
    uint64_t v;
    char *op = NULL, *outs[2] = {NULL, NULL};
    int n_outs = 0, n_attr = 0, n_ins = 0;
    bool foreign = false;
    oattr *as = calloc(ONNX_MAX_ATTRS, sizeof *as);
    char **ins = NULL;
    if (!as) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    /* first: op, outputs, input count */
    while (r.p < r.end) {
        if (!pb_next(&r, &f, &w, &v, &sub) || (w != 2 && f <= 7)) {
            st = core_err(err, ODX_ERR_MODEL, "node %d is malformed", idx);
            goto done;
        }
        if (f == 1) {
            n_ins++;
        } else if (f == 2) {
            if (n_outs >= 2) {
                st = core_err(err, ODX_ERR_UNSUPPORTED, "node %d has several outputs", idx);
                goto done;
            }
            if (!(outs[n_outs++] = pb_str(&sub))) {
                st = core_err(err, ODX_ERR_MODEL, "node %d: bad output name", idx);
                goto done;
            }
        } else if (f == 4) {
            free(op);
            if (!(op = pb_str(&sub))) {
                st = core_err(err, ODX_ERR_MODEL, "node %d: bad op_type", idx);
                goto done;
            }
        } else if (f == 7) {
            foreign = !pb_eq(&sub, "") && !pb_eq(&sub, "ai.onnx");
        } else if (f == 5) {
            if (n_attr >= ONNX_MAX_ATTRS) {
                st = core_err(err, ODX_ERR_LIMIT, "node %d has too many attributes", idx);
                goto done;
            }
            n_attr++;
        }
    }
    if (!op || n_outs == 0) {
        st = core_err(err, ODX_ERR_MODEL, "node %d has no op_type or no output", idx);
        goto done;
    }
    const char *who = outs[0];
    /* a second output that is named is a real one we do not make */
    if (n_outs == 2 && outs[1][0]) {
        st = core_err(err, ODX_ERR_UNSUPPORTED, "node '%s' (%s) has several outputs", who, op);
        goto done;
    }
    if (foreign) {
        st = core_err(err, ODX_ERR_UNSUPPORTED, "node '%s' (%s) is from a custom op domain",
                      who, op);
        goto done;
    }
    ins = calloc((size_t)n_ins + 1, sizeof *ins);
    if (!ins) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    r = *msg;
    int ki = 0, ka = 0;
    while (r.p < r.end) {
        pb_next(&r, &f, &w, &v, &sub); /* checked above */
        if (f == 1) {
            if (!(ins[ki++] = pb_str(&sub))) {
                st = core_err(err, ODX_ERR_MODEL, "node '%s': bad input name", who);
                goto done;
            }
        } else if (f == 5) {
            if ((st = read_attr(&sub, who, &as[ka++], err))) goto done;
        }
    }
    if (!strcmp(op, "Constant")) {
        const oattr *val = NULL;
        for (int k = 0; k < n_attr; k++)
            if (pb_eq(&as[k].name, "value") && as[k].has_t) val = &as[k];
        if (!val || n_ins) {
            st = core_err(err, ODX_ERR_UNSUPPORTED, "Constant '%s' without a tensor value", who);
            goto done;
        }
        tfj_tensor t = {0};
        if ((st = read_tensor(&val->t, who, &t, err))) goto done;
        char *nm = outs[0];
        outs[0] = NULL;
        st = add_const(L, nm, &t, err);
        tfj_tensor_release(&t);
        goto done;
    }
    const tfj_opdef *def = tfj_onnx_op_find(op);
    if (!def) {
        st = core_err(err, ODX_ERR_UNSUPPORTED, "ONNX op '%s' (node '%s') is not supported", op,
                      who);
        goto done;
    }
    int k = new_node(m);
    tfj_node *nd = &m->nodes[k];
    nd->name = core_strdup(who);
    nd->op = op;
    op = NULL;
    nd->def = def;
    nd->n_out = 1;
    nd->ox = calloc(1, sizeof *nd->ox);
    if (!nd->name || !nd->ox) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    nd->ox->opset = L->opset;
    if ((st = node_attrs(nd->op, who, as, n_attr, nd->ox, err))) goto done;
    /* trailing absent inputs ("") are dropped; inner ones read the empty const */
    while (n_ins > 0 && !ins[n_ins - 1][0]) free(ins[--n_ins]);
    L->node_inputs[k] = ins;
    L->node_n_inputs[k] = n_ins;
    ins = NULL;
    char *nm = outs[0];
    outs[0] = NULL;
    if (!vmap_put(&L->vm, nm, k, 0))
        st = core_err(err, ODX_ERR_MODEL, "value '%s' is defined twice", nd->name);
done:
    if (ins) {
        for (int j = 0; j < n_ins; j++) free(ins[j]);
        free(ins);
    }
    free(outs[0]);
    free(outs[1]);
    free(op);
    free(as);
    return st;
}

/* Resolves every node's input names to producers. */
static odx_status resolve_inputs(onnx_load *L, odx_err *err)
{
    tfj_model *m = L->m;
    for (int k = 0; k < m->n_nodes; k++) {
        char **ins = L->node_inputs[k];
        int n = L->node_n_inputs[k];
        if (!ins) continue;
        tfj_node *nd = &m->nodes[k];
        nd->in_node = malloc(((size_t)n + 1) * sizeof(int));
        nd->in_out = calloc((size_t)n + 1, sizeof(int));
        if (!nd->in_node || !nd->in_out) return core_err(err, ODX_ERR_NOMEM, "out of memory");
        for (int j = 0; j < n; j++) {
            int vi = vmap_find(&L->vm, ins[j]);
            if (vi < 0)
                return core_err(err, ODX_ERR_MODEL, "node '%s' reads unknown value '%s'",
                                nd->name, ins[j]);
            nd->in_node[j] = L->vm.v[vi].node;
            nd->in_out[j] = L->vm.v[vi].out;
        }
        nd->n_in = n;
        if (n < nd->def->min_in || (nd->def->max_in >= 0 && n > nd->def->max_in))
            return core_err(err, ODX_ERR_MODEL, "node '%s' (%s) has %d inputs", nd->name,
                            nd->op, n);
    }
    return ODX_OK;
}

/* ---------------------------------------------------------- fusion ---- */

static int res(const int *alias, int x)
{
    while (alias[x] >= 0) x = alias[x];
    return x;
}

static const tfj_tensor *const_f32(const tfj_model *m, const tfj_node *nd, int j)
{
    if (j >= nd->n_in) return NULL;
    const tfj_node *s = &m->nodes[nd->in_node[j]];
    return s->is_const && s->value.dtype == TFJ_F32 ? &s->value : NULL;
}

static bool const_scalar(const tfj_model *m, const tfj_node *nd, int j, float want)
{
    const tfj_tensor *t = const_f32(m, nd, j);
    return t && t->n == 1 && t->d.f[0] == want;
}

/* Gives the conv its own copy of weights and bias to fold constants into. */
static bool own_weights(tfj_node *cv, const tfj_tensor *wt, const tfj_tensor *bt, int64_t M)
{
    cv->ox->w = malloc((size_t)wt->n * sizeof(float));
    cv->ox->b = malloc((size_t)M * sizeof(float));
    if (!cv->ox->w || !cv->ox->b) return false;
    memcpy(cv->ox->w, wt->d.f, (size_t)wt->n * sizeof(float));
    for (int64_t o = 0; o < M; o++) cv->ox->b[o] = bt ? bt->d.f[o] : 0.0f;
    return true;
}

enum { AF_MUL = 1, AF_ADD, AF_SUB, AF_DIV };

/* an = Mul/Add (either order), Sub/Div (c first) of the value of c and a
 * constant that is a scalar or per channel ([M,1,1] / [1,M,1,1]).
 * Returns AF_* and the constant's values (1 or M of them) in *kv. */
static int affine_const(const tfj_model *m, const tfj_node *an, int c, const int *alias,
                        int64_t M, const float **kv)
{
    int kind = !strcmp(an->op, "Mul")   ? AF_MUL
               : !strcmp(an->op, "Add") ? AF_ADD
               : !strcmp(an->op, "Sub") ? AF_SUB
               : !strcmp(an->op, "Div") ? AF_DIV
                                        : 0;
    if (!kind || an->n_in != 2) return 0;
    int self = res(alias, an->in_node[0]) == c ? 0 : res(alias, an->in_node[1]) == c ? 1 : -1;
    if (self < 0 || (self == 1 && (kind == AF_SUB || kind == AF_DIV))) return 0;
    const tfj_tensor *k = const_f32(m, an, 1 - self);
    if (!k) return 0;
    bool chan = k->n == M && M > 1 &&
                ((k->ndim == 3 && k->shape[0] == M) || (k->ndim == 4 && k->shape[1] == M &&
                                                        k->shape[0] == 1));
    if (k->n != 1 && !chan) return 0;
    if (k->ndim > 4) return 0;
    if (kind == AF_DIV)
        for (int64_t i = 0; i < k->n; i++)
            if (k->d.f[i] == 0) return 0;
    *kv = k->d.f;
    return kind | (k->n == 1 ? 0 : 8);
}

/* Folds y (op) k into the conv: before the activation into weights/bias,
 * after it into the post-affine pa/pb (y = y * pa + pb). */
static bool fold_affine(tfj_node *cv, int kind, const float *kv, int64_t M, int64_t per,
                        bool post)
{
    tfj_onnx_attr *ox = cv->ox;
    bool chan = kind & 8;
    kind &= 7;
    if (post && !ox->pa) {
        ox->pa = malloc((size_t)M * sizeof(float));
        ox->pb = calloc((size_t)M, sizeof(float));
        if (!ox->pa || !ox->pb) return false;
        for (int64_t o = 0; o < M; o++) ox->pa[o] = 1;
    }
    for (int64_t o = 0; o < M; o++) {
        float k = chan ? kv[o] : kv[0];
        float mul = kind == AF_MUL ? k : kind == AF_DIV ? 1 / k : 1;
        float add = kind == AF_ADD ? k : kind == AF_SUB ? -k : 0;
        if (post) {
            ox->pa[o] *= mul;
            ox->pb[o] = ox->pb[o] * mul + add;
        } else {
            if (mul != 1)
                for (int64_t q = 0; q < per; q++) ox->w[o * per + q] *= mul;
            ox->b[o] = ox->b[o] * mul + add;
        }
    }
    return true;
}

static bool clip06(const tfj_model *m, const tfj_node *cn)
{
    if (strcmp(cn->op, "Clip")) return false;
    bool lo = cn->n_in >= 2 ? const_scalar(m, cn, 1, 0.0f) : cn->ox->has_min && cn->ox->fmin == 0;
    bool hi = cn->n_in >= 3 ? const_scalar(m, cn, 2, 6.0f) : cn->ox->has_max && cn->ox->fmax == 6;
    return lo && hi;
}

/* Relu, HardSigmoid, Clip(0, 6) reading c: its TFJ_ACT_*, else 0. */
static int simple_act(const tfj_model *m, const tfj_node *an, int c, const int *alias)
{
    if (an->n_in < 1 || res(alias, an->in_node[0]) != c) return 0;
    if (!strcmp(an->op, "Relu") && an->n_in == 1) return TFJ_ACT_RELU;
    if (!strcmp(an->op, "HardSigmoid") && an->n_in == 1) return TFJ_ACT_HSIG;
    if (clip06(m, an)) return TFJ_ACT_RELU6;
    return 0;
}

/* Hard-swish spelt out on the value of c (read by exactly two nodes):
 * x * HardSigmoid(x) (1/6, 0.5); x * (Clip(x + 3, 0, 6) / 6);
 * (x * Clip(x + 3, 0, 6)) / 6. Aliases the pattern's nodes to c and returns
 * the last one, or -1. */
static int hswish(const tfj_model *m, int c, int *alias, const int *uses, int (*user)[2])
{
    for (int t = 0; t < 2; t++) {
        int g = user[c][t], o = user[c][1 - t];
        if (g < 0 || o < 0) continue;
        const tfj_node *gn = &m->nodes[g], *on = &m->nodes[o];
        if (strcmp(on->op, "Mul") || on->n_in != 2 || uses[g] != 1) continue;
        int gate_end = -1, last = -1;
        int chain[4], nc = 0;
        if (!strcmp(gn->op, "HardSigmoid") && gn->n_in == 1 &&
            fabsf(gn->ox->alpha - 1.0f / 6) < 1e-6f && gn->ox->beta == 0.5f) {
            chain[nc++] = g;
            gate_end = g;
        } else if (!strcmp(gn->op, "Add") && gn->n_in == 2 && const_scalar(m, gn, 1, 3.0f)) {
            int cl = user[g][0];
            if (cl < 0 || !clip06(m, &m->nodes[cl]) || m->nodes[cl].in_node[0] != g ||
                uses[cl] != 1)
                continue;
            chain[nc++] = g;
            chain[nc++] = cl;
            int dv = user[cl][0];
            const tfj_node *dn = dv >= 0 ? &m->nodes[dv] : NULL;
            if (dn && !strcmp(dn->op, "Div") && dn->n_in == 2 && dn->in_node[0] == cl &&
                const_scalar(m, dn, 1, 6.0f) && uses[dv] == 1) {
                chain[nc++] = dv;
                gate_end = dv;
            } else {
                gate_end = cl; /* (x * clip) / 6 */
            }
        } else {
            continue;
        }
        if (user[gate_end][0] != o) continue;
        int x0 = res(alias, on->in_node[0]), x1 = res(alias, on->in_node[1]);
        if (!((x0 == c && on->in_node[1] == gate_end) || (x1 == c && on->in_node[0] == gate_end)))
            continue;
        last = o;
        if (m->nodes[gate_end].op[0] == 'C') { /* the Div comes after the Mul */
            int dv = user[o][0];
            const tfj_node *dn = dv >= 0 ? &m->nodes[dv] : NULL;
            if (uses[o] != 1 || !dn || strcmp(dn->op, "Div") || dn->n_in != 2 ||
                dn->in_node[0] != o || !const_scalar(m, dn, 1, 6.0f))
                continue;
            last = dv;
            alias[o] = c;
        }
        for (int q = 0; q < nc; q++) alias[chain[q]] = c;
        alias[last] = c;
        return last;
    }
    return -1;
}

/* Conv -> BatchNormalization folds into the conv's weights and bias; so do
 * Mul/Add/Sub/Div by scalar or per-channel constants (PP-LCNet's learnable
 * affine blocks); then Relu, HardSigmoid, Clip(0, 6) or a spelt-out
 * hard-swish becomes the conv's epilogue, and constants after it a
 * post-affine (y * pa + pb). Fused-away nodes alias the conv. */
static void onnx_fuse(tfj_model *m, const int *order, int n_order, int *alias)
{
    int n = m->n_nodes;
    int *uses = calloc((size_t)n, sizeof(int));
    int (*user)[2] = malloc((size_t)n * sizeof *user);
    if (!uses || !user) goto done;
    for (int i = 0; i < n; i++) user[i][0] = user[i][1] = -1;
    for (int k = 0; k < n_order; k++) {
        const tfj_node *nd = &m->nodes[order[k]];
        if (nd->is_const || nd->is_input) continue;
        for (int j = 0; j < nd->n_in; j++) {
            int s = nd->in_node[j];
            if (uses[s] < 2) user[s][uses[s]] = order[k];
            uses[s]++;
        }
    }
    for (int i = 0; i < m->n_outputs; i++) uses[m->out_node[i]] += 1000;
    for (int k = 0; k < n_order; k++) {
        int c = order[k];
        tfj_node *cv = &m->nodes[c];
        if (cv->is_const || strcmp(cv->op, "Conv") || !cv->ox || cv->ox->w) continue;
        const tfj_tensor *wt = const_f32(m, cv, 1);
        const tfj_tensor *bt = cv->n_in > 2 ? const_f32(m, cv, 2) : NULL;
        if (!wt || wt->ndim != 4 || (cv->n_in > 2 && (!bt || bt->n != wt->shape[0]))) continue;
        int64_t M = wt->shape[0], per = wt->n / (M ? M : 1);
        /* BatchNormalization */
        if (uses[c] == 1) {
            int b = user[c][0];
            tfj_node *bn = &m->nodes[b];
            const tfj_tensor *sc = const_f32(m, bn, 1), *bb = const_f32(m, bn, 2),
                             *mu = const_f32(m, bn, 3), *va = const_f32(m, bn, 4);
            if (!strcmp(bn->op, "BatchNormalization") && bn->n_in == 5 &&
                bn->in_node[0] == c && sc && bb && mu && va && sc->n == M && bb->n == M &&
                mu->n == M && va->n == M) {
                float *w = malloc((size_t)wt->n * sizeof(float));
                float *bias = malloc((size_t)M * sizeof(float));
                if (!w || !bias) {
                    free(w);
                    free(bias);
                    goto done;
                }
                for (int64_t o = 0; o < M; o++) {
                    float s = sc->d.f[o] / sqrtf(va->d.f[o] + bn->ox->eps);
                    for (int64_t q = 0; q < per; q++) w[o * per + q] = wt->d.f[o * per + q] * s;
                    float b0 = bt ? bt->d.f[o] : 0.0f;
                    bias[o] = (b0 - mu->d.f[o]) * s + bb->d.f[o];
                }
                cv->ox->w = w;
                cv->ox->b = bias;
                alias[b] = c;
                uses[c] = uses[b];
                user[c][0] = user[b][0];
                user[c][1] = user[b][1];
            }
        }
        /* the rest of the chain: affine constants, one activation, affine
         * constants after it */
        if (!cv->ox->w && !own_weights(cv, wt, bt, M)) goto done;
        bool acted = false;
        for (int guard = 0; guard < 16; guard++) {
            if (uses[c] == 1) {
                int a = user[c][0];
                tfj_node *an = &m->nodes[a];
                const float *kv = NULL;
                int kind = affine_const(m, an, c, alias, M, &kv);
                if (kind) {
                    if (!fold_affine(cv, kind, kv, M, per, acted)) goto done;
                } else if (!acted && (kind = simple_act(m, an, c, alias))) {
                    cv->act = kind;
                    cv->ox->alpha = an->ox->alpha;
                    cv->ox->beta = an->ox->beta;
                    acted = true;
                } else {
                    break;
                }
                alias[a] = c;
                uses[c] = uses[a];
                user[c][0] = user[a][0];
                user[c][1] = user[a][1];
            } else if (uses[c] == 2 && !acted) {
                int last = hswish(m, c, alias, uses, user);
                if (last < 0) break;
                cv->act = TFJ_ACT_HSWISH;
                acted = true;
                uses[c] = uses[last];
                user[c][0] = user[last][0];
                user[c][1] = user[last][1];
            } else {
                break;
            }
        }
    }
done:
    free(uses);
    free(user);
}

/* ------------------------------------------------------------ load ---- */

odx_status tfj_model_load_onnx(const char *path, tfj_model **out, odx_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    struct stat sb;
    if (!path || stat(path, &sb) != 0)
        return core_err_errno(err, ODX_ERR_NOT_FOUND, "model file '%s'",
                              path ? path : "(null)");
    odx_status st = core_read_file(path, TFJ_MAX_BIN_BYTES, &data, &len, err);
    if (st != ODX_OK) return st;
    st = tfj_model_load_onnx_mem(data, len, path, out, err);
    free(data);
    return st;
}

odx_status tfj_model_load_onnx_mem(const uint8_t *data, size_t len, const char *path,
                                   tfj_model **out, odx_err *err)
{
    odx_status st = ODX_OK;
    onnx_load L = {0};
    tfj_model *m = NULL;
    if (!path) path = "(memory)";
    if (!out || (!data && len))
        return core_err(err, ODX_ERR_INVALID, "tfj_model_load_onnx_mem: bad arguments");
    *out = NULL;
    if (len == 0)
        return core_err(err, ODX_ERR_MODEL, "'%s' is empty", path);
    if ((int64_t)len > TFJ_MAX_BIN_BYTES)
        return core_err(err, ODX_ERR_LIMIT, "'%s' is over %lld bytes", path,
                        (long long)TFJ_MAX_BIN_BYTES);

    pb r = {data, data + len}, sub, graph = {0};
    int f, w;
    uint64_t v;
    bool has_graph = false;
    L.opset = -1;
    while (r.p < r.end) {
        if (!pb_next(&r, &f, &w, &v, &sub)) {
            st = core_err(err, ODX_ERR_MODEL, "'%s' is not an ONNX model (bad protobuf)", path);
            goto done;
        }
        if (f == 7 && w == 2) {
            graph = sub;
            has_graph = true;
        } else if (f == 8 && w == 2) {
            pb q = sub, s2;
            bool dflt = true;
            int64_t ver = -1;
            while (q.p < q.end) {
                if (!pb_next(&q, &f, &w, &v, &s2)) {
                    st = core_err(err, ODX_ERR_MODEL, "'%s': bad opset_import", path);
                    goto done;
                }
                if (f == 1 && w == 2) dflt = pb_eq(&s2, "") || pb_eq(&s2, "ai.onnx");
                if (f == 2 && w == 0) ver = (int64_t)v;
            }
            if (dflt && ver >= 0 && ver < 1000) L.opset = (int)ver;
        }
    }
    if (!has_graph) {
        st = core_err(err, ODX_ERR_MODEL, "'%s' has no graph", path);
        goto done;
    }
    if (L.opset < 0) L.opset = 9;
    int n_node, n_init, n_in, n_out;
    if (!count_graph(&graph, &n_node, &n_init, &n_in, &n_out)) {
        st = core_err(err, ODX_ERR_MODEL, "'%s': malformed graph", path);
        goto done;
    }
    int64_t total = (int64_t)n_node + n_init + n_in + 1;
    if (total > TFJ_MAX_NODES) {
        st = core_err(err, ODX_ERR_LIMIT, "'%s' has %lld nodes (limit %d)", path,
                      (long long)total, TFJ_MAX_NODES);
        goto done;
    }
    if (n_out < 1) {
        st = core_err(err, ODX_ERR_MODEL, "'%s': graph has no outputs", path);
        goto done;
    }
    m = calloc(1, sizeof *m);
    if (!m || !(m->nodes = calloc((size_t)total, sizeof *m->nodes))) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    L.m = m;
    L.vm.cap = (int)total;
    size_t sc = 16;
    while (sc < (size_t)total * 2) sc <<= 1;
    L.vm.mask = sc - 1;
    L.vm.v = calloc((size_t)total, sizeof *L.vm.v);
    L.vm.slot = malloc(sc * sizeof(int));
    L.node_inputs = calloc((size_t)total, sizeof *L.node_inputs);
    L.node_n_inputs = calloc((size_t)total, sizeof *L.node_n_inputs);
    m->out_node = calloc((size_t)n_out, sizeof(int));
    m->out_idx = calloc((size_t)n_out, sizeof(int));
    m->out_names = calloc((size_t)n_out, sizeof(char *));
    if (!L.vm.v || !L.vm.slot || !L.node_inputs || !L.node_n_inputs || !m->out_node ||
        !m->out_idx || !m->out_names) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < sc; i++) L.vm.slot[i] = -1;
    { /* "" (an absent optional input in the middle): an empty constant */
        tfj_tensor t = {0};
        int64_t z = 0;
        char *nm = core_strdup("");
        if (!nm) {
            st = core_err(err, ODX_ERR_NOMEM, "out of memory");
            goto done;
        }
        if ((st = tfj_tensor_alloc(&t, TFJ_F32, 1, &z, err)) ||
            (st = add_const(&L, nm, &t, err)))
            goto done;
    }
    /* initializers, then graph inputs that are not initializers, then nodes */
    for (int pass = 0; pass < 3; pass++) {
        pb g = graph;
        int idx = 0;
        while (g.p < g.end) {
            pb_next(&g, &f, &w, &v, &sub); /* checked by count_graph */
            if (w != 2) continue;
            if (pass == 0 && f == 5) {
                char *nm = NULL;
                pb q = sub, s2;
                while (q.p < q.end) {
                    if (!pb_next(&q, &f, &w, &v, &s2)) break;
                    if (f == 8 && w == 2) {
                        free(nm);
                        nm = pb_str(&s2);
                    }
                }
                if (!nm) {
                    st = core_err(err, ODX_ERR_MODEL, "'%s': initializer without a name", path);
                    goto done;
                }
                tfj_tensor t = {0};
                if ((st = read_tensor(&sub, nm, &t, err))) {
                    free(nm);
                    goto done;
                }
                st = add_const(&L, nm, &t, err);
                tfj_tensor_release(&t);
                if (st != ODX_OK) goto done;
            } else if (pass == 1 && f == 11) {
                char *nm;
                tfj_dtype dt;
                int nd_;
                int64_t shp[TFJ_MAX_DIMS];
                if ((st = read_value_info(&sub, &nm, &dt, &nd_, shp, err))) goto done;
                if (vmap_find(&L.vm, nm) >= 0) { /* an initializer's default */
                    free(nm);
                    continue;
                }
                int k = new_node(m);
                tfj_node *nd = &m->nodes[k];
                nd->name = core_strdup(nm);
                nd->op = core_strdup("Placeholder");
                if (!nd->name || !nd->op) {
                    free(nm);
                    st = core_err(err, ODX_ERR_NOMEM, "out of memory");
                    goto done;
                }
                nd->is_input = true;
                nd->n_out = 1;
                nd->dtype = dt;
                nd->ph_ndim = nd_;
                memcpy(nd->ph_shape, shp, sizeof shp);
                if (!vmap_put(&L.vm, nm, k, 0)) {
                    st = core_err(err, ODX_ERR_MODEL, "value '%s' is defined twice", nd->name);
                    goto done;
                }
            } else if (pass == 2 && f == 1) {
                if ((st = read_node(&L, &sub, idx++, err))) goto done;
            }
        }
    }
    if ((st = resolve_inputs(&L, err))) goto done;
    { /* graph outputs */
        pb g = graph;
        while (g.p < g.end) {
            pb_next(&g, &f, &w, &v, &sub);
            if (f != 12 || w != 2) continue;
            char *nm;
            tfj_dtype dt;
            int nd_;
            int64_t shp[TFJ_MAX_DIMS];
            if ((st = read_value_info(&sub, &nm, &dt, &nd_, shp, err))) goto done;
            int vi = vmap_find(&L.vm, nm);
            if (vi < 0) {
                st = core_err(err, ODX_ERR_MODEL, "graph output '%s' is never computed", nm);
                free(nm);
                goto done;
            }
            int k = m->n_outputs++;
            m->out_node[k] = L.vm.v[vi].node;
            m->out_idx[k] = L.vm.v[vi].out;
            m->out_names[k] = nm;
        }
    }
    if ((st = tfj_graph_finish(m, onnx_fuse, err))) goto done;
    *out = m;
    m = NULL;
done:
    if (L.node_inputs) {
        int nn = L.m ? L.m->n_nodes : 0;
        for (int k = 0; k < nn; k++) {
            if (!L.node_inputs[k]) continue;
            for (int j = 0; j < L.node_n_inputs[k]; j++) free(L.node_inputs[k][j]);
            free(L.node_inputs[k]);
        }
    }
    free(L.node_inputs);
    free(L.node_n_inputs);
    vmap_free(&L.vm);
    tfj_model_free(m);
    return st;
}

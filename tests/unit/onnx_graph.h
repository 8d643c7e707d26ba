/* onnx_graph.h - writes tiny ONNX models (protobuf wire format) for the ONNX
 * front-end's unit and robustness tests (test_cap_onnx.c,
 * test_cap_onnx_fuzz.c). Header-only, test use. */
#ifndef ODX_ONNX_GRAPH_H
#define ODX_ONNX_GRAPH_H

#include "runtime/runtime.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct pw {
    uint8_t *b;
    size_t n, cap;
} pw;

static inline void pw_raw(pw *w, const void *p, size_t n)
{
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 64;
        w->b = realloc(w->b, w->cap);
        if (!w->b) exit(2);
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static inline void pw_varint(pw *w, uint64_t v)
{
    uint8_t c[10];
    int k = 0;
    do {
        c[k] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) c[k] |= 0x80;
        k++;
    } while (v);
    pw_raw(w, c, (size_t)k);
}
static inline void pw_key(pw *w, int f, int wire) { pw_varint(w, ((uint64_t)f << 3) | (uint64_t)wire); }
static inline void pw_int(pw *w, int f, int64_t v) { pw_key(w, f, 0); pw_varint(w, (uint64_t)v); }
static inline void pw_bytes(pw *w, int f, const void *p, size_t n)
{
    pw_key(w, f, 2);
    pw_varint(w, n);
    pw_raw(w, p, n);
}
static inline void pw_str(pw *w, int f, const char *s) { pw_bytes(w, f, s, strlen(s)); }
static inline void pw_msg(pw *w, int f, pw *sub)
{
    pw_bytes(w, f, sub->b, sub->n);
    free(sub->b);
    memset(sub, 0, sizeof *sub);
}
static inline void pw_f32(pw *w, int f, float v)
{
    pw_key(w, f, 5);
    pw_raw(w, &v, 4);
}

/* TensorProto: float (dt 1) or int64 (dt 7) with raw_data. */
static inline void pw_tensor(pw *w, int f, int dt, int ndim, const int64_t *dims,
                             const void *data, size_t n)
{
    pw t = {0};
    for (int i = 0; i < ndim; i++) pw_int(&t, 1, dims[i]);
    pw_int(&t, 2, dt);
    pw_bytes(&t, 9, data, n * (dt == 7 ? 8 : 4));
    pw_msg(w, f, &t);
}

/* A graph under construction: nodes, inputs, outputs. */
typedef struct og {
    pw g;
    int opset;
} og;

static inline void og_input(og *o, const char *name, int dt, int ndim, const int64_t *dims)
{
    pw vi = {0}, tp = {0}, tt = {0}, sh = {0};
    for (int i = 0; i < ndim; i++) {
        pw d = {0};
        if (dims[i] < 0) pw_str(&d, 2, "N");
        else pw_int(&d, 1, dims[i]);
        pw_msg(&sh, 1, &d);
    }
    pw_int(&tt, 1, dt);
    pw_msg(&tt, 2, &sh);
    pw_msg(&tp, 1, &tt);
    pw_str(&vi, 1, name);
    pw_msg(&vi, 2, &tp);
    pw_msg(&o->g, 11, &vi);
}
static inline void og_output(og *o, const char *name)
{
    pw vi = {0};
    pw_str(&vi, 1, name);
    pw_msg(&o->g, 12, &vi);
}
/* A Constant node: float data (dt 1) or int64 (dt 7). */
static inline void og_const(og *o, const char *name, int dt, int ndim, const int64_t *dims,
                            const void *data, size_t n)
{
    pw nd = {0}, at = {0};
    pw_str(&nd, 2, name);
    pw_str(&nd, 4, "Constant");
    pw_str(&at, 1, "value");
    pw_int(&at, 20, 4);
    pw_tensor(&at, 5, dt, ndim, dims, data, n);
    pw_msg(&nd, 5, &at);
    pw_msg(&o->g, 1, &nd);
}
static inline void og_constf(og *o, const char *name, int ndim, const int64_t *dims,
                             const float *v)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
    og_const(o, name, 1, ndim, dims, v, n);
}
static inline void og_consti(og *o, const char *name, int n, const int64_t *v)
{
    int64_t d = n;
    og_const(o, name, 7, 1, &d, v, (size_t)n);
}

/* Attributes are passed as a string spec: "name=i:3", "name=f:0.5",
 * "name=s:nearest", "name=ints:1,2,3"; NULL ends the list. */
static inline void og_node(og *o, const char *op, const char *ins, const char *out, ...)
{
    pw nd = {0};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ins);
    for (char *p = buf, *q; p; p = q) {
        q = strchr(p, ',');
        if (q) *q++ = 0;
        pw_str(&nd, 1, p);
    }
    pw_str(&nd, 2, out);
    pw_str(&nd, 4, op);
    va_list ap;
    va_start(ap, out);
    for (const char *a; (a = va_arg(ap, const char *));) {
        pw at = {0};
        char nm[64], ty[8], val[128];
        if (sscanf(a, "%63[^=]=%7[^:]:%127s", nm, ty, val) != 3) exit(2);
        pw_str(&at, 1, nm);
        if (!strcmp(ty, "i")) {
            pw_int(&at, 3, atoll(val));
            pw_int(&at, 20, 2);
        } else if (!strcmp(ty, "f")) {
            pw_f32(&at, 2, (float)atof(val));
            pw_int(&at, 20, 1);
        } else if (!strcmp(ty, "s")) {
            pw_str(&at, 4, val);
            pw_int(&at, 20, 3);
        } else {
            pw pk = {0};
            for (char *p = val, *q; p; p = q) {
                q = strchr(p, ',');
                if (q) *q++ = 0;
                pw_varint(&pk, (uint64_t)atoll(p));
            }
            pw_bytes(&at, 8, pk.b, pk.n);
            free(pk.b);
            pw_int(&at, 20, 7);
        }
        pw_msg(&nd, 5, &at);
    }
    va_end(ap);
    pw_msg(&o->g, 1, &nd);
}

/* The ModelProto bytes (caller frees w->b). */
static inline void og_model(og *o, pw *w)
{
    memset(w, 0, sizeof *w);
    pw_int(w, 1, 7);
    pw_msg(w, 7, &o->g);
    pw op = {0};
    pw_str(&op, 1, "");
    pw_int(&op, 2, o->opset ? o->opset : 11);
    pw_msg(w, 8, &op);
}

static inline const char *og_write(const pw *w, char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/odx_onnx_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, w->b, w->n) != (ssize_t)w->n) exit(2);
    close(fd);
    return path;
}

/* Loads o's model; *st gets the status. */
static inline tfj_model *og_load(og *o, odx_status *st, odx_err *err)
{
    pw w;
    og_model(o, &w);
    char path[64];
    og_write(&w, path, sizeof path);
    free(w.b);
    tfj_model *m = NULL;
    *st = tfj_model_load_onnx(path, &m, err);
    unlink(path);
    return m;
}

#endif

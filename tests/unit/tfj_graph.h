/* tfj_graph.h - builds tiny TF.js graph models (model.json + weights .bin)
 * in a temp dir for the runner's unit and robustness tests
 * (test_cap_tfjs_ops.c, test_cap_tfjs_fuzz.c). Header-only, test use. */
#ifndef ODX_TFJ_GRAPH_H
#define ODX_TFJ_GRAPH_H

#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct gb {
    core_buf nodes, specs, bin;
    int n_nodes, n_specs;
    char dir[256];
} gb;

static inline void gb_init(gb *g)
{
    memset(g, 0, sizeof *g);
    core_buf_init(&g->nodes, 0);
    core_buf_init(&g->specs, 0);
    core_buf_init(&g->bin, 0);
    snprintf(g->dir, sizeof g->dir, "/tmp/odx_tfj_XXXXXX");
    if (!mkdtemp(g->dir)) {
        perror("mkdtemp");
        exit(2);
    }
}

static inline void gb_free(gb *g)
{
    char p[512];
    snprintf(p, sizeof p, "%s/model.json", g->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/w.bin", g->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/w2.bin", g->dir);
    unlink(p);
    rmdir(g->dir);
    core_buf_free(&g->nodes);
    core_buf_free(&g->specs);
    core_buf_free(&g->bin);
}

static inline void gb_shape_json(core_buf *b, int ndim, const int64_t *shape)
{
    core_buf_puts(b, "{\"dim\":[");
    for (int i = 0; i < ndim; i++)
        core_buf_printf(b, "%s{\"size\":\"%lld\"}", i ? "," : "", (long long)shape[i]);
    core_buf_puts(b, "]}");
}

/* A constant with its values appended to the weights (float32 or int32). */
static inline void gb_const(gb *g, const char *name, bool is_int, int ndim,
                            const int64_t *shape, const void *vals)
{
    const char *dt = is_int ? "DT_INT32" : "DT_FLOAT";
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    core_buf_printf(&g->nodes,
                    "%s{\"name\":\"%s\",\"op\":\"Const\",\"attr\":{\"dtype\":{\"type\":\"%s\"},"
                    "\"value\":{\"tensor\":{\"dtype\":\"%s\",\"tensorShape\":",
                    g->n_nodes++ ? "," : "", name, dt, dt);
    gb_shape_json(&g->nodes, ndim, shape);
    core_buf_puts(&g->nodes, "}}}}");
    core_buf_printf(&g->specs, "%s{\"name\":\"%s\",\"shape\":[", g->n_specs++ ? "," : "", name);
    for (int i = 0; i < ndim; i++)
        core_buf_printf(&g->specs, "%s%lld", i ? "," : "", (long long)shape[i]);
    core_buf_printf(&g->specs, "],\"dtype\":\"%s\"}", is_int ? "int32" : "float32");
    core_buf_append(&g->bin, vals, (size_t)n * 4);
}

static inline void gb_constf(gb *g, const char *name, int ndim, const int64_t *shape,
                             const float *v)
{
    gb_const(g, name, false, ndim, shape, v);
}

static inline void gb_consti(gb *g, const char *name, int ndim, const int64_t *shape,
                             const int32_t *v)
{
    gb_const(g, name, true, ndim, shape, v);
}

static inline void gb_input(gb *g, const char *name, int ndim, const int64_t *shape)
{
    core_buf_printf(&g->nodes,
                    "%s{\"name\":\"%s\",\"op\":\"Placeholder\",\"attr\":{\"dtype\":{\"type\":"
                    "\"DT_FLOAT\"},\"shape\":{\"shape\":",
                    g->n_nodes++ ? "," : "", name);
    gb_shape_json(&g->nodes, ndim, shape);
    core_buf_puts(&g->nodes, "}}}");
}

/* inputs: JSON array body, e.g. "\"x\",\"w\""; attrs: JSON object body. */
static inline void gb_op(gb *g, const char *name, const char *op, const char *inputs,
                         const char *attrs)
{
    core_buf_printf(&g->nodes, "%s{\"name\":\"%s\",\"op\":\"%s\",\"input\":[%s],\"attr\":{%s}}",
                    g->n_nodes++ ? "," : "", name, op, inputs, attrs ? attrs : "");
}

static inline void gb_write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

/* Writes model.json (+ w.bin). outputs: JSON signature outputs body or NULL
 * (then the runner picks the unconsumed nodes). */
static inline void gb_write(gb *g, const char *outputs)
{
    core_buf j;
    core_buf_init(&j, 0);
    core_buf_puts(&j, "{\"format\":\"graph-model\",");
    if (outputs) core_buf_printf(&j, "\"signature\":{\"outputs\":{%s}},", outputs);
    core_buf_printf(&j, "\"modelTopology\":{\"node\":[%s]},", g->nodes.data);
    core_buf_printf(&j, "\"weightsManifest\":[{\"paths\":[\"w.bin\"],\"weights\":[%s]}]}",
                    g->specs.data ? g->specs.data : "");
    gb_write_file(g->dir, "model.json", j.data, j.len);
    gb_write_file(g->dir, "w.bin", g->bin.data ? g->bin.data : "", g->bin.len);
    core_buf_free(&j);
}

static inline odx_status gb_load(gb *g, tfj_model **m, odx_err *err)
{
    char p[512];
    snprintf(p, sizeof p, "%s/model.json", g->dir);
    return tfj_model_load(p, m, err);
}

/* A float32 view tensor over caller data. */
static inline tfj_tensor gb_tensor(int ndim, const int64_t *shape, float *data)
{
    tfj_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = TFJ_F32;
    t.ndim = ndim;
    t.n = 1;
    for (int i = 0; i < ndim; i++) {
        t.shape[i] = shape[i];
        t.n *= shape[i];
    }
    t.d.f = data;
    return t;
}

#endif

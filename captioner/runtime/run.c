/* run.c - executes a loaded TF.js graph (model.c) for one thread: walks the
 * schedule, calls the op kernels (ops.c) and frees each value after its
 * last reader, so peak memory stays near the widest layer.
 * Transposes are lazy: a value carries a permutation from its logical to its
 * physical layout, layout-neutral ops (elementwise, pad, concat) work on the
 * physical data, and only ops that need the logical layout pay for a copy.
 * Converted ONNX graphs (NCHW around NHWC convs) then move almost no data. */
#include "runtime_int.h"

#include <cblas.h>
#include <stdlib.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define TFJ_HAVE_MXCSR 1
#endif
#include <string.h>

#define TFJ_MAX_PROF 48

typedef struct tfj_lay {
    int8_t p[TFJ_MAX_DIMS]; /* logical dim k is physical dim p[k] */
    bool on;                /* false: identity */
} tfj_lay;

struct tfj_state {
    const tfj_model *m;
    tfj_tensor *vals;  /* one per slot, physical layout */
    tfj_lay *lay;      /* one per slot */
    int *left;         /* readers still to come, per slot */
    tfj_ctx cx;
    tfj_pool pool;
    int64_t last_macs;
    int64_t max_elems, max_work; /* tfj_state_set_limits (0: none) */
    bool prof;
    int n_prof;
    const char *prof_name[TFJ_MAX_PROF];
    double prof_ms[TFJ_MAX_PROF];
    int prof_calls[TFJ_MAX_PROF];
};

odx_status tfj_state_new(const tfj_model *m, tfj_state **out, odx_err *err)
{
    if (!m) return core_err(err, ODX_ERR_INVALID, "no model");
    tfj_state *s = calloc(1, sizeof *s);
    if (!s) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    s->m = m;
    s->vals = calloc((size_t)m->n_slots + 1, sizeof *s->vals);
    s->left = calloc((size_t)m->n_slots + 1, sizeof *s->left);
    s->lay = calloc((size_t)m->n_slots + 1, sizeof *s->lay);
    if (!s->vals || !s->left || !s->lay) {
        tfj_state_free(s);
        return core_err(err, ODX_ERR_NOMEM, "out of memory");
    }
    /* Each worker thread runs its own detector: BLAS must not spawn more. */
    openblas_set_num_threads(1);
    *out = s;
    return ODX_OK;
}

static void clear_values(tfj_state *s)
{
    for (int i = 0; i < s->m->n_slots; i++) tfj_tensor_release(&s->vals[i]);
}

void tfj_state_free(tfj_state *s)
{
    if (!s) return;
    if (s->vals) clear_values(s);
    free(s->vals);
    free(s->left);
    free(s->lay);
    free(s->cx.scratch);
    free(s->cx.xpack);
    tfj_pool_free(&s->pool);
    free(s);
}

static void prof_add(tfj_state *s, const char *op, double ms)
{
    int i = 0;
    while (i < s->n_prof && strcmp(s->prof_name[i], op)) i++;
    if (i == s->n_prof) {
        if (s->n_prof == TFJ_MAX_PROF) return;
        s->prof_name[s->n_prof++] = op;
        s->prof_ms[i] = 0;
        s->prof_calls[i] = 0;
    }
    s->prof_ms[i] += ms;
    s->prof_calls[i]++;
}

/* A borrowed view of a value: readers never free what they did not make. */
static tfj_tensor view(const tfj_tensor *t)
{
    tfj_tensor v = *t;
    v.owned = false;
    return v;
}

static bool is_output(const tfj_model *m, int node, int idx)
{
    for (int o = 0; o < m->n_outputs; o++)
        if (m->out_node[o] == node && m->out_idx[o] == idx) return true;
    return false;
}

static bool lay_same(const tfj_lay *a, const tfj_lay *b, int ndim)
{
    if (a->on != b->on) return false;
    for (int k = 0; a->on && k < ndim; k++)
        if (a->p[k] != b->p[k]) return false;
    return true;
}

static odx_status materialise(const tfj_tensor *phys, const tfj_lay *l, tfj_tensor *out,
                              odx_err *err)
{
    int64_t perm[TFJ_MAX_DIMS];
    for (int k = 0; k < phys->ndim; k++) perm[k] = l->p[k];
    return tfj_transpose_perm(phys, perm, out, err);
}

/* A Transpose whose input dies here: no data moves, the permutation is
 * composed into the value's layout and the buffer changes hands. */
static bool steal_transpose(tfj_state *s, const tfj_node *nd, const tfj_tensor *in)
{
    const tfj_model *m = s->m;
    const tfj_node *src = &m->nodes[nd->in_node[0]];
    if (src->is_const || src->is_input) return false;
    int sl = src->slot + nd->in_out[0];
    int64_t perm[TFJ_MAX_DIMS];
    if (s->left[sl] != 1 || is_output(m, nd->in_node[0], nd->in_out[0]) ||
        !tfj_perm_valid(&in[1], in[0].ndim, perm))
        return false;
    const tfj_lay *li = &s->lay[sl];
    tfj_lay lo = {{0}, false};
    for (int k = 0; k < in[0].ndim; k++) {
        lo.p[k] = (int8_t)(li->on ? li->p[perm[k]] : perm[k]);
        if (lo.p[k] != k) lo.on = true;
    }
    s->vals[nd->slot] = s->vals[sl];
    memset(&s->vals[sl], 0, sizeof s->vals[sl]);
    s->lay[nd->slot] = lo;
    return true;
}

odx_status tfj_run(tfj_state *s, const tfj_tensor *inputs, int n_inputs,
                   const tfj_tensor **outputs, odx_err *err)
{
    odx_status st = ODX_OK;
    const tfj_model *m = s ? s->m : NULL;
    tfj_tensor *in = NULL, *tmp = NULL;
    tfj_lay *lin = NULL;
    if (!m || !outputs) return core_err(err, ODX_ERR_INVALID, "tfj_run: no state");
    if (n_inputs != m->n_inputs)
        return core_err(err, ODX_ERR_INVALID, "model wants %d inputs, got %d", m->n_inputs,
                        n_inputs);
#ifdef TFJ_HAVE_MXCSR
    /* Denormals flushed to zero for the run (restored after): tiny
     * activations otherwise run some kernels 5-10x slower (measured on the
     * PP-OCR recogniser); values below 1e-38 do not change any output. */
    unsigned mxcsr = _mm_getcsr();
    _mm_setcsr(mxcsr | 0x8040);
#endif
    s->pool.max_elems = s->max_elems;
    tfj_pool_enter(&s->pool);
    clear_values(s);
    memset(s->lay, 0, (size_t)m->n_slots * sizeof *s->lay);
    s->cx.macs = 0;
    for (int i = 0; i < m->n_inputs; i++) {
        const tfj_node *nd = &m->nodes[m->inputs[i]];
        const tfj_tensor *t = &inputs[i];
        bool ok = t->dtype == nd->dtype && t->d.p && t->ndim >= 0 && t->ndim <= TFJ_MAX_DIMS;
        if (ok && nd->ph_ndim >= 0) {
            ok = t->ndim == nd->ph_ndim;
            for (int d = 0; ok && d < nd->ph_ndim; d++)
                ok = nd->ph_shape[d] < 0 || nd->ph_shape[d] == t->shape[d];
        }
        int64_t n = 1;
        for (int d = 0; ok && d < t->ndim; d++) {
            ok = t->shape[d] >= 0 && (t->shape[d] == 0 || n <= TFJ_MAX_ELEMS / t->shape[d]);
            n *= t->shape[d];
        }
        if (!ok || n != t->n) {
            tfj_pool_leave();
#ifdef TFJ_HAVE_MXCSR
            _mm_setcsr(mxcsr);
#endif
            return core_err(err, ODX_ERR_INVALID, "input '%s' has the wrong dtype or shape",
                            nd->name);
        }
        s->vals[nd->slot] = view(t);
    }
    for (int i = 0; i < m->n_slots; i++) s->left[i] = m->slot_uses[i];
    int max_in = 0;
    for (int k = 0; k < m->n_sched; k++)
        if (m->nodes[m->sched[k]].n_in > max_in) max_in = m->nodes[m->sched[k]].n_in;
    in = malloc(((size_t)max_in + 1) * sizeof *in);
    tmp = calloc((size_t)max_in + 1, sizeof *tmp);
    lin = calloc((size_t)max_in + 1, sizeof *lin);
    if (!in || !tmp || !lin) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }

    int64_t work = 0; /* elements the nodes made (max_work) */
    for (int k = 0; k < m->n_sched; k++) {
        const tfj_node *nd = &m->nodes[m->sched[k]];
        if (s->max_work > 0 && work + s->cx.macs > s->max_work) {
            st = core_err(err, ODX_ERR_LIMIT,
                          "node '%s' (%s): run over its work limit (%lld elements and "
                          "multiply-accumulates)",
                          nd->name, nd->op, (long long)s->max_work);
            goto done;
        }
        bool any = false;
        for (int j = 0; j < nd->n_in; j++) {
            const tfj_node *src = &m->nodes[nd->in_node[j]];
            int sl = src->slot + nd->in_out[j];
            const tfj_tensor *v = src->is_const ? &src->value : &s->vals[sl];
            if (!v->d.p) {
                st = core_err(err, ODX_ERR_MODEL, "node '%s' reads '%s' before it is made",
                              nd->name, src->name);
                goto done;
            }
            in[j] = view(v);
            lin[j] = src->is_const ? (tfj_lay){{0}, false} : s->lay[sl];
            any |= lin[j].on;
        }
        double t0 = s->prof ? core_now() : 0;
        tfj_lay lout = {{0}, false};
        int32_t aux[2 * TFJ_MAX_DIMS];
        tfj_tensor auxt;
        int lay = nd->def->layout;
        bool stolen = lay == TFJ_LAY_TRANSPOSE && steal_transpose(s, nd, in);
        if (!stolen && any) {
            bool phys = false;
            if (lay == TFJ_LAY_UNARY && nd->n_in == 1) {
                phys = true;
            } else if (lay == TFJ_LAY_BINARY && nd->n_in == 2 && lin[0].on &&
                       lay_same(&lin[0], &lin[1], in[0].ndim) && in[0].ndim == in[1].ndim &&
                       !memcmp(in[0].shape, in[1].shape, sizeof(int64_t) * (size_t)in[0].ndim)) {
                phys = true;
            } else if (lay == TFJ_LAY_PAD && lin[0].on && !(nd->n_in > 1 && lin[1].on) &&
                       in[1].dtype == TFJ_I32 && in[1].n == 2 * (int64_t)in[0].ndim) {
                for (int d = 0; d < in[0].ndim; d++) {
                    aux[2 * lin[0].p[d]] = in[1].d.i[2 * d];
                    aux[2 * lin[0].p[d] + 1] = in[1].d.i[2 * d + 1];
                }
                auxt = in[1];
                auxt.d.i = aux;
                in[1] = auxt;
                phys = true;
            } else if (lay == TFJ_LAY_CONCAT && nd->n_in >= 2) {
                int nv = nd->n_in - 1;
                const tfj_tensor *ax = &in[nv];
                phys = lin[0].on && !lin[nv].on && ax->dtype == TFJ_I32 && ax->n == 1;
                for (int j = 1; phys && j < nv; j++)
                    phys = in[j].ndim == in[0].ndim && lay_same(&lin[0], &lin[j], in[0].ndim);
                int64_t a = phys ? ax->d.i[0] : 0;
                if (a < 0) a += in[0].ndim;
                phys = phys && a >= 0 && a < in[0].ndim;
                if (phys) {
                    aux[0] = lin[0].p[a];
                    auxt = *ax;
                    auxt.d.i = aux;
                    in[nv] = auxt;
                }
            }
            if (phys) {
                lout = lin[0];
            } else {
                for (int j = 0; j < nd->n_in; j++) {
                    if (!lin[j].on) continue;
                    st = materialise(&in[j], &lin[j], &tmp[j], err);
                    if (st != ODX_OK) goto done;
                    in[j] = view(&tmp[j]);
                }
            }
        }
        if (!stolen) {
            odx_err ke = {0};
            st = nd->def->fn(&s->cx, nd, in, nd->n_in, &s->vals[nd->slot], &ke);
            for (int j = 0; j < nd->n_in; j++) tfj_tensor_release(&tmp[j]);
            if (st != ODX_OK) {
                tfj_node_err(err, st, nd, &ke);
                goto done;
            }
            if (nd->n_out == 1) s->lay[nd->slot] = lout;
        }
        for (int o = 0; o < nd->n_out; o++) work += s->vals[nd->slot + o].n;
        if (s->prof) prof_add(s, nd->op, (core_now() - t0) * 1e3);
        /* free inputs after their last reader; outputs are kept */
        for (int j = 0; j < nd->n_in; j++) {
            const tfj_node *src = &m->nodes[nd->in_node[j]];
            if (src->is_const || src->is_input) continue;
            int sl = src->slot + nd->in_out[j];
            if (--s->left[sl] == 0 && !is_output(m, nd->in_node[j], nd->in_out[j]))
                tfj_tensor_release(&s->vals[sl]);
        }
    }
    for (int o = 0; o < m->n_outputs; o++) {
        const tfj_node *src = &m->nodes[m->out_node[o]];
        int sl = src->slot + m->out_idx[o];
        if (!src->is_const && s->lay[sl].on) {
            tfj_tensor t = {0};
            st = materialise(&s->vals[sl], &s->lay[sl], &t, err);
            if (st != ODX_OK) goto done;
            tfj_tensor_release(&s->vals[sl]);
            s->vals[sl] = t;
            s->lay[sl].on = false;
        }
        const tfj_tensor *v = src->is_const ? &src->value : &s->vals[sl];
        if (!v->d.p && !src->is_const) {
            st = core_err(err, ODX_ERR_MODEL, "output '%s' was not computed",
                          m->out_names[o]);
            goto done;
        }
        outputs[o] = v;
    }
    s->last_macs = s->cx.macs;
done:
    if (tmp)
        for (int j = 0; j <= max_in; j++) tfj_tensor_release(&tmp[j]);
    free(tmp);
    free(lin);
    free(in);
    tfj_pool_trim(&s->pool);
    tfj_pool_leave();
#ifdef TFJ_HAVE_MXCSR
    _mm_setcsr(mxcsr);
#endif
    return st;
}

void tfj_state_profile(tfj_state *s, bool on)
{
    if (s) s->prof = on;
}

int tfj_state_profile_get(const tfj_state *s, const char **names, double *ms, int *calls,
                          int max)
{
    if (!s) return 0;
    int n = s->n_prof < max ? s->n_prof : max;
    for (int i = 0; i < n; i++) {
        if (names) names[i] = s->prof_name[i];
        if (ms) ms[i] = s->prof_ms[i];
        if (calls) calls[i] = s->prof_calls[i];
    }
    return s->n_prof;
}

void tfj_state_profile_reset(tfj_state *s)
{
    if (s) s->n_prof = 0;
}

int64_t tfj_state_last_macs(const tfj_state *s) { return s ? s->last_macs : 0; }

void tfj_state_set_limits(tfj_state *s, int64_t max_elems, int64_t max_work)
{
    if (!s) return;
    s->max_elems = max_elems > 0 ? max_elems : 0;
    s->max_work = max_work > 0 ? max_work : 0;
}

size_t tfj_state_pool_bytes(const tfj_state *s)
{
    return s ? s->pool.bytes + s->cx.scratch_len * sizeof(float) + s->cx.xpack_len * 4 : 0;
}

void tfj_state_release(tfj_state *s)
{
    if (!s) return;
    if (s->vals) clear_values(s);
    tfj_pool_free(&s->pool);
    free(s->cx.scratch);
    s->cx.scratch = NULL;
    s->cx.scratch_len = 0;
    free(s->cx.xpack);
    s->cx.xpack = NULL;
    s->cx.xpack_len = 0;
}
const tfj_model *tfj_state_model(const tfj_state *s) { return s ? s->m : NULL; }

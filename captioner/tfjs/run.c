/* run.c - executes a loaded TF.js graph (model.c) for one thread: walks the
 * schedule, calls the op kernels (ops.c) and frees each value after its
 * last reader, so peak memory stays near the widest layer. */
#include "tfj_int.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#define TFJ_MAX_PROF 48

struct tfj_state {
    const tfj_model *m;
    tfj_tensor *vals;  /* one per slot */
    int *left;         /* readers still to come, per slot */
    tfj_ctx cx;
    int64_t last_macs;
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
    if (!s->vals || !s->left) {
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
    free(s->cx.scratch);
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

odx_status tfj_run(tfj_state *s, const tfj_tensor *inputs, int n_inputs,
                   const tfj_tensor **outputs, odx_err *err)
{
    odx_status st = ODX_OK;
    const tfj_model *m = s ? s->m : NULL;
    tfj_tensor *in = NULL;
    if (!m || !outputs) return core_err(err, ODX_ERR_INVALID, "tfj_run: no state");
    if (n_inputs != m->n_inputs)
        return core_err(err, ODX_ERR_INVALID, "model wants %d inputs, got %d", m->n_inputs,
                        n_inputs);
    clear_values(s);
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
        if (!ok || n != t->n)
            return core_err(err, ODX_ERR_INVALID, "input '%s' has the wrong dtype or shape",
                            nd->name);
        s->vals[nd->slot] = view(t);
    }
    for (int i = 0; i < m->n_slots; i++) s->left[i] = m->slot_uses[i];
    int max_in = 0;
    for (int k = 0; k < m->n_sched; k++)
        if (m->nodes[m->sched[k]].n_in > max_in) max_in = m->nodes[m->sched[k]].n_in;
    in = malloc(((size_t)max_in + 1) * sizeof *in);
    if (!in) return core_err(err, ODX_ERR_NOMEM, "out of memory");

    for (int k = 0; k < m->n_sched; k++) {
        const tfj_node *nd = &m->nodes[m->sched[k]];
        for (int j = 0; j < nd->n_in; j++) {
            const tfj_node *src = &m->nodes[nd->in_node[j]];
            const tfj_tensor *v = src->is_const ? &src->value : &s->vals[src->slot + nd->in_out[j]];
            if (!v->d.p) {
                st = core_err(err, ODX_ERR_MODEL, "node '%s' reads '%s' before it is made",
                              nd->name, src->name);
                goto done;
            }
            in[j] = view(v);
        }
        double t0 = s->prof ? core_now() : 0;
        st = nd->def->fn(&s->cx, nd, in, nd->n_in, &s->vals[nd->slot], err);
        if (st != ODX_OK) goto done;
        if (s->prof) prof_add(s, nd->op, (core_now() - t0) * 1e3);
        /* free inputs after their last reader; outputs are kept */
        for (int j = 0; j < nd->n_in; j++) {
            const tfj_node *src = &m->nodes[nd->in_node[j]];
            if (src->is_const || src->is_input) continue;
            int sl = src->slot + nd->in_out[j];
            if (--s->left[sl] == 0) {
                bool is_out = false;
                for (int o = 0; o < m->n_outputs && !is_out; o++)
                    is_out = m->out_node[o] == nd->in_node[j] && m->out_idx[o] == nd->in_out[j];
                if (!is_out) tfj_tensor_release(&s->vals[sl]);
            }
        }
    }
    for (int o = 0; o < m->n_outputs; o++) {
        const tfj_node *src = &m->nodes[m->out_node[o]];
        const tfj_tensor *v = src->is_const ? &src->value : &s->vals[src->slot + m->out_idx[o]];
        if (!v->d.p && !src->is_const) {
            st = core_err(err, ODX_ERR_MODEL, "output '%s' was not computed",
                          m->out_names[o]);
            goto done;
        }
        outputs[o] = v;
    }
    s->last_macs = s->cx.macs;
done:
    free(in);
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

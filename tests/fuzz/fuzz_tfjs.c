/* fuzz_tfjs.c - libFuzzer target: the TF.js graph-model loader (model.json
 * parse, weights manifest and byte accounting, shapes, references, cycles,
 * constant folding and fusion at load), then one run on a small input when
 * the model has a single float input.
 * Input: model.json text, a NUL byte, then the bytes of w.bin (the one
 * weights file the manifest may name). Both are written into a private
 * temporary folder because the loader reads files. Invariants: a refusal
 * carries a message and no model; a loaded model has outputs; a run
 * within the limits below either succeeds or says why. Seeds:
 * corpus/fuzz_tfjs (written by make_seeds). */
#include "fuzz.h"
#include "runtime/runtime.h"

#include <string.h>
#include <unistd.h>

/* The runs' limits (tfj_state_set_limits): the inputs have 96 elements, but
 * a Pad to the runtime's own limit of 2^27 elements and three Sigmoids
 * after it (seed pad_sigmoid_2e27.model, 742 bytes) took 18.6 s in this
 * target (ASan), near libFuzzer's -timeout, and a longer chain runs for
 * minutes. Under these limits a run does at most 2^24 elements' work plus
 * one node (the worst, a chain of Sigmoids of 2^20 elements, stops after
 * 16 of them in 0.65 s; 3.7 s with 2^26); the kernels still see shapes
 * to 2^20.
 * Folding at load has its own limit (TFJ_MAX_FOLD_WORK; seed
 * fold_pad_2e27.model). */
#define FUZZ_TFJS_MAX_ELEMS ((int64_t)1 << 20)
#define FUZZ_TFJS_MAX_WORK ((int64_t)1 << 24)

static char dir[64];

static void cleanup(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/model.json", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/w.bin", dir);
    unlink(p);
    rmdir(dir);
}

static bool put(const char *name, const uint8_t *p, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/odx_fuzz_tfjs_XXXXXX",
                 tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
        FUZZ_CHECK(mkdtemp(dir), "mkdtemp %s", dir);
        atexit(cleanup);
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t jn = nul ? (size_t)(nul - data) : size;
    const uint8_t *bin = nul ? nul + 1 : data + size;
    size_t bn = size - jn - (nul ? 1 : 0);
    FUZZ_CHECK(put("model.json", data, jn) && put("w.bin", bin, bn), "writing %s", dir);

    char path[128];
    snprintf(path, sizeof path, "%s/model.json", dir);
    tfj_model *m = NULL;
    odx_err err = {0};
    odx_status st = tfj_model_load(path, &m, &err);
    FUZZ_NOTE("load: %s", st == ODX_OK ? "ok" : err.msg);
    if (st != ODX_OK) {
        FUZZ_CHECK(err.msg[0], "refused (%d) without a message", st);
        FUZZ_CHECK(!m, "model left after a refusal");
        return 0;
    }
    FUZZ_CHECK(m && tfj_model_n_outputs(m) > 0, "loaded without outputs");
    if (tfj_model_n_inputs(m) == 1) {
        tfj_state *s = NULL;
        odx_err e2 = {0};
        if (tfj_state_new(m, &s, &e2) == ODX_OK) {
            tfj_state_set_limits(s, FUZZ_TFJS_MAX_ELEMS, FUZZ_TFJS_MAX_WORK);
            float buf[2 * 3 * 4 * 4] = {0};
            for (size_t i = 0; i < sizeof buf / sizeof *buf; i++) buf[i] = (float)i / 7.0f;
            int64_t shape[4] = {2, 3, 4, 4};
            for (int nd = 1; nd <= 4; nd++) {
                tfj_tensor in = {0};
                in.dtype = TFJ_F32;
                in.ndim = nd;
                memcpy(in.shape, shape + 4 - nd, sizeof *shape * nd);
                in.n = 1;
                for (int k = 0; k < nd; k++) in.n *= in.shape[k];
                in.d.f = buf;
                const tfj_tensor **outs = calloc((size_t)tfj_model_n_outputs(m), sizeof *outs);
                if (!outs) break;
                odx_err e3 = {0};
                st = tfj_run(s, &in, 1, outs, &e3);
                FUZZ_NOTE("run %dd: %s", nd, st == ODX_OK ? "ok" : e3.msg);
                FUZZ_CHECK(st == ODX_OK || e3.msg[0], "run failed (%d) without a message", st);
                free(outs);
            }
            tfj_state_free(s);
        } else {
            FUZZ_CHECK(e2.msg[0], "state refused without a message");
        }
    }
    tfj_model_free(m);
    return 0;
}

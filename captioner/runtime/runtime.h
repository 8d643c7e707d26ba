/* runtime.h - the model runtime (its names keep the tfj_ prefix of its first
 * front-end): a small interpreter for TF.js graph models (model.json + .bin),
 * used by the object detector (captioner/detect.c). Load once (read-only,
 * shareable between threads), then run with one tfj_state per thread. */
#ifndef ODX_RUNTIME_H
#define ODX_RUNTIME_H

#include "core.h"

#define TFJ_MAX_DIMS 6
/* Largest tensor any op may create (elements): guards against declared or
 * computed shapes that would exhaust memory. */
#define TFJ_MAX_ELEMS ((int64_t)1 << 27)
/* Largest model.json and weights file accepted. */
#define TFJ_MAX_JSON_BYTES ((int64_t)64 << 20)
#define TFJ_MAX_BIN_BYTES ((int64_t)1 << 30)
#define TFJ_MAX_NODES 100000
/* Work the constant folding at load may do (elements the folded nodes make
 * plus their multiply-accumulates), and the largest tensor one fold may
 * make. Folds compute shapes: NanoDet's model folds 36 elements, the three
 * PP-OCR models 0, 1 and 15. A model whose constants would be padded or
 * resized to millions of elements at load, and then run through a chain of
 * nodes, is refused (ODX_ERR_LIMIT) instead of loading for minutes. */
#define TFJ_MAX_FOLD_WORK ((int64_t)1 << 24)

typedef enum tfj_dtype { TFJ_F32 = 0, TFJ_I32 = 1 } tfj_dtype;

typedef struct tfj_tensor {
    tfj_dtype dtype;
    int ndim;
    int64_t shape[TFJ_MAX_DIMS];
    int64_t n; /* element count */
    union {
        float *f;
        int32_t *i;
        void *p;
    } d;
    bool owned; /* data malloc'd for this tensor (else borrowed) */
    size_t cap; /* bytes of a buffer from a run's pool, mmap'd (0: plain malloc) */
} tfj_tensor;

/* Allocates data for dtype/shape (zeroed), checking TFJ_MAX_ELEMS.
 * Errors: ODX_ERR_LIMIT, ODX_ERR_NOMEM, ODX_ERR_MODEL (negative dims). */
odx_status tfj_tensor_alloc(tfj_tensor *t, tfj_dtype dt, int ndim,
                            const int64_t *shape, odx_err *err);
/* Same, leaving the data uninitialised (kernels that write every element). */
odx_status tfj_tensor_alloc_nz(tfj_tensor *t, tfj_dtype dt, int ndim,
                               const int64_t *shape, odx_err *err);
void tfj_tensor_release(tfj_tensor *t); /* frees owned data, zeroes */

typedef struct tfj_model tfj_model;
typedef struct tfj_state tfj_state;

/* Loads model.json at json_path and its weight files (paths relative to the
 * json's folder). Validates everything: byte accounting of the weights
 * (exact), shapes of constants, known ops, references, cycles. Constant
 * sub-graphs are folded and conv + bias + activation fused at load.
 * Errors: ODX_ERR_NOT_FOUND (file missing), ODX_ERR_MODEL (malformed),
 * ODX_ERR_UNSUPPORTED (unknown op or dtype), ODX_ERR_LIMIT, ODX_ERR_NOMEM. */
odx_status tfj_model_load(const char *json_path, tfj_model **out, odx_err *err);
void tfj_model_free(tfj_model *m); /* NULL fine */
/* Loads an ONNX model (.onnx protobuf; weights as initializers or Constant
 * nodes, no external data) into the same graph representation, run by the
 * same tfj_state/tfj_run. Graph inputs with symbolic dims accept any size
 * there. Conv + BatchNormalization + activation (Relu, HardSigmoid, Clip 0..6,
 * hard-swish) are fused at load. Errors as tfj_model_load (an op outside the
 * table in onnx_ops.c: ODX_ERR_UNSUPPORTED naming it). */
odx_status tfj_model_load_onnx(const char *path, tfj_model **out, odx_err *err);
/* Same from len bytes in memory (name for messages; NULL: "(memory)"). The
 * bytes are only read during the call. */
odx_status tfj_model_load_onnx_mem(const uint8_t *data, size_t len, const char *name,
                                   tfj_model **out, odx_err *err);

/* One serialised ONNX TensorProto (the input_N.pb / output_N.pb files of
 * ONNX's node tests) into out (owned, tfj_tensor_release), with the
 * loader's dtype rules (int64 held as int32 saturated, double and half as
 * float). name is for messages. */
odx_status tfj_onnx_tensor_read(const uint8_t *data, size_t len, const char *name,
                                tfj_tensor *out, odx_err *err);

/* Graph inputs (Placeholders) and outputs (signature order, or the "name:N"
 * list given at load). Names are borrowed from the model. */
int tfj_model_n_inputs(const tfj_model *m);
const char *tfj_model_input_name(const tfj_model *m, int i);
int tfj_model_n_outputs(const tfj_model *m);
const char *tfj_model_output_name(const tfj_model *m, int i);
/* Index of output "name" or "name:0"; -1 if absent. */
int tfj_model_output_index(const tfj_model *m, const char *name);
/* Node count after folding/fusion (scheduled nodes). */
int tfj_model_n_scheduled(const tfj_model *m);

/* Per-thread state: value slots, scratch, timings. m must outlive it. */
odx_status tfj_state_new(const tfj_model *m, tfj_state **out, odx_err *err);
void tfj_state_free(tfj_state *s); /* NULL fine */
const tfj_model *tfj_state_model(const tfj_state *s);

/* Runs the graph. inputs[i] feeds input i (shape checked against the
 * Placeholder's known dims; borrowed for the call). On success outputs
 * (array of tfj_model_n_outputs) are borrowed from the state and valid until
 * the next run or tfj_state_free. */
odx_status tfj_run(tfj_state *s, const tfj_tensor *inputs, int n_inputs,
                   const tfj_tensor **outputs, odx_err *err);

/* Profiling: accumulated milliseconds per op type since the state was made
 * (or reset). Returns the number of op types; fills names/ms up to max. */
void tfj_state_profile(tfj_state *s, bool on);
int tfj_state_profile_get(const tfj_state *s, const char **names, double *ms,
                          int *calls, int max);
void tfj_state_profile_reset(tfj_state *s);
/* Limits on the state's runs, for models from outside (the fuzz target
 * tfjs sets them; the shipped models run without): a tensor of more than
 * max_elems elements is refused (0: TFJ_MAX_ELEMS, which also caps a
 * larger value), and a run whose work so far (elements its nodes made plus
 * the multiply-accumulates of convolutions and matrix products) is over
 * max_work stops before its next node (0: no limit). Both ODX_ERR_LIMIT.
 * A lone Pad or ResizeBilinear can otherwise make 2^27 elements from a
 * 96-element input, and a chain of them runs for minutes. */
void tfj_state_set_limits(tfj_state *s, int64_t max_elems, int64_t max_work);
/* Multiply-accumulates done by convolutions in the last run. */
int64_t tfj_state_last_macs(const tfj_state *s);

/* Bytes the state keeps between runs (buffer pool + kernel scratch), and
 * giving them back with the last run's values (its outputs are invalid
 * after tfj_state_release). A state run on
 * inputs of changing size (PP-OCR) releases them after a job, so an idle
 * worker does not hold its largest run's buffers. */
size_t tfj_state_pool_bytes(const tfj_state *s);
void tfj_state_release(tfj_state *s);

/* Fast convolutions: where the CPU has AVX512-BF16 (tfj_bf16_supported),
 * the ONNX model's convolutions other than depthwise ones multiply bf16
 * roundings of their weights and inputs and sum in float (1.7-1.9x the
 * speed of sgemm on the PP-OCR recogniser's 1x1 convolutions; outputs move
 * by ~0.2% of their scale). Call after load, before any tfj_run on the
 * model. *n_conv (may be NULL): the convolutions switched (0 without such
 * a CPU, and for TF.js models: they stay float). ODX_ERR_NOMEM. */
bool tfj_bf16_supported(void);
odx_status tfj_model_use_bf16(tfj_model *m, int *n_conv, odx_err *err);
/* bf16 rounding of f, to nearest even (exposed for tests). */
float tfj_bf16_round(float f);

/* IEEE half -> float (exposed for tests). */
float tfj_half_to_float(uint16_t h);

#endif

/* runtime_int.h - names shared between the files of the model runtime:
 * model.c (parse, weights, graph, folding, fusion) -> run.c (scheduler)
 * -> ops.c (the op table and kernels). */
#ifndef ODX_RUNTIME_INT_H
#define ODX_RUNTIME_INT_H

#include "runtime.h"

enum { TFJ_PAD_VALID = 0, TFJ_PAD_SAME = 1, TFJ_PAD_EXPLICIT = 2 };
enum {
    TFJ_ACT_NONE = 0,
    TFJ_ACT_RELU,
    TFJ_ACT_RELU6,
    TFJ_ACT_LEAKY,
    TFJ_ACT_HSWISH, /* x * relu6(x + 3) / 6 (ONNX graphs spell it out) */
    TFJ_ACT_HSIG    /* max(0, min(1, alpha * x + beta)) */
};

typedef struct tfj_node tfj_node;

/* Attributes of an ONNX node (onnx.c parses, onnx_ops.c reads). Ints lists
 * hold up to TFJ_ONNX_MAX_INTS values; n_* < 0 means absent. */
#define TFJ_ONNX_MAX_INTS 12
typedef struct tfj_onnx_attr {
    int opset;
    int64_t kernel[2], strides[2], dil[2], pads[4], group;
    int64_t out_pad[2];
    int n_kernel;
    int64_t perm[TFJ_ONNX_MAX_INTS];
    int n_perm;
    int64_t axes[TFJ_ONNX_MAX_INTS];
    int n_axes;
    int64_t starts[TFJ_ONNX_MAX_INTS], ends[TFJ_ONNX_MAX_INTS];
    int n_starts, n_ends;
    int64_t axis;
    bool has_axis;
    int keepdims;
    int count_include_pad;
    int to; /* Cast target (ONNX TensorProto data type) */
    int64_t shape_start, shape_end; /* Shape (opset 15) */
    bool has_shape_end;
    bool allowzero; /* Reshape (opset 14) */
    float alpha, beta, eps;
    float fmin, fmax; /* Clip (opset < 11) */
    bool has_min, has_max;
    int coord_mode;   /* Resize: 0 half_pixel, 1 asymmetric, 2 align_corners, 3 pytorch_half_pixel */
    int nearest_mode; /* 0 round_prefer_floor, 1 round_prefer_ceil, 2 floor, 3 ceil */
    int mode;         /* 0 nearest, 1 linear */
    /* fused epilogue (onnx.c fusion): folded BatchNormalization weights */
    float *w, *b; /* owned; NULL: read the inputs */
    float *pa, *pb; /* after the activation: y * pa[m] + pb[m] (owned; NULL: none) */
    /* w packed as bf16 pairs for tfj_bf16_gemm, group after group
     * (tfj_model_use_bf16; owned; NULL: sgemm on w) */
    uint32_t *wbf;
} tfj_onnx_attr;

/* Buffers kept between runs of one state: the same sizes come back every
 * run, and reusing them saves the page faults of fresh mmap'd blocks
 * (measured: a quarter of the NanoDet run time). Active for the thread
 * inside tfj_run only (tfj_pool_enter/leave). */
typedef struct tfj_pool {
    void **buf;
    size_t *cap;
    unsigned *gen; /* the run that gave the buffer back */
    int n, max;
    size_t bytes;
    unsigned run;
    int64_t max_elems; /* the state's tensor limit for this run (0: TFJ_MAX_ELEMS) */
} tfj_pool;
void tfj_pool_enter(tfj_pool *p); /* starts a run */
void tfj_pool_leave(void);
/* Frees the pooled buffers the current run did not give back: with inputs
 * whose size changes from run to run (the recogniser's line widths), the
 * pool would otherwise keep buffers of every size seen (up to
 * TFJ_POOL_MAX_BYTES per state). What stays is what the last run used. */
void tfj_pool_trim(tfj_pool *p);
void tfj_pool_free(tfj_pool *p);

/* Scratch shared by the kernels of one state (im2col rows). */
typedef struct tfj_ctx {
    float *scratch;
    size_t scratch_len; /* floats */
    int64_t macs;       /* accumulated by convolutions */
    uint32_t *xpack;    /* tfj_bf16_gemm's panel */
    size_t xpack_len;   /* words */
} tfj_ctx;

/* Returns a scratch area of at least n floats (grown, never shrunk). */
float *tfj_scratch(tfj_ctx *cx, size_t n, odx_err *err);

/* bf16 convolutions (gemm_bf16.c). tfj_bf16_pack_w packs one group's
 * M x K weights into tfj_bf16_packed_words(M, K) words; tfj_bf16_gemm
 * writes y[m*ldy + p] = sum_k w[m][k] x[k*ldx + p] for p < P, the inputs
 * rounded to bf16, the sums in float; xp holds tfj_bf16_xpack_words(K)
 * words. Only where tfj_bf16_supported() (AVX512-BF16, runtime.h). */
size_t tfj_bf16_packed_words(int64_t M, int64_t K);
void tfj_bf16_pack_w(const float *w, int64_t M, int64_t K, uint32_t *out);
size_t tfj_bf16_xpack_words(int64_t K);
void tfj_bf16_gemm(const uint32_t *wp, int64_t M, int64_t K, int64_t P, const float *x,
                   int64_t ldx, float *y, int64_t ldy, uint32_t *xp);

/* A kernel: reads in[0..n_in), writes out[0..node->n_out) (allocated by the
 * kernel). Validates shapes/dtypes of its inputs: they may come from an
 * untrusted model file. */
typedef odx_status (*tfj_kernel)(tfj_ctx *cx, const tfj_node *nd,
                                 const tfj_tensor *in, int n_in,
                                 tfj_tensor *out, odx_err *err);

/* How an op treats a lazily transposed input (run.c): most need the
 * logical layout materialised; these work on the physical data as is. */
enum {
    TFJ_LAY_NONE = 0, /* materialise permuted inputs */
    TFJ_LAY_UNARY,    /* elementwise: output keeps the input's layout */
    TFJ_LAY_BINARY,   /* elementwise on two same-layout, same-shape inputs */
    TFJ_LAY_PAD,      /* paddings permuted to the physical dims */
    TFJ_LAY_CONCAT,   /* axis mapped to the physical dim */
    TFJ_LAY_TRANSPOSE /* composes permutations without moving data */
};

typedef struct tfj_opdef {
    const char *name;
    tfj_kernel fn;
    int min_in, max_in; /* data inputs accepted (max -1: any) */
    int layout;         /* TFJ_LAY_* */
} tfj_opdef;

/* Physical transpose (output dim k = input dim perm[k]) and permutation
 * check of an int32 perm tensor for rank ndim (ops.c). */
odx_status tfj_transpose_perm(const tfj_tensor *x, const int64_t *perm, tfj_tensor *out,
                              odx_err *err);
bool tfj_perm_valid(const tfj_tensor *p, int ndim, int64_t *perm);

/* The op table (ops.c). NULL if op is unknown. */
const tfj_opdef *tfj_op_find(const char *name);

struct tfj_node {
    char *name;
    char *op;
    const tfj_opdef *def; /* NULL for Const / Placeholder */
    bool is_const, is_input;
    bool is_bias; /* a fused conv reads this constant */
    int n_in;
    int *in_node, *in_out; /* producer node and its output index */
    int n_ctrl;
    int *ctrl; /* control-dependency producers (ordering only) */
    int n_out;
    int slot; /* first value slot of this node's outputs */

    /* attributes (those the kernels use) */
    int strides[4], dilations[4], ksize[4];
    int padding;
    int64_t expl_pad[8];
    bool nchw;
    float alpha;
    bool align_corners, half_pixel;
    int num_split;
    tfj_dtype dtype;
    int ph_ndim;
    int64_t ph_shape[TFJ_MAX_DIMS];

    /* fused epilogue of Conv2D (set by the fusion pass) */
    const float *bias;
    int act;
    float act_alpha;

    tfj_tensor value; /* Const: the (folded) value, owned by the model */

    tfj_onnx_attr *ox; /* ONNX nodes only (owned) */
};

struct tfj_model {
    tfj_node *nodes;
    int n_nodes;
    int n_slots;
    int *sched; /* node indices in run order (non-const, needed) */
    int n_sched;
    int *inputs; /* Placeholder nodes */
    int n_inputs;
    int *out_node, *out_idx;
    char **out_names;
    int n_outputs;
    int *slot_uses; /* per slot: consumers in the schedule */
};

/* The shared back half of both loaders (model.c): needed nodes, order,
 * folding, the front-end's fusion (alias[k] = node now producing k's value),
 * schedule and slots. Outputs must be chosen before. */
typedef void (*tfj_fuse_fn)(tfj_model *m, const int *order, int n_order, int *alias);
odx_status tfj_graph_finish(tfj_model *m, tfj_fuse_fn fuse_fn, odx_err *err);

/* Records a kernel's failure ke for node nd in err, naming the node when
 * the kernel's message does not (an allocation over the limit). */
void tfj_node_err(odx_err *err, odx_status st, const tfj_node *nd, const odx_err *ke);

/* The ONNX op table (onnx_ops.c). NULL if op is unknown. */
const tfj_opdef *tfj_onnx_op_find(const char *name);
/* The i-th op of that table (NULL past its end): tests enumerate it. */
const char *tfj_onnx_op_name(int i);

#endif

/* domain_model.h - the domain classifier's inputs and its fitted model.
 *
 * cap_classify (domain.c) reads a fixed vector of visual features from
 * cap_features / cap_layout (DOM_NV of them: raw statistics, counts on a log
 * scale, the soft evidence terms of the hand-set model and that model's
 * seven visual scores) and,
 * once OCR ran, a vector of text-layout features (DOM_NT). Two multinomial
 * logistic regressions over standardised features turn them into per-domain
 * scores:
 *   pre-OCR:  s = b + W z(vis)                       (dom_model_pre)
 *   post-OCR: s = pre-OCR scores + b' + W' z(txt)    (dom_model_post)
 * with z(x) = (clip(x, lo, hi) - mean) / scale, where [lo, hi] is the range
 * the train split's values of that feature fell in (its 0.5 and 99.5
 * percentiles: a value far outside what the model saw cannot run its score
 * out of bounds on an image unlike the corpus); domain_conf is the softmax probability of
 * the best domain at temperature T. The numbers are fitted on the corpus
 * (tests/eval/corpus) by captioner/tools/dom_fit.c and live in the
 * generated domain_model.c; tests/eval/corpus/README.md says how to
 * regenerate them. */
#ifndef ODX_DOMAIN_MODEL_H
#define ODX_DOMAIN_MODEL_H

#include "captioner.h"

enum { DOM_NV = 82, DOM_NT = 36 }; /* DOM_NT <= DOM_NV (dom_lr's arrays) */

/* Feature names, in vector order (the columns of the feature dump). */
extern const char *const dom_vis_names[DOM_NV];
extern const char *const dom_txt_names[DOM_NT];

typedef struct dom_lr {
    int n;                         /* features used (DOM_NV or DOM_NT) */
    float mean[DOM_NV], scale[DOM_NV];
    float lo[DOM_NV], hi[DOM_NV];  /* clip range; none where hi <= lo */
    float w[CAP_N_DOMAINS][DOM_NV];
    float b[CAP_N_DOMAINS];
    float temp;                    /* softmax temperature for domain_conf */
} dom_lr;

extern const dom_lr dom_model_pre;  /* visual features */
extern const dom_lr dom_model_post; /* text features, added to the pre-OCR scores */

/* s[c] += b[c] + sum_j w[c][j] z_j(x): one model's scores added to s. */
void dom_lr_add(const dom_lr *m, const float *x, float s[CAP_N_DOMAINS]);

#endif

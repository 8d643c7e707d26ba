/* fuzz_onnx.c - libFuzzer target: the ONNX front-end (bounded protobuf wire
 * reader, initializers, Constant nodes, attributes, value infos, op table,
 * Conv+BN+activation fusion) loading a model from memory
 * (tfj_model_load_onnx_mem). Invariants: a refusal carries a message and
 * no model; a loaded model has outputs. Seeds: corpus/fuzz_onnx. */
#include "fuzz.h"
#include "runtime/runtime.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tfj_model *m = NULL;
    odx_err err = {0};
    odx_status st = tfj_model_load_onnx_mem(data, size, "fuzz.onnx", &m, &err);
    FUZZ_NOTE("load: %s", st == ODX_OK ? "ok" : err.msg);
    if (st != ODX_OK) {
        FUZZ_CHECK(err.msg[0], "refused (%d) without a message", st);
        FUZZ_CHECK(!m, "model left after a refusal");
        return 0;
    }
    FUZZ_CHECK(m && tfj_model_n_outputs(m) > 0, "loaded without outputs");
    tfj_model_free(m);
    return 0;
}

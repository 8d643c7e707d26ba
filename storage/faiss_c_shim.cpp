/* faiss_c_shim.cpp - the part of the FAISS C API that storage/ calls,
 * implemented over the C++ library, because Debian's libfaiss-dev ships the
 * c_api headers but no libfaiss_c. Built only when no libfaiss_c is found. */
#include <faiss/AutoTune.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/Index.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <faiss/c_api/macros_impl.h>

#include <exception>
#include <string>

/* macros_impl.h stores the exception here; faiss_get_last_error reads it.
 * Per thread, so concurrent searches do not see each other's errors. */
thread_local std::exception_ptr faiss_last_exception;

namespace {
thread_local std::string last_error_text;

faiss::Index *as_index(FaissIndex *p) { return reinterpret_cast<faiss::Index *>(p); }
const faiss::Index *as_index(const FaissIndex *p)
{
    return reinterpret_cast<const faiss::Index *>(p);
}
} // namespace

extern "C" {

const char *faiss_get_last_error()
{
    if (!faiss_last_exception)
        return nullptr;
    try {
        std::rethrow_exception(faiss_last_exception);
    } catch (std::exception &e) {
        last_error_text = e.what();
    } catch (...) {
        last_error_text = "Unknown error";
    }
    return last_error_text.c_str();
}

/* ------------------------------------------------------------ Index ---- */

void faiss_Index_free(FaissIndex *obj) { delete as_index(obj); }

int faiss_Index_d(const FaissIndex *obj) { return as_index(obj)->d; }

int faiss_Index_is_trained(const FaissIndex *obj) { return as_index(obj)->is_trained ? 1 : 0; }

idx_t faiss_Index_ntotal(const FaissIndex *obj) { return as_index(obj)->ntotal; }

FaissMetricType faiss_Index_metric_type(const FaissIndex *obj)
{
    return static_cast<FaissMetricType>(as_index(obj)->metric_type);
}

int faiss_Index_verbose(const FaissIndex *obj) { return as_index(obj)->verbose ? 1 : 0; }

void faiss_Index_set_verbose(FaissIndex *obj, int v) { as_index(obj)->verbose = v != 0; }

int faiss_Index_train(FaissIndex *index, idx_t n, const float *x)
{
    try {
        as_index(index)->train(n, x);
    }
    CATCH_AND_HANDLE
}

int faiss_Index_add(FaissIndex *index, idx_t n, const float *x)
{
    try {
        as_index(index)->add(n, x);
    }
    CATCH_AND_HANDLE
}

int faiss_Index_add_with_ids(FaissIndex *index, idx_t n, const float *x, const idx_t *xids)
{
    try {
        as_index(index)->add_with_ids(n, x, xids);
    }
    CATCH_AND_HANDLE
}

int faiss_Index_search(const FaissIndex *index, idx_t n, const float *x, idx_t k,
                       float *distances, idx_t *labels)
{
    try {
        as_index(index)->search(n, x, k, distances, labels);
    }
    CATCH_AND_HANDLE
}

int faiss_Index_reset(FaissIndex *index)
{
    try {
        as_index(index)->reset();
    }
    CATCH_AND_HANDLE
}

int faiss_Index_remove_ids(FaissIndex *index, const FaissIDSelector *sel, size_t *n_removed)
{
    try {
        size_t n = as_index(index)->remove_ids(
            *reinterpret_cast<const faiss::IDSelector *>(sel));
        if (n_removed)
            *n_removed = n;
    }
    CATCH_AND_HANDLE
}

int faiss_Index_reconstruct(const FaissIndex *index, idx_t key, float *recons)
{
    try {
        as_index(index)->reconstruct(key, recons);
    }
    CATCH_AND_HANDLE
}

/* ------------------------------------------------------ IDSelector ---- */

void faiss_IDSelector_free(FaissIDSelector *obj)
{
    delete reinterpret_cast<faiss::IDSelector *>(obj);
}

int faiss_IDSelector_is_member(const FaissIDSelector *sel, idx_t id)
{
    return reinterpret_cast<const faiss::IDSelector *>(sel)->is_member(id) ? 1 : 0;
}

int faiss_IDSelectorBatch_new(FaissIDSelectorBatch **p_sel, size_t n, const idx_t *indices)
{
    try {
        /* FaissIDSelectorBatch is freed through faiss_IDSelector_free, so
         * hand out the base-class pointer value. */
        faiss::IDSelector *sel = new faiss::IDSelectorBatch(n, indices);
        *p_sel = reinterpret_cast<FaissIDSelectorBatch *>(sel);
    }
    CATCH_AND_HANDLE
}

/* ---------------------------------------------------- factory + I/O ---- */

int faiss_index_factory(FaissIndex **p_index, int d, const char *description,
                        FaissMetricType metric)
{
    try {
        faiss::Index *idx =
            faiss::index_factory(d, description, static_cast<faiss::MetricType>(metric));
        *p_index = reinterpret_cast<FaissIndex *>(idx);
    }
    CATCH_AND_HANDLE
}

int faiss_write_index(const FaissIndex *idx, FILE *f)
{
    try {
        faiss::write_index(as_index(idx), f);
    }
    CATCH_AND_HANDLE
}

int faiss_write_index_fname(const FaissIndex *idx, const char *fname)
{
    try {
        faiss::write_index(as_index(idx), fname);
    }
    CATCH_AND_HANDLE
}

int faiss_read_index(FILE *f, int io_flags, FaissIndex **p_out)
{
    try {
        *p_out = reinterpret_cast<FaissIndex *>(faiss::read_index(f, io_flags));
    }
    CATCH_AND_HANDLE
}

int faiss_read_index_fname(const char *fname, int io_flags, FaissIndex **p_out)
{
    try {
        *p_out = reinterpret_cast<FaissIndex *>(faiss::read_index(fname, io_flags));
    }
    CATCH_AND_HANDLE
}

/* ------------------------------------------------- ParameterSpace ---- */
/* For a future IVF/HNSW factory string: nprobe / efSearch are set by name. */

int faiss_ParameterSpace_new(FaissParameterSpace **space)
{
    try {
        *space = reinterpret_cast<FaissParameterSpace *>(new faiss::ParameterSpace());
    }
    CATCH_AND_HANDLE
}

void faiss_ParameterSpace_free(FaissParameterSpace *obj)
{
    delete reinterpret_cast<faiss::ParameterSpace *>(obj);
}

int faiss_ParameterSpace_set_index_parameter(const FaissParameterSpace *space,
                                             FaissIndex *index, const char *name,
                                             double value)
{
    try {
        reinterpret_cast<const faiss::ParameterSpace *>(space)->set_index_parameter(
            as_index(index), name, value);
    }
    CATCH_AND_HANDLE
}

/* ------------------------------------------- flat data, for own scans ---- */

FaissIndexIDMap2 *faiss_IndexIDMap2_cast(FaissIndex *index)
{
    return reinterpret_cast<FaissIndexIDMap2 *>(
        dynamic_cast<faiss::IndexIDMap2 *>(reinterpret_cast<faiss::Index *>(index)));
}

void faiss_IndexIDMap2_id_map(FaissIndexIDMap2 *index, idx_t **p_id_map, size_t *p_size)
{
    auto *m = reinterpret_cast<faiss::IndexIDMap2 *>(index);
    *p_id_map = m->id_map.data();
    *p_size = m->id_map.size();
}

FaissIndex *faiss_IndexIDMap2_sub_index(FaissIndexIDMap2 *index)
{
    return reinterpret_cast<FaissIndex *>(reinterpret_cast<faiss::IndexIDMap2 *>(index)->index);
}

FaissIndexFlat *faiss_IndexFlat_cast(FaissIndex *index)
{
    return reinterpret_cast<FaissIndexFlat *>(
        dynamic_cast<faiss::IndexFlat *>(reinterpret_cast<faiss::Index *>(index)));
}

void faiss_IndexFlat_xb(FaissIndexFlat *index, float **p_xb, size_t *p_size)
{
    auto *f = reinterpret_cast<faiss::IndexFlat *>(index);
    *p_xb = f->get_xb();
    *p_size = f->codes.size() / sizeof(float);
}

} /* extern "C" */

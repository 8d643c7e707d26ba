/* store_ivf.cpp - the few IVF calls store_ann.c needs that FAISS's C API
 * lacks (per-call nprobe, k-means iterations), over the C++ library. Built
 * in every configuration, with or without an installed libfaiss_c. */
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>

#include "ivf_int.h"

#include <exception>
#include <memory>

/* The C API's last exception per thread (defined by faiss_c_shim.cpp or
 * libfaiss_c): set here too, so faiss_get_last_error explains a -2. */
extern thread_local std::exception_ptr faiss_last_exception;

namespace {
faiss::IndexIVF *as_ivf(FaissIndex *p)
{
    return dynamic_cast<faiss::IndexIVF *>(reinterpret_cast<faiss::Index *>(p));
}
const faiss::IndexIVF *as_ivf(const FaissIndex *p)
{
    return dynamic_cast<const faiss::IndexIVF *>(reinterpret_cast<const faiss::Index *>(p));
}
} // namespace

extern "C" {

int store_ivf_new(FaissIndex **out, int dim, size_t nlist, int niter)
{
    try {
        std::unique_ptr<faiss::IndexFlatIP> q(new faiss::IndexFlatIP(dim));
        auto *ivf =
            new faiss::IndexIVFFlat(q.get(), (size_t)dim, nlist, faiss::METRIC_INNER_PRODUCT);
        q.release();
        ivf->own_fields = true;
        ivf->cp.niter = niter;
        /* store_ann.c samples the training set itself. */
        ivf->cp.max_points_per_centroid = 1 << 30;
        ivf->cp.verbose = false;
        *out = reinterpret_cast<FaissIndex *>(static_cast<faiss::Index *>(ivf));
        return 0;
    } catch (...) {
        faiss_last_exception = std::current_exception();
        return -2;
    }
}

int store_ivf_info(const FaissIndex *idx, size_t *nlist, size_t *nprobe)
{
    const faiss::IndexIVF *ivf = as_ivf(idx);
    if (!ivf || !ivf->is_trained)
        return -1;
    *nlist = ivf->nlist;
    *nprobe = ivf->nprobe;
    return 0;
}

int store_ivf_set_nprobe(FaissIndex *idx, size_t nprobe)
{
    faiss::IndexIVF *ivf = as_ivf(idx);
    if (!ivf || nprobe == 0)
        return -1;
    ivf->nprobe = nprobe < ivf->nlist ? nprobe : ivf->nlist;
    return 0;
}

int store_ivf_search(const FaissIndex *idx, idx_t n, const float *x, idx_t k, size_t nprobe,
                     float *dist, idx_t *lab)
{
    const faiss::IndexIVF *ivf = as_ivf(idx);
    if (!ivf || nprobe == 0)
        return -1;
    try {
        /* The index is shared by search threads: nprobe travels with the
         * call instead of being set on it. */
        faiss::SearchParametersIVF sp;
        sp.nprobe = nprobe < ivf->nlist ? nprobe : ivf->nlist;
        ivf->search(n, x, k, dist, lab, &sp);
        return 0;
    } catch (...) {
        faiss_last_exception = std::current_exception();
        return -2;
    }
}

} /* extern "C" */

/* store_ivf.cpp - the few IVF calls store_ann.c needs that FAISS's C API
 * lacks (per-call nprobe, k-means iterations), over the C++ library. Built
 * in every configuration, with or without an installed libfaiss_c. */
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/invlists/InvertedLists.h>

#include "ivf_int.h"
#include "vec_dot.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <utility>
#include <vector>

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

int store_ivf_search_ref(const FaissIndex *idx, idx_t n, const float *x, idx_t k,
                         size_t nprobe, float *dist, idx_t *lab)
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

/* One query of an IVF-Flat over inner product, scanned by vec_dots (AVX2
 * where the CPU has it): the centroids, then each probed list's vectors
 * (stored as floats, one after another), into a top-k heap. What FAISS's
 * own search computes, but Debian's FAISS is built without SIMD and
 * scores each vector with a scalar loop (fvec_inner_product_ref), and
 * OpenBLAS's sgemv spreads each small list over spinning threads. */
static int ivf_flat_blas(const faiss::IndexIVF *ivf, const float *x, idx_t k, size_t nprobe,
                         float *dist, idx_t *lab)
{
    const auto *flat = dynamic_cast<const faiss::IndexIVFFlat *>(ivf);
    const auto *cq = dynamic_cast<const faiss::IndexFlat *>(ivf->quantizer);
    if (!flat || !cq || ivf->metric_type != faiss::METRIC_INNER_PRODUCT ||
        cq->metric_type != faiss::METRIC_INNER_PRODUCT || !ivf->invlists ||
        (size_t)cq->ntotal != ivf->nlist || ivf->code_size != sizeof(float) * ivf->d ||
        ivf->d <= 0)
        return 1; /* not the index this scan knows */
    const int d = (int)ivf->d;
    const size_t nlist = ivf->nlist;
    std::vector<float> cs(nlist);
    vec_dots(cq->get_xb(), nlist, d, x, cs.data());
    std::vector<std::pair<float, size_t>> lists(nlist);
    for (size_t l = 0; l < nlist; l++)
        lists[l] = {cs[l], l};
    auto better = [](const std::pair<float, size_t> &a, const std::pair<float, size_t> &b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    };
    std::partial_sort(lists.begin(), lists.begin() + (std::ptrdiff_t)nprobe, lists.end(),
                      better);
    /* min-heap on score: the worst kept hit on top */
    std::vector<std::pair<float, idx_t>> heap;
    heap.reserve((size_t)k);
    auto worse = [](const std::pair<float, idx_t> &a, const std::pair<float, idx_t> &b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    };
    std::vector<float> sc;
    for (size_t p = 0; p < nprobe; p++) {
        size_t l = lists[p].second, n = ivf->invlists->list_size(l);
        if (n == 0)
            continue;
        faiss::InvertedLists::ScopedCodes codes(ivf->invlists, l);
        faiss::InvertedLists::ScopedIds ids(ivf->invlists, l);
        sc.resize(n);
        vec_dots(reinterpret_cast<const float *>(codes.get()), n, d, x, sc.data());
        const idx_t *id = ids.get();
        for (size_t i = 0; i < n; i++) {
            if ((idx_t)heap.size() < k) {
                heap.emplace_back(sc[i], id[i]);
                std::push_heap(heap.begin(), heap.end(), worse);
            } else if (sc[i] > heap.front().first) {
                std::pop_heap(heap.begin(), heap.end(), worse);
                heap.back() = {sc[i], id[i]};
                std::push_heap(heap.begin(), heap.end(), worse);
            }
        }
    }
    std::sort_heap(heap.begin(), heap.end(), worse);
    for (idx_t i = 0; i < k; i++) {
        dist[i] = i < (idx_t)heap.size() ? heap[(size_t)i].first : -INFINITY;
        lab[i] = i < (idx_t)heap.size() ? heap[(size_t)i].second : -1;
    }
    return 0;
}

int store_ivf_search(const FaissIndex *idx, idx_t n, const float *x, idx_t k, size_t nprobe,
                     float *dist, idx_t *lab)
{
    const faiss::IndexIVF *ivf = as_ivf(idx);
    if (!ivf || nprobe == 0 || k <= 0)
        return -1;
    if (nprobe > ivf->nlist)
        nprobe = ivf->nlist;
    try {
        int r = 0;
        for (idx_t i = 0; i < n && r == 0; i++)
            r = ivf_flat_blas(ivf, x + i * ivf->d, k, nprobe, dist + i * k, lab + i * k);
        if (r == 0)
            return 0;
    } catch (...) {
        faiss_last_exception = std::current_exception();
        return -2;
    }
    return store_ivf_search_ref(idx, n, x, k, nprobe, dist, lab);
}

} /* extern "C" */

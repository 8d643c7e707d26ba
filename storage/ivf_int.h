/* ivf_int.h - IVF calls FAISS's C API lacks (store_ivf.cpp), used by
 * store_ann.c. Return 0 on success, -1 when idx is not a trained IVF (or
 * an argument is out of range), -2 when FAISS threw. */
#ifndef ODX_IVF_INT_H
#define ODX_IVF_INT_H

#include <faiss/c_api/Index_c.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An untrained IVF-Flat over inner product: nlist lists, a flat IP
 * quantizer, k-means with niter iterations on whatever train gets. */
int store_ivf_new(FaissIndex **out, int dim, size_t nlist, int niter);
int store_ivf_info(const FaissIndex *idx, size_t *nlist, size_t *nprobe);
/* The nprobe stored with the index (written in its file). */
int store_ivf_set_nprobe(FaissIndex *idx, size_t nprobe);
/* Search with nprobe for this call only (capped at nlist): safe from many
 * threads on one index. An IVF-Flat over inner product is scanned by
 * vec_dots (the same inner products, summed in another order), any other
 * IVF by FAISS. Best first; lab -1 past the hits found. */
int store_ivf_search(const FaissIndex *idx, idx_t n, const float *x, idx_t k, size_t nprobe,
                     float *dist, idx_t *lab);
/* The same search by FAISS's own IndexIVF::search (the reference the
 * tests and bench_query compare with). */
int store_ivf_search_ref(const FaissIndex *idx, idx_t n, const float *x, idx_t k,
                         size_t nprobe, float *dist, idx_t *lab);

#ifdef __cplusplus
}
#endif

#endif

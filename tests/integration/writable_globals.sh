#!/usr/bin/env bash
# labels: unit
# No writable global in the library unless listed here with its reason:
# every object of the library's archives (objdump -t: symbols in .data,
# .bss, .tdata, .tbss, COMMON; .data.rel.ro is read-only after relocation
# and not counted) must be in ALLOWED. A new knob or cache fails this test:
# make it a field of a const config struct passed in (STYLE.md,
# "Parameters are data"), or a per-call out-parameter, or add it below with
# the reason it must be process-wide. The sanitizer build is the stricter
# check: without optimisation's promotion an array of non-const pointers
# that is never written (static const char *X[]) stays in .data there.
set -u
BUILD=${ODX_BUILD_DIR:?run through ctest (ODX_BUILD_DIR)}
command -v objdump >/dev/null || { echo "FAIL objdump missing (binutils)"; exit 1; }

# folder/file symbol   (a static local's .N suffix dropped)
ALLOWED=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' <<'EOF'
# process-wide by the public API: odx_log_set "call before opening handles"
core/log.c g_log_fn
core/log.c g_log_user
core/log.c g_log_max
# one flock registry per process: a lock taken twice in one process is
# nested, not a second writer (indexer/lock.c)
indexer/lock.c g_held
indexer/lock.c g_mu
indexer/lock.c g_n_held
# read-only data computed once (pthread_once) and never written again
captioner/features.c inv16
captioner/features.c inv16_once
embedder/embed.c g_id_once
embedder/embed.c g_model_id
embedder/hanzi.c g_tok_id
embedder/hanzi.c g_tok_once
embedder/lexicon.c g_con
embedder/lexicon.c g_errors
embedder/lexicon.c g_first
embedder/lexicon.c g_first_cap
embedder/lexicon.c g_map
embedder/lexicon.c g_map_cap
embedder/lexicon.c g_n_con
embedder/lexicon.c g_once
embedder/lexicon.c g_unmatchable
embedder/tokenize.c stop_once
embedder/tokenize.c stop_sorted
embedder/words.c g_off
embedder/words.c g_once
embedder/words.c g_top
# libcurl's global init, once per process (remote/http.c), and the VLM
# prompt table parsed once from the compiled-in text (remote/vlm.c)
remote/http.c g_init_rc
remote/http.c g_once
remote/vlm.c g_once
remote/vlm.c g_p
# a warning given once per process (atomic flags)
captioner/captioner.c said
captioner/captioner.c said_pp
# Tesseract's Init writes its own globals: engines are initialised one at a
# time, its debug file set once (captioner/ocr.c)
captioner/ocr.c api_init_lock
captioner/ocr.c ocr_once
captioner/ocr.c debug_file_set
# libheif's heif_init, once per process before the first HEIF/AVIF decode
# (captioner/decode_heif.c)
captioner/decode_heif.c heif_once
# per thread: the tensor pool a model run allocates from (runtime/model.c)
captioner/model.c cur_pool
# FAISS's C API contract: the last exception per thread; C++ runtime
storage/faiss_c_shim.cpp faiss_last_exception
storage/faiss_c_shim.cpp _ZN12_GLOBAL__N_115last_error_textE
storage/faiss_c_shim.cpp __tls_guard
storage/faiss_c_shim.cpp _ZStL8__ioinit
storage/faiss_c_shim.cpp DW.ref.__gxx_personality_v0
storage/faiss_c_shim.cpp DW.ref._ZTISt9exception
storage/faiss_c_shim.cpp DW.ref._ZTIN5faiss14FaissExceptionE
# C++ runtime: the exception personality of storage's IVF calls
storage/store_ivf.cpp DW.ref.__gxx_personality_v0
EOF
)

found=$(for a in "$BUILD"/{core,captioner,embedder,storage,indexer,retriever,lib,remote}/lib*.a; do
    [ -f "$a" ] || continue
    folder=$(basename "$(dirname "$a")")
    objdump -t "$a" 2>/dev/null | awk -v F="$folder" '
        /file format/ { split($1, x, ":"); obj = x[1]; sub(/\.o$/, "", obj); next }
        /^[0-9a-f]+ / {
            sec = ""
            for (i = 2; i <= NF; i++) if ($i ~ /^[.*]/) { sec = $i; break }
            name = $NF
            if ($0 ~ / F / || name == sec || $0 ~ / df / || $0 ~ / d  /) next
            # AddressSanitizer gives every global a one-byte ODR indicator
            # (__odr_asan.NAME): the sanitizer'"'"'s, not a knob of ours
            if (name ~ /^__odr_asan\./) next
            if ((sec ~ /^\.(data|bss|tbss|tdata)/ && sec !~ /rel\.ro/) || sec == "*COM*") {
                sub(/\.[0-9]+$/, "", name)
                print F "/" obj, name
            }
        }'
done | sort -u)
[ -n "$found" ] || { echo "FAIL no symbols read from the archives under $BUILD"; exit 1; }

fails=0
n=0
while read -r file sym; do
    n=$((n + 1))
    if grep -qxF "$file $sym" <<<"$ALLOWED"; then
        echo "ok   $file $sym (listed)"
    else
        echo "FAIL $file $sym: a writable global not in the list (make it const config or say why)"
        fails=$((fails + 1))
    fi
done <<<"$found"
echo "$n writable globals, all listed but $fails"
exit $((fails > 0))

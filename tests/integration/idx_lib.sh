#!/usr/bin/env bash
# labels: integration
# Helpers shared by the idx_*.sh indexer tests (sourced), and their own test
# when run: builds a small PNG generator with the system C compiler and
# libpng (no Python, nothing downloaded) and checks what it writes.

# idx_build_gen DIR: compiles DIR/gen. Usage of the result:
#   gen png DIR N SEED   N distinct PNGs under DIR/sNN/ (50 per folder)
#   gen one PATH W H SEED
#   gen huge PATH        a valid header claiming 100000x100000, no pixels
idx_build_gen() {
  local out=$1/gen
  ${CC:-cc} -O1 -x c - -o "$out" -lpng16 <<'CEOF' || return 1
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
static int one(const char *path, int w, int h, unsigned seed) {
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); return 1; }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, 0, 0, 0);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) { fclose(f); return 1; }
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    unsigned char *row = malloc((size_t)w * 3);
    unsigned s = seed * 2654435761u;
    int cx = (int)(s % (unsigned)w), cy = (int)((s >> 8) % (unsigned)h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int d = (x - cx) * (x - cx) + (y - cy) * (y - cy);
            int in = d < (w * h) / 8;
            row[3 * x] = (unsigned char)(in ? (s >> 4) : x * 3 + seed);
            row[3 * x + 1] = (unsigned char)(in ? (s >> 12) : y * 3 + seed * 7);
            row[3 * x + 2] = (unsigned char)(in ? (s >> 20) : (x + y) + seed * 13);
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    return fclose(f) != 0;
}
static unsigned crc(const unsigned char *p, int n) {
    unsigned c = 0xffffffffu;
    for (int i = 0; i < n; i++) { c ^= p[i]; for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1))); }
    return ~c;
}
static void be(unsigned char *p, unsigned v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
int main(int argc, char **argv) {
    if (argc >= 5 && !strcmp(argv[1], "png")) {
        int n = atoi(argv[3]); unsigned seed = (unsigned)atoi(argv[4]);
        char p[4096];
        mkdir(argv[2], 0755);
        for (int i = 0; i < n; i++) {
            snprintf(p, sizeof p, "%s/s%02d", argv[2], i / 50);
            mkdir(p, 0755);
            snprintf(p, sizeof p, "%s/s%02d/img%05d.png", argv[2], i / 50, i);
            if (one(p, 48 + (int)((seed + i) % 40), 40 + (int)((seed + 3 * i) % 32), seed * 1000 + i)) return 1;
        }
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "one"))
        return one(argv[2], atoi(argv[3]), atoi(argv[4]), (unsigned)atoi(argv[5]));
    if (argc == 3 && !strcmp(argv[1], "huge")) {
        unsigned char b[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        be(b + 8, 13); memcpy(b + 12, "IHDR", 4); be(b + 16, 100000); be(b + 20, 100000);
        b[24] = 8; b[25] = 2; be(b + 29, crc(b + 12, 17));
        FILE *f = fopen(argv[2], "wb");
        if (!f || fwrite(b, 1, sizeof b, f) != sizeof b) return 1;
        return fclose(f) != 0;
    }
    fprintf(stderr, "usage: gen png DIR N SEED | one PATH W H SEED | huge PATH\n");
    return 2;
}
CEOF
}

# idx_check "what" cmd...: prints ok/FAIL and counts failures in idx_fails.
idx_fails=0
idx_check() {
  local what=$1; shift
  if "$@" >/dev/null; then echo "ok   $what"; else echo "FAIL $what"; idx_fails=$((idx_fails + 1)); fi
}

# idx_json_field FILE KEY: the value of "KEY":N in the last summary line.
idx_summary() {
  grep '"event":"summary"' "$1" | tail -1 | jq -r ".$2"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  T=$(mktemp -d)
  trap 'rm -rf "$T"' EXIT
  idx_check "generator compiles" idx_build_gen "$T"
  "$T/gen" png "$T/imgs" 60 7
  idx_check "generator wrote 60 files in 2 folders" test "$(find "$T/imgs" -name '*.png' | wc -l)" -eq 60 -a -d "$T/imgs/s01"
  idx_check "all files start with the PNG signature" \
    test "$(for f in "$T"/imgs/*/*.png; do head -c 8 "$f" | od -An -tx1 | tr -d ' \n'; echo; done | sort -u)" = 89504e470d0a1a0a
  idx_check "contents are distinct" test "$(sha256sum "$T"/imgs/*/*.png | cut -c1-64 | sort -u | wc -l)" -eq 60
  "$T/gen" huge "$T/huge.png"
  idx_check "huge header is 33 bytes claiming 100000 wide" \
    test "$(od -An -tx1 -j16 -N4 "$T/huge.png" | tr -d ' ')" = 000186a0
  echo "$idx_fails failed"
  exit $((idx_fails > 0))
fi

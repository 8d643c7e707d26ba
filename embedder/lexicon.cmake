# lexicon.cmake - turns lexicon.tsv into a C byte array at build time, so the
# lexicon stays a data file in the repository and the library does no
# runtime file lookup. Usage: cmake -DIN=lexicon.tsv -DOUT=lexicon_data.c -P
file(READ "${IN}" hex HEX)
# 32 bytes per line keeps the generated file readable for compilers and diffs
string(REGEX REPLACE "([0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])" "\\1\n" hex "${hex}")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE "${OUT}.tmp" "/* generated from lexicon.tsv by lexicon.cmake: do not edit */\n#include <stddef.h>\nconst unsigned char emb_lexicon_data[] = {\n${body}0x00};\nconst size_t emb_lexicon_size = sizeof emb_lexicon_data - 1;\n")
file(RENAME "${OUT}.tmp" "${OUT}")

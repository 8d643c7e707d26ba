# embed.cmake - `cmake -DIN=page.html -DOUT=page.c -DNAME=sym -P embed.cmake`
# writes a C file defining `const char NAME[]`, the bytes of IN as one
# string literal (every byte a \x escape, so any byte is safe, 32 a line)
# and `const size_t NAME_len`. Run by the build; nothing to install.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REPEAT "[0-9a-f]" 64 line)
string(REGEX REPLACE "(${line})" "\\1|" hex "${hex}")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" body "${hex}")
string(REPLACE "|" "\"\n    \"" body "${body}")
get_filename_component(src "${IN}" NAME)
file(WRITE "${OUT}.tmp"
  "/* Generated from ${src} by server/embed.cmake at build time: edit ${src}. */\n"
  "#include <stddef.h>\n\nconst char ${NAME}[] =\n    \"${body}\";\n"
  "const size_t ${NAME}_len = ${bytes};\n")
file(RENAME "${OUT}.tmp" "${OUT}")

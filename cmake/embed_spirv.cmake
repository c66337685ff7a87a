# embed_spirv.cmake: cmake -DIN=x.spv -OUT=x_spv.h -DNAME=x_spv -P embed_spirv.cmake
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR words "${n} / 8")
set(body "")
set(i 0)
while(i LESS n)
  # SPIR-V words are little-endian: reverse the 4 bytes of each word.
  string(SUBSTRING "${hex}" ${i} 2 b0)
  math(EXPR j "${i} + 2")
  string(SUBSTRING "${hex}" ${j} 2 b1)
  math(EXPR j "${i} + 4")
  string(SUBSTRING "${hex}" ${j} 2 b2)
  math(EXPR j "${i} + 6")
  string(SUBSTRING "${hex}" ${j} 2 b3)
  string(APPEND body "0x${b3}${b2}${b1}${b0}u,")
  math(EXPR i "${i} + 8")
endwhile()
file(WRITE ${OUT} "// generated from ${IN}\n#pragma once\n#include <cstdint>\n"
  "inline constexpr std::uint32_t ${NAME}[${words}] = {${body}};\n"
  "inline constexpr std::uint32_t ${NAME}_words = ${words};\n")

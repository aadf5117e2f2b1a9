# Warnings and sanitizer build types (libssh style: one build type per sanitizer).
function(nbcl_target_warnings tgt)
  target_compile_options(${tgt} PRIVATE -Wall -Wextra -Wstrict-prototypes -Wno-unused-parameter)
  if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${tgt} PRIVATE -Wshadow=local)
  else()
    target_compile_options(${tgt} PRIVATE -Wshadow)
  endif()
endfunction()

set(CMAKE_C_FLAGS_ASAN "-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
  CACHE STRING "C flags for the Asan build type (ASan + UBSan)")
set(CMAKE_EXE_LINKER_FLAGS_ASAN "-fsanitize=address,undefined" CACHE STRING "")
set(CMAKE_SHARED_LINKER_FLAGS_ASAN "-fsanitize=address,undefined" CACHE STRING "")
set(CMAKE_MODULE_LINKER_FLAGS_ASAN "-fsanitize=address,undefined" CACHE STRING "")
mark_as_advanced(CMAKE_C_FLAGS_ASAN CMAKE_EXE_LINKER_FLAGS_ASAN CMAKE_SHARED_LINKER_FLAGS_ASAN
  CMAKE_MODULE_LINKER_FLAGS_ASAN)

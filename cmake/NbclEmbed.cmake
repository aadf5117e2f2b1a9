# nbcl_embed_kernels(OUTPUT out.c FILES a.h b.cl ...)
# Generates one C file holding every kernel file as a NUL-terminated char array plus a table
# { name, text, length } in the order given (the order the program layer concatenates them).
function(nbcl_embed_kernels)
  cmake_parse_arguments(E "" "OUTPUT" "FILES" ${ARGN})
  add_custom_command(OUTPUT ${E_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -D "OUTPUT=${E_OUTPUT}" -D "FILES=${E_FILES}"
            -P ${PROJECT_SOURCE_DIR}/cmake/NbclEmbedScript.cmake
    DEPENDS ${E_FILES} ${PROJECT_SOURCE_DIR}/cmake/NbclEmbedScript.cmake
    COMMENT "Embedding OpenCL kernel sources"
    VERBATIM)
endfunction()

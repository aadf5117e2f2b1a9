# nbcl_add_module(NAME SOURCES src... LIBS lib...): the module nbcl-NAME.so (docs/architecture.md
# "Modules"), which engine/src/core/module.c loads on first use from the folder "nbcl" next to the
# shared libnbcl: built into the build tree's lib/nbcl, installed into <libdir>/nbcl
# (cmake/NbclInstall.cmake installs every target listed in the global property NBCL_MODULES).
# A module links its own libraries and nothing of libnbcl; it sees the public headers and
# engine/src (for nbcl_modules.h), and exports only nbcl_module_NAME (hidden visibility).
function(nbcl_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;LIBS" ${ARGN})
  set(tgt nbcl_module_${name})
  add_library(${tgt} MODULE ${M_SOURCES})
  set_target_properties(${tgt} PROPERTIES OUTPUT_NAME nbcl-${name} PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib/nbcl C_VISIBILITY_PRESET hidden)
  target_include_directories(${tgt} PRIVATE ${PROJECT_SOURCE_DIR}/engine/include
    ${PROJECT_BINARY_DIR}/engine/include ${PROJECT_SOURCE_DIR}/engine/src)
  target_compile_definitions(${tgt} PRIVATE _POSIX_C_SOURCE=200809L)
  target_link_libraries(${tgt} PRIVATE ${M_LIBS})
  # every symbol resolved at link time: a module must not reach into libnbcl (not under
  # sanitizers, whose runtimes the executable brings)
  if(NOT CMAKE_C_FLAGS MATCHES "sanitize" AND NOT CMAKE_BUILD_TYPE STREQUAL "Asan")
    target_link_options(${tgt} PRIVATE LINKER:--no-undefined)
  endif()
  nbcl_target_warnings(${tgt})
  set_property(GLOBAL APPEND PROPERTY NBCL_MODULES ${tgt})
endfunction()

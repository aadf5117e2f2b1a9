# Install rules, CMake package, pkg-config file, man pages and the Debian package.
#   cmake --install build [--prefix DIR]   installs:
#     bin/nbcl bin/nbcl-bench bin/nbcl-compare
#     lib/libnbcl.so.X.Y.Z (+ SONAME and dev links), lib/libnbcl.a
#     lib/nbcl/nbcl-cbf.so nbcl-nexus.so [nbcl-mpi.so]  modules libnbcl loads on first use
#     include/nbcl/*.h                     (the public API; nbcl.h is the umbrella)
#     lib/cmake/nbcl/                      find_package(nbcl) -> nbcl::nbcl (+ nbcl::nbcl_static)
#     lib/pkgconfig/nbcl.pc                pkg-config nbcl (relocatable: paths from ${pcfiledir})
#     share/man/man1/nbcl*.1               generated from each program's --help
#   cpack -G DEB (in the build folder)     nbcl_<version>_<arch>.deb, installing under /usr
include(CMakePackageConfigHelpers)

set(NBCL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/nbcl)

# ---- programs (linked with the shared library, cli/CMakeLists.txt). In the build tree their
# RUNPATH names the build's lib/ (CMake's default); installed, the lib folder relative to their
# own ($ORIGIN), so an installed or packaged tree works wherever it lies.
set(NBCL_PROGRAMS nbcl_cli)
foreach(tool nbcl_compare nbcl_bench)
  if(TARGET ${tool})
    list(APPEND NBCL_PROGRAMS ${tool})
  endif()
endforeach()
file(RELATIVE_PATH _nbcl_bin_to_lib "/p/${CMAKE_INSTALL_BINDIR}" "/p/${CMAKE_INSTALL_LIBDIR}")
if(NBCL_PROGRAM_LIB STREQUAL "nbcl_shared")
  set_target_properties(${NBCL_PROGRAMS} PROPERTIES INSTALL_RPATH "$ORIGIN/${_nbcl_bin_to_lib}")
endif()
install(TARGETS ${NBCL_PROGRAMS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# ---- libraries
install(TARGETS nbcl EXPORT nbclStaticTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
set_target_properties(nbcl PROPERTIES EXPORT_NAME nbcl_static)
install(EXPORT nbclStaticTargets NAMESPACE nbcl:: DESTINATION ${NBCL_CMAKE_DIR})
if(TARGET nbcl_shared)
  install(TARGETS nbcl_shared EXPORT nbclTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT nbclTargets NAMESPACE nbcl:: DESTINATION ${NBCL_CMAKE_DIR})
endif()

# ---- modules (cmake/NbclModule.cmake): where libnbcl looks for them, <its folder>/nbcl
get_property(_nbcl_modules GLOBAL PROPERTY NBCL_MODULES)
install(TARGETS ${_nbcl_modules} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/nbcl)

# ---- public headers (and the generated version header)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/engine/include/nbcl
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/engine/include/nbcl/nbcl_version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/nbcl)

# ---- CMake package
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/nbclConfig.cmake.in
  ${PROJECT_BINARY_DIR}/nbclConfig.cmake INSTALL_DESTINATION ${NBCL_CMAKE_DIR})
# 0.x: a minor version may break the API, so only the same major.minor is compatible
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_nbcl_compat SameMinorVersion)
else()
  set(_nbcl_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nbclConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${_nbcl_compat})

# ---- pkg-config: what a static link needs beyond -lnbcl (the shared library needs nothing)
file(RELATIVE_PATH NBCL_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" NBCL_PC_TO_PREFIX "${NBCL_PC_TO_PREFIX}")
# (nbcl_static_deps, run at the end of engine/: cmake/NbclStaticDeps.cmake)
get_property(NBCL_PC_REQUIRES_PRIVATE GLOBAL PROPERTY NBCL_PC_REQUIRES_PRIVATE)
get_property(NBCL_PC_LIBS_PRIVATE GLOBAL PROPERTY NBCL_PC_LIBS_PRIVATE)
install(FILES ${PROJECT_BINARY_DIR}/nbclConfig.cmake ${PROJECT_BINARY_DIR}/nbclConfigVersion.cmake
  ${PROJECT_BINARY_DIR}/nbclStaticDeps.cmake DESTINATION ${NBCL_CMAKE_DIR})
configure_file(${PROJECT_SOURCE_DIR}/cmake/nbcl.pc.in ${PROJECT_BINARY_DIR}/nbcl.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/nbcl.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# ---- man pages, generated from --help at build time so that they cannot drift from it
option(NBCL_MANPAGES "Generate man pages from the programs' --help" ON)
if(NBCL_MANPAGES)
  set(_nbcl_man_nbcl_cli "nbcl;simulate X-ray diffraction images like nanoBragg, on OpenCL devices")
  set(_nbcl_man_nbcl_compare "nbcl-compare;compare two diffraction images")
  set(_nbcl_man_nbcl_bench "nbcl-bench;benchmark nbcl and write an evidence bundle")
  set(_nbcl_pages "")
  foreach(tool ${NBCL_PROGRAMS})
    list(GET _nbcl_man_${tool} 0 _name)
    list(GET _nbcl_man_${tool} 1 _summary)
    set(_page ${PROJECT_BINARY_DIR}/man/${_name}.1)
    add_custom_command(OUTPUT ${_page}
      COMMAND ${CMAKE_COMMAND} -D EXE=$<TARGET_FILE:${tool}> -D OUTPUT=${_page}
              -D NAME=${_name} -D "SUMMARY=${_summary}" -D VERSION=${PROJECT_VERSION}
              -D "SEE_ALSO=nbcl nbcl-bench nbcl-compare"
              -P ${PROJECT_SOURCE_DIR}/cmake/NbclManPage.cmake
      DEPENDS ${tool} ${PROJECT_SOURCE_DIR}/cmake/NbclManPage.cmake
      COMMENT "Man page ${_name}.1 from ${_name} --help" VERBATIM)
    list(APPEND _nbcl_pages ${_page})
  endforeach()
  add_custom_target(nbcl_manpages ALL DEPENDS ${_nbcl_pages})
  install(FILES ${_nbcl_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

if(NOT NBCL_EMBED_KERNELS)
  message(WARNING "NBCL_EMBED_KERNELS=OFF: the programs read kernels from ${PROJECT_SOURCE_DIR}/cl "
                  "at run time; an installed copy works only while that folder exists")
endif()

# ---- Debian package
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME nbcl)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "nanoBragg-CL maintainers <nbcl@invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "X-ray diffraction image simulator (nanoBragg-compatible) on OpenCL devices")
# the extended description under the summary; CPack indents each line for the control file
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "nbcl simulates X-ray diffraction images exactly like nanoBragg (same flags, same numbers)
on any OpenCL device: CPUs through PoCL, GPUs through their vendors' drivers.
The package holds the programs nbcl, nbcl-bench and nbcl-compare, the library libnbcl
(shared and static) with its modules (CBF, NXmx, MPI), its headers, CMake package and
pkg-config file.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# CLBlast is loaded with dlopen (engine/src/render/blas.c) and the OpenCL driver through the ICD
# loader, so no ELF file names them: they are listed by hand. The rest comes from
# dpkg-shlibdeps when it is there (dpkg-dev; it reads the modules too: CBFlib, HDF5, Open MPI),
# else from this list (Debian 12 names).
set(_nbcl_deb_runtime "libclblast1, pocl-opencl-icd | opencl-icd")
find_program(NBCL_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(NBCL_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${_nbcl_deb_runtime}")
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), ocl-icd-libopencl1 | libopencl1, libjson-c5, libpng16-16, libssl3, libcbf1, libhdf5-103-1, ${_nbcl_deb_runtime}")
  if(TARGET nbcl_module_mpi)
    string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libopenmpi3")
  endif()
endif()
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
include(CPack)

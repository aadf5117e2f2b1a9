# All dependencies are Debian 12 packages (see README).
find_package(OpenCL 1.2 REQUIRED)                # ocl-icd-opencl-dev + opencl-headers
find_package(CLBlast CONFIG REQUIRED)            # libclblast-dev: target `clblast`
find_package(PkgConfig REQUIRED)
pkg_check_modules(JSONC REQUIRED IMPORTED_TARGET json-c)     # libjson-c-dev
pkg_check_modules(PNG REQUIRED IMPORTED_TARGET libpng)        # libpng-dev
pkg_check_modules(CRYPTO REQUIRED IMPORTED_TARGET libcrypto)  # libssl-dev (SHA-256)
find_package(Threads REQUIRED)

# cmocka 1.1.5 on Debian 12 has a config file but no imported target
find_package(cmocka CONFIG QUIET)
if(cmocka_FOUND AND NOT TARGET cmocka::cmocka)
  add_library(cmocka::cmocka INTERFACE IMPORTED)
  set_target_properties(cmocka::cmocka PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${CMOCKA_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${CMOCKA_LIBRARIES}")
endif()

# Pipeline formats (docs/formats.md): CBFlib (libcbf-dev: headers in /usr/include/cbflib, no
# pkg-config file) and HDF5 1.10 (libhdf5-dev, serial flavour)
find_path(CBF_INCLUDE_DIR cbflib/cbf.h REQUIRED)
find_library(CBF_LIBRARY cbf REQUIRED)
if(NOT TARGET nbcl::cbf)
  add_library(nbcl::cbf INTERFACE IMPORTED)
  set_target_properties(nbcl::cbf PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${CBF_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${CBF_LIBRARY}")
endif()
pkg_check_modules(HDF5 REQUIRED IMPORTED_TARGET hdf5-serial)  # libhdf5-dev

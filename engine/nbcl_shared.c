/* libnbcl.so is libnbcl.a linked whole (engine/CMakeLists.txt); this unit only gives CMake a
 * source file for the shared target. */
typedef int nbcl_shared_unit;

/* NBCL_API marks every function of the public interface. libnbcl is compiled with
 * -fvisibility=hidden, so the shared library exports exactly the NBCL_API functions and nothing
 * of its internals; a static link sees every symbol either way. */
#ifndef NBCL_EXPORT_H
#define NBCL_EXPORT_H

#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(NBCL_BUILDING_SHARED)
#define NBCL_API __declspec(dllexport)
#elif defined(NBCL_SHARED)
#define NBCL_API __declspec(dllimport)
#else
#define NBCL_API
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define NBCL_API __attribute__((visibility("default")))
#else
#define NBCL_API
#endif

#endif

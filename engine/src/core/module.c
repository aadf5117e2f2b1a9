/* nbcl's modules, loaded on first use (docs/architecture.md "Modules"). CBFlib, HDF5 and Open
 * MPI bring ~35 libraries with them (curl, gnutls, krb5, ldap, hwloc, libevent...); linked, they
 * cost every process ~4 ms of loading, and every later symbol lookup — PoCL's and LLVM's
 * relocations when the OpenCL platform starts — searches them all. So the code that needs them is
 * built as modules, nbcl-NAME.so, which only the processes that write CBF or NXmx, or run under an
 * MPI launcher, load.
 *
 * Where a module is looked for: in the folder "nbcl" next to the shared libnbcl that holds this
 * code (dladdr), the build tree's lib/nbcl and an installed <libdir>/nbcl alike. Code linked from
 * the static libnbcl.a (this tree's tests, static consumers) lies in a program: there the
 * program's ../lib/nbcl is tried (the build tree's bin/ and lib/), then the folder this library
 * was configured to be installed in. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbcl_internal.h"

#ifndef NBCL_MODULE_INSTALL_DIR
#define NBCL_MODULE_INSTALL_DIR "/usr/local/lib/nbcl"
#endif

#define MODULES_MAX 8
#define NAME_MAX_ 16

/* the modules loaded so far (never unloaded: their tables stay valid until the process ends) */
static struct {
    char name[NAME_MAX_];
    const void *table;
} g_modules[MODULES_MAX];
static int g_nmodules;
static pthread_mutex_t g_modules_lock = PTHREAD_MUTEX_INITIALIZER;

static int valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= NAME_MAX_)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')))
            return 0;
    return 1;
}

/* the folder part of path into dir (cap bytes); 0 when it does not fit */
static int dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (n + 1 > cap)
        return 0;
    memcpy(dir, slash ? path : ".", n);
    dir[n] = '\0';
    return 1;
}

/* the candidate files of module `name`, in order: 1 or 2 of them (0: no name fits) */
static int candidates(const char *name, char paths[2][PATH_MAX])
{
    Dl_info info;
    char dir[PATH_MAX];
    const char *self = NULL;
    if (dladdr((const void *)&nbcl_module_load, &info) && info.dli_fname)
        self = info.dli_fname;
    const char *base = self ? strrchr(self, '/') : NULL;
    base = base ? base + 1 : self;
    if (base && strncmp(base, "libnbcl.so", 10) == 0 && dir_of(self, dir, sizeof dir))
        return snprintf(paths[0], PATH_MAX, "%s/nbcl/nbcl-%s.so", dir, name) < PATH_MAX;
    int n = 0;
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        if (dir_of(exe, dir, sizeof dir) &&
            snprintf(paths[n], PATH_MAX, "%s/../lib/nbcl/nbcl-%s.so", dir, name) < PATH_MAX)
            n++;
    }
    if (snprintf(paths[n], PATH_MAX, "%s/nbcl-%s.so", NBCL_MODULE_INSTALL_DIR, name) < PATH_MAX)
        n++;
    return n;
}

/* dlopen the first candidate that exists (or, when none does, the first), resolve the entry
 * point and check the head */
static const void *load(const char *name, int flags, char *err, size_t errlen)
{
    char paths[2][PATH_MAX];
    int n = candidates(name, paths), pick = 0;
    if (n == 0) {
        nbcl__errf(err, errlen, "nbcl module nbcl-%s.so: its path is too long", name);
        return NULL;
    }
    struct stat st;
    while (pick < n && stat(paths[pick], &st) != 0)
        pick++;
    if (pick == n)
        pick = 0;
    const char *path = paths[pick];
    char tried[2 * PATH_MAX + 16] = "";
    if (n == 2 && stat(paths[pick], &st) != 0)
        snprintf(tried, sizeof tried, " (also tried %s)", paths[1]);
    void *h = dlopen(path, RTLD_NOW | (flags & NBCL_MODULE_GLOBAL ? RTLD_GLOBAL : RTLD_LOCAL));
    if (!h) {
        const char *why = dlerror();
        nbcl__errf(err, errlen, "nbcl module nbcl-%s.so cannot be loaded from %s%s: %s", name,
                   path, tried, why ? why : "unknown reason");
        return NULL;
    }
    char entry[32 + NAME_MAX_];
    snprintf(entry, sizeof entry, "nbcl_module_%s", name);
    dlerror();
    const void *(*fn)(void);
    *(void **)(&fn) = dlsym(h, entry);
    if (!fn) {
        const char *why = dlerror();
        nbcl__errf(err, errlen, "nbcl module %s lacks its entry point %s: %s", path, entry,
                   why ? why : "not found");
        dlclose(h);
        return NULL;
    }
    const nbcl_module_head *head = fn();
    if (!head || head->abi != NBCL_MODULE_ABI || !head->version ||
        strcmp(head->version, nbcl_version()) != 0) {
        nbcl__errf(err, errlen,
                   "nbcl module %s was built for nbcl %s (module ABI %d), this libnbcl is %s "
                   "(module ABI %d): install the modules of this nbcl",
                   path, head && head->version ? head->version : "?", head ? head->abi : -1,
                   nbcl_version(), NBCL_MODULE_ABI);
        dlclose(h);
        return NULL;
    }
    return head; /* h stays open for the life of the process */
}

const void *nbcl_module_load(const char *name, int flags, char *err, size_t errlen)
{
    if (!valid_name(name)) {
        nbcl__errf(err, errlen, "nbcl_module_load: invalid module name '%s'",
                   name ? name : "(null)");
        return NULL;
    }
    pthread_mutex_lock(&g_modules_lock);
    const void *table = NULL;
    for (int i = 0; i < g_nmodules && !table; i++)
        if (strcmp(g_modules[i].name, name) == 0)
            table = g_modules[i].table;
    if (!table) {
        table = load(name, flags, err, errlen);
        if (table && g_nmodules < MODULES_MAX) {
            snprintf(g_modules[g_nmodules].name, NAME_MAX_, "%s", name);
            g_modules[g_nmodules++].table = table;
        }
    }
    pthread_mutex_unlock(&g_modules_lock);
    return table;
}

/* nbcl's modules, loaded on first use (docs/architecture.md "Modules"). CBFlib, HDF5 and Open
 * MPI bring ~35 libraries with them (curl, gnutls, krb5, ldap, hwloc, libevent...); linked, they
 * cost every process ~4 ms of loading, and every later symbol lookup — PoCL's and LLVM's
 * relocations when the OpenCL platform starts — searches them all. So the code that needs them is
 * built as modules, nbcl-NAME.so, which only the processes that write CBF or NXmx, or run under an
 * MPI launcher, load.
 *
 * Where a module is looked for, in this order: the folder NBCL_MODULE_DIR names, when set; the
 * folder "nbcl" next to the shared libnbcl that holds this code (dladdr: the build tree's
 * lib/nbcl and an installed <libdir>/nbcl alike), and next to its real path when it was reached
 * through a link in another folder. Code linked from the static libnbcl.a (this tree's tests,
 * static consumers) lies in a program: there the program's ../lib/nbcl is tried (the build tree's
 * bin/ and lib/), then the folder this library was configured to be installed in, then the one
 * the .deb installs it in (packages are built with another prefix than the configured one). */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbcl_internal.h"

#ifndef NBCL_MODULE_INSTALL_DIR
#define NBCL_MODULE_INSTALL_DIR "/usr/local/lib/nbcl"
#endif
#ifndef NBCL_MODULE_PACKAGE_DIR
#define NBCL_MODULE_PACKAGE_DIR NBCL_MODULE_INSTALL_DIR
#endif
#define CANDIDATES_MAX 5

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

/* append dir/nbcl-name.so (with sub between them) to the list unless it is there already */
static void add_candidate(char (*paths)[PATH_MAX], int *n, const char *dir, const char *sub,
                          const char *name)
{
    if (*n >= CANDIDATES_MAX ||
        snprintf(paths[*n], PATH_MAX, "%s%s/nbcl-%s.so", dir, sub, name) >= PATH_MAX)
        return;
    for (int i = 0; i < *n; i++)
        if (strcmp(paths[i], paths[*n]) == 0)
            return;
    (*n)++;
}

/* the candidate files of module `name`, in order (0: no path fits) */
static int candidates(const char *name, char (*paths)[PATH_MAX])
{
    int n = 0;
    const char *env = nbcl__env_module_dir();
    if (env)
        add_candidate(paths, &n, env, "", name);
    Dl_info info;
    char dir[PATH_MAX];
    const char *self = NULL;
    if (dladdr((const void *)&nbcl_module_load, &info) && info.dli_fname)
        self = info.dli_fname;
    const char *base = self ? strrchr(self, '/') : NULL;
    base = base ? base + 1 : self;
    if (base && strncmp(base, "libnbcl.so", 10) == 0) {
        if (dir_of(self, dir, sizeof dir))
            add_candidate(paths, &n, dir, "/nbcl", name);
        char *real = realpath(self, NULL); /* a link to libnbcl from another folder */
        if (real && dir_of(real, dir, sizeof dir))
            add_candidate(paths, &n, dir, "/nbcl", name);
        free(real);
        return n;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        if (dir_of(exe, dir, sizeof dir))
            add_candidate(paths, &n, dir, "/../lib/nbcl", name);
    }
    add_candidate(paths, &n, NBCL_MODULE_INSTALL_DIR, "", name);
    add_candidate(paths, &n, NBCL_MODULE_PACKAGE_DIR, "", name);
    return n;
}

static const void *load_from(const char *name, int flags, char (*paths)[PATH_MAX], int n,
                             char *err, size_t errlen);

/* dlopen the first candidate that exists (or, when none does, the first), resolve the entry
 * point and check the head */
static const void *load(const char *name, int flags, char *err, size_t errlen)
{
    char(*paths)[PATH_MAX] = calloc(CANDIDATES_MAX, PATH_MAX);
    if (!paths) {
        nbcl__errf(err, errlen, "nbcl module nbcl-%s.so: out of host memory", name);
        return NULL;
    }
    const void *head = load_from(name, flags, paths, candidates(name, paths), err, errlen);
    free(paths);
    return head;
}

/* load() for the n candidate files in paths */
static const void *load_from(const char *name, int flags, char (*paths)[PATH_MAX], int n,
                             char *err, size_t errlen)
{
    int pick = 0;
    if (n == 0) {
        nbcl__errf(err, errlen, "nbcl module nbcl-%s.so: its path is too long", name);
        return NULL;
    }
    struct stat st;
    while (pick < n && stat(paths[pick], &st) != 0)
        pick++;
    char tried[1024] = "";
    if (pick == n) { /* none exists: the first is dlopen's error, the others are listed */
        pick = 0;
        size_t used = 0;
        for (int i = 1; i < n && used < sizeof tried; i++) {
            int w = snprintf(tried + used, sizeof tried - used, "%s%s", i == 1 ? " (also tried " : ", ",
                             paths[i]);
            used += w > 0 ? (size_t)w : 0;
        }
        if (n > 1 && used < sizeof tried)
            snprintf(tried + used, sizeof tried - used, ")");
    }
    const char *path = paths[pick];
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

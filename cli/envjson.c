/* JSON printers of the library's environment facts (nbcl_host_info, nbcl_device_info,
 * nbcl_build_facts) and of the environment variables that change a run, for nbcl-bench's env.json;
 * field names as in docs/benchmarks.md. */
#include "nbcl_json.h"

#include <stdio.h>
#include <stdlib.h>

void nbcl_json_host_info(nbcl_json *w, const nbcl_host_info *h)
{
    nbcl_json_obj_begin(w);
    nbcl_json_key(w, "os");
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "name", h->os_name);
    nbcl_json_kstr(w, "kernel", h->kernel);
    nbcl_json_kstr(w, "hostname", h->hostname);
    nbcl_json_obj_end(w);
    nbcl_json_key(w, "cpu");
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "model", h->cpu_model);
    nbcl_json_kuint(w, "logical_cpus", h->logical_cpus);
    if (h->physical_cores)
        nbcl_json_kuint(w, "physical_cores", h->physical_cores);
    else
        nbcl_json_knull(w, "physical_cores");
    nbcl_json_obj_end(w);
    nbcl_json_key(w, "memory");
    nbcl_json_obj_begin(w);
    nbcl_json_kuint(w, "total_bytes", h->mem_total_bytes);
    nbcl_json_kuint(w, "available_bytes", h->mem_available_bytes);
    nbcl_json_obj_end(w);
    nbcl_json_key(w, "icd_loader");
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "name", h->icd_loader_name);
    nbcl_json_kstr(w, "vendor", h->icd_loader_vendor);
    nbcl_json_kstr(w, "version", h->icd_loader_version);
    nbcl_json_kstr(w, "opencl_version", h->icd_loader_ocl_version);
    nbcl_json_kstr(w, "library", h->icd_loader_path);
    nbcl_json_obj_end(w);
    nbcl_json_kstr(w, "clblast_version", h->clblast_version);
    nbcl_json_key(w, "engine");
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "version", h->engine_version);
    nbcl_json_kstr(w, "git_sha", h->engine_git_sha);
    nbcl_json_kstr(w, "compiler", h->engine_compiler);
    nbcl_json_kstr(w, "build_type", h->engine_build_type);
    nbcl_json_obj_end(w);
    nbcl_json_obj_end(w);
}

void nbcl_json_device_info(nbcl_json *w, const nbcl_device_info *d)
{
    nbcl_json_obj_begin(w);
    char spec[32];
    snprintf(spec, sizeof spec, "%u:%u", d->platform_index, d->device_index);
    nbcl_json_kstr(w, "spec", spec);
    nbcl_json_key(w, "platform");
    nbcl_json_obj_begin(w);
    nbcl_json_kuint(w, "index", d->platform_index);
    nbcl_json_kstr(w, "name", d->platform_name);
    nbcl_json_kstr(w, "vendor", d->platform_vendor);
    nbcl_json_kstr(w, "version", d->platform_version);
    nbcl_json_obj_end(w);
    nbcl_json_key(w, "device");
    nbcl_json_obj_begin(w);
    nbcl_json_kuint(w, "index", d->device_index);
    nbcl_json_kstr(w, "name", d->device_name);
    nbcl_json_kstr(w, "name_normalised", d->device_name_normalised);
    nbcl_json_kstr(w, "vendor", d->device_vendor);
    nbcl_json_kuint(w, "vendor_id", d->device_vendor_id);
    nbcl_json_kstr(w, "type", d->device_type);
    nbcl_json_kstr(w, "version", d->device_version);
    nbcl_json_kstr(w, "opencl_c_version", d->opencl_c_version);
    nbcl_json_kstr(w, "driver_version", d->driver_version);
    nbcl_json_kuint(w, "compute_units", d->compute_units);
    nbcl_json_kuint(w, "max_clock_mhz", d->clock_mhz);
    nbcl_json_kuint(w, "global_mem_bytes", d->global_mem_bytes);
    nbcl_json_kuint(w, "local_mem_bytes", d->local_mem_bytes);
    nbcl_json_kuint(w, "max_alloc_bytes", d->max_alloc_bytes);
    nbcl_json_kuint(w, "max_work_group_size", (uint64_t)d->max_work_group_size);
    nbcl_json_kbool(w, "fp64", d->has_fp64);
    nbcl_json_key(w, "extensions");
    nbcl_json_arr_begin(w);
    const char *p = d->extensions;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *q = p;
        while (*q && *q != ' ')
            q++;
        if (q > p)
            nbcl_json_strn(w, p, (size_t)(q - p));
        p = q;
    }
    nbcl_json_arr_end(w);
    nbcl_json_obj_end(w);
    nbcl_json_obj_end(w);
}

void nbcl_json_build_facts(nbcl_json *w, const nbcl_build_facts *f)
{
    nbcl_json_obj_begin(w);
    nbcl_json_kstr(w, "source_origin", f->source_origin);
    nbcl_json_kstr(w, "source_sha256", f->source_sha256);
    nbcl_json_kstr(w, "build_options", f->options);
    nbcl_json_kstr(w, "cache_state", f->cache_state);
    nbcl_json_knum(w, "build_seconds", f->build_seconds);
    nbcl_json_obj_end(w);
}

void nbcl_json_environment(nbcl_json *w)
{
    static const char *const names[] = {
        "OMP_NUM_THREADS", "OMP_PROC_BIND", "POCL_MAX_PTHREAD_COUNT", "POCL_CACHE_DIR",
        "POCL_KERNEL_CACHE", "POCL_DEVICES", "POCL_CPU_MAX_CU_COUNT", "OCL_ICD_VENDORS",
        "OCL_ICD_DEFAULT_PLATFORM", "CUDA_CACHE_DISABLE", "CUDA_VISIBLE_DEVICES",
        "NBCL_DEVICE", "NBCL_PLATFORM", "NBCL_CACHE", "NBCL_CACHE_DIR", "NBCL_KERNEL_DIR",
        "NBCL_BUILD_OPTIONS", "NB_C_BIN", "LC_ALL", "LC_NUMERIC", "LANG"};
    nbcl_json_obj_begin(w);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        if (v)
            nbcl_json_kstr(w, names[i], v);
    }
    nbcl_json_obj_end(w);
}

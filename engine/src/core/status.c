/* Status strings, version, OpenCL error names, error-buffer helper, clock, SHA-256. */
#include "nbcl_internal.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifndef NBCL_VERSION_STRING
#define NBCL_VERSION_STRING "0.0.0"
#endif
#ifndef NBCL_GIT_SHA
#define NBCL_GIT_SHA "unknown"
#endif

const char *nbcl_status_str(nbcl_status s)
{
    switch (s) {
#define NBCL_X_(name, code, msg) \
    case NBCL_##name:            \
        return msg;
        NBCL_STATUS_MAP(NBCL_X_)
#undef NBCL_X_
    }
    return "unknown status";
}

const char *nbcl_status_name(nbcl_status s)
{
    switch (s) {
#define NBCL_X_(name, code, msg) \
    case NBCL_##name:            \
        return "NBCL_" #name;
        NBCL_STATUS_MAP(NBCL_X_)
#undef NBCL_X_
    }
    return "NBCL_UNKNOWN";
}

const char *nbcl_version(void)
{
    return NBCL_VERSION_STRING;
}

const char *nbcl_git_sha(void)
{
    return NBCL_GIT_SHA;
}

const char *nbcl__cl_error_name(cl_int code)
{
    switch (code) {
#define NBCL_CLERR_(c) \
    case c:            \
        return #c;
        NBCL_CLERR_(CL_SUCCESS)
        NBCL_CLERR_(CL_DEVICE_NOT_FOUND)
        NBCL_CLERR_(CL_DEVICE_NOT_AVAILABLE)
        NBCL_CLERR_(CL_COMPILER_NOT_AVAILABLE)
        NBCL_CLERR_(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        NBCL_CLERR_(CL_OUT_OF_RESOURCES)
        NBCL_CLERR_(CL_OUT_OF_HOST_MEMORY)
        NBCL_CLERR_(CL_PROFILING_INFO_NOT_AVAILABLE)
        NBCL_CLERR_(CL_MEM_COPY_OVERLAP)
        NBCL_CLERR_(CL_IMAGE_FORMAT_MISMATCH)
        NBCL_CLERR_(CL_IMAGE_FORMAT_NOT_SUPPORTED)
        NBCL_CLERR_(CL_BUILD_PROGRAM_FAILURE)
        NBCL_CLERR_(CL_MAP_FAILURE)
        NBCL_CLERR_(CL_MISALIGNED_SUB_BUFFER_OFFSET)
        NBCL_CLERR_(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        NBCL_CLERR_(CL_COMPILE_PROGRAM_FAILURE)
        NBCL_CLERR_(CL_LINKER_NOT_AVAILABLE)
        NBCL_CLERR_(CL_LINK_PROGRAM_FAILURE)
        NBCL_CLERR_(CL_DEVICE_PARTITION_FAILED)
        NBCL_CLERR_(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
        NBCL_CLERR_(CL_INVALID_VALUE)
        NBCL_CLERR_(CL_INVALID_DEVICE_TYPE)
        NBCL_CLERR_(CL_INVALID_PLATFORM)
        NBCL_CLERR_(CL_INVALID_DEVICE)
        NBCL_CLERR_(CL_INVALID_CONTEXT)
        NBCL_CLERR_(CL_INVALID_QUEUE_PROPERTIES)
        NBCL_CLERR_(CL_INVALID_COMMAND_QUEUE)
        NBCL_CLERR_(CL_INVALID_HOST_PTR)
        NBCL_CLERR_(CL_INVALID_MEM_OBJECT)
        NBCL_CLERR_(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
        NBCL_CLERR_(CL_INVALID_IMAGE_SIZE)
        NBCL_CLERR_(CL_INVALID_SAMPLER)
        NBCL_CLERR_(CL_INVALID_BINARY)
        NBCL_CLERR_(CL_INVALID_BUILD_OPTIONS)
        NBCL_CLERR_(CL_INVALID_PROGRAM)
        NBCL_CLERR_(CL_INVALID_PROGRAM_EXECUTABLE)
        NBCL_CLERR_(CL_INVALID_KERNEL_NAME)
        NBCL_CLERR_(CL_INVALID_KERNEL_DEFINITION)
        NBCL_CLERR_(CL_INVALID_KERNEL)
        NBCL_CLERR_(CL_INVALID_ARG_INDEX)
        NBCL_CLERR_(CL_INVALID_ARG_VALUE)
        NBCL_CLERR_(CL_INVALID_ARG_SIZE)
        NBCL_CLERR_(CL_INVALID_KERNEL_ARGS)
        NBCL_CLERR_(CL_INVALID_WORK_DIMENSION)
        NBCL_CLERR_(CL_INVALID_WORK_GROUP_SIZE)
        NBCL_CLERR_(CL_INVALID_WORK_ITEM_SIZE)
        NBCL_CLERR_(CL_INVALID_GLOBAL_OFFSET)
        NBCL_CLERR_(CL_INVALID_EVENT_WAIT_LIST)
        NBCL_CLERR_(CL_INVALID_EVENT)
        NBCL_CLERR_(CL_INVALID_OPERATION)
        NBCL_CLERR_(CL_INVALID_GL_OBJECT)
        NBCL_CLERR_(CL_INVALID_BUFFER_SIZE)
        NBCL_CLERR_(CL_INVALID_MIP_LEVEL)
        NBCL_CLERR_(CL_INVALID_GLOBAL_WORK_SIZE)
        NBCL_CLERR_(CL_INVALID_PROPERTY)
        NBCL_CLERR_(CL_INVALID_IMAGE_DESCRIPTOR)
        NBCL_CLERR_(CL_INVALID_COMPILER_OPTIONS)
        NBCL_CLERR_(CL_INVALID_LINKER_OPTIONS)
        NBCL_CLERR_(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef NBCL_CLERR_
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        break;
    }
    /* a small ring per thread: a few messages of one thread stay apart, threads never share */
    static _Thread_local char buf[8][40];
    static _Thread_local unsigned slot;
    char *p = buf[slot++ & 7u];
    snprintf(p, sizeof buf[0], "CL_UNKNOWN_ERROR(%d)", (int)code);
    return p;
}

void nbcl__errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

double nbcl__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int nbcl__sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return 0;
    memcpy(out, md, 32);
    return 1;
}

void nbcl__sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    out[0] = '\0';
    if (!nbcl__sha256(data, len, md))
        return;
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

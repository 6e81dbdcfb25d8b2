/*
 * error.c: messages for the negative codes the library returns.
 *
 * Our own table rather than strerror(): it is thread-safe, does not depend
 * on the locale, and says what the code means *here*.
 */
#include <config.h>

#include <errno.h>

#include "evprof.h"

const char *evprof_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case EVPROF_SINK_TRUNCATED:
        return "trace cut off: read up to its last complete section";
    case -EINVAL:
        return "invalid argument";
    case -ENOMEM:
        return "out of memory";
    case -ENOBUFS:
        return "buffer full: event dropped";
    case -ERANGE:
        return "index out of range";
    case -ENOSPC:
        return "no space left (output array too small, or device full)";
    case -ENODATA:
        return "truncated trace: no END section";
    case -EFBIG:
        return "file too large";
    case -EAGAIN:
        return "no resources for a thread";
    case -ENOENT:
        return "no such file or directory";
    case -EACCES:
        return "permission denied";
    case -EIO:
        return "input/output error";
    case -EBUSY:
        return "already in use";
    case -EBADMSG:
        return "malformed or truncated file";
    case -EPROTO:
        return "unsupported file version";
    case -EEXIST:
        return "already installed";
    case -EISDIR:
        return "is a directory";
    case -ENOTDIR:
        return "not a directory";
    case -EROFS:
        return "read-only file system";
    case -EPERM:
        return "operation not permitted";
    case -ESRCH:
        return "not running (never started, or already stopped)";
    case -ESTALE:
        return "stale reader: events were taken out since it was opened";
    case -EOPNOTSUPP:
        return "not supported";
    default:
        return "unknown error";
    }
}

const char *evprof_version(void)
{
    return EVPROF_VERSION_STRING;
}

/* evprof_strerror and evprof_version. */
#include <errno.h>
#include <string.h>

#include <evprof.h>

#include "tap.h"

static const int codes[] = { -EINVAL, -ENOMEM, -ENOBUFS, -ERANGE, -ENOSPC,
                             -ENOENT, -EACCES, -EIO, -EBUSY, -EBADMSG,
                             -EPROTO, -EEXIST, -ENODATA, -EFBIG };
#define N (sizeof(codes) / sizeof(codes[0]))

int main(void)
{
    size_t i, j;
    int distinct = 1;

    plan(N + 5);
    for (i = 0; i < N; i++)
        ok(strcmp(evprof_strerror(codes[i]), "unknown error") != 0,
           "%d has a message: %s", codes[i], evprof_strerror(codes[i]));
    for (i = 0; i < N; i++)
        for (j = i + 1; j < N; j++)
            if (strcmp(evprof_strerror(codes[i]),
                       evprof_strerror(codes[j])) == 0)
                distinct = 0;
    ok(distinct, "messages are distinct");
    is_string("success", evprof_strerror(0), "0 is success");
    is_string("unknown error", evprof_strerror(-123456), "unknown code");
    is_string("unknown error", evprof_strerror(42), "positive code");
    is_string(EVPROF_VERSION_STRING, evprof_version(), "version %s",
              evprof_version());
    return 0;
}

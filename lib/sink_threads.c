/*
 * sink_threads.c: the name of each thread's track, one a THREADS entry,
 * as the Python package names the threads of a DataFrame
 * (python/evprof/tracefile.py, _thread_names_by_key).
 *
 * A name is written into META by ident ("thread_name.IDENT"), and CPython
 * gives the ident of a thread that ended to the next one: the threads of
 * one ident are told apart by the order of the names.  A stream writes a
 * thread's name as it starts, and EventProfiler.save one META section a
 * round of reused idents, so when an ident has as many distinct
 * successive names as THREADS entries, the k-th entry of that ident gets
 * the k-th name.  Otherwise only the last entry is named (by the last
 * value, what evprof_trace_reader_meta gives), and the others are
 * unnamed: their name is not known, and the last one's would be wrong.
 * An unnamed track is "thread KEY", KEY being the value of the
 * DataFrame's thread column (python/evprof/_names.py, thread_keys): the
 * ident, or for a thread whose ident an earlier one had, its native id
 * (or a negative number when that is unknown or taken too).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "grow-private.h"
#include "sink-private.h"

/* The threads of one ident and the names given to it, in file order. */
typedef struct ident_group {
    const char **given;  /* distinct successive values */
    size_t ngiven, capgiven;
    const char *last;    /* the last value, or NULL */
    size_t count;        /* THREADS entries of this ident */
    size_t seen;         /* entries met so far (second pass) */
} ident_group;

/* The ident of a META key "thread_name.IDENT"; 0 when key is not one. */
static int name_key(const char *key, uint64_t *ident)
{
    static const char prefix[] = "thread_name.";
    const char *s;
    uint64_t v = 0;

    if (strncmp(key, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    s = key + sizeof(prefix) - 1;
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *ident = v;
    return 1;
}

/* The DataFrame's thread key of each entry (thread_keys); 0 or -ENOMEM. */
static int thread_keys(const evprof_trace_reader *r, size_t n, int64_t *key)
{
    evprof__imap seen = { NULL, 0, 0 };
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        int64_t k = (int64_t)evprof__thread_ident(r, i);

        if (evprof__imap_get(&seen, k) >= 0) {
            int64_t native = evprof__thread_native(r, i);

            k = native != 0 && evprof__imap_get(&seen, native) < 0
                ? native : -1 - (int64_t)i;
            while (evprof__imap_get(&seen, k) >= 0)
                k--;
        }
        key[i] = k;
        rc = evprof__imap_put(&seen, k, 1);
    }
    evprof__imap_free(&seen);
    return rc;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    return d != NULL ? memcpy(d, s, n) : NULL;
}

int evprof__thread_labels(const evprof_trace_reader *r, char ***out)
{
    size_t n = evprof__nslots(r), nthreads =
        evprof_trace_reader_thread_count(r), i, ngroup = 0;
    size_t nmeta = evprof_trace_reader_meta_count(r);
    evprof__imap by_ident = { NULL, 0, 0 };
    ident_group *group = calloc(n, sizeof(*group));
    int64_t *key = calloc(n, sizeof(*key));
    uint32_t *of = calloc(n, sizeof(*of));
    char **label = calloc(n, sizeof(*label));
    int rc = -ENOMEM;

    *out = NULL;
    if (group == NULL || key == NULL || of == NULL || label == NULL)
        goto done;
    if ((rc = thread_keys(r, n, key)) < 0)
        goto done;
    for (i = 0; i < n; i++) {
        int64_t ident = (int64_t)evprof__thread_ident(r, i);
        int64_t g = evprof__imap_get(&by_ident, ident);

        if (g < 0) {
            g = (int64_t)ngroup++;
            if ((rc = evprof__imap_put(&by_ident, ident, (uint32_t)g)) < 0)
                goto done;
        }
        of[i] = (uint32_t)g;
        group[g].count++;
    }
    for (i = 0; i < nmeta; i++) {
        const char *k, *v;
        uint64_t ident;
        int64_t g;
        ident_group *x;

        if (evprof_trace_reader_meta_pair(r, i, &k, &v) < 0
            || !name_key(k, &ident)
            || (g = evprof__imap_get(&by_ident, (int64_t)ident)) < 0)
            continue;
        x = &group[g];
        x->last = v;
        if (x->ngiven > 0 && strcmp(x->given[x->ngiven - 1], v) == 0)
            continue;
        if (x->ngiven > x->count)
            continue; /* too many to be one a thread already */
        if ((rc = evprof__grow(&x->given, &x->capgiven, x->ngiven + 1,
                               sizeof(*x->given), 4)) < 0)
            goto done;
        x->given[x->ngiven++] = v;
    }
    for (i = 0; i < n; i++) {
        ident_group *x = &group[of[i]];
        size_t k = x->seen++;
        const char *name = NULL;
        char buf[40];

        if (x->ngiven == x->count)
            name = x->given[k];
        else if (k + 1 == x->count)
            name = x->last;
        if (name == NULL) {
            if (nthreads > 1 || key[i] != 0)
                snprintf(buf, sizeof(buf), "thread %" PRId64, key[i]);
            else
                snprintf(buf, sizeof(buf), "main");
            name = buf;
        }
        if ((label[i] = dup_str(name)) == NULL) {
            rc = -ENOMEM;
            goto done;
        }
    }
    *out = label;
    label = NULL;
    rc = 0;
done:
    for (i = 0; i < ngroup; i++)
        free(group[i].given);
    free(group);
    free(key);
    free(of);
    evprof__thread_labels_free(label, n);
    evprof__imap_free(&by_ident);
    return rc;
}

void evprof__thread_labels_free(char **label, size_t n)
{
    size_t i;

    for (i = 0; label != NULL && i < n; i++)
        free(label[i]);
    free(label);
}

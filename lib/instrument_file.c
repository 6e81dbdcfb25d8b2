/*
 * instrument_file.c: where the trace of evprof-instrument goes.
 *
 * The trace is written at the end of a recording (at exit, on SIGTERM...),
 * so creating the file at the start would empty a trace already there for
 * a run that may never write its own (killed, crashed).  Instead the start
 * only checks that the directory takes a new file (and that the path is
 * not a directory), and the end writes "<path>.tmp.<pid>" then renames it
 * over the path: a reader sees the old trace or the new one, never a part.
 *
 * A path that is not a regular file (/dev/null, a FIFO), a symbolic link
 * (renaming would replace the link, not its target) or a file the program
 * may write but not replace (its directory is not writable) is written in
 * place, at the end, as before.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instrument-private.h"

char *evprof__instrument_expand(const char *pat)
{
    size_t n = strlen(pat) + 1, i;
    const char *s;
    char pid[32], cwd[PATH_MAX], *out, *o;

    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    cwd[0] = '\0';
    /* Absolute: the program may change directory before the end. */
    if (pat[0] != '/' && getcwd(cwd, sizeof(cwd) - 1) != NULL)
        strcat(cwd, "/");
    else
        cwd[0] = '\0';
    n += strlen(cwd);
    for (s = pat; *s; s++)
        if (s[0] == '%' && s[1] == 'p')
            n += strlen(pid);
    out = malloc(n);
    if (out == NULL)
        return NULL;
    strcpy(out, cwd);
    for (s = pat, o = out + strlen(cwd); *s; s++) {
        if (s[0] == '%' && s[1] == 'p') {
            for (i = 0; pid[i]; i++)
                *o++ = pid[i];
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            *o++ = '%';
            s++;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

static int neg_errno(void)
{
    return errno ? -errno : -EIO;
}

/* Creates `file`, which must not exist (a link planted there is not
 * followed); 0 or a negative code. */
static int create_new(const char *file)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0666);

    if (fd < 0)
        return neg_errno();
    close(fd);
    return 0;
}

/* The file can be written in place: opened for writing, not truncated. */
static int writable(const char *file)
{
    int fd = open(file, O_WRONLY | O_CLOEXEC);

    if (fd < 0)
        return neg_errno();
    close(fd);
    return 0;
}

int evprof__output_prepare(char *path, evprof__output *o)
{
    struct stat st, lst;
    char *tmp;
    size_t n;
    int rc, exists;

    exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        free(path);
        return -EISDIR;
    }
    if (exists && (!S_ISREG(st.st_mode)
                   || (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)))) {
        rc = writable(path);
        if (rc < 0) {
            free(path);
            return rc;
        }
        o->path = path;
        o->tmp = NULL;
        return 0;
    }
    n = strlen(path) + 32;
    tmp = malloc(n);
    if (tmp == NULL) {
        free(path);
        return -ENOMEM;
    }
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    /* A left-over of a killed process that had our pid is ours to drop. */
    unlink(tmp);
    rc = create_new(tmp);
    if (rc == 0) {
        unlink(tmp);
    } else if (exists && (rc == -EACCES || rc == -EPERM || rc == -EROFS)
               && writable(path) == 0) {
        free(tmp);
        tmp = NULL;
        rc = 0;
    }
    if (rc < 0) {
        free(tmp);
        free(path);
        return rc;
    }
    o->path = path;
    o->tmp = tmp;
    return 0;
}

int evprof__output_begin(const evprof__output *o, const char **file)
{
    *file = o->tmp != NULL ? o->tmp : o->path;
    if (o->tmp == NULL)
        return 0;
    unlink(o->tmp);
    return create_new(o->tmp);
}

int evprof__output_end(const evprof__output *o, int rc)
{
    if (o->tmp == NULL)
        return rc;
    if (rc == 0 && rename(o->tmp, o->path) != 0)
        rc = neg_errno();
    if (rc != 0)
        unlink(o->tmp);
    return rc;
}

void evprof__output_free(evprof__output *o)
{
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
}

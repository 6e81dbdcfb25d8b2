/*
 * sink.c: the driver of the sinks.  It opens the trace reader, reads the
 * events a block at a time and hands each block to the sink, then lets it
 * finish.  A sink that must know the names, the time range and the frames
 * open at the start before it writes anything (the Chrome and Perfetto
 * outputs name every slice as it goes, the names come after the events in
 * the file) asks for a first pass: the driver reads the file once for
 * that, and again for the events.  Either way, what is held is one block
 * of events, the tables and what the sink keeps.
 *
 * A new sink is a file defining an evprof__sink_ops and one line below.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sink-private.h"
#include "sink-read-private.h"

static const evprof__sink_ops *const sinks[] = {
    &evprof__sink_summary,
    &evprof__sink_summary_tsv,
    &evprof__sink_chrome,
    &evprof__sink_perfetto,
};

#define NSINKS (sizeof(sinks) / sizeof(sinks[0]))
/* Events a block by default: the decoding thread writes a block and the
 * sink's reads it, and blocks this small (200 KiB) are still in a cache
 * when the other core reads them; blocks of 3 MiB cost a tenth more. */
#define DEFAULT_BLOCK 4096
/* A block of events is at most this many (3 MiB of events). */
#define MAX_BLOCK (1 << 16)

void evprof_sink_options_init(evprof_sink_options *opt)
{
    if (opt == NULL)
        return;
    memset(opt, 0, sizeof(*opt));
    opt->sort = EVPROF_SORT_INCLUSIVE;
    opt->limit = 30;
    opt->block = DEFAULT_BLOCK;
}

int evprof_sink_sort_key(const char *name)
{
    static const char *const keys[] = { "inclusive", "exclusive", "calls",
                                        "bytes", "net", "name" };
    size_t i;

    for (i = 0; name != NULL && i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(name, keys[i]) == 0)
            return (int)i;
    return -EINVAL;
}

const char *evprof_sink_name(size_t index)
{
    return index < NSINKS ? sinks[index]->name : NULL;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

static int reader_fail(evprof_trace_reader *r, int rc, char *err,
                       size_t errlen)
{
    const char *msg = r ? evprof_trace_reader_error(r) : "";

    set_err(err, errlen, msg && msg[0] ? msg : evprof_strerror(rc));
    return rc;
}

/* ---- progress ------------------------------------------------------------ */

typedef struct progress {
    const evprof_sink_options *opt;
    uint64_t size, total, base;   /* file bytes, of all passes, done */
} progress;

static int progress_call(const progress *p, uint64_t done)
{
    if (p->opt->progress == NULL)
        return 0;
    if (done > p->total)
        done = p->total;
    return p->opt->progress(p->opt->progress_ctx, done, p->total) != 0
           ? -ECANCELED : 0;
}

static int tick(void *ctx, uint64_t offset)
{
    const progress *pg = ctx;

    return progress_call(pg, pg->base + offset);
}

/* A trace cut off, read partially: its sections before the cut are the
 * trace, and the reader's message, which says where, is kept. */
static int cut_accepted(const evprof_trace_reader *r, int rc, int partial)
{
    return partial && rc == -ENODATA && r->cut;
}

/* The events of r, a block at a time, to the sink; with partial, a cut
 * ends them as END would (EVPROF_SINK_TRUNCATED). */
static int read_all(evprof_trace_reader *r, size_t block, progress *pg,
                    int (*fn)(void *, const evprof_event *, const uint32_t *,
                              size_t),
                    void *state, int partial, char *err, size_t errlen)
{
    evprof__sink_reading s;
    int rc, cut = 0;

    memset(&s, 0, sizeof(s));
    s.r = r;
    s.block = block;
    s.events = fn;
    s.state = state;
    s.tick = tick;
    s.tick_ctx = pg;
    if ((rc = evprof__sink_read(&s)) < 0) {
        if (s.reader_error && cut_accepted(r, rc, partial)) {
            reader_fail(r, rc, err, errlen);
            cut = 1;
        } else if (s.reader_error)
            return reader_fail(r, rc, err, errlen);
        else {
            if (rc == -ECANCELED)
                set_err(err, errlen, "stopped by its progress callback");
            return rc;
        }
    }
    /* The tables after the last events were read too: the pass is done. */
    pg->base += pg->size;
    if ((rc = progress_call(pg, pg->base)) < 0) {
        set_err(err, errlen, "stopped by its progress callback");
        return rc;
    }
    return cut ? EVPROF_SINK_TRUNCATED : 0;
}

/* Asks the reader for the sizes of freed blocks (value2 of free and
 * realloc_free events holding 0 becomes minus the size freed), which the
 * summary's net bytes and the counters of bytes in use need: a streamed
 * trace holds 0 there. */
static void want_freed_sizes(evprof_trace_reader *r)
{
    (void)evprof_trace_reader_set_flags(r, EVPROF_READ_FREED_SIZES);
}

/* ---- the run ---------------------------------------------------------- */

static const evprof__sink_ops *find_sink(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < NSINKS; i++)
        if (strcmp(sinks[i]->name, name) == 0)
            return sinks[i];
    return NULL;
}

static int open_reader(const char *path, evprof_trace_reader **r, char *err,
                       size_t errlen)
{
    int rc = evprof_trace_reader_open(path, r);

    if (rc < 0) {
        reader_fail(*r, rc, err, errlen);
        evprof_trace_reader_close(*r);
        *r = NULL;
    } else
        want_freed_sizes(*r);
    return rc;
}

static uint64_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size
                                                  : 0;
}

int evprof_sink_run(const char *trace_path, const char *sink, FILE *out,
                    const evprof_sink_options *opt, char *err, size_t errlen)
{
    const evprof__sink_ops *ops = find_sink(sink);
    evprof_sink_options defaults;
    evprof__sink_ctx ctx;
    evprof_trace_reader *r = NULL, *r2 = NULL, *ev = NULL;
    void *state = NULL;
    progress pg;
    size_t block;
    int rc, crc;

    set_err(err, errlen, "");
    if (trace_path == NULL || out == NULL) {
        set_err(err, errlen, evprof_strerror(-EINVAL));
        return -EINVAL;
    }
    if (ops == NULL) {
        set_err(err, errlen, "no such sink");
        return -ENOENT;
    }
    if (opt == NULL) {
        evprof_sink_options_init(&defaults);
        opt = &defaults;
    }
    block = opt->block == 0 ? DEFAULT_BLOCK
            : opt->block > MAX_BLOCK ? MAX_BLOCK : opt->block;
    memset(&ctx, 0, sizeof(ctx));
    if ((rc = open_reader(trace_path, &r, err, errlen)) < 0)
        goto done;
    pg.opt = opt;
    pg.size = file_size(trace_path);
    pg.total = pg.size * (ops->flags & EVPROF__SINK_TABLES ? 2 : 1);
    pg.base = 0;
    if ((rc = progress_call(&pg, 0)) < 0) {
        set_err(err, errlen, "stopped by its progress callback");
        goto done;
    }
    /* A first pass: r reads the tables, passing over the events (its
     * tables stay valid for the sink), a reader of its own then reads and
     * checks the events. */
    if (ops->flags & EVPROF__SINK_TABLES) {
        /* A cut file: the tables of its complete sections.  Where it was
         * cut is the events reader's to say (a last events section
         * failing its checksum is only checked there). */
        if ((rc = evprof__trace_reader_skim(r)) < 0
            && !cut_accepted(r, rc, opt->partial)) {
            reader_fail(r, rc, err, errlen);
            goto done;
        }
        pg.base += pg.size;
        if ((rc = progress_call(&pg, pg.base)) < 0) {
            set_err(err, errlen, "stopped by its progress callback");
            goto done;
        }
    }
    ctx.r = r;
    ctx.out = out;
    ctx.opt = opt;
    ctx.pid = opt->pid ? opt->pid : evprof_trace_reader_info(r)->pid;
    ctx.process_name = opt->process_name;
    if (ctx.process_name == NULL)
        ctx.process_name = evprof_trace_reader_meta(r, "program");
    if (ctx.process_name == NULL)
        ctx.process_name = "evprof";
    if ((ops->flags & EVPROF__SINK_TABLES)
        && (rc = open_reader(trace_path, &r2, err, errlen)) < 0)
        goto done;
    ev = r2 != NULL ? r2 : r;
    if ((rc = ops->begin(&state, &ctx)) == 0)
        rc = read_all(ev, block, &pg, ops->events, state, opt->partial,
                      err, errlen);
    if (rc >= 0 && (crc = ops->end(state, &ctx)) < 0)
        rc = crc;
    if (rc >= 0 && (fflush(out) != 0 || ferror(out)))
        rc = -EIO;
    if (rc >= 0 && opt->stats != NULL) {
        /* The events as the events reader counted them: at a cut, those
         * of the complete sections. */
        opt->stats->events = evprof_trace_reader_events(ev);
        opt->stats->lost = evprof_trace_reader_lost(r);
        opt->stats->threads = evprof_trace_reader_thread_count(r);
        opt->stats->clock = evprof_trace_reader_info(r)->clock;
        opt->stats->pid = evprof_trace_reader_info(r)->pid;
        opt->stats->truncated = rc == EVPROF_SINK_TRUNCATED;
        opt->stats->cut_offset = opt->stats->truncated ? ev->cut_at : 0;
        opt->stats->cut_bytes = opt->stats->truncated ? ev->cut_bytes : 0;
    }
done:
    if (rc < 0 && err != NULL && errlen > 0 && err[0] == '\0')
        set_err(err, errlen, evprof_strerror(rc));
    if (state != NULL)
        ops->free(state);
    evprof_trace_reader_close(r2);
    evprof_trace_reader_close(r);
    return rc;
}

/*
 * The output file, opened for writing without truncating it: an existing
 * regular file is written over in place and cut to the output's length
 * at the end (out_close).  Truncating it first would throw away its pages
 * to allocate them again, and wait for the disk to finish writing them
 * if they were being written back (a file converted again soon after).
 */
static FILE *out_open(const char *path, int *regular)
{
    struct stat st;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    FILE *f;

    if (fd < 0)
        return NULL;
    *regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if ((f = fdopen(fd, "wb")) == NULL) {
        int e = errno;

        close(fd);
        errno = e;
    }
    return f;
}

/* Are a and b the same file (an output written over its trace)? */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev
           && sa.st_ino == sb.st_ino;
}

/* Cuts a regular file to what was written (also after a failure: no
 * part of the old file stays), and closes it. */
static int out_close(FILE *f, int regular)
{
    int rc = 0;
    off_t end;

    errno = 0;
    if (fflush(f) != 0)
        rc = errno ? -errno : -EIO;
    if (regular && (end = ftello(f)) >= 0 && ftruncate(fileno(f), end) != 0
        && rc == 0)
        rc = errno ? -errno : -EIO;
    errno = 0;
    if (fclose(f) != 0 && rc == 0)
        rc = errno ? -errno : -EIO;
    return rc;
}

int evprof_sink_run_path(const char *trace_path, const char *sink,
                         const char *out_path, const evprof_sink_options *opt,
                         char *err, size_t errlen)
{
    FILE *f;
    int rc, regular = 0, crc;

    if (out_path == NULL) {
        set_err(err, errlen, evprof_strerror(-EINVAL));
        return -EINVAL;
    }
    if (find_sink(sink) == NULL) {
        set_err(err, errlen, "no such sink");
        return -ENOENT;
    }
    if (trace_path != NULL && same_file(trace_path, out_path)) {
        set_err(err, errlen, "the output is the trace file itself");
        return -EINVAL;
    }
    if ((f = out_open(out_path, &regular)) == NULL) {
        rc = -errno;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: %s", out_path, evprof_strerror(rc));
        return rc;
    }
    rc = evprof_sink_run(trace_path, sink, f, opt, err, errlen);
    if ((crc = out_close(f, regular)) < 0 && rc >= 0) {
        rc = crc;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: %s", out_path, evprof_strerror(rc));
    }
    return rc;
}

/*
 * alloc.c: the event buffer and the allocator hook in a C program.
 *
 * The program has its own allocator table (an evprof_allocator, the shape
 * of CPython's PyMemAllocatorEx); the hook wraps it, so every malloc,
 * calloc, realloc and free made through the table is logged with the
 * "phase" the program is in (evprof_context_set), then written to a trace
 * file.  Build it as a user would:
 *
 *   cc $(pkg-config --cflags evprof) alloc.c -o alloc $(pkg-config --libs evprof)
 *   ./alloc alloc.evt && ./check_trace alloc alloc.evt
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evprof.h>

static void *sys_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void *sys_calloc(void *ctx, size_t a, size_t b)
{
    (void)ctx;
    return calloc(a, b);
}
static void *sys_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return realloc(p, n);
}
static void sys_free(void *ctx, void *p) { (void)ctx; free(p); }

/* The program's allocator table: everything below allocates through it. */
static evprof_allocator mem = { NULL, sys_malloc, sys_calloc, sys_realloc,
                                sys_free };

struct node {
    struct node *next;
    char *text;
};

static struct node *push(struct node *list, const char *text)
{
    struct node *n = mem.malloc(mem.ctx, sizeof(*n));
    size_t len = strlen(text) + 1;

    n->text = mem.malloc(mem.ctx, len);
    memcpy(n->text, text, len);
    n->next = list;
    return n;
}

static void drop(struct node *list)
{
    while (list != NULL) {
        struct node *next = list->next;

        mem.free(mem.ctx, list->text);
        mem.free(mem.ctx, list);
        list = next;
    }
}

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "alloc.evt";
    const evprof_trace_name phases[] = {
        { 1, EVPROF_NAME_OTHER, 0, "list", "alloc.c", "alloc.c" },
        { 2, EVPROF_NAME_OTHER, 0, "array", "alloc.c", "alloc.c" } };
    evprof_trace_writer *w;
    evprof_alloc_hook *hook;
    evprof_buffer *b;
    struct node *list = NULL;
    int *v, i, rc;
    int64_t n;

    b = evprof_buffer_new(4096, EVPROF_GROW);
    if (b == NULL) {
        perror("evprof_buffer_new");
        return 1;
    }
    hook = evprof_alloc_hook_new(&mem, b, 0);
    if (hook == NULL || evprof_alloc_hook_install(hook, &mem) != 0) {
        perror("evprof_alloc_hook_new");
        return 1;
    }

    evprof_context_set(1); /* phase "list" */
    for (i = 0; i < 10; i++)
        list = push(list, i % 2 ? "odd" : "an even number");
    drop(list);

    evprof_context_set(2); /* phase "array" */
    v = mem.calloc(mem.ctx, 16, sizeof(*v));
    for (i = 1; i <= 4; i++)
        v = mem.realloc(mem.ctx, v, (size_t)i * 1024 * sizeof(*v));
    mem.free(mem.ctx, v);
    evprof_context_set(0);

    rc = evprof_alloc_hook_remove(hook);
    if (rc != 0)
        fprintf(stderr, "remove: %s\n", evprof_strerror(rc));
    evprof_alloc_hook_free(hook);

    /* Events, threads, and names for the context keys. */
    rc = evprof_trace_writer_open(out, &w);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", out, evprof_strerror(rc));
        return 1;
    }
    evprof_trace_write_meta(w, "source", "examples/alloc");
    n = evprof_trace_write_buffer(w, b);
    evprof_trace_write_names(w, phases, 2);
    rc = evprof_trace_writer_close(w);
    if (n < 0 || rc != 0) {
        fprintf(stderr, "%s: %s\n", out, evprof_strerror(n < 0 ? (int)n : rc));
        return 1;
    }
    printf("%lld events written to %s\n", (long long)n, out);
    evprof_buffer_free(b);
    return 0;
}

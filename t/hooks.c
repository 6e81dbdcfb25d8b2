/*
 * The hooks: the allocator hook (logging, forwarding, errors, the
 * reentrancy guard: a family whose inner calls another hooked family, and
 * one that calls itself) and the manual function hooks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <evprof.h>

#include "tap.h"

static int calls;

static void *c_malloc(void *ctx, size_t n)
{
    (void)ctx;
    calls++;
    return malloc(n);
}

static void *c_calloc(void *ctx, size_t a, size_t b)
{
    (void)ctx;
    calls++;
    return calloc(a, b);
}

static void *c_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    calls++;
    return realloc(p, n);
}

static void c_free(void *ctx, void *p)
{
    (void)ctx;
    calls++;
    free(p);
}

/* A family whose malloc allocates through another (hooked) family, as
 * PyMem's object domain falls through to the raw domain. */
static evprof_allocator outer_target;

static void *o_malloc(void *ctx, size_t n)
{
    void *tmp = outer_target.malloc(outer_target.ctx, 8);

    outer_target.free(outer_target.ctx, tmp);
    return c_malloc(ctx, n);
}

int main(void)
{
    evprof_allocator libc = { NULL, c_malloc, c_calloc, c_realloc, c_free };
    evprof_allocator nomalloc = libc, wrapped, wrapped2, outer;
    evprof_alloc_hook *h, *h2;
    evprof_buffer *b;
    evprof_event ev[16];
    void *p, *q;
    size_t n;

    plan(58);
    b = evprof_buffer_new(64, EVPROF_GROW);
    if (b == NULL)
        bail("buffer");

    /* Errors. */
    errno = 0;
    ok(evprof_alloc_hook_new(NULL, b, 0) == NULL && errno == EINVAL,
       "NULL family: NULL, EINVAL");
    nomalloc.malloc = NULL;
    errno = 0;
    ok(evprof_alloc_hook_new(&nomalloc, b, 0) == NULL && errno == EINVAL,
       "a family without malloc: NULL, EINVAL");
    errno = 0;
    ok(evprof_alloc_hook_new(&libc, NULL, 0) == NULL && errno == EINVAL,
       "NULL buffer: NULL, EINVAL");
    is_int(-EINVAL, evprof_alloc_hook_allocator(NULL, &wrapped),
           "allocator of NULL");
    is_int(-EINVAL, evprof_alloc_hook_enable(NULL, 1), "enable NULL");
    ok(evprof_alloc_hook_inner(NULL) == NULL, "inner of NULL");
    evprof_alloc_hook_free(NULL);

    h = evprof_alloc_hook_new(&libc, b, 7);
    if (h == NULL)
        bail("hook");
    is_int(0, evprof_alloc_hook_allocator(h, &wrapped), "wrapped family");
    ok(wrapped.ctx == h, "its ctx is the hook");
    ok(evprof_alloc_hook_inner(h)->malloc == c_malloc, "inner kept");

    /* Off by default: forwards, logs nothing. */
    calls = 0;
    p = wrapped.malloc(wrapped.ctx, 10);
    wrapped.free(wrapped.ctx, p);
    is_int(2, calls, "forwarded while off");
    is_int(0, evprof_buffer_count(b), "nothing logged while off");

    is_int(0, evprof_alloc_hook_enable(h, 1), "enable: was off");
    evprof_context_set(42);
    p = wrapped.malloc(wrapped.ctx, 10);
    q = wrapped.calloc(wrapped.ctx, 3, 4);
    p = wrapped.realloc(wrapped.ctx, p, 100000);
    wrapped.free(wrapped.ctx, p);
    wrapped.free(wrapped.ctx, q);
    wrapped.free(wrapped.ctx, NULL);
    evprof_context_set(0);
    n = evprof_buffer_dump(b, ev, 16);
    is_int(6, n, "malloc, calloc, realloc_free + realloc, free x2");
    is_int(EVPROF_MALLOC, ev[0].event, "malloc");
    is_int(10, ev[0].value2, "malloc size");
    is_int(42, ev[0].id_frame, "context in id_frame");
    is_int(7, ev[0].id_arg, "tag in id_arg");
    is_int(EVPROF_CALLOC, ev[1].event, "calloc");
    is_int(12, ev[1].value2, "calloc size nelem * elsize");
    is_int(EVPROF_REALLOC_FREE, ev[2].event, "realloc_free first");
    is_int(ev[0].value1, ev[2].value1, "realloc_free of the old block");
    is_int(EVPROF_REALLOC, ev[3].event, "then realloc");
    is_int(100000, ev[3].value2, "with the new size");
    ok(ev[4].event == EVPROF_FREE && ev[4].value1 == ev[3].value1,
       "free of the new block");
    ok(ev[5].event == EVPROF_FREE && ev[5].value1 == ev[1].value1,
       "free of the calloc block; free(NULL) not logged");
    is_int(0, evprof_hook_active(), "not inside a hook now");

    /* One wrapped family calling another: only the outer call logs. */
    h2 = evprof_alloc_hook_new(&libc, b, 8);
    if (h2 == NULL || evprof_alloc_hook_allocator(h2, &wrapped2) != 0)
        bail("hook 2");
    evprof_alloc_hook_enable(h2, 1);
    outer_target = wrapped2;
    outer = libc;
    outer.malloc = o_malloc;
    evprof_alloc_hook_free(h);
    h = evprof_alloc_hook_new(&outer, b, 9);
    if (h == NULL || evprof_alloc_hook_allocator(h, &wrapped) != 0)
        bail("hook 3");
    evprof_alloc_hook_enable(h, 1);
    calls = 0;
    p = wrapped.malloc(wrapped.ctx, 24);
    is_int(3, calls, "the nested family was called (malloc, free, malloc)");
    n = evprof_buffer_dump(b, ev, 16);
    is_int(1, n, "one event: the nested calls forwarded without logging");
    ok(n == 1 && ev[0].id_arg == 9 && ev[0].value2 == 24,
       "it is the outer malloc");
    wrapped.free(wrapped.ctx, p);
    n = evprof_buffer_dump(b, ev, 16);
    is_int(1, n, "its free logged");
    is_int(1, evprof_alloc_hook_enable(h, 0), "disable: was on");
    is_int(0, evprof_alloc_hook_enable(h, 0), "disable twice: was off");
    /* Kept and reused with another buffer. */
    {
        evprof_buffer *b2 = evprof_buffer_new(16, EVPROF_GROW);

        if (b2 == NULL)
            bail("buffer 2");
        is_int(-EINVAL, evprof_alloc_hook_set_buffer(NULL, b2),
               "set_buffer of NULL");
        is_int(-EINVAL, evprof_alloc_hook_set_buffer(h, NULL),
               "set_buffer NULL");
        evprof_alloc_hook_enable(h2, 0);
        is_int(0, evprof_alloc_hook_set_buffer(h2, b2), "set_buffer (off)");
        evprof_alloc_hook_enable(h2, 1);
        is_int(-EBUSY, evprof_alloc_hook_set_buffer(h2, b),
               "set_buffer while on: -EBUSY");
        wrapped2.free(wrapped2.ctx, wrapped2.malloc(wrapped2.ctx, 40));
        ok(evprof_buffer_count(b2) == 2 && evprof_buffer_count(b) == 0,
           "logged into the new buffer");
        evprof_alloc_hook_enable(h2, 0);
        evprof_buffer_free(b2);
    }
    evprof_alloc_hook_free(h);
    evprof_alloc_hook_free(h2);

    /* Install into a slot, remove, remove twice. */
    {
        evprof_allocator slot = libc;

        h = evprof_alloc_hook_new(&slot, b, 1);
        if (h == NULL)
            bail("hook 4");
        is_int(-EINVAL, evprof_alloc_hook_install(h, NULL), "install NULL");
        is_int(-ESRCH, evprof_alloc_hook_remove(h),
               "remove before install: -ESRCH");
        is_int(0, evprof_alloc_hook_install(h, &slot), "install");
        ok(slot.ctx == h && slot.malloc != c_malloc, "the slot is wrapped");
        is_int(-EEXIST, evprof_alloc_hook_install(h, &slot),
               "install twice: -EEXIST");
        p = slot.malloc(slot.ctx, 3);
        slot.free(slot.ctx, p);
        is_int(2, evprof_buffer_dump(b, ev, 16), "installed: logging on");
        is_int(0, evprof_alloc_hook_remove(h), "remove");
        ok(slot.malloc == c_malloc && slot.ctx == NULL, "the slot restored");
        is_int(-ESRCH, evprof_alloc_hook_remove(h), "remove twice: -ESRCH");
        is_int(-EINVAL, evprof_alloc_hook_remove(NULL), "remove NULL");
        ok(strcmp(evprof_strerror(-ESRCH), "unknown error") != 0,
           "-ESRCH has a message: %s", evprof_strerror(-ESRCH));
        evprof_alloc_hook_free(h);
    }

    /* Function hooks. */
    is_int(-EINVAL, evprof_hook_enter(NULL, (void *)main, NULL),
           "enter into NULL: -EINVAL");
    evprof_context_set(5);
    is_int(0, evprof_hook_enter(b, (void *)main, (void *)&calls), "enter");
    is_int(0, evprof_hook_exit(b, (void *)main, (void *)&calls), "exit");
    evprof_context_set(0);
    n = evprof_buffer_dump(b, ev, 16);
    is_int(2, n, "two events");
    ok(ev[0].event == EVPROF_CALL && ev[1].event == EVPROF_RETURN,
       "call then return");
    ok(ev[0].id_frame == (int64_t)(intptr_t)(void *)main
       && ev[0].id_arg == (int64_t)(intptr_t)&calls,
       "function and call site");
    is_int(5, ev[0].value1, "context in value1");
    /* Inside another hook, function hooks forward silently. */
    evprof__in_hook = 1;
    ok(evprof_hook_active(), "a hook is active");
    is_int(0, evprof_hook_enter(b, (void *)main, NULL), "enter inside a hook");
    evprof__in_hook = 0;
    is_int(0, evprof_buffer_count(b), "not logged");

    evprof_buffer_free(b);
    return 0;
}

/*
 * instr-host.c: a program that is not instrumented, run by t/instrument:
 * loads the shared object argv[1] and calls its plugin_work; with "close",
 * unloads it, then sends itself SIGTERM (which must kill it plainly, the
 * unloaded copy's handler gone).
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    void *h;
    int (*work)(int);

    if (argc < 2)
        return 2;
    h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return 3;
    }
    work = (int (*)(int))(uintptr_t)dlsym(h, "plugin_work");
    if (work == NULL || work(8) != 21)
        return 4;
    if (argc > 2 && strcmp(argv[2], "close") == 0) {
        if (dlclose(h) != 0)
            return 5;
        raise(SIGTERM);
        return 6;
    }
    return 0;
}

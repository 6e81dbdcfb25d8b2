// The public header from C++ (-std=c++11 -Wall -Wextra -Werror).
#include <cstdio>

#include <evprof.h>

int main()
{
    evprof_buffer *b = evprof_buffer_new(4, EVPROF_GROW);
    evprof_event e;
    int n = 0;

    std::printf("1..3\n");
    std::printf("%sok 1 - a buffer from C++\n", b ? "" : "not ");
    n = evprof_log(b, 1, 2, EVPROF_CALL, 3, 4);
    std::printf("%sok 2 - logged\n", n == 0 ? "" : "not ");
    n = (int)evprof_buffer_dump(b, &e, 1);
    std::printf("%sok 3 - dumped\n", n == 1 && e.value2 == 4 ? "" : "not ");
    evprof_buffer_free(b);
    return 0;
}

/*
 * json-check.c: see json-check.h.  Recursive descent, depth bounded.
 */
#include <string.h>

#include "json-check.h"

#define MAX_DEPTH 64

typedef struct cursor {
    const char *s;
    size_t n, i;
} cursor;

static void space(cursor *c)
{
    while (c->i < c->n && strchr(" \t\n\r", c->s[c->i]) != NULL
           && c->s[c->i] != '\0')
        c->i++;
}

static int eat(cursor *c, char ch)
{
    if (c->i < c->n && c->s[c->i] == ch) {
        c->i++;
        return 1;
    }
    return 0;
}

static int digits(cursor *c)
{
    size_t start = c->i;

    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9')
        c->i++;
    return c->i > start;
}

static int number(cursor *c)
{
    eat(c, '-');
    if (!eat(c, '0') && !digits(c))
        return 0;
    if (eat(c, '.') && !digits(c))
        return 0;
    if (eat(c, 'e') || eat(c, 'E')) {
        if (!eat(c, '+'))
            eat(c, '-');
        if (!digits(c))
            return 0;
    }
    return 1;
}

static int hex4(cursor *c)
{
    int k;

    for (k = 0; k < 4; k++, c->i++)
        if (c->i >= c->n || strchr("0123456789abcdefABCDEF", c->s[c->i])
                                == NULL || c->s[c->i] == '\0')
            return 0;
    return 1;
}

static int string(cursor *c)
{
    if (!eat(c, '"'))
        return 0;
    while (c->i < c->n) {
        unsigned char ch = (unsigned char)c->s[c->i++];

        if (ch == '"')
            return 1;
        if (ch < 0x20)
            return 0;
        if (ch == '\\') {
            if (c->i >= c->n)
                return 0;
            ch = (unsigned char)c->s[c->i++];
            if (ch == 'u') {
                if (!hex4(c))
                    return 0;
            } else if (ch == '\0' || strchr("\"\\/bfnrt", ch) == NULL)
                return 0;
        }
    }
    return 0;
}

static int literal(cursor *c, const char *word)
{
    size_t k = strlen(word);

    if (c->n - c->i < k || memcmp(c->s + c->i, word, k) != 0)
        return 0;
    c->i += k;
    return 1;
}

static int value(cursor *c, int depth);

/* The members or elements of an object or array, after its opening. */
static int items(cursor *c, int depth, char close, int object)
{
    space(c);
    if (eat(c, close))
        return 1;
    for (;;) {
        space(c);
        if (object) {
            if (!string(c))
                return 0;
            space(c);
            if (!eat(c, ':'))
                return 0;
        }
        if (!value(c, depth + 1))
            return 0;
        space(c);
        if (eat(c, close))
            return 1;
        if (!eat(c, ','))
            return 0;
    }
}

static int value(cursor *c, int depth)
{
    if (depth > MAX_DEPTH)
        return 0;
    space(c);
    if (c->i >= c->n)
        return 0;
    switch (c->s[c->i]) {
    case '{':
        c->i++;
        return items(c, depth, '}', 1);
    case '[':
        c->i++;
        return items(c, depth, ']', 0);
    case '"':
        return string(c);
    case 't':
        return literal(c, "true");
    case 'f':
        return literal(c, "false");
    case 'n':
        return literal(c, "null");
    default:
        return number(c);
    }
}

int json_valid(const char *s, size_t n, size_t *where)
{
    cursor c = { s, n, 0 };
    int good = value(&c, 0);

    if (good) {
        space(&c);
        good = c.i == n;
    }
    if (!good && where != NULL)
        *where = c.i;
    return good;
}

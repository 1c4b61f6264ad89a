/* arena.c — bump allocator over a chain of blocks (see arena.h). */
#include "common/arena.h"

#include <stdlib.h>
#include <string.h>

struct arena_block {
    struct arena_block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

struct arena {
    struct arena_block *head; /* current block; older ones follow */
    size_t block_size, used;
};

static struct arena_block *block_new(size_t size)
{
    struct arena_block *b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

struct arena *arena_new(size_t block_size)
{
    struct arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->block_size = block_size ? block_size : 4096;
    return a;
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    for (struct arena_block *b = a->head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(a);
}

void arena_reset(struct arena *a)
{
    if (!a->head)
        return;
    struct arena_block *last = a->head;
    for (struct arena_block *b = a->head->next, *n; b; b = n) {
        n = b->next;
        free(last);
        last = b;
    }
    /* keep the oldest (first allocated, block_size) block */
    last->next = NULL;
    last->used = 0;
    a->head = last;
    a->used = 0;
}

void *arena_alloc(struct arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (!a->head || a->head->size - a->head->used < size) {
        size_t bs = size > a->block_size ? size : a->block_size;
        struct arena_block *b = block_new(bs);
        if (!b)
            return NULL;
        b->next = a->head;
        a->head = b;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += size;
    a->used += size;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

size_t arena_used(const struct arena *a) { return a->used; }

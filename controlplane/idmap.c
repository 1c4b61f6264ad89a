/* idmap.c — open-addressing hash map from id strings to pointers. */
#include "controlplane/idmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    char *key; /* NULL: empty; TOMBSTONE: removed */
    void *value;
};

struct idmap {
    struct slot *slots;
    size_t cap, used, count; /* used counts tombstones too */
};

static char tombstone_mark;
#define TOMBSTONE (&tombstone_mark)

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

struct idmap *idmap_new(void)
{
    struct idmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 64;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void idmap_free(struct idmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
            free(m->slots[i].key);
    free(m->slots);
    free(m);
}

/* The slot holding key, or NULL. */
static struct slot *find(const struct idmap *m, const char *key)
{
    for (size_t i = hash(key) & (m->cap - 1), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
        struct slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != TOMBSTONE && strcmp(s->key, key) == 0)
            return s;
    }
    return NULL;
}

static int grow(struct idmap *m)
{
    size_t cap = m->count * 4 > m->cap ? m->cap * 2 : m->cap; /* same size just drops tombstones */
    struct slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        struct slot *s = &m->slots[i];
        if (!s->key || s->key == TOMBSTONE)
            continue;
        size_t j = hash(s->key) & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->count;
    return 0;
}

int idmap_put(struct idmap *m, const char *key, void *value)
{
    struct slot *s = find(m, key);
    if (s) {
        s->value = value;
        return 0;
    }
    if ((m->used + 1) * 2 > m->cap && grow(m) != 0)
        return -1;
    size_t i = hash(key) & (m->cap - 1);
    while (m->slots[i].key && m->slots[i].key != TOMBSTONE)
        i = (i + 1) & (m->cap - 1);
    char *copy = strdup(key);
    if (!copy)
        return -1;
    if (!m->slots[i].key)
        m->used++;
    m->slots[i].key = copy;
    m->slots[i].value = value;
    m->count++;
    return 0;
}

void *idmap_get(const struct idmap *m, const char *key)
{
    const struct slot *s = find(m, key);
    return s ? s->value : NULL;
}

void idmap_remove(struct idmap *m, const char *key)
{
    struct slot *s = find(m, key);
    if (!s)
        return;
    free(s->key);
    s->key = TOMBSTONE;
    s->value = NULL;
    m->count--;
}

size_t idmap_count(const struct idmap *m) { return m->count; }

/* arena.h — bump allocator, reset as a whole (per HTTP request, per record batch).
 *
 * Memory from arena_alloc() belongs to the arena: never free it; arena_reset() makes all of it
 * reusable at once and arena_free() releases the blocks. arena_free(NULL) is a no-op. */
#ifndef SLUICE_COMMON_ARENA_H
#define SLUICE_COMMON_ARENA_H

#include <stddef.h>

struct arena;

/* New arena whose blocks are at least block_size bytes. Returns NULL on out of memory. */
struct arena *arena_new(size_t block_size);
void arena_free(struct arena *a);
/* Releases all allocations but keeps the first block for reuse. */
void arena_reset(struct arena *a);
/* 16-byte aligned memory, or NULL on out of memory. */
void *arena_alloc(struct arena *a, size_t size);
/* Copy of s[0..len) with a terminating NUL, owned by the arena. */
char *arena_strndup(struct arena *a, const char *s, size_t len);
/* Bytes handed out since the last reset. */
size_t arena_used(const struct arena *a);

#endif

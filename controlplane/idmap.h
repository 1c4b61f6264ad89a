/* idmap.h — a small hash map from id strings (task ids) to pointers, so the supervisor and the
 * reconciler find a task in constant time however many they hold.
 *
 * Keys are copied; values are borrowed. Open addressing with linear probing; grows at half
 * full. */
#ifndef SLUICE_CONTROLPLANE_IDMAP_H
#define SLUICE_CONTROLPLANE_IDMAP_H

#include <stddef.h>

struct idmap;

struct idmap *idmap_new(void);
void idmap_free(struct idmap *m);
/* Sets key → value (replacing any). Returns 0, or -1 when out of memory. */
int idmap_put(struct idmap *m, const char *key, void *value);
/* The value of key, or NULL. */
void *idmap_get(const struct idmap *m, const char *key);
/* Removes key if present. */
void idmap_remove(struct idmap *m, const char *key);
size_t idmap_count(const struct idmap *m);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * table.h - internal: one copy of the map, an open-addressing hash table.
 *
 * Linear probing over a power-of-two array of 32-byte slots. A slot is
 * free, or holds one key's bag (bag.h: the key, its folded 32-bit hash and
 * its values; the public evmap_values). Deletion shifts later entries back (no
 * tombstones), so a lookup stops at the first empty slot. Load is kept at
 * or below 3/4. A table is written by the writer only while no reader can
 * see it (left-right), so nothing here is atomic.
 */
#ifndef EVMAP_TABLE_H
#define EVMAP_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "bag.h"
#include "types.h"

struct evmap__table {
	evmap__bag *slots;
	size_t mask;  /* slot count - 1 */
	size_t count; /* keys stored */
	const struct evmap__types *types;
};

static inline int evmap__slot_is_empty(const evmap__bag *s)
{
	return s->len == EVMAP__SLOT_EMPTY;
}

/* Slot count for @keys keys at load <= 3/4; 0 if it overflows. */
size_t evmap__table_slots_for(size_t keys);

/* An empty table with room for @keys keys. 0 or -ENOMEM. */
int evmap__table_init(struct evmap__table *t, const struct evmap__types *types,
		      size_t keys);
/* Free the slots and every bag's storage; keys and values are not freed. */
void evmap__table_destroy(struct evmap__table *t);

/* Linear probe from @hash for the slot holding exactly the pointer @key,
 * or NULL. With @match_hash, the slot must also carry @hash. */
static inline evmap__bag *evmap__table_probe_pointer(
    const struct evmap__table *t, uint32_t hash, const void *key,
    bool match_hash)
{
	for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		evmap__bag *s = &t->slots[i];
		if (s->len == EVMAP__SLOT_EMPTY)
			return NULL;
		if (s->key == key && (!match_hash || s->hash == hash))
			return s;
	}
}

/* The slot holding exactly the key pointer @key (hash @hash), or NULL.
 * A key is stored under the hash it was inserted with, and the op log
 * keeps that hash, so the probe run of @hash holds it if present (whatever
 * the type's equal says). */
static inline evmap__bag *evmap__table_find_identity(
    const struct evmap__table *t, uint32_t hash, const void *key)
{
	return evmap__table_probe_pointer(t, hash, key, true);
}

/* The slot of the key equal to @key (hash @hash), or NULL. */
static inline evmap__bag *evmap__table_find(const struct evmap__table *t,
					     uint32_t hash, const void *key)
{
	const struct evmap__item_type *kt = &t->types->key;

	/* identity keys: equal is identity, and the hash a function of it */
	if (kt->kind == EVMAP__KIND_IDENTITY)
		return evmap__table_probe_pointer(t, hash, key, false);
	for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		evmap__bag *s = &t->slots[i];
		if (s->len == EVMAP__SLOT_EMPTY)
			return NULL;
		if (s->hash == hash && evmap__item_equal(kt, s->key, key))
			return s;
	}
}

/* Make sure @keys keys fit without growing. 0 or -ENOMEM (unchanged). */
int evmap__table_reserve(struct evmap__table *t, size_t keys);
/* Rebuild with exactly the slots @keys keys need (shrink or grow). */
int evmap__table_resize(struct evmap__table *t, size_t keys);

/* Add a key known to be absent, with an empty bag; grows if needed.
 * Return the slot, or NULL (-ENOMEM, table unchanged). */
evmap__bag *evmap__table_add(struct evmap__table *t, uint32_t hash,
			      const void *key);

/* Remove the key in @s; its bag storage must already be released or moved
 * out. Slots after it may move: slot pointers are invalid afterwards. */
void evmap__table_remove(struct evmap__table *t, evmap__bag *s);

/* Free every key and value in @t with their types' free callbacks, and
 * every bag's storage; @t is left empty (its slot array stays). */
void evmap__table_free_items(struct evmap__table *t,
			     const struct evmap__types *types);

/* Next occupied slot at index >= *@pos, advancing *@pos past it; NULL at
 * the end. */
evmap__bag *evmap__table_next(const struct evmap__table *t, size_t *pos);

#endif /* EVMAP_TABLE_H */

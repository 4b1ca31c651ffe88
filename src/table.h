/* SPDX-License-Identifier: MIT */
/*
 * table.h - internal: one copy of the map, an open-addressing hash table.
 *
 * Linear probing over a power-of-two array of 32-byte slots. A slot holds
 * the key's folded 32-bit hash, the key and its bag of values (the slot IS
 * the public evmap_values). Deletion shifts later entries back (no
 * tombstones), so a lookup stops at the first empty slot. Load is kept at
 * or below 3/4. A table is written by the writer only while no reader can
 * see it (left-right), so nothing here is atomic.
 */
#ifndef EVMAP_TABLE_H
#define EVMAP_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* len value of a free slot. */
#define EVMAP__SLOT_EMPTY UINT32_MAX
/* len flag: the values live in a heap array (else 0 or 1 value inline). */
#define EVMAP__BAG_ARRAY (UINT32_C(1) << 31)
#define EVMAP__BAG_LEN_MASK (EVMAP__BAG_ARRAY - 1)
/* Largest bag: the length must fit beside the flag, minus the sentinel. */
#define EVMAP__BAG_MAX_LEN (EVMAP__BAG_LEN_MASK - 1)

/* Heap storage of a bag with an array. The hash index (open addressing
 * over value positions) exists only for large bags of hashable values. */
struct evmap__bag_array {
	uint32_t cap;
	uint32_t index_mask;   /* index size - 1, or 0 when not indexed */
	uint32_t *index;       /* position + 1 per entry, 0 = free */
	uint32_t *hashes;      /* folded value hash per position, if indexed */
	const void *values[];  /* cap entries */
};

/* A slot: key, its hash, its bag. This is the public evmap_values. */
struct evmap_values {
	uint32_t hash;
	uint32_t len; /* EVMAP__SLOT_EMPTY, or value count | EVMAP__BAG_ARRAY */
	const void *key;
	union {
		const void *one;                 /* inline: the value if count 1 */
		struct evmap__bag_array *array;  /* with EVMAP__BAG_ARRAY */
	} u;
	const struct evmap__types *types;
};

typedef struct evmap_values evmap__slot;

struct evmap__table {
	evmap__slot *slots;
	size_t mask;  /* slot count - 1 */
	size_t count; /* keys stored */
	const struct evmap__types *types;
};

static inline int evmap__slot_is_empty(const evmap__slot *s)
{
	return s->len == EVMAP__SLOT_EMPTY;
}

static inline uint32_t evmap__bag_len(const evmap__slot *s)
{
	return s->len & EVMAP__BAG_LEN_MASK;
}

static inline const void *const *evmap__bag_values(const evmap__slot *s)
{
	return (s->len & EVMAP__BAG_ARRAY) ? s->u.array->values : &s->u.one;
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
static inline evmap__slot *evmap__table_probe_pointer(
    const struct evmap__table *t, uint32_t hash, const void *key,
    bool match_hash)
{
	for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		evmap__slot *s = &t->slots[i];
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
static inline evmap__slot *evmap__table_find_identity(
    const struct evmap__table *t, uint32_t hash, const void *key)
{
	return evmap__table_probe_pointer(t, hash, key, true);
}

/* The slot of the key equal to @key (hash @hash), or NULL. */
static inline evmap__slot *evmap__table_find(const struct evmap__table *t,
					     uint32_t hash, const void *key)
{
	const struct evmap__item_type *kt = &t->types->key;

	/* identity keys: equal is identity, and the hash a function of it */
	if (kt->kind == EVMAP__KIND_IDENTITY)
		return evmap__table_probe_pointer(t, hash, key, false);
	for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		evmap__slot *s = &t->slots[i];
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
evmap__slot *evmap__table_add(struct evmap__table *t, uint32_t hash,
			      const void *key);

/* Remove the key in @s; its bag storage must already be released or moved
 * out. Slots after it may move: slot pointers are invalid afterwards. */
void evmap__table_remove(struct evmap__table *t, evmap__slot *s);

/* Free every key and value in @t with their types' free callbacks, and
 * every bag's storage; @t is left empty (its slot array stays). */
void evmap__table_free_items(struct evmap__table *t,
			     const struct evmap__types *types);

/* Next occupied slot at index >= *@pos, advancing *@pos past it; NULL at
 * the end. */
evmap__slot *evmap__table_next(const struct evmap__table *t, size_t *pos);

/* ---- bags (values.c) ---- */

/* Append @value. 0 or -ENOMEM (bag unchanged). */
int evmap__bag_push(evmap__slot *s, const void *value);
/* Room for @additional more values. 0 or -ENOMEM (unchanged). */
int evmap__bag_reserve(evmap__slot *s, size_t additional);
/* Position of a value equal to @value, or -1. */
long evmap__bag_find(const evmap__slot *s, const void *value);
/* Position of exactly the pointer @value, or -1. */
long evmap__bag_find_identity(const evmap__slot *s, const void *value);
/* Remove the value at @pos (the last value moves into its place). */
void evmap__bag_remove_at(evmap__slot *s, size_t pos);
/* Shrink storage to the length (back to inline for 0 or 1 value). Never
 * fails: when shrinking cannot allocate it keeps the larger storage. */
void evmap__bag_fit(evmap__slot *s);

/* A bag's contents moved out of a slot (the slot's bag becomes empty). */
struct evmap__bag_storage {
	uint32_t len; /* as in the slot: count | EVMAP__BAG_ARRAY */
	const void *one;
	struct evmap__bag_array *array;
};
void evmap__bag_take(evmap__slot *s, struct evmap__bag_storage *out);
/* Free the storage of a taken bag; with @value_type, also each value. */
void evmap__bag_storage_release(struct evmap__bag_storage *b,
				const evmap_type *value_type);
/* Release the slot's own storage without touching the values. */
void evmap__bag_drop_storage(evmap__slot *s);

#endif /* EVMAP_TABLE_H */

/* SPDX-License-Identifier: MIT */
/*
 * bag.h - internal: a key's bag, the key with its values (bag.c).
 *
 * struct evmap_values, the public evmap_values, is the bag: the key, its
 * folded hash, its values and the map's types. The table (table.h) stores
 * bags in its slots, so a bag is also a slot; a slot whose len is
 * EVMAP__SLOT_EMPTY holds no bag. Internally the type is evmap__bag.
 * Nothing here is atomic: a bag is changed only in the copy no reader can
 * see (oplog.c).
 */
#ifndef EVMAP_BAG_H
#define EVMAP_BAG_H

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

/* One position of an indexed bag: its value's folded hash and its
 * neighbours in the chain of positions whose values share that hash
 * (position + 1, 0 = none). */
struct evmap__bag_link {
	uint32_t hash;
	uint32_t next;
	uint32_t prev;
};

/* Heap storage of a bag with an array. The hash index exists only for
 * large bags of hashable values: open addressing with one entry per
 * distinct hash, each the head of a doubly linked chain of the positions
 * with that hash (bag.c). */
struct evmap__bag_array {
	uint32_t cap;
	uint32_t index_mask;   /* index size - 1, or 0 when not indexed */
	uint32_t *index;       /* chain head position + 1 per entry, 0 = free */
	struct evmap__bag_link *links; /* cap entries, if indexed */
	const void *values[];  /* cap entries */
};

/* A key's bag: key, hash, values. This is the public evmap_values. */
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

typedef struct evmap_values evmap__bag;

static inline uint32_t evmap__bag_len(const evmap__bag *s)
{
	return s->len & EVMAP__BAG_LEN_MASK;
}

static inline const void *const *evmap__bag_values(const evmap__bag *s)
{
	return (s->len & EVMAP__BAG_ARRAY) ? s->u.array->values : &s->u.one;
}

/* Append @value. 0 or -ENOMEM (bag unchanged). */
int evmap__bag_push(evmap__bag *s, const void *value);
/* Room for @additional more values. 0 or -ENOMEM (unchanged). */
int evmap__bag_reserve(evmap__bag *s, size_t additional);
/* Position of a value equal to @value, or -1. */
long evmap__bag_find(const evmap__bag *s, const void *value);
/* Position of exactly the pointer @value, or -1. Through the index when
 * the value's hash finds it there, else by a scan. */
long evmap__bag_find_identity(const evmap__bag *s, const void *value);
/* Remove the value at @pos (the last value moves into its place). */
void evmap__bag_remove_at(evmap__bag *s, size_t pos);
/* Shrink storage to the length (back to inline for 0 or 1 value). Never
 * fails: when shrinking cannot allocate it keeps the larger storage. */
void evmap__bag_fit(evmap__bag *s);

/* A bag's contents moved out of a slot (the slot's bag becomes empty). */
struct evmap__bag_storage {
	uint32_t len; /* as in the slot: count | EVMAP__BAG_ARRAY */
	const void *one;
	struct evmap__bag_array *array;
};
void evmap__bag_take(evmap__bag *s, struct evmap__bag_storage *out);
/* Free the storage of a taken bag; with @value_type, also each value. */
void evmap__bag_storage_release(struct evmap__bag_storage *b,
				const evmap_type *value_type);
/* Release the slot's own storage without touching the values. */
void evmap__bag_drop_storage(evmap__bag *s);

#endif /* EVMAP_BAG_H */

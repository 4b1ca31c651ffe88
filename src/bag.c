/* SPDX-License-Identifier: MIT */
/*
 * bag.c - the bag of values of one key (bag.h).
 *
 * Forms: inline (0 or 1 value in the slot itself, no allocation), array
 * (a heap array, order unspecified, removal moves the last value into the
 * hole), and indexed array: beyond INDEX_THRESHOLD values of a hashable
 * type an open-addressing index of positions makes contains/remove_value
 * O(1) (evmap's switch from a small vector to a hash bag).
 *
 * The index is only an accelerator: the array is the truth. Failing to
 * allocate an index is not an error, and replaying an operation by
 * identity never needs it, so both copies hold the same values whatever
 * the user's hash returns: the same pointers, the same number of times
 * each. Not always in the same order: with duplicates, replay removes the
 * first position holding the pointer, which may not be the position the
 * first application removed, and the last value moves into a different
 * hole.
 */
#include <errno.h>

#include "alloc.h"
#include "bag.h"

#define INDEX_THRESHOLD 32
#define MIN_ARRAY 4

static struct evmap__bag_array *array_of(const evmap__bag *s)
{
	return (s->len & EVMAP__BAG_ARRAY) ? s->u.array : NULL;
}

static void set_len(evmap__bag *s, uint32_t len)
{
	s->len = (s->len & EVMAP__BAG_ARRAY) | len;
}

static void index_free(struct evmap__bag_array *a)
{
	evmap__free(a->index);
	evmap__free(a->hashes);
	a->index = NULL;
	a->hashes = NULL;
	a->index_mask = 0;
}

static void index_put(struct evmap__bag_array *a, uint32_t pos)
{
	uint32_t i = a->hashes[pos] & a->index_mask;
	while (a->index[i])
		i = (i + 1) & a->index_mask;
	a->index[i] = pos + 1;
}

/* The index entry that holds @pos. */
static uint32_t index_slot_of(const struct evmap__bag_array *a, uint32_t pos)
{
	uint32_t i = a->hashes[pos] & a->index_mask;
	while (a->index[i] != pos + 1)
		i = (i + 1) & a->index_mask;
	return i;
}

/* Backward-shift deletion of index entry @hole (as in table.c). */
static void index_delete(struct evmap__bag_array *a, uint32_t hole)
{
	uint32_t i = hole;
	for (;;) {
		uint32_t home;
		i = (i + 1) & a->index_mask;
		if (!a->index[i])
			break;
		home = a->hashes[a->index[i] - 1] & a->index_mask;
		if (((i - home) & a->index_mask) >= ((i - hole) & a->index_mask)) {
			a->index[hole] = a->index[i];
			hole = i;
		}
	}
	a->index[hole] = 0;
}

/* (Re)build the index for @len values; on allocation failure the bag is
 * left unindexed, which is correct, only slower. */
static void index_build(evmap__bag *s, struct evmap__bag_array *a,
			uint32_t len)
{
	const struct evmap__item_type *vt = &s->types->value;
	uint32_t size = 1;
	uint32_t *index, *hashes;

	index_free(a);
	/* beyond 2^30 values the bag stays a plain array (no index) */
	if (len <= INDEX_THRESHOLD || !evmap__item_hashable(vt) ||
	    a->cap > (UINT32_C(1) << 30))
		return;
	while (size < a->cap * 2u)
		size <<= 1;
	index = evmap__calloc(size, sizeof(*index));
	hashes = evmap__malloc((size_t)a->cap * sizeof(*hashes));
	if (!index || !hashes) {
		evmap__free(index);
		evmap__free(hashes);
		return;
	}
	a->index = index;
	a->hashes = hashes;
	a->index_mask = size - 1;
	for (uint32_t p = 0; p < len; p++) {
		hashes[p] = evmap__item_hash(vt, a->values[p]);
		index_put(a, p);
	}
}

/* Make the bag an array of at least @cap entries (cap >= len). */
static int ensure_array(evmap__bag *s, size_t cap)
{
	struct evmap__bag_array *a = array_of(s), *grown;
	uint32_t len = evmap__bag_len(s);
	size_t bytes;

	if (a && a->cap >= cap)
		return 0;
	if (cap > EVMAP__BAG_MAX_LEN)
		return -ENOMEM;
	if (a && cap < (size_t)a->cap * 2) /* geometric growth */
		cap = (size_t)a->cap * 2 > EVMAP__BAG_MAX_LEN ?
			      EVMAP__BAG_MAX_LEN : (size_t)a->cap * 2;
	if (cap < MIN_ARRAY)
		cap = MIN_ARRAY;
	bytes = sizeof(*a) + cap * sizeof(a->values[0]);
	if (a) {
		grown = evmap__realloc(a, bytes);
		if (!grown)
			return -ENOMEM;
		grown->cap = (uint32_t)cap;
		s->u.array = grown;
		if (grown->index)
			index_build(s, grown, len);
		return 0;
	}
	grown = evmap__malloc(bytes);
	if (!grown)
		return -ENOMEM;
	grown->cap = (uint32_t)cap;
	grown->index_mask = 0;
	grown->index = NULL;
	grown->hashes = NULL;
	if (len == 1)
		grown->values[0] = s->u.one;
	s->u.array = grown;
	s->len = len | EVMAP__BAG_ARRAY;
	return 0;
}

int evmap__bag_reserve(evmap__bag *s, size_t additional)
{
	size_t need;
	if (!evmap__add_size(evmap__bag_len(s), additional, &need) ||
	    need > EVMAP__BAG_MAX_LEN)
		return -ENOMEM;
	if (need <= 1 && !array_of(s))
		return 0;
	return ensure_array(s, need);
}

int evmap__bag_push(evmap__bag *s, const void *value)
{
	uint32_t len = evmap__bag_len(s);
	struct evmap__bag_array *a = array_of(s);

	if (!a && len == 0) {
		s->u.one = value;
		s->len = 1;
		return 0;
	}
	if (len >= EVMAP__BAG_MAX_LEN || ensure_array(s, (size_t)len + 1) != 0)
		return -ENOMEM;
	a = s->u.array;
	a->values[len] = value;
	set_len(s, len + 1);
	if (a->index) {
		a->hashes[len] = evmap__item_hash(&s->types->value, value);
		index_put(a, len);
	} else if (len + 1 == INDEX_THRESHOLD + 1) {
		index_build(s, a, len + 1);
	}
	return 0;
}

long evmap__bag_find(const evmap__bag *s, const void *value)
{
	const struct evmap__item_type *vt = &s->types->value;
	const struct evmap__bag_array *a = array_of(s);
	const void *const *values = evmap__bag_values(s);
	uint32_t len = evmap__bag_len(s);

	if (a && a->index) {
		uint32_t h = evmap__item_hash(vt, value);
		for (uint32_t i = h & a->index_mask; a->index[i];
		     i = (i + 1) & a->index_mask) {
			uint32_t pos = a->index[i] - 1;
			if (a->hashes[pos] == h &&
			    evmap__item_equal(vt, values[pos], value))
				return pos;
		}
		return -1;
	}
	for (uint32_t pos = 0; pos < len; pos++)
		if (evmap__item_equal(vt, values[pos], value))
			return pos;
	return -1;
}

long evmap__bag_find_identity(const evmap__bag *s, const void *value)
{
	const void *const *values = evmap__bag_values(s);
	uint32_t len = evmap__bag_len(s);

	for (uint32_t pos = len; pos-- > 0;)
		if (values[pos] == value)
			return pos;
	return -1;
}

void evmap__bag_remove_at(evmap__bag *s, size_t pos)
{
	struct evmap__bag_array *a = array_of(s);
	uint32_t last = evmap__bag_len(s) - 1;

	if (!a) {
		set_len(s, 0);
		return;
	}
	if (a->index) {
		index_delete(a, index_slot_of(a, (uint32_t)pos));
		if (pos != last) {
			a->index[index_slot_of(a, last)] = (uint32_t)pos + 1;
			a->hashes[pos] = a->hashes[last];
		}
	}
	a->values[pos] = a->values[last];
	set_len(s, last);
}

void evmap__bag_fit(evmap__bag *s)
{
	struct evmap__bag_array *a = array_of(s), *shrunk;
	uint32_t len = evmap__bag_len(s);

	if (!a)
		return;
	if (len <= 1) {
		const void *one = len ? a->values[0] : NULL;
		index_free(a);
		evmap__free(a);
		s->u.one = one;
		s->len = len;
		return;
	}
	if (a->cap == len)
		return;
	shrunk = evmap__realloc(a, sizeof(*a) + (size_t)len * sizeof(a->values[0]));
	if (!shrunk)
		return;
	shrunk->cap = len;
	s->u.array = shrunk;
	if (shrunk->index)
		index_build(s, shrunk, len);
}

void evmap__bag_take(evmap__bag *s, struct evmap__bag_storage *out)
{
	out->len = s->len;
	out->array = array_of(s);
	out->one = out->array ? NULL : s->u.one;
	s->len = 0;
	s->u.one = NULL;
}

void evmap__bag_storage_release(struct evmap__bag_storage *b,
				const evmap_type *value_type)
{
	uint32_t len = b->len & EVMAP__BAG_LEN_MASK;

	if (value_type) {
		const void *const *values =
			b->array ? (const void *const *)b->array->values : &b->one;
		for (uint32_t i = 0; i < len; i++)
			evmap__item_free(value_type, values[i]);
	}
	if (b->array) {
		index_free(b->array);
		evmap__free(b->array);
	}
	b->array = NULL;
	b->len = 0;
}

void evmap__bag_drop_storage(evmap__bag *s)
{
	struct evmap__bag_storage b;
	evmap__bag_take(s, &b);
	evmap__bag_storage_release(&b, NULL);
}

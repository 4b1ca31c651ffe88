/* SPDX-License-Identifier: MIT */
/*
 * bag.c - the bag of values of one key (bag.h).
 *
 * Forms: inline (0 or 1 value in the slot itself, no allocation), array
 * (a heap array, order unspecified, removal moves the last value into the
 * hole), and indexed array: beyond INDEX_THRESHOLD values of a hashable
 * type a hash index (one entry per distinct hash, chaining the positions
 * that share it) makes push, contains and remove_value O(1), duplicates
 * included (evmap's switch from a small vector to a hash bag).
 *
 * The index is only an accelerator: the array is the truth. Failing to
 * allocate an index is not an error (the next growth tries again), and
 * replaying an operation by identity compares pointers only, through the
 * index when the value's hash leads there and by a scan otherwise, so
 * both copies hold the same values whatever the user's hash returns: the
 * same pointers, the same number of times each. Not always in the same
 * order: with duplicates, replay may remove another position holding the
 * pointer than the one the first application removed, and the last value
 * moves into a different hole.
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
	evmap__free(a->links);
	a->index = NULL;
	a->links = NULL;
	a->index_mask = 0;
}

/*
 * The index holds one entry per distinct hash: the head of the chain of
 * positions whose values have that hash. Equal values have equal hashes,
 * so duplicates share one chain, and the probe sequence runs over
 * distinct hashes only: a bag of many equal values costs O(1) per push,
 * lookup and removal, where one entry per position made every push probe
 * past all the duplicates before it (quadratic in their number). Removal
 * unlinks in O(1) thanks to the back links.
 */

/* The index entry of the chain for @hash, or the free entry that ends its
 * probe sequence. */
static uint32_t index_entry_for(const struct evmap__bag_array *a,
				uint32_t hash)
{
	uint32_t i = hash & a->index_mask;

	while (a->index[i] && a->links[a->index[i] - 1].hash != hash)
		i = (i + 1) & a->index_mask;
	return i;
}

/* The first position + 1 of the chain @value's hash leads to, or 0. */
static uint32_t chain_of(const evmap__bag *s,
			 const struct evmap__bag_array *a, const void *value)
{
	uint32_t h = evmap__item_hash(&s->types->value, value);

	return a->index[index_entry_for(a, h)];
}

/* Link position @pos, whose links[pos].hash is set, into its chain. */
static void index_put(struct evmap__bag_array *a, uint32_t pos)
{
	struct evmap__bag_link *l = &a->links[pos];
	uint32_t i = index_entry_for(a, l->hash);

	l->prev = 0;
	l->next = a->index[i];
	if (l->next)
		a->links[l->next - 1].prev = pos + 1;
	a->index[i] = pos + 1;
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
		home = a->links[a->index[i] - 1].hash & a->index_mask;
		if (((i - home) & a->index_mask) >= ((i - hole) & a->index_mask)) {
			a->index[hole] = a->index[i];
			hole = i;
		}
	}
	a->index[hole] = 0;
}

/* Unlink position @pos from its chain (dropping the chain's entry when it
 * empties). */
static void index_unlink(struct evmap__bag_array *a, uint32_t pos)
{
	const struct evmap__bag_link *l = &a->links[pos];

	if (l->prev) {
		a->links[l->prev - 1].next = l->next;
	} else {
		uint32_t i = index_entry_for(a, l->hash);

		if (l->next)
			a->index[i] = l->next;
		else
			index_delete(a, i);
	}
	if (l->next)
		a->links[l->next - 1].prev = l->prev;
}

/* Position @from, still linked, becomes position @to (a free one). */
static void index_move(struct evmap__bag_array *a, uint32_t from, uint32_t to)
{
	struct evmap__bag_link *l = &a->links[to];

	*l = a->links[from];
	if (l->prev)
		a->links[l->prev - 1].next = to + 1;
	else
		a->index[index_entry_for(a, l->hash)] = to + 1;
	if (l->next)
		a->links[l->next - 1].prev = to + 1;
}

/* (Re)build the index for @len values; on allocation failure the bag is
 * left unindexed, which is correct, only slower. */
static void index_build(evmap__bag *s, struct evmap__bag_array *a,
			uint32_t len)
{
	const struct evmap__item_type *vt = &s->types->value;
	uint32_t size = 1;
	uint32_t *index;
	struct evmap__bag_link *links;

	index_free(a);
	/* beyond 2^30 values the bag stays a plain array (no index) */
	if (len <= INDEX_THRESHOLD || !evmap__item_hashable(vt) ||
	    a->cap > (UINT32_C(1) << 30))
		return;
	while (size < a->cap * 2u)
		size <<= 1;
	index = evmap__calloc(size, sizeof(*index));
	links = evmap__malloc((size_t)a->cap * sizeof(*links));
	if (!index || !links) {
		evmap__free(index);
		evmap__free(links);
		return;
	}
	a->index = index;
	a->links = links;
	a->index_mask = size - 1;
	for (uint32_t p = 0; p < len; p++) {
		links[p].hash = evmap__item_hash(vt, a->values[p]);
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
		/* the index must cover cap; it is also retried if its
		 * allocation failed before (index_build decides) */
		index_build(s, grown, len);
		return 0;
	}
	grown = evmap__malloc(bytes);
	if (!grown)
		return -ENOMEM;
	grown->cap = (uint32_t)cap;
	grown->index_mask = 0;
	grown->index = NULL;
	grown->links = NULL;
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
		a->links[len].hash = evmap__item_hash(&s->types->value, value);
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
		for (uint32_t next = chain_of(s, a, value); next;
		     next = a->links[next - 1].next)
			if (evmap__item_equal(vt, values[next - 1], value))
				return next - 1;
		return -1;
	}
	for (uint32_t pos = 0; pos < len; pos++)
		if (evmap__item_equal(vt, values[pos], value))
			return pos;
	return -1;
}

/* The index is tried first: a value's position lies on the chain of its
 * hash whenever the hash answers as it did when the position was
 * indexed. A type whose hash answers differently now falls through to the
 * scan, so the answer never depends on the user's hash (the replay's
 * guarantee, oplog.c). */
long evmap__bag_find_identity(const evmap__bag *s, const void *value)
{
	const struct evmap__bag_array *a = array_of(s);
	const void *const *values = evmap__bag_values(s);
	uint32_t len = evmap__bag_len(s);

	if (a && a->index) {
		for (uint32_t next = chain_of(s, a, value); next;
		     next = a->links[next - 1].next)
			if (values[next - 1] == value)
				return next - 1;
	}
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
		index_unlink(a, (uint32_t)pos);
		if (pos != last)
			index_move(a, last, (uint32_t)pos);
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

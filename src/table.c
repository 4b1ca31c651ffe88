/* SPDX-License-Identifier: MIT */
/*
 * table.c - one copy of the map: linear probing with backward-shift
 * deletion over power-of-two slot arrays (see table.h for the layout).
 *
 * Invariant: every key is reachable from its home slot (hash & mask)
 * through occupied slots only; there are no tombstones. Growth and
 * shrinking rebuild the whole array from the stored 32-bit hashes, so they
 * never call user callbacks.
 */
#include "table.h"

#include <errno.h>

#include "alloc.h"

#define MIN_SLOTS 8

size_t evmap__table_slots_for(size_t keys)
{
	size_t slots = MIN_SLOTS;

	/* load <= 3/4, the same rule as evmap__table_add's growth check */
	while (slots / 4 * 3 < keys) {
		if (slots > (SIZE_MAX >> 1) / sizeof(evmap__bag) ||
		    slots >= (size_t)UINT32_MAX + 1)
			return 0;
		slots <<= 1;
	}
	return slots;
}

static evmap__bag *alloc_slots(size_t count)
{
	evmap__bag *slots = evmap__alloc_large(count * sizeof(*slots));
	if (!slots)
		return NULL;
	for (size_t i = 0; i < count; i++)
		slots[i].len = EVMAP__SLOT_EMPTY;
	return slots;
}

int evmap__table_init(struct evmap__table *t, const struct evmap__types *types,
		      size_t keys)
{
	size_t count = evmap__table_slots_for(keys);
	if (!count)
		return -ENOMEM;
	t->slots = alloc_slots(count);
	if (!t->slots)
		return -ENOMEM;
	t->mask = count - 1;
	t->count = 0;
	t->types = types;
	return 0;
}

void evmap__table_destroy(struct evmap__table *t)
{
	if (!t->slots)
		return;
	for (size_t i = 0; i <= t->mask; i++)
		if (!evmap__slot_is_empty(&t->slots[i]))
			evmap__bag_drop_storage(&t->slots[i]);
	evmap__free(t->slots);
	t->slots = NULL;
	t->count = 0;
}

/* Place a slot's contents into the first free slot of its probe run. */
static void place(evmap__bag *slots, size_t mask, const evmap__bag *from)
{
	size_t i = from->hash & mask;
	while (!evmap__slot_is_empty(&slots[i]))
		i = (i + 1) & mask;
	slots[i] = *from;
}

static int rebuild(struct evmap__table *t, size_t count)
{
	evmap__bag *slots = alloc_slots(count);
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i <= t->mask; i++)
		if (!evmap__slot_is_empty(&t->slots[i]))
			place(slots, count - 1, &t->slots[i]);
	evmap__free(t->slots);
	t->slots = slots;
	t->mask = count - 1;
	return 0;
}

int evmap__table_reserve(struct evmap__table *t, size_t keys)
{
	size_t count = evmap__table_slots_for(keys);
	if (!count)
		return -ENOMEM;
	if (count <= t->mask + 1)
		return 0;
	return rebuild(t, count);
}

int evmap__table_resize(struct evmap__table *t, size_t keys)
{
	size_t count;
	if (keys < t->count)
		keys = t->count;
	count = evmap__table_slots_for(keys);
	if (!count)
		return -ENOMEM;
	if (count == t->mask + 1)
		return 0;
	return rebuild(t, count);
}

evmap__bag *evmap__table_add(struct evmap__table *t, uint32_t hash,
			      const void *key)
{
	size_t i;

	if (t->count + 1 > (t->mask + 1) / 4 * 3 &&
	    evmap__table_reserve(t, t->count + 1) != 0)
		return NULL;
	i = hash & t->mask;
	while (!evmap__slot_is_empty(&t->slots[i]))
		i = (i + 1) & t->mask;
	t->slots[i] = (evmap__bag){
		.hash = hash, .len = 0, .key = key, .types = t->types};
	t->count++;
	return &t->slots[i];
}

void evmap__table_remove(struct evmap__table *t, evmap__bag *s)
{
	size_t hole = (size_t)(s - t->slots);
	size_t i = hole;

	/* Backward shift: move each later entry of the run into the hole if
	 * its home slot does not lie cyclically in (hole, i]. */
	for (;;) {
		size_t home;
		i = (i + 1) & t->mask;
		if (evmap__slot_is_empty(&t->slots[i]))
			break;
		home = t->slots[i].hash & t->mask;
		if (((i - home) & t->mask) >= ((i - hole) & t->mask)) {
			t->slots[hole] = t->slots[i];
			hole = i;
		}
	}
	t->slots[hole].len = EVMAP__SLOT_EMPTY;
	t->count--;
}

evmap__bag *evmap__table_next(const struct evmap__table *t, size_t *pos)
{
	while (*pos <= t->mask) {
		evmap__bag *s = &t->slots[(*pos)++];
		if (!evmap__slot_is_empty(s))
			return s;
	}
	return NULL;
}

void evmap__table_free_items(struct evmap__table *t,
			     const struct evmap__types *types)
{
	evmap__bag *s;
	size_t i = 0;

	while ((s = evmap__table_next(t, &i))) {
		struct evmap__bag_storage bag;

		evmap__bag_take(s, &bag);
		evmap__bag_storage_release(&bag, types->value.type);
		evmap__item_free(types->key.type, s->key);
		s->len = EVMAP__SLOT_EMPTY;
	}
	t->count = 0;
}

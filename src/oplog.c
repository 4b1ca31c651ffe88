/* SPDX-License-Identifier: MIT */
/*
 * oplog.c - applying logged operations to a copy (see oplog.h).
 *
 * Why the copies cannot diverge: the first application decides, with the
 * user's callbacks, exactly which stored key and which value pointers an
 * op touches, and records them in the op. The second application looks
 * those up by pointer identity (under the stored hash), so it reaches the
 * same entries whatever the callbacks would answer now.
 *
 * Why an item is freed exactly once and never while visible: an item
 * leaves the first copy in the op's first application (it goes to the op's
 * garbage) and leaves the second copy in the op's second application,
 * which happens only after a grace period since that copy was unpublished;
 * only then is the garbage freed.
 */
#include "oplog.h"

#include <errno.h>

#include "alloc.h"

int evmap__oplog_reserve(struct evmap__oplog *log)
{
	struct evmap__op *ops;
	size_t cap;

	if (log->len < log->cap)
		return 0;
	cap = log->cap ? log->cap * 2 : 64;
	if (!evmap__mul_size(cap, sizeof(*ops), &(size_t){0}))
		return -ENOMEM;
	ops = evmap__realloc(log->ops, cap * sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	log->ops = ops;
	log->cap = cap;
	return 0;
}

void evmap__oplog_shrink(struct evmap__oplog *log)
{
	struct evmap__op *ops;
	size_t cap = log->cap;

	while (cap > 64 && log->len <= cap / 4)
		cap /= 2;
	if (cap == log->cap)
		return;
	ops = evmap__realloc(log->ops, cap * sizeof(*ops));
	if (!ops)
		return; /* keep the larger array: nothing is lost */
	log->ops = ops;
	log->cap = cap;
}

static void free_key(const struct evmap__types *types, const void *key)
{
	evmap__item_free(types->key.type, key);
}

static void free_value(const struct evmap__types *types, const void *value)
{
	evmap__item_free(types->value.type, value);
}

/* The lookup clones an op made are no longer needed once resolved. */
static void drop_lookup_items(struct evmap__op *op,
			      const struct evmap__types *types)
{
	if (op->flags & EVMAP__OP_LOOKUP_KEY)
		free_key(types, op->key);
	if (op->flags & EVMAP__OP_LOOKUP_VALUE)
		free_value(types, op->value);
	op->flags &= (uint8_t)~(EVMAP__OP_LOOKUP_KEY | EVMAP__OP_LOOKUP_VALUE);
}

static void resolve_noop(struct evmap__op *op, const struct evmap__types *types)
{
	drop_lookup_items(op, types);
	op->flags |= EVMAP__OP_RESOLVED | EVMAP__OP_NOOP;
}

/*
 * The slot of op's key in @c, created if absent, with room for @extra more
 * values. On the first application the key is found with the user's equal;
 * an existing key wins and the op's own copy of it is freed. On the second,
 * the stored key pointer is found by identity. NULL on -ENOMEM (unchanged).
 */
static evmap__slot *prepare_slot(struct evmap__op *op, struct evmap_view *c,
				 const struct evmap__types *types, bool first,
				 size_t extra)
{
	struct evmap__table *t = &c->table;
	evmap__slot *s = first ? evmap__table_find(t, op->hash, op->key)
			       : evmap__table_find_identity(t, op->hash, op->key);
	if (s) {
		if (extra && evmap__bag_reserve(s, extra) != 0)
			return NULL;
		if (first && s->key != op->key) {
			if (op->flags & EVMAP__OP_OWNS_KEY)
				free_key(types, op->key);
			op->key = s->key;
		}
		op->flags &= (uint8_t)~EVMAP__OP_OWNS_KEY;
		return s;
	}
	if (evmap__table_reserve(t, t->count + 1) != 0)
		return NULL;
	s = evmap__table_add(t, op->hash, op->key);
	if (extra > 1 && evmap__bag_reserve(s, extra) != 0) {
		evmap__table_remove(t, s);
		return NULL;
	}
	op->flags &= (uint8_t)~EVMAP__OP_OWNS_KEY;
	return s;
}

/*
 * Room in @s's bag for @extra more values, if it can be had. Reserved room
 * is not observable, so a reservation that cannot be allocated is skipped
 * instead of failing the refresh: an -ENOMEM here would fail every later
 * refresh too, and no op behind it would ever be published.
 */
static void reserve_best_effort(evmap__slot *s, size_t extra)
{
	(void)evmap__bag_reserve(s, extra);
}

/* The slot of op's key for ops that never create it, or NULL. */
static evmap__slot *existing_slot(struct evmap__op *op, struct evmap_view *c,
				  bool first)
{
	if (first)
		return evmap__table_find(&c->table, op->hash, op->key);
	return evmap__table_find_identity(&c->table, op->hash, op->key);
}

static int evict_first(struct evmap__op *op, struct evmap__table *t)
{
	size_t k = op->count < t->count ? op->count : t->count;
	uint64_t state = op->seed;
	struct evmap__removed *removed;

	if (k == 0)
		return 1;
	if (!evmap__mul_size(k, sizeof(*removed), &(size_t){0}))
		return -ENOMEM;
	removed = evmap__malloc(k * sizeof(*removed));
	if (!removed)
		return -ENOMEM;
	for (size_t i = 0; i < k; i++) {
		size_t pos = (size_t)evmap__splitmix64(&state) & t->mask;
		evmap__slot *s;
		while (evmap__slot_is_empty(&t->slots[pos]))
			pos = (pos + 1) & t->mask;
		s = &t->slots[pos];
		removed[i].key = s->key;
		removed[i].hash = s->hash;
		evmap__bag_take(s, &removed[i].bag);
		evmap__table_remove(t, s);
	}
	op->count = k;
	op->garbage.removed = removed;
	return 0;
}

int evmap__op_apply_first(struct evmap__op *op, struct evmap_view *c,
			  const struct evmap__types *types)
{
	evmap__slot *s;
	long pos;
	int r;

	switch (op->kind) {
	case EVMAP__OP_INSERT:
		s = prepare_slot(op, c, types, true, 1);
		if (!s)
			return -ENOMEM;
		evmap__bag_push(s, op->value); /* room was reserved */
		break;
	case EVMAP__OP_UPDATE:
	case EVMAP__OP_CLEAR_KEY:
		s = prepare_slot(op, c, types, true, 0);
		if (!s)
			return -ENOMEM;
		evmap__bag_take(s, &op->garbage.bag);
		op->flags |= EVMAP__OP_HAS_GARBAGE;
		if (op->kind == EVMAP__OP_UPDATE)
			evmap__bag_push(s, op->value); /* inline: no allocation */
		break;
	case EVMAP__OP_REMOVE_VALUE:
		s = existing_slot(op, c, true);
		pos = s ? evmap__bag_find(s, op->value) : -1;
		if (pos < 0) {
			resolve_noop(op, types);
			return 0;
		}
		drop_lookup_items(op, types);
		op->key = s->key;
		op->value = evmap__bag_values(s)[pos];
		evmap__bag_remove_at(s, (size_t)pos);
		op->flags |= EVMAP__OP_HAS_GARBAGE;
		break;
	case EVMAP__OP_REMOVE_KEY:
		s = existing_slot(op, c, true);
		if (!s) {
			resolve_noop(op, types);
			return 0;
		}
		drop_lookup_items(op, types);
		op->key = s->key;
		evmap__bag_take(s, &op->garbage.bag);
		evmap__table_remove(&c->table, s);
		op->flags |= EVMAP__OP_HAS_GARBAGE;
		break;
	case EVMAP__OP_PURGE: {
		struct evmap__table fresh;
		if (evmap__table_init(&fresh, types, 0) != 0)
			return -ENOMEM;
		op->garbage.table = c->table;
		c->table = fresh;
		op->flags |= EVMAP__OP_HAS_GARBAGE;
		break;
	}
	case EVMAP__OP_RESERVE:
		s = prepare_slot(op, c, types, true, 0);
		if (!s)
			return -ENOMEM;
		reserve_best_effort(s, op->count);
		break;
	case EVMAP__OP_FIT:
		s = existing_slot(op, c, true);
		if (!s) {
			resolve_noop(op, types);
			return 0;
		}
		drop_lookup_items(op, types);
		op->key = s->key;
		evmap__bag_fit(s);
		break;
	case EVMAP__OP_FIT_ALL: {
		size_t i = 0;
		while ((s = evmap__table_next(&c->table, &i)))
			evmap__bag_fit(s);
		(void)evmap__table_resize(&c->table, c->table.count);
		break;
	}
	case EVMAP__OP_EVICT:
		r = evict_first(op, &c->table);
		if (r < 0)
			return r;
		if (r > 0) {
			resolve_noop(op, types);
			return 0;
		}
		op->flags |= EVMAP__OP_HAS_GARBAGE;
		break;
	case EVMAP__OP_RETAIN: /* resolved by evmap__op_retain_first */
	default:
		break;
	}
	op->flags &= (uint8_t)~EVMAP__OP_OWNS_VALUE;
	op->flags |= EVMAP__OP_RESOLVED;
	return 0;
}

int evmap__op_retain_first(struct evmap__op *op, struct evmap_view *c,
			   bool (*keep)(const void *value, void *ctx),
			   void *ctx)
{
	const struct evmap__types *types = c->table.types;
	evmap__slot *s = existing_slot(op, c, true);
	struct evmap__removed *removed;
	uint32_t len;
	size_t k = 0;

	if (!s || evmap__bag_len(s) == 0) {
		resolve_noop(op, types);
		return 0;
	}
	len = evmap__bag_len(s);
	removed = evmap__malloc((size_t)len * sizeof(*removed));
	if (!removed)
		return -ENOMEM;
	drop_lookup_items(op, types);
	op->key = s->key;
	/* Downwards: removing position p moves the last value, which was
	 * already visited, into p; lower positions stay where they are. */
	for (uint32_t p = len; p-- > 0;) {
		const void *value = evmap__bag_values(s)[p];
		if (keep(value, ctx))
			continue;
		removed[k].key = value;
		removed[k].hash = 0;
		removed[k].bag = (struct evmap__bag_storage){0};
		k++;
		evmap__bag_remove_at(s, p);
	}
	if (k == 0) {
		evmap__free(removed);
		op->flags |= EVMAP__OP_RESOLVED | EVMAP__OP_NOOP;
		return 0;
	}
	op->count = k;
	op->garbage.removed = removed;
	op->flags |= EVMAP__OP_RESOLVED | EVMAP__OP_HAS_GARBAGE;
	return 0;
}

void evmap__table_free_items(struct evmap__table *t,
			     const struct evmap__types *types)
{
	evmap__slot *s;
	size_t i = 0;

	while ((s = evmap__table_next(t, &i))) {
		struct evmap__bag_storage bag;
		evmap__bag_take(s, &bag);
		evmap__bag_storage_release(&bag, types->value.type);
		free_key(types, s->key);
		s->len = EVMAP__SLOT_EMPTY;
	}
	t->count = 0;
}

void evmap__op_release_garbage(struct evmap__op *op,
			       const struct evmap__types *types)
{
	if (!(op->flags & EVMAP__OP_HAS_GARBAGE))
		return;
	op->flags &= (uint8_t)~EVMAP__OP_HAS_GARBAGE;
	switch (op->kind) {
	case EVMAP__OP_UPDATE:
	case EVMAP__OP_CLEAR_KEY:
		evmap__bag_storage_release(&op->garbage.bag, types->value.type);
		break;
	case EVMAP__OP_REMOVE_KEY:
		evmap__bag_storage_release(&op->garbage.bag, types->value.type);
		free_key(types, op->key);
		break;
	case EVMAP__OP_REMOVE_VALUE:
		free_value(types, op->value);
		break;
	case EVMAP__OP_PURGE:
		evmap__table_free_items(&op->garbage.table, types);
		evmap__table_destroy(&op->garbage.table);
		break;
	case EVMAP__OP_RETAIN:
		for (size_t i = 0; i < op->count; i++)
			free_value(types, op->garbage.removed[i].key);
		evmap__free(op->garbage.removed);
		break;
	case EVMAP__OP_EVICT:
		for (size_t i = 0; i < op->count; i++) {
			struct evmap__removed *r = &op->garbage.removed[i];
			evmap__bag_storage_release(&r->bag, types->value.type);
			free_key(types, r->key);
		}
		evmap__free(op->garbage.removed);
		break;
	default:
		break;
	}
}

/* Remove a key found by identity, dropping its bag storage (the items are
 * freed from the op's garbage). */
static void remove_identical_key(struct evmap__table *t, uint32_t hash,
				 const void *key)
{
	evmap__slot *s = evmap__table_find_identity(t, hash, key);
	if (s) {
		evmap__bag_drop_storage(s);
		evmap__table_remove(t, s);
	}
}

int evmap__op_apply_second(struct evmap__op *op, struct evmap_view *c,
			   const struct evmap__types *types)
{
	evmap__slot *s;
	long pos;

	if (op->flags & EVMAP__OP_NOOP)
		return 0;
	switch (op->kind) {
	case EVMAP__OP_INSERT:
		s = prepare_slot(op, c, types, false, 1);
		if (!s)
			return -ENOMEM;
		evmap__bag_push(s, op->value);
		break;
	case EVMAP__OP_UPDATE:
	case EVMAP__OP_CLEAR_KEY:
		s = prepare_slot(op, c, types, false, 0);
		if (!s)
			return -ENOMEM;
		evmap__bag_drop_storage(s);
		if (op->kind == EVMAP__OP_UPDATE)
			evmap__bag_push(s, op->value);
		break;
	case EVMAP__OP_REMOVE_VALUE:
		s = existing_slot(op, c, false);
		pos = s ? evmap__bag_find_identity(s, op->value) : -1;
		if (pos >= 0)
			evmap__bag_remove_at(s, (size_t)pos);
		break;
	case EVMAP__OP_REMOVE_KEY:
		remove_identical_key(&c->table, op->hash, op->key);
		break;
	case EVMAP__OP_PURGE:
		/* The old first copy becomes this copy's (empty) table. */
		evmap__table_destroy(&c->table);
		evmap__table_free_items(&op->garbage.table, types);
		c->table = op->garbage.table;
		op->flags &= (uint8_t)~EVMAP__OP_HAS_GARBAGE;
		break;
	case EVMAP__OP_RETAIN:
		s = existing_slot(op, c, false);
		for (size_t i = 0; s && i < op->count; i++) {
			pos = evmap__bag_find_identity(s, op->garbage.removed[i].key);
			if (pos >= 0)
				evmap__bag_remove_at(s, (size_t)pos);
		}
		break;
	case EVMAP__OP_RESERVE:
		s = prepare_slot(op, c, types, false, 0);
		if (!s)
			return -ENOMEM;
		reserve_best_effort(s, op->count);
		break;
	case EVMAP__OP_FIT:
		s = existing_slot(op, c, false);
		if (s)
			evmap__bag_fit(s);
		break;
	case EVMAP__OP_FIT_ALL: {
		size_t i = 0;
		while ((s = evmap__table_next(&c->table, &i)))
			evmap__bag_fit(s);
		(void)evmap__table_resize(&c->table, c->table.count);
		break;
	}
	case EVMAP__OP_EVICT:
		for (size_t i = 0; i < op->count; i++)
			remove_identical_key(&c->table,
					     op->garbage.removed[i].hash,
					     op->garbage.removed[i].key);
		break;
	default:
		break;
	}
	evmap__op_release_garbage(op, types);
	return 0;
}

void evmap__op_release_unapplied(struct evmap__op *op,
				 const struct evmap__types *types)
{
	if (op->flags & (EVMAP__OP_OWNS_KEY | EVMAP__OP_LOOKUP_KEY))
		free_key(types, op->key);
	if (op->flags & (EVMAP__OP_OWNS_VALUE | EVMAP__OP_LOOKUP_VALUE))
		free_value(types, op->value);
	op->flags &= (uint8_t)~(EVMAP__OP_OWNS_KEY | EVMAP__OP_LOOKUP_KEY |
				EVMAP__OP_OWNS_VALUE | EVMAP__OP_LOOKUP_VALUE);
}

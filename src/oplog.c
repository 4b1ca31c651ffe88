/* SPDX-License-Identifier: MIT */
/*
 * oplog.c - the writer's operation log (oplog.h), and each operation's
 * behaviour on a copy.
 *
 * The log
 * -------
 * A map has two copies: readers use the published one, the writer changes
 * only the other, the standby. A write is not applied to a copy when it is
 * made: it is logged, as an op. At refresh the writer waits until no
 * reader is inside the standby, brings it up to date and publishes it; the
 * copy it replaces becomes the new standby, which has missed every op the
 * refresh just published. So every op is applied twice:
 *
 *  - its first application, to the standby at the refresh that publishes
 *    it, decides what the op means, with the user's callbacks: which stored
 *    key the key argument is equal to, which stored value remove_value
 *    removes, which values retain's keep rejects, which keys evict picks.
 *    It records the answer in the op: the stored key and value pointers,
 *    the hash, what it took out of the copy;
 *  - its second application, to the other copy at the next refresh,
 *    replays that answer by identity: it finds the stored key by its
 *    pointer under the recorded hash, and values by pointer, and never
 *    calls equal, keep or the hash of a key again (a large bag's index may
 *    hash a value again, to find its position). A type whose callbacks
 *    answer differently the second time (or at random) therefore cannot
 *    make the copies differ: both hold the same pointers.
 *
 * Garbage is what an op's first application takes out of the first copy:
 * the bag an update replaced, the key and bag a remove_key removed, the
 * value a remove_value removed, the whole table of a purge, the keys of
 * an evict, the values retain rejected. The items are still in the other
 * copy, which readers may be reading, so they are kept in the op, and
 * freed by its second application, which takes them out of the other
 * copy, after the wait that proves no reader is inside it. That is why an
 * item is freed exactly once, and never while a reader can see it.
 *
 * Each application either completes or fails with -ENOMEM having changed
 * nothing, so a refresh that runs out of memory can be called again and
 * resumes at the op that failed. An op that is never applied (the map is
 * destroyed first) frees the items it owns (release_unapplied).
 *
 * Below, one section per op kind holds its first application, its second
 * and the freeing of its garbage, side by side, so that "the second
 * application reaches the same entries as the first" can be checked op by
 * op; the table op_behaviours names them.
 */
#include "oplog.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"

/* ---- the log's array and cursors ---- */

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

void evmap__oplog_push(struct evmap__oplog *log, const struct evmap__op *op)
{
	log->ops[log->len++] = *op;
}

/* Give back room a burst of writes left once the log is at most a quarter
 * full (halving, never below the initial 64 ops). Best effort: on failure
 * the log keeps its array. */
static void shrink(struct evmap__oplog *log)
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

/* ---- helpers shared by several ops ---- */

static void free_key(const struct evmap__types *types, const void *key)
{
	evmap__item_free(types->key.type, key);
}

static void free_value(const struct evmap__types *types, const void *value)
{
	evmap__item_free(types->value.type, value);
}

/* The lookup clones an op made are no longer needed once applied. */
static void drop_lookup_items(struct evmap__op *op,
			      const struct evmap__types *types)
{
	if (op->flags & EVMAP__OP_LOOKUP_KEY)
		free_key(types, op->key);
	if (op->flags & EVMAP__OP_LOOKUP_VALUE)
		free_value(types, op->value);
	op->flags &= (uint8_t)~(EVMAP__OP_LOOKUP_KEY | EVMAP__OP_LOOKUP_VALUE);
}

/* The first application found nothing to do: the second will not run. */
static int resolve_noop(struct evmap__op *op, const struct evmap__types *types)
{
	drop_lookup_items(op, types);
	op->flags |= EVMAP__OP_NOOP;
	return 0;
}

/* The first application found the stored key @s: the op names it from
 * now on (its lookup clones are freed). */
static void resolve_key(struct evmap__op *op, const evmap__bag *s,
			const struct evmap__types *types)
{
	drop_lookup_items(op, types);
	op->key = s->key;
}

/*
 * The slot of the op's key in @c, created if absent, with room for @extra
 * more values. On the first application the key is found with the user's
 * equal; an existing key wins and the op's own copy of it is freed. On the
 * second, the stored key pointer is found by identity. NULL on -ENOMEM
 * (unchanged).
 */
static evmap__bag *prepare_slot(struct evmap__op *op, struct evmap_view *c,
				 const struct evmap__types *types, bool first,
				 size_t extra)
{
	struct evmap__table *t = &c->table;
	evmap__bag *s = first ? evmap__table_find(t, op->hash, op->key)
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

/* The slot of the op's key, for ops that never create it, or NULL: by the
 * user's equal on the first application, by identity on the second. */
static evmap__bag *existing_slot(struct evmap__op *op, struct evmap_view *c,
				  bool first)
{
	if (first)
		return evmap__table_find(&c->table, op->hash, op->key);
	return evmap__table_find_identity(&c->table, op->hash, op->key);
}

/* Remove a key found by identity, dropping its bag storage (the items are
 * freed from the op's garbage). */
static void remove_identical_key(struct evmap__table *t, uint32_t hash,
				 const void *key)
{
	evmap__bag *s = evmap__table_find_identity(t, hash, key);

	if (s) {
		evmap__bag_drop_storage(s);
		evmap__table_remove(t, s);
	}
}

static void free_taken_bag(struct evmap__op *op,
			   const struct evmap__types *types)
{
	evmap__bag_storage_release(&op->u.taken_bag, types->value.type);
}

/* ---- insert: one more value in the key's bag (the key created) ---- */

/* Both applications: only how the key is found differs (prepare_slot). */
static int insert_apply(struct evmap__op *op, struct evmap_view *c,
			const struct evmap__types *types, bool first)
{
	evmap__bag *s = prepare_slot(op, c, types, first, 1);

	if (!s)
		return -ENOMEM;
	evmap__bag_push(s, op->value); /* room was reserved */
	return 0;
}

static int insert_first(struct evmap__op *op, struct evmap_view *c,
			const struct evmap__types *types)
{
	return insert_apply(op, c, types, true);
}

static int insert_second(struct evmap__op *op, struct evmap_view *c,
			 const struct evmap__types *types)
{
	return insert_apply(op, c, types, false);
}

/* ---- update and clear_key: the key's bag is emptied (the key created),
 *      then update puts {value} in it; garbage: the old bag ---- */

/* First application: the old bag goes to the op's garbage. */
static evmap__bag *take_bag_first(struct evmap__op *op, struct evmap_view *c,
				  const struct evmap__types *types)
{
	evmap__bag *s = prepare_slot(op, c, types, true, 0);

	if (s) {
		evmap__bag_take(s, &op->u.taken_bag);
		op->flags |= EVMAP__OP_HAS_GARBAGE;
	}
	return s;
}

/* Second application: the same values are in the garbage; only the
 * storage of this copy's bag goes. */
static evmap__bag *drop_bag_second(struct evmap__op *op, struct evmap_view *c,
				   const struct evmap__types *types)
{
	evmap__bag *s = prepare_slot(op, c, types, false, 0);

	if (s)
		evmap__bag_drop_storage(s);
	return s;
}

static int update_first(struct evmap__op *op, struct evmap_view *c,
			const struct evmap__types *types)
{
	evmap__bag *s = take_bag_first(op, c, types);

	if (!s)
		return -ENOMEM;
	evmap__bag_push(s, op->value); /* into the empty bag: inline */
	return 0;
}

static int update_second(struct evmap__op *op, struct evmap_view *c,
			 const struct evmap__types *types)
{
	evmap__bag *s = drop_bag_second(op, c, types);

	if (!s)
		return -ENOMEM;
	evmap__bag_push(s, op->value);
	return 0;
}

static int clear_key_first(struct evmap__op *op, struct evmap_view *c,
			   const struct evmap__types *types)
{
	return take_bag_first(op, c, types) ? 0 : -ENOMEM;
}

static int clear_key_second(struct evmap__op *op, struct evmap_view *c,
			    const struct evmap__types *types)
{
	return drop_bag_second(op, c, types) ? 0 : -ENOMEM;
}

/* ---- remove_value: one value equal to the op's leaves the bag;
 *      garbage: that stored value ---- */

static int remove_value_first(struct evmap__op *op, struct evmap_view *c,
			      const struct evmap__types *types)
{
	evmap__bag *s = existing_slot(op, c, true);
	long pos = s ? evmap__bag_find(s, op->value) : -1;

	if (pos < 0)
		return resolve_noop(op, types);
	resolve_key(op, s, types);
	op->value = evmap__bag_values(s)[pos];
	evmap__bag_remove_at(s, (size_t)pos);
	op->flags |= EVMAP__OP_HAS_GARBAGE;
	return 0;
}

static int remove_value_second(struct evmap__op *op, struct evmap_view *c,
			       const struct evmap__types *types)
{
	evmap__bag *s = existing_slot(op, c, false);
	long pos = s ? evmap__bag_find_identity(s, op->value) : -1;

	(void)types;
	if (pos >= 0)
		evmap__bag_remove_at(s, (size_t)pos);
	return 0;
}

static void remove_value_free(struct evmap__op *op,
			      const struct evmap__types *types)
{
	free_value(types, op->value);
}

/* ---- remove_key: the key and its bag leave; garbage: both ---- */

static int remove_key_first(struct evmap__op *op, struct evmap_view *c,
			    const struct evmap__types *types)
{
	evmap__bag *s = existing_slot(op, c, true);

	if (!s)
		return resolve_noop(op, types);
	resolve_key(op, s, types);
	evmap__bag_take(s, &op->u.taken_bag);
	evmap__table_remove(&c->table, s);
	op->flags |= EVMAP__OP_HAS_GARBAGE;
	return 0;
}

static int remove_key_second(struct evmap__op *op, struct evmap_view *c,
			     const struct evmap__types *types)
{
	(void)types;
	remove_identical_key(&c->table, op->hash, op->key);
	return 0;
}

static void remove_key_free(struct evmap__op *op,
			    const struct evmap__types *types)
{
	free_taken_bag(op, types);
	free_key(types, op->key);
}

/* ---- purge: every key leaves; garbage: the first copy's old table ---- */

static int purge_first(struct evmap__op *op, struct evmap_view *c,
		       const struct evmap__types *types)
{
	struct evmap__table fresh;

	if (evmap__table_init(&fresh, types, 0) != 0)
		return -ENOMEM;
	op->u.purged_table = c->table;
	c->table = fresh;
	op->flags |= EVMAP__OP_HAS_GARBAGE;
	return 0;
}

static int purge_second(struct evmap__op *op, struct evmap_view *c,
			const struct evmap__types *types)
{
	/* The first copy's old table, emptied, becomes this copy's table:
	 * nothing to allocate, so nothing can fail. */
	evmap__table_destroy(&c->table);
	evmap__table_free_items(&op->u.purged_table, types);
	c->table = op->u.purged_table;
	op->flags &= (uint8_t)~EVMAP__OP_HAS_GARBAGE;
	return 0;
}

static void purge_free(struct evmap__op *op, const struct evmap__types *types)
{
	evmap__table_free_items(&op->u.purged_table, types);
	evmap__table_destroy(&op->u.purged_table);
}

/* ---- retain: the values keep() rejects leave the bag; garbage: them.
 *      The first application runs in evmap_retain() itself (it needs the
 *      callback), through evmap__oplog_apply_retain. ---- */

static int retain_first(struct evmap__op *op, struct evmap_view *c,
			bool (*keep)(const void *value, void *ctx), void *ctx)
{
	const struct evmap__types *types = c->table.types;
	evmap__bag *s = existing_slot(op, c, true);
	const void **rejected;
	uint32_t len;
	size_t k = 0;

	if (!s || evmap__bag_len(s) == 0)
		return resolve_noop(op, types);
	len = evmap__bag_len(s);
	rejected = evmap__malloc((size_t)len * sizeof(*rejected));
	if (!rejected)
		return -ENOMEM;
	resolve_key(op, s, types);
	/* Downwards: removing position p moves the last value, which was
	 * already visited, into p; lower positions stay where they are. */
	for (uint32_t p = len; p-- > 0;) {
		const void *value = evmap__bag_values(s)[p];

		if (keep(value, ctx))
			continue;
		rejected[k++] = value;
		evmap__bag_remove_at(s, p);
	}
	if (k == 0) {
		evmap__free(rejected);
		op->flags |= EVMAP__OP_NOOP;
		return 0;
	}
	op->u.rejected.values = rejected;
	op->u.rejected.count = k;
	op->flags |= EVMAP__OP_HAS_GARBAGE;
	return 0;
}

static int retain_second(struct evmap__op *op, struct evmap_view *c,
			 const struct evmap__types *types)
{
	evmap__bag *s = existing_slot(op, c, false);

	(void)types;
	for (size_t i = 0; s && i < op->u.rejected.count; i++) {
		long pos = evmap__bag_find_identity(s, op->u.rejected.values[i]);

		if (pos >= 0)
			evmap__bag_remove_at(s, (size_t)pos);
	}
	return 0;
}

static void retain_free(struct evmap__op *op, const struct evmap__types *types)
{
	for (size_t i = 0; i < op->u.rejected.count; i++)
		free_value(types, op->u.rejected.values[i]);
	evmap__free(op->u.rejected.values);
}

/* ---- reserve: room in the key's bag (the key created); no garbage.
 *      Reserved room is not observable, so room that cannot be allocated
 *      is skipped instead of failing the refresh: an -ENOMEM here would
 *      fail every later refresh too, and no op behind it would ever be
 *      published. ---- */

static int reserve_apply(struct evmap__op *op, struct evmap_view *c,
			 const struct evmap__types *types, bool first)
{
	evmap__bag *s = prepare_slot(op, c, types, first, 0);

	if (!s)
		return -ENOMEM;
	(void)evmap__bag_reserve(s, op->u.reserve_additional);
	return 0;
}

static int reserve_first(struct evmap__op *op, struct evmap_view *c,
			 const struct evmap__types *types)
{
	return reserve_apply(op, c, types, true);
}

static int reserve_second(struct evmap__op *op, struct evmap_view *c,
			  const struct evmap__types *types)
{
	return reserve_apply(op, c, types, false);
}

/* ---- fit: the key's bag storage shrinks to its length; no garbage ---- */

static int fit_first(struct evmap__op *op, struct evmap_view *c,
		     const struct evmap__types *types)
{
	evmap__bag *s = existing_slot(op, c, true);

	if (!s)
		return resolve_noop(op, types);
	resolve_key(op, s, types);
	evmap__bag_fit(s);
	return 0;
}

static int fit_second(struct evmap__op *op, struct evmap_view *c,
		      const struct evmap__types *types)
{
	evmap__bag *s = existing_slot(op, c, false);

	(void)types;
	if (s)
		evmap__bag_fit(s);
	return 0;
}

/* ---- fit_all: every bag, and the table, shrink to fit; no garbage.
 *      It names no item, so both applications are the same. ---- */

static int fit_all_apply(struct evmap__op *op, struct evmap_view *c,
			 const struct evmap__types *types)
{
	evmap__bag *s;
	size_t i = 0;

	(void)op;
	(void)types;
	while ((s = evmap__table_next(&c->table, &i)))
		evmap__bag_fit(s);
	(void)evmap__table_resize(&c->table, c->table.count);
	return 0;
}

/* ---- evict: keys picked at random by the op's seed leave, with their
 *      bags; garbage: the keys and bags ---- */

static int evict_first(struct evmap__op *op, struct evmap_view *c,
		       const struct evmap__types *types)
{
	struct evmap__table *t = &c->table;
	size_t k = op->u.evict_request.keys < t->count
			   ? op->u.evict_request.keys
			   : t->count;
	uint64_t state = op->u.evict_request.seed;
	struct evmap__evicted_key *evicted;

	if (k == 0)
		return resolve_noop(op, types);
	if (!evmap__mul_size(k, sizeof(*evicted), &(size_t){0}))
		return -ENOMEM;
	evicted = evmap__malloc(k * sizeof(*evicted));
	if (!evicted)
		return -ENOMEM;
	for (size_t i = 0; i < k; i++) {
		size_t pos = (size_t)evmap__splitmix64(&state) & t->mask;
		evmap__bag *s;

		while (evmap__slot_is_empty(&t->slots[pos]))
			pos = (pos + 1) & t->mask;
		s = &t->slots[pos];
		evicted[i].key = s->key;
		evicted[i].hash = s->hash;
		evmap__bag_take(s, &evicted[i].bag);
		evmap__table_remove(t, s);
	}
	op->u.evicted.keys = evicted;
	op->u.evicted.count = k;
	op->flags |= EVMAP__OP_HAS_GARBAGE;
	return 0;
}

static int evict_second(struct evmap__op *op, struct evmap_view *c,
			const struct evmap__types *types)
{
	(void)types;
	for (size_t i = 0; i < op->u.evicted.count; i++)
		remove_identical_key(&c->table, op->u.evicted.keys[i].hash,
				     op->u.evicted.keys[i].key);
	return 0;
}

static void evict_free(struct evmap__op *op, const struct evmap__types *types)
{
	for (size_t i = 0; i < op->u.evicted.count; i++) {
		struct evmap__evicted_key *e = &op->u.evicted.keys[i];

		evmap__bag_storage_release(&e->bag, types->value.type);
		free_key(types, e->key);
	}
	evmap__free(op->u.evicted.keys);
}

/* ---- every op kind: its two applications and its garbage ---- */

typedef int (*apply_fn)(struct evmap__op *op, struct evmap_view *c,
			const struct evmap__types *types);

static const struct op_behaviour {
	apply_fn first;  /* NULL: applied elsewhere (retain) */
	apply_fn second;
	void (*free_garbage)(struct evmap__op *op,
			     const struct evmap__types *types);
} op_behaviours[EVMAP__OP_KINDS] = {
    [EVMAP__OP_INSERT] = {insert_first, insert_second, NULL},
    [EVMAP__OP_UPDATE] = {update_first, update_second, free_taken_bag},
    [EVMAP__OP_REMOVE_VALUE] = {remove_value_first, remove_value_second,
				remove_value_free},
    [EVMAP__OP_CLEAR_KEY] = {clear_key_first, clear_key_second,
			     free_taken_bag},
    [EVMAP__OP_REMOVE_KEY] = {remove_key_first, remove_key_second,
			      remove_key_free},
    [EVMAP__OP_PURGE] = {purge_first, purge_second, purge_free},
    [EVMAP__OP_RETAIN] = {NULL, retain_second, retain_free},
    [EVMAP__OP_RESERVE] = {reserve_first, reserve_second, NULL},
    [EVMAP__OP_FIT] = {fit_first, fit_second, NULL},
    [EVMAP__OP_FIT_ALL] = {fit_all_apply, fit_all_apply, NULL},
    [EVMAP__OP_EVICT] = {evict_first, evict_second, evict_free},
};

/* First application to @c. 0 or -ENOMEM (nothing changed). */
static int apply_first(struct evmap__op *op, struct evmap_view *c,
		       const struct evmap__types *types)
{
	apply_fn first = op_behaviours[op->kind].first;
	int r = first ? first(op, c, types) : 0;

	if (r == 0) /* the value, if the op owned one, is in the copy now */
		op->flags &= (uint8_t)~EVMAP__OP_OWNS_VALUE;
	return r;
}

/* Free the garbage of a first-applied op. */
static void release_garbage(struct evmap__op *op,
			    const struct evmap__types *types)
{
	void (*free_garbage)(struct evmap__op *, const struct evmap__types *) =
	    op_behaviours[op->kind].free_garbage;

	if (!(op->flags & EVMAP__OP_HAS_GARBAGE))
		return;
	op->flags &= (uint8_t)~EVMAP__OP_HAS_GARBAGE;
	if (free_garbage)
		free_garbage(op, types);
}

/* Second application to @c, then free the op's garbage. 0 or -ENOMEM. */
static int apply_second(struct evmap__op *op, struct evmap_view *c,
			const struct evmap__types *types)
{
	int r;

	if (op->flags & EVMAP__OP_NOOP)
		return 0;
	r = op_behaviours[op->kind].second(op, c, types);
	if (r == 0)
		release_garbage(op, types);
	return r;
}

/* Free what a never-applied op owns (its key, value, lookup clones). */
static void release_unapplied(struct evmap__op *op,
			      const struct evmap__types *types)
{
	if (op->flags & (EVMAP__OP_OWNS_KEY | EVMAP__OP_LOOKUP_KEY))
		free_key(types, op->key);
	if (op->flags & (EVMAP__OP_OWNS_VALUE | EVMAP__OP_LOOKUP_VALUE))
		free_value(types, op->value);
	op->flags &= (uint8_t)~(EVMAP__OP_OWNS_KEY | EVMAP__OP_LOOKUP_KEY |
				EVMAP__OP_OWNS_VALUE | EVMAP__OP_LOOKUP_VALUE);
}

/* ---- the log's life cycle ---- */

int evmap__oplog_catch_up(struct evmap__oplog *log, struct evmap_view *standby,
			  const struct evmap__types *types)
{
	int r;

	for (; log->replayed < log->published_end; log->replayed++) {
		r = apply_second(&log->ops[log->replayed], standby, types);
		if (r)
			return r;
	}
	for (; log->applied < log->len; log->applied++) {
		r = apply_first(&log->ops[log->applied], standby, types);
		if (r)
			return r;
	}
	return 0;
}

void evmap__oplog_published(struct evmap__oplog *log)
{
	size_t done = log->published_end;

	if (done)
		memmove(log->ops, log->ops + done,
			(log->len - done) * sizeof(log->ops[0]));
	log->len -= done;
	shrink(log);
	log->published_end = log->len;
	log->replayed = 0;
	log->applied = log->len;
}

int evmap__oplog_apply_retain(struct evmap__oplog *log,
			      struct evmap_view *standby,
			      bool (*keep)(const void *value, void *ctx),
			      void *ctx)
{
	struct evmap__op *op = &log->ops[log->len - 1];
	int r = retain_first(op, standby, keep, ctx);

	if (r) {
		release_unapplied(op, standby->table.types);
		log->len--;
		return r;
	}
	log->applied = log->len;
	return 0;
}

bool evmap__oplog_published_is_ahead(const struct evmap__oplog *log)
{
	return log->replayed < log->published_end;
}

void evmap__oplog_destroy(struct evmap__oplog *log,
			  const struct evmap__types *types)
{
	/* ops applied to one copy only hold garbage; later ones, nothing
	 * applied, own their items */
	size_t from = evmap__oplog_published_is_ahead(log) ? log->replayed
							   : log->published_end;
	size_t to = evmap__oplog_published_is_ahead(log) ? log->published_end
							 : log->applied;

	for (size_t i = from; i < to; i++)
		release_garbage(&log->ops[i], types);
	for (size_t i = to; i < log->len; i++)
		release_unapplied(&log->ops[i], types);
	evmap__free(log->ops);
	*log = (struct evmap__oplog){0};
}

/* SPDX-License-Identifier: MIT */
/*
 * writer.c - the writer handle: logging writes, refresh, meta, creation
 * and destruction.
 *
 * Writes are logged (oplog.c: the log, its cursors, and each op's two
 * applications). The standby may be changed only once no reader handle of
 * the map can still be inside it (evmap__registry_wait, registry.c);
 * destruction waits the same way for every handle to be out of both
 * copies (a liburcu grace period only when deferred).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "map.h"
#include "oplog.h"
#include "registry.h"

struct evmap_writer {
	struct evmap_view copies[2];
	struct evmap__shared *shared;
	struct evmap_view *standby;
	struct evmap__oplog log;
	bool standby_ready; /* no reader can be inside the standby */
	uint64_t generation;
	void *meta; /* published with the next refresh */
	void (*meta_free)(void *);
	struct evmap__wait_stats wait_stats;
	bool busy; /* inside a writer call (user callbacks may run) */
};

struct evmap_options {
	size_t capacity;
	uint64_t seed;
	bool has_seed;
	void *meta;
	void (*meta_free)(void *);
};

/* ---- options ---- */

EVMAP_EXPORT evmap_options *evmap_options_new(void)
{
	return evmap__calloc(1, sizeof(evmap_options));
}

EVMAP_EXPORT void evmap_options_free(evmap_options *o)
{
	evmap__free(o);
}

EVMAP_EXPORT int evmap_options_set_capacity(evmap_options *o, size_t keys)
{
	if (!o)
		return -EINVAL;
	if (!evmap__table_slots_for(keys))
		return -ENOMEM;
	o->capacity = keys;
	return 0;
}

EVMAP_EXPORT int evmap_options_set_hash_seed(evmap_options *o, uint64_t seed)
{
	if (!o)
		return -EINVAL;
	o->seed = seed;
	o->has_seed = true;
	return 0;
}

EVMAP_EXPORT int evmap_options_set_meta(evmap_options *o, void *meta,
					void (*meta_free)(void *))
{
	if (!o)
		return -EINVAL;
	o->meta = meta;
	o->meta_free = meta_free;
	return 0;
}

/* ---- creation ---- */

EVMAP_EXPORT int evmap_new(const evmap_type *key_type,
			   const evmap_type *value_type,
			   const evmap_options *opts, evmap_writer **writer,
			   evmap_reader **reader)
{
	evmap_options defaults = {0};
	struct evmap__shared *shared;
	evmap_writer *w;
	evmap_reader *r;
	uint64_t seed;

	if (!key_type || !key_type->hash || !value_type || !writer || !reader)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	seed = opts->has_seed ? opts->seed : evmap__random_seed();
	shared = evmap__aligned_alloc(64, sizeof(*shared));
	if (shared)
		memset(shared, 0, sizeof(*shared));
	/* aligned: the copies' lines are not shared with the writer's own
	 * fields, which change at every write */
	w = evmap__aligned_alloc(64, sizeof(*w));
	if (w)
		memset(w, 0, sizeof(*w));
	if (!shared || !w)
		goto nomem;
	evmap__item_type_init(&shared->types.key, key_type, seed);
	evmap__item_type_init(&shared->types.value, value_type, seed ^ 1);
	shared->value_type_frees = value_type->free != NULL;
	shared->get_first_fast = !shared->value_type_frees &&
				 shared->types.key.kind == EVMAP__KIND_IDENTITY &&
				 evmap__rcu_readers_use_membarrier();
	shared->published = EVMAP__PUBLISHED_NONE;
	shared->refs = 1; /* the writer's; the reader takes its own */
	w->shared = shared;
	shared->copies[0] = &w->copies[0];
	shared->copies[1] = &w->copies[1];
	if (evmap__table_init(&w->copies[0].table, &shared->types,
			      opts->capacity) != 0 ||
	    evmap__table_init(&w->copies[1].table, &shared->types,
			      opts->capacity) != 0)
		goto nomem;
	r = evmap__reader_new(shared);
	if (!r)
		goto nomem;
	w->standby = &w->copies[0];
	w->standby_ready = true;
	w->meta = opts->meta;
	w->meta_free = opts->meta_free;
	*writer = w;
	*reader = r;
	return 0;
nomem:
	if (w) {
		evmap__table_destroy(&w->copies[0].table);
		evmap__table_destroy(&w->copies[1].table);
	}
	evmap__aligned_free(w);
	evmap__aligned_free(shared);
	return -ENOMEM;
}

EVMAP_EXPORT evmap_reader *evmap_writer_reader(evmap_writer *w)
{
	if (!w)
		return NULL;
	return evmap__reader_new(w->shared);
}

/* ---- logging writes ---- */

static const struct evmap__types *types_of(const evmap_writer *w)
{
	return &w->shared->types;
}

static bool rejects(const struct evmap__item_type *it, const void *item)
{
	return it->kind == EVMAP__KIND_CSTR && item == NULL;
}

/* The map's own copy of @item: a clone if the type clones, else @item. */
static int take_item(const struct evmap__item_type *it, const void *item,
		     const void **out, bool *cloned)
{
	const evmap_type *type = it->type;

	*cloned = false;
	if (!type->clone) {
		*out = item;
		return 0;
	}
	*out = type->clone(item, type->ctx);
	if (!*out && item)
		return -ENOMEM;
	*cloned = true;
	return 0;
}

enum item_role { ITEM_NONE, ITEM_OWNED, ITEM_LOOKUP };

/*
 * Append an op. @key_role/@value_role say whether the op stores the item
 * (OWNED: the map keeps it, cloned if the type clones) or only looks it up
 * (LOOKUP: a clone if the type clones, else the caller's pointer).
 * On failure nothing is logged and nothing the caller passed is kept.
 */
static int log_op(evmap_writer *w, struct evmap__op *op, const void *key,
		  enum item_role key_role, const void *value,
		  enum item_role value_role)
{
	const struct evmap__types *types = types_of(w);
	bool key_cloned = false, value_cloned = false;

	if ((key_role != ITEM_NONE && rejects(&types->key, key)) ||
	    (value_role != ITEM_NONE && rejects(&types->value, value)))
		return -EINVAL;
	if (evmap__oplog_reserve(&w->log) != 0)
		return -ENOMEM;
	if (key_role != ITEM_NONE) {
		op->hash = evmap__item_hash(&types->key, key);
		if (take_item(&types->key, key, &op->key, &key_cloned) != 0)
			return -ENOMEM;
		op->flags |= key_role == ITEM_OWNED ? EVMAP__OP_OWNS_KEY
			     : key_cloned           ? EVMAP__OP_LOOKUP_KEY
						    : 0;
	}
	if (value_role != ITEM_NONE) {
		if (take_item(&types->value, value, &op->value,
			      &value_cloned) != 0) {
			if (key_cloned)
				evmap__item_free(types->key.type, op->key);
			return -ENOMEM;
		}
		op->flags |= value_role == ITEM_OWNED ? EVMAP__OP_OWNS_VALUE
			     : value_cloned           ? EVMAP__OP_LOOKUP_VALUE
						      : 0;
	}
	evmap__oplog_push(&w->log, op);
	return 0;
}

/*
 * Every writer call that may run a user callback (hash, equal, clone,
 * free, keep, meta_free) runs between begin_call and end_call. A writer
 * call made from inside such a callback, on the same map, finds the
 * writer busy and fails with -EBUSY without touching anything: the outer
 * call may be halfway through the log or a copy. The writer is used by
 * one thread at a time, so a plain flag suffices.
 */
static int begin_call(evmap_writer *w)
{
	if (!w)
		return -EINVAL;
	if (w->busy)
		return -EBUSY;
	w->busy = true;
	return 0;
}

static int end_call(evmap_writer *w, int result)
{
	w->busy = false;
	return result;
}

static int log_key_op(evmap_writer *w, enum evmap__op_kind kind,
		      const void *key, enum item_role key_role,
		      const void *value, enum item_role value_role)
{
	struct evmap__op op = {.kind = (uint8_t)kind};
	int r = begin_call(w);

	if (r)
		return r;
	return end_call(w, log_op(w, &op, key, key_role, value, value_role));
}

EVMAP_EXPORT int evmap_insert(evmap_writer *w, const void *key,
			      const void *value)
{
	return log_key_op(w, EVMAP__OP_INSERT, key, ITEM_OWNED, value,
			  ITEM_OWNED);
}

EVMAP_EXPORT int evmap_update(evmap_writer *w, const void *key,
			      const void *value)
{
	return log_key_op(w, EVMAP__OP_UPDATE, key, ITEM_OWNED, value,
			  ITEM_OWNED);
}

EVMAP_EXPORT int evmap_remove_value(evmap_writer *w, const void *key,
				    const void *value)
{
	return log_key_op(w, EVMAP__OP_REMOVE_VALUE, key, ITEM_LOOKUP, value,
			  ITEM_LOOKUP);
}

EVMAP_EXPORT int evmap_clear_key(evmap_writer *w, const void *key)
{
	return log_key_op(w, EVMAP__OP_CLEAR_KEY, key, ITEM_OWNED, NULL,
			  ITEM_NONE);
}

EVMAP_EXPORT int evmap_remove_key(evmap_writer *w, const void *key)
{
	return log_key_op(w, EVMAP__OP_REMOVE_KEY, key, ITEM_LOOKUP, NULL,
			  ITEM_NONE);
}

EVMAP_EXPORT int evmap_fit(evmap_writer *w, const void *key)
{
	return log_key_op(w, EVMAP__OP_FIT, key, ITEM_LOOKUP, NULL, ITEM_NONE);
}

EVMAP_EXPORT int evmap_purge(evmap_writer *w)
{
	return log_key_op(w, EVMAP__OP_PURGE, NULL, ITEM_NONE, NULL, ITEM_NONE);
}

EVMAP_EXPORT int evmap_fit_all(evmap_writer *w)
{
	return log_key_op(w, EVMAP__OP_FIT_ALL, NULL, ITEM_NONE, NULL,
			  ITEM_NONE);
}

EVMAP_EXPORT int evmap_reserve(evmap_writer *w, const void *key,
			       size_t additional)
{
	struct evmap__op op = {.kind = EVMAP__OP_RESERVE,
			       .u.reserve_additional = additional};
	int r = begin_call(w);

	if (r)
		return r;
	if (additional > EVMAP__BAG_MAX_LEN)
		return end_call(w, -ENOMEM);
	return end_call(w, log_op(w, &op, key, ITEM_OWNED, NULL, ITEM_NONE));
}

EVMAP_EXPORT int evmap_evict(evmap_writer *w, size_t keys, uint64_t seed)
{
	struct evmap__op op = {.kind = EVMAP__OP_EVICT,
			       .u.evict_request = {.keys = keys, .seed = seed}};
	int r = begin_call(w);

	if (r)
		return r;
	return end_call(w, log_op(w, &op, NULL, ITEM_NONE, NULL, ITEM_NONE));
}

/*
 * Meta ownership. Three places hold a meta: w->meta (the one the next
 * refresh publishes) and each copy's meta (the one it was last published
 * with: the published copy's is what readers see, the standby's what
 * readers may still see until the next wait). The same meta may be in
 * several places at once. A place lets go of its meta with meta_let_go();
 * the map frees a meta when the last place holding it lets go.
 */
static bool meta_is_held(const evmap_writer *w, const void *meta)
{
	return meta == w->meta || meta == w->copies[0].meta ||
	       meta == w->copies[1].meta;
}

static void meta_let_go(evmap_writer *w, void **place)
{
	void *meta = *place;

	*place = NULL;
	if (meta && !meta_is_held(w, meta) && w->meta_free)
		w->meta_free(meta);
}

EVMAP_EXPORT int evmap_set_meta(evmap_writer *w, void *meta)
{
	int r = begin_call(w);

	if (r)
		return r;
	if (meta != w->meta) {
		/* freed now unless a copy holds it (it was never published) */
		meta_let_go(w, &w->meta);
		w->meta = meta;
	}
	return end_call(w, 0);
}

EVMAP_EXPORT size_t evmap_pending(const evmap_writer *w)
{
	return w ? evmap__oplog_pending(&w->log) : 0;
}

EVMAP_EXPORT uint64_t evmap_generation(const evmap_writer *w)
{
	return w ? w->generation : 0;
}

/* ---- refresh ---- */

static struct evmap_view *published_copy(evmap_writer *w)
{
	return w->standby == &w->copies[0] ? &w->copies[1] : &w->copies[0];
}


/*
 * Bring the standby up to date: wait until no reader can be inside it
 * (unless @may_wait is false: -EAGAIN), replay the published ops on it,
 * then apply the pending ones. Resumable after -ENOMEM.
 */
static int catch_up(evmap_writer *w, bool may_wait)
{
	const struct evmap__types *types = types_of(w);
	int r;

	if (!w->standby_ready) {
		r = evmap__registry_wait(w->shared, w->generation, may_wait,
					 &w->wait_stats);
		if (r)
			return r;
		w->standby_ready = true;
		/* no reader can see the standby's meta any more */
		meta_let_go(w, &w->standby->meta);
	}
	return evmap__oplog_catch_up(&w->log, w->standby, types);
}

/* Make the caught-up standby the published copy. */
static void publish(evmap_writer *w)
{
	struct evmap_view *next = w->standby, *prev = published_copy(w);

	next->meta = w->meta;
	next->generation = ++w->generation;
	/* release: the copy's contents before its name (registry.h) */
	__atomic_store_n(&w->shared->published,
			 (next->generation << 1) | (uint64_t)(next - w->copies),
			 __ATOMIC_RELEASE);
	w->standby = prev;
	/* a copy never published has never had readers */
	w->standby_ready = prev->generation == 0;
	evmap__oplog_published(&w->log);
}

static int refresh(evmap_writer *w, bool may_wait)
{
	int r = begin_call(w);

	if (r)
		return r;
	if (evmap__rcu_in_section())
		return end_call(w, -EDEADLK);
	r = catch_up(w, may_wait);
	if (r == 0)
		publish(w);
	return end_call(w, r);
}

EVMAP_EXPORT int evmap_refresh(evmap_writer *w)
{
	return refresh(w, true);
}

EVMAP_EXPORT int evmap_try_refresh(evmap_writer *w)
{
	return refresh(w, false);
}

EVMAP_EXPORT int evmap_flush(evmap_writer *w)
{
	if (w && evmap_pending(w) == 0)
		return 0;
	return refresh(w, true);
}

static int retain(evmap_writer *w, const void *key,
		  bool (*keep)(const void *value, void *ctx), void *ctx)
{
	struct evmap__op op = {.kind = EVMAP__OP_RETAIN};
	int r;

	if (evmap__rcu_in_section())
		return -EDEADLK;
	r = catch_up(w, true);
	if (r)
		return r;
	r = log_op(w, &op, key, ITEM_LOOKUP, NULL, ITEM_NONE);
	if (r)
		return r;
	return evmap__oplog_apply_retain(&w->log, w->standby, keep, ctx);
}

EVMAP_EXPORT int evmap_retain(evmap_writer *w, const void *key,
			      bool (*keep)(const void *value, void *ctx),
			      void *ctx)
{
	int r;

	if (!keep)
		return -EINVAL;
	r = begin_call(w);
	if (r)
		return r;
	return end_call(w, retain(w, key, keep, ctx));
}

void evmap__writer_wait_stats(const evmap_writer *w,
			      struct evmap__wait_stats *out)
{
	const uint64_t *from = (const uint64_t *)&w->wait_stats;
	uint64_t *to = (uint64_t *)out;

	_Static_assert(sizeof(*out) % sizeof(uint64_t) == 0,
		       "wait statistics are 64-bit counters");
	/* the writer may be counting on another thread */
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

/* ---- destruction ---- */

static void free_metas(evmap_writer *w)
{
	meta_let_go(w, &w->meta);
	meta_let_go(w, &w->copies[0].meta);
	meta_let_go(w, &w->copies[1].meta);
}

/*
 * Free everything once no reader can see either copy. The copy that has
 * seen more ops holds every live item; items the other copy still holds
 * are in the garbage of the ops applied to one copy only; ops applied to
 * neither own their items.
 */
static void destroy_now(evmap_writer *w)
{
	const struct evmap__types *types = types_of(w);
	struct evmap_view *ahead = evmap__oplog_published_is_ahead(&w->log)
					   ? published_copy(w)
					   : w->standby;

	evmap__table_free_items(&ahead->table, types);
	evmap__oplog_destroy(&w->log, types);
	evmap__table_destroy(&w->copies[0].table);
	evmap__table_destroy(&w->copies[1].table);
	free_metas(w);
	evmap__shared_put(w->shared);
	evmap__aligned_free(w);
}

static void destroy_deferred(void *arg)
{
	destroy_now(arg);
}

EVMAP_EXPORT void evmap_writer_free(evmap_writer *w)
{
	bool in_section;

	if (!w || w->busy)
		return; /* from inside a callback of this map: ignored */
	w->busy = true; /* the frees below run callbacks */
	in_section = evmap__rcu_in_section();
	/* One store says both "no view" and "destroyed", so a reader that
	 * saw either never sees the other contradict it (two variables
	 * cannot be ordered both ways). */
	__atomic_store_n(&w->shared->published, EVMAP__PUBLISHED_DESTROYED,
			 __ATOMIC_RELEASE);
	if (in_section) {
		evmap__registry_close(w->shared);
		/* Waiting here would wait for ourselves: a liburcu grace
		 * period (every section is also one of liburcu's) on the
		 * call_rcu thread. If even the deferral cannot be allocated,
		 * leaking is the only safe choice. */
		(void)evmap__rcu_defer(destroy_deferred, w);
		return;
	}
	/* This map's handles only, as refresh waits (registry.c,
	 * "Destruction"). */
	(void)evmap__registry_wait(w->shared, EVMAP__GENERATION_DESTROYED,
				   true, &w->wait_stats);
	evmap__registry_close(w->shared);
	destroy_now(w);
}

EVMAP_EXPORT int evmap_wait_deferred(void)
{
	return evmap__rcu_wait_deferred();
}

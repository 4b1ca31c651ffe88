/* SPDX-License-Identifier: MIT */
/*
 * reader.c - reader handles, read sections, views, iteration and the
 * one-call shortcuts.
 *
 * A read section is bracketed by the handle's section word (registry.h)
 * and by a liburcu read-side section: the view named by shared->published
 * at the outermost enter (taken from the handle's cached view, or from
 * shared->copies[] when the generation is new) cannot be changed by the
 * writer until the outermost leave, nor freed (refresh and destruction
 * wait for this map's handles, registry.c; a deferred destruction for a
 * liburcu grace period).
 * Readers write only their own handle and their thread's RCU counter.
 */
#include <errno.h>

#include "alloc.h"
#include "registry.h"

evmap_reader *evmap__reader_new(struct evmap__shared *s)
{
	evmap_reader *r = evmap__registry_reuse(s);

	if (!r) {
		r = evmap__aligned_alloc(64, sizeof(*r));
		if (!r)
			return NULL;
		*r = (evmap_reader){.shared = s};
		__atomic_add_fetch(&s->handle_stats.allocated, 1,
				   __ATOMIC_RELAXED);
		evmap__registry_add(s, r);
	}
	/* the caller's handle or writer keeps the shell alive until here */
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return r;
}

void evmap__shared_put(struct evmap__shared *s)
{
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
		evmap__aligned_free(s);
}

EVMAP_EXPORT evmap_reader *evmap_reader_clone(const evmap_reader *r)
{
	if (!r)
		return NULL;
	return evmap__reader_new(r->shared);
}

/* The outermost evmap_leave(), also for nested sections at once. */
static void end_outermost_section(evmap_reader *r)
{
	r->depth = 0;
	evmap__section_end(r);
}

EVMAP_EXPORT void evmap_reader_free(evmap_reader *r)
{
	if (!r)
		return;
	/* Inside one of its own sections (on this thread): end it first,
	 * or this thread's liburcu section would never end. */
	if (r->depth > 0 &&
	    __atomic_load_n(&r->binding.owner, __ATOMIC_RELAXED) ==
		    evmap__rcu_self())
		end_outermost_section(r);
	evmap__rcu_unbind(&r->binding);
	evmap__registry_free(r);
}

/* evmap_enter() off its fast path: a nested section, or a handle not
 * bound to this thread. */
static const evmap_view *__attribute__((noinline))
enter_general(evmap_reader *r)
{
	if (r->depth++ > 0) /* NULL if the outermost enter could not bind */
		return evmap__section_is_inside(r) ? r->view : NULL;
	if (evmap__rcu_bind(&r->binding) != 0)
		return NULL; /* a section all the same, for evmap_leave() */
	return evmap__section_begin(r);
}

/* The rest of the fast path's section, after its steps 1 and 2 stored
 * @word: the handle was parked, or a newer generation is published.
 * Steps 3 to 5 again: loads whose earlier results are dropped. */
static const evmap_view *__attribute__((noinline))
enter_resume(evmap_reader *r, uint64_t word)
{
	return evmap__section_view(r, word);
}

/*
 * Like evmap_get_first's, the fast path calls nothing but tail calls, so
 * that it needs no stack frame and saves no register: the outermost enter
 * of a handle bound to this thread, not parked, whose cached view is the
 * published one (registry.h: the section's steps, in the same order).
 */
EVMAP_EXPORT const evmap_view *evmap_enter(evmap_reader *r)
{
	uint64_t word, published;
	int parked;

	if (caa_unlikely(!r))
		return NULL;
	if (caa_unlikely(r->depth > 0 ||
			 __atomic_load_n(&r->binding.owner,
					 __ATOMIC_RELAXED) != evmap__rcu_self()))
		return enter_general(r);
	r->depth = 1;
	word = evmap__section_store_inside(r);
	parked = __atomic_load_n(&r->parked, __ATOMIC_RELAXED);
	published = __atomic_load_n(&r->shared->published, __ATOMIC_ACQUIRE);
	if (caa_unlikely(parked ||
			 !evmap__section_view_is_cached(word, published)))
		return enter_resume(r, word);
	return r->view;
}

EVMAP_EXPORT void evmap_leave(evmap_reader *r)
{
	if (!r || r->depth == 0 || --r->depth > 0)
		return;
	end_outermost_section(r);
}

/* ---- views ---- */

EVMAP_EXPORT size_t evmap_view_len(const evmap_view *v)
{
	return v ? v->table.count : 0;
}

static const evmap_values *view_find(const evmap_view *v, const void *key)
{
	const struct evmap__item_type *kt = &v->table.types->key;
	if (kt->kind == EVMAP__KIND_CSTR && !key)
		return NULL;
	return evmap__table_find(&v->table, evmap__item_hash(kt, key), key);
}

EVMAP_EXPORT const evmap_values *evmap_view_get(const evmap_view *v,
						const void *key)
{
	return v ? view_find(v, key) : NULL;
}

EVMAP_EXPORT void *evmap_view_meta(const evmap_view *v)
{
	return v ? v->meta : NULL;
}

EVMAP_EXPORT uint64_t evmap_view_generation(const evmap_view *v)
{
	return v ? v->generation : 0;
}

enum { ITER_VIEW, ITER_POS };

EVMAP_EXPORT void evmap_view_iter(const evmap_view *v, evmap_iter *it)
{
	if (!it)
		return;
	it->opaque[ITER_VIEW] = (uintptr_t)v;
	it->opaque[ITER_POS] = 0;
}

EVMAP_EXPORT bool evmap_iter_next(evmap_iter *it, const void **key,
				  const evmap_values **values)
{
	const evmap_view *v;
	const evmap__bag *s;
	size_t pos;

	if (!it || !(v = (const evmap_view *)it->opaque[ITER_VIEW]))
		return false;
	pos = it->opaque[ITER_POS];
	s = evmap__table_next(&v->table, &pos);
	it->opaque[ITER_POS] = pos;
	if (!s)
		return false;
	if (key)
		*key = s->key;
	if (values)
		*values = s;
	return true;
}

/* ---- values ---- */

EVMAP_EXPORT size_t evmap_values_len(const evmap_values *vs)
{
	return vs ? evmap__bag_len(vs) : 0;
}

EVMAP_EXPORT const void *evmap_values_at(const evmap_values *vs, size_t i)
{
	if (!vs || i >= evmap__bag_len(vs))
		return NULL;
	return evmap__bag_values(vs)[i];
}

EVMAP_EXPORT const void *evmap_values_first(const evmap_values *vs)
{
	return evmap_values_at(vs, 0);
}

EVMAP_EXPORT bool evmap_values_contains(const evmap_values *vs,
					const void *value)
{
	if (!vs)
		return false;
	if (vs->types->value.kind == EVMAP__KIND_CSTR && !value)
		return false;
	return evmap__bag_find(vs, value) >= 0;
}

/* ---- shortcuts ---- */

EVMAP_EXPORT bool evmap_contains_key(evmap_reader *r, const void *key)
{
	const evmap_view *v = evmap_enter(r);
	bool found = v && view_find(v, key);
	evmap_leave(r);
	return found;
}

EVMAP_EXPORT bool evmap_contains_value(evmap_reader *r, const void *key,
				       const void *value)
{
	const evmap_view *v = evmap_enter(r);
	bool found = v && evmap_values_contains(view_find(v, key), value);
	evmap_leave(r);
	return found;
}

EVMAP_EXPORT size_t evmap_len(evmap_reader *r)
{
	size_t len = evmap_view_len(evmap_enter(r));
	evmap_leave(r);
	return len;
}

EVMAP_EXPORT bool evmap_is_destroyed(evmap_reader *r)
{
	return r && __atomic_load_n(&r->shared->published, __ATOMIC_ACQUIRE) ==
			    EVMAP__PUBLISHED_DESTROYED;
}

EVMAP_EXPORT bool evmap_get(evmap_reader *r, const void *key,
			    void (*fn)(const evmap_values *vs, void *meta,
				       void *ctx),
			    void *ctx)
{
	const evmap_view *v = evmap_enter(r);
	const evmap_values *vs = v ? view_find(v, key) : NULL;
	if (vs && fn)
		fn(vs, v->meta, ctx);
	evmap_leave(r);
	return vs != NULL;
}

/* Copy the first value of the bag @s to *@value: 1, or 0 if there is no
 * bag or it is empty (*@value unchanged). */
static inline int copy_first_value(const evmap__bag *s, const void **value)
{
	if (!s || evmap__bag_len(s) == 0)
		return 0;
	*value = evmap__bag_values(s)[0];
	return 1;
}

/* The bag of @key in @v (NULL: none) for identity keys, probed inline:
 * evmap_get_first's fast path. */
static inline const evmap__bag *identity_key_bag(const evmap_view *v,
						 const void *key)
{
	if (!v)
		return NULL;
	return evmap__table_probe_pointer(
	    &v->table, evmap__fold_hash((uint64_t)(uintptr_t)key), key, false);
}

/* evmap_get_first() on any map, in any state of @r: the general path. */
static int __attribute__((noinline))
get_first_general(evmap_reader *r, const void *key, const void **value)
{
	const evmap_view *v;
	int found;

	/* a value the map frees could dangle once the section ends */
	if (r->shared->value_type_frees)
		return -EINVAL;
	if (r->depth > 0) {
		/* inside a section of @r already: its view */
		v = evmap__section_is_inside(r) ? r->view : NULL;
		return copy_first_value(v ? view_find(v, key) : NULL, value);
	}
	if (evmap__rcu_bind(&r->binding) != 0)
		return -ENOMEM;
	/* a section like evmap_enter's: a key type's hash or equal that
	 * entered @r again (forbidden, but cheap to survive) would nest */
	r->depth = 1;
	v = evmap__section_begin(r);
	/* copied out before the section ends: the map never frees it */
	found = copy_first_value(v ? view_find(v, key) : NULL, value);
	r->depth = 0;
	evmap__section_end(r);
	return found;
}

/* The rest of the fast path's section, after its steps 1 and 2 stored
 * @word: the handle was parked, or a newer generation is published. */
static int __attribute__((noinline))
get_first_resume(evmap_reader *r, const void *key, const void **value,
		 uint64_t word)
{
	int found = copy_first_value(
	    identity_key_bag(evmap__section_view(r, word), key), value);

	evmap__section_end(r);
	return found;
}

/*
 * The fast path calls nothing: every call from it is a tail call, so that
 * it needs no stack frame (gcc 12 at -O2 or -O3 saves no register). Both
 * its ends are stores whose values it has in registers: the section
 * word's and liburcu's counter (no load that waits for the store before
 * it). It is
 * the path of an identity-keyed map (u64, ptr) read by a handle that is bound to
 * this thread, outside any section of its own, not parked, whose cached
 * view is the published one (registry.h: the section's steps, in the same
 * order).
 */
EVMAP_EXPORT int evmap_get_first(evmap_reader *r, const void *key,
				 const void **value)
{
	const struct evmap__shared *shared;
	uint64_t word, published;
	unsigned long rcu_before;
	int parked, found;

	if (caa_unlikely(!r || !value))
		return -EINVAL;
	shared = r->shared;
	if (caa_unlikely(!shared->get_first_fast || r->depth > 0 ||
			 __atomic_load_n(&r->binding.owner,
					 __ATOMIC_RELAXED) != evmap__rcu_self()))
		return get_first_general(r, key, value);
	word = evmap__section_store_inside_as(r, true, &rcu_before);
	parked = __atomic_load_n(&r->parked, __ATOMIC_RELAXED);
	published = __atomic_load_n(&shared->published, __ATOMIC_ACQUIRE);
	if (caa_unlikely(parked ||
			 !evmap__section_view_is_cached(word, published)))
		return get_first_resume(r, key, value, word);
	/* the cached view is the published one (NULL before the first
	 * refresh, when the word still has generation 0) */
	found = copy_first_value(identity_key_bag(r->view, key), value);
	/* the word is still @word: it was not announced or un-parked; and
	 * the probe called nothing, so liburcu's counter is still what step
	 * 2 stored (rcu.h) */
	evmap__section_store_outside(r, word);
	evmap__rcu_read_unlock_restore(&r->binding, rcu_before, true);
	return found;
}

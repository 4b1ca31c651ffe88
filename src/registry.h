/* SPDX-License-Identifier: MIT */
/*
 * registry.h - internal: the section word of each reader handle, and the
 * per-map registry of handles that refresh looks at to decide, without
 * stopping the readers, that none is still inside the copy it is about to
 * change. The reader's side is inline here (it is the hot path); the
 * writer's side and the full soundness argument are in registry.c.
 *
 * The section word of a handle (struct evmap_reader.section) holds
 * (generation << 1) | inside:
 *   - generation: the generation of the last view this handle loaded at
 *     an outermost evmap_enter(), i.e. the last one it "announced";
 *   - inside: whether the handle is inside a read section now.
 * Only the handle's reader writes it, with plain (relaxed) and release
 * stores: no atomic read-modify-write and no fence on the fast path.
 *
 * The parked flag (struct evmap_reader.parked) is raised by the writer for
 * a handle it saw idle, so that later refreshes can trust the handle's
 * "outside" without a barrier; the reader clears it, with a full fence, at
 * its next section.
 */
#ifndef EVMAP_REGISTRY_H
#define EVMAP_REGISTRY_H

#include "map.h"

#define EVMAP__SECTION_INSIDE UINT64_C(1)

static inline uint64_t evmap__section_generation(uint64_t word)
{
	return word >> 1;
}

/* Whether @r's section word says inside (on @r's thread). */
static inline bool evmap__section_is_inside(const evmap_reader *r)
{
	return __atomic_load_n(&r->section, __ATOMIC_RELAXED) &
	       EVMAP__SECTION_INSIDE;
}

/* Slow path of evmap__section_begin: the handle was parked. */
void evmap__section_unpark(evmap_reader *r, uint64_t inside_word);
/* Slow path of evmap__section_begin: @published is not the generation the
 * handle announced last. Announce it and return its view, or NULL (none
 * yet, or destroyed). */
const struct evmap_view *evmap__section_announce(evmap_reader *r,
						 uint64_t published);

/*
 * Begin the outermost read section of @r (bound to the calling thread):
 * return the published view (NULL before the first refresh and after
 * destruction). Order of the steps (registry.c says why each is needed):
 *   1. store "inside", generation unchanged (relaxed store);
 *   2. liburcu's read lock (its counter store and, with membarrier, a
 *      compiler barrier only);
 *   3. load the parked flag; if raised, un-park (a full fence);
 *   4. load the published view and its generation (one acquire load);
 *   5. if its generation is not the announced one, announce it (release);
 *      if the map is not ready, store "outside" instead (release).
 * r->view caches the view of the announced generation: while that
 * generation is still the published one, its copy has not changed since
 * it was published (the writer only changes the other copy), so the
 * section uses the cached pointer. The lookup then does not wait for the
 * published word and the copies[] array: the branch below is predicted,
 * and the table header is loaded from r->view at once.
 */
static inline uint64_t
evmap__section_store_inside_as(evmap_reader *r, bool membarrier_known,
			       unsigned long *rcu_before)
{
	uint64_t word = __atomic_load_n(&r->section, __ATOMIC_RELAXED) |
			EVMAP__SECTION_INSIDE;

	__atomic_store_n(&r->section, word, __ATOMIC_RELAXED); /* step 1 */
	*rcu_before = evmap__rcu_read_lock(&r->binding,         /* step 2 */
					   membarrier_known);
	return word;
}

/* Steps 1 and 2; the word stored. (_as: on a map whose readers need no
 * fence, evmap__rcu_readers_use_membarrier() at its creation, pass
 * @membarrier_known; *@rcu_before is for evmap__rcu_read_unlock_restore().)
 */
static inline uint64_t evmap__section_store_inside(evmap_reader *r)
{
	unsigned long rcu_before;

	return evmap__section_store_inside_as(r, false, &rcu_before);
}

/* Store "outside" with the generation of @word, the section word it
 * replaces (release: every load of the section is ordered before it):
 * the end of a section, or at once for a section that found the map not
 * ready. */
static inline void evmap__section_store_outside(evmap_reader *r,
						uint64_t word)
{
	__atomic_store_n(&r->section, word & ~EVMAP__SECTION_INSIDE,
			 __ATOMIC_RELEASE);
}

/* Whether a section that stored @word finds its cached view current in
 * @published, the published word (step 5's test). */
static inline bool evmap__section_view_is_cached(uint64_t word,
						 uint64_t published)
{
	/* published is (generation << 1) | copy, the word (generation << 1)
	 * | inside: equal once the copy bit is set, if the generation is the
	 * announced one. Never for EVMAP__PUBLISHED_NONE (map.h). */
	return (published | EVMAP__SECTION_INSIDE) == word;
}

/* Steps 3 to 5, after evmap__section_store_inside() returned @word. */
static inline const struct evmap_view *
evmap__section_view(evmap_reader *r, uint64_t word)
{
	uint64_t published;

	if (caa_unlikely(__atomic_load_n(&r->parked, __ATOMIC_RELAXED)))
		evmap__section_unpark(r, word);
	published = __atomic_load_n(&r->shared->published, __ATOMIC_ACQUIRE);
	if (caa_likely(evmap__section_view_is_cached(word, published)))
		return r->view;
	return evmap__section_announce(r, published);
}

static inline const struct evmap_view *
evmap__section_begin(evmap_reader *r)
{
	return evmap__section_view(r, evmap__section_store_inside(r));
}

/* End the outermost read section of @r: "outside" (release: every load
 * of the section is ordered before it), then liburcu's read unlock. A
 * word already outside: the section found the map not ready and said so
 * at once (step 5), and only liburcu's section is left to end; or the
 * section never began (evmap_enter() could not bind the handle to its
 * thread: the handle is not bound to this one, nothing to end). */
static inline void evmap__section_end(evmap_reader *r)
{
	uint64_t word = __atomic_load_n(&r->section, __ATOMIC_RELAXED);

	if (!(word & EVMAP__SECTION_INSIDE)) {
		if (__atomic_load_n(&r->binding.owner, __ATOMIC_RELAXED) ==
		    evmap__rcu_self())
			evmap__rcu_read_unlock(&r->binding);
		return;
	}
	evmap__section_store_outside(r, word);
	evmap__rcu_read_unlock(&r->binding);
}

/* In a fork child, for a handle bound to a thread that does not exist
 * there: its section, if one was open, ends with that thread (so that
 * the writer does not wait for it). Only with no other thread running. */
void evmap__section_forget_dead(struct evmap__rcu_binding *b);

/* What refresh's wait did, for tests and benchmarks (one per writer). */
struct evmap__wait_stats {
	uint64_t waits;     /* waits for the readers of one unpublished copy */
	uint64_t announced; /* handles cleared by an announced generation */
	uint64_t parked;    /* handles cleared as parked, without a barrier */
	uint64_t proven;    /* handles cleared by a barrier: still outside */
	uint64_t barriers;  /* barriers (membarrier system calls) issued */
	uint64_t waited;    /* waits that found a handle inside the old copy */
	uint64_t yields;    /* times the writer gave up the CPU while waiting */
	uint64_t busy;      /* try_refresh calls refused: -EAGAIN */
};

/* A copy of @w's wait statistics (tests and benchmarks, through the
 * internal library). */
void evmap__writer_wait_stats(const evmap_writer *w,
			      struct evmap__wait_stats *out);

/* Add @r to @s's registry (any thread). A handle created after the writer
 * was freed is left out: nothing waits for it. */
void evmap__registry_add(struct evmap__shared *s, evmap_reader *r);
/* A handle of @s that was freed and kept (a spare), made live again for a
 * new owner, or NULL if none is kept (any thread). The caller takes its
 * reference on the map's shell. */
evmap_reader *evmap__registry_reuse(struct evmap__shared *s);
/* Take @r out of its map's registry and free it (any thread; not inside
 * one of @r's sections): kept as a spare for the map's next new handle
 * while the writer lives, which frees spares at its next wait; the writer
 * frees it later if it may still look at it. Drops @r's reference on the
 * map's shell. */
void evmap__registry_free(evmap_reader *r);
/* A copy of the handle statistics of @r's map (tests). */
void evmap__reader_handle_stats(const evmap_reader *r,
				struct evmap__handle_stats *out);
/* The generation a section announces when it finds the map destroyed
 * (the largest a section word can hold, so that the announced word is
 * EVMAP__PUBLISHED_DESTROYED; refresh never gets near it):
 * evmap__registry_wait() for it waits until every handle is outside or
 * has seen the destroyed word, so that none can be inside any copy. */
#define EVMAP__GENERATION_DESTROYED (EVMAP__PUBLISHED_DESTROYED >> 1)

/* Writer: no handle may be inside a copy that was unpublished when
 * generation @gen was published. 0, or -EAGAIN if one may be and @may_wait
 * is false. */
int evmap__registry_wait(struct evmap__shared *s, uint64_t gen,
			 bool may_wait, struct evmap__wait_stats *stats);
/* Writer, at destruction: no more waits; handles still alive free
 * themselves from now on. */
void evmap__registry_close(struct evmap__shared *s);

#endif /* EVMAP_REGISTRY_H */

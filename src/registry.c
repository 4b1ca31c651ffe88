/* SPDX-License-Identifier: MIT */
/*
 * registry.c - a map's registry of reader handles, and refresh's wait for
 * them: how the writer decides, per map and mostly by looking, that no
 * reader is still inside the copy it unpublished.
 *
 * The question
 * ------------
 * publish() stores the new view in shared->published (generation g). The
 * copy it replaced (generation g - 1, now the standby) may be changed at
 * the next refresh only once no read section that loaded it is still
 * running. liburcu answers that for every reader of every map at once
 * (synchronize_rcu: two membarrier system calls, IPIs that stop every
 * running thread); this file answers it for the handles of one map.
 *
 * The rules (evmap__registry_wait)
 * --------------------------------
 * After a full fence (so that the publication is visible before any word
 * is read), each handle of the map is "clear" for g when one holds:
 *   A. its word announces a generation >= g;
 *   B. it is outside, parked, and its parking was verified;
 *   C. it is outside, and still outside after one barrier
 *      (evmap__rcu_barrier: membarrier) that followed the publication.
 * A handle inside with an older generation is waited for: spin, then give
 * up the CPU, then sleep a little longer each time (a reader preempted
 * inside its section must get the CPU to leave it). A handle outside with
 * an older generation that is not parked is given a short spin to enter
 * and announce (a busy reader does within a section's time), then parked
 * and proven with one barrier for all such handles.
 *
 * Why each rule is sound, on x86-64 (TSO) and AArch64
 * ---------------------------------------------------
 * Reader steps (registry.h): 1 store inside (relaxed), 2 liburcu's read
 * lock, 3 load parked (un-park: exchange + full fence), 4 load published
 * (acquire), 5 announce (release store); leave: 6 store outside (release).
 *
 * A. The word announces g' >= g: the store that announced it (step 5, or a
 *    step 6 after it) is a release store, so every load of every earlier
 *    section of this handle was done before it (on x86 stores are not
 *    reordered with earlier loads; on AArch64 release orders them), and the
 *    writer reads the word with acquire. The section that announced g'
 *    loaded the view of g' (the copy the writer does not change now), and
 *    every later section loads a view at least as new: the same thread
 *    reading shared->published again cannot read an older value
 *    (coherence), and a handle that moves to another thread moves with a
 *    happens-before edge the application provides (a handle is used by one
 *    thread at a time).
 * C. Outside with an older generation proves nothing by itself: the
 *    reader's next step 1 may sit in its store buffer (x86) or be
 *    reordered after step 4 (AArch64, relaxed store then load) while step 4
 *    already loaded the old view. The barrier runs a full fence on the
 *    reader's CPU at some point of its instruction stream. A section whose
 *    step 1 came before that point has its "inside" visible once the
 *    barrier returns, so a word read afterwards is "inside" or a later
 *    "outside" (the section ended, its loads ordered by the release of
 *    step 6). A section whose step 1 came after that point also loads
 *    shared->published after it, and sees the new view, because the
 *    writer's publication was visible before the barrier began. Without
 *    membarrier (old kernels) liburcu's read lock (step 2) is itself a full
 *    fence, between step 1 and step 4, and a fence on the writer suffices.
 * B. Parking: the writer raises parked, then the barrier of C. Every entry
 *    whose step 3 comes after the flag is visible takes the un-park path:
 *    exchange on the word (x86: a locked instruction, a full fence) plus
 *    an explicit full fence (AArch64: an exchange alone does not keep a
 *    later load from passing its store), so step 4 comes after "inside" is
 *    visible: a writer that then reads "outside" (store-buffering with
 *    fences on both sides) knows that the reader's step 4 will see the
 *    writer's publication. An entry whose step 3 came before the flag was
 *    visible had its step 1 before the barrier, so the barrier made its
 *    "inside" visible. Hence, after that barrier, "outside" of a parked
 *    handle is as good as rule C, at no cost per refresh.
 *    Two orders make that true, and the model (tests/model) fails without
 *    either: the reader loads the flag AFTER its "inside" store (else it
 *    can decide "not parked" just before being parked and store "inside"
 *    after the barrier), and the writer loads the word BEFORE the flag
 *    (acquire): an un-parked reader clears the flag before any later
 *    "outside" (release), so a word read after an un-park pairs with a
 *    flag read that sees it cleared.
 * Publication: the writer's release store of shared->published followed by
 *    a full fence before it reads any word: without it, on x86 the writer's
 *    own store buffer may hide the new view from a reader that it then
 *    judges outside (store-buffering).
 *
 * The cached view: r->view is the view of the generation the word
 *    announced. A section whose step 4 loads that same generation uses it
 *    without reading shared->copies[]: the copy published at generation g
 *    is changed only after a later generation is published, and a
 *    generation is published once. Step 4 is still done, with acquire, so
 *    every rule above holds unchanged (the copies[] load it saves was
 *    read-only data). The branch on its result is predicted, so the CPU
 *    loads the table header through r->view without waiting for step 4;
 *    on x86 a load that ran early is replayed if its line changed before
 *    the acquire load retired, and on AArch64 a load-acquire orders every
 *    later load after it: the section sees the copy as of step 4 either
 *    way.
 *
 * Handles that nest only touch the word at the outermost enter and leave.
 * Several handles on one thread each have their own word. A handle freed
 * while the writer may look at it is only marked freed here; the writer
 * frees its memory (only the writer unlinks handles, so no one else can
 * hold a pointer to it).
 *
 * Destruction
 * -----------
 * evmap_writer_free() stores the destroyed word in shared->published
 * (release), then waits with these same rules for
 * EVMAP__GENERATION_DESTROYED, the generation that a section announces
 * (release, step 5) when its step 4 loads the destroyed word. Such a
 * section returns no view and touches nothing of the copies, and so does
 * every later section of the handle (the destroyed word is final), so
 * rule A holds as it is: its earlier sections' loads were done before
 * that store. The destroyed word is all ones, the word such a section
 * stores, so a handle that never announced a generation (word 0 or 1)
 * does not take it for its cached one and announces too, while one that
 * announced finds its cached view (NULL) current. A handle that never
 * enters again must be seen outside and parked (B) or still outside
 * after a barrier that followed the destroyed word (C); B and C hold with
 * "the publication" read as the destroyed word. A handle inside a
 * section that began before is waited for. Then no handle of this map
 * can be reading its memory, and the writer frees it without a liburcu
 * grace period, which would also wait for the readers of every other
 * map (and, in bp, polls a reader still inside every 10 ms). Only a
 * writer that destroys inside its own read section (it cannot wait for
 * itself) defers to liburcu's call_rcu, and a failed barrier falls back
 * to synchronize_rcu: every section is also a liburcu read section. The
 * model (tests/model, -DDESTROY) checks this wait, and fails if it waits
 * for the last published generation instead (a section that announced
 * it may still be inside that copy) or if the fence after the destroyed
 * word is left out.
 *
 * Not ready
 * ---------
 * Before the first refresh, shared->published holds EVMAP__PUBLISHED_NONE
 * (map.h), which no section word matches as its cached view, so a section
 * that loads it at step 4 takes evmap__section_announce(): it stores
 * "outside" (release), generation unchanged (0: nothing was ever
 * announced), and returns no view; the rest of the section touches no
 * copy. To the writer that handle is one outside with an older
 * generation: cleared by rules B or C like any idle handle (one barrier,
 * then parked), never waited for. That is sound for the same reason as
 * any "outside": the section loaded no view, and the handle's next
 * section stores "inside" again at step 1 before its step 4, so rule C's
 * argument covers it. Leaving "inside, generation 0" instead (as an
 * earlier version did) made the writer wait for such a section, open
 * since before the first refresh, from the third refresh on. Announcing
 * a generation above every published one instead would be unsound: the
 * handle's next section could load the standby's generation at step 4
 * while the writer, still reading the high generation from the word,
 * judges it clear by rule A. The model (tests/model, -DNOT_READY) checks
 * the first and finds the second (NOT_READY_ANNOUNCES_HIGH).
 *
 * The list
 * --------
 * shared->handles is a singly linked list: evmap__registry_add pushes at
 * the head with a compare-and-swap (any thread); only the writer unlinks
 * (non-head nodes by a plain store, the head by a compare-and-swap), so
 * the writer never waits for a thread that creates or frees a handle. A
 * handle the writer's walk does not see cannot be inside the old copy:
 * it is born parked, so its first section un-parks with a full fence
 * after its "inside" store, and its push (a seq_cst compare-and-swap)
 * came after the writer's fenced load of the head; store-buffering with
 * fences on both sides then makes that section's load of
 * shared->published see the publication the writer fenced before. So a
 * wait walks only the handles that were in the list when it began (after
 * its fence): handles pushed during a wait are never walked by it, and
 * threads that create and free handles without pause cannot keep it from
 * ending (test_conf26_clone_churn hung the writer that way once readers
 * got faster). Only the writer unlinks and frees handles, so the list
 * below that first handle stays valid for the whole wait. At
 * destruction the writer closes the list, and every handle still alive
 * becomes an orphan that frees itself.
 *
 * Spare handles
 * -------------
 * A freed handle stays in the list (only the writer unlinks), so if only
 * the writer's next wait gave its memory back, threads that create and
 * free handles while the writer does not refresh would grow the process
 * without bound (272 bytes a handle: 1.36 GB after 5 million
 * clone-and-free cycles). So evmap_reader_free() keeps the handle, still
 * in the list, as a spare (shared->spares, state spare) and the map's next
 * new handle is that one: memory is bounded by the most handles alive at
 * once. The writer frees the spares at its next wait (release_spares(),
 * then reclaim()), so a burst of handles is given back at the next
 * refresh. The spare list changes under the library's bind lock
 * (evmap__rcu_handles_lock: no holder waits for anything, and fork()
 * takes it), which the read path never takes and the writer only
 * try-locks. A spare keeps its section word ("outside", the generation
 * it announced last), its cached view and its parked flag: to the
 * protocol, reuse is a handle moved to another thread, the lock ordering
 * the hand-over. One thing is new: the writer judges a spare clear
 * (judge(): not live), and it may be made live again during that wait.
 * Its new owner stores "live", then a full fence, before its first
 * section's load of shared->published; the writer publishes, fences, then
 * loads the state. Store-buffering with fences on both sides: either the
 * writer sees "live" and judges the word by rules A to C, or the section
 * loads the new publication and is in no copy the writer changes. Without
 * that fence, on AArch64 the section's load could pass the "live" store
 * (the unlock is a release, which orders no later load) and find the old
 * view while the writer still reads "spare"; on x86 glibc's unlock is a
 * locked instruction, a full fence, but the library does not rely on how
 * pthread implements it. The model (tests/model, -DREUSE) checks
 * this and fails without the fence (REUSE_NO_FENCE).
 */
#include "registry.h"

#include <errno.h>
#include <sched.h>
#include <time.h>

#include "alloc.h"

enum evmap__handle_state {
	HANDLE_LIVE,   /* in the registry */
	HANDLE_SPARE,  /* evmap_reader_free()d, kept in shared->spares */
	HANDLE_FREED,  /* evmap_reader_free()d: the writer frees the memory */
	HANDLE_ORPHAN, /* the writer was freed: the handle frees itself */
};

/* The head of a closed registry (after destruction). */
#define REGISTRY_CLOSED ((evmap_reader *)(uintptr_t)1)

/* Tuning of the wait (measured in bench/: evmap-micro's refresh rows). */
enum {
	PARK_AFTER_POLLS = 32, /* polls before parking handles seen outside */
	SPIN_POLLS = 64,   /* polls spent spinning before yielding */
	YIELD_POLLS = 64,  /* sched_yield()s before sleeping */
	SLEEP_MAX_NS = 1000 * 1000,
};

void evmap__section_unpark(evmap_reader *r, uint64_t inside_word)
{
	/* The exchange is a full fence on x86; AArch64 needs the fence too
	 * (see B above). The flag is cleared after both: the next "outside"
	 * (release) cannot become visible before the cleared flag. */
	(void)__atomic_exchange_n(&r->section, inside_word, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&r->parked, 0, __ATOMIC_RELAXED);
}

void evmap__section_forget_dead(struct evmap__rcu_binding *b)
{
	evmap_reader *r = caa_container_of(b, evmap_reader, binding);

	r->depth = 0;
	__atomic_store_n(&r->section,
			 __atomic_load_n(&r->section, __ATOMIC_RELAXED) &
				 ~EVMAP__SECTION_INSIDE,
			 __ATOMIC_RELAXED);
}

/* A section that loads the destroyed word stores that very word (with
 * "inside", already set in it) and so announces the destruction's
 * generation. */
_Static_assert(((EVMAP__GENERATION_DESTROYED << 1) | EVMAP__SECTION_INSIDE) ==
		       EVMAP__PUBLISHED_DESTROYED,
	       "the destroyed word is the word announcing the destruction");

const struct evmap_view *evmap__section_announce(evmap_reader *r,
						 uint64_t published)
{
	if (published == EVMAP__PUBLISHED_NONE) {
		/* Not ready: this section enters no copy, so it says
		 * "outside" at once (release, as a leave's), and a writer
		 * that refreshes meanwhile does not wait for it ("Not
		 * ready", above). Its liburcu section stays open until
		 * evmap_leave(), which sees the word outside and ends only
		 * that (registry.h, evmap__section_end). */
		r->view = NULL;
		evmap__section_store_outside(
			r, __atomic_load_n(&r->section, __ATOMIC_RELAXED));
		return NULL;
	}
	/* The destroyed word announces EVMAP__GENERATION_DESTROYED (rule A
	 * for the writer's last wait: this section, and every later one,
	 * touches nothing of the copies), and later sections find its
	 * cached view (NULL) current. */
	__atomic_store_n(&r->section, published | EVMAP__SECTION_INSIDE,
			 __ATOMIC_RELEASE);
	r->view = published == EVMAP__PUBLISHED_DESTROYED
			  ? NULL
			  : r->shared->copies[published & 1];
	return r->view;
}

void evmap__registry_add(struct evmap__shared *s, evmap_reader *r)
{
	evmap_reader *head = __atomic_load_n(&s->handles, __ATOMIC_RELAXED);

	/* Born parked (verified: no section of it can have begun), so an
	 * idle handle never costs a barrier. */
	r->parked = 1;
	r->park_verified = true;
	do {
		if (head == REGISTRY_CLOSED) {
			r->state = HANDLE_ORPHAN;
			return;
		}
		r->next = head;
	} while (!__atomic_compare_exchange_n(&s->handles, &head, r, true,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
}

evmap_reader *evmap__registry_reuse(struct evmap__shared *s)
{
	evmap_reader *r;

	if (!__atomic_load_n(&s->spares, __ATOMIC_RELAXED))
		return NULL; /* a hint: the common case takes no lock */
	evmap__rcu_handles_lock();
	r = __atomic_load_n(&s->spares, __ATOMIC_RELAXED);
	if (r) {
		__atomic_store_n(&s->spares, r->next_spare, __ATOMIC_RELAXED);
		r->next_spare = NULL;
		/* an evmap_enter() that could not bind left a depth */
		r->depth = 0;
		__atomic_store_n(&r->state, HANDLE_LIVE, __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->handle_stats.reused, 1,
				   __ATOMIC_RELAXED);
	}
	evmap__rcu_handles_unlock();
	/* "Spare handles", above: "live" before any section's load of
	 * shared->published (the unlock alone is only a release) */
	if (r)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return r;
}

void evmap__registry_free(evmap_reader *r)
{
	struct evmap__shared *s = r->shared;
	int live = HANDLE_LIVE, to;
	bool in_registry;

	/* Release (the lock, the exchange): this thread's last uses of the
	 * handle come before its next owner's first, or the writer's free
	 * of its memory. Kept as a spare while the writer lives; once it is
	 * freed (spares closed), the writer's close frees the handle, or,
	 * if it already made it an orphan, nobody else knows it. */
	evmap__rcu_handles_lock();
	to = s->spares_closed ? HANDLE_FREED : HANDLE_SPARE;
	in_registry = __atomic_compare_exchange_n(
		&r->state, &live, to, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	if (in_registry && to == HANDLE_SPARE) {
		r->next_spare = __atomic_load_n(&s->spares, __ATOMIC_RELAXED);
		__atomic_store_n(&s->spares, r, __ATOMIC_RELAXED);
	}
	evmap__rcu_handles_unlock();
	if (!in_registry)
		evmap__aligned_free(r); /* an orphan */
	evmap__shared_put(s);
}

/* Writer, as a wait begins: the spare handles become freed ones, which
 * reclaim() then frees. Skipped if the lock is taken (a handle coming or
 * going): the next wait frees them. The lock is held only to detach the
 * list (it is process-wide: a walk of a million spares under it kept
 * other maps' clones and binding enters waiting for 75-84 ms); once
 * detached, the spares are reachable only through the registry list,
 * which only the writer walks. */
static void release_spares(struct evmap__shared *s)
{
	evmap_reader *h;

	if (!__atomic_load_n(&s->spares, __ATOMIC_RELAXED) ||
	    !evmap__rcu_handles_trylock())
		return;
	h = __atomic_load_n(&s->spares, __ATOMIC_RELAXED);
	__atomic_store_n(&s->spares, NULL, __ATOMIC_RELAXED);
	evmap__rcu_handles_unlock();
	while (h) {
		evmap_reader *next = h->next_spare;

		h->next_spare = NULL;
		__atomic_store_n(&h->state, HANDLE_FREED, __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->handle_stats.released, 1,
				   __ATOMIC_RELAXED);
		h = next;
	}
}

void evmap__reader_handle_stats(const evmap_reader *r,
				struct evmap__handle_stats *out)
{
	const struct evmap__handle_stats *st = &r->shared->handle_stats;

	out->allocated = __atomic_load_n(&st->allocated, __ATOMIC_RELAXED);
	out->reused = __atomic_load_n(&st->reused, __ATOMIC_RELAXED);
	out->released = __atomic_load_n(&st->released, __ATOMIC_RELAXED);
}

void evmap__registry_close(struct evmap__shared *s)
{
	evmap_reader *h;

	/* No handle is kept from now on; the kept ones are freed below
	 * (their state is not live). */
	evmap__rcu_handles_lock();
	s->spares_closed = true;
	__atomic_store_n(&s->spares, NULL, __ATOMIC_RELAXED);
	evmap__rcu_handles_unlock();
	h = __atomic_exchange_n(&s->handles, REGISTRY_CLOSED, __ATOMIC_ACQ_REL);

	while (h) {
		evmap_reader *next = h->next;
		int live = HANDLE_LIVE;

		/* after the exchange the handle is its owner's to free */
		if (!__atomic_compare_exchange_n(&h->state, &live,
						 HANDLE_ORPHAN, false,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			evmap__aligned_free(h);
		h = next;
	}
}

/* Only the writer counts; tests may read the counters while it runs. */
static inline void stat_inc(uint64_t *counter)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
}

enum verdict {
	CLEAR_FREED,     /* freed: it has no section */
	CLEAR_ANNOUNCED, /* rule A */
	CLEAR_PARKED,    /* rule B */
	INSIDE_OLD,
	OUTSIDE_OLD,
};

static enum verdict judge(evmap_reader *h, uint64_t gen)
{
	uint64_t word;

	if (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != HANDLE_LIVE)
		return CLEAR_FREED;
	word = __atomic_load_n(&h->section, __ATOMIC_ACQUIRE);
	if (evmap__section_generation(word) >= gen)
		return CLEAR_ANNOUNCED;
	if (word & EVMAP__SECTION_INSIDE)
		return INSIDE_OLD;
	/* the flag is loaded after the word (ordered by acquire) */
	if (h->park_verified && __atomic_load_n(&h->parked, __ATOMIC_RELAXED))
		return CLEAR_PARKED;
	return OUTSIDE_OLD;
}

/* Unlink and free the handles marked freed. A freed head that a push
 * covers as it is unlinked stays until the next sweep (its predecessor is
 * new); the sweep goes on below it. */
static void reclaim(struct evmap__shared *s)
{
	evmap_reader **link = &s->handles;
	evmap_reader *h = __atomic_load_n(link, __ATOMIC_ACQUIRE);

	while (h) {
		evmap_reader *next = h->next;

		if (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != HANDLE_FREED) {
			link = &h->next;
		} else if (link != &s->handles) {
			*link = next;
			evmap__aligned_free(h);
		} else {
			evmap_reader *expected = h;

			if (__atomic_compare_exchange_n(link, &expected, next,
							false, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				evmap__aligned_free(h);
			else /* pushed over: keep it, sweep below it */
				link = &h->next;
		}
		h = next;
	}
}

/* Judge every handle from @first on not yet clear for @gen; count those
 * left. */
static void judge_all(evmap_reader *first, uint64_t gen,
		      struct evmap__wait_stats *st, size_t *inside,
		      size_t *outside)
{
	*inside = *outside = 0;
	for (evmap_reader *h = first; h; h = h->next) {
		if (h->clear_gen == gen)
			continue;
		switch (judge(h, gen)) {
		case CLEAR_ANNOUNCED:
			stat_inc(&st->announced);
			h->clear_gen = gen;
			break;
		case CLEAR_PARKED:
			stat_inc(&st->parked);
			h->clear_gen = gen;
			break;
		case CLEAR_FREED:
			h->clear_gen = gen;
			break;
		case INSIDE_OLD:
			(*inside)++;
			break;
		case OUTSIDE_OLD:
			(*outside)++;
			break;
		}
	}
}

/* Rules B and C for every handle outside with an older generation: park
 * them, one barrier, then whoever is still outside is clear. false if the
 * barrier could not be issued. */
static bool park_and_prove(evmap_reader *first, uint64_t gen,
			   struct evmap__wait_stats *st)
{
	evmap_reader *h;

	for (h = first; h; h = h->next)
		if (h->clear_gen != gen && judge(h, gen) == OUTSIDE_OLD) {
			/* verified again only once the barrier succeeded
			 * (tests/model: BARRIER_MAY_FAIL) */
			h->park_verified = false;
			__atomic_store_n(&h->parked, 1, __ATOMIC_RELAXED);
		}
	stat_inc(&st->barriers);
	if (!evmap__rcu_barrier())
		return false;
	for (h = first; h; h = h->next) {
		uint64_t word;

		if (h->clear_gen == gen)
			continue;
		if (__atomic_load_n(&h->parked, __ATOMIC_RELAXED))
			h->park_verified = true;
		word = __atomic_load_n(&h->section, __ATOMIC_ACQUIRE);
		if (!(word & EVMAP__SECTION_INSIDE) ||
		    evmap__section_generation(word) >= gen) {
			stat_inc(&st->proven);
			h->clear_gen = gen;
		}
	}
	return true;
}

/* The @polls'th time nothing was left to do but wait: spin, then yield,
 * then sleep, longer each time up to SLEEP_MAX_NS. */
static void back_off(unsigned int polls, struct evmap__wait_stats *st)
{
	if (polls < SPIN_POLLS) {
		for (int i = 0; i < 8; i++)
			caa_cpu_relax();
		return;
	}
	stat_inc(&st->yields);
	if (polls < SPIN_POLLS + YIELD_POLLS) {
		sched_yield();
	} else {
		unsigned int shift = polls - SPIN_POLLS - YIELD_POLLS;
		long ns = 1000L << (shift < 10 ? shift : 10);
		struct timespec t = {0, ns < SLEEP_MAX_NS ? ns : SLEEP_MAX_NS};
		nanosleep(&t, NULL);
	}
}

int evmap__registry_wait(struct evmap__shared *s, uint64_t gen,
			 bool may_wait, struct evmap__wait_stats *st)
{
	unsigned int polls = 0;
	unsigned int park_after =
		gen == EVMAP__GENERATION_DESTROYED ? 0 : PARK_AFTER_POLLS;
	bool proved = false, waited = false;
	size_t inside, outside;
	evmap_reader *first;

	stat_inc(&st->waits);
	/* The publication of @gen before any word is read (see above). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	release_spares(s);
	reclaim(s);
	/* The handles to wait for: the list as it is now. One pushed later
	 * cannot be inside the old copy ("The list", above), and walking it
	 * would let threads that create handles without pause keep the wait
	 * from ever finding every handle clear at once. */
	first = __atomic_load_n(&s->handles, __ATOMIC_ACQUIRE);
	for (;;) {
		judge_all(first, gen, st, &inside, &outside);
		if (!inside && !outside)
			return 0;
		/* A busy reader seen between two sections announces @gen at
		 * its next one: give it a moment before paying a barrier.
		 * try_refresh does not wait, and pays at most one. At
		 * destruction, an idle handle never announces, and a busy one
		 * announces at its next section with or without being parked:
		 * park at once. */
		if (outside && (may_wait ? polls >= park_after : !proved)) {
			proved = true;
			if (park_and_prove(first, gen, st))
				continue;
			if (!may_wait)
				return -EAGAIN;
			evmap__rcu_synchronize();
			return 0; /* every section is also a liburcu one */
		}
		if (!may_wait) {
			stat_inc(&st->busy);
			return -EAGAIN;
		}
		if (inside && !waited) {
			stat_inc(&st->waited);
			waited = true;
		}
		back_off(polls++, st);
	}
}

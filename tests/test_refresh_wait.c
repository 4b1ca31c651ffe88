/* SPDX-License-Identifier: MIT */
/*
 * test_refresh_wait.c - refresh's per-map wait for reader handles
 * (src/registry.c): each way a handle is found clear (announced, parked,
 * proven by a barrier) and the wait for a handle inside the old copy,
 * made to happen deterministically; two maps that do not wait for each
 * other's readers, at refresh and at destruction; destruction waiting for
 * a handle inside; a fork child that forgets other threads' bindings;
 * then a stress run: one writer that refreshes after
 * every write, more reader threads than cores, idle handles, a handle
 * parked and un-parked again and again, and handles handed from thread to
 * thread. Readers check at every section that the copy does not change
 * under them (pairs of keys always hold equal values; a value seen stays
 * the one seen) and that no value they see was freed (values are poisoned
 * on free; ASan also catches the use after free). The writer's wait
 * statistics (internal library) prove that every path ran. Last, the same
 * refresh-after-every-write load on evmap_get_first, whose fast path
 * reuses the view cached in the handle: a value never goes back, and two
 * lookups nested in one section see one copy.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>

#include "test_util.h"

#include "alloc.h"
#include "registry.h"

#define VALUE_ALIVE UINT64_C(0x70616972616c6976)
#define VALUE_DEAD UINT64_C(0xdeaddeaddeaddead)
#define NPAIRS 64

struct pair_value {
	uint64_t magic; /* atomic: VALUE_DEAD once freed */
	uint64_t seq;
};

static long values_live; /* atomic */

static uint64_t value_hash(const void *item, void *ctx)
{
	(void)ctx;
	return (uint64_t)(uintptr_t)item * UINT64_C(0x9e3779b97f4a7c15);
}

static void value_free(void *item, void *ctx)
{
	struct pair_value *v = item;

	(void)ctx;
	__atomic_store_n(&v->magic, VALUE_DEAD, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&values_live, 1, __ATOMIC_RELAXED);
	free(v);
}

static const evmap_type value_type = {.hash = value_hash, .free = value_free};

static struct pair_value *value_new(uint64_t seq)
{
	struct pair_value *v = malloc(sizeof(*v));

	assert_non_null(v);
	v->magic = VALUE_ALIVE;
	v->seq = seq;
	__atomic_add_fetch(&values_live, 1, __ATOMIC_RELAXED);
	return v;
}

static struct evmap__wait_stats stats_of(const evmap_writer *w)
{
	struct evmap__wait_stats st;

	evmap__writer_wait_stats(w, &st);
	return st;
}

/* Both keys of every pair updated to equal values, then one refresh. */
static void write_pair(evmap_writer *w, uint64_t pair, uint64_t seq)
{
	assert_int_equal(evmap_update(w, EVT_U64(2 * pair), value_new(seq)), 0);
	assert_int_equal(evmap_update(w, EVT_U64(2 * pair + 1), value_new(seq)),
			 0);
}

static void new_map(evmap_writer **w, evmap_reader **r)
{
	assert_int_equal(evmap_new(&evmap_type_u64, &value_type, NULL, w, r), 0);
}

static void free_map(evmap_writer *w)
{
	evmap_writer_free(w);
	assert_int_equal(__atomic_load_n(&values_live, __ATOMIC_RELAXED), 0);
}

/* ---- each path, deterministically ---- */

static void test_idle_handles_are_born_parked(void **state)
{
	evmap_writer *w;
	evmap_reader *r, *idle;
	struct evmap__wait_stats st;

	(void)state;
	new_map(&w, &r);
	idle = evmap_reader_clone(r);
	assert_non_null(idle);
	for (int i = 0; i < 4; i++) {
		write_pair(w, 0, (uint64_t)i);
		assert_int_equal(evmap_refresh(w), 0);
	}
	st = stats_of(w);
	/* the first two refreshes fill copies never published: no wait */
	assert_int_equal(st.waits, 2);
	/* never used: parked from birth, no barrier ever */
	assert_int_equal(st.parked, 4);
	assert_int_equal(st.barriers, 0);
	assert_int_equal(st.announced + st.proven + st.waited, 0);
	evmap_reader_free(idle);
	evmap_reader_free(r);
	free_map(w);
}

static void test_announced_handle_needs_no_barrier(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	struct evmap__wait_stats st;

	(void)state;
	new_map(&w, &r);
	for (uint64_t i = 0; i < 8; i++) {
		write_pair(w, 0, i);
		assert_int_equal(evmap_refresh(w), 0);
		/* a section after each refresh announces its generation */
		assert_non_null(evmap_enter(r));
		evmap_leave(r);
	}
	st = stats_of(w);
	assert_int_equal(st.waits, 6);
	assert_int_equal(st.announced, 6);
	assert_int_equal(st.barriers, 0);
	evmap_reader_free(r);
	free_map(w);
}

static void test_idle_handle_parked_by_one_barrier(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	struct evmap__wait_stats st;

	(void)state;
	new_map(&w, &r);
	write_pair(w, 0, 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_non_null(evmap_enter(r)); /* un-parks: it was born parked */
	evmap_leave(r);
	for (uint64_t i = 1; i < 10; i++) {
		write_pair(w, 0, i);
		assert_int_equal(evmap_refresh(w), 0);
	}
	st = stats_of(w);
	/* outside with an old generation: parked and proven once, then
	 * skipped without a barrier */
	assert_int_equal(st.barriers, 1);
	assert_int_equal(st.proven, 1);
	assert_int_equal(st.parked, 7);
	/* and again after it wakes up */
	assert_non_null(evmap_enter(r));
	evmap_leave(r);
	write_pair(w, 0, 10);
	assert_int_equal(evmap_refresh(w), 0); /* announced */
	write_pair(w, 0, 11);
	assert_int_equal(evmap_refresh(w), 0); /* parked again */
	write_pair(w, 0, 12);
	assert_int_equal(evmap_refresh(w), 0); /* skipped */
	st = stats_of(w);
	assert_int_equal(st.barriers, 2);
	assert_int_equal(st.announced, 1);
	assert_int_equal(st.parked, 8);
	evmap_reader_free(r);
	free_map(w);
}

struct held_section {
	evmap_reader *r;
	evmap_writer *w; /* leave once this writer has waited */
	int inside;      /* atomic */
	int release;     /* atomic: leave now */
	uint64_t generation;
};

static void *hold_section(void *arg)
{
	struct held_section *h = arg;
	const evmap_view *v = evmap_enter(h->r);

	h->generation = evmap_view_generation(v);
	__atomic_store_n(&h->inside, 1, __ATOMIC_RELEASE);
	for (;;) {
		if (__atomic_load_n(&h->release, __ATOMIC_ACQUIRE))
			break;
		if (h->w && stats_of(h->w).waited > 0)
			break;
		sched_yield();
	}
	evmap_leave(h->r);
	return NULL;
}

/* Start hold_section() on @r; return once it is inside. */
static void start_holding(struct held_section *h, evmap_reader *r,
			  pthread_t *t)
{
	h->r = r;
	assert_int_equal(pthread_create(t, NULL, hold_section, h), 0);
	while (!__atomic_load_n(&h->inside, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void test_refresh_waits_for_handle_inside_old_copy(void **state)
{
	struct held_section h = {0};
	evmap_writer *w;
	evmap_reader *r;
	pthread_t t;

	(void)state;
	new_map(&w, &r);
	write_pair(w, 0, 0);
	assert_int_equal(evmap_refresh(w), 0);
	write_pair(w, 0, 1);
	assert_int_equal(evmap_refresh(w), 0);
	start_holding(&h, r, &t);
	assert_int_equal(h.generation, 2);
	/* publishes generation 3; the standby (generation 1) is free */
	write_pair(w, 0, 2);
	assert_int_equal(evmap_refresh(w), 0);
	/* now the standby is generation 2, where the reader is */
	write_pair(w, 0, 3);
	assert_int_equal(evmap_try_refresh(w), -EAGAIN);
	assert_int_equal(evmap_try_refresh(w), -EAGAIN);
	assert_int_equal(stats_of(w).busy, 2);
	assert_int_equal(stats_of(w).waited, 0);
	/* the reader leaves once it sees the writer waiting for it */
	h.w = w;
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(stats_of(w).waited, 1);
	assert_int_equal(evmap_generation(w), 4);
	evmap_reader_free(r);
	free_map(w);
}

/* A section begun before the first refresh (no view) is in no copy: the
 * writer never waits for it, however many refreshes it makes meanwhile,
 * and it proves it outside with one barrier (registry.c, "Not ready"). */
static void test_section_begun_before_ready_is_not_waited_for(void **state)
{
	struct held_section h = {0};
	evmap_writer *w;
	evmap_reader *r;
	pthread_t t;

	(void)state;
	new_map(&w, &r);
	start_holding(&h, r, &t);
	assert_int_equal(h.generation, 0); /* evmap_enter() returned NULL */
	for (uint64_t i = 0; i < 6; i++) {
		write_pair(w, 0, i);
		assert_int_equal(evmap_try_refresh(w), 0);
	}
	assert_int_equal(stats_of(w).busy, 0);
	assert_int_equal(stats_of(w).waited, 0);
	assert_int_equal(stats_of(w).barriers, 1);
	assert_int_equal(stats_of(w).proven, 1);
	__atomic_store_n(&h.release, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* its next section sees the map as it is now */
	assert_int_equal(evmap_view_generation(evmap_enter(r)), 6);
	evmap_leave(r);
	evmap_reader_free(r);
	free_map(w);
}

/* The same state through evmap_get_first's own section and a nested
 * evmap_enter(): each ends liburcu's section too (a refresh on this
 * thread right after is not refused with -EDEADLK). */
static void test_sections_before_ready_end_their_rcu_section(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	const void *value = EVT_U64(7);

	(void)state;
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(2)), 0);
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 0);
	assert_ptr_equal(value, EVT_U64(7));
	assert_null(evmap_enter(r));
	assert_null(evmap_enter(r)); /* nested: the same (no) view */
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 0);
	assert_int_equal(evmap_refresh(w), -EDEADLK);
	evmap_leave(r);
	assert_int_equal(evmap_refresh(w), -EDEADLK);
	evmap_leave(r);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 1);
	assert_ptr_equal(value, EVT_U64(2));
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(evmap_refresh(w), 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

static void test_maps_do_not_wait_for_each_other(void **state)
{
	struct held_section h = {0};
	evmap_writer *wa, *wb;
	evmap_reader *ra, *rb;
	pthread_t t;

	(void)state;
	new_map(&wa, &ra);
	new_map(&wb, &rb);
	for (uint64_t i = 0; i < 2; i++) {
		write_pair(wa, 0, i);
		write_pair(wb, 0, i);
		assert_int_equal(evmap_refresh(wa), 0);
		assert_int_equal(evmap_refresh(wb), 0);
	}
	/* a reader stays inside map B's section until released */
	start_holding(&h, rb, &t);
	write_pair(wb, 0, 2);
	assert_int_equal(evmap_refresh(wb), 0);
	write_pair(wb, 0, 3);
	assert_int_equal(evmap_try_refresh(wb), -EAGAIN);
	/* map A refreshes after every write, never refused */
	for (uint64_t i = 2; i < 200; i++) {
		write_pair(wa, i % NPAIRS, i);
		assert_int_equal(evmap_try_refresh(wa), 0);
		write_pair(wa, i % NPAIRS, i);
		assert_int_equal(evmap_refresh(wa), 0);
	}
	assert_int_equal(stats_of(wa).busy, 0);
	assert_int_equal(stats_of(wa).waited, 0);
	__atomic_store_n(&h.release, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(evmap_refresh(wb), 0);
	evmap_reader_free(ra);
	evmap_reader_free(rb);
	evmap_writer_free(wa);
	free_map(wb);
}

/* ---- destruction: this map's handles only ---- */

static void test_destruction_waits_for_handle_inside(void **state)
{
	struct held_section h = {0};
	evmap_writer *w;
	evmap_reader *r;
	pthread_t t;

	(void)state;
	new_map(&w, &r);
	write_pair(w, 0, 1);
	assert_int_equal(evmap_refresh(w), 0);
	start_holding(&h, r, &t);
	/* the reader reads the writer's statistics inside its section and
	 * leaves once the destruction waits for it: freeing the writer
	 * before would be a use after free (ASan), never waiting a hang */
	h.w = w;
	free_map(w);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(evmap_is_destroyed(r));
	evmap_reader_free(r);
}

static void test_destruction_does_not_wait_for_other_maps(void **state)
{
	struct held_section h = {0};
	evmap_writer *wa, *wb;
	evmap_reader *ra, *rb;
	pthread_t t;

	(void)state;
	new_map(&wa, &ra);
	new_map(&wb, &rb);
	write_pair(wa, 0, 1);
	write_pair(wb, 0, 1);
	assert_int_equal(evmap_refresh(wa), 0);
	assert_int_equal(evmap_refresh(wb), 0);
	/* a reader stays inside map B's section until released */
	start_holding(&h, rb, &t);
	assert_non_null(evmap_enter(ra)); /* map A's handle used, then idle */
	evmap_leave(ra);
	evmap_writer_free(wa); /* a liburcu grace period would wait for B's */
	assert_true(evmap_is_destroyed(ra));
	__atomic_store_n(&h.release, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	evmap_reader_free(ra);
	evmap_reader_free(rb);
	free_map(wb);
}

/* A reader that re-enters at once, with long sections and short gaps:
 * the writer seldom sees it outside, and almost never still outside after
 * a barrier. Its first section after the destroyed word announces that it
 * saw it, which clears it. */
struct busy_reader {
	evmap_reader *r;
	int entered; /* atomic: sections begun */
	int stop;    /* atomic */
	uint64_t nulls;
};

static void *reenter_without_pause(void *arg)
{
	struct busy_reader *b = arg;
	volatile unsigned long spin;

	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		if (!evmap_enter(b->r))
			b->nulls++;
		__atomic_add_fetch(&b->entered, 1, __ATOMIC_RELEASE);
		for (spin = 0; spin < 20000; spin++)
			;
		evmap_leave(b->r);
	}
	return NULL;
}

static void run_destruction_under_reader_that_reenters(bool refreshed)
{
	struct busy_reader b = {0};
	evmap_writer *w;
	evmap_reader *r;
	pthread_t t;

	new_map(&w, &r);
	write_pair(w, 0, 1);
	if (refreshed)
		assert_int_equal(evmap_refresh(w), 0);
	b.r = evmap_reader_clone(r);
	assert_non_null(b.r);
	assert_int_equal(pthread_create(&t, NULL, reenter_without_pause, &b), 0);
	while (__atomic_load_n(&b.entered, __ATOMIC_ACQUIRE) < 2)
		sched_yield();
	free_map(w); /* returns: the reader announced the destruction */
	__atomic_store_n(&b.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(evmap_is_destroyed(b.r));
	evmap_reader_free(b.r);
	evmap_reader_free(r);
}

static void test_destruction_ends_under_a_reader_that_reenters(void **state)
{
	(void)state;
	run_destruction_under_reader_that_reenters(true);
}

/* the same before the first refresh: the reader never announced a
 * generation, and still announces the destruction */
static void
test_destruction_before_refresh_ends_under_a_reader_that_reenters(
	void **state)
{
	(void)state;
	run_destruction_under_reader_that_reenters(false);
}

/* ---- fork: the child forgets the other threads' bindings ---- */

struct bound_elsewhere {
	evmap_reader *r;      /* bound, outside */
	evmap_reader *inside; /* bound, inside a section at the fork */
	evmap_writer *w;      /* the map's, for the child */
	int bound;            /* atomic */
	int release;          /* atomic */
};

static void *bind_and_wait(void *arg)
{
	struct bound_elsewhere *b = arg;

	evmap_enter(b->r);
	evmap_leave(b->r);
	evmap_enter(b->inside);
	__atomic_store_n(&b->bound, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&b->release, __ATOMIC_ACQUIRE))
		sched_yield();
	evmap_leave(b->inside);
	return NULL;
}

/* The child: the dead thread's bindings are gone, and its open section
 * does not hold up its map's refreshes or destruction. */
static int child_after_fork(void *arg)
{
	struct bound_elsewhere *b = arg;
	evmap_writer *w = b->w;

	if (__atomic_load_n(&b->r->binding.owner, __ATOMIC_RELAXED) != 0 ||
	    b->r->binding.thread != NULL || b->inside->binding.thread != NULL)
		return 1;
	for (uint64_t i = 0; i < 4; i++) {
		write_pair(w, 0, 10 + i);
		if (evmap_try_refresh(w) != 0)
			return 2;
	}
	evmap_writer_free(w);
	return 0;
}

static void test_fork_child_unbinds_other_threads_handles(void **state)
{
	struct bound_elsewhere b = {0};
	evmap_writer *w;
	evmap_reader *r;
	pthread_t t;

	(void)state;
	new_map(&w, &r);
	assert_int_equal(evmap_refresh(w), 0);
	b.r = evmap_reader_clone(r);
	assert_non_null(b.r);
	b.inside = evmap_reader_clone(r);
	assert_non_null(b.inside);
	assert_int_equal(pthread_create(&t, NULL, bind_and_wait, &b), 0);
	while (!__atomic_load_n(&b.bound, __ATOMIC_ACQUIRE))
		sched_yield();
	assert_int_not_equal(
		__atomic_load_n(&b.r->binding.owner, __ATOMIC_RELAXED), 0);
	b.w = w;
	/* a new thread of the child may get the dead thread's identity
	 * (glibc reuses its stack): no binding may still name it */
	evt_assert_child_succeeds(child_after_fork, &b);
	__atomic_store_n(&b.release, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	evmap_reader_free(b.r);
	evmap_reader_free(b.inside);
	evmap_reader_free(r);
	free_map(w);
}

/* ---- the registry under churn ---- */

#define CHURN_KEEP 64
#define CHURN_REFRESHES 200

struct churn {
	evmap_reader *origin;
	evmap_reader *kept[CHURN_KEEP]; /* live at the end */
	int stop;                        /* atomic: threads done */
	unsigned long refreshes;         /* atomic: the writer's so far */
};

/* Create and free handles; keep every 97th (every other slot of kept[]
 * for each of the two threads), until kept[] is full and the writer has
 * refreshed CHURN_REFRESHES times meanwhile. */
static void *churn_handles(void *arg)
{
	struct churn *c = ((void **)arg)[0];
	size_t kept = (size_t)(uintptr_t)((void **)arg)[1];

	for (size_t n = 1;
	     kept < CHURN_KEEP ||
	     __atomic_load_n(&c->refreshes, __ATOMIC_RELAXED) < CHURN_REFRESHES;
	     n++) {
		evmap_reader *r = evmap_reader_clone(c->origin);

		if (!r)
			continue;
		if (n % 97 == 0 && kept < CHURN_KEEP) {
			c->kept[kept] = r;
			kept += 2;
		} else {
			evmap_reader_free(r);
		}
	}
	__atomic_add_fetch(&c->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_registry_keeps_live_handles_under_churn(void **state)
{
	struct churn c = {0};
	void *args[2][2] = {{&c, (void *)0}, {&c, (void *)1}};
	evmap_writer *w;
	pthread_t t[2];
	size_t refreshes = 0;

	(void)state;
	new_map(&w, &c.origin);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn_handles,
						args[i]),
				 0);
	/* every wait sweeps freed handles while new ones are pushed */
	while (__atomic_load_n(&c.stop, __ATOMIC_ACQUIRE) < 2) {
		assert_int_equal(evmap_refresh(w), 0);
		refreshes++;
		__atomic_store_n(&c.refreshes, refreshes, __ATOMIC_RELAXED);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_true(refreshes >= CHURN_REFRESHES);
	/* every handle still alive is in the registry, once */
	for (int k = -1; k < CHURN_KEEP; k++) {
		evmap_reader *want = k < 0 ? c.origin : c.kept[k];
		size_t seen = 0;

		for (evmap_reader *h = c.origin->shared->handles; h; h = h->next)
			seen += h == want;
		assert_int_equal(seen, 1);
	}
	for (int k = 0; k < CHURN_KEEP; k++)
		evmap_reader_free(c.kept[k]);
	evmap_reader_free(c.origin);
	free_map(w);
}

/* ---- spare handles ---- */

static struct evmap__handle_stats handle_stats_of(const evmap_reader *r)
{
	struct evmap__handle_stats st;

	evmap__reader_handle_stats(r, &st);
	return st;
}

/* Handles created and freed while the writer does not refresh: each new
 * one is the one freed before, so memory does not grow (it grew by 272
 * bytes a cycle when freed handles waited for the writer's next wait). */
static void test_freed_handle_is_reused_without_refresh(void **state)
{
	size_t cycles = evt_scale(100000, 1000);
	evmap_writer *w;
	evmap_reader *r, *c;
	struct evmap__handle_stats st;

	(void)state;
	new_map(&w, &r);
	write_pair(w, 0, 1);
	assert_int_equal(evmap_refresh(w), 0);
	for (size_t i = 0; i < cycles; i++) {
		c = i % 2 ? evmap_reader_clone(r) : evmap_writer_reader(w);
		assert_non_null(c);
		assert_non_null(evmap_enter(c));
		evmap_leave(c);
		evmap_reader_free(c);
	}
	st = handle_stats_of(r);
	assert_int_equal(st.allocated, 2);
	assert_int_equal(st.reused, cycles - 1);
	assert_int_equal(st.released, 0);
	evmap_reader_free(r);
	free_map(w);
}

/* A burst of handles freed together is given back at the writer's next
 * wait: the handle after it is allocated anew. */
static void test_refresh_frees_spare_handles(void **state)
{
	evmap_writer *w;
	evmap_reader *r, *burst[10];
	struct evmap__handle_stats st;

	(void)state;
	new_map(&w, &r);
	for (int i = 0; i < 10; i++)
		assert_non_null(burst[i] = evmap_reader_clone(r));
	for (int i = 0; i < 10; i++)
		evmap_reader_free(burst[i]);
	/* the first two refreshes fill copies never published: no wait */
	for (int i = 0; i < 3; i++) {
		write_pair(w, 0, (uint64_t)i);
		assert_int_equal(evmap_refresh(w), 0);
	}
	st = handle_stats_of(r);
	assert_int_equal(st.allocated, 11);
	assert_int_equal(st.released, 10);
	assert_int_equal(stats_of(w).waits, 1);
	burst[0] = evmap_reader_clone(r);
	assert_non_null(burst[0]);
	assert_int_equal(handle_stats_of(r).allocated, 12);
	assert_int_equal(handle_stats_of(r).reused, 0);
	/* ... and the registry holds the live ones only */
	{
		size_t n = 0;

		for (evmap_reader *h = r->shared->handles; h; h = h->next)
			n++;
		assert_int_equal(n, 2);
	}
	evmap_reader_free(burst[0]);
	evmap_reader_free(r);
	free_map(w);
}

/* On a new thread that cannot register (no memory for its record): the
 * section cannot bind, and the handle is freed inside it. */
static void free_inside_unbound_section(void *arg)
{
	evmap_reader *r = arg;

	evmap__alloc_set_failure_hook(evt_fail_every_allocation, NULL);
	assert_null(evmap_enter(r));
	evmap__alloc_set_failure_hook(NULL, NULL);
	evmap_reader_free(r);
}

/* A handle freed inside a section that could not bind is reused as a new
 * handle outside every section. */
static void test_reused_handle_begins_outside_sections(void **state)
{
	evmap_writer *w;
	evmap_reader *r, *c;
	const evmap_view *v;

	(void)state;
	new_map(&w, &r);
	write_pair(w, 0, 1);
	assert_int_equal(evmap_refresh(w), 0);
	c = evmap_reader_clone(r);
	assert_non_null(c);
	evt_run_in_thread(free_inside_unbound_section, c);
	c = evmap_reader_clone(r);
	assert_non_null(c);
	assert_int_equal(handle_stats_of(r).reused, 1);
	v = evmap_enter(c);
	assert_non_null(v);
	assert_non_null(evmap_values_first(evmap_view_get(v, EVT_U64(0))));
	evmap_leave(c);
	evmap_reader_free(c);
	evmap_reader_free(r);
	free_map(w);
}

/* ---- stress ---- */

#define POOL 4

struct stress {
	evmap_writer *w;
	evmap_reader *busy[3];
	evmap_reader *sleeper;
	evmap_reader *pool[POOL]; /* handed between threads, under pool_lock */
	size_t pool_len;
	pthread_mutex_t pool_lock;
	pthread_mutex_t progress_lock;
	pthread_cond_t progress_cond;
	uint64_t refreshes; /* under progress_lock */
	int done;           /* atomic */
	unsigned long violations, sections, sleeps, handoffs, churns; /* atomic */
};

static void violation(struct stress *s)
{
	__atomic_add_fetch(&s->violations, 1, __ATOMIC_RELAXED);
}

static bool alive(const struct pair_value *v)
{
	return __atomic_load_n(&v->magic, __ATOMIC_RELAXED) == VALUE_ALIVE;
}

static const struct pair_value *first_of(const evmap_view *v, uint64_t key)
{
	return evmap_values_first(evmap_view_get(v, EVT_U64(key)));
}

/* One section on @r: the invariants. */
static void check_section(struct stress *s, evmap_reader *r, uint64_t *rng,
			  uint64_t *last_gen)
{
	const evmap_view *v = evmap_enter(r);
	const struct pair_value *a, *b;
	uint64_t pair, gen;

	if (!v) {
		evmap_leave(r);
		return;
	}
	gen = evmap_view_generation(v);
	if (gen < *last_gen)
		violation(s);
	*last_gen = gen;
	for (int i = 0; i < 4; i++) {
		*rng = *rng * UINT64_C(6364136223846793005) + 1;
		pair = (*rng >> 33) % NPAIRS;
		a = first_of(v, 2 * pair);
		b = first_of(v, 2 * pair + 1);
		if (!a != !b) {
			violation(s);
			continue;
		}
		if (!a)
			continue;
		if (!alive(a) || !alive(b) || a->seq != b->seq)
			violation(s);
		sched_yield(); /* let the writer run while we hold the view */
		if (first_of(v, 2 * pair) != a || !alive(a))
			violation(s);
	}
	evmap_leave(r);
	__atomic_add_fetch(&s->sections, 1, __ATOMIC_RELAXED);
}

static bool stopped(struct stress *s)
{
	return __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
}

static void *busy_reader(void *arg)
{
	struct stress *s = ((void **)arg)[0];
	evmap_reader *r = ((void **)arg)[1];
	uint64_t rng = (uint64_t)(uintptr_t)r, gen = 0;

	while (!stopped(s))
		check_section(s, r, &rng, &gen);
	return NULL;
}

/* Bursts of sections, then blocked until the writer has refreshed a few
 * times more (its handle is parked meanwhile), again and again. */
static void *sleeping_reader(void *arg)
{
	struct stress *s = arg;
	uint64_t rng = 7, gen = 0, until;

	while (!stopped(s)) {
		for (int i = 0; i < 20; i++)
			check_section(s, s->sleeper, &rng, &gen);
		pthread_mutex_lock(&s->progress_lock);
		until = s->refreshes + 50;
		while (s->refreshes < until && !stopped(s))
			pthread_cond_wait(&s->progress_cond, &s->progress_lock);
		pthread_mutex_unlock(&s->progress_lock);
		__atomic_add_fetch(&s->sleeps, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Take a handle from the pool, use it, put it back: handles move between
 * threads (the pool's mutex orders the hand-over). */
static void *pool_reader(void *arg)
{
	struct stress *s = arg;
	uint64_t rng = (uint64_t)(uintptr_t)&rng, gen;
	evmap_reader *r;

	while (!stopped(s)) {
		pthread_mutex_lock(&s->pool_lock);
		r = s->pool_len ? s->pool[--s->pool_len] : NULL;
		pthread_mutex_unlock(&s->pool_lock);
		if (!r) {
			sched_yield();
			continue;
		}
		gen = 0;
		for (int i = 0; i < 10; i++)
			check_section(s, r, &rng, &gen);
		pthread_mutex_lock(&s->pool_lock);
		s->pool[s->pool_len++] = r;
		pthread_mutex_unlock(&s->pool_lock);
		__atomic_add_fetch(&s->handoffs, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Clone a handle, use it, free it, again and again: each new handle is
 * the one freed before (a spare) made live again, while the writer
 * waits. Between the free and the next clone, a section on a handle of
 * its own gives the writer's waits a spare to free. */
static void *churning_reader(void *arg)
{
	struct stress *s = arg;
	evmap_reader *own = evmap_reader_clone(s->busy[0]), *c;
	uint64_t rng = 11, gen, own_gen = 0;

	if (!own) {
		violation(s);
		return NULL;
	}
	while (!stopped(s)) {
		c = evmap_reader_clone(s->busy[0]);
		if (!c) {
			violation(s);
			break;
		}
		gen = 0;
		for (int i = 0; i < 3; i++)
			check_section(s, c, &rng, &gen);
		evmap_reader_free(c);
		check_section(s, own, &rng, &own_gen);
		__atomic_add_fetch(&s->churns, 1, __ATOMIC_RELAXED);
	}
	evmap_reader_free(own);
	return NULL;
}

/* Whether every path the stress test asserts has run: the writer's
 * (announced, proven, barriers; parked is counted exactly below) and the
 * readers' (sections, sleeps, hand-offs). How many refreshes that takes
 * depends on the scheduling (under TSan a busy reader may not announce a
 * generation before the writer looks at it in 500 refreshes), so the
 * writer goes on refreshing until all have run: a path that never runs
 * fails the test by its timeout. */
static bool stress_paths_ran(const struct stress *s)
{
	struct evmap__wait_stats st = stats_of(s->w);
	struct evmap__handle_stats hs = handle_stats_of(s->busy[0]);

	return st.announced > 0 && st.proven > 0 && st.barriers > 0 &&
	       hs.reused > 0 && hs.released > 0 &&
	       __atomic_load_n(&s->sections, __ATOMIC_RELAXED) > 0 &&
	       __atomic_load_n(&s->sleeps, __ATOMIC_RELAXED) > 0 &&
	       __atomic_load_n(&s->handoffs, __ATOMIC_RELAXED) > 0;
}

static void test_stress_refresh_after_every_write(void **state)
{
	struct stress s = {0};
	evmap_reader *first, *idle[2];
	void *busy_args[3][2];
	pthread_t busy[3], sleeper, pooled[2], churner;
	size_t writes = evt_scale(20000, 500), n;
	struct evmap__wait_stats st;
	struct evmap__handle_stats hs;

	(void)state;
	pthread_mutex_init(&s.pool_lock, NULL);
	pthread_mutex_init(&s.progress_lock, NULL);
	pthread_cond_init(&s.progress_cond, NULL);
	new_map(&s.w, &first);
	for (int i = 0; i < 3; i++)
		s.busy[i] = i ? evmap_reader_clone(first) : first;
	s.sleeper = evmap_writer_reader(s.w);
	for (int i = 0; i < POOL; i++)
		s.pool[i] = evmap_reader_clone(first);
	s.pool_len = POOL;
	for (int i = 0; i < 2; i++)
		idle[i] = evmap_reader_clone(first);
	for (int i = 0; i < 3; i++) {
		busy_args[i][0] = &s;
		busy_args[i][1] = s.busy[i];
		assert_int_equal(pthread_create(&busy[i], NULL, busy_reader,
						busy_args[i]),
				 0);
	}
	assert_int_equal(pthread_create(&sleeper, NULL, sleeping_reader, &s), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&pooled[i], NULL, pool_reader, &s),
				 0);
	assert_int_equal(pthread_create(&churner, NULL, churning_reader, &s), 0);

	for (n = 0; n < writes || !stress_paths_ran(&s); n++) {
		write_pair(s.w, n % NPAIRS, n);
		assert_int_equal(evmap_refresh(s.w), 0);
		pthread_mutex_lock(&s.progress_lock);
		s.refreshes++;
		pthread_cond_broadcast(&s.progress_cond);
		pthread_mutex_unlock(&s.progress_lock);
	}
	__atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&s.progress_lock);
	pthread_cond_broadcast(&s.progress_cond);
	pthread_mutex_unlock(&s.progress_lock);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_join(busy[i], NULL), 0);
	assert_int_equal(pthread_join(sleeper, NULL), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(pooled[i], NULL), 0);
	assert_int_equal(pthread_join(churner, NULL), 0);

	st = stats_of(s.w);
	hs = handle_stats_of(s.busy[0]);
	print_message("# refreshes %zu: announced %" PRIu64 ", parked %" PRIu64
		      ", proven %" PRIu64 ", barriers %" PRIu64
		      ", waited %" PRIu64 ", yields %" PRIu64
		      "; sections %lu, sleeps %lu, hand-offs %lu, churns %lu"
		      "; handles allocated %" PRIu64 ", reused %" PRIu64
		      ", released %" PRIu64 "\n",
		      n, st.announced, st.parked, st.proven, st.barriers,
		      st.waited, st.yields, s.sections, s.sleeps, s.handoffs,
		      s.churns, hs.allocated, hs.reused, hs.released);
	assert_int_equal(s.violations, 0);
	assert_int_equal(st.waits, n - 2);
	/* every path ran: the idle handles alone are parked at every wait */
	assert_true(st.announced > 0);
	assert_true(st.parked >= 2 * (n - 2));
	assert_true(st.proven > 0);
	assert_true(st.barriers > 0);
	assert_true(s.sections > 0);
	assert_true(s.sleeps > 0);
	assert_true(s.handoffs > 0);
	assert_true(s.churns > 0);
	assert_true(hs.reused > 0);
	assert_true(hs.released > 0);

	for (int i = 0; i < 3; i++)
		evmap_reader_free(s.busy[i]);
	evmap_reader_free(s.sleeper);
	for (int i = 0; i < POOL; i++)
		evmap_reader_free(s.pool[i]);
	for (int i = 0; i < 2; i++)
		evmap_reader_free(idle[i]);
	free_map(s.w);
	pthread_mutex_destroy(&s.pool_lock);
	pthread_mutex_destroy(&s.progress_lock);
	pthread_cond_destroy(&s.progress_cond);
}

/* ---- stress of evmap_get_first ---- */

struct first_stress {
	evmap_writer *w;
	int done;    /* atomic */
	int started; /* atomic: readers that made their first lookup */
	int nested_seen; /* atomic: a reader finished a nested section */
	unsigned long violations, lookups, nested; /* atomic */
};

/* Outside any section: each key's value never goes back (one section per
 * call, each on a view at least as new as the last). Inside one: the two
 * keys of a pair hold the same value. */
static void *first_reader(void *arg)
{
	struct first_stress *s = ((void **)arg)[0];
	evmap_reader *r = ((void **)arg)[1];
	uint64_t last[2 * NPAIRS] = {0}, rng = (uint64_t)(uintptr_t)r;
	unsigned long bad = 0, lookups = 0, nested = 0;

	while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
		const void *a = NULL, *b = NULL;
		uint64_t pair, k;
		int ra, rb;

		rng = rng * UINT64_C(6364136223846793005) + 1;
		pair = (rng >> 33) % NPAIRS;
		k = 2 * pair + (rng >> 40 & 1);
		ra = evmap_get_first(r, EVT_U64(k), &a);
		if (ra < 0 || (ra == 1 && EVT_NUM(a) < last[k]))
			bad++;
		else if (ra == 1)
			last[k] = EVT_NUM(a);
		if (lookups++ == 0)
			__atomic_add_fetch(&s->started, 1, __ATOMIC_RELEASE);
		if (lookups % 8 == 0) {
			(void)evmap_enter(r);
			ra = evmap_get_first(r, EVT_U64(2 * pair), &a);
			sched_yield(); /* let the writer run inside the section */
			rb = evmap_get_first(r, EVT_U64(2 * pair + 1), &b);
			if (ra != rb || (ra == 1 && a != b))
				bad++;
			evmap_leave(r);
			if (nested++ == 0)
				__atomic_store_n(&s->nested_seen, 1,
						 __ATOMIC_RELAXED);
		}
	}
	__atomic_add_fetch(&s->violations, bad, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->lookups, lookups, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->nested, nested, __ATOMIC_RELAXED);
	return NULL;
}

static void test_stress_get_first_refresh_after_every_write(void **state)
{
	struct first_stress s = {0};
	evmap_reader *readers[3];
	void *args[3][2];
	pthread_t threads[3];
	size_t writes = evt_scale(20000, 500), n;

	(void)state;
	evt_new_u64_map(&s.w, &readers[0]);
	for (int i = 1; i < 3; i++) {
		readers[i] = evmap_reader_clone(readers[0]);
		assert_non_null(readers[i]);
	}
	for (int i = 0; i < 3; i++) {
		args[i][0] = &s;
		args[i][1] = readers[i];
		assert_int_equal(pthread_create(&threads[i], NULL, first_reader,
						args[i]),
				 0);
	}
	/* the writes overlap the lookups: every reader runs first (with one
	 * CPU, or a loaded one, a writer that never waits could otherwise
	 * finish before any reader was scheduled) */
	while (__atomic_load_n(&s.started, __ATOMIC_ACQUIRE) < 3)
		sched_yield();
	/* and on until a nested section ran among the writes (a reader
	 * starved of CPU may not reach its 8th lookup within @writes) */
	for (n = 1; n <= writes ||
		    !__atomic_load_n(&s.nested_seen, __ATOMIC_RELAXED);
	     n++) {
		uint64_t pair = n % NPAIRS;

		assert_int_equal(evmap_update(s.w, EVT_U64(2 * pair), EVT_U64(n)),
				 0);
		assert_int_equal(
		    evmap_update(s.w, EVT_U64(2 * pair + 1), EVT_U64(n)), 0);
		assert_int_equal(evmap_refresh(s.w), 0);
	}
	__atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	print_message("# get_first: %zu refreshes, %lu lookups, %lu nested "
		      "sections\n",
		      n - 1, s.lookups, s.nested);
	assert_int_equal(s.violations, 0);
	assert_true(s.lookups > 0);
	assert_true(s.nested > 0);
	for (int i = 0; i < 3; i++)
		evmap_reader_free(readers[i]);
	evmap_writer_free(s.w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_handles_are_born_parked),
		cmocka_unit_test(test_announced_handle_needs_no_barrier),
		cmocka_unit_test(test_idle_handle_parked_by_one_barrier),
		cmocka_unit_test(test_refresh_waits_for_handle_inside_old_copy),
		cmocka_unit_test(test_section_begun_before_ready_is_not_waited_for),
		cmocka_unit_test(test_sections_before_ready_end_their_rcu_section),
		cmocka_unit_test(test_maps_do_not_wait_for_each_other),
		cmocka_unit_test(test_destruction_waits_for_handle_inside),
		cmocka_unit_test(test_destruction_does_not_wait_for_other_maps),
		cmocka_unit_test(
			test_destruction_ends_under_a_reader_that_reenters),
		cmocka_unit_test(
			test_destruction_before_refresh_ends_under_a_reader_that_reenters),
		cmocka_unit_test(test_fork_child_unbinds_other_threads_handles),
		cmocka_unit_test(test_registry_keeps_live_handles_under_churn),
		cmocka_unit_test(test_freed_handle_is_reused_without_refresh),
		cmocka_unit_test(test_refresh_frees_spare_handles),
		cmocka_unit_test(test_reused_handle_begins_outside_sections),
		cmocka_unit_test(test_stress_refresh_after_every_write),
		cmocka_unit_test(test_stress_get_first_refresh_after_every_write),
	};

	return cmocka_run_group_tests_name("refresh wait", tests, NULL, NULL);
}

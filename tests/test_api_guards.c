/* SPDX-License-Identifier: MIT */
/*
 * test_api_guards.c - what the library does when a program does something
 * unusual, each case one a review found broken:
 *  - writer calls made from inside a callback of the same map (retain's
 *    keep, a type's hash) fail with -EBUSY and change nothing;
 *  - an evmap_reserve whose room cannot be allocated does not make every
 *    later refresh fail (allocation failure injection, internal library);
 *  - a reader handle freed inside its own section ends that section;
 *  - a section whose thread cannot register with RCU (no memory) sees no
 *    view, nested sections included, holds nothing (a refresh inside it
 *    is not refused), and the handle's next section on a thread that can
 *    sees the published view again;
 *  - threads the application registers with liburcu itself: a thread that
 *    lost its last handle and was unregistered by the application is
 *    protected again by its next handle; a writer thread, a thread whose
 *    handles it freed itself, and a thread whose last handle another
 *    thread freed or took over, can be registered by the application
 *    afterwards;
 *  - fork() while another thread holds a reader handle: the child can
 *    refresh, read and free the map; while another thread is inside a
 *    section: the child can destroy other maps, directly and deferred,
 *    with no liburcu hook called by the application; inside the forking
 *    thread's own section while a grace period waits for it: no deadlock.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <unistd.h>

#include "test_util.h"

#include <urcu/urcu-memb.h>
/* liburcu-bp's grace-period counter only (its map header would clash with
 * memb's): the fork test below watches a grace period begin */
#include <urcu/static/urcu-bp.h>

#include "alloc.h"

/* ---- writer calls from callbacks ---- */

struct reentry {
	evmap_writer *w;
	int calls, busy;
};

static bool keep_odd_and_write(const void *value, void *ctx)
{
	struct reentry *re = ctx;
	uint64_t n = EVT_NUM(value);

	re->calls++;
	/* "move expired values to another key": refused */
	re->busy += evmap_insert(re->w, EVT_U64(99), value) == -EBUSY;
	re->busy += evmap_update(re->w, EVT_U64(98), value) == -EBUSY;
	re->busy += evmap_remove_key(re->w, EVT_U64(1)) == -EBUSY;
	re->busy += evmap_reserve(re->w, EVT_U64(1), 10) == -EBUSY;
	re->busy += evmap_evict(re->w, 1, 0) == -EBUSY;
	re->busy += evmap_purge(re->w) == -EBUSY;
	re->busy += evmap_set_meta(re->w, NULL) == -EBUSY;
	re->busy += evmap_refresh(re->w) == -EBUSY;
	re->busy += evmap_try_refresh(re->w) == -EBUSY;
	re->busy += evmap_retain(re->w, EVT_U64(1), keep_odd_and_write, re) ==
		    -EBUSY;
	evmap_writer_free(re->w); /* ignored */
	return n % 2 == 1;
}

static void test_writes_from_keep_fail_busy(void **state)
{
	struct reentry re = {0};
	evmap_writer *w;
	evmap_reader *r;
	const evmap_view *v;

	(void)state;
	evt_new_u64_map(&w, &r);
	re.w = w;
	/* a log at capacity, so a reentrant append would move it */
	for (uint64_t i = 1; i <= 64; i++)
		assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(i)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_retain(w, EVT_U64(1), keep_odd_and_write, &re),
			 0);
	assert_int_equal(re.calls, 64);
	assert_int_equal(re.busy, 64 * 10);
	assert_int_equal(evmap_pending(w), 1); /* the retain alone */
	/* both copies agree, generation after generation */
	for (int round = 0; round < 3; round++) {
		assert_int_equal(evmap_refresh(w), 0);
		v = evmap_enter(r);
		assert_int_equal(evmap_view_len(v), 1);
		assert_null(evmap_view_get(v, EVT_U64(99)));
		assert_null(evmap_view_get(v, EVT_U64(98)));
		assert_int_equal(evmap_values_len(evmap_view_get(v, EVT_U64(1))),
				 32);
		for (uint64_t i = 1; i <= 64; i++)
			assert_int_equal(evmap_values_contains(
					     evmap_view_get(v, EVT_U64(1)),
					     EVT_U64(i)),
					 i % 2 == 1);
		evmap_leave(r);
	}
	evmap_reader_free(r);
	evmap_writer_free(w);
}

static evmap_writer *hashing_writer;
static int hash_busy;

static uint64_t hash_and_refresh(const void *item, void *ctx)
{
	(void)ctx;
	if (hashing_writer)
		hash_busy += evmap_refresh(hashing_writer) == -EBUSY;
	return (uint64_t)(uintptr_t)item;
}

static void test_refresh_from_hash_fails_busy(void **state)
{
	const evmap_type key_type = {.hash = hash_and_refresh};
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	assert_int_equal(evmap_new(&key_type, &evmap_type_u64, NULL, &w, &r), 0);
	hashing_writer = w;
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(1)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	hashing_writer = NULL;
	assert_true(hash_busy >= 1);
	assert_int_equal(evmap_generation(w), 1);
	assert_true(evmap_contains_key(r, EVT_U64(1)));
	evmap_reader_free(r);
	evmap_writer_free(w);
}

/* ---- a reserve that cannot be had ---- */

static bool fail_huge(size_t size, void *ctx)
{
	(void)ctx;
	return size >= ((size_t)1 << 30);
}

static void test_reserve_out_of_memory_does_not_wedge(void **state)
{
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	evt_new_u64_map(&w, &r);
	evmap__alloc_set_failure_hook(fail_huge, NULL);
	assert_int_equal(evmap_reserve(w, EVT_U64(1), ((size_t)1 << 31) - 2), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(7)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_refresh(w), 0);
	evmap__alloc_set_failure_hook(NULL, NULL);
	assert_true(evmap_contains_value(r, EVT_U64(1), EVT_U64(7)));
	assert_int_equal(evmap_len(r), 1);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

/* ---- a thread that cannot register ---- */

struct unbound_reads {
	evmap_reader *r;
	evmap_writer *w;
	const evmap_view *outer, *nested;
	int get_first, nested_get_first;
	int refresh_inside; /* evmap_refresh() inside the unbound section */
};

/* On a new thread, whose record cannot be allocated. */
static void read_without_memory(void *arg)
{
	struct unbound_reads *u = arg;
	const void *value = NULL;

	evmap__alloc_set_failure_hook(evt_fail_every_allocation, NULL);
	u->get_first = evmap_get_first(u->r, EVT_U64(1), &value);
	u->outer = evmap_enter(u->r);
	u->nested = evmap_enter(u->r);
	/* inside the unbound section: no view, no value */
	u->nested_get_first = evmap_get_first(u->r, EVT_U64(1), &value);
	/* it holds nothing, and is not an own section (header) */
	evmap__alloc_set_failure_hook(NULL, NULL);
	u->refresh_inside = evmap_refresh(u->w);
	evmap_leave(u->r);
	evmap_leave(u->r);
}

static void test_unbound_section_sees_no_view(void **state)
{
	struct unbound_reads u = {0};
	const void *value = NULL;
	const evmap_view *v;
	evmap_writer *w;

	(void)state;
	evt_new_u64_map(&w, &u.r);
	u.w = w;
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(7)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	/* a section on this thread first: the handle knows the view */
	v = evmap_enter(u.r);
	assert_non_null(v);
	evmap_leave(u.r);
	evt_run_in_thread(read_without_memory, &u);
	assert_int_equal(u.get_first, -ENOMEM);
	assert_null(u.outer);
	assert_null(u.nested);
	assert_int_equal(u.nested_get_first, 0);
	assert_int_equal(u.refresh_inside, 0);
	assert_int_equal(evmap_generation(w), 2);
	/* back on a registered thread: the view of that refresh */
	v = evmap_enter(u.r);
	assert_int_equal(evmap_view_generation(v), 2);
	assert_ptr_equal(evmap_enter(u.r), v);
	evmap_leave(u.r);
	evmap_leave(u.r);
	assert_int_equal(evmap_get_first(u.r, EVT_U64(1), &value), 1);
	assert_int_equal(EVT_NUM(value), 7);
	assert_int_equal(evmap_refresh(w), 0);
	evmap_reader_free(u.r);
	evmap_writer_free(w);
}

/* ---- a handle freed inside its own section ---- */

static void test_reader_free_inside_own_section_ends_it(void **state)
{
	evmap_writer *w;
	evmap_reader *r, *r2;

	(void)state;
	evt_new_u64_map(&w, &r);
	r2 = evmap_reader_clone(r);
	assert_int_equal(evmap_refresh(w), 0);
	assert_non_null(evmap_enter(r2));
	assert_non_null(evmap_enter(r2)); /* nested */
	evmap_reader_free(r2);
	/* the thread is out of every section: refresh does not refuse, and
	 * destruction's grace period does not wait for ever */
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_refresh(w), 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

/* ---- threads registered by the application ---- */

struct app_thread {
	evmap_writer *w;
	evmap_reader *origin;
	evmap_reader *handle; /* given away to the main thread */
	int try_inside;       /* evmap_try_refresh inside the new section */
	struct evt_event handed, freed;
};

static void *app_registered_reader(void *arg)
{
	struct app_thread *a = arg;
	evmap_reader *r2;

	urcu_memb_register_thread();
	a->handle = evmap_reader_clone(a->origin);
	evmap_enter(a->handle);
	evmap_leave(a->handle);
	evt_event_set(&a->handed);
	evt_event_wait(&a->freed); /* the main thread freed it */
	urcu_memb_unregister_thread(); /* it holds no handle: allowed */
	r2 = evmap_reader_clone(a->origin);
	evmap_enter(r2);
	/* protected: this thread is inside a section again */
	a->try_inside = evmap_try_refresh(a->w);
	evmap_leave(r2);
	evmap_reader_free(r2);
	return NULL;
}

static void test_thread_unregistered_by_application_is_protected_again(
	void **state)
{
	struct app_thread a = {0};
	evmap_reader *r;
	pthread_t t;

	(void)state;
	evt_new_u64_map(&a.w, &r);
	a.origin = r;
	assert_int_equal(evmap_refresh(a.w), 0);
	evt_event_init(&a.handed);
	evt_event_init(&a.freed);
	assert_int_equal(pthread_create(&t, NULL, app_registered_reader, &a), 0);
	evt_event_wait(&a.handed);
	evmap_reader_free(a.handle); /* its last handle, freed elsewhere */
	evt_event_set(&a.freed);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.try_inside, -EDEADLK);
	evt_event_destroy(&a.handed);
	evt_event_destroy(&a.freed);
	evmap_reader_free(r);
	evmap_writer_free(a.w);
}

/* A thread whose last handle another thread took away (freed it, or used
 * it and so bound it to itself) holds nothing of libevmap's: the
 * application may register it with liburcu's memb flavor at once (memb
 * aborts on a double registration), and its next handle protects it. */
enum take_away { TAKE_BY_FREE, TAKE_BY_USE };

struct taken_thread {
	evmap_writer *w;
	evmap_reader *origin;
	evmap_reader *handle; /* taken away by the main thread */
	int try_inside;       /* evmap_try_refresh inside the next section */
	bool memb_section;    /* memb's own section worked meanwhile */
	struct evt_event handed, taken;
};

static void *reader_then_register(void *arg)
{
	struct taken_thread *a = arg;
	evmap_reader *r2;

	a->handle = evmap_reader_clone(a->origin);
	evmap_enter(a->handle);
	evmap_leave(a->handle);
	evt_event_set(&a->handed);
	evt_event_wait(&a->taken);
	/* this thread never entered libevmap again since */
	urcu_memb_register_thread();
	urcu_memb_read_lock();
	a->memb_section = urcu_memb_read_ongoing();
	urcu_memb_read_unlock();
	r2 = evmap_reader_clone(a->origin);
	evmap_enter(r2);
	a->try_inside = evmap_try_refresh(a->w);
	evmap_leave(r2);
	evmap_reader_free(r2);
	urcu_memb_unregister_thread();
	return NULL;
}

static void run_taken_away(enum take_away how)
{
	struct taken_thread a = {0};
	evmap_reader *r;
	pthread_t t;

	evt_new_u64_map(&a.w, &r);
	a.origin = r;
	assert_int_equal(evmap_refresh(a.w), 0);
	evt_event_init(&a.handed);
	evt_event_init(&a.taken);
	assert_int_equal(pthread_create(&t, NULL, reader_then_register, &a), 0);
	evt_event_wait(&a.handed);
	if (how == TAKE_BY_USE) {
		/* rebound to this thread by its use here */
		assert_non_null(evmap_enter(a.handle));
		evmap_leave(a.handle);
	} else {
		evmap_reader_free(a.handle);
	}
	evt_event_set(&a.taken);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(a.memb_section);
	assert_int_equal(a.try_inside, -EDEADLK);
	if (how == TAKE_BY_USE)
		evmap_reader_free(a.handle);
	evt_event_destroy(&a.handed);
	evt_event_destroy(&a.taken);
	evmap_reader_free(r);
	evmap_writer_free(a.w);
}

static void test_thread_whose_handle_was_freed_elsewhere_can_register(
	void **state)
{
	(void)state;
	run_taken_away(TAKE_BY_FREE);
}

static void test_thread_whose_handle_moved_away_can_register(void **state)
{
	(void)state;
	run_taken_away(TAKE_BY_USE);
}

static void *writer_then_register(void *arg)
{
	evmap_writer *w;
	evmap_reader *r;

	if (evmap_new(&evmap_type_u64, &evmap_type_u64, NULL, &w, &r) != 0)
		return NULL;
	for (int i = 0; i < 4; i++) {
		evmap_insert(w, EVT_U64(i), EVT_U64(i));
		evmap_refresh(w);
	}
	evmap_enter(r); /* a reader handle used here, and freed here */
	evmap_leave(r);
	evmap_reader_free(r);
	evmap_writer_free(w);
	/* libevmap left nothing registered: this must not abort */
	urcu_memb_register_thread();
	urcu_memb_unregister_thread();
	return arg;
}

static void test_writer_thread_can_register_afterwards(void **state)
{
	pthread_t t;
	void *ret = NULL;
	int token;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, writer_then_register, &token),
			 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_ptr_equal(ret, &token);
}

/* ---- fork ---- */

struct holder {
	evmap_reader *r;
	struct evt_event ready, done;
};

static void *hold_handle(void *arg)
{
	struct holder *h = arg;

	evmap_enter(h->r);
	evmap_leave(h->r);
	evt_event_set(&h->ready);
	evt_event_wait(&h->done);
	evmap_reader_free(h->r);
	return NULL;
}

struct map_pair {
	evmap_writer *w;
	evmap_reader *r;
};

static int child_uses_map(void *arg)
{
	evmap_writer *w = ((struct map_pair *)arg)->w;
	evmap_reader *r = ((struct map_pair *)arg)->r;

	for (uint64_t i = 0; i < 100; i++) {
		if (evmap_update(w, EVT_U64(1), EVT_U64(i)) != 0 ||
		    evmap_refresh(w) != 0)
			return 1;
		if (!evmap_contains_value(r, EVT_U64(1), EVT_U64(i)))
			return 2;
	}
	evmap_reader_free(r);
	evmap_writer_free(w);
	return 0;
}

static void test_fork_while_another_thread_holds_a_handle(void **state)
{
	struct holder h;
	evmap_writer *w;
	evmap_reader *r;
	struct map_pair m;
	pthread_t t;

	(void)state;
	evt_new_u64_map(&w, &r);
	m = (struct map_pair){w, r};
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_refresh(w), 0);
	h.r = evmap_reader_clone(r);
	evt_event_init(&h.ready);
	evt_event_init(&h.done);
	assert_int_equal(pthread_create(&t, NULL, hold_handle, &h), 0);
	evt_event_wait(&h.ready);
	/* the header's rule: no hook to call */
	evt_assert_child_succeeds(child_uses_map, &m);
	evt_event_set(&h.done);
	assert_int_equal(pthread_join(t, NULL), 0);
	evt_event_destroy(&h.ready);
	evt_event_destroy(&h.done);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

/* fork() while another thread is inside a section of one map, after the
 * parent's call_rcu thread ran: in the child, liburcu-bp must not wait for
 * the thread that does not exist there (destruction of other maps returns),
 * and call_rcu must run deferred destructions again. */
static int counted_frees;

static void count_free(void *item, void *ctx)
{
	(void)item;
	(void)ctx;
	counted_frees++;
}

/* A map of one counted value, destroyed inside a section of its own
 * handle (deferred to call_rcu) or outside (a grace period). */
static int destroy_counted_map(bool deferred)
{
	evmap_type counted = evmap_type_u64;
	evmap_writer *w;
	evmap_reader *r;
	int before = counted_frees;

	counted.free = count_free;
	if (evmap_new(&evmap_type_u64, &counted, NULL, &w, &r) != 0 ||
	    evmap_insert(w, EVT_U64(1), EVT_U64(1)) != 0 ||
	    evmap_refresh(w) != 0 || !evmap_contains_key(r, EVT_U64(1)))
		return 1;
	if (deferred) {
		evmap_enter(r);
		evmap_writer_free(w);
		evmap_leave(r);
		if (evmap_wait_deferred() != 0)
			return 2;
	} else {
		evmap_writer_free(w);
	}
	evmap_reader_free(r);
	return counted_frees == before + 1 ? 0 : 3;
}

/* In the child: a new thread, which glibc likely starts on the dead
 * holder's cached stack (so with its thread pointer, libevmap's thread
 * identity), frees the dead handle that was inside a section, then
 * destroys maps. */
static void *child_thread(void *arg)
{
	struct evt_section_holder *h = arg;
	int rc;

	evmap_reader_free(h->r);
	rc = destroy_counted_map(false);
	if (rc == 0)
		rc = destroy_counted_map(true);
	return (void *)(intptr_t)rc;
}

static int child_on_new_thread(void *arg)
{
	pthread_t ct;
	void *rc = (void *)(intptr_t)9;

	if (pthread_create(&ct, NULL, child_thread, arg) != 0 ||
	    pthread_join(ct, &rc) != 0)
		return 9;
	return (int)(intptr_t)rc;
}

static void test_fork_while_another_thread_is_inside_a_section(void **state)
{
	struct evt_section_holder h;
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	/* the parent's call_rcu thread exists from here on */
	assert_int_equal(destroy_counted_map(true), 0);
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_refresh(w), 0);
	evt_hold_section(&h, evmap_reader_clone(r));
	evt_assert_child_succeeds(child_on_new_thread, &h);
	evt_release_section(&h);
	evmap_reader_free(h.r);
	assert_int_equal(destroy_counted_map(false), 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

/* fork() inside the forking thread's own section while a grace period
 * waits for that section: liburcu's fork hooks would wait for it for ever
 * (the call_rcu thread cannot pause in the middle of its grace period, and
 * holds bp's grace-period lock), so the library skips them there, and the
 * child may exit. The grace period is that of a destruction deferred by
 * another thread; it is seen waiting when bp's global counter has flipped
 * phase: bp flips it once every reader was seen, and then waits for the
 * readers of the old phase, this thread among them. */
static void *destroy_a_map_deferred(void *arg)
{
	evmap_writer *w;
	evmap_reader *r;

	(void)arg;
	if (evmap_new(&evmap_type_u64, &evmap_type_u64, NULL, &w, &r) != 0)
		return NULL;
	evmap_enter(r);
	evmap_writer_free(w); /* to call_rcu: waits for the main thread */
	evmap_leave(r);
	evmap_reader_free(r);
	return arg;
}

/* What such a child may do: exec (true(1) exits with 0). exec rather
 * than _exit also keeps Valgrind from reporting the deferred destruction
 * that the child inherits, queued to a call_rcu thread it does not have,
 * as a leak of the child's. */
static int exec_true(void *arg)
{
	(void)arg;
	execlp("true", "true", (char *)NULL);
	return 127;
}

static void test_fork_inside_own_section_during_a_grace_period(void **state)
{
	unsigned long phase;
	evmap_writer *w;
	evmap_reader *r;
	void *ret = NULL;
	int token;
	pthread_t t;

	(void)state;
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_refresh(w), 0);
	assert_non_null(evmap_enter(r));
	phase = __atomic_load_n(&urcu_bp_gp.ctr, __ATOMIC_ACQUIRE) &
		URCU_BP_GP_CTR_PHASE;
	assert_int_equal(
		pthread_create(&t, NULL, destroy_a_map_deferred, &token), 0);
	while ((__atomic_load_n(&urcu_bp_gp.ctr, __ATOMIC_ACQUIRE) &
		URCU_BP_GP_CTR_PHASE) == phase)
		sched_yield();
	evt_assert_child_succeeds(exec_true, NULL);
	evmap_leave(r); /* the grace period ends */
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_ptr_equal(ret, &token);
	assert_int_equal(evmap_wait_deferred(), 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writes_from_keep_fail_busy),
		cmocka_unit_test(test_refresh_from_hash_fails_busy),
		cmocka_unit_test(test_reserve_out_of_memory_does_not_wedge),
		cmocka_unit_test(test_unbound_section_sees_no_view),
		cmocka_unit_test(test_reader_free_inside_own_section_ends_it),
		cmocka_unit_test(
			test_thread_unregistered_by_application_is_protected_again),
		cmocka_unit_test(test_writer_thread_can_register_afterwards),
		cmocka_unit_test(
			test_thread_whose_handle_was_freed_elsewhere_can_register),
		cmocka_unit_test(
			test_thread_whose_handle_moved_away_can_register),
		cmocka_unit_test(test_fork_while_another_thread_holds_a_handle),
		cmocka_unit_test(
			test_fork_while_another_thread_is_inside_a_section),
		cmocka_unit_test(
			test_fork_inside_own_section_during_a_grace_period),
	};

	return cmocka_run_group_tests_name("api guards", tests, NULL, NULL);
}

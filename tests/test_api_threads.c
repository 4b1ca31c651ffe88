/* SPDX-License-Identifier: MIT */
/*
 * test_api_threads.c - threaded API behaviour: try_refresh answers -EAGAIN
 * while another thread holds the copy it must update (and succeeds once it
 * left), the writer handle moves between threads, and items are never
 * freed while a reader thread can see them under a churning writer.
 */
#include <pthread.h>
#include <sched.h>

#include "test_util.h"

static void test_try_refresh_eagain_while_reader_holds(void **state)
{
	struct evt_section_holder h;
	evmap_writer *w;
	evmap_reader *r;
	int rc = 0, i, published = 0;

	(void)state;
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_refresh(w), 0);
	evt_hold_section(&h, evmap_reader_clone(r));
	/* at most one publication, then -EAGAIN that changes nothing */
	for (i = 0; i < 3; i++) {
		assert_int_equal(evmap_insert(w, EVT_U64(i), EVT_U64(i)), 0);
		rc = evmap_try_refresh(w);
		if (rc == 0)
			published++;
		else
			assert_int_equal(rc, -EAGAIN);
	}
	assert_true(published <= 1);
	assert_int_equal(rc, -EAGAIN);
	assert_int_equal(evmap_generation(w), 1 + (uint64_t)published);
	assert_true(evmap_pending(w) > 0);
	evt_release_section(&h);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_len(r), 3);
	evmap_reader_free(h.r);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

struct moving_writer {
	evmap_writer *w;
	int step;
	int errors;
};

static void write_step(void *arg)
{
	struct moving_writer *m = arg;

	if (evmap_insert(m->w, EVT_U64(m->step), EVT_U64(m->step)) ||
	    evmap_refresh(m->w))
		m->errors++;
	m->step++;
}

static void test_writer_moves_between_threads(void **state)
{
	struct moving_writer m = {0};
	evmap_reader *r;
	int i;

	(void)state;
	evt_new_u64_map(&m.w, &r);
	for (i = 0; i < 20; i++) {
		evt_run_in_thread(write_step, &m);
		write_step(&m);
	}
	assert_int_equal(m.errors, 0);
	assert_int_equal(evmap_len(r), 40);
	evmap_reader_free(r);
	evmap_writer_free(m.w);
}

struct watcher {
	evmap_reader *r;
	int *done;
	long violations;
};

static void *watch_items(void *arg)
{
	struct watcher *wt = arg;

	while (!__atomic_load_n(wt->done, __ATOMIC_ACQUIRE)) {
		const evmap_view *v = evmap_enter(wt->r);
		const evmap_values *vs;
		const void *key;
		evmap_iter it;
		size_t i;

		evmap_view_iter(v, &it);
		while (v && evmap_iter_next(&it, &key, &vs)) {
			if (evt_ct_is_freed(key))
				__atomic_fetch_add(&wt->violations, 1,
						   __ATOMIC_RELAXED);
			for (i = 0; i < evmap_values_len(vs); i++)
				if (evt_ct_is_freed(evmap_values_at(vs, i)))
					__atomic_fetch_add(&wt->violations, 1,
							   __ATOMIC_RELAXED);
		}
		evmap_leave(wt->r);
		sched_yield();
	}
	return NULL;
}

/* Line 28 under threads: nothing a reader sees is ever freed. */
static void test_conf28_never_freed_while_reader_threads_see(void **state)
{
	size_t rounds = evt_scale(2000, 50), i;
	struct watcher wt[2];
	pthread_t t[2];
	evmap_writer *w;
	evmap_reader *r;
	char key[16], value[16];
	int done = 0;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &w, &r),
			 0);
	for (i = 0; i < 2; i++) {
		wt[i] = (struct watcher){.r = evmap_reader_clone(r), .done = &done};
		assert_int_equal(pthread_create(&t[i], NULL, watch_items, &wt[i]),
				 0);
	}
	for (i = 0; i < rounds; i++) {
		snprintf(key, sizeof(key), "k%zu", i % 13);
		snprintf(value, sizeof(value), "v%zu", i % 5);
		assert_int_equal(evmap_insert(w, key, value), 0);
		if (i % 3 == 0)
			assert_int_equal(evmap_update(w, key, "u"), 0);
		if (i % 7 == 0)
			assert_int_equal(evmap_remove_key(w, key), 0);
		if (i % 5 == 0)
			assert_int_equal(evmap_remove_value(w, key, "u"), 0);
		if (i % 97 == 0)
			assert_int_equal(evmap_purge(w), 0);
		assert_int_equal(evmap_refresh(w), 0);
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(wt[i].violations, 0);
		evmap_reader_free(wt[i].r);
	}
	evmap_reader_free(r);
	evmap_writer_free(w);
	evt_ct_assert_clean();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_try_refresh_eagain_while_reader_holds),
		cmocka_unit_test(test_writer_moves_between_threads),
		cmocka_unit_test(test_conf28_never_freed_while_reader_threads_see),
	};
	return cmocka_run_group_tests_name("api_threads", tests, NULL, NULL);
}

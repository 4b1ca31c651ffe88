/* SPDX-License-Identifier: MIT */
/*
 * test_api_handles.c - every function given a NULL handle (or a NULL
 * argument it cannot accept) returns -EINVAL or the neutral result its
 * header comment states, and changes nothing; handle life cycles
 * (evmap_writer_reader, clone, free in any order); misuse the library
 * tolerates (a leave without an enter, the writer freed inside the
 * caller's own read section).
 */
#include "test_util.h"


static bool keep_all(const void *value, void *ctx)
{
	(void)value;
	(void)ctx;
	return true;
}

static void never_called(const evmap_values *vs, void *meta, void *ctx)
{
	(void)vs;
	(void)meta;
	*(int *)ctx += 1;
}

static void test_null_writer_is_einval(void **state)
{
	(void)state;
	assert_int_equal(evmap_insert(NULL, "k", "v"), -EINVAL);
	assert_int_equal(evmap_update(NULL, "k", "v"), -EINVAL);
	assert_int_equal(evmap_remove_value(NULL, "k", "v"), -EINVAL);
	assert_int_equal(evmap_clear_key(NULL, "k"), -EINVAL);
	assert_int_equal(evmap_remove_key(NULL, "k"), -EINVAL);
	assert_int_equal(evmap_purge(NULL), -EINVAL);
	assert_int_equal(evmap_retain(NULL, "k", keep_all, NULL), -EINVAL);
	assert_int_equal(evmap_reserve(NULL, "k", 1), -EINVAL);
	assert_int_equal(evmap_fit(NULL, "k"), -EINVAL);
	assert_int_equal(evmap_fit_all(NULL), -EINVAL);
	assert_int_equal(evmap_evict(NULL, 1, 1), -EINVAL);
	assert_int_equal(evmap_refresh(NULL), -EINVAL);
	assert_int_equal(evmap_try_refresh(NULL), -EINVAL);
	assert_int_equal(evmap_flush(NULL), -EINVAL);
	assert_int_equal(evmap_pending(NULL), 0);
	assert_int_equal(evmap_generation(NULL), 0);
	assert_int_equal(evmap_set_meta(NULL, NULL), -EINVAL);
	assert_null(evmap_writer_reader(NULL));
	evmap_writer_free(NULL);
}

static void test_null_reader_is_neutral(void **state)
{
	int calls = 0;

	(void)state;
	assert_null(evmap_reader_clone(NULL));
	evmap_reader_free(NULL);
	assert_null(evmap_enter(NULL));
	evmap_leave(NULL);
	assert_false(evmap_contains_key(NULL, "k"));
	assert_false(evmap_contains_value(NULL, "k", "v"));
	assert_int_equal(evmap_len(NULL), 0);
	assert_false(evmap_is_destroyed(NULL));
	assert_false(evmap_get(NULL, "k", never_called, &calls));
	assert_int_equal(calls, 0);
}

static void test_null_view_and_values_are_neutral(void **state)
{
	evmap_iter it;

	(void)state;
	assert_int_equal(evmap_view_len(NULL), 0);
	assert_null(evmap_view_get(NULL, "k"));
	assert_null(evmap_view_meta(NULL));
	assert_int_equal(evmap_view_generation(NULL), 0);
	evmap_view_iter(NULL, &it);
	assert_false(evmap_iter_next(&it, NULL, NULL));
	assert_int_equal(evmap_values_len(NULL), 0);
	assert_null(evmap_values_at(NULL, 0));
	assert_null(evmap_values_first(NULL));
	assert_false(evmap_values_contains(NULL, "v"));
}

static void test_null_callbacks_are_einval(void **state)
{
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(1)), 0);
	assert_int_equal(evmap_retain(w, EVT_U64(1), NULL, NULL), -EINVAL);
	assert_int_equal(evmap_pending(w), 1);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evt_len_of(r, EVT_U64(1)), 1);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

static void test_reserve_absurd_is_enomem(void **state)
{
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_reserve(w, EVT_U64(1), SIZE_MAX), -ENOMEM);
	assert_int_equal(evmap_pending(w), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_false(evmap_contains_key(r, EVT_U64(1)));
	evmap_reader_free(r);
	evmap_writer_free(w);
}

static void test_writer_reader_handles(void **state)
{
	evmap_writer *w;
	evmap_reader *r, *r2, *r3;

	(void)state;
	evt_new_u64_map(&w, &r);
	r2 = evmap_writer_reader(w);
	assert_non_null(r2);
	r3 = evmap_reader_clone(r2);
	assert_non_null(r3);
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(1)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_len(r), 1);
	assert_int_equal(evmap_len(r2), 1);
	assert_int_equal(evmap_len(r3), 1);
	/* free in every order: the first reader, then a writer_reader one,
	 * then the writer, then the rest */
	evmap_reader_free(r);
	evmap_reader_free(r2);
	assert_int_equal(evmap_insert(w, EVT_U64(2), EVT_U64(1)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_len(r3), 2);
	evmap_writer_free(w);
	assert_true(evmap_is_destroyed(r3));
	evmap_reader_free(r3);
}

static void test_writer_reader_outlives_writer(void **state)
{
	evmap_writer *w;
	evmap_reader *r, *r2;

	(void)state;
	evt_new_u64_map(&w, &r);
	r2 = evmap_writer_reader(w);
	assert_non_null(r2);
	evmap_reader_free(r);
	evmap_writer_free(w);
	assert_true(evmap_is_destroyed(r2));
	assert_null(evmap_enter(r2));
	evmap_leave(r2);
	evmap_reader_free(r2);
}

static void test_null_cursor_and_callback(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	const evmap_view *v;
	const evmap_values *vs = (const evmap_values *)&vs;
	const void *key = &key;
	int calls = 0;

	(void)state;
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(1)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	v = evmap_enter(r);
	assert_non_null(v);
	evmap_view_iter(v, NULL); /* no cursor: nothing to do */
	/* no cursor: no key, and the out-parameters are left alone */
	assert_false(evmap_iter_next(NULL, &key, &vs));
	assert_ptr_equal(key, &key);
	assert_ptr_equal(vs, &vs);
	evmap_leave(r);
	/* no callback: evmap_get only says whether the key is present */
	assert_true(evmap_get(r, EVT_U64(1), NULL, &calls));
	assert_false(evmap_get(r, EVT_U64(2), NULL, &calls));
	assert_int_equal(calls, 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

static void test_leave_without_enter_is_noop(void **state)
{
	evmap_writer *w;
	evmap_reader *r, *r2;

	(void)state;
	evt_new_u64_map(&w, &r);
	r2 = evmap_reader_clone(r);
	assert_non_null(r2);
	/* on a handle never entered, and one more after a balanced pair */
	evmap_leave(r);
	assert_int_equal(evmap_refresh(w), 0);
	assert_non_null(evmap_enter(r));
	evmap_leave(r);
	evmap_leave(r);
	assert_int_equal(evmap_refresh(w), 0);
	/* it does not end the section of another handle of the thread */
	assert_non_null(evmap_enter(r));
	evmap_leave(r2);
	assert_int_equal(evmap_refresh(w), -EDEADLK);
	evmap_leave(r);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_generation(w), 3);
	evmap_reader_free(r2);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

static void test_writer_free_inside_own_section(void **state)
{
	evmap_writer *w;
	evmap_reader *r, *r2;
	const evmap_view *v;
	const evmap_values *vs;
	const void *value;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &w, &r),
			 0);
	r2 = evmap_reader_clone(r);
	assert_non_null(r2);
	assert_int_equal(evmap_insert(w, "k", "v"), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_insert(w, "pending", "p"), 0);
	v = evmap_enter(r);
	assert_non_null(v);
	evmap_writer_free(w); /* does not wait for this thread's section */
	assert_true(evmap_is_destroyed(r));
	/* unpublished at once: a new section sees no map */
	assert_null(evmap_enter(r2));
	evmap_leave(r2);
	assert_false(evmap_contains_key(r2, "k"));
	/* the view of the section still in progress stays intact */
	vs = evmap_view_get(v, "k");
	assert_int_equal(evmap_values_len(vs), 1);
	value = evmap_values_first(vs);
	assert_string_equal(value, "v");
	assert_false(evt_ct_is_freed(value));
	assert_ptr_equal(evmap_enter(r), v); /* nested: the same view */
	evmap_leave(r);
	/* waiting for it here would wait for this very section */
	assert_int_equal(evmap_wait_deferred(), -EDEADLK);
	assert_false(evt_ct_is_freed(value));
	evmap_leave(r);
	/* the map is freed later, every item once: by the time the wait
	 * returns (what an application does before dlclose or exit) */
	assert_int_equal(evmap_wait_deferred(), 0);
	assert_true(evt_ct_is_freed(value));
	evmap_reader_free(r2);
	evmap_reader_free(r);
	evt_ct_assert_clean();
}

/* A value type whose free waits for deferred destructions: from the
 * call_rcu thread, inside one, that would wait for itself. */
static int wait_from_free = 1;
static int frees_seen;

static void free_and_wait(void *item, void *ctx)
{
	(void)item;
	(void)ctx;
	wait_from_free = evmap_wait_deferred();
	frees_seen++;
}

static void test_wait_deferred_from_a_deferred_free_is_busy(void **state)
{
	evmap_type waiting_type = evmap_type_u64;
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	waiting_type.free = free_and_wait;
	assert_int_equal(evmap_new(&evmap_type_u64, &waiting_type, NULL, &w,
				   &r),
			 0);
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(2)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_non_null(evmap_enter(r));
	evmap_writer_free(w); /* deferred */
	evmap_leave(r);
	assert_int_equal(evmap_wait_deferred(), 0);
	assert_int_equal(frees_seen, 1);
	assert_int_equal(wait_from_free, -EBUSY);
	/* with nothing deferred, outside any section */
	assert_int_equal(evmap_wait_deferred(), 0);
	evmap_reader_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_writer_is_einval),
		cmocka_unit_test(
			test_wait_deferred_from_a_deferred_free_is_busy),
		cmocka_unit_test(test_null_reader_is_neutral),
		cmocka_unit_test(test_null_view_and_values_are_neutral),
		cmocka_unit_test(test_null_callbacks_are_einval),
		cmocka_unit_test(test_reserve_absurd_is_enomem),
		cmocka_unit_test(test_writer_reader_handles),
		cmocka_unit_test(test_writer_reader_outlives_writer),
		cmocka_unit_test(test_null_cursor_and_callback),
		cmocka_unit_test(test_leave_without_enter_is_noop),
		cmocka_unit_test(test_writer_free_inside_own_section),
	};
	return cmocka_run_group_tests_name("api_handles", tests, NULL, NULL);
}

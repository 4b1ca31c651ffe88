/* SPDX-License-Identifier: MIT */
/*
 * test_api_writer.c - the writer's calls one by one: pending, generation,
 * refresh / try_refresh / flush (and -EDEADLK inside the caller's own
 * section), evict, reserve, fit, fit_all, retain, and large bags (beyond
 * the size where a bag of hashable values gets a hash index) with
 * duplicates.
 */
#include "test_util.h"

static void test_pending_counts_logged_writes(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_pending(f->w), 0);
	assert_int_equal(evmap_insert(f->w, EVT_U64(1), EVT_U64(1)), 0);
	assert_int_equal(evmap_update(f->w, EVT_U64(1), EVT_U64(2)), 0);
	assert_int_equal(evmap_remove_key(f->w, EVT_U64(3)), 0);
	assert_int_equal(evmap_pending(f->w), 3);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_pending(f->w), 0);
	assert_int_equal(evmap_purge(f->w), 0);
	assert_true(evmap_pending(f->w) >= 1);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_pending(f->w), 0);
	/* a failed call logs nothing */
	assert_int_equal(evmap_retain(f->w, EVT_U64(1), NULL, NULL), -EINVAL);
	assert_int_equal(evmap_pending(f->w), 0);
}

static void test_generation_counts_refreshes(void **state)
{
	struct evt_fixture *f = *state;
	uint64_t i;

	assert_int_equal(evmap_generation(f->w), 0);
	for (i = 1; i <= 5; i++) {
		assert_int_equal(evmap_refresh(f->w), 0);
		assert_int_equal(evmap_generation(f->w), i);
		assert_int_equal(evmap_view_generation(evmap_enter(f->r)), i);
		evmap_leave(f->r);
	}
	/* flush with nothing pending publishes nothing */
	assert_int_equal(evmap_flush(f->w), 0);
	assert_int_equal(evmap_generation(f->w), 5);
	assert_int_equal(evmap_insert(f->w, EVT_U64(1), EVT_U64(1)), 0);
	assert_int_equal(evmap_flush(f->w), 0);
	assert_int_equal(evmap_generation(f->w), 6);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_generation(f->w), 7);
}

static void test_flush_publishes_pending(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_flush(f->w), 0); /* nothing pending: not ready */
	assert_null(evmap_enter(f->r));
	evmap_leave(f->r);
	assert_int_equal(evmap_insert(f->w, EVT_U64(1), EVT_U64(1)), 0);
	assert_int_equal(evmap_flush(f->w), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(1)), 1);
}

static void test_try_refresh_without_readers(void **state)
{
	struct evt_fixture *f = *state;
	int i;

	/* no thread is in a read section (none ever was, but this one):
	 * no reader can be inside the copy to update, so try_refresh gets
	 * through, also right after a refresh */
	for (i = 0; i < 4; i++) {
		assert_int_equal(evmap_insert(f->w, EVT_U64(i), EVT_U64(i)), 0);
		assert_int_equal(evmap_try_refresh(f->w), 0);
		assert_int_equal(evt_len_of(f->r, EVT_U64(i)), 1);
	}
	assert_int_equal(evmap_len(f->r), 4);
}

static bool keep_all(const void *value, void *ctx)
{
	(void)value;
	*(int *)ctx += 1;
	return true;
}

static void test_edeadlk_inside_own_section(void **state)
{
	struct evt_fixture *f = *state;
	evmap_reader *other = evmap_reader_clone(f->r);
	int calls = 0;

	assert_int_equal(evmap_insert(f->w, EVT_U64(1), EVT_U64(1)), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_insert(f->w, EVT_U64(2), EVT_U64(2)), 0);

	assert_non_null(evmap_enter(f->r));
	assert_int_equal(evmap_refresh(f->w), -EDEADLK);
	assert_int_equal(evmap_try_refresh(f->w), -EDEADLK);
	assert_int_equal(evmap_flush(f->w), -EDEADLK);
	assert_int_equal(evmap_retain(f->w, EVT_U64(1), keep_all, &calls),
			 -EDEADLK);
	assert_int_equal(calls, 0);
	/* writes that never wait are fine inside a section */
	assert_int_equal(evmap_insert(f->w, EVT_U64(3), EVT_U64(3)), 0);
	assert_int_equal(evmap_pending(f->w), 2);
	/* nested, and on another handle of the same thread */
	assert_non_null(evmap_enter(other));
	evmap_leave(f->r);
	assert_int_equal(evmap_refresh(f->w), -EDEADLK);
	evmap_leave(other);

	assert_int_equal(evmap_generation(f->w), 1);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 3);
	/* a section on NULL (not ready) still counts */
	evmap_reader_free(other);
}

static void test_edeadlk_in_section_before_ready(void **state)
{
	struct evt_fixture *f = *state;

	/* enter returns NULL before the first refresh, but it is a section */
	assert_null(evmap_enter(f->r));
	assert_int_equal(evmap_refresh(f->w), -EDEADLK);
	evmap_leave(f->r);
	assert_int_equal(evmap_refresh(f->w), 0);
}

/* A section of another map on the same thread counts as the caller's own;
 * retain checks its arguments before that. */
static void test_edeadlk_in_section_of_other_map(void **state)
{
	struct evt_fixture *f = *state;
	evmap_writer *w2;
	evmap_reader *r2;
	int calls = 0;

	evt_new_u64_map(&w2, &r2);
	assert_int_equal(evmap_insert(f->w, EVT_U64(1), EVT_U64(1)), 0);
	assert_null(evmap_enter(r2)); /* w2 never refreshed: still a section */
	assert_int_equal(evmap_refresh(f->w), -EDEADLK);
	assert_int_equal(evmap_try_refresh(f->w), -EDEADLK);
	assert_int_equal(evmap_flush(f->w), -EDEADLK);
	assert_int_equal(evmap_retain(f->w, EVT_U64(1), NULL, NULL), -EINVAL);
	assert_int_equal(evmap_retain(f->w, EVT_U64(1), keep_all, &calls),
			 -EDEADLK);
	assert_int_equal(calls, 0);
	assert_int_equal(evmap_pending(f->w), 1);
	evmap_leave(r2);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(1)), 1);
	evmap_reader_free(r2);
	evmap_writer_free(w2);
}

static void test_evict_more_than_present(void **state)
{
	struct evt_fixture *f = *state;
	uint64_t i;

	for (i = 0; i < 10; i++)
		assert_int_equal(evmap_insert(f->w, EVT_U64(i), EVT_U64(i)), 0);
	assert_int_equal(evmap_evict(f->w, SIZE_MAX, 7), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 0);
}

/* More than a bag can ever hold (2^31 - 2 values): refused at once. */
static void test_reserve_over_bag_limit(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_reserve(f->w, EVT_U64(1),
				       ((size_t)1 << 31) - 1),
			 -ENOMEM);
	assert_int_equal(evmap_reserve(f->w, EVT_U64(1), UINT32_MAX), -ENOMEM);
	assert_int_equal(evmap_pending(f->w), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_false(evmap_contains_key(f->r, EVT_U64(1)));
}

static void test_evict_some_keys(void **state)
{
	struct evt_fixture *f = *state;
	const evmap_view *v;
	uint64_t i;
	size_t left;

	for (i = 0; i < 100; i++)
		assert_int_equal(evmap_insert(f->w, EVT_U64(i), EVT_U64(i)), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_evict(f->w, 30, 99), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 70);
	/* both copies hold the same keys */
	v = evmap_enter(f->r);
	{
		static bool present[100];
		for (i = 0; i < 100; i++)
			present[i] = evmap_view_get(v, EVT_U64(i)) != NULL;
		evmap_leave(f->r);
		assert_int_equal(evmap_refresh(f->w), 0);
		v = evmap_enter(f->r);
		left = 0;
		for (i = 0; i < 100; i++) {
			bool now = evmap_view_get(v, EVT_U64(i)) != NULL;
			assert_int_equal(now, present[i]);
			left += now;
		}
		evmap_leave(f->r);
	}
	assert_int_equal(left, 70);
	assert_int_equal(evmap_evict(f->w, 1000, 1), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 0);
	assert_int_equal(evmap_evict(f->w, 1, 1), 0); /* empty map */
	assert_int_equal(evmap_refresh(f->w), 0);
}

static void test_reserve_creates_key(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_reserve(f->w, EVT_U64(5), 100), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(5)), 0);
	assert_int_equal(evmap_insert(f->w, EVT_U64(5), EVT_U64(1)), 0);
	assert_int_equal(evmap_reserve(f->w, EVT_U64(5), 0), 0);
	assert_int_equal(evmap_reserve(f->w, EVT_U64(5), 1000), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(5)), 1);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(5)), 1);
}

static void test_fit_keeps_contents(void **state)
{
	struct evt_fixture *f = *state;
	uint64_t i;
	int round;

	for (i = 0; i < 100; i++)
		assert_int_equal(evmap_insert(f->w, EVT_U64(1), EVT_U64(i)), 0);
	assert_int_equal(evmap_insert(f->w, EVT_U64(2), EVT_U64(7)), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	for (i = 0; i < 98; i++)
		assert_int_equal(
			evmap_remove_value(f->w, EVT_U64(1), EVT_U64(i)), 0);
	assert_int_equal(evmap_fit(f->w, EVT_U64(1)), 0);
	assert_int_equal(evmap_fit(f->w, EVT_U64(99)), 0); /* absent key */
	for (round = 0; round < 2; round++) {
		const evmap_view *v;
		const evmap_values *vs;

		assert_int_equal(evmap_refresh(f->w), 0);
		v = evmap_enter(f->r);
		vs = evmap_view_get(v, EVT_U64(1));
		assert_int_equal(evmap_values_len(vs), 2);
		assert_true(evmap_values_contains(vs, EVT_U64(98)));
		assert_true(evmap_values_contains(vs, EVT_U64(99)));
		assert_false(evmap_values_contains(vs, EVT_U64(0)));
		assert_null(evmap_view_get(v, EVT_U64(99)));
		evmap_leave(f->r);
	}
	/* down to one value (inline) and zero */
	assert_int_equal(evmap_remove_value(f->w, EVT_U64(1), EVT_U64(98)), 0);
	assert_int_equal(evmap_fit(f->w, EVT_U64(1)), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_true(evmap_contains_value(f->r, EVT_U64(1), EVT_U64(99)));
	assert_int_equal(evmap_remove_value(f->w, EVT_U64(1), EVT_U64(99)), 0);
	assert_int_equal(evmap_fit(f->w, EVT_U64(1)), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(1)), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(2)), 1);
}

static void test_fit_all_keeps_contents(void **state)
{
	struct evt_fixture *f = *state;
	uint64_t i;
	int round;

	for (i = 0; i < 3000; i++)
		assert_int_equal(evmap_insert(f->w, EVT_U64(i), EVT_U64(i)), 0);
	for (i = 0; i < 50; i++)
		assert_int_equal(evmap_insert(f->w, EVT_U64(0), EVT_U64(i + 1)),
				 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	for (i = 10; i < 3000; i++)
		assert_int_equal(evmap_remove_key(f->w, EVT_U64(i)), 0);
	for (i = 0; i < 45; i++)
		assert_int_equal(
			evmap_remove_value(f->w, EVT_U64(0), EVT_U64(i + 1)), 0);
	assert_int_equal(evmap_fit_all(f->w), 0);
	for (round = 0; round < 2; round++) {
		assert_int_equal(evmap_refresh(f->w), 0);
		assert_int_equal(evmap_len(f->r), 10);
		for (i = 1; i < 10; i++)
			assert_true(evmap_contains_value(f->r, EVT_U64(i),
							 EVT_U64(i)));
		assert_int_equal(evt_len_of(f->r, EVT_U64(0)), 6);
		assert_false(evmap_contains_key(f->r, EVT_U64(10)));
	}
	/* the table still grows afterwards */
	for (i = 100; i < 1100; i++)
		assert_int_equal(evmap_insert(f->w, EVT_U64(i), EVT_U64(i)), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 1010);
	assert_int_equal(evmap_fit_all(f->w), 0); /* on an unchanged map */
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 1010);
}

struct retain_count {
	int calls[300];
	int others;
};

static bool keep_multiple_of_3(const void *value, void *ctx)
{
	struct retain_count *c = ctx;
	uint64_t n = EVT_NUM(value);

	if (n < 300)
		c->calls[n]++;
	else
		c->others++;
	return n % 3 == 0;
}

static void test_retain_calls_keep_once_per_value(void **state)
{
	struct evt_fixture *f = *state;
	struct retain_count *c = calloc(1, sizeof(*c));
	const evmap_view *v;
	const evmap_values *vs;
	uint64_t i;
	int round;

	assert_non_null(c);
	/* 200 published, 100 pending, with duplicates of 0..99 */
	for (i = 0; i < 200; i++)
		assert_int_equal(evmap_insert(f->w, EVT_U64(7), EVT_U64(i % 100)),
				 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	for (i = 100; i < 200; i++)
		assert_int_equal(evmap_insert(f->w, EVT_U64(7), EVT_U64(i)), 0);
	assert_int_equal(evmap_retain(f->w, EVT_U64(7), keep_multiple_of_3, c),
			 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(c->calls[i], 2); /* each copy of a duplicate */
	for (i = 100; i < 200; i++)
		assert_int_equal(c->calls[i], 1);
	assert_int_equal(c->others, 0);
	for (round = 0; round < 3; round++) {
		assert_int_equal(evmap_refresh(f->w), 0);
		v = evmap_enter(f->r);
		vs = evmap_view_get(v, EVT_U64(7));
		/* 34 multiples of 3 below 100, twice; 33 in 100..199 */
		assert_int_equal(evmap_values_len(vs), 34 * 2 + 33);
		for (i = 0; i < 200; i++)
			assert_int_equal(evt_count_u64(vs, i),
					 i % 3 ? 0 : (i < 100 ? 2 : 1));
		evmap_leave(f->r);
	}
	for (i = 0; i < 200; i++)
		assert_int_equal(c->calls[i], i < 100 ? 2 : 1);
	free(c);
}

/* Large bags of owned strings with duplicates, > 64 values: hashed form. */
static void test_large_bag_with_duplicates(void **state)
{
	struct evt_fixture *f = *state;
	char value[16];
	int i, round;

	for (i = 0; i < 300; i++) {
		snprintf(value, sizeof(value), "v%d", i % 100);
		assert_int_equal(evmap_insert(f->w, "big", value), 0);
	}
	assert_int_equal(evmap_refresh(f->w), 0);
	for (i = 0; i < 100; i += 2) {
		snprintf(value, sizeof(value), "v%d", i);
		assert_int_equal(evmap_remove_value(f->w, "big", value), 0);
	}
	assert_int_equal(evmap_remove_value(f->w, "big", "v1"), 0);
	assert_int_equal(evmap_remove_value(f->w, "big", "v1"), 0);
	assert_int_equal(evmap_remove_value(f->w, "big", "v1"), 0);
	assert_int_equal(evmap_remove_value(f->w, "big", "v1"), 0); /* none left */
	for (round = 0; round < 2; round++) {
		const evmap_view *v;
		const evmap_values *vs;

		assert_int_equal(evmap_refresh(f->w), 0);
		v = evmap_enter(f->r);
		vs = evmap_view_get(v, "big");
		assert_int_equal(evmap_values_len(vs), 300 - 50 - 3);
		for (i = 0; i < 100; i++) {
			size_t expect = i == 1 ? 0 : (i % 2 ? 3 : 2);
			snprintf(value, sizeof(value), "v%d", i);
			assert_int_equal(evt_count_str(vs, value), expect);
			assert_int_equal(evmap_values_contains(vs, value),
					 expect > 0);
		}
		assert_false(evmap_values_contains(vs, "v100"));
		evmap_leave(f->r);
	}
	/* shrink back to empty (extra removals are no-ops) */
	for (i = 0; i < 100; i++) {
		snprintf(value, sizeof(value), "v%d", i);
		for (round = 0; round < 3; round++)
			assert_int_equal(evmap_remove_value(f->w, "big", value),
					 0);
		if (i % 10 == 0)
			assert_int_equal(evmap_fit(f->w, "big"), 0);
	}
	assert_int_equal(evmap_fit(f->w, "big"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evt_len_of(f->r, "big"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evt_len_of(f->r, "big"), 0);
}

/* Large bag of numbers: remove every value again, in another order. */
static void test_large_bag_u64_fill_and_empty(void **state)
{
	struct evt_fixture *f = *state;
	uint64_t i;

	for (i = 0; i < 1000; i++)
		assert_int_equal(evmap_insert(f->w, EVT_U64(1), EVT_U64(i % 250)),
				 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(1)), 1000);
	for (i = 0; i < 250; i++)
		assert_true(evmap_contains_value(f->r, EVT_U64(1), EVT_U64(i)));
	for (i = 1000; i-- > 0;)
		assert_int_equal(evmap_remove_value(f->w, EVT_U64(1),
						    EVT_U64((i * 7) % 250)),
				 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(1)), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(1)), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, evt_setup_u64, evt_teardown)
#define TC(fn) cmocka_unit_test_setup_teardown(fn, evt_setup_ct, evt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_pending_counts_logged_writes),
		T(test_generation_counts_refreshes),
		T(test_flush_publishes_pending),
		T(test_try_refresh_without_readers),
		T(test_edeadlk_inside_own_section),
		T(test_edeadlk_in_section_before_ready),
		T(test_edeadlk_in_section_of_other_map),
		T(test_evict_more_than_present),
		T(test_reserve_over_bag_limit),
		T(test_evict_some_keys),
		T(test_reserve_creates_key),
		T(test_fit_keeps_contents),
		T(test_fit_all_keeps_contents),
		T(test_retain_calls_keep_once_per_value),
		TC(test_large_bag_with_duplicates),
		T(test_large_bag_u64_fill_and_empty),
	};
	return cmocka_run_group_tests_name("api_writer", tests, NULL, NULL);
}

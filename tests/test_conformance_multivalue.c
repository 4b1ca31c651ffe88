/* SPDX-License-Identifier: MIT */
/*
 * test_conformance_multivalue.c - tests/CONFORMANCE.md C9-C20 and C29: bags of
 * values per key (insert, remove_value, clear_key, remove_key, update,
 * evict, retain, duplicates, keys left with empty bags), each checked after
 * refreshes so that both copies replay the operations. Keys and values are
 * counted strings (evt_ct_type) unless the test is about numbers, and every
 * test ends by checking that each item was freed exactly once.
 */
#include "test_util.h"

/* Length of @key's bag and whether it holds @count values equal to @s. */
static void assert_bag(evmap_reader *r, const char *key, long len,
		       const char *s, size_t count)
{
	const evmap_view *v = evmap_enter(r);
	const evmap_values *vs;

	assert_non_null(v);
	vs = evmap_view_get(v, key);
	if (len == EVT_ABSENT) {
		assert_null(vs);
	} else {
		assert_non_null(vs);
		assert_int_equal(evmap_values_len(vs), len);
		if (s)
			assert_int_equal(evt_count_str(vs, s), count);
	}
	evmap_leave(r);
}

/* 9. insert a; refresh; insert b: readers see only a. */
static void test_conf09_insert_then_refresh_then_insert(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_insert(f->w, "1", "b"), 0);
	assert_bag(f->r, "1", 1, "a", 1);
	assert_bag(f->r, "1", 1, "b", 0);
	assert_true(evmap_contains_value(f->r, "1", "a"));
	assert_false(evmap_contains_value(f->r, "1", "b"));
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 2, "b", 1);
}

/* 9, with numbers (values not owned by the map). */
static void test_conf09_insert_then_refresh_then_insert_u64(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_insert(f->w, EVT_U64(1), EVT_U64(10)), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_insert(f->w, EVT_U64(1), EVT_U64(11)), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(1)), 1);
	assert_true(evmap_contains_value(f->r, EVT_U64(1), EVT_U64(10)));
	assert_false(evmap_contains_value(f->r, EVT_U64(1), EVT_U64(11)));
}

/* 10. insert a, b; refresh; insert c: readers see a and b. */
static void test_conf10_two_inserts_refresh_then_insert(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_insert(f->w, "1", "b"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_insert(f->w, "1", "c"), 0);
	assert_bag(f->r, "1", 2, "a", 1);
	assert_bag(f->r, "1", 2, "b", 1);
	assert_bag(f->r, "1", 2, "c", 0);
}

/* 11. insert a, b, remove_value a, refresh: {b}. */
static void test_conf11_remove_value_before_refresh(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_insert(f->w, "1", "b"), 0);
	assert_int_equal(evmap_remove_value(f->w, "1", "a"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 1, "b", 1);
	/* and on the second copy */
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 1, "b", 1);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 1, "b", 1);
}

/* 12. insert a, b, refresh, remove_value a, refresh: {b}. */
static void test_conf12_remove_value_after_refresh(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_insert(f->w, "1", "b"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_remove_value(f->w, "1", "a"), 0);
	assert_bag(f->r, "1", 2, "a", 1);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 1, "b", 1);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 1, "b", 1);
}

/* 13. {a, b}; remove a, insert c, remove c; refresh: {b}. */
static void test_conf13_remove_insert_remove(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_insert(f->w, "1", "b"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 2, NULL, 0);
	assert_int_equal(evmap_remove_value(f->w, "1", "a"), 0);
	assert_int_equal(evmap_insert(f->w, "1", "c"), 0);
	assert_int_equal(evmap_remove_value(f->w, "1", "c"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 1, "b", 1);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 1, "b", 1);
}

/* 14. clear_key leaves the key with 0 values, remove_key removes it; each
 * twice in a row, so that each runs on both copies. */
static void test_conf14_clear_vs_remove_twice(void **state)
{
	struct evt_fixture *f = *state;
	int i;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(evmap_clear_key(f->w, "1"), 0);
		assert_int_equal(evmap_refresh(f->w), 0);
		assert_bag(f->r, "1", 0, NULL, 0);
		assert_true(evmap_contains_key(f->r, "1"));
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(evmap_remove_key(f->w, "1"), 0);
		assert_int_equal(evmap_refresh(f->w), 0);
		assert_bag(f->r, "1", EVT_ABSENT, NULL, 0);
		assert_false(evmap_contains_key(f->r, "1"));
	}
	/* clear_key creates an absent key */
	assert_int_equal(evmap_clear_key(f->w, "2"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "2", 0, NULL, 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "2", 0, NULL, 0);
	assert_int_equal(evmap_len(f->r), 1);
}

/* 15. remove_key before a refresh removes key 1 and keeps key 2. */
static void test_conf15_remove_key_before_refresh(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_insert(f->w, "1", "b"), 0);
	assert_int_equal(evmap_insert(f->w, "2", "c"), 0);
	assert_int_equal(evmap_remove_key(f->w, "1"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", EVT_ABSENT, NULL, 0);
	assert_bag(f->r, "2", 1, "c", 1);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", EVT_ABSENT, NULL, 0);
	assert_bag(f->r, "2", 1, "c", 1);
}

/* 15. remove_key after a refresh removes key 1 and keeps key 2. */
static void test_conf15_remove_key_after_refresh(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_insert(f->w, "1", "b"), 0);
	assert_int_equal(evmap_insert(f->w, "2", "c"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_remove_key(f->w, "1"), 0);
	assert_bag(f->r, "1", 2, NULL, 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", EVT_ABSENT, NULL, 0);
	assert_bag(f->r, "2", 1, "c", 1);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", EVT_ABSENT, NULL, 0);
	assert_bag(f->r, "2", 1, "c", 1);
	assert_int_equal(evmap_len(f->r), 1);
}

/* 16. clear_key on two keys, remove_key on one: the other stays, empty. */
static void test_conf16_clear_two_remove_one(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_insert(f->w, "2", "b"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_clear_key(f->w, "1"), 0);
	assert_int_equal(evmap_clear_key(f->w, "2"), 0);
	assert_int_equal(evmap_remove_key(f->w, "1"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", EVT_ABSENT, NULL, 0);
	assert_bag(f->r, "2", 0, NULL, 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", EVT_ABSENT, NULL, 0);
	assert_bag(f->r, "2", 0, NULL, 0);
	assert_int_equal(evmap_len(f->r), 1);
}

/* 17. update replaces the whole bag (earlier inserts not yet published). */
static void test_conf17_update_before_refresh(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_insert(f->w, "1", "b"), 0);
	assert_int_equal(evmap_insert(f->w, "2", "c"), 0);
	assert_int_equal(evmap_update(f->w, "1", "x"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 1, "x", 1);
	assert_bag(f->r, "2", 1, "c", 1);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 1, "x", 1);
	assert_bag(f->r, "2", 1, "c", 1);
}

/* 17. update replaces the whole bag (earlier inserts published). */
static void test_conf17_update_after_refresh(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_insert(f->w, "1", "b"), 0);
	assert_int_equal(evmap_insert(f->w, "2", "c"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_update(f->w, "1", "x"), 0);
	assert_bag(f->r, "1", 2, "x", 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 1, "x", 1);
	assert_bag(f->r, "2", 1, "c", 1);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 1, "x", 1);
	/* update creates an absent key */
	assert_int_equal(evmap_update(f->w, "3", "y"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "3", 1, "y", 1);
}

/* 18. evict(1) on two keys leaves exactly one of them. */
static void test_conf18_evict_one_of_two(void **state)
{
	struct evt_fixture *f = *state;
	bool has1, has2;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_insert(f->w, "2", "b"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_evict(f->w, 1, 12345), 0);
	assert_int_equal(evmap_len(f->r), 2);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 1);
	has1 = evmap_contains_key(f->r, "1");
	has2 = evmap_contains_key(f->r, "2");
	assert_true(has1 != has2);
	/* both copies agree */
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 1);
	assert_int_equal(evmap_contains_key(f->r, "1"), has1);
	assert_int_equal(evmap_contains_key(f->r, "2"), has2);
}

/* 18, evicting unpublished keys and more keys than the map holds. */
static void test_conf18_evict_pending_and_too_many(void **state)
{
	struct evt_fixture *f = *state;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_insert(f->w, "2", "b"), 0);
	assert_int_equal(evmap_evict(f->w, 1, 7), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 1);
	assert_int_equal(evmap_evict(f->w, 5, 7), 0);
	assert_int_equal(evmap_evict(f->w, 0, 7), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 0);
}

struct keep_even {
	int calls[50];
	int foreign;
};

static bool keep_even(const void *value, void *ctx)
{
	struct keep_even *k = ctx;
	uint64_t n = EVT_NUM(value);

	if (n >= 50) {
		k->foreign++;
		return true;
	}
	k->calls[n]++;
	return n % 2 == 0;
}

/* 19. retain(keep even) over 0..49: the even ones, keep once per value. */
static void test_conf19_retain_even(void **state)
{
	struct evt_fixture *f = *state;
	struct keep_even k = {{0}, 0};
	const evmap_view *v;
	const evmap_values *vs;
	uint64_t i;
	int round;

	for (i = 0; i < 50; i++)
		assert_int_equal(evmap_insert(f->w, EVT_U64(0), EVT_U64(i)), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_retain(f->w, EVT_U64(0), keep_even, &k), 0);
	for (i = 0; i < 50; i++)
		assert_int_equal(k.calls[i], 1);
	assert_int_equal(k.foreign, 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(0)), 50);

	for (round = 0; round < 3; round++) {
		assert_int_equal(evmap_refresh(f->w), 0);
		v = evmap_enter(f->r);
		assert_non_null(v);
		vs = evmap_view_get(v, EVT_U64(0));
		assert_non_null(vs);
		assert_int_equal(evmap_values_len(vs), 25);
		for (i = 0; i < 50; i++)
			assert_int_equal(evt_count_u64(vs, i), i % 2 == 0);
		evmap_leave(f->r);
	}
	/* keep was not called again by the replays */
	for (i = 0; i < 50; i++)
		assert_int_equal(k.calls[i], 1);
}

/* 19, retain over values inserted in the same batch (not yet published),
 * with owned strings. */
struct keep_str {
	int calls;
};

static bool keep_starting_with_k(const void *value, void *ctx)
{
	struct keep_str *k = ctx;
	k->calls++;
	return ((const char *)value)[0] == 'k';
}

static void test_conf19_retain_pending_values(void **state)
{
	struct evt_fixture *f = *state;
	struct keep_str k = {0};

	assert_int_equal(evmap_insert(f->w, "1", "keep1"), 0);
	assert_int_equal(evmap_insert(f->w, "1", "drop1"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_insert(f->w, "1", "keep2"), 0);
	assert_int_equal(evmap_insert(f->w, "1", "drop2"), 0);
	assert_int_equal(evmap_retain(f->w, "1", keep_starting_with_k, &k), 0);
	assert_int_equal(k.calls, 4);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 2, "keep1", 1);
	assert_bag(f->r, "1", 2, "keep2", 1);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 2, "keep2", 1);
	assert_bag(f->r, "1", 2, "drop1", 0);
	/* retain on an absent key calls nothing */
	assert_int_equal(evmap_retain(f->w, "none", keep_starting_with_k, &k),
			 0);
	assert_int_equal(k.calls, 4);
}

/* 20. Duplicate values are kept; remove_value removes one of them. */
static void test_conf20_duplicates_kept(void **state)
{
	struct evt_fixture *f = *state;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(evmap_insert(f->w, "1", "x"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 3, "x", 3);
	assert_int_equal(evmap_remove_value(f->w, "1", "x"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 2, "x", 2);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_bag(f->r, "1", 2, "x", 2);
}

/* 20, with numbers. */
static void test_conf20_duplicates_kept_u64(void **state)
{
	struct evt_fixture *f = *state;
	const evmap_view *v;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(evmap_insert(f->w, EVT_U64(1), EVT_U64(0)), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(1)), 3);
	assert_int_equal(evmap_remove_value(f->w, EVT_U64(1), EVT_U64(0)), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evt_len_of(f->r, EVT_U64(1)), 2);
	v = evmap_enter(f->r);
	assert_int_equal(evt_count_u64(evmap_view_get(v, EVT_U64(1)), 0), 2);
	evmap_leave(f->r);
}

/* 29. The last value removed: the key stays, with an empty bag, and is
 * counted by len and contains_key. */
static void test_conf29_remove_last_value_keeps_key(void **state)
{
	struct evt_fixture *f = *state;
	const evmap_view *v;
	int i;

	assert_int_equal(evmap_insert(f->w, "1", "a"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_remove_value(f->w, "1", "a"), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(evmap_refresh(f->w), 0);
		assert_bag(f->r, "1", 0, NULL, 0);
		assert_true(evmap_contains_key(f->r, "1"));
		assert_false(evmap_contains_value(f->r, "1", "a"));
		assert_int_equal(evmap_len(f->r), 1);
		v = evmap_enter(f->r);
		assert_int_equal(evmap_view_len(v), 1);
		assert_null(evmap_values_first(evmap_view_get(v, "1")));
		assert_null(evmap_values_at(evmap_view_get(v, "1"), 0));
		evmap_leave(f->r);
	}
	/* removing a value that is not there changes nothing */
	assert_int_equal(evmap_remove_value(f->w, "1", "a"), 0);
	assert_int_equal(evmap_remove_value(f->w, "2", "a"), 0);
	assert_int_equal(evmap_refresh(f->w), 0);
	assert_int_equal(evmap_len(f->r), 1);
	assert_false(evmap_contains_key(f->r, "2"));
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, evt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_conf09_insert_then_refresh_then_insert, evt_setup_ct),
		T(test_conf09_insert_then_refresh_then_insert_u64, evt_setup_u64),
		T(test_conf10_two_inserts_refresh_then_insert, evt_setup_ct),
		T(test_conf11_remove_value_before_refresh, evt_setup_ct),
		T(test_conf12_remove_value_after_refresh, evt_setup_ct),
		T(test_conf13_remove_insert_remove, evt_setup_ct),
		T(test_conf14_clear_vs_remove_twice, evt_setup_ct),
		T(test_conf15_remove_key_before_refresh, evt_setup_ct),
		T(test_conf15_remove_key_after_refresh, evt_setup_ct),
		T(test_conf16_clear_two_remove_one, evt_setup_ct),
		T(test_conf17_update_before_refresh, evt_setup_ct),
		T(test_conf17_update_after_refresh, evt_setup_ct),
		T(test_conf18_evict_one_of_two, evt_setup_ct),
		T(test_conf18_evict_pending_and_too_many, evt_setup_ct),
		T(test_conf19_retain_even, evt_setup_u64),
		T(test_conf19_retain_pending_values, evt_setup_ct),
		T(test_conf20_duplicates_kept, evt_setup_ct),
		T(test_conf20_duplicates_kept_u64, evt_setup_u64),
		T(test_conf29_remove_last_value_keeps_key, evt_setup_ct),
	};
	return cmocka_run_group_tests_name("conformance_multivalue", tests,
					   NULL, NULL);
}

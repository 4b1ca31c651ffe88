/* SPDX-License-Identifier: MIT */
/*
 * test_conformance_iter.c - tests/CONFORMANCE.md C22, C23 and C31: iterating
 * a view (each key once, pending writes invisible), copying a whole map out
 * through iteration and evmap_get, and nested sections on one handle that
 * keep the outer view protected until the outermost leave.
 */
#include "test_util.h"

/* 22. Iteration yields exactly the published keys and bags. */
static void test_conf22_iterate_published_state(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	const evmap_view *v;
	const evmap_values *vs;
	const void *key;
	evmap_iter it;
	size_t pairs = 0, seen1 = 0, seen2 = 0;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &w, &r),
			 0);
	assert_int_equal(evmap_insert(w, "1", "a"), 0);
	assert_int_equal(evmap_insert(w, "1", "b"), 0);
	assert_int_equal(evmap_insert(w, "2", "c"), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_insert(w, "1", "x"), 0);
	assert_int_equal(evmap_insert(w, "3", "y"), 0);

	v = evmap_enter(r);
	assert_non_null(v);
	evmap_view_iter(v, &it);
	while (evmap_iter_next(&it, &key, &vs)) {
		pairs++;
		assert_non_null(key);
		assert_non_null(vs);
		if (strcmp(key, "1") == 0) {
			seen1++;
			assert_int_equal(evmap_values_len(vs), 2);
			assert_int_equal(evt_count_str(vs, "a"), 1);
			assert_int_equal(evt_count_str(vs, "b"), 1);
			assert_int_equal(evt_count_str(vs, "x"), 0);
		} else if (strcmp(key, "2") == 0) {
			seen2++;
			assert_int_equal(evmap_values_len(vs), 1);
			assert_string_equal(evmap_values_first(vs), "c");
		} else {
			fail_msg("unexpected key %s", (const char *)key);
		}
		/* the iterated bag is the bag a lookup finds */
		assert_ptr_equal(evmap_view_get(v, key), vs);
	}
	assert_int_equal(seen1, 1);
	assert_int_equal(seen2, 1);
	assert_int_equal(pairs, evmap_view_len(v));
	/* an exhausted iterator stays exhausted */
	assert_false(evmap_iter_next(&it, &key, &vs));
	/* key and values may be skipped */
	evmap_view_iter(v, &it);
	pairs = 0;
	while (evmap_iter_next(&it, NULL, NULL))
		pairs++;
	assert_int_equal(pairs, 2);
	evmap_leave(r);

	evmap_reader_free(r);
	evmap_writer_free(w);
	evt_ct_assert_clean();
}

/* 22. Iterating an empty view, and keys with empty bags. */
static void test_conf22_iterate_empty_and_empty_bags(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	const evmap_view *v;
	const evmap_values *vs;
	evmap_iter it;
	size_t pairs = 0;

	(void)state;
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_refresh(w), 0);
	v = evmap_enter(r);
	evmap_view_iter(v, &it);
	assert_false(evmap_iter_next(&it, NULL, NULL));
	evmap_leave(r);

	assert_int_equal(evmap_clear_key(w, EVT_U64(0)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	v = evmap_enter(r);
	evmap_view_iter(v, &it);
	while (evmap_iter_next(&it, NULL, &vs)) {
		pairs++;
		assert_int_equal(evmap_values_len(vs), 0);
	}
	assert_int_equal(pairs, 1);
	evmap_leave(r);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

/* 22, many keys: each visited exactly once. */
static void test_conf22_iterate_many_keys_once_each(void **state)
{
	enum { N = 5000 };
	static unsigned char seen[N];
	evmap_writer *w;
	evmap_reader *r;
	const evmap_view *v;
	const evmap_values *vs;
	const void *key;
	evmap_iter it;
	size_t i, pairs = 0;

	(void)state;
	memset(seen, 0, sizeof(seen));
	evt_new_u64_map(&w, &r);
	for (i = 0; i < N; i++)
		assert_int_equal(evmap_insert(w, EVT_U64(i), EVT_U64(i * 3)), 0);
	for (i = 0; i < N; i += 2)
		assert_int_equal(evmap_remove_key(w, EVT_U64(i)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	v = evmap_enter(r);
	evmap_view_iter(v, &it);
	while (evmap_iter_next(&it, &key, &vs)) {
		uint64_t k = EVT_NUM(key);
		pairs++;
		assert_true(k < N && k % 2 == 1);
		assert_int_equal(seen[k], 0);
		seen[k] = 1;
		assert_int_equal(evmap_values_len(vs), 1);
		assert_int_equal(EVT_NUM(evmap_values_first(vs)), k * 3);
	}
	assert_int_equal(pairs, N / 2);
	assert_int_equal(evmap_view_len(v), N / 2);
	evmap_leave(r);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

/* 23. Copying the whole map out (map_into) through iteration, then
 * checking each key through evmap_get, gives the same map. */
struct copy_ctx {
	size_t values;
	const char *expect[4];
	size_t n_expect;
	size_t mismatches;
};

static void check_bag(const evmap_values *vs, void *meta, void *ctx)
{
	struct copy_ctx *c = ctx;
	size_t i;

	(void)meta;
	c->values += evmap_values_len(vs);
	if (evmap_values_len(vs) != c->n_expect)
		c->mismatches++;
	for (i = 0; i < c->n_expect; i++)
		if (!evmap_values_contains(vs, c->expect[i]))
			c->mismatches++;
}

static void test_conf23_map_into_copy_is_equal(void **state)
{
	evmap_writer *w, *w2;
	evmap_reader *r, *r2;
	const evmap_view *v;
	const evmap_values *vs;
	const void *key;
	evmap_iter it;
	size_t i;
	struct copy_ctx c1 = {0, {"a", "b"}, 2, 0};
	struct copy_ctx c2 = {0, {"c"}, 1, 0};

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &w, &r),
			 0);
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &w2, &r2),
			 0);
	assert_int_equal(evmap_insert(w, "1", "a"), 0);
	assert_int_equal(evmap_insert(w, "1", "b"), 0);
	assert_int_equal(evmap_insert(w, "2", "c"), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_insert(w, "1", "x"), 0);

	/* copy */
	v = evmap_enter(r);
	evmap_view_iter(v, &it);
	while (evmap_iter_next(&it, &key, &vs)) {
		assert_int_equal(evmap_clear_key(w2, key), 0);
		for (i = 0; i < evmap_values_len(vs); i++)
			assert_int_equal(
				evmap_insert(w2, key, evmap_values_at(vs, i)),
				0);
	}
	evmap_leave(r);
	assert_int_equal(evmap_refresh(w2), 0);

	/* both read the same through the shortcut */
	assert_int_equal(evmap_len(r2), evmap_len(r));
	assert_true(evmap_get(r, "1", check_bag, &c1));
	assert_true(evmap_get(r2, "1", check_bag, &c1));
	assert_true(evmap_get(r, "2", check_bag, &c2));
	assert_true(evmap_get(r2, "2", check_bag, &c2));
	assert_int_equal(c1.mismatches, 0);
	assert_int_equal(c2.mismatches, 0);
	assert_int_equal(c1.values, 4);
	assert_int_equal(c2.values, 2);
	assert_false(evmap_get(r2, "x", check_bag, &c2));

	evmap_reader_free(r2);
	evmap_writer_free(w2);
	evmap_reader_free(r);
	evmap_writer_free(w);
	evt_ct_assert_clean();
}

/*
 * 31. Nested sections: after an inner leave the outer view stays protected
 * until its own leave. While this thread holds the outer section, a writer
 * thread replaces the value and publishes as often as it can without
 * waiting: it can publish at most once (into the other copy), and the
 * outer view's value is neither changed nor freed.
 */
struct conf31 {
	evmap_writer *w;
	int published;
	int refused;
	int errors;
};

static void conf31_writer(void *arg)
{
	struct conf31 *c = arg;
	static const char *const next[] = {"b", "c", "d"};
	size_t i;
	int rc;

	for (i = 0; i < EVT_ARRAY_SIZE(next); i++) {
		if (evmap_update(c->w, "k", next[i]) != 0)
			c->errors++;
		rc = evmap_try_refresh(c->w);
		if (rc == 0)
			c->published++;
		else if (rc == -EAGAIN)
			c->refused++;
		else
			c->errors++;
	}
}

static void test_conf31_nested_sections_keep_outer_view(void **state)
{
	struct conf31 c = {0};
	evmap_reader *r;
	const evmap_view *outer, *inner;
	const evmap_values *vs;
	const char *a;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &c.w, &r),
			 0);
	assert_int_equal(evmap_insert(c.w, "k", "a"), 0);
	assert_int_equal(evmap_refresh(c.w), 0);

	outer = evmap_enter(r);
	assert_non_null(outer);
	vs = evmap_view_get(outer, "k");
	a = evmap_values_first(vs);
	assert_string_equal(a, "a");
	inner = evmap_enter(r);
	assert_ptr_equal(inner, outer);
	inner = evmap_enter(r); /* three deep */
	assert_ptr_equal(inner, outer);
	evmap_leave(r);
	evmap_leave(r);

	evt_run_in_thread(conf31_writer, &c);
	assert_int_equal(c.errors, 0);
	assert_true(c.published <= 1);
	assert_int_equal(c.published + c.refused, 3);

	assert_ptr_equal(evmap_view_get(outer, "k"), vs);
	assert_int_equal(evmap_values_len(vs), 1);
	assert_ptr_equal(evmap_values_first(vs), a);
	assert_false(evt_ct_is_freed(a));
	assert_string_equal(a, "a");
	assert_int_equal(evmap_view_generation(outer), 1);
	evmap_leave(r);

	assert_int_equal(evmap_refresh(c.w), 0);
	assert_true(evmap_contains_value(r, "k", "d"));
	assert_int_equal(evt_len_of(r, "k"), 1);
	evmap_reader_free(r);
	evmap_writer_free(c.w);
	evt_ct_assert_clean();
}

/* 31. Two handles on one thread nest independently. */
static void test_conf31_two_handles_nest_independently(void **state)
{
	evmap_writer *w;
	evmap_reader *r1, *r2;
	const evmap_view *v1, *v2;

	(void)state;
	evt_new_u64_map(&w, &r1);
	r2 = evmap_reader_clone(r1);
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(2)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	v1 = evmap_enter(r1);
	v2 = evmap_enter(r2);
	assert_non_null(v1);
	assert_ptr_equal(v1, v2);
	evmap_leave(r1);
	assert_int_equal(evmap_values_len(evmap_view_get(v2, EVT_U64(1))), 1);
	/* still inside r2's section: refresh refused on this thread */
	assert_int_equal(evmap_refresh(w), -EDEADLK);
	evmap_leave(r2);
	assert_int_equal(evmap_refresh(w), 0);
	evmap_reader_free(r2);
	evmap_reader_free(r1);
	evmap_writer_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf22_iterate_published_state),
		cmocka_unit_test(test_conf22_iterate_empty_and_empty_bags),
		cmocka_unit_test(test_conf22_iterate_many_keys_once_each),
		cmocka_unit_test(test_conf23_map_into_copy_is_equal),
		cmocka_unit_test(test_conf31_nested_sections_keep_outer_view),
		cmocka_unit_test(test_conf31_two_handles_nest_independently),
	};
	return cmocka_run_group_tests_name("conformance_iter", tests, NULL,
					   NULL);
}

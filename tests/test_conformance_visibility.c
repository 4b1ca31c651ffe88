/* SPDX-License-Identifier: MIT */
/*
 * test_conformance_visibility.c - tests/CONFORMANCE.md C1-C7: when a map is
 * ready, when writes become visible, snapshot consistency of a section,
 * destruction as seen by readers, and evmap_flush with nothing pending.
 * (C8, reader threads that end badly, is in test_conformance_threads.)
 */
#include <string.h>

#include "test_util.h"

static void noop_get(const evmap_values *vs, void *meta, void *ctx)
{
	(void)vs;
	(void)meta;
	*(int *)ctx += 1;
}

/* 1. Before the first refresh the map is not ready. */
static void test_conf01_not_ready_before_first_refresh(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	int calls = 0;

	(void)state;
	assert_int_equal(evmap_new(&evmap_type_cstr, &evmap_type_cstr, NULL,
				   &w, &r),
			 0);
	assert_int_equal(evmap_insert(w, "k", "v"), 0);

	assert_null(evmap_enter(r));
	evmap_leave(r);
	assert_false(evmap_contains_key(r, "k"));
	assert_false(evmap_contains_value(r, "k", "v"));
	assert_int_equal(evmap_len(r), 0);
	assert_false(evmap_get(r, "k", noop_get, &calls));
	assert_int_equal(calls, 0);
	assert_false(evmap_is_destroyed(r));
	assert_int_equal(evmap_generation(w), 0);

	evmap_reader_free(r);
	evmap_writer_free(w);
}

/* 2. After the first refresh the map is empty but ready. */
static void test_conf02_empty_but_ready_after_first_refresh(void **state)
{
	struct evt_meta *meta = evt_meta_new(7);
	evmap_options *o = evmap_options_new();
	evmap_writer *w;
	evmap_reader *r;
	const evmap_view *v;

	(void)state;
	assert_non_null(o);
	assert_int_equal(evmap_options_set_meta(o, meta, evt_meta_free), 0);
	assert_int_equal(evmap_new(&evmap_type_cstr, &evmap_type_cstr, o, &w,
				   &r),
			 0);
	evmap_options_free(o);
	assert_int_equal(evmap_refresh(w), 0);

	v = evmap_enter(r);
	assert_non_null(v);
	assert_int_equal(evmap_view_len(v), 0);
	assert_null(evmap_view_get(v, "k"));
	assert_ptr_equal(evmap_view_meta(v), meta);
	assert_int_equal(evmap_view_generation(v), 1);
	evmap_leave(r);
	assert_int_equal(evmap_len(r), 0);
	assert_false(evmap_contains_key(r, "k"));
	assert_false(evmap_is_destroyed(r));

	evmap_reader_free(r);
	evmap_writer_free(w);
	assert_int_equal(evt_meta_frees(meta), 1);
	evt_meta_reset();
}

/* 3. An insert is invisible until refresh; then get(k) = 1. */
static void test_conf03_insert_invisible_until_refresh(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	const evmap_view *v;
	const evmap_values *vs;

	(void)state;
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(42)), 0);
	assert_int_equal(evt_len_of(r, EVT_U64(1)), EVT_ABSENT);
	assert_false(evmap_contains_key(r, EVT_U64(1)));

	assert_int_equal(evmap_refresh(w), 0);
	v = evmap_enter(r);
	assert_non_null(v);
	vs = evmap_view_get(v, EVT_U64(1));
	assert_non_null(vs);
	assert_int_equal(evmap_values_len(vs), 1);
	assert_true(evmap_values_contains(vs, EVT_U64(42)));
	assert_ptr_equal(evmap_values_first(vs), EVT_U64(42));
	assert_ptr_equal(evmap_values_at(vs, 0), EVT_U64(42));
	assert_null(evmap_view_get(v, EVT_U64(2)));
	evmap_leave(r);
	assert_true(evmap_contains_value(r, EVT_U64(1), EVT_U64(42)));
	assert_false(evmap_contains_value(r, EVT_U64(1), EVT_U64(43)));
	assert_false(evmap_contains_key(r, EVT_U64(2)));

	evmap_reader_free(r);
	evmap_writer_free(w);
}

/* 3, with owned strings. */
static void test_conf03_insert_invisible_until_refresh_cstr(void **state)
{
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &w, &r),
			 0);
	assert_int_equal(evmap_insert(w, "a", "x"), 0);
	assert_int_equal(evt_len_of(r, "a"), EVT_NOT_READY);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evt_len_of(r, "a"), 1);
	assert_true(evmap_contains_value(r, "a", "x"));
	assert_int_equal(evt_len_of(r, "b"), EVT_ABSENT);
	evmap_reader_free(r);
	evmap_writer_free(w);
	evt_ct_assert_clean();
}

/* 4. A purge is invisible until refresh. */
static void test_conf04_purge_invisible_until_refresh(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	char key[16];
	int i;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &w, &r),
			 0);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(evmap_insert(w, key, "v"), 0);
	}
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_purge(w), 0);
	assert_int_equal(evmap_len(r), 10);
	assert_int_equal(evt_len_of(r, "k3"), 1);
	assert_true(evmap_contains_value(r, "k9", "v"));

	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_len(r), 0);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(evt_len_of(r, key), EVT_ABSENT);
	}
	/* the purged copy is replayed too: a further refresh stays empty */
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_len(r), 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
	evt_ct_assert_clean();
}

/*
 * 5. A view keeps showing the old state until evmap_leave, whatever the
 * writer publishes meanwhile. The writer (on another thread: refresh is
 * refused inside the caller's own section) publishes as often as it can
 * without waiting; a second handle sees what it published.
 */
struct conf05 {
	evmap_writer *w;
	evmap_reader *other;
	int refreshed;
	int refused;
	long other_len_k2;
};

static void conf05_writer(void *arg)
{
	struct conf05 *c = arg;
	int i, rc;

	for (i = 0; i < 3; i++) {
		char value[8];
		snprintf(value, sizeof(value), "v%d", i);
		if (evmap_insert(c->w, "k2", value) != 0 ||
		    evmap_remove_key(c->w, "k1") != 0)
			return;
		rc = evmap_try_refresh(c->w);
		if (rc == 0)
			c->refreshed++;
		else if (rc == -EAGAIN)
			c->refused++;
	}
	c->other_len_k2 = evt_len_of(c->other, "k2");
}

static void test_conf05_view_is_a_snapshot_until_leave(void **state)
{
	struct conf05 c = {0};
	evmap_reader *r;
	const evmap_view *v;
	const evmap_values *vs;
	const char *a;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &c.w, &r),
			 0);
	c.other = evmap_reader_clone(r);
	assert_non_null(c.other);
	assert_int_equal(evmap_insert(c.w, "k1", "a"), 0);
	assert_int_equal(evmap_refresh(c.w), 0);

	v = evmap_enter(r);
	assert_non_null(v);
	vs = evmap_view_get(v, "k1");
	assert_non_null(vs);
	a = evmap_values_at(vs, 0);
	assert_string_equal(a, "a");

	evt_run_in_thread(conf05_writer, &c);
	/* at most one publication can happen while we hold our copy */
	assert_int_equal(c.refreshed + c.refused, 3);
	assert_true(c.refreshed <= 1);
	if (c.refreshed)
		assert_int_equal(c.other_len_k2, 1);

	/* our snapshot is unchanged and its items are alive */
	assert_int_equal(evmap_view_len(v), 1);
	assert_ptr_equal(evmap_view_get(v, "k1"), vs);
	assert_int_equal(evmap_values_len(vs), 1);
	assert_ptr_equal(evmap_values_at(vs, 0), a);
	assert_false(evt_ct_is_freed(a));
	assert_string_equal(a, "a");
	assert_null(evmap_view_get(v, "k2"));
	assert_int_equal(evmap_view_generation(v), 1);
	evmap_leave(r);

	/* a new section sees the new state once it is published */
	assert_int_equal(evmap_refresh(c.w), 0);
	v = evmap_enter(r);
	assert_non_null(v);
	assert_null(evmap_view_get(v, "k1"));
	vs = evmap_view_get(v, "k2");
	assert_non_null(vs);
	assert_int_equal(evmap_values_len(vs), 3);
	assert_int_equal(evmap_view_len(v), 1);
	evmap_leave(r);

	evmap_reader_free(c.other);
	evmap_reader_free(r);
	evmap_writer_free(c.w);
	evt_ct_assert_clean();
}

/* 6. Freeing the writer destroys the map for every reader. */
static void test_conf06_writer_free_destroys_map(void **state)
{
	evmap_writer *w;
	evmap_reader *r, *r2;
	int calls = 0;

	(void)state;
	assert_int_equal(evmap_new(&evmap_type_cstr, &evmap_type_cstr, NULL,
				   &w, &r),
			 0);
	r2 = evmap_reader_clone(r);
	assert_non_null(r2);
	assert_int_equal(evmap_insert(w, "k", "v"), 0);
	assert_int_equal(evmap_refresh(w), 0);
	/* r has read data before */
	assert_true(evmap_contains_value(r, "k", "v"));
	assert_true(evmap_get(r, "k", noop_get, &calls));
	assert_int_equal(calls, 1);

	evmap_writer_free(w);

	assert_true(evmap_is_destroyed(r));
	assert_true(evmap_is_destroyed(r2));
	assert_null(evmap_enter(r));
	evmap_leave(r);
	assert_false(evmap_contains_key(r, "k"));
	assert_false(evmap_contains_value(r, "k", "v"));
	assert_int_equal(evmap_len(r), 0);
	assert_false(evmap_get(r, "k", noop_get, &calls));
	assert_int_equal(calls, 1);
	/* handles keep working: clone, nest, free */
	{
		evmap_reader *r3 = evmap_reader_clone(r);
		assert_non_null(r3);
		assert_null(evmap_enter(r3));
		assert_null(evmap_enter(r3));
		evmap_leave(r3);
		evmap_leave(r3);
		assert_true(evmap_is_destroyed(r3));
		evmap_reader_free(r3);
	}
	evmap_reader_free(r);
	assert_true(evmap_is_destroyed(r2));
	evmap_reader_free(r2);
}

/* 6, with the reader handles freed before the writer. */
static void test_conf06_readers_freed_before_writer(void **state)
{
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &w, &r),
			 0);
	assert_int_equal(evmap_insert(w, "k", "v"), 0);
	assert_int_equal(evmap_refresh(w), 0);
	evmap_reader_free(r);
	assert_int_equal(evmap_insert(w, "k", "w"), 0);
	assert_int_equal(evmap_refresh(w), 0);
	r = evmap_writer_reader(w);
	assert_non_null(r);
	assert_int_equal(evt_len_of(r, "k"), 2);
	evmap_reader_free(r);
	evmap_writer_free(w);
	evt_ct_assert_clean();
}

/* 7. evmap_flush with nothing pending returns at once, even in a section. */
static void test_conf07_flush_with_nothing_pending(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	uint64_t gen;

	(void)state;
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_refresh(w), 0);
	gen = evmap_generation(w);
	assert_int_equal(evmap_pending(w), 0);

	assert_non_null(evmap_enter(r));
	assert_int_equal(evmap_flush(w), 0);
	assert_int_equal(evmap_pending(w), 0);
	assert_int_equal(evmap_generation(w), gen);
	/* something pending: flush would refresh, refused inside a section */
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(1)), 0);
	assert_int_equal(evmap_pending(w), 1);
	assert_int_equal(evmap_flush(w), -EDEADLK);
	assert_int_equal(evmap_pending(w), 1);
	evmap_leave(r);

	assert_int_equal(evmap_flush(w), 0);
	assert_int_equal(evmap_pending(w), 0);
	assert_int_equal(evmap_generation(w), gen + 1);
	assert_int_equal(evt_len_of(r, EVT_U64(1)), 1);
	assert_int_equal(evmap_flush(w), 0);
	assert_int_equal(evmap_generation(w), gen + 1);

	evmap_reader_free(r);
	evmap_writer_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf01_not_ready_before_first_refresh),
		cmocka_unit_test(test_conf02_empty_but_ready_after_first_refresh),
		cmocka_unit_test(test_conf03_insert_invisible_until_refresh),
		cmocka_unit_test(test_conf03_insert_invisible_until_refresh_cstr),
		cmocka_unit_test(test_conf04_purge_invisible_until_refresh),
		cmocka_unit_test(test_conf05_view_is_a_snapshot_until_leave),
		cmocka_unit_test(test_conf06_writer_free_destroys_map),
		cmocka_unit_test(test_conf06_readers_freed_before_writer),
		cmocka_unit_test(test_conf07_flush_with_nothing_pending),
	};
	return cmocka_run_group_tests_name("conformance_visibility", tests,
					   NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * test_api_reader.c - the reader's calls: nested sections, the view and
 * values accessors (out-of-range indexes, first, contains), evmap_get's
 * callback, evmap_get_first, and a handle moving between threads between
 * sections.
 */
#include <urcu/urcu-bp.h>

#include "test_util.h"

struct get_ctx {
	int calls;
	size_t len;
	void *meta;
};

static void record_get(const evmap_values *vs, void *meta, void *ctx)
{
	struct get_ctx *g = ctx;
	g->calls++;
	g->len = evmap_values_len(vs);
	g->meta = meta;
}

static void test_get_runs_callback_once(void **state)
{
	evmap_options *o = evmap_options_new();
	struct get_ctx g = {0};
	evmap_writer *w;
	evmap_reader *r;
	int meta;

	(void)state;
	assert_int_equal(evmap_options_set_meta(o, &meta, NULL), 0);
	assert_int_equal(evmap_new(&evmap_type_cstr, &evmap_type_cstr, o, &w,
				   &r),
			 0);
	evmap_options_free(o);
	assert_int_equal(evmap_insert(w, "k", "a"), 0);
	assert_int_equal(evmap_insert(w, "k", "b"), 0);
	assert_int_equal(evmap_clear_key(w, "empty"), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_true(evmap_get(r, "k", record_get, &g));
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.len, 2);
	assert_ptr_equal(g.meta, &meta);
	assert_true(evmap_get(r, "empty", record_get, &g));
	assert_int_equal(g.calls, 2);
	assert_int_equal(g.len, 0);
	assert_false(evmap_get(r, "none", record_get, &g));
	assert_int_equal(g.calls, 2);
	/* the callback runs inside a section: refresh there is refused */
	evmap_reader_free(r);
	evmap_writer_free(w);
}

struct refresh_in_get {
	evmap_writer *w;
	int rc;
};

static void refresh_from_get(const evmap_values *vs, void *meta, void *ctx)
{
	struct refresh_in_get *g = ctx;
	(void)vs;
	(void)meta;
	g->rc = evmap_refresh(g->w);
}

/* evmap_get's callback runs inside a section: refresh there is refused. */
static void test_get_callback_is_a_section(void **state)
{
	struct refresh_in_get g = {0};
	evmap_reader *r;

	(void)state;
	evt_new_u64_map(&g.w, &r);
	assert_int_equal(evmap_insert(g.w, EVT_U64(1), EVT_U64(1)), 0);
	assert_int_equal(evmap_refresh(g.w), 0);
	assert_true(evmap_get(r, EVT_U64(1), refresh_from_get, &g));
	assert_int_equal(g.rc, -EDEADLK);
	assert_int_equal(evmap_refresh(g.w), 0);
	evmap_reader_free(r);
	evmap_writer_free(g.w);
}

static void test_values_accessors(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	const evmap_view *v;
	const evmap_values *vs;
	size_t i, seen = 0;

	(void)state;
	evt_new_u64_map(&w, &r);
	for (i = 1; i <= 5; i++)
		assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(i * 10)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	v = evmap_enter(r);
	vs = evmap_view_get(v, EVT_U64(1));
	assert_int_equal(evmap_values_len(vs), 5);
	for (i = 0; i < 5; i++) {
		uint64_t n = EVT_NUM(evmap_values_at(vs, i));
		assert_true(n % 10 == 0 && n >= 10 && n <= 50);
		seen |= (size_t)1 << (n / 10);
	}
	assert_int_equal(seen, 0x3e);
	assert_null(evmap_values_at(vs, 5));
	assert_null(evmap_values_at(vs, SIZE_MAX));
	assert_true(evmap_values_contains(vs, evmap_values_first(vs)));
	assert_false(evmap_values_contains(vs, EVT_U64(60)));
	evmap_leave(r);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

static void test_nested_sections_same_view(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	const evmap_view *v1, *v2, *v3;

	(void)state;
	evt_new_u64_map(&w, &r);
	/* nesting before the map is ready */
	assert_null(evmap_enter(r));
	assert_null(evmap_enter(r));
	evmap_leave(r);
	evmap_leave(r);
	assert_int_equal(evmap_refresh(w), 0);
	v1 = evmap_enter(r);
	v2 = evmap_enter(r);
	v3 = evmap_enter(r);
	assert_non_null(v1);
	assert_ptr_equal(v1, v2);
	assert_ptr_equal(v2, v3);
	evmap_leave(r);
	evmap_leave(r);
	assert_int_equal(evmap_refresh(w), -EDEADLK); /* still in the outer */
	evmap_leave(r);
	assert_int_equal(evmap_refresh(w), 0);
	/* shortcuts inside a section of the same handle nest too */
	assert_non_null(evmap_enter(r));
	assert_int_equal(evmap_len(r), 0);
	assert_false(evmap_contains_key(r, EVT_U64(1)));
	evmap_leave(r);
	assert_int_equal(evmap_refresh(w), 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

struct moved {
	evmap_reader *r;
	long len;
};

static void read_on_other_thread(void *arg)
{
	struct moved *m = arg;
	m->len = evt_len_of(m->r, EVT_U64(1));
}

static void test_handle_moves_between_threads(void **state)
{
	struct moved m = {0};
	evmap_writer *w;
	int i;

	(void)state;
	evt_new_u64_map(&w, &m.r);
	for (i = 0; i < 5; i++) {
		assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(i)), 0);
		assert_int_equal(evmap_refresh(w), 0);
		evt_run_in_thread(read_on_other_thread, &m);
		assert_int_equal(m.len, i + 1);
		assert_int_equal(evt_len_of(m.r, EVT_U64(1)), i + 1);
	}
	evmap_reader_free(m.r);
	evmap_writer_free(w);
}

static void test_get_first_results(void **state)
{
	const void *value = EVT_U64(99);
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(10)), 0);
	/* not ready: no view yet */
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 1);
	assert_int_equal(EVT_NUM(value), 10);
	/* absent, and a key whose bag is empty: 0, *value unchanged */
	assert_int_equal(evmap_clear_key(w, EVT_U64(2)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_true(evmap_contains_key(r, EVT_U64(2)));
	value = EVT_U64(99);
	assert_int_equal(evmap_get_first(r, EVT_U64(2), &value), 0);
	assert_int_equal(evmap_get_first(r, EVT_U64(3), &value), 0);
	assert_int_equal(EVT_NUM(value), 99);
	/* 0 is a value like any other */
	assert_int_equal(evmap_insert(w, EVT_U64(0), EVT_U64(0)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_get_first(r, EVT_U64(0), &value), 1);
	assert_null(value);
	/* several values: the one evmap_values_first() gives */
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(11)), 0);
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(12)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 1);
	{
		const evmap_view *v = evmap_enter(r);
		assert_ptr_equal(value,
				 evmap_values_first(evmap_view_get(v, EVT_U64(1))));
		evmap_leave(r);
	}
	/* it is a whole section: refresh is allowed right after */
	assert_int_equal(evmap_refresh(w), 0);
	/* destroyed: 0 */
	evmap_writer_free(w);
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 0);
	assert_null(evmap_enter(r));
	assert_null(evmap_enter(r)); /* nested in a NULL section: NULL too */
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 0);
	evmap_leave(r);
	evmap_leave(r);
	evmap_reader_free(r);
}

static void test_get_first_bad_input(void **state)
{
	const void *value = EVT_U64(99);
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_get_first(NULL, EVT_U64(1), &value), -EINVAL);
	assert_int_equal(evmap_get_first(r, EVT_U64(1), NULL), -EINVAL);
	evmap_reader_free(r);
	evmap_writer_free(w);

	/* a value type that frees its items: the copy could dangle */
	assert_int_equal(evmap_new(&evmap_type_u64, &evt_ct_type, NULL, &w, &r),
			 0);
	assert_int_equal(evmap_insert(w, EVT_U64(1), "a"), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), -EINVAL);
	assert_int_equal(EVT_NUM(value), 99);
	evmap_reader_free(r);
	evmap_writer_free(w);
	evt_ct_assert_clean();
}

/* After evmap_writer_free() (outside a section) the map no longer reads
 * its types, which the application may then free or reuse: a handle's
 * evmap_get_first still answers -EINVAL for a value type that had a free
 * callback, without looking at the type object again. */
static void test_get_first_after_destroy_ignores_types(void **state)
{
	evmap_type *type = malloc(sizeof(*type));
	const void *value = EVT_U64(99);
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	assert_non_null(type);
	*type = evt_ct_type;
	assert_int_equal(evmap_new(&evmap_type_u64, type, NULL, &w, &r), 0);
	assert_int_equal(evmap_insert(w, EVT_U64(1), "a"), 0);
	assert_int_equal(evmap_refresh(w), 0);
	evmap_writer_free(w);
	evt_ct_assert_clean();
	memset(type, 0, sizeof(*type)); /* reused: free is NULL now */
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), -EINVAL);
	assert_int_equal(EVT_NUM(value), 99);
	assert_false(evmap_contains_key(r, EVT_U64(1)));
	evmap_reader_free(r);
	free(type);
}

static void test_get_first_string_keys(void **state)
{
	const void *value = NULL;
	evmap_writer *w;
	evmap_reader *r;
	char key[] = "key";

	(void)state;
	assert_int_equal(evmap_new(&evmap_type_cstr, &evmap_type_ptr, NULL, &w,
				   &r),
			 0);
	assert_int_equal(evmap_insert(w, "key", &value), 0);
	assert_int_equal(evmap_refresh(w), 0);
	/* keys compare by content, not by pointer */
	assert_int_equal(evmap_get_first(r, key, &value), 1);
	assert_ptr_equal(value, &value);
	assert_int_equal(evmap_get_first(r, "other", &value), 0);
	assert_int_equal(evmap_get_first(r, NULL, &value), 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

struct publish_ctx {
	evmap_writer *w;
	int rc;
};

static void update_and_refresh(void *arg)
{
	struct publish_ctx *p = arg;

	p->rc = evmap_update(p->w, EVT_U64(1), EVT_U64(2));
	if (p->rc == 0)
		p->rc = evmap_refresh(p->w);
}

/* Inside a section of the handle, evmap_get_first reads that section's
 * view, also after the writer published a newer one; once the section
 * ends it reads the newer one. */
static void test_get_first_nested_uses_section_view(void **state)
{
	struct publish_ctx p = {0};
	const void *value = NULL;
	evmap_reader *other;

	(void)state;
	evt_new_u64_map(&p.w, &other);
	evmap_reader *r = evmap_reader_clone(other);
	assert_non_null(r);
	assert_int_equal(evmap_insert(p.w, EVT_U64(1), EVT_U64(1)), 0);
	assert_int_equal(evmap_refresh(p.w), 0);
	assert_int_equal(evmap_refresh(p.w), 0);
	const evmap_view *v = evmap_enter(r);
	assert_non_null(v);
	/* this refresh waits only for readers of the other copy */
	evt_run_in_thread(update_and_refresh, &p);
	assert_int_equal(p.rc, 0);
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 1);
	assert_int_equal(EVT_NUM(value), 1);
	assert_ptr_equal(evmap_enter(r), v);
	evmap_leave(r);
	assert_int_equal(evmap_get_first(other, EVT_U64(1), &value), 1);
	assert_int_equal(EVT_NUM(value), 2);
	evmap_leave(r);
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 1);
	assert_int_equal(EVT_NUM(value), 2);
	evmap_reader_free(r);
	evmap_reader_free(other);
	evmap_writer_free(p.w);
}

/* evmap_get_first ends liburcu's read section by storing back the counter
 * it found there: inside another handle's section the thread is still
 * inside liburcu's, and after that section it is outside. */
static void test_get_first_restores_rcu_nesting(void **state)
{
	const void *value = NULL;
	evmap_writer *w;
	evmap_reader *r, *other;

	(void)state;
	evt_new_u64_map(&w, &r);
	other = evmap_reader_clone(r);
	assert_non_null(other);
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(7)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 1);
	assert_false(urcu_bp_read_ongoing());
	assert_non_null(evmap_enter(other));
	assert_true(urcu_bp_read_ongoing());
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 1);
	assert_int_equal(EVT_NUM(value), 7);
	assert_true(urcu_bp_read_ongoing());
	assert_int_equal(evmap_get_first(r, EVT_U64(2), &value), 0);
	assert_true(urcu_bp_read_ongoing());
	evmap_leave(other);
	assert_false(urcu_bp_read_ongoing());
	assert_int_equal(evmap_get_first(r, EVT_U64(1), &value), 1);
	assert_false(urcu_bp_read_ongoing());
	/* the writer's wait sees both handles outside */
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(8)), 0);
	assert_int_equal(evmap_try_refresh(w), 0);
	evmap_reader_free(other);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_runs_callback_once),
		cmocka_unit_test(test_get_callback_is_a_section),
		cmocka_unit_test(test_values_accessors),
		cmocka_unit_test(test_nested_sections_same_view),
		cmocka_unit_test(test_handle_moves_between_threads),
		cmocka_unit_test(test_get_first_results),
		cmocka_unit_test(test_get_first_bad_input),
		cmocka_unit_test(test_get_first_after_destroy_ignores_types),
		cmocka_unit_test(test_get_first_string_keys),
		cmocka_unit_test(test_get_first_nested_uses_section_view),
		cmocka_unit_test(test_get_first_restores_rcu_nesting),
	};
	return cmocka_run_group_tests_name("api_reader", tests, NULL, NULL);
}

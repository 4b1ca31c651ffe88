/* SPDX-License-Identifier: MIT */
/*
 * test_conformance_meta.c - tests/CONFORMANCE.md C21: the meta value readers
 * see, when a new one becomes visible, and that every replaced meta is
 * freed exactly once (and not while a reader can still see it).
 */
#include "test_util.h"

static evmap_writer *new_with_meta(struct evt_meta *meta, evmap_reader **r)
{
	evmap_options *o = evmap_options_new();
	evmap_writer *w = NULL;

	assert_non_null(o);
	assert_int_equal(evmap_options_set_meta(o, meta, evt_meta_free), 0);
	assert_int_equal(evmap_new(&evmap_type_u64, &evmap_type_u64, o, &w, r),
			 0);
	evmap_options_free(o);
	return w;
}

static int meta_in_section(evmap_reader *r)
{
	const evmap_view *v = evmap_enter(r);
	struct evt_meta *m = evmap_view_meta(v);
	int value = m ? m->value : -1;

	evmap_leave(r);
	return value;
}

static void get_meta(const evmap_values *vs, void *meta, void *ctx)
{
	(void)vs;
	*(void **)ctx = meta;
}

/* 21. meta 42 at creation; set_meta(43) visible after the next refresh. */
static void test_conf21_meta_visible_after_refresh(void **state)
{
	struct evt_meta *m42 = evt_meta_new(42), *m43 = evt_meta_new(43);
	evmap_writer *w;
	evmap_reader *r;
	void *seen = NULL;

	(void)state;
	w = new_with_meta(m42, &r);
	/* not readable before the first refresh */
	assert_null(evmap_enter(r));
	evmap_leave(r);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(meta_in_section(r), 42);

	assert_int_equal(evmap_set_meta(w, m43), 0);
	assert_int_equal(meta_in_section(r), 42);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(meta_in_section(r), 43);
	/* the meta is handed to evmap_get's callback too */
	assert_int_equal(evmap_insert(w, EVT_U64(1), EVT_U64(1)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_true(evmap_get(r, EVT_U64(1), get_meta, &seen));
	assert_ptr_equal(seen, m43);
	assert_int_equal(meta_in_section(r), 43);

	/* 42 is freed once no reader can see it (when exactly is the
	 * library's choice), never twice */
	assert_int_equal(evmap_refresh(w), 0);
	assert_true(evt_meta_frees(m42) <= 1);
	assert_int_equal(evt_meta_frees(m43), 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
	assert_int_equal(evt_meta_frees(m42), 1);
	assert_int_equal(evt_meta_frees(m43), 1);
	evt_meta_reset();
}

/* 21. A replaced meta is not freed while a section still shows it: the
 * writer, on another thread, publishes as often as it can without waiting
 * while this thread holds a view of meta 2. */
struct conf21 {
	evmap_writer *w;
	struct evt_meta *next;
	int published;
};

static void conf21_writer(void *arg)
{
	struct conf21 *c = arg;
	int i;

	if (evmap_set_meta(c->w, c->next) != 0)
		return;
	for (i = 0; i < 3; i++)
		if (evmap_try_refresh(c->w) == 0)
			c->published++;
}

static void test_conf21_replaced_meta_not_freed_while_visible(void **state)
{
	struct evt_meta *m1 = evt_meta_new(1), *m2 = evt_meta_new(2);
	struct conf21 c = {.next = evt_meta_new(3)};
	evmap_reader *r;
	const evmap_view *v;

	(void)state;
	c.w = new_with_meta(m1, &r);
	assert_int_equal(evmap_refresh(c.w), 0);
	assert_int_equal(evmap_set_meta(c.w, m2), 0);
	assert_int_equal(evmap_refresh(c.w), 0);

	v = evmap_enter(r);
	assert_ptr_equal(evmap_view_meta(v), m2);
	evt_run_in_thread(conf21_writer, &c);
	assert_true(c.published <= 1);
	assert_ptr_equal(evmap_view_meta(v), m2);
	assert_int_equal(evt_meta_frees(m2), 0);
	evmap_leave(r);

	assert_int_equal(evmap_refresh(c.w), 0);
	assert_int_equal(evmap_refresh(c.w), 0);
	assert_int_equal(meta_in_section(r), 3);
	assert_true(evt_meta_frees(m1) <= 1);
	assert_true(evt_meta_frees(m2) <= 1);
	assert_int_equal(evt_meta_frees(c.next), 0);

	evmap_reader_free(r);
	evmap_writer_free(c.w);
	assert_int_equal(evt_meta_frees(m1), 1);
	assert_int_equal(evt_meta_frees(m2), 1);
	assert_int_equal(evt_meta_frees(c.next), 1);
	evt_meta_reset();
}

/* 21. A meta replaced before it was ever published is freed at once;
 * setting the same meta again does not free it. */
static void test_conf21_unpublished_meta_freed_once(void **state)
{
	struct evt_meta *m1 = evt_meta_new(1), *m2 = evt_meta_new(2);
	struct evt_meta *m3 = evt_meta_new(3);
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	w = new_with_meta(m1, &r);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_set_meta(w, m2), 0);
	assert_int_equal(evmap_set_meta(w, m3), 0);
	assert_int_equal(evt_meta_frees(m2), 1);
	assert_int_equal(evmap_set_meta(w, m3), 0);
	assert_int_equal(evt_meta_frees(m3), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(meta_in_section(r), 3);
	evmap_reader_free(r);
	evmap_writer_free(w);
	assert_int_equal(evt_meta_frees(m1), 1);
	assert_int_equal(evt_meta_frees(m2), 1);
	assert_int_equal(evt_meta_frees(m3), 1);
	evt_meta_reset();
}

/* 21. Meta never published: freed with the writer; NULL meta allowed. */
static void test_conf21_meta_freed_without_refresh(void **state)
{
	struct evt_meta *m1 = evt_meta_new(1), *m2 = evt_meta_new(2);
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	w = new_with_meta(m1, &r);
	assert_int_equal(evmap_set_meta(w, m2), 0);
	evmap_writer_free(w);
	evmap_reader_free(r);
	assert_int_equal(evt_meta_frees(m1), 1);
	assert_int_equal(evt_meta_frees(m2), 1);

	/* no meta at all: views show NULL, set_meta(NULL) is fine */
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(meta_in_section(r), -1);
	assert_int_equal(evmap_set_meta(w, NULL), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(meta_in_section(r), -1);
	evmap_reader_free(r);
	evmap_writer_free(w);
	evt_meta_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf21_meta_visible_after_refresh),
		cmocka_unit_test(test_conf21_replaced_meta_not_freed_while_visible),
		cmocka_unit_test(test_conf21_unpublished_meta_freed_once),
		cmocka_unit_test(test_conf21_meta_freed_without_refresh),
	};
	return cmocka_run_group_tests_name("conformance_meta", tests, NULL,
					   NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * test_conformance_memory.c - tests/CONFORMANCE.md C28, C34 and C35: every key
 * and value the map owns is freed exactly once and never while a section
 * can still see it; writes never published are freed with the writer; and
 * a value (or key) type whose equal answers at random can make lookups
 * wrong but never makes the two copies differ, frees twice or leaks.
 * Items are counted strings (evt_ct_type / evt_ct_owned_type); a freed
 * item is only marked, so a reader that sees one notices.
 */
#include "test_util.h"

/* Every key and value visible in a fresh section is still alive. */
static size_t freed_items_visible(evmap_reader *r)
{
	const evmap_view *v = evmap_enter(r);
	const evmap_values *vs;
	const void *key;
	evmap_iter it;
	size_t bad = 0, i;

	evmap_view_iter(v, &it);
	while (v && evmap_iter_next(&it, &key, &vs)) {
		bad += evt_ct_is_freed(key);
		for (i = 0; i < evmap_values_len(vs); i++)
			bad += evt_ct_is_freed(evmap_values_at(vs, i));
	}
	evmap_leave(r);
	return bad;
}

static bool keep_odd_digit(const void *value, void *ctx)
{
	const char *s = value;
	(void)ctx;
	return (s[strlen(s) - 1] - '0') % 2 == 1;
}

/* A workload touching every write operation, with refreshes between. */
static void churn(evmap_writer *w, evmap_reader *r, int rounds)
{
	char key[16], value[16];
	int i, k;

	for (i = 0; i < rounds; i++) {
		for (k = 0; k < 20; k++) {
			snprintf(key, sizeof(key), "k%d", (i * 3 + k) % 40);
			snprintf(value, sizeof(value), "v%d", (i + k) % 10);
			assert_int_equal(evmap_insert(w, key, value), 0);
			assert_int_equal(evmap_insert(w, key, value), 0);
		}
		snprintf(key, sizeof(key), "k%d", i % 40);
		assert_int_equal(evmap_remove_value(w, key, "v1"), 0);
		assert_int_equal(evmap_update(w, key, "u"), 0);
		snprintf(key, sizeof(key), "k%d", (i + 5) % 40);
		assert_int_equal(evmap_clear_key(w, key), 0);
		snprintf(key, sizeof(key), "k%d", (i + 9) % 40);
		assert_int_equal(evmap_remove_key(w, key), 0);
		snprintf(key, sizeof(key), "k%d", (i + 11) % 40);
		assert_int_equal(evmap_retain(w, key, keep_odd_digit, NULL), 0);
		assert_int_equal(evmap_reserve(w, "reserved", 10), 0);
		assert_int_equal(evmap_fit(w, key), 0);
		if (i % 7 == 0)
			assert_int_equal(evmap_evict(w, 3, (uint64_t)i), 0);
		if (i % 11 == 0)
			assert_int_equal(evmap_fit_all(w), 0);
		if (i % 13 == 12)
			assert_int_equal(evmap_purge(w), 0);
		if (i % 2 == 0) {
			assert_int_equal(evmap_refresh(w), 0);
			assert_int_equal(freed_items_visible(r), 0);
		}
	}
}

/* 28. Every item freed exactly once by the type's free (cloned items). */
static void test_conf28_every_item_freed_once(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	struct evt_ct_stats st;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &w, &r),
			 0);
	churn(w, r, 60);
	assert_int_equal(evmap_refresh(w), 0);
	evt_ct_stats(&st);
	assert_int_equal(st.double_frees, 0);
	assert_true(st.live > 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
	evt_ct_assert_clean();
}

/* 28. A section's items are not freed while it lasts, however much the
 * writer (on another thread) removes and publishes without waiting. */
struct conf28 {
	evmap_writer *w;
	int errors;
};

static void conf28_writer(void *arg)
{
	struct conf28 *c = arg;
	int i;

	for (i = 0; i < 4; i++) {
		if (evmap_purge(c->w) || evmap_insert(c->w, "x", "y"))
			c->errors++;
		if (evmap_try_refresh(c->w) == -EINVAL)
			c->errors++;
	}
}

static void test_conf28_not_freed_while_visible(void **state)
{
	struct conf28 c = {0};
	evmap_reader *r;
	const evmap_view *v;
	const evmap_values *vs;
	const void *key, *value;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &c.w, &r),
			 0);
	assert_int_equal(evmap_insert(c.w, "k", "v"), 0);
	assert_int_equal(evmap_refresh(c.w), 0);
	v = evmap_enter(r);
	evmap_iter it;
	evmap_view_iter(v, &it);
	assert_true(evmap_iter_next(&it, &key, &vs));
	value = evmap_values_first(vs);
	evt_run_in_thread(conf28_writer, &c);
	assert_int_equal(c.errors, 0);
	assert_false(evt_ct_is_freed(key));
	assert_false(evt_ct_is_freed(value));
	assert_string_equal(key, "k");
	assert_string_equal(value, "v");
	evmap_leave(r);
	assert_int_equal(evmap_refresh(c.w), 0);
	assert_int_equal(evmap_refresh(c.w), 0);
	assert_false(evmap_contains_key(r, "k"));
	evmap_reader_free(r);
	evmap_writer_free(c.w);
	evt_ct_assert_clean();
}

/* 28. Items the map takes (no clone): freed once, also the key of an
 * insert whose key already exists; lookup arguments are only borrowed. */
static void test_conf28_owned_items_freed_once(void **state)
{
	evmap_writer *w;
	evmap_reader *r;
	int i;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_owned_type, &evt_ct_owned_type,
				   NULL, &w, &r),
			 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(
			evmap_insert(w, evt_ct_new("k"), evt_ct_new("v")), 0);
	assert_int_equal(evmap_insert(w, evt_ct_new("k2"), evt_ct_new("a")), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evt_len_of(r, "k"), 5);
	assert_int_equal(freed_items_visible(r), 0);
	/* borrowed lookups: string literals, never freed by the map */
	assert_int_equal(evmap_remove_value(w, "k", "v"), 0);
	assert_int_equal(evmap_remove_key(w, "k2"), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evt_len_of(r, "k"), 4);
	assert_false(evmap_contains_key(r, "k2"));
	assert_int_equal(evmap_update(w, evt_ct_new("k"), evt_ct_new("w")), 0);
	assert_int_equal(evmap_clear_key(w, evt_ct_new("k3")), 0);
	assert_int_equal(evmap_clear_key(w, evt_ct_new("k3")), 0);
	assert_int_equal(evmap_reserve(w, evt_ct_new("k4"), 3), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(freed_items_visible(r), 0);
	assert_int_equal(evt_len_of(r, "k"), 1);
	assert_int_equal(evmap_len(r), 3);
	evmap_reader_free(r);
	evmap_writer_free(w);
	evt_ct_assert_clean();
}

/* 34. Writes never published are freed with the writer. */
static void test_conf34_unpublished_writes_freed(void **state)
{
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &w, &r),
			 0);
	assert_int_equal(evmap_insert(w, "a", "1"), 0);
	assert_int_equal(evmap_insert(w, "a", "2"), 0);
	assert_int_equal(evmap_update(w, "b", "3"), 0);
	assert_int_equal(evmap_remove_value(w, "a", "1"), 0);
	assert_int_equal(evmap_clear_key(w, "c"), 0);
	evmap_writer_free(w); /* never refreshed */
	evmap_reader_free(r);
	evt_ct_assert_clean();
}

/* 34, with owned items, and after a refresh with writes pending. */
static void test_conf34_pending_writes_freed_owned(void **state)
{
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_owned_type, &evt_ct_owned_type,
				   NULL, &w, &r),
			 0);
	assert_int_equal(evmap_insert(w, evt_ct_new("a"), evt_ct_new("1")), 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
	evt_ct_assert_clean();

	assert_int_equal(evmap_new(&evt_ct_owned_type, &evt_ct_owned_type,
				   NULL, &w, &r),
			 0);
	assert_int_equal(evmap_insert(w, evt_ct_new("a"), evt_ct_new("1")), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_insert(w, evt_ct_new("a"), evt_ct_new("2")), 0);
	assert_int_equal(evmap_update(w, evt_ct_new("b"), evt_ct_new("3")), 0);
	assert_int_equal(evmap_remove_key(w, "a"), 0);
	evmap_writer_free(w);
	evmap_reader_free(r);
	evt_ct_assert_clean();
}

/* ---- 35. an equal that answers at random ---- */

static unsigned int random_state = 1;

static bool random_equal(const void *a, const void *b, void *ctx)
{
	(void)a;
	(void)b;
	(void)ctx;
	random_state = random_state * 1103515245u + 12345u;
	return (random_state >> 16) & 1;
}

static uint64_t constant_hash(const void *item, void *ctx)
{
	(void)item;
	(void)ctx;
	return 7;
}

struct pair {
	const void *key, *value;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	if (x->key != y->key)
		return (uintptr_t)x->key < (uintptr_t)y->key ? -1 : 1;
	if (x->value != y->value)
		return (uintptr_t)x->value < (uintptr_t)y->value ? -1 : 1;
	return 0;
}

/* The published copy as sorted (key, value) pointer pairs (identity:
 * both copies share the items). Empty bags count as (key, NULL). */
static struct pair *snapshot(evmap_reader *r, size_t *n)
{
	const evmap_view *v = evmap_enter(r);
	const evmap_values *vs;
	const void *key;
	evmap_iter it;
	struct pair *p = NULL;
	size_t len = 0, cap = 0, i;

	evmap_view_iter(v, &it);
	while (v && evmap_iter_next(&it, &key, &vs)) {
		size_t nv = evmap_values_len(vs);
		for (i = 0; i < (nv ? nv : 1); i++) {
			if (len == cap) {
				cap = cap ? 2 * cap : 64;
				p = realloc(p, cap * sizeof(*p));
				assert_non_null(p);
			}
			p[len].key = key;
			p[len].value = nv ? evmap_values_at(vs, i) : NULL;
			len++;
		}
	}
	evmap_leave(r);
	qsort(p, len, sizeof(*p), pair_cmp);
	*n = len;
	return p;
}

static bool keep_random(const void *value, void *ctx)
{
	return random_equal(value, value, ctx);
}

static void random_equal_workload(const evmap_type *kt, const evmap_type *vt)
{
	evmap_writer *w;
	evmap_reader *r;
	char key[16], value[16];
	int i, k;

	random_state = 12345;
	assert_int_equal(evmap_new(kt, vt, NULL, &w, &r), 0);
	for (i = 0; i < 40; i++) {
		struct pair *a, *b;
		size_t na, nb;

		for (k = 0; k < 30; k++) {
			snprintf(key, sizeof(key), "k%d", (i + k) % 6);
			snprintf(value, sizeof(value), "v%d", k % 4);
			assert_int_equal(evmap_insert(w, key, value), 0);
		}
		for (k = 0; k < 10; k++) {
			snprintf(key, sizeof(key), "k%d", k % 6);
			snprintf(value, sizeof(value), "v%d", k % 4);
			assert_int_equal(evmap_remove_value(w, key, value), 0);
		}
		snprintf(key, sizeof(key), "k%d", i % 6);
		assert_int_equal(evmap_retain(w, key, keep_random, NULL), 0);
		if (i % 5 == 0)
			assert_int_equal(evmap_remove_key(w, key), 0);
		if (i % 9 == 0)
			assert_int_equal(evmap_update(w, key, "u"), 0);
		assert_int_equal(evmap_fit(w, key), 0);
		if (i % 10 == 0)
			assert_int_equal(evmap_fit_all(w), 0);

		/* publish, then publish the other copy with nothing new:
		 * both copies must hold the very same items */
		assert_int_equal(evmap_refresh(w), 0);
		a = snapshot(r, &na);
		assert_int_equal(evmap_refresh(w), 0);
		b = snapshot(r, &nb);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, na * sizeof(*a));
		free(a);
		free(b);
		assert_int_equal(freed_items_visible(r), 0);
	}
	evmap_reader_free(r);
	evmap_writer_free(w);
	evt_ct_assert_clean();
}

/* 35. Values compared at random: copies agree, nothing freed twice or
 * leaked. */
static void test_conf35_random_value_equal(void **state)
{
	const evmap_type random_values = {
		.hash = evt_ct_type.hash,
		.equal = random_equal,
		.clone = evt_ct_type.clone,
		.free = evt_ct_type.free,
	};

	(void)state;
	random_equal_workload(&evt_ct_type, &random_values);
}

/* 35, values with no hash (linear bags) compared at random. */
static void test_conf35_random_value_equal_unhashed(void **state)
{
	const evmap_type random_values = {
		.equal = random_equal,
		.clone = evt_ct_type.clone,
		.free = evt_ct_type.free,
	};

	(void)state;
	random_equal_workload(&evt_ct_type, &random_values);
}

/* 35, keys compared at random (all in one probe chain). */
static void test_conf35_random_key_equal(void **state)
{
	const evmap_type random_keys = {
		.hash = constant_hash,
		.equal = random_equal,
		.clone = evt_ct_type.clone,
		.free = evt_ct_type.free,
	};

	(void)state;
	random_equal_workload(&random_keys, &evt_ct_type);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf28_every_item_freed_once),
		cmocka_unit_test(test_conf28_not_freed_while_visible),
		cmocka_unit_test(test_conf28_owned_items_freed_once),
		cmocka_unit_test(test_conf34_unpublished_writes_freed),
		cmocka_unit_test(test_conf34_pending_writes_freed_owned),
		cmocka_unit_test(test_conf35_random_value_equal),
		cmocka_unit_test(test_conf35_random_value_equal_unhashed),
		cmocka_unit_test(test_conf35_random_key_equal),
	};
	return cmocka_run_group_tests_name("conformance_memory", tests, NULL,
					   NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * test_internal_table.c - unit tests of src/table.c (one copy of the map:
 * open addressing, linear probing, backward-shift deletion, growth and
 * shrinking) and src/bag.c (a key's bag: inline, array, indexed array
 * and back). Links the uninstalled internal library.
 */
#include "test_util.h"

/* evmap__item_hash() inlined with a constant u64 item makes GCC check its
 * (unreachable here) strlen() branch against a tiny constant address. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif

#include "src/alloc.h"
#include "src/table.h"
#include "src/types.h"

static struct evmap__types u64_types;

static void init_types(const evmap_type *key, const evmap_type *value)
{
	evmap__item_type_init(&u64_types.key, key, 1);
	evmap__item_type_init(&u64_types.value, value, 1);
}

static uint32_t hash_of(const void *key)
{
	return evmap__item_hash(&u64_types.key, key);
}

static evmap__bag *find(struct evmap__table *t, uint64_t k)
{
	return evmap__table_find(t, hash_of(EVT_U64(k)), EVT_U64(k));
}

/* Every key sits in the probe run from its home slot: no empty slot
 * between its home and where it is (what backward shift must keep). */
static void assert_probe_invariant(const struct evmap__table *t)
{
	size_t i, j, occupied = 0;

	for (i = 0; i <= t->mask; i++) {
		const evmap__bag *s = &t->slots[i];
		if (evmap__slot_is_empty(s))
			continue;
		occupied++;
		for (j = s->hash & t->mask; j != i; j = (j + 1) & t->mask)
			assert_false(evmap__slot_is_empty(&t->slots[j]));
	}
	assert_int_equal(occupied, t->count);
	/* load at most 3/4 */
	assert_true(t->count * 4 <= (t->mask + 1) * 3);
}

static void add(struct evmap__table *t, uint64_t k)
{
	evmap__bag *s = evmap__table_add(t, hash_of(EVT_U64(k)), EVT_U64(k));
	assert_non_null(s);
	assert_int_equal(evmap__bag_len(s), 0);
	assert_int_equal(evmap__bag_push(s, EVT_U64(k + 1)), 0);
}

static void del(struct evmap__table *t, uint64_t k)
{
	evmap__bag *s = find(t, k);
	assert_non_null(s);
	evmap__bag_drop_storage(s);
	evmap__table_remove(t, s);
}

static void test_table_grows_and_finds(void **state)
{
	struct evmap__table t;
	uint64_t k;
	size_t slots_before;

	(void)state;
	init_types(&evmap_type_u64, &evmap_type_u64);
	assert_int_equal(evmap__table_init(&t, &u64_types, 0), 0);
	slots_before = t.mask + 1;
	assert_true((slots_before & (slots_before - 1)) == 0);
	for (k = 0; k < 5000; k++) {
		add(&t, k);
		if (k % 500 == 0)
			assert_probe_invariant(&t);
	}
	assert_int_equal(t.count, 5000);
	assert_true(t.mask + 1 > slots_before);
	assert_true(((t.mask + 1) & t.mask) == 0);
	assert_probe_invariant(&t);
	for (k = 0; k < 5000; k++) {
		evmap__bag *s = find(&t, k);
		assert_non_null(s);
		assert_ptr_equal(s->key, EVT_U64(k));
		assert_int_equal(evmap__bag_len(s), 1);
		assert_ptr_equal(evmap__bag_values(s)[0], EVT_U64(k + 1));
	}
	assert_null(find(&t, 5000));
	evmap__table_destroy(&t);
}

static void test_table_backward_shift_delete(void **state)
{
	struct evmap__table t;
	uint64_t k;

	(void)state;
	init_types(&evmap_type_u64, &evmap_type_u64);
	assert_int_equal(evmap__table_init(&t, &u64_types, 100), 0);
	for (k = 0; k < 70; k++)
		add(&t, k);
	for (k = 0; k < 70; k += 3) {
		del(&t, k);
		assert_probe_invariant(&t);
	}
	for (k = 0; k < 70; k++) {
		if (k % 3 == 0)
			assert_null(find(&t, k));
		else
			assert_non_null(find(&t, k));
	}
	evmap__table_destroy(&t);
}

/* All keys in one probe chain: deleting from its middle keeps the rest. */
static uint64_t same_hash(const void *item, void *ctx)
{
	(void)item;
	(void)ctx;
	return 1;
}

static void test_table_collision_chain(void **state)
{
	const evmap_type colliding = {.hash = same_hash};
	struct evmap__table t;
	uint64_t k;

	(void)state;
	init_types(&colliding, &evmap_type_u64);
	assert_int_equal(evmap__table_init(&t, &u64_types, 0), 0);
	for (k = 0; k < 40; k++)
		add(&t, k);
	assert_probe_invariant(&t);
	for (k = 10; k < 30; k++) {
		del(&t, k);
		assert_probe_invariant(&t);
	}
	for (k = 0; k < 40; k++)
		assert_int_equal(find(&t, k) != NULL, k < 10 || k >= 30);
	/* the chain wraps around the end of the array */
	add(&t, 100);
	assert_non_null(find(&t, 100));
	evmap__table_destroy(&t);
}

static void test_table_resize_shrinks_and_grows(void **state)
{
	struct evmap__table t;
	size_t big;
	uint64_t k;

	(void)state;
	init_types(&evmap_type_u64, &evmap_type_u64);
	assert_int_equal(evmap__table_init(&t, &u64_types, 0), 0);
	for (k = 0; k < 4000; k++)
		add(&t, k);
	big = t.mask + 1;
	for (k = 10; k < 4000; k++)
		del(&t, k);
	assert_int_equal(evmap__table_resize(&t, t.count), 0);
	assert_true(t.mask + 1 < big);
	assert_int_equal(t.mask + 1, evmap__table_slots_for(10));
	assert_probe_invariant(&t);
	for (k = 0; k < 10; k++)
		assert_non_null(find(&t, k));
	assert_int_equal(evmap__table_reserve(&t, 3000), 0);
	assert_true(t.mask + 1 >= evmap__table_slots_for(3000));
	for (k = 0; k < 10; k++)
		assert_non_null(find(&t, k));
	assert_probe_invariant(&t);
	evmap__table_destroy(&t);
}

static void test_table_slots_for(void **state)
{
	(void)state;
	assert_true(evmap__table_slots_for(0) >= 1);
	assert_true(evmap__table_slots_for(3) * 3 >= 3 * 4);
	assert_true(evmap__table_slots_for(1000) * 3 >= 1000 * 4);
	assert_int_equal(evmap__table_slots_for(SIZE_MAX), 0);
	assert_int_equal(evmap__table_slots_for(SIZE_MAX / 2), 0);
}

static void test_table_iterates_every_slot(void **state)
{
	struct evmap__table t;
	size_t pos = 0, n = 0;
	uint64_t k;

	(void)state;
	init_types(&evmap_type_u64, &evmap_type_u64);
	assert_int_equal(evmap__table_init(&t, &u64_types, 0), 0);
	for (k = 0; k < 300; k++)
		add(&t, k);
	while (evmap__table_next(&t, &pos))
		n++;
	assert_int_equal(n, 300);
	evmap__table_destroy(&t);
}

/* ---- bags ---- */

static evmap__bag *bag_slot(struct evmap__table *t)
{
	evmap__bag *s;
	assert_int_equal(evmap__table_init(t, &u64_types, 0), 0);
	s = evmap__table_add(t, hash_of(EVT_U64(1)), EVT_U64(1));
	assert_non_null(s);
	return s;
}

static void assert_bag_holds(const evmap__bag *s, uint64_t from, uint64_t to)
{
	uint64_t v;

	assert_int_equal(evmap__bag_len(s), to - from);
	for (v = from; v < to; v++)
		assert_true(evmap__bag_find(s, EVT_U64(v)) >= 0);
	assert_true(evmap__bag_find(s, EVT_U64(to)) < 0);
}

static void bag_forms(const evmap_type *value_type, bool indexed)
{
	struct evmap__table t;
	evmap__bag *s;
	uint64_t v;
	long pos;

	init_types(&evmap_type_u64, value_type);
	s = bag_slot(&t);
	/* inline: 0 and 1 value */
	assert_int_equal(s->len & EVMAP__BAG_ARRAY, 0);
	assert_int_equal(evmap__bag_push(s, EVT_U64(1)), 0);
	assert_int_equal(s->len & EVMAP__BAG_ARRAY, 0);
	assert_bag_holds(s, 1, 2);
	/* array */
	assert_int_equal(evmap__bag_push(s, EVT_U64(2)), 0);
	assert_true(s->len & EVMAP__BAG_ARRAY);
	assert_int_equal(s->u.array->index_mask, 0);
	/* large: indexed if the values hash */
	for (v = 3; v <= 200; v++)
		assert_int_equal(evmap__bag_push(s, EVT_U64(v)), 0);
	assert_bag_holds(s, 1, 201);
	assert_int_equal(s->u.array->index_mask != 0, indexed);
	/* duplicates */
	assert_int_equal(evmap__bag_push(s, EVT_U64(5)), 0);
	assert_int_equal(evmap__bag_len(s), 201);
	pos = evmap__bag_find(s, EVT_U64(5));
	assert_true(pos >= 0);
	evmap__bag_remove_at(s, (size_t)pos);
	assert_true(evmap__bag_find(s, EVT_U64(5)) >= 0);
	pos = evmap__bag_find_identity(s, EVT_U64(5));
	evmap__bag_remove_at(s, (size_t)pos);
	assert_true(evmap__bag_find(s, EVT_U64(5)) < 0);
	assert_int_equal(evmap__bag_push(s, EVT_U64(5)), 0);
	/* shrink back below the index threshold and fit */
	for (v = 200; v > 2; v--) {
		pos = evmap__bag_find(s, EVT_U64(v));
		assert_true(pos >= 0);
		evmap__bag_remove_at(s, (size_t)pos);
		if (v % 37 == 0)
			evmap__bag_fit(s);
	}
	assert_bag_holds(s, 1, 3);
	evmap__bag_fit(s);
	assert_bag_holds(s, 1, 3);
	if (s->len & EVMAP__BAG_ARRAY)
		assert_int_equal(s->u.array->index_mask, 0);
	/* back to inline */
	evmap__bag_remove_at(s, (size_t)evmap__bag_find(s, EVT_U64(2)));
	evmap__bag_fit(s);
	assert_int_equal(s->len & EVMAP__BAG_ARRAY, 0);
	assert_bag_holds(s, 1, 2);
	evmap__bag_remove_at(s, 0);
	evmap__bag_fit(s);
	assert_int_equal(evmap__bag_len(s), 0);
	assert_int_equal(s->len & EVMAP__BAG_ARRAY, 0);
	evmap__table_destroy(&t);
}

static void test_bag_forms_indexed(void **state)
{
	(void)state;
	bag_forms(&evmap_type_u64, true);
}

static const evmap_type unhashed = {0};

static void test_bag_forms_unhashed_stay_linear(void **state)
{
	(void)state;
	bag_forms(&unhashed, false);
}

static void test_bag_reserve_take_release(void **state)
{
	struct evmap__table t;
	struct evmap__bag_storage taken;
	evmap__bag *s;
	uint64_t v;

	(void)state;
	init_types(&evmap_type_u64, &evmap_type_u64);
	s = bag_slot(&t);
	assert_int_equal(evmap__bag_reserve(s, 100), 0);
	assert_int_equal(evmap__bag_len(s), 0);
	assert_int_equal(evmap__bag_reserve(s, SIZE_MAX), -ENOMEM);
	for (v = 0; v < 100; v++)
		assert_int_equal(evmap__bag_push(s, EVT_U64(v)), 0);
	evmap__bag_take(s, &taken);
	assert_int_equal(evmap__bag_len(s), 0);
	assert_int_equal(taken.len & EVMAP__BAG_LEN_MASK, 100);
	evmap__bag_storage_release(&taken, NULL);
	assert_int_equal(evmap__bag_push(s, EVT_U64(1)), 0);
	assert_bag_holds(s, 1, 2);
	evmap__table_destroy(&t);
}

/*
 * The indexed bag against a model, with many duplicates and distinct
 * values sharing a hash: values 0..19 hash to v % 5, so every chain holds
 * several distinct values and many copies of each. After every step the
 * index must be whole (assert_index_whole) and find() must agree with
 * the model for every value.
 */
static uint64_t five_hashes(const void *v, void *ctx)
{
	(void)ctx;
	return (uintptr_t)v % 5;
}

static bool same_number(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return a == b;
}

static const evmap_type colliding = { .hash = five_hashes,
				      .equal = same_number };

/* Every index entry heads a chain of positions with one hash, distinct
 * from every other entry's and reachable from its home slot; the chains'
 * links agree both ways, and cover every position exactly once. */
static void assert_index_whole(const evmap__bag *s)
{
	const struct evmap__bag_array *a = s->u.array;
	uint32_t len = evmap__bag_len(s), covered = 0;
	static unsigned char seen[1024];

	if (!(s->len & EVMAP__BAG_ARRAY) || !a->index)
		return;
	assert_true(len <= sizeof(seen));
	memset(seen, 0, len);
	for (uint32_t i = 0; i <= a->index_mask; i++) {
		uint32_t head, hash;

		if (!a->index[i])
			continue;
		head = a->index[i] - 1;
		assert_true(head < len);
		hash = a->links[head].hash;
		assert_int_equal(a->links[head].prev, 0);
		for (uint32_t j = hash & a->index_mask; j != i;
		     j = (j + 1) & a->index_mask) {
			assert_int_not_equal(a->index[j], 0);
			assert_int_not_equal(a->links[a->index[j] - 1].hash, hash);
		}
		for (uint32_t p = head;;) {
			const struct evmap__bag_link *l = &a->links[p];

			assert_true(p < len);
			assert_int_equal(seen[p], 0);
			seen[p] = 1;
			covered++;
			assert_int_equal(l->hash, evmap__item_hash(&u64_types.value,
								    a->values[p]));
			if (!l->next)
				break;
			assert_int_equal(a->links[l->next - 1].prev, p + 1);
			p = l->next - 1;
		}
	}
	assert_int_equal(covered, len);
}

static void test_bag_index_duplicates_and_collisions(void **state)
{
	struct evmap__table t;
	evmap__bag *s;
	uint32_t count[20] = { 0 };
	uint64_t rng = 12345;
	uint32_t len = 0, target = 200, indexed = 0;

	(void)state;
	init_types(&evmap_type_u64, &colliding);
	s = bag_slot(&t);
	for (int step = 0; step < 20000; step++) {
		uint64_t r = evmap__splitmix64(&rng);
		uint64_t v = (r >> 8) % 20;
		long pos;

		if (step % 2500 == 0) /* grow past the threshold, then drain */
			target = target ? 0 : 300;
		switch (r % 8) {
		case 0: case 1: case 2:
			if (len < target || r % 3 == 0) {
				assert_int_equal(evmap__bag_push(s, EVT_U64(v)), 0);
				count[v]++;
				len++;
			}
			break;
		case 3: case 4: /* remove one equal value */
			pos = evmap__bag_find(s, EVT_U64(v));
			assert_int_equal(pos >= 0, count[v] > 0);
			if (pos < 0)
				break;
			assert_ptr_equal(evmap__bag_values(s)[pos], EVT_U64(v));
			evmap__bag_remove_at(s, (size_t)pos);
			count[v]--;
			len--;
			break;
		case 5: /* remove at any position */
			if (!len)
				break;
			pos = (long)((r >> 16) % len);
			count[(uintptr_t)evmap__bag_values(s)[pos]]--;
			evmap__bag_remove_at(s, (size_t)pos);
			len--;
			break;
		case 6:
			if (r % 16 == 0) {
				evmap__bag_fit(s);
			} else if (len) { /* as replay finds a value */
				const void *at = evmap__bag_values(s)[(r >> 16) % len];

				pos = evmap__bag_find_identity(s, at);
				assert_true(pos >= 0);
				assert_ptr_equal(evmap__bag_values(s)[pos], at);
			}
			break;
		default:
			if (r % 16 == 0)
				assert_int_equal(evmap__bag_reserve(s, (r >> 24) % 64),
						 0);
			break;
		}
		assert_int_equal(evmap__bag_len(s), len);
		assert_index_whole(s);
		if ((s->len & EVMAP__BAG_ARRAY) && s->u.array->index)
			indexed++;
		for (uint64_t w = 0; w < 20; w++)
			assert_int_equal(evmap__bag_find(s, EVT_U64(w)) >= 0,
					 count[w] > 0);
	}
	/* both forms ran */
	assert_true(indexed > 1000 && indexed < 19000);
	evmap__table_destroy(&t);
}

/* A hash that answers differently after the push (salted): replay's
 * identity lookup must still find every value, by the scan when the
 * index's chain for the new hash does not hold it. */
static uint64_t hash_salt;

static uint64_t salted_hash(const void *v, void *ctx)
{
	(void)ctx;
	return (uintptr_t)v * UINT64_C(0x9E3779B97F4A7C15) + hash_salt;
}

static const evmap_type salted = { .hash = salted_hash, .equal = same_number };

static void test_bag_find_identity_when_the_hash_changed(void **state)
{
	struct evmap__table t;
	evmap__bag *s;

	(void)state;
	init_types(&evmap_type_u64, &salted);
	hash_salt = 0;
	s = bag_slot(&t);
	for (uint64_t v = 1; v <= 100; v++)
		assert_int_equal(evmap__bag_push(s, EVT_U64(v)), 0);
	assert_non_null(s->u.array->index);
	for (uint64_t v = 1; v <= 100; v++)
		assert_ptr_equal(evmap__bag_values(s)[evmap__bag_find_identity(
					 s, EVT_U64(v))],
				 EVT_U64(v));
	hash_salt = 12345;
	for (uint64_t v = 100; v >= 1; v--) {
		long pos = evmap__bag_find_identity(s, EVT_U64(v));

		assert_true(pos >= 0);
		assert_ptr_equal(evmap__bag_values(s)[pos], EVT_U64(v));
		evmap__bag_remove_at(s, (size_t)pos);
	}
	assert_int_equal(evmap__bag_len(s), 0);
	hash_salt = 0;
	evmap__table_destroy(&t);
}

/* An index whose allocation failed is built at the bag's next growth. */
static bool fail_every_allocation;

static bool fail_if_told(size_t size, void *ctx)
{
	(void)size;
	(void)ctx;
	return fail_every_allocation;
}

static void test_bag_index_retried_after_failure(void **state)
{
	struct evmap__table t;
	evmap__bag *s;
	uint64_t v;

	(void)state;
	init_types(&evmap_type_u64, &evmap_type_u64);
	s = bag_slot(&t);
	assert_int_equal(evmap__bag_reserve(s, 40), 0);
	for (v = 0; v < 32; v++)
		assert_int_equal(evmap__bag_push(s, EVT_U64(v)), 0);
	evmap__alloc_set_failure_hook(fail_if_told, NULL);
	fail_every_allocation = true;
	assert_int_equal(evmap__bag_push(s, EVT_U64(v++)), 0); /* room */
	fail_every_allocation = false;
	assert_null(s->u.array->index); /* left unindexed, still correct */
	assert_bag_holds(s, 0, v);
	while (s->u.array->cap >= evmap__bag_len(s) + 1 && v < 1000)
		assert_int_equal(evmap__bag_push(s, EVT_U64(v++)), 0);
	assert_int_equal(evmap__bag_push(s, EVT_U64(v++)), 0); /* grows */
	evmap__alloc_set_failure_hook(NULL, NULL);
	assert_non_null(s->u.array->index);
	assert_index_whole(s);
	assert_bag_holds(s, 0, v);
	evmap__table_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_grows_and_finds),
		cmocka_unit_test(test_table_backward_shift_delete),
		cmocka_unit_test(test_table_collision_chain),
		cmocka_unit_test(test_table_resize_shrinks_and_grows),
		cmocka_unit_test(test_table_slots_for),
		cmocka_unit_test(test_table_iterates_every_slot),
		cmocka_unit_test(test_bag_forms_indexed),
		cmocka_unit_test(test_bag_forms_unhashed_stay_linear),
		cmocka_unit_test(test_bag_reserve_take_release),
		cmocka_unit_test(test_bag_index_duplicates_and_collisions),
		cmocka_unit_test(test_bag_find_identity_when_the_hash_changed),
		cmocka_unit_test(test_bag_index_retried_after_failure),
	};
	return cmocka_run_group_tests_name("internal_table", tests, NULL, NULL);
}

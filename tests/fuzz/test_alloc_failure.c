/* SPDX-License-Identifier: MIT */
/*
 * test_alloc_failure.c - every allocation on every path fails once.
 *
 * Each scenario (a fixed sequence of writer operations and refreshes) runs
 * again and again; run k makes the k-th allocation fail (library
 * allocations through evmap__alloc_set_failure_hook, and the value type's
 * clone), until a run completes without reaching k. The call that meets
 * the failure must return -ENOMEM (NULL for constructors) and have no
 * effect: what readers see and evmap_pending() equal the model's, and the
 * same call made again succeeds. Every run ends with the writer freed and
 * every value and meta freed exactly once (counters; run under ASan for
 * the library's own memory).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "evmap.h"

#define NKEYS 128
#define NVALUES 80
#define BIG_BAG 70 /* > 64: the bag gets its hash index */
#define ITEM_MAGIC UINT64_C(0x616c6c6f63746573)
#define ITEM_DEAD UINT64_C(0xdeadbeefdeadbeef)
#define MAX_RUNS 200000

/* ------------------------------------------------------------------ */
/* Failure injection and counted items                                */
/* ------------------------------------------------------------------ */

static struct {
	unsigned long fail_at; /* the allocation that fails, 1-based */
	unsigned long count;   /* allocations seen in this run */
	bool fired;
	bool paused;           /* checks: allocations neither count nor fail */
} inject;

static long items_live, metas_live;
static unsigned long item_frees;

static bool should_fail(void)
{
	if (inject.paused || inject.fired)
		return false;
	if (++inject.count != inject.fail_at)
		return false;
	inject.fired = true;
	return true;
}

static bool alloc_hook(size_t size, void *ctx)
{
	(void)size;
	(void)ctx;
	return should_fail();
}

struct item {
	uint64_t magic;
	uint64_t id;
};

static uint64_t item_id(const void *p)
{
	const struct item *it = p;

	assert_non_null(it);
	assert_true(it->magic == ITEM_MAGIC);
	return it->id;
}

static uint64_t item_hash(const void *p, void *ctx)
{
	(void)ctx;
	return item_id(p) * UINT64_C(0x9E3779B97F4A7C15);
}

static bool item_equal(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return item_id(a) == item_id(b);
}

static void *item_clone(const void *p, void *ctx)
{
	struct item *it;

	(void)ctx;
	if (should_fail())
		return NULL;
	it = malloc(sizeof(*it));
	assert_non_null(it);
	it->magic = ITEM_MAGIC;
	it->id = item_id(p);
	items_live++;
	return it;
}

static void item_free(void *p, void *ctx)
{
	struct item *it = p;

	(void)ctx;
	assert_true(it->magic == ITEM_MAGIC); /* not freed twice */
	it->magic = ITEM_DEAD;
	items_live--;
	item_frees++;
	free(it);
}

static const evmap_type value_type = {
	.hash = item_hash,
	.equal = item_equal,
	.clone = item_clone,
	.free = item_free,
};

static void *meta_new(void)
{
	uint64_t *m = malloc(sizeof(*m));

	assert_non_null(m);
	*m = ITEM_MAGIC;
	metas_live++;
	return m;
}

static void meta_free(void *p)
{
	uint64_t *m = p;

	if (!m)
		return;
	assert_true(*m == ITEM_MAGIC);
	*m = ITEM_DEAD;
	metas_live--;
	free(m);
}

/* ------------------------------------------------------------------ */
/* Model and harness                                                  */
/* ------------------------------------------------------------------ */

struct model {
	bool present[NKEYS];
	uint16_t count[NKEYS][NVALUES];
	void *meta;
};

struct harness {
	evmap_writer *w;
	evmap_reader *r;
	struct model published, current;
	uint64_t generation;
	size_t pending;
	bool evict_unresolved;
	size_t evict_target;
};

static const void *key(unsigned int k)
{
	return (const void *)(uintptr_t)k;
}

static size_t model_len(const struct model *m)
{
	size_t n = 0;

	for (int k = 0; k < NKEYS; k++)
		n += m->present[k];
	return n;
}

/* What the reader sees; allocations made meanwhile are not counted. */
static void read_published(struct harness *h, struct model *out)
{
	const evmap_view *v;
	evmap_iter it;
	const void *kp;
	const evmap_values *vs;
	bool paused = inject.paused;

	inject.paused = true;
	memset(out, 0, sizeof(*out));
	v = evmap_enter(h->r);
	if (h->generation == 0) {
		assert_null(v);
		evmap_leave(h->r);
		inject.paused = paused;
		return;
	}
	assert_non_null(v);
	assert_int_equal(evmap_view_generation(v), h->generation);
	evmap_view_iter(v, &it);
	while (evmap_iter_next(&it, &kp, &vs)) {
		uintptr_t k = (uintptr_t)kp;

		assert_true(k < NKEYS);
		assert_false(out->present[k]);
		out->present[k] = true;
		for (size_t i = 0; i < evmap_values_len(vs); i++) {
			uint64_t val = item_id(evmap_values_at(vs, i));

			assert_true(val < NVALUES);
			out->count[k][val]++;
		}
	}
	assert_int_equal(evmap_view_len(v), model_len(out));
	out->meta = evmap_view_meta(v);
	evmap_leave(h->r);
	inject.paused = paused;
}

static void assert_model_equal(const struct model *seen,
			       const struct model *m)
{
	for (int k = 0; k < NKEYS; k++) {
		if (seen->present[k] != m->present[k])
			fail_msg("key %d: reader %s, model %s", k,
				 seen->present[k] ? "present" : "absent",
				 m->present[k] ? "present" : "absent");
		if (memcmp(seen->count[k], m->count[k], sizeof(m->count[k])))
			fail_msg("key %d: bags differ", k);
	}
	assert_ptr_equal(seen->meta, m->meta);
}

static void check_state(struct harness *h)
{
	struct model *seen = malloc(sizeof(*seen));

	assert_non_null(seen);
	assert_int_equal(evmap_pending(h->w), h->pending);
	assert_int_equal(evmap_generation(h->w), h->generation);
	read_published(h, seen);
	if (h->generation)
		assert_model_equal(seen, &h->published);
	free(seen);
}

/* A refresh succeeded: publish the model (resolving an evict). */
static void published_now(struct harness *h)
{
	h->generation++;
	h->pending = 0;
	if (h->evict_unresolved) {
		struct model *seen = malloc(sizeof(*seen));
		size_t gone = 0;

		assert_non_null(seen);
		read_published(h, seen);
		for (int k = 0; k < NKEYS; k++) {
			if (seen->present[k] == h->current.present[k]) {
				assert_memory_equal(seen->count[k],
						    h->current.count[k],
						    sizeof(seen->count[k]));
				continue;
			}
			/* Only removals, of keys that were there. */
			assert_true(h->current.present[k]);
			gone++;
		}
		assert_int_equal(gone, h->evict_target);
		seen->meta = h->current.meta;
		h->current = *seen;
		h->evict_unresolved = false;
		free(seen);
	}
	h->published = h->current;
}

/* ------------------------------------------------------------------ */
/* Steps: one API call, retried once after an injected failure         */
/* ------------------------------------------------------------------ */

enum step_kind {
	S_INSERT,
	S_UPDATE,
	S_REMOVE_VALUE,
	S_CLEAR_KEY,
	S_REMOVE_KEY,
	S_PURGE,
	S_RETAIN,
	S_RESERVE,
	S_FIT,
	S_FIT_ALL,
	S_EVICT,
	S_SET_META,
	S_REFRESH,
	S_FLUSH,
	S_TRY_REFRESH,
};

struct retain_ctx {
	size_t calls;
};

/* Keep even values. */
static bool keep_even(const void *value, void *ctx)
{
	struct retain_ctx *rc = ctx;

	rc->calls++;
	return item_id(value) % 2 == 0;
}

static size_t bag_len(const struct model *m, unsigned int k)
{
	size_t n = 0;

	for (int i = 0; i < NVALUES; i++)
		n += m->count[k][i];
	return n;
}

static int call(struct harness *h, enum step_kind s, unsigned int k,
		unsigned int val, size_t n, void **meta, struct retain_ctx *rc)
{
	struct item it = { ITEM_MAGIC, val };

	switch (s) {
	case S_INSERT:
		return evmap_insert(h->w, key(k), &it);
	case S_UPDATE:
		return evmap_update(h->w, key(k), &it);
	case S_REMOVE_VALUE:
		return evmap_remove_value(h->w, key(k), &it);
	case S_CLEAR_KEY:
		return evmap_clear_key(h->w, key(k));
	case S_REMOVE_KEY:
		return evmap_remove_key(h->w, key(k));
	case S_PURGE:
		return evmap_purge(h->w);
	case S_RETAIN:
		rc->calls = 0;
		return evmap_retain(h->w, key(k), keep_even, rc);
	case S_RESERVE:
		return evmap_reserve(h->w, key(k), n);
	case S_FIT:
		return evmap_fit(h->w, key(k));
	case S_FIT_ALL:
		return evmap_fit_all(h->w);
	case S_EVICT:
		return evmap_evict(h->w, n, val);
	case S_SET_META:
		*meta = meta_new();
		return evmap_set_meta(h->w, *meta);
	case S_REFRESH:
		return evmap_refresh(h->w);
	case S_FLUSH:
		return evmap_flush(h->w);
	case S_TRY_REFRESH: {
		int r = evmap_try_refresh(h->w);
		/* Readers may hold the other copy: wait for them then. */
		return r == -EAGAIN ? evmap_refresh(h->w) : r;
	}
	}
	return -EINVAL;
}

static void model_step(struct harness *h, enum step_kind s, unsigned int k,
		       unsigned int val, size_t n, void *meta,
		       const struct retain_ctx *rc)
{
	struct model *m = &h->current;

	switch (s) {
	case S_INSERT:
		m->present[k] = true;
		m->count[k][val]++;
		break;
	case S_UPDATE:
		memset(m->count[k], 0, sizeof(m->count[k]));
		m->present[k] = true;
		m->count[k][val] = 1;
		break;
	case S_REMOVE_VALUE:
		if (m->present[k] && m->count[k][val])
			m->count[k][val]--;
		break;
	case S_CLEAR_KEY:
		memset(m->count[k], 0, sizeof(m->count[k]));
		m->present[k] = true;
		break;
	case S_RESERVE:
		m->present[k] = true;
		break;
	case S_REMOVE_KEY:
		memset(m->count[k], 0, sizeof(m->count[k]));
		m->present[k] = false;
		break;
	case S_PURGE:
		memset(m->present, 0, sizeof(m->present));
		memset(m->count, 0, sizeof(m->count));
		break;
	case S_RETAIN:
		assert_int_equal(rc->calls, m->present[k] ? bag_len(m, k) : 0);
		for (int i = 1; i < NVALUES; i += 2)
			m->count[k][i] = 0;
		break;
	case S_FIT:
	case S_FIT_ALL:
		break;
	case S_EVICT:
		assert_false(h->evict_unresolved);
		h->evict_unresolved = true;
		h->evict_target = n < model_len(m) ? n : model_len(m);
		break;
	case S_SET_META:
		m->meta = meta;
		h->pending = evmap_pending(h->w); /* counted or not: lib's call */
		return;
	case S_REFRESH:
	case S_FLUSH:
	case S_TRY_REFRESH:
		published_now(h);
		return;
	}
	h->pending++;
}

static void step(struct harness *h, enum step_kind s, unsigned int k,
		 unsigned int val, size_t n)
{
	struct retain_ctx rc = { 0 };
	void *meta = NULL;
	bool was_fired = inject.fired;
	bool flush_noop = s == S_FLUSH && evmap_pending(h->w) == 0;
	int r;

	r = call(h, s, k, val, n, &meta, &rc);
	if (r == -ENOMEM) {
		if (was_fired || !inject.fired)
			fail_msg("step %d: -ENOMEM without an injected failure", s);
		if (s == S_SET_META)
			meta_free(meta); /* no effect: still ours */
		/* No effect: readers and the log are as before. */
		check_state(h);
		r = call(h, s, k, val, n, &meta, &rc);
	}
	if (r != 0)
		fail_msg("step %d returned %d", s, r);
	if (flush_noop)
		return;
	model_step(h, s, k, val, n, meta, &rc);
}

static void refresh_checked(struct harness *h)
{
	step(h, S_REFRESH, 0, 0, 0);
	check_state(h);
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                          */
/* ------------------------------------------------------------------ */

static void harness_open(struct harness *h, size_t capacity)
{
	evmap_options *o;
	evmap_writer *w = (evmap_writer *)h;
	evmap_reader *r = (evmap_reader *)h;
	int rc;

	memset(h, 0, sizeof(*h));
	for (;;) {
		o = evmap_options_new();
		if (!o) {
			assert_true(inject.fired);
			continue;
		}
		if (capacity)
			assert_int_equal(evmap_options_set_capacity(o, capacity), 0);
		assert_int_equal(evmap_options_set_hash_seed(o, 42), 0);
		h->current.meta = meta_new();
		assert_int_equal(evmap_options_set_meta(o, h->current.meta,
							meta_free), 0);
		rc = evmap_new(&evmap_type_u64, &value_type, o, &w, &r);
		evmap_options_free(o);
		if (rc == 0)
			break;
		assert_int_equal(rc, -ENOMEM);
		assert_true(inject.fired);
		/* Unchanged out pointers; the meta is still ours. */
		assert_ptr_equal(w, (evmap_writer *)h);
		assert_ptr_equal(r, (evmap_reader *)h);
		meta_free(h->current.meta);
	}
	h->w = w;
	h->r = r;
	check_state(h);
}

static void harness_close(struct harness *h)
{
	evmap_writer_free(h->w);
	inject.paused = true;
	assert_true(evmap_is_destroyed(h->r));
	inject.paused = false;
	evmap_reader_free(h->r);
	assert_int_equal(items_live, 0);
	assert_int_equal(metas_live, 0);
}

static void fill(struct harness *h, unsigned int first, unsigned int keys,
		 unsigned int big)
{
	for (unsigned int k = first; k < first + keys; k++)
		step(h, S_INSERT, k, k % NVALUES, 0);
	for (unsigned int k = first; k < first + big; k++)
		for (unsigned int i = 0; i < BIG_BAG; i++)
			step(h, S_INSERT, k, (i * 7) % NVALUES, 0);
}

/* Many keys, large (hashed) bags, tables grown across refreshes. */
static void scenario_build_up(struct harness *h)
{
	harness_open(h, 0);
	fill(h, 0, 100, 3);
	refresh_checked(h);
	fill(h, 100, 20, 1);
	refresh_checked(h);
	refresh_checked(h); /* the other copy catches up */
	harness_close(h);
}

/* Every writer operation, each published and replayed on both copies. */
static void scenario_writer_ops(struct harness *h)
{
	harness_open(h, 16);
	fill(h, 0, 40, 2);
	refresh_checked(h);
	step(h, S_UPDATE, 1, 5, 0);
	step(h, S_UPDATE, 50, 6, 0);
	step(h, S_REMOVE_VALUE, 0, 0, 0);
	step(h, S_REMOVE_VALUE, 0, 7, 0);
	step(h, S_REMOVE_VALUE, 1, 9, 0);
	step(h, S_CLEAR_KEY, 2, 0, 0);
	step(h, S_CLEAR_KEY, 60, 0, 0);
	step(h, S_REMOVE_KEY, 3, 0, 0);
	step(h, S_REMOVE_KEY, 61, 0, 0);
	refresh_checked(h);
	step(h, S_RETAIN, 1, 0, 0);
	step(h, S_RETAIN, 4, 0, 0);
	step(h, S_RETAIN, 62, 0, 0);
	step(h, S_RESERVE, 5, 0, 100);
	step(h, S_RESERVE, 63, 0, 10);
	step(h, S_FIT, 1, 0, 0);
	step(h, S_FIT, 5, 0, 0);
	step(h, S_SET_META, 0, 0, 0);
	refresh_checked(h);
	step(h, S_FIT_ALL, 0, 0, 0);
	step(h, S_SET_META, 0, 0, 0);
	step(h, S_SET_META, 0, 0, 0);
	refresh_checked(h);
	step(h, S_EVICT, 0, 3, 5);
	refresh_checked(h);
	step(h, S_FLUSH, 0, 0, 0);
	step(h, S_INSERT, 7, 7, 0);
	step(h, S_FLUSH, 0, 0, 0);
	check_state(h);
	step(h, S_INSERT, 8, 8, 0);
	step(h, S_TRY_REFRESH, 0, 0, 0);
	check_state(h);
	step(h, S_PURGE, 0, 0, 0);
	step(h, S_INSERT, 9, 9, 0);
	refresh_checked(h);
	refresh_checked(h);
	harness_close(h);
}

/* Refresh that must grow the table and bags of the unpublished copy. */
static void scenario_refresh_grow(struct harness *h)
{
	bool paused = inject.paused;

	inject.paused = true; /* set-up: no failures */
	harness_open(h, 0);
	fill(h, 0, 4, 0);
	refresh_checked(h);
	refresh_checked(h);
	inject.paused = paused;
	fill(h, 4, 120, 2);
	refresh_checked(h);
	refresh_checked(h);
	step(h, S_PURGE, 0, 0, 0);
	step(h, S_FIT_ALL, 0, 0, 0);
	refresh_checked(h);
	refresh_checked(h);
	harness_close(h);
}

/* Reader handles: a failed clone returns NULL and changes nothing. */
static void scenario_readers(struct harness *h)
{
	evmap_reader *a, *b;

	harness_open(h, 0);
	fill(h, 0, 3, 0);
	refresh_checked(h);
	while (!(a = evmap_reader_clone(h->r)))
		assert_true(inject.fired);
	while (!(b = evmap_writer_reader(h->w)))
		assert_true(inject.fired);
	inject.paused = true;
	assert_int_equal(evmap_len(a), 3);
	assert_int_equal(evmap_len(b), 3);
	inject.paused = false;
	evmap_reader_free(a);
	harness_close(h);
	inject.paused = true;
	assert_true(evmap_is_destroyed(b));
	inject.paused = false;
	evmap_reader_free(b);
}

/* Destruction with pending ops, unpublished metas and garbage to free:
 * whatever fails inside, everything is freed once. */
static void scenario_destroy(struct harness *h)
{
	bool paused = inject.paused;

	inject.paused = true;
	harness_open(h, 0);
	fill(h, 0, 30, 2);
	refresh_checked(h);
	step(h, S_SET_META, 0, 0, 0);
	step(h, S_REMOVE_KEY, 1, 0, 0);
	step(h, S_RETAIN, 0, 0, 0);
	refresh_checked(h);
	step(h, S_UPDATE, 2, 3, 0);
	step(h, S_SET_META, 0, 0, 0);
	step(h, S_INSERT, 90, 1, 0);
	inject.paused = paused;
	harness_close(h);
}

/* ------------------------------------------------------------------ */
/* Driver                                                             */
/* ------------------------------------------------------------------ */

/* Run @scenario failing allocation 1, 2, ... until a run completes without
 * reaching the failure; return how many allocations that run made. */
static unsigned long run_every_failure(void (*scenario)(struct harness *),
				       const char *name)
{
	struct harness *h = malloc(sizeof(*h));
	unsigned long k;

	assert_non_null(h);
	evmap__alloc_set_failure_hook(alloc_hook, NULL);
	for (k = 1; k < MAX_RUNS; k++) {
		memset(&inject, 0, sizeof(inject));
		inject.fail_at = k;
		items_live = metas_live = 0;
		scenario(h);
		if (!inject.fired)
			break;
	}
	evmap__alloc_set_failure_hook(NULL, NULL);
	assert_true(k < MAX_RUNS);
	print_message("# %s: %lu allocations, each failed once\n", name, k - 1);
	free(h);
	return k - 1;
}

static void test_build_up_survives_every_failure(void **state)
{
	(void)state;
	assert_true(run_every_failure(scenario_build_up, "build-up") > 0);
}

static void test_writer_ops_survive_every_failure(void **state)
{
	(void)state;
	assert_true(run_every_failure(scenario_writer_ops, "writer ops") > 0);
}

static void test_refresh_with_growth_survives_every_failure(void **state)
{
	(void)state;
	assert_true(run_every_failure(scenario_refresh_grow, "refresh with growth") > 0);
}

static void test_reader_handles_survive_every_failure(void **state)
{
	(void)state;
	assert_true(run_every_failure(scenario_readers, "reader handles") > 0);
}

static void test_destroy_survives_every_failure(void **state)
{
	(void)state;
	/* Destruction may well allocate nothing (0 runs with a failure). */
	run_every_failure(scenario_destroy, "destroy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_up_survives_every_failure),
		cmocka_unit_test(test_writer_ops_survive_every_failure),
		cmocka_unit_test(test_refresh_with_growth_survives_every_failure),
		cmocka_unit_test(test_reader_handles_survive_every_failure),
		cmocka_unit_test(test_destroy_survives_every_failure),
	};

	return cmocka_run_group_tests_name("alloc_failure", tests, NULL, NULL);
}

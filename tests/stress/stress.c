/* SPDX-License-Identifier: MIT */
/*
 * stress.c - soak test: one writer, N readers, random operations.
 *
 * Usage: stress [--seconds S] [--readers N] [--seed X]
 *
 * The writer applies random operations (insert, update, remove_value,
 * clear_key, remove_key, retain, reserve, fit, fit_all, purge) to data
 * keys 1..NKEYS-1 and before every refresh writes the snapshot invariant:
 * key 0 ("checksum") holds exactly one value whose fields are the sum and
 * the count of all values of all other keys, and the meta records the
 * generation the refresh will publish. Every value records the key it
 * belongs to. Readers check, inside one read section each time:
 *   - the view's generation never goes backwards (per reader);
 *   - the meta is alive and carries the view's generation;
 *   - every value is alive and belongs to the key whose bag holds it;
 *   - the checksum key holds one value equal to the sum and count of the
 *     other bags, evmap_view_len() equals the keys iterated, and
 *     evmap_view_get() finds every iterated key's bag.
 * Values and metas are heap objects poisoned on free, so a reader that
 * sees freed memory fails the check (and ASan/TSan report it). At the end
 * the writer is freed while the readers still run (they must then see a
 * destroyed map), and every value and meta must have been freed once.
 * Prints "ops: N, refreshes: N, invariant checks passed: N, violations: N"
 * and exits 1 on any violation.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evmap.h"

#define NKEYS 64
#define CHECK_KEY 0
#define ALIVE UINT64_C(0x7374726573734f4b)
#define DEAD UINT64_C(0xdeadbeefdeadbeef)
#define MAX_BAG 96

struct value {
	_Atomic uint64_t magic; /* written on free, read by checking readers */
	uint64_t n;             /* data: random; checksum: sum */
	uint64_t aux;           /* data: owning key; checksum: count */
};

struct meta {
	_Atomic uint64_t magic;
	uint64_t generation;
};

static atomic_long values_live, metas_live;
static atomic_ulong violations, checks_passed;
static atomic_bool readers_stop;

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void violation(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&violations, 1) >= 10)
		return;
	fputs("stress: violation: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ------------------------------------------------------------------ */
/* Value type                                                         */
/* ------------------------------------------------------------------ */

static uint64_t value_hash(const void *p, void *ctx)
{
	const struct value *v = p;

	(void)ctx;
	return (v->n ^ (v->aux << 48)) * UINT64_C(0x9E3779B97F4A7C15);
}

static bool value_equal(const void *a, const void *b, void *ctx)
{
	const struct value *x = a, *y = b;

	(void)ctx;
	return x->n == y->n && x->aux == y->aux;
}

static void *value_clone(const void *p, void *ctx)
{
	const struct value *src = p;
	struct value *v = malloc(sizeof(*v));

	(void)ctx;
	if (!v)
		return NULL;
	atomic_init(&v->magic, ALIVE);
	v->n = src->n;
	v->aux = src->aux;
	atomic_fetch_add(&values_live, 1);
	return v;
}

static void value_free(void *p, void *ctx)
{
	struct value *v = p;

	(void)ctx;
	if (atomic_exchange(&v->magic, DEAD) != ALIVE)
		violation("value freed twice");
	atomic_fetch_sub(&values_live, 1);
	free(v);
}

static const evmap_type value_type = {
	.hash = value_hash,
	.equal = value_equal,
	.clone = value_clone,
	.free = value_free,
};

static void meta_free(void *p)
{
	struct meta *m = p;

	if (!m)
		return;
	if (atomic_exchange(&m->magic, DEAD) != ALIVE)
		violation("meta freed twice");
	atomic_fetch_sub(&metas_live, 1);
	free(m);
}

/* ------------------------------------------------------------------ */
/* Readers                                                            */
/* ------------------------------------------------------------------ */

static const void *key(uint64_t k)
{
	return (const void *)(uintptr_t)k;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* One snapshot check inside the section that returned @v. */
static bool check_view(const evmap_view *v, uint64_t *last_gen)
{
	uint64_t gen = evmap_view_generation(v), sum = 0, count = 0;
	const struct meta *m = evmap_view_meta(v);
	const evmap_values *cs = NULL, *vs;
	const void *kp;
	evmap_iter it;
	size_t keys = 0;
	bool ok = true;

	if (gen < *last_gen) {
		violation("generation went back from %" PRIu64 " to %" PRIu64,
			  *last_gen, gen);
		ok = false;
	}
	*last_gen = gen;
	if (!m || atomic_load(&m->magic) != ALIVE || m->generation != gen) {
		violation("meta %p does not belong to generation %" PRIu64,
			  (const void *)m, gen);
		ok = false;
	}
	evmap_view_iter(v, &it);
	while (evmap_iter_next(&it, &kp, &vs)) {
		uint64_t k = (uintptr_t)kp;
		size_t len = evmap_values_len(vs);

		keys++;
		if (evmap_view_get(v, kp) != vs) {
			violation("key %" PRIu64 ": get and iter disagree", k);
			ok = false;
		}
		if (k == CHECK_KEY) {
			cs = vs;
			continue;
		}
		if (k >= NKEYS || len > MAX_BAG) {
			violation("key %" PRIu64 " with %zu values", k, len);
			ok = false;
			continue;
		}
		for (size_t i = 0; i < len; i++) {
			const struct value *val = evmap_values_at(vs, i);

			if (!val || atomic_load(&val->magic) != ALIVE ||
			    val->aux != k) {
				violation("key %" PRIu64 ": value %zu is not alive or not its own",
					  k, i);
				ok = false;
				continue;
			}
			sum += val->n;
			count++;
		}
	}
	if (keys != evmap_view_len(v)) {
		violation("view_len %zu, iterated %zu", evmap_view_len(v), keys);
		ok = false;
	}
	if (!cs || evmap_values_len(cs) != 1) {
		violation("generation %" PRIu64 ": checksum key has %zu values",
			  gen, cs ? evmap_values_len(cs) : 0);
		return false;
	} else {
		const struct value *c = evmap_values_first(cs);

		if (atomic_load(&c->magic) != ALIVE || c->n != sum ||
		    c->aux != count) {
			violation("generation %" PRIu64 ": checksum %" PRIu64 "/%" PRIu64
				  ", bags hold %" PRIu64 "/%" PRIu64,
				  gen, c->n, c->aux, sum, count);
			ok = false;
		}
	}
	return ok;
}

struct reader_arg {
	evmap_reader *origin; /* cloned on the reader's own thread */
	uint64_t seed;
};

static void *reader_main(void *p)
{
	struct reader_arg *ra = p;
	evmap_reader *r = evmap_reader_clone(ra->origin);
	uint64_t last_gen = 0, rnd = ra->seed | 1;
	bool seen = false;

	if (!r) {
		violation("reader_clone failed");
		return NULL;
	}
	while (!atomic_load_explicit(&readers_stop, memory_order_relaxed)) {
		const evmap_view *v = evmap_enter(r);
		uint64_t pick = xorshift(&rnd);

		if (!v) {
			evmap_leave(r);
			if (seen && !evmap_is_destroyed(r))
				violation("no view, yet not destroyed");
			if (evmap_is_destroyed(r))
				break;
			continue;
		}
		seen = true;
		if (pick % 8 == 0) {
			/* A nested section sees the same view. */
			if (evmap_enter(r) != v)
				violation("nested enter returned another view");
			evmap_leave(r);
		}
		if (check_view(v, &last_gen))
			atomic_fetch_add_explicit(&checks_passed, 1,
						  memory_order_relaxed);
		evmap_leave(r);
		if (pick % 64 == 1) {
			/* Shortcuts, each its own section. */
			if (!evmap_contains_key(r, key(CHECK_KEY)) &&
			    !evmap_is_destroyed(r))
				violation("checksum key missing (shortcut)");
			(void)evmap_len(r);
		}
		if (pick % 1024 == 2) {
			/* A fresh handle on this thread. */
			evmap_reader *copy = evmap_reader_clone(r);

			if (copy) {
				evmap_reader_free(r);
				r = copy;
			}
		}
	}
	evmap_reader_free(r);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Writer                                                             */
/* ------------------------------------------------------------------ */

struct bag {
	bool present;
	size_t len;
	uint64_t n[MAX_BAG];
};

struct writer_state {
	evmap_writer *w;
	struct bag bags[NKEYS];
	uint64_t rnd;
	unsigned long ops, refreshes;
};

static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "stress: %s failed: %s\n", what, evmap_strerror(rc));
		exit(2);
	}
}

static void bag_remove_at(struct bag *b, size_t i)
{
	b->n[i] = b->n[--b->len];
}

struct retain_ctx {
	struct writer_state *ws;
	struct bag *b;
	size_t removed;
};

static bool keep_some(const void *p, void *ctx)
{
	struct retain_ctx *rc = ctx;
	const struct value *v = p;

	if (xorshift(&rc->ws->rnd) % 3)
		return true;
	for (size_t i = 0; i < rc->b->len; i++) {
		if (rc->b->n[i] == v->n) {
			bag_remove_at(rc->b, i);
			rc->removed++;
			return false;
		}
	}
	violation("retain showed a value the bag does not hold");
	return true;
}

enum op {
	OP_INSERT,
	OP_UPDATE,
	OP_REMOVE_VALUE,
	OP_CLEAR_KEY,
	OP_REMOVE_KEY,
	OP_RETAIN,
	OP_RESERVE,
	OP_FIT,
	OP_FIT_ALL,
	OP_PURGE,
	OP_INSERT_BIG,
};

/* Weights out of 32. */
static enum op op_of(unsigned int sel)
{
	static const unsigned char weight[] = {
		[OP_INSERT] = 12, [OP_UPDATE] = 3,   [OP_REMOVE_VALUE] = 5,
		[OP_CLEAR_KEY] = 2, [OP_REMOVE_KEY] = 2, [OP_RETAIN] = 2,
		[OP_RESERVE] = 1, [OP_FIT] = 2,     [OP_FIT_ALL] = 1,
		[OP_PURGE] = 1,   [OP_INSERT_BIG] = 1,
	};
	enum op op = OP_INSERT;

	while (op < OP_INSERT_BIG && sel >= weight[op])
		sel -= weight[op++];
	return op;
}

static void random_op(struct writer_state *ws)
{
	uint64_t r = xorshift(&ws->rnd);
	uint64_t k = 1 + r % (NKEYS - 1);
	struct bag *b = &ws->bags[k];
	struct value v = { ALIVE, xorshift(&ws->rnd) % 1000000, k };

	switch (op_of((r >> 8) % 32)) {
	case OP_INSERT:
		if (b->len == MAX_BAG)
			return;
		must(evmap_insert(ws->w, key(k), &v), "insert");
		b->present = true;
		b->n[b->len++] = v.n;
		break;
	case OP_UPDATE:
		must(evmap_update(ws->w, key(k), &v), "update");
		b->present = true;
		b->len = 1;
		b->n[0] = v.n;
		break;
	case OP_REMOVE_VALUE: /* mostly one it holds */
		if (b->len && (r >> 16) % 4) {
			size_t i = (r >> 20) % b->len;

			v.n = b->n[i];
			bag_remove_at(b, i);
		} else {
			v.n = 2000000; /* never inserted: no effect */
		}
		must(evmap_remove_value(ws->w, key(k), &v), "remove_value");
		break;
	case OP_CLEAR_KEY:
		must(evmap_clear_key(ws->w, key(k)), "clear_key");
		b->present = true;
		b->len = 0;
		break;
	case OP_REMOVE_KEY:
		must(evmap_remove_key(ws->w, key(k)), "remove_key");
		b->present = false;
		b->len = 0;
		break;
	case OP_RETAIN: {
		struct retain_ctx rc = { ws, b, 0 };

		must(evmap_retain(ws->w, key(k), keep_some, &rc), "retain");
		break;
	}
	case OP_RESERVE:
		must(evmap_reserve(ws->w, key(k), (r >> 16) % 40), "reserve");
		b->present = true;
		break;
	case OP_FIT:
		must(evmap_fit(ws->w, key(k)), "fit");
		break;
	case OP_FIT_ALL:
		must(evmap_fit_all(ws->w), "fit_all");
		break;
	case OP_PURGE:
		if ((r >> 16) % 8)
			return;
		must(evmap_purge(ws->w), "purge");
		memset(ws->bags, 0, sizeof(ws->bags));
		break;
	case OP_INSERT_BIG: /* grow one large (hashed) bag */
		b = &ws->bags[1];
		if (b->len == MAX_BAG)
			return;
		v.aux = 1;
		must(evmap_insert(ws->w, key(1), &v), "insert");
		b->present = true;
		b->n[b->len++] = v.n;
		break;
	}
	ws->ops++;
}

/* Write the checksum and the meta of the next generation. */
static void write_invariant(struct writer_state *ws)
{
	struct value c = { ALIVE, 0, 0 };
	struct meta *m = malloc(sizeof(*m));

	for (int k = 1; k < NKEYS; k++) {
		for (size_t i = 0; i < ws->bags[k].len; i++)
			c.n += ws->bags[k].n[i];
		c.aux += ws->bags[k].len;
	}
	must(evmap_update(ws->w, key(CHECK_KEY), &c), "update(checksum)");
	if (!m) {
		fprintf(stderr, "stress: out of memory\n");
		exit(2);
	}
	atomic_init(&m->magic, ALIVE);
	m->generation = evmap_generation(ws->w) + 1;
	atomic_fetch_add(&metas_live, 1);
	must(evmap_set_meta(ws->w, m), "set_meta");
}

static void publish(struct writer_state *ws)
{
	uint64_t mode = xorshift(&ws->rnd) % 4;
	int rc;

	write_invariant(ws);
	if (mode == 0) {
		rc = evmap_try_refresh(ws->w);
		if (rc == -EAGAIN)
			return; /* published later, with more ops */
		must(rc, "try_refresh");
	} else if (mode == 1) {
		must(evmap_flush(ws->w), "flush");
	} else {
		must(evmap_refresh(ws->w), "refresh");
	}
	ws->refreshes++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--seconds S] [--readers N] [--seed X]\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 5, deadline;
	int nreaders = 2;
	uint64_t seed = (uint64_t)time(NULL);
	struct writer_state *ws = calloc(1, sizeof(*ws));
	evmap_reader *r;
	evmap_options *o;
	struct meta *m;
	pthread_t *threads;
	struct reader_arg *args;
	unsigned long batches = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--readers") && i + 1 < argc)
			nreaders = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else
			usage(argv[0]);
	}
	if (!ws || nreaders < 1 || nreaders > 1024 || seconds < 0)
		usage(argv[0]);
	printf("stress: %d readers, %.1f s, seed %" PRIu64 "\n", nreaders,
	       seconds, seed);
	fflush(stdout);
	ws->rnd = seed * 2 + 1;

	/* The first meta (generation 1) comes with the options, and with it
	 * the function that frees every meta. */
	o = evmap_options_new();
	m = malloc(sizeof(*m));
	if (!o || !m)
		return 2;
	atomic_init(&m->magic, ALIVE);
	m->generation = 1;
	atomic_fetch_add(&metas_live, 1);
	must(evmap_options_set_meta(o, m, meta_free), "options_set_meta");
	must(evmap_new(&evmap_type_u64, &value_type, o, &ws->w, &r),
	     "evmap_new");
	evmap_options_free(o);
	/* The first refresh publishes the checksum of the empty map. */
	write_invariant(ws); /* replaces the unpublished first meta */
	must(evmap_refresh(ws->w), "refresh");
	ws->refreshes++;
	threads = calloc((size_t)nreaders, sizeof(*threads));
	args = calloc((size_t)nreaders, sizeof(*args));
	if (!threads || !args)
		return 2;
	for (int i = 0; i < nreaders; i++) {
		args[i].origin = r;
		args[i].seed = seed + (uint64_t)i * 7919;
		if (pthread_create(&threads[i], NULL, reader_main, &args[i]))
			return 2;
	}
	deadline = now() + seconds;
	do {
		unsigned long batch = 1 + xorshift(&ws->rnd) % 64;

		for (unsigned long i = 0; i < batch; i++)
			random_op(ws);
		publish(ws);
		batches++;
	} while ((batches % 16) || now() < deadline);

	/* Destroy while the readers run: they must see a destroyed map. */
	evmap_writer_free(ws->w);
	for (int i = 0; i < nreaders; i++)
		pthread_join(threads[i], NULL);
	atomic_store(&readers_stop, true);
	if (!evmap_is_destroyed(r))
		violation("not destroyed after evmap_writer_free");
	evmap_reader_free(r);
	if (atomic_load(&values_live) != 0)
		violation("%ld values not freed (or freed twice)",
			  atomic_load(&values_live));
	if (atomic_load(&metas_live) != 0)
		violation("%ld metas not freed", atomic_load(&metas_live));

	printf("ops: %lu, refreshes: %lu, invariant checks passed: %lu, violations: %lu\n",
	       ws->ops, ws->refreshes, atomic_load(&checks_passed),
	       atomic_load(&violations));
	free(threads);
	free(args);
	free(ws);
	return atomic_load(&violations) ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ops.c - differential fuzzer: libevmap against a reference multimap.
 *
 * LLVMFuzzerTestOneInput() decodes its input into a sequence of every
 * writer operation over 8 keys and 8 values, applies them to a map and to
 * a simple model (a bag is a multiset: one counter per value), and checks
 * after every operation that a reader still sees the last published model
 * state (pending writes stay invisible) and after every refresh that it
 * sees the new one: every key, every bag as a multiset, the lengths, the
 * meta, the generation. One operation arms the allocation-failure hook for
 * the next operation: a call that fails with -ENOMEM must change nothing.
 *
 * Values (and, in one mode, keys) are heap items with clone and free that
 * count themselves, so a leaked, doubly freed or early freed item shows up
 * (counter, ASan). Input layout: one configuration byte, then operations,
 * each an opcode byte followed by its argument bytes (missing bytes read
 * as 0). Any failed check prints the operation and aborts.
 *
 * Configuration byte: bit 0 heap keys (else evmap_type_u64), bit 1 reserve
 * capacity (bits 4-7 times 7 keys), bit 2 an initial meta, bit 3 refresh
 * at once; without bit 1, bit 4 selects chaos mode: the item type's hash
 * and equal lie at random, the model is not compared, but every item must
 * stay alive while visible and be freed once, and after every refresh the
 * other copy is published too and must hold exactly the same items.
 *
 * With EVMAP_FUZZ_READER=1 in the environment, one more thread reads every
 * map the input builds, from creation to after destruction, through its
 * own handle: in each section every key and value it iterates must be
 * alive, the length must match the iteration, the meta must be alive and
 * the generation must never go back (a use after free is also ASan's to
 * report). evmap_try_refresh may then return -EAGAIN at any time.
 *
 * Built by meson with replay.c (test 'fuzz-corpus') and by build-fuzzer.sh
 * with libFuzzer.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "evmap.h"

#define NKEYS 8
#define NVALUES 8
#define ITEM_MAGIC UINT64_C(0x65766974656d3031)
#define ITEM_DEAD UINT64_C(0xdeadbeefdeadbeef)
#define META_MAGIC UINT64_C(0x6d6574616d657461)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The checks compare the whole map with the model after every operation
 * that publishes, and one key with the key count otherwise
 * (check_after_op): much of an execution's time. Their own branches tell
 * libFuzzer nothing about the library, so they are left out of coverage
 * instrumentation (the library's code they call is still covered), which
 * makes one execution several times cheaper.
 */
#if defined(__clang__) && __clang_major__ >= 13
#define CHECKER __attribute__((no_sanitize("coverage")))
#else
#define CHECKER
#endif

/* ------------------------------------------------------------------ */
/* Counted heap items and metas                                       */
/* ------------------------------------------------------------------ */

struct item {
	uint64_t magic;
	uint64_t id;
	/* Chaos mode's comparison of the two copies (check_copies_agree):
	 * the comparison that last saw this item in the first copy and in
	 * the second, and the key a value was under in the first. */
	uint64_t seen_first, seen_second;
	uintptr_t first_key;
};

struct meta {
	uint64_t magic;
	uint64_t id;
};

static long items_live;   /* clones minus frees */
static long metas_live;   /* metas allocated minus freed */
static int fail_countdown; /* >0: the countdown-th allocation fails */
static bool fail_fired;
static size_t cur_op;      /* for messages */
/* Chaos mode: hash and equal sometimes lie, as an inconsistent user type
 * may; the map must still never corrupt itself, lose or double free an
 * item, and both copies must hold the very same items. */
static bool chaos;
static uint64_t chaos_rng;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die_check(const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_ops: op %zu: ", cur_op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void die_check(const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_ops: op %zu: check failed: %s: ", cur_op, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* CHECK(cond) or CHECK(cond, "format", args...) */
#define CHECK(cond, ...)                                    \
	do {                                                \
		if (!(cond))                                \
			die_check(#cond, " " __VA_ARGS__);  \
	} while (0)

/* One allocation, library or item clone: whether it must fail. */
static bool inject_failure(void)
{
	if (fail_countdown <= 0)
		return false;
	if (--fail_countdown > 0)
		return false;
	fail_fired = true;
	return true;
}

static bool alloc_hook(size_t size, void *ctx)
{
	(void)size;
	(void)ctx;
	return inject_failure();
}

static uint64_t item_id(const void *p)
{
	const struct item *it = p;

	CHECK(it != NULL, "NULL item");
	CHECK(it->magic == ITEM_MAGIC, "item is not alive");
	return it->id;
}

static uint64_t chaos_next(void)
{
	chaos_rng ^= chaos_rng << 13;
	chaos_rng ^= chaos_rng >> 7;
	chaos_rng ^= chaos_rng << 17;
	return chaos_rng;
}

static uint64_t item_hash(const void *p, void *ctx)
{
	uint64_t h = item_id(p) * UINT64_C(0x9E3779B97F4A7C15) + 1;

	(void)ctx;
	if (chaos && chaos_next() % 4 == 0)
		return chaos_next();
	return h;
}

static bool item_equal(const void *a, const void *b, void *ctx)
{
	bool eq = item_id(a) == item_id(b);

	(void)ctx;
	if (chaos && chaos_next() % 4 == 0)
		return !eq;
	return eq;
}

#ifdef EVMAP_FUZZ_ITEM_POOL
/*
 * The libFuzzer build's item allocator (build-fuzzer.sh defines
 * EVMAP_FUZZ_ITEM_POOL). Item clones are most of an execution's
 * allocations, and ASan's malloc and free were the largest cost of an
 * execution. The pool keeps what ASan would catch:
 * - a freed item is poisoned at once, so any access to it is reported
 *   (use-after-poison), and its slot is reused only once the execution
 *   after the one that freed it has ended (pool_execution_end): an early
 *   free within an execution is always seen, and so is a stale pointer
 *   the library kept into the next execution;
 * - each item is followed by a poisoned redzone, so an overflow is seen;
 * - a double free reads a poisoned magic;
 * - a leak is seen by items_live, as in every build.
 * Only the writer's thread clones and frees items (like items_live). The
 * pool's own branches say nothing about the library: they are kept out of
 * coverage (CHECKER, and noinline so that they stay out of item_clone).
 */
#include <sanitizer/asan_interface.h>
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_HAVE_ASAN 1
#endif
#endif
#ifndef FUZZ_HAVE_ASAN
#error "EVMAP_FUZZ_ITEM_POOL relies on ASan's poisoning"
#endif

#define POOL_SLOT 64		/* an item, then its redzone */
#define POOL_SLAB_SLOTS 1024
#define POOL_MAX_SLABS 4096

/*
 * Slots freed and still poisoned: held[0, held_before) by the execution
 * before this one, held[held_before, nheld) by this one. Reused slots are
 * taken from the top of reusable, so an execution reuses the slots of the
 * one two before it, still in the cache. The pool used to reuse a slot
 * after 16 384 later frees, in FIFO order: every reused slot and its
 * shadow were a cache miss, and pool_shadow_set and item_clone 9% of a
 * fuzzing profile. With this, 20 000 fixed-seed executions over a grown
 * corpus (12 alternating runs of each build, pinned) took 0.91x the CPU
 * time at the minimum and 0.79x at the median.
 */
static struct {
	unsigned char *slabs[POOL_MAX_SLABS]; /* kept reachable: no leak report */
	size_t nslabs, carved;	/* slots handed out of the last slab */
	void **held;
	size_t nheld, held_before, held_cap;
	void **reusable;	/* slots out of quarantine */
	size_t nreusable, reusable_cap;
} pool;

/* Room for one more pointer in *@array (of *@cap); aborts without memory. */
CHECKER static void pool_room(void ***array, size_t n, size_t *cap)
{
	void **grown;

	if (n < *cap)
		return;
	*cap = *cap ? 2 * *cap : 1024;
	grown = realloc(*array, *cap * sizeof(*grown));
	if (!grown)
		abort();
	*array = grown;
}

_Static_assert(sizeof(struct item) <= POOL_SLOT && sizeof(struct item) % 8 == 0,
	       "ASan poisons in 8-byte granules");

/*
 * Poison or unpoison one item's slot by writing its shadow bytes directly
 * (the shadow mapping comes from ASan's own __asan_get_shadow_mapping):
 * ASan's __asan_{,un}poison_memory_region were 4.6% of a fuzzing
 * process's profile, for what is five byte stores here (150 000 fixed-
 * seed executions over a grown corpus, the two builds run side by side
 * on the two CPUs and swapped: 0.93x and 0.98x the time, by CPU
 * position). The slot is 8-byte aligned (malloc's slab plus a multiple of
 * POOL_SLOT) and the item a whole number of granules, so each shadow byte
 * is 0 (addressable) or ASan's user-poison value (reported as
 * use-after-poison, as by ASAN_POISON_MEMORY_REGION). Not instrumented:
 * shadow memory has no shadow of its own.
 */
#define POOL_USER_POISON 0xf7 /* ASan's kAsanUserPoisonedMemoryMagic */

__attribute__((no_sanitize("address"))) CHECKER static void
pool_shadow_set(const void *slot, unsigned char value)
{
	static size_t scale, offset;
	static bool verified;
	unsigned char *shadow;

	if (!scale)
		__asan_get_shadow_mapping(&scale, &offset);
	shadow = (unsigned char *)(((uintptr_t)slot >> scale) + offset);
	for (size_t i = 0; i < sizeof(struct item) >> scale; i++)
		shadow[i] = value;
	if (!verified) { /* once: ASan reads these bytes as meant */
		const unsigned char *last =
		    (const unsigned char *)slot + sizeof(struct item) - 1;

		if (__asan_address_is_poisoned(slot) != (value != 0) ||
		    __asan_address_is_poisoned(last) != (value != 0)) {
			fprintf(stderr, "fuzz_ops: the pool's shadow writes "
					"do not poison as ASan does\n");
			abort();
		}
		verified = true;
	}
}

CHECKER __attribute__((noinline)) static void *pool_alloc(void)
{
	void *slot;

	if (pool.nreusable > 0) {
		slot = pool.reusable[--pool.nreusable];
	} else {
		if (pool.nslabs == 0 || pool.carved == POOL_SLAB_SLOTS) {
			unsigned char *slab;

			if (pool.nslabs == POOL_MAX_SLABS)
				return NULL;
			slab = malloc(POOL_SLOT * POOL_SLAB_SLOTS);
			if (!slab)
				return NULL;
			ASAN_POISON_MEMORY_REGION(slab, POOL_SLOT * POOL_SLAB_SLOTS);
			pool.slabs[pool.nslabs++] = slab;
			pool.carved = 0;
		}
		slot = pool.slabs[pool.nslabs - 1] + POOL_SLOT * pool.carved++;
	}
	pool_shadow_set(slot, 0);
	return slot;
}

CHECKER __attribute__((noinline)) static void pool_free(void *slot)
{
	pool_shadow_set(slot, POOL_USER_POISON);
	pool_room(&pool.held, pool.nheld, &pool.held_cap);
	pool.held[pool.nheld++] = slot;
}

/* After each execution: the slots the one before it freed become
 * reusable (still poisoned until handed out again); this one's wait one
 * more execution. */
CHECKER __attribute__((noinline)) static void pool_execution_end(void)
{
	size_t mine = pool.nheld - pool.held_before;

	for (size_t i = 0; i < pool.held_before; i++) {
		pool_room(&pool.reusable, pool.nreusable, &pool.reusable_cap);
		pool.reusable[pool.nreusable++] = pool.held[i];
	}
	if (mine > 0 && pool.held_before > 0)
		memmove(pool.held, pool.held + pool.held_before,
			mine * sizeof(*pool.held));
	pool.nheld = mine;
	pool.held_before = mine;
}
#define item_storage_alloc() pool_alloc()
#define item_storage_free(p) pool_free(p)
#define item_storage_execution_end() pool_execution_end()
#else
#define item_storage_alloc() malloc(sizeof(struct item))
#define item_storage_free(p) free(p)
#define item_storage_execution_end() ((void)0)
#endif

static void *item_clone(const void *p, void *ctx)
{
	struct item *it;

	(void)ctx;
	if (inject_failure())
		return NULL;
	it = item_storage_alloc();
	if (!it)
		return NULL;
	it->magic = ITEM_MAGIC;
	it->id = item_id(p);
	it->seen_first = 0;
	it->seen_second = 0;
	it->first_key = 0;
	items_live++;
	return it;
}

static void item_free(void *p, void *ctx)
{
	struct item *it = p;

	(void)ctx;
	CHECK(it->magic == ITEM_MAGIC, "item freed twice or never cloned");
	it->magic = ITEM_DEAD;
	items_live--;
	item_storage_free(it);
}

static const evmap_type item_type = {
	.hash = item_hash,
	.equal = item_equal,
	.clone = item_clone,
	.free = item_free,
};

static struct meta *meta_new(uint64_t id)
{
	struct meta *m = malloc(sizeof(*m));

	if (!m)
		abort();
	m->magic = META_MAGIC;
	m->id = id;
	metas_live++;
	return m;
}

static void meta_free(void *p)
{
	struct meta *m = p;

	if (!m)
		return;
	CHECK(m->magic == META_MAGIC, "meta freed twice");
	m->magic = ITEM_DEAD;
	metas_live--;
	free(m);
}

/* ------------------------------------------------------------------ */
/* The model                                                          */
/* ------------------------------------------------------------------ */

struct model_key {
	bool present;
	uint32_t count[NVALUES];
};

struct model {
	struct model_key key[NKEYS];
	struct meta *meta;
};

static size_t model_len(const struct model *m)
{
	size_t n = 0;

	for (int k = 0; k < NKEYS; k++)
		n += m->key[k].present;
	return n;
}

static size_t bag_len(const struct model_key *mk)
{
	size_t n = 0;

	for (int v = 0; v < NVALUES; v++)
		n += mk->count[v];
	return n;
}

static bool key_equal(const struct model_key *a, const struct model_key *b)
{
	if (a->present != b->present)
		return false;
	return !a->present || !memcmp(a->count, b->count, sizeof(a->count));
}

/* ------------------------------------------------------------------ */
/* One fuzz run                                                       */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* The concurrent reader (EVMAP_FUZZ_READER=1)                        */
/* ------------------------------------------------------------------ */

static struct {
	int mode;             /* -1 unknown, 0 off, 1 on */
	pthread_t thread;
	evmap_reader *handle; /* atomic: its handle of the current map */
	unsigned long loops;  /* atomic: iterations finished */
} bg = {.mode = -1};

static bool concurrent_reader_on(void)
{
	return bg.mode == 1;
}

static bool alive_item(const void *p)
{
	const struct item *it = p;

	return it && __atomic_load_n(&it->magic, __ATOMIC_RELAXED) == ITEM_MAGIC;
}

/* One section's snapshot invariants; no callback of the map is called
 * (hash and equal of the chaos mode are not thread-safe). */
static void bg_check(evmap_reader *r, bool heap_keys, uint64_t *last_gen)
{
	const evmap_view *v = evmap_enter(r);
	const evmap_values *vs;
	const struct meta *m;
	const void *key;
	evmap_iter it;
	size_t keys = 0;

	if (v) {
		if (evmap_view_generation(v) < *last_gen) {
			fprintf(stderr, "fuzz_ops: reader: generation went back\n");
			abort();
		}
		*last_gen = evmap_view_generation(v);
		evmap_view_iter(v, &it);
		while (evmap_iter_next(&it, &key, &vs)) {
			keys++;
			if (heap_keys && !alive_item(key)) {
				fprintf(stderr, "fuzz_ops: reader: a freed key\n");
				abort();
			}
			for (size_t i = 0; i < evmap_values_len(vs); i++) {
				if (!alive_item(evmap_values_at(vs, i))) {
					fprintf(stderr,
						"fuzz_ops: reader: a freed value\n");
					abort();
				}
			}
		}
		m = evmap_view_meta(v);
		if (keys != evmap_view_len(v) ||
		    (m && __atomic_load_n(&m->magic, __ATOMIC_RELAXED) !=
				  META_MAGIC)) {
			fprintf(stderr, "fuzz_ops: reader: length or meta\n");
			abort();
		}
	}
	evmap_leave(r);
}

static bool bg_heap_keys; /* atomic: of the current map */

static void *bg_main(void *arg)
{
	evmap_reader *last = NULL;
	uint64_t last_gen = 0;

	(void)arg;
	for (;;) {
		evmap_reader *r = __atomic_load_n(&bg.handle, __ATOMIC_SEQ_CST);

		if (r != last)
			last_gen = 0;
		last = r;
		if (r)
			bg_check(r, __atomic_load_n(&bg_heap_keys,
						    __ATOMIC_RELAXED),
				 &last_gen);
		__atomic_add_fetch(&bg.loops, 1, __ATOMIC_SEQ_CST);
		if (!r)
			sched_yield();
	}
	return NULL;
}

/* Wait until the reader began a new iteration after now. */
static void bg_sync(void)
{
	unsigned long seen = __atomic_load_n(&bg.loops, __ATOMIC_SEQ_CST);

	while (__atomic_load_n(&bg.loops, __ATOMIC_SEQ_CST) < seen + 2)
		sched_yield();
}

/* Give the reader a handle of @r's map (no failure armed: its first
 * section may allocate its thread's record). */
static void bg_attach(evmap_reader *r, bool heap_keys)
{
	if (bg.mode < 0) {
		const char *env = getenv("EVMAP_FUZZ_READER");

		bg.mode = env && strcmp(env, "1") == 0;
		if (bg.mode && pthread_create(&bg.thread, NULL, bg_main, NULL))
			bg.mode = 0;
	}
	if (!bg.mode)
		return;
	__atomic_store_n(&bg_heap_keys, heap_keys, __ATOMIC_RELAXED);
	__atomic_store_n(&bg.handle, evmap_reader_clone(r), __ATOMIC_SEQ_CST);
	bg_sync();
}

/* Take the handle back (after the writer was freed) and free it. */
static void bg_detach(void)
{
	evmap_reader *r;

	if (!bg.mode)
		return;
	r = __atomic_exchange_n(&bg.handle, NULL, __ATOMIC_SEQ_CST);
	bg_sync();
	evmap_reader_free(r);
}

struct run {
	evmap_writer *w;
	evmap_reader *r;       /* checks */
	evmap_reader *held_r;  /* a handle whose section the input holds open */
	evmap_reader *extra_r; /* created and freed by the input */
	bool heap_keys;
	struct item key_args[NKEYS];
	struct model published; /* what readers must see */
	struct model current;   /* every logged op applied */
	uint64_t generation;
	size_t pending; /* expected evmap_pending() */
	int held_depth;
	/* One pending evict: the model can't know which keys it takes, so
	 * it keeps a second branch with every eligible key evicted. */
	bool evict_pending;
	struct model evicted; /* current, if every eligible key was evicted */
	bool eligible[NKEYS];
	size_t evict_target;  /* keys the evict must remove */
	/* The one key the last op wrote, or -1 (see check_after_op). */
	int touched_key;
	/* Input cursor. */
	const uint8_t *data;
	size_t size, pos;
};

static uint8_t next_byte(struct run *rn)
{
	return rn->pos < rn->size ? rn->data[rn->pos++] : 0;
}

static const void *key_arg(struct run *rn, int k)
{
	if (!rn->heap_keys)
		return (const void *)(uintptr_t)k;
	rn->key_args[k].magic = ITEM_MAGIC;
	rn->key_args[k].id = (uint64_t)k;
	return &rn->key_args[k];
}

static int key_of(struct run *rn, const void *key)
{
	uint64_t k = rn->heap_keys ? item_id(key) : (uint64_t)(uintptr_t)key;

	CHECK(k < NKEYS, "unknown key %llu", (unsigned long long)k);
	return (int)k;
}

/* The bag as a multiset; also exercises every accessor. */
CHECKER static void bag_counts(const evmap_values *vs, uint32_t count[NVALUES])
{
	size_t len = evmap_values_len(vs);

	memset(count, 0, sizeof(uint32_t) * NVALUES);
	for (size_t i = 0; i < len; i++) {
		uint64_t v = item_id(evmap_values_at(vs, i));

		CHECK(v < NVALUES, "unknown value");
		count[v]++;
	}
	CHECK(evmap_values_at(vs, len) == NULL, "values_at past the end");
	if (len == 0) {
		CHECK(evmap_values_first(vs) == NULL);
	} else {
		uint64_t v = item_id(evmap_values_first(vs));

		CHECK(v < NVALUES && count[v] > 0, "values_first not in bag");
	}
	for (uint64_t v = 0; v < NVALUES; v++) {
		struct item probe = { .magic = ITEM_MAGIC, .id = v };

		CHECK(evmap_values_contains(vs, &probe) == (count[v] > 0),
		      "values_contains disagrees with values_at");
	}
}

/* What the reader sees, as a model (meta aside). */
CHECKER static void read_view(struct run *rn, const evmap_view *v,
			       struct model *out)
{
	evmap_iter it;
	const void *key;
	const evmap_values *vs;
	size_t seen = 0;

	memset(out, 0, sizeof(*out));
	evmap_view_iter(v, &it);
	while (evmap_iter_next(&it, &key, &vs)) {
		int k = key_of(rn, key);

		CHECK(!out->key[k].present, "key %d iterated twice", k);
		out->key[k].present = true;
		bag_counts(vs, out->key[k].count);
		CHECK(evmap_view_get(v, key) == vs, "get and iter disagree");
		seen++;
	}
	CHECK(evmap_view_len(v) == seen, "view_len %zu, iterated %zu",
	      evmap_view_len(v), seen);
	for (int k = 0; k < NKEYS; k++) {
		if (!out->key[k].present)
			CHECK(evmap_view_get(v, key_arg(rn, k)) == NULL,
			      "key %d: get finds what iter did not", k);
	}
	out->meta = evmap_view_meta(v);
	if (out->meta)
		CHECK(out->meta->magic == META_MAGIC, "published meta freed");
}

CHECKER static void check_view(struct run *rn, const evmap_view *v,
		       const struct model *m)
{
	struct model seen;

	read_view(rn, v, &seen);
	for (int k = 0; k < NKEYS; k++) {
		if (key_equal(&seen.key[k], &m->key[k]))
			continue;
		die("key %d: reader sees %s len %zu, model %s len %zu", k,
		    seen.key[k].present ? "present" : "absent",
		    bag_len(&seen.key[k]),
		    m->key[k].present ? "present" : "absent",
		    bag_len(&m->key[k]));
	}
	CHECK(seen.meta == m->meta, "meta differs");
	CHECK(evmap_view_generation(v) == rn->generation,
	      "generation %llu, model %llu",
	      (unsigned long long)evmap_view_generation(v),
	      (unsigned long long)rn->generation);
}

struct get_ctx {
	const struct model_key *mk;
	void *meta;
	bool called;
};

CHECKER static void get_fn(const evmap_values *vs, void *meta, void *ctx)
{
	struct get_ctx *g = ctx;
	uint32_t count[NVALUES];

	bag_counts(vs, count);
	CHECK(!memcmp(count, g->mk->count, sizeof(count)), "evmap_get bag");
	CHECK(meta == g->meta, "evmap_get meta");
	g->called = true;
}

/*
 * Chaos mode: the two copies compared in linear time and with no buffer.
 * Walking the first copy stamps every item it holds (each value, and each
 * key when keys are heap items) with the comparison's number, and each
 * value with its key; walking the second checks that every item it holds
 * carries that stamp (and a value, its key) and stamps it again, as
 * seen in the second. With equal counts in both copies that makes them
 * the same set of items, each under the same key. Each insert clones its
 * value, and a new key is cloned once for both copies, so an item lies in
 * one place of a copy, once: seeing it twice in one copy is a failure too.
 * evmap_type_u64 keys are not items: they are counted per key (an honest
 * type, so at most one entry each in a correct map). Before this, the
 * walks copied every (key, value) pair into buffers and sorted the keys by
 * insertion, which chaos mode's many keys (a lying equal splits one key
 * into several entries) made quadratic: 11% of a fuzzing profile.
 */
struct copy_census {
	size_t keys, values;
	uint32_t per_u64_key[NKEYS];
};

static uint64_t comparisons; /* the number of the current comparison */

/* Stamp @it as seen in the first or the second copy of comparison @n. */
CHECKER static void stamp_item(struct item *it, uint64_t n, bool second,
			       uintptr_t key)
{
	if (!second) {
		CHECK(it->seen_first != n, "item %p twice in a copy", (void *)it);
		it->seen_first = n;
		it->first_key = key;
		return;
	}
	CHECK(it->seen_second != n, "item %p twice in a copy", (void *)it);
	it->seen_second = n;
	CHECK(it->seen_first == n && it->first_key == key,
	      "the two copies hold different items");
}

CHECKER static void walk_copy(struct run *rn, uint64_t n, bool second,
			      struct copy_census *c)
{
	const evmap_view *v = evmap_enter(rn->r);
	evmap_iter it;
	const void *key;
	const evmap_values *vs;

	memset(c, 0, sizeof(*c));
	CHECK(v != NULL);
	CHECK(evmap_view_generation(v) == rn->generation);
	evmap_view_iter(v, &it);
	while (evmap_iter_next(&it, &key, &vs)) {
		size_t len = evmap_values_len(vs);
		int k = key_of(rn, key);

		c->keys++;
		if (rn->heap_keys)
			stamp_item((struct item *)key, n, second, 0);
		else
			c->per_u64_key[k]++;
		for (size_t i = 0; i < len; i++) {
			struct item *val = (struct item *)evmap_values_at(vs, i);

			CHECK(item_id(val) < NVALUES);
			stamp_item(val, n, second, (uintptr_t)key);
		}
		c->values += len;
	}
	CHECK(evmap_view_len(v) == c->keys);
	evmap_leave(rn->r);
}

/* Chaos mode, after a refresh: publish the other copy at once; both must
 * hold exactly the same items. */
static void check_copies_agree(struct run *rn)
{
	struct copy_census a, b;
	uint64_t n = ++comparisons;
	int armed = fail_countdown;

	walk_copy(rn, n, false, &a);
	fail_countdown = 0;
	CHECK(evmap_refresh(rn->w) == 0);
	fail_countdown = armed;
	rn->generation++;
	walk_copy(rn, n, true, &b);
	CHECK(a.keys == b.keys, "copies hold %zu and %zu keys", a.keys, b.keys);
	CHECK(a.values == b.values, "copies hold %zu and %zu values", a.values,
	      b.values);
	CHECK(!memcmp(a.per_u64_key, b.per_u64_key, sizeof(a.per_u64_key)),
	      "the two copies hold different keys");
}

/* The reader sees rn->published; the writer's counters agree. */
/* The writer's own counters against the model. */
CHECKER static void check_writer_counters(struct run *rn)
{
	CHECK(evmap_pending(rn->w) == rn->pending, "pending %zu, model %zu",
	      evmap_pending(rn->w), rn->pending);
	CHECK(evmap_generation(rn->w) == rn->generation, "writer generation");
}

/* evmap_contains_value and evmap_get of key @k against the model @m. */
CHECKER static void check_get_shortcuts(struct run *rn, const struct model *m,
					int k)
{
	const struct model_key *mk = &m->key[k];
	struct get_ctx g = { mk, m->meta, false };
	struct item probe = {
		.magic = ITEM_MAGIC,
		.id = ((uint64_t)k * 3 + rn->generation / NKEYS) % NVALUES,
	};

	CHECK(evmap_contains_value(rn->r, key_arg(rn, k), &probe) ==
		      (mk->present && mk->count[probe.id] > 0),
	      "contains_value %d", k);
	CHECK(evmap_get(rn->r, key_arg(rn, k), get_fn, &g) == mk->present,
	      "evmap_get %d", k);
	CHECK(g.called == mk->present);
}

CHECKER static void check_published(struct run *rn)
{
	const struct model *m = &rn->published;
	const evmap_view *v;

	check_writer_counters(rn);
	v = evmap_enter(rn->r);
	if (rn->generation == 0) {
		CHECK(v == NULL, "a view before the first refresh");
		evmap_leave(rn->r);
		CHECK(evmap_len(rn->r) == 0);
		CHECK(!evmap_contains_key(rn->r, key_arg(rn, 0)));
		return;
	}
	CHECK(v != NULL, "no view after a refresh");
	if (chaos) {
		evmap_leave(rn->r);
		return;
	}
	check_view(rn, v, m);
	evmap_leave(rn->r);

	/*
	 * The shortcuts, each its own section: contains_key for every key;
	 * contains_value and evmap_get, which compare a whole bag, for one
	 * key per publication, the generation's turn (every key every NKEYS
	 * publications; the view above was compared whole). Checking them
	 * for every key was 6% of a corpus replay's CPU time.
	 */
	CHECK(evmap_len(rn->r) == model_len(m), "evmap_len");
	CHECK(!evmap_is_destroyed(rn->r));
	for (int k = 0; k < NKEYS; k++)
		CHECK(evmap_contains_key(rn->r, key_arg(rn, k)) ==
			      m->key[k].present, "contains_key %d", k);
	check_get_shortcuts(rn, m, (int)(rn->generation % NKEYS));
}

/* A refresh returned 0: resolve a pending evict, publish the model. */
static void published_now(struct run *rn)
{
	rn->generation++;
	rn->pending = 0;
	if (chaos) {
		rn->evict_pending = false;
		rn->published = rn->current;
		if (rn->held_depth == 0)
			check_copies_agree(rn);
		return;
	}
	if (rn->evict_pending) {
		const evmap_view *v = evmap_enter(rn->r);
		struct model seen;
		size_t must = 0, may = 0;

		CHECK(v != NULL);
		read_view(rn, v, &seen);
		evmap_leave(rn->r);
		for (int k = 0; k < NKEYS; k++) {
			bool kept = key_equal(&seen.key[k], &rn->current.key[k]);
			bool gone = rn->eligible[k] &&
				    key_equal(&seen.key[k], &rn->evicted.key[k]);

			if (!kept && !gone)
				die("evict: key %d is neither kept nor evicted", k);
			if (gone && !kept)
				must++;
			else if (gone)
				may++;
			if (gone && !kept)
				rn->current.key[k] = rn->evicted.key[k];
		}
		CHECK(must <= rn->evict_target && rn->evict_target <= must + may,
		      "evict removed %zu..%zu keys, expected %zu", must,
		      must + may, rn->evict_target);
		rn->evict_pending = false;
	}
	rn->published = rn->current;
}

/* Apply a model operation to current, and to the evicted branch. */
typedef void (*model_op)(struct model *m, int k, int v, void *arg);

static void model_apply(struct run *rn, model_op op, int k, int v, void *arg)
{
	op(&rn->current, k, v, arg);
	if (rn->evict_pending)
		op(&rn->evicted, k, v, arg);
	rn->pending++;
}

static void m_insert(struct model *m, int k, int v, void *arg)
{
	size_t n = arg ? *(size_t *)arg : 1;

	m->key[k].present = true;
	m->key[k].count[v] += (uint32_t)n;
}

static void m_update(struct model *m, int k, int v, void *arg)
{
	(void)arg;
	memset(&m->key[k], 0, sizeof(m->key[k]));
	m->key[k].present = true;
	m->key[k].count[v] = 1;
}

static void m_remove_value(struct model *m, int k, int v, void *arg)
{
	(void)arg;
	if (m->key[k].present && m->key[k].count[v] > 0)
		m->key[k].count[v]--;
}

static void m_clear_key(struct model *m, int k, int v, void *arg)
{
	(void)v;
	(void)arg;
	memset(&m->key[k], 0, sizeof(m->key[k]));
	m->key[k].present = true;
}

static void m_reserve(struct model *m, int k, int v, void *arg)
{
	(void)v;
	(void)arg;
	m->key[k].present = true;
}

static void m_remove_key(struct model *m, int k, int v, void *arg)
{
	(void)v;
	(void)arg;
	memset(&m->key[k], 0, sizeof(m->key[k]));
}

static void m_purge(struct model *m, int k, int v, void *arg)
{
	(void)k;
	(void)v;
	(void)arg;
	memset(m->key, 0, sizeof(m->key));
}

static void m_nothing(struct model *m, int k, int v, void *arg)
{
	(void)m;
	(void)k;
	(void)v;
	(void)arg;
}

/* retain: keep is decided by call index (an inconsistent predicate is
 * allowed); the model learns from the values it is shown. */
struct retain_ctx {
	uint8_t mask;
	unsigned int calls;
	uint32_t shown[NVALUES];
	uint32_t dropped[NVALUES];
};

static bool retain_keep(const void *value, void *ctx)
{
	struct retain_ctx *rc = ctx;
	uint64_t v = item_id(value);
	bool keep = rc->mask & (1u << (rc->calls % 8));

	CHECK(v < NVALUES);
	rc->calls++;
	rc->shown[v]++;
	if (!keep)
		rc->dropped[v]++;
	return keep;
}

static void m_retain(struct model *m, int k, int v, void *arg)
{
	struct retain_ctx *rc = arg;

	(void)v;
	for (int i = 0; i < NVALUES; i++)
		m->key[k].count[i] -= rc->dropped[i];
}

/* ------------------------------------------------------------------ */
/* Operations                                                         */
/* ------------------------------------------------------------------ */

enum {
	OP_INSERT,
	OP_UPDATE,
	OP_REMOVE_VALUE,
	OP_CLEAR_KEY,
	OP_REMOVE_KEY,
	OP_PURGE,
	OP_RETAIN,
	OP_RESERVE,
	OP_FIT,
	OP_FIT_ALL,
	OP_EVICT,
	OP_SET_META,
	OP_REFRESH,
	OP_FLUSH,
	OP_TRY_REFRESH,
	OP_INSERT_MANY,
	OP_HOLD_SECTION,
	OP_RELEASE_SECTION,
	OP_READER_HANDLE,
	OP_FAIL_NEXT,
	OP_COUNT
};

static uint64_t meta_ids;

/* Outcome of a write: 0 applies @op to the model; -ENOMEM (only when a
 * failure was injected) changes nothing. */
static bool write_done(struct run *rn, int rc, const char *name)
{
	(void)rn;
	if (rc == -ENOMEM && fail_fired)
		return false;
	if (rc != 0)
		die("%s returned %d", name, rc);
	return true;
}

static void do_refresh(struct run *rn, int rc, const char *name)
{
	if (rn->held_depth > 0) {
		CHECK(rc == -EDEADLK, "%s inside a section: %d", name, rc);
		return;
	}
	if (rc == -ENOMEM && fail_fired)
		return;
	if (rc == -EAGAIN && !strcmp(name, "try_refresh"))
		return;
	if (rc != 0)
		die("%s returned %d", name, rc);
	published_now(rn);
}

static void op_retain(struct run *rn, int k, uint8_t mask)
{
	struct retain_ctx rc = { .mask = mask };
	const struct model_key *mk = &rn->current.key[k];
	int r;

	r = evmap_retain(rn->w, key_arg(rn, k), retain_keep, &rc);
	if (rn->held_depth > 0) {
		CHECK(r == -EDEADLK, "retain inside a section: %d", r);
		CHECK(rc.calls == 0, "keep called by a failed retain");
		return;
	}
	if (!write_done(rn, r, "retain"))
		return;
	/* keep saw exactly the bag as it stands after earlier writes. */
	if (chaos)
		;
	else if (!mk->present)
		CHECK(rc.calls == 0, "keep called for an absent key");
	else
		CHECK(!memcmp(rc.shown, mk->count, sizeof(rc.shown)),
		      "keep was shown %u values, the bag holds %zu", rc.calls,
		      bag_len(mk));
	model_apply(rn, m_retain, k, 0, &rc);
}

static void op_evict(struct run *rn, size_t n, uint64_t seed)
{
	size_t present = model_len(&rn->current);
	int r;

	r = evmap_evict(rn->w, n, seed);
	if (!write_done(rn, r, "evict"))
		return;
	rn->evict_pending = true;
	rn->evicted = rn->current;
	for (int k = 0; k < NKEYS; k++) {
		rn->eligible[k] = rn->current.key[k].present;
		if (rn->eligible[k])
			memset(&rn->evicted.key[k], 0, sizeof(rn->evicted.key[k]));
	}
	rn->evict_target = n < present ? n : present;
	rn->pending++;
}

static void op_set_meta(struct run *rn, uint8_t arg)
{
	struct meta *m = arg & 1 ? NULL : meta_new(++meta_ids);
	size_t before = evmap_pending(rn->w);
	int r = evmap_set_meta(rn->w, m);

	if (!write_done(rn, r, "set_meta")) {
		meta_free(m); /* no effect: still ours */
		return;
	}
	rn->current.meta = m;
	if (rn->evict_pending)
		rn->evicted.meta = m;
	/* Whether a meta change counts as a pending write is the library's
	 * choice; learn it. */
	CHECK(evmap_pending(rn->w) == before || evmap_pending(rn->w) == before + 1,
	      "set_meta moved pending by more than one");
	rn->pending = evmap_pending(rn->w);
}

static void op_reader_handle(struct run *rn, uint8_t arg)
{
	if (rn->extra_r) {
		if (arg & 1) {
			/* Use it once, then free it. */
			size_t len = evmap_len(rn->extra_r);

			CHECK(chaos || len == model_len(&rn->published));
		}
		evmap_reader_free(rn->extra_r);
		rn->extra_r = NULL;
		return;
	}
	rn->extra_r = arg & 1 ? evmap_reader_clone(rn->r) :
				evmap_writer_reader(rn->w);
	CHECK(rn->extra_r != NULL || fail_fired, "no reader handle");
}

/* Whether this op needs a fresh model first (an evict is pending and the
 * op's outcome would depend on which keys it took). */
static bool needs_resolved_evict(int op)
{
	return op == OP_RETAIN || op == OP_EVICT;
}

static void run_op(struct run *rn, int op)
{
	int k, v;
	uint8_t b;

	if (rn->evict_pending && needs_resolved_evict(op)) {
		int armed = fail_countdown;

		/* Can't publish inside a section: skip the op. */
		if (rn->held_depth > 0)
			return;
		fail_countdown = 0;
		do_refresh(rn, evmap_refresh(rn->w), "refresh");
		check_published(rn);
		fail_countdown = armed;
	}
	switch (op) {
	case OP_INSERT:
	case OP_UPDATE:
	case OP_REMOVE_VALUE: {
		struct item val;
		b = next_byte(rn);
		k = b % NKEYS;
		v = (b / NKEYS) % NVALUES;
		val.magic = ITEM_MAGIC;
		val.id = (uint64_t)v;
		rn->touched_key = k;
		if (op == OP_INSERT) {
			if (write_done(rn, evmap_insert(rn->w, key_arg(rn, k), &val), "insert"))
				model_apply(rn, m_insert, k, v, NULL);
		} else if (op == OP_UPDATE) {
			if (write_done(rn, evmap_update(rn->w, key_arg(rn, k), &val), "update"))
				model_apply(rn, m_update, k, v, NULL);
		} else {
			if (write_done(rn, evmap_remove_value(rn->w, key_arg(rn, k), &val),
				       "remove_value"))
				model_apply(rn, m_remove_value, k, v, NULL);
		}
		break;
	}
	case OP_INSERT_MANY: {
		struct item val;
		size_t n;
		b = next_byte(rn);
		k = b % NKEYS;
		v = (b / NKEYS) % NVALUES;
		n = next_byte(rn) % 48 + 1;
		val.magic = ITEM_MAGIC;
		val.id = (uint64_t)v;
		rn->touched_key = k;
		for (size_t i = 0; i < n; i++) {
			if (!write_done(rn, evmap_insert(rn->w, key_arg(rn, k), &val),
					"insert"))
				continue;
			model_apply(rn, m_insert, k, v, NULL);
			v = (v + (b >> 6)) % NVALUES;
			val.id = (uint64_t)v;
		}
		break;
	}
	case OP_CLEAR_KEY:
		k = next_byte(rn) % NKEYS;
		rn->touched_key = k;
		if (write_done(rn, evmap_clear_key(rn->w, key_arg(rn, k)), "clear_key"))
			model_apply(rn, m_clear_key, k, 0, NULL);
		break;
	case OP_REMOVE_KEY:
		k = next_byte(rn) % NKEYS;
		rn->touched_key = k;
		if (write_done(rn, evmap_remove_key(rn->w, key_arg(rn, k)), "remove_key"))
			model_apply(rn, m_remove_key, k, 0, NULL);
		break;
	case OP_PURGE:
		if (write_done(rn, evmap_purge(rn->w), "purge"))
			model_apply(rn, m_purge, 0, 0, NULL);
		break;
	case OP_RETAIN:
		k = next_byte(rn) % NKEYS;
		op_retain(rn, k, next_byte(rn));
		break;
	case OP_RESERVE: {
		size_t extra;
		b = next_byte(rn);
		k = b % NKEYS;
		extra = b / NKEYS;
		rn->touched_key = k;
		if (extra == 31) {
			/* Absurd: -ENOMEM and nothing changes, or accepted. */
			int r = evmap_reserve(rn->w, key_arg(rn, k), SIZE_MAX / 2);
			if (r == -ENOMEM)
				break;
			if (write_done(rn, r, "reserve(huge)"))
				model_apply(rn, m_reserve, k, 0, NULL);
			break;
		}
		if (write_done(rn, evmap_reserve(rn->w, key_arg(rn, k), extra * 5),
			       "reserve"))
			model_apply(rn, m_reserve, k, 0, NULL);
		break;
	}
	case OP_FIT:
		k = next_byte(rn) % NKEYS;
		rn->touched_key = k;
		if (write_done(rn, evmap_fit(rn->w, key_arg(rn, k)), "fit"))
			model_apply(rn, m_nothing, k, 0, NULL);
		break;
	case OP_FIT_ALL:
		if (write_done(rn, evmap_fit_all(rn->w), "fit_all"))
			model_apply(rn, m_nothing, 0, 0, NULL);
		break;
	case OP_EVICT:
		b = next_byte(rn);
		op_evict(rn, b % (NKEYS + 2), (uint64_t)next_byte(rn) * 0x100000001b3ULL);
		break;
	case OP_SET_META:
		op_set_meta(rn, next_byte(rn));
		break;
	case OP_REFRESH:
		do_refresh(rn, evmap_refresh(rn->w), "refresh");
		break;
	case OP_FLUSH: {
		size_t before = evmap_pending(rn->w);
		int r = evmap_flush(rn->w);
		if (before == 0) {
			CHECK(r == 0, "flush with nothing pending: %d", r);
			break;
		}
		do_refresh(rn, r, "flush");
		break;
	}
	case OP_TRY_REFRESH: {
		int r = evmap_try_refresh(rn->w);
		if ((rn->held_depth > 0 || concurrent_reader_on()) &&
		    r == -EAGAIN)
			break;
		do_refresh(rn, r, "try_refresh");
		break;
	}
	case OP_HOLD_SECTION: {
		const evmap_view *v2 = evmap_enter(rn->held_r);
		rn->held_depth++;
		CHECK((v2 != NULL) == (rn->generation > 0), "held enter");
		break;
	}
	case OP_RELEASE_SECTION:
		if (rn->held_depth > 0) {
			evmap_leave(rn->held_r);
			rn->held_depth--;
		}
		break;
	case OP_READER_HANDLE:
		op_reader_handle(rn, next_byte(rn));
		break;
	case OP_FAIL_NEXT:
		/* Handled by the caller. */
		break;
	}
}

/*
 * After an op that published nothing, the published copy must be
 * unchanged. Compare one key's bag (the key the op wrote, else a key
 * chosen by the op count, so that every key is compared every NKEYS ops),
 * the key count and the counters with the model. The whole copy is
 * compared after every op that publishes (check_published), and once more
 * at the end of each input, so each execution stays cheap: a change to a
 * key that was not compared is seen at the latest when that copy is
 * published again.
 */
CHECKER static void check_view_key(struct run *rn, const evmap_view *v,
				   const struct model *m, int k)
{
	struct model_key seen = {0};
	const evmap_values *vs = evmap_view_get(v, key_arg(rn, k));

	seen.present = vs != NULL;
	if (vs)
		bag_counts(vs, seen.count);
	CHECK(key_equal(&seen, &m->key[k]), "key %d changed by a write", k);
	CHECK(evmap_view_len(v) == model_len(m), "view_len after a write");
	CHECK(evmap_view_generation(v) == rn->generation);
}

CHECKER static void check_published_key(struct run *rn, int k)
{
	const evmap_view *v;

	check_writer_counters(rn);
	v = evmap_enter(rn->r);
	CHECK((v != NULL) == (rn->generation > 0), "view after a write");
	if (v && !chaos)
		check_view_key(rn, v, &rn->published, k);
	evmap_leave(rn->r);
}

/* The key an op that published nothing is checked on. */
static int key_to_check(const struct run *rn)
{
	return rn->touched_key >= 0 ? rn->touched_key : (int)(cur_op % NKEYS);
}

static void check_after_op(struct run *rn, uint64_t generation_before)
{
	if (rn->generation == generation_before)
		check_published_key(rn, key_to_check(rn));
	else
		check_published(rn);
}

/* While a section is held, its view is the published one, unchanged:
 * all of it after a publication, one key otherwise (as above). */
CHECKER static void check_held(struct run *rn, uint64_t generation_before)
{
	const evmap_view *v;

	if (rn->held_depth == 0 || rn->generation == 0 || chaos)
		return;
	v = evmap_enter(rn->held_r); /* nested: the same view */
	CHECK(v != NULL);
	if (rn->generation == generation_before)
		check_view_key(rn, v, &rn->published, key_to_check(rn));
	else
		check_view(rn, v, &rn->published);
	evmap_leave(rn->held_r);
}

static void run_init(struct run *rn, const uint8_t *data, size_t size)
{
	evmap_options *o;
	uint8_t cfg;
	int r;

	memset(rn, 0, sizeof(*rn));
	rn->data = data;
	rn->size = size;
	cfg = next_byte(rn);
	rn->heap_keys = cfg & 1;
	chaos = false;
	chaos_rng = (uint64_t)cfg * 0x9E3779B97F4A7C15 | 1;
	o = evmap_options_new();
	CHECK(o != NULL);
	if (cfg & 2)
		CHECK(evmap_options_set_capacity(o, (cfg >> 4) * 7u) == 0);
	CHECK(evmap_options_set_hash_seed(o, cfg) == 0);
	if (cfg & 4) {
		rn->current.meta = meta_new(++meta_ids);
		CHECK(evmap_options_set_meta(o, rn->current.meta, meta_free) == 0);
	} else {
		CHECK(evmap_options_set_meta(o, NULL, meta_free) == 0);
	}
	r = evmap_new(rn->heap_keys ? &item_type : &evmap_type_u64, &item_type,
		      o, &rn->w, &rn->r);
	CHECK(r == 0, "evmap_new: %d", r);
	evmap_options_free(o);
	rn->held_r = evmap_reader_clone(rn->r);
	CHECK(rn->held_r != NULL);
	bg_attach(rn->r, rn->heap_keys);
	if (cfg & 8) {
		/* Ready at once: the first refresh publishes the empty map. */
		CHECK(evmap_refresh(rn->w) == 0);
		published_now(rn);
	}
	check_published(rn);
	chaos = !(cfg & 2) && (cfg & 16);
}

static void run_fini(struct run *rn)
{
	chaos = false;
	while (rn->held_depth > 0) {
		evmap_leave(rn->held_r);
		rn->held_depth--;
	}
	evmap_writer_free(rn->w);
	CHECK(evmap_enter(rn->r) == NULL, "a view after destruction");
	evmap_leave(rn->r);
	CHECK(evmap_is_destroyed(rn->r));
	CHECK(evmap_len(rn->r) == 0);
	CHECK(!evmap_contains_key(rn->r, key_arg(rn, 0)));
	evmap_reader_free(rn->r);
	evmap_reader_free(rn->held_r);
	evmap_reader_free(rn->extra_r);
	CHECK(items_live == 0, "%ld items leaked (or freed twice, if < 0)",
	      items_live);
	CHECK(metas_live == 0, "%ld metas leaked", metas_live);
	bg_detach();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run *rn = malloc(sizeof(*rn));

	if (!rn)
		return 0;
	items_live = 0;
	metas_live = 0;
	cur_op = 0;
	fail_countdown = 0;
	fail_fired = false;
	evmap__alloc_set_failure_hook(alloc_hook, NULL);
	run_init(rn, data, size);

	while (rn->pos < rn->size) {
		int op = next_byte(rn) % OP_COUNT;
		uint64_t generation_before = rn->generation;

		cur_op++;
		if (op == OP_FAIL_NEXT) {
			/* Arm for the next op only. */
			fail_countdown = next_byte(rn) % 16 + 1;
			fail_fired = false;
			continue;
		}
		rn->touched_key = -1;
		run_op(rn, op);
		fail_countdown = 0;
		fail_fired = false;
		check_after_op(rn, generation_before);
		check_held(rn, generation_before);
	}
	/* Publish what is left, so both copies are exercised to the end. */
	if (rn->held_depth == 0 && (rn->size & 1))
		do_refresh(rn, evmap_refresh(rn->w), "refresh");
	check_published(rn);
	run_fini(rn);
	item_storage_execution_end();
	evmap__alloc_set_failure_hook(NULL, NULL);
	free(rn);
	return 0;
}

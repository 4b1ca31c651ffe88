/* SPDX-License-Identifier: MIT */
/*
 * evmap-micro.c - single-thread costs of libevmap's basic operations, and
 * refresh's cost with one other reader thread.
 *
 * For maps of 10 000 and 1 000 000 keys (evmap_type_u64 keys and values,
 * one value per key) it measures, on one thread:
 *  - a get (evmap_enter, evmap_view_get, evmap_values_first, evmap_leave)
 *    of a present and of an absent key, the same with the one call
 *    evmap_get_first, and the same lookup in one unsynchronised copy of
 *    libevmap's table (the floor);
 *  - an evmap_enter/evmap_leave pair, and the same loop through two
 *    functions that return at once (call-floor.c, the floor of the pair);
 *  - evmap_insert of new keys without refresh, the same amortised over the
 *    two refreshes that bring the inserts into both copies, and insert
 *    followed by evmap_refresh each time;
 *  - the latency of evmap_refresh (one pending update) while one other
 *    thread holds a registered, idle reader handle, and while another
 *    thread reads without pause (a busy reader: that one needs a second
 *    core), with the barriers (membarrier calls) each refresh issued, also
 *    with 8 handles that were never used (parked from birth);
 *  - memory per key (allocator statistics, mallinfo2: heap in use plus
 *    mmapped blocks; resident set size where the allocator is not glibc's,
 *    e.g. under AddressSanitizer) of the map after filling and two
 *    refreshes, against one unsynchronised table of the same keys.
 * Keys are probed in a random order drawn in advance, so that large maps
 * pay their cache and TLB misses. --quick shrinks sizes and loop counts
 * for the smoke test.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evmap.h"
#include "registry.h"
#include "table.h"
#include "types.h"

#include "bench-util.h"
#include "call-floor.h"

#define U64(n) ((const void *)(uintptr_t)(n))
#define SIZES  2

struct params {
	size_t sizes[SIZES];
	size_t get_ops;		 /* lookups per get measurement */
	size_t refresh_each_ops; /* inserts in the insert+refresh loop */
	size_t refresh_samples;	 /* refreshes timed one by one */
};

static const struct params full_params = {
    .sizes = {10000, 1000000},
    .get_ops = 1u << 22,
    .refresh_each_ops = 20000,
    .refresh_samples = 5000,
};

static const struct params quick_params = {
    .sizes = {1000, 10000},
    .get_ops = 1u << 15,
    .refresh_each_ops = 200,
    .refresh_samples = 200,
};

enum row {
	ROW_GET_HIT,
	ROW_GET_MISS,
	ROW_GET_FIRST_HIT,
	ROW_TABLE_GET_HIT,
	ROW_ENTER_LEAVE,
	ROW_EMPTY_CALLS,
	ROW_INSERT,
	ROW_INSERT_PUBLISHED,
	ROW_INSERT_REFRESH,
	ROW_INSERT_DUPLICATE,
	ROW_REMOVE_FROM_BAG,
	ROW_REFRESH_MEAN,
	ROW_REFRESH_P99,
	ROW_REFRESH_IDLE_BARRIERS,
	ROW_REFRESH_BUSY_MEAN,
	ROW_REFRESH_BUSY_P99,
	ROW_REFRESH_BUSY_BARRIERS,
	ROW_REFRESH_UNUSED_BARRIERS,
	ROW_MEM_EVMAP,
	ROW_MEM_TABLE,
	ROW_MEM_RATIO,
	ROW_COUNT,
};

static const char *const row_labels[ROW_COUNT] = {
    [ROW_GET_HIT] = "get, key present                      ns",
    [ROW_GET_MISS] = "get, key absent                       ns",
    [ROW_GET_FIRST_HIT] = "evmap_get_first, key present          ns",
    [ROW_TABLE_GET_HIT] = "get, present, unsynchronised table    ns",
    [ROW_ENTER_LEAVE] = "enter + leave                         ns",
    [ROW_EMPTY_CALLS] = "two empty calls (enter + leave floor) ns",
    [ROW_INSERT] = "insert new key, no refresh            ns",
    [ROW_INSERT_PUBLISHED] = "insert + its share of 2 refreshes     ns",
    [ROW_INSERT_REFRESH] = "insert + refresh, each                ns",
    [ROW_INSERT_DUPLICATE] = "insert equal value, bag of keys/10    ns",
    [ROW_REMOVE_FROM_BAG] = "remove_value, bag of keys/10 values   ns",
    [ROW_REFRESH_MEAN] = "refresh, 1 idle reader, mean          us",
    [ROW_REFRESH_P99] = "refresh, 1 idle reader, p99           us",
    [ROW_REFRESH_IDLE_BARRIERS] = "barriers per refresh, 1 idle reader     ",
    [ROW_REFRESH_BUSY_MEAN] = "refresh, 1 busy reader, mean          us",
    [ROW_REFRESH_BUSY_P99] = "refresh, 1 busy reader, p99           us",
    [ROW_REFRESH_BUSY_BARRIERS] = "barriers per refresh, 1 busy reader     ",
    [ROW_REFRESH_UNUSED_BARRIERS] = "barriers per refresh, 8 unused handles  ",
    [ROW_MEM_EVMAP] = "memory, evmap map (1 value/key)  bytes/key",
    [ROW_MEM_TABLE] = "memory, one unsynchronised table bytes/key",
    [ROW_MEM_RATIO] = "memory, evmap / table                   x",
};

static volatile uint64_t sink; /* keeps measured reads alive */

static void die(const char *what, int err)
{
	fprintf(stderr, "evmap-micro: %s: %s\n", what, evmap_strerror(err));
	exit(1);
}

/* Whether mallinfo2() sees our allocations (not under AddressSanitizer,
 * for one); otherwise memory is measured as resident set size. */
static bool memory_from_rss;

static size_t allocator_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static size_t resident_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static void choose_memory_source(void)
{
	size_t before = allocator_in_use();
	char *probe = malloc(1 << 20);

	if (probe) {
		memset(probe, 1, 1 << 20);
		memory_from_rss = allocator_in_use() == before;
		sink += (uint64_t)probe[4096];
		free(probe);
	}
}

static size_t heap_in_use(void)
{
	return memory_from_rss ? resident_bytes() : allocator_in_use();
}

/* @count keys drawn uniformly from [@base, @base + @span), in advance. */
static uint64_t *random_keys(size_t count, uint64_t base, uint64_t span,
			     uint64_t seed)
{
	uint64_t *keys = malloc(count * sizeof(*keys));

	if (!keys)
		die("keys", -ENOMEM);
	for (size_t i = 0; i < count; i++)
		keys[i] = base + bench_rand_below(&seed, span);
	return keys;
}

static void refresh_or_die(evmap_writer *w)
{
	int err = evmap_refresh(w);

	if (err)
		die("evmap_refresh", err);
}

static double ns_per_get(evmap_reader *r, const uint64_t *keys, size_t nkeys,
			 size_t ops)
{
	uint64_t sum = 0, start = bench_now_ns();

	for (size_t i = 0, at = 0; i < ops; i++) {
		const evmap_view *v = evmap_enter(r);
		const evmap_values *vs = evmap_view_get(v, U64(keys[at]));

		if (vs)
			sum += (uint64_t)(uintptr_t)evmap_values_first(vs);
		evmap_leave(r);
		if (++at == nkeys)
			at = 0;
	}
	sink += sum;
	return (double)(bench_now_ns() - start) / (double)ops;
}

static double ns_per_get_first(evmap_reader *r, const uint64_t *keys,
			       size_t nkeys, size_t ops)
{
	uint64_t sum = 0, start = bench_now_ns();

	for (size_t i = 0, at = 0; i < ops; i++) {
		const void *value;

		if (evmap_get_first(r, U64(keys[at]), &value) == 1)
			sum += (uint64_t)(uintptr_t)value;
		if (++at == nkeys)
			at = 0;
	}
	sink += sum;
	return (double)(bench_now_ns() - start) / (double)ops;
}

static double ns_per_enter_leave(evmap_reader *r, size_t ops)
{
	uint64_t start = bench_now_ns();

	for (size_t i = 0; i < ops; i++) {
		const evmap_view *v = evmap_enter(r);

		sink += (uintptr_t)v & 1;
		evmap_leave(r);
	}
	return (double)(bench_now_ns() - start) / (double)ops;
}

/* The same loop through two functions that return at once (call-floor.c):
 * what enter + leave costs beyond it is the section's own work. */
static double ns_per_empty_calls(const evmap_reader *r, size_t ops)
{
	uint64_t start = bench_now_ns();

	for (size_t i = 0; i < ops; i++) {
		const void *v = bench_floor_enter(r);

		sink += (uintptr_t)v & 1;
		bench_floor_leave(r);
	}
	return (double)(bench_now_ns() - start) / (double)ops;
}

/* ---- the unsynchronised table: the same keys, one copy ---- */

struct plain_table {
	struct evmap__types types;
	struct evmap__table table;
};

static void table_fill(struct plain_table *pt, size_t n)
{
	evmap__item_type_init(&pt->types.key, &evmap_type_u64, 0);
	evmap__item_type_init(&pt->types.value, &evmap_type_u64, 0);
	if (evmap__table_init(&pt->table, &pt->types, 0))
		die("table", -ENOMEM);
	for (size_t k = 0; k < n; k++) {
		uint32_t hash = evmap__item_hash(&pt->types.key, U64(k));
		evmap__bag *s = evmap__table_add(&pt->table, hash, U64(k));

		if (!s || evmap__bag_push(s, U64(k + 1)))
			die("table", -ENOMEM);
	}
}

static double ns_per_table_get(const struct plain_table *pt,
			       const uint64_t *keys, size_t nkeys, size_t ops)
{
	uint64_t sum = 0, start = bench_now_ns();

	for (size_t i = 0, at = 0; i < ops; i++) {
		const void *k = U64(keys[at]);
		const evmap__bag *s = evmap__table_find(
		    &pt->table, evmap__item_hash(&pt->types.key, k), k);

		if (s && evmap__bag_len(s))
			sum += (uint64_t)(uintptr_t)evmap__bag_values(s)[0];
		if (++at == nkeys)
			at = 0;
	}
	sink += sum;
	return (double)(bench_now_ns() - start) / (double)ops;
}

/* ---- an idle reader on another thread ---- */

struct idle_reader {
	pthread_t thread;
	evmap_reader *reader;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready, stop;
};

static void *idle_reader_main(void *arg)
{
	struct idle_reader *ir = arg;

	/* One section registers this thread with RCU; then it idles. */
	evmap_enter(ir->reader);
	evmap_leave(ir->reader);
	pthread_mutex_lock(&ir->lock);
	ir->ready = true;
	pthread_cond_broadcast(&ir->cond);
	while (!ir->stop)
		pthread_cond_wait(&ir->cond, &ir->lock);
	pthread_mutex_unlock(&ir->lock);
	evmap_reader_free(ir->reader);
	return NULL;
}

static void idle_reader_start(struct idle_reader *ir, evmap_reader *r)
{
	memset(ir, 0, sizeof(*ir));
	ir->reader = evmap_reader_clone(r);
	if (!ir->reader)
		die("evmap_reader_clone", -ENOMEM);
	pthread_mutex_init(&ir->lock, NULL);
	pthread_cond_init(&ir->cond, NULL);
	if (pthread_create(&ir->thread, NULL, idle_reader_main, ir))
		die("pthread_create", -EAGAIN);
	pthread_mutex_lock(&ir->lock);
	while (!ir->ready)
		pthread_cond_wait(&ir->cond, &ir->lock);
	pthread_mutex_unlock(&ir->lock);
}

static void idle_reader_stop(struct idle_reader *ir)
{
	pthread_mutex_lock(&ir->lock);
	ir->stop = true;
	pthread_cond_broadcast(&ir->cond);
	pthread_mutex_unlock(&ir->lock);
	pthread_join(ir->thread, NULL);
	pthread_cond_destroy(&ir->cond);
	pthread_mutex_destroy(&ir->lock);
}

struct busy_reader {
	pthread_t thread;
	evmap_reader *reader;
	size_t nkeys;
	int stop; /* atomic */
};

static void *busy_reader_main(void *arg)
{
	struct busy_reader *br = arg;
	uint64_t k = 0;

	while (!__atomic_load_n(&br->stop, __ATOMIC_RELAXED)) {
		const evmap_view *v = evmap_enter(br->reader);
		sink += (uintptr_t)evmap_values_first(
		    evmap_view_get(v, U64(k++ % br->nkeys)));
		evmap_leave(br->reader);
	}
	return NULL;
}

static void busy_reader_start(struct busy_reader *br, evmap_reader *r,
			      size_t nkeys)
{
	memset(br, 0, sizeof(*br));
	br->nkeys = nkeys;
	br->reader = evmap_reader_clone(r);
	if (!br->reader)
		die("evmap_reader_clone", -ENOMEM);
	if (pthread_create(&br->thread, NULL, busy_reader_main, br))
		die("pthread_create", -EAGAIN);
}

static void busy_reader_stop(struct busy_reader *br)
{
	__atomic_store_n(&br->stop, 1, __ATOMIC_RELAXED);
	pthread_join(br->thread, NULL);
	evmap_reader_free(br->reader);
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Time @count refreshes of one update each: mean and p99 in us, and the
 * barriers they issued per refresh. */
static void time_refreshes(evmap_writer *w, size_t n, size_t count,
			   double *mean, double *p99, double *barriers)
{
	uint64_t *samples = malloc(count * sizeof(*samples)), start;
	struct evmap__wait_stats before, after;
	double sum = 0;
	int err;

	if (!samples)
		die("samples", -ENOMEM);
	refresh_or_die(w); /* the first wait may park a handle */
	evmap__writer_wait_stats(w, &before);
	for (size_t i = 0; i < count; i++) {
		err = evmap_update(w, U64(i % n), U64(i));
		if (err)
			die("evmap_update", err);
		start = bench_now_ns();
		refresh_or_die(w);
		samples[i] = bench_now_ns() - start;
	}
	evmap__writer_wait_stats(w, &after);
	qsort(samples, count, sizeof(*samples), compare_u64);
	for (size_t i = 0; i < count; i++)
		sum += (double)samples[i];
	if (mean)
		*mean = sum / (double)count / 1000.0;
	if (p99)
		*p99 = (double)samples[count * 99 / 100] / 1000.0;
	*barriers = (double)(after.barriers - before.barriers) / (double)count;
	free(samples);
}

/* A new map of evmap_type_u64 keys and values, or exit. */
static void new_u64_map(evmap_writer **w, evmap_reader **r)
{
	int err = evmap_new(&evmap_type_u64, &evmap_type_u64, NULL, w, r);

	if (err)
		die("evmap_new", err);
}

/* Insert @count values under key 1, all equal (7) or distinct (0, 1,
 * ...), refreshing every 1000 inserts and once at the end. */
static void fill_one_key(evmap_writer *w, size_t count, bool equal)
{
	for (size_t i = 0; i < count; i++) {
		int err = evmap_insert(w, U64(1), U64(equal ? 7 : i));

		if (err)
			die("evmap_insert", err);
		if (i % 1000 == 999)
			refresh_or_die(w);
	}
	refresh_or_die(w);
}

/* Insert @count equal values under one key of a new map (a large bag's
 * index with duplicates: bag.c): ns per insert, its share of the
 * refreshes included. */
static double ns_per_duplicate_insert(size_t count)
{
	evmap_writer *w;
	evmap_reader *r;
	uint64_t start, elapsed;

	new_u64_map(&w, &r);
	start = bench_now_ns();
	fill_one_key(w, count, true);
	elapsed = bench_now_ns() - start;
	if (evmap_len(r) != 1)
		die("evmap_len", -EINVAL);
	evmap_reader_free(r);
	evmap_writer_free(w);
	return (double)elapsed / (double)count;
}

/* Fill one key of a new map with @count distinct values, then remove them
 * in a random order, refreshing every 1000 removals: ns per removal, its
 * share of the refreshes (where the other copy replays it) included. */
static double ns_per_bag_remove(size_t count)
{
	uint64_t *order = malloc((count ? count : 1) * sizeof(*order));
	uint64_t seed = count;
	evmap_writer *w;
	evmap_reader *r;
	uint64_t start, elapsed;
	int err;

	new_u64_map(&w, &r);
	if (!order)
		die("order", -ENOMEM);
	for (size_t i = 0; i < count; i++) /* a random permutation */
		order[i] = i;
	for (size_t i = count; i > 1; i--) {
		size_t j = (size_t)bench_rand_below(&seed, i);
		uint64_t t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	fill_one_key(w, count, false);
	refresh_or_die(w);
	start = bench_now_ns();
	for (size_t i = 0; i < count; i++) {
		err = evmap_remove_value(w, U64(1), U64(order[i]));
		if (err)
			die("evmap_remove_value", err);
		if (i % 1000 == 999)
			refresh_or_die(w);
	}
	refresh_or_die(w);
	elapsed = bench_now_ns() - start;
	{
		const evmap_view *v = evmap_enter(r);
		size_t left = v ? evmap_values_len(evmap_view_get(v, U64(1))) : 1;

		evmap_leave(r);
		if (left != 0)
			die("evmap_remove_value left values", -EINVAL);
	}
	evmap_reader_free(r);
	evmap_writer_free(w);
	free(order);
	return (double)elapsed / (double)count;
}

/* ---- one column of the table ---- */

static void measure(size_t n, const struct params *p, double *col)
{
	size_t nprobe = n < (1u << 20) ? n : (1u << 20);
	uint64_t *hits = random_keys(nprobe, 0, n, n);
	uint64_t *misses = random_keys(nprobe, n, n, n + 1);
	uint64_t start, t_insert, t_published;
	struct plain_table pt;
	struct idle_reader ir;
	struct busy_reader br;
	evmap_reader *unused[8];
	evmap_writer *w;
	evmap_reader *r;
	size_t before;
	int err;

	/* Memory first, each structure measured on its own. */
	before = heap_in_use();
	table_fill(&pt, n);
	col[ROW_MEM_TABLE] = (double)(heap_in_use() - before) / (double)n;

	before = heap_in_use();
	err = evmap_new(&evmap_type_u64, &evmap_type_u64, NULL, &w, &r);
	if (err)
		die("evmap_new", err);
	start = bench_now_ns();
	for (size_t k = 0; k < n; k++) {
		err = evmap_insert(w, U64(k), U64(k + 1));
		if (err)
			die("evmap_insert", err);
	}
	t_insert = bench_now_ns() - start;
	refresh_or_die(w);
	refresh_or_die(w);
	t_published = bench_now_ns() - start;
	col[ROW_MEM_EVMAP] = (double)(heap_in_use() - before) / (double)n;
	col[ROW_MEM_RATIO] = col[ROW_MEM_TABLE] > 0
				 ? col[ROW_MEM_EVMAP] / col[ROW_MEM_TABLE]
				 : 0.0;
	col[ROW_INSERT] = (double)t_insert / (double)n;
	col[ROW_INSERT_PUBLISHED] = (double)t_published / (double)n;

	/* Reads: warm the caches once, then measure. */
	ns_per_get(r, hits, nprobe, nprobe);
	col[ROW_GET_HIT] = ns_per_get(r, hits, nprobe, p->get_ops);
	col[ROW_GET_MISS] = ns_per_get(r, misses, nprobe, p->get_ops);
	col[ROW_GET_FIRST_HIT] = ns_per_get_first(r, hits, nprobe, p->get_ops);
	ns_per_table_get(&pt, hits, nprobe, nprobe);
	col[ROW_TABLE_GET_HIT] =
	    ns_per_table_get(&pt, hits, nprobe, p->get_ops);
	col[ROW_ENTER_LEAVE] = ns_per_enter_leave(r, p->get_ops);
	col[ROW_EMPTY_CALLS] = ns_per_empty_calls(r, p->get_ops);
	evmap__table_destroy(&pt.table);

	/* Insert and refresh each time: new keys n, n + 1, ... */
	start = bench_now_ns();
	for (size_t i = 0; i < p->refresh_each_ops; i++) {
		err = evmap_insert(w, U64(n + i), U64(1));
		if (err)
			die("evmap_insert", err);
		refresh_or_die(w);
	}
	col[ROW_INSERT_REFRESH] =
	    (double)(bench_now_ns() - start) / (double)p->refresh_each_ops;
	col[ROW_INSERT_DUPLICATE] = ns_per_duplicate_insert(n / 10);
	col[ROW_REMOVE_FROM_BAG] = ns_per_bag_remove(n / 10);

	/* Refresh latency with one registered, idle reader elsewhere. */
	idle_reader_start(&ir, r);
	time_refreshes(w, n, p->refresh_samples, &col[ROW_REFRESH_MEAN],
		       &col[ROW_REFRESH_P99], &col[ROW_REFRESH_IDLE_BARRIERS]);
	idle_reader_stop(&ir);

	/* ... with one reader in sections back to back. */
	busy_reader_start(&br, r, n);
	time_refreshes(w, n, p->refresh_samples, &col[ROW_REFRESH_BUSY_MEAN],
		       &col[ROW_REFRESH_BUSY_P99],
		       &col[ROW_REFRESH_BUSY_BARRIERS]);
	busy_reader_stop(&br);

	/* ... with handles nobody uses (and r, idle on this thread). */
	for (int i = 0; i < 8; i++)
		if (!(unused[i] = evmap_reader_clone(r)))
			die("evmap_reader_clone", -ENOMEM);
	time_refreshes(w, n, p->refresh_samples, NULL, NULL,
		       &col[ROW_REFRESH_UNUSED_BARRIERS]);
	for (int i = 0; i < 8; i++)
		evmap_reader_free(unused[i]);

	evmap_reader_free(r);
	evmap_writer_free(w);
	free(hits);
	free(misses);
}

int main(int argc, char **argv)
{
	const struct params *p = &full_params;
	double cols[SIZES][ROW_COUNT];

	if (argc == 2 && strcmp(argv[1], "--quick") == 0) {
		p = &quick_params;
	} else if (argc != 1) {
		fprintf(stderr,
			"Usage: %s [--quick]\n"
			"Single-thread costs of libevmap for 10 000 and 1 000 "
			"000 keys\n"
			"(--quick: 1 000 and 10 000 keys, short loops).\n",
			argv[0]);
		return 2;
	}
	choose_memory_source();
	for (int c = 0; c < SIZES; c++)
		measure(p->sizes[c], p, cols[c]);

	printf("evmap-micro: libevmap %s, one thread, evmap_type_u64 keys and "
	       "values\n",
	       evmap_version());
	printf("%-42s", "");
	for (int c = 0; c < SIZES; c++)
		printf(" %10zu keys", p->sizes[c]);
	putchar('\n');
	for (int row = 0; row < ROW_COUNT; row++) {
		printf("%-42s", row_labels[row]);
		bool ratio = strncmp(row_labels[row], "barriers", 8) == 0;

		for (int c = 0; c < SIZES; c++)
			printf(ratio ? " %15.4f" : " %15.2f", cols[c][row]);
		putchar('\n');
	}
	printf("# memory: %s, after filling and two refreshes\n",
	       memory_from_rss
		   ? "resident set size (allocator statistics unavailable)"
		   : "mallinfo2() in use + mmapped");
	return 0;
}

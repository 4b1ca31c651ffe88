/* SPDX-License-Identifier: MIT */
/*
 * evmap-bench.c - throughput of libevmap against other concurrent maps,
 * a C port of the benchmark/ program of Rust's evmap.
 *
 * Workload (as in evmap's benchmark; bench/README.md): R reader threads
 * and W writer threads hammer one map for a fixed time over 10 000 integer
 * keys. Readers get(key) and read the first value; writers update(key,
 * random value). Every op draws both a uniform key (0..9 999) and a Zipf
 * key (1..10 000, exponent 1.03) so that the RNG cost is the same for both
 * distributions, and reads the monotonic clock to decide whether to go on.
 * Maps start empty, with room for 5 000 000 keys, and there is no warm-up.
 * Output: one line per thread, as the original prints it.
 *
 * Variants (-c runs all of them, -V picks some):
 *  evmap   libevmap; readers read with evmap_get_first (the one-call
 *          lookup for u64 values); the writers share the one writer
 *          handle behind a mutex and refresh every N writes of all
 *          writers together (-e).
 *  rwlock  libevmap's own hash table (src/table.h) behind a
 *          pthread_rwlock, writer-preferring (parking_lot's RwLock, the
 *          original's, cannot starve writers either) and spinning briefly
 *          before it blocks (as parking_lot does).
 *  lfht    liburcu's lock-free resizable hash table, memb flavor; a write
 *          replaces the key's node (cds_lfht_add_replace) and frees the old
 *          one with call_rcu. Writers do not need a mutex.
 *  ck      Concurrency Kit's ck_hs in single-writer/many-reader mode
 *          (CK_HS_MODE_SPMC); writers behind a mutex; replaced nodes are
 *          reclaimed with ck_epoch (readers bracket each get with
 *          ck_epoch_begin/end, as ck requires for safe reclamation).
 *  nosync  one thread, no writers, unsynchronised lookups in a libevmap
 *          table (same capacity) holding every key: the physical limit of
 *          one core. Its line carries the invocation's reader and writer
 *          counts, so that it sits beside the others in the plots.
 *  null    (only with -V) a map that does nothing: the driver's own cost.
 *
 * --pregen draws the keys (and written values) of each thread in advance
 * into an array and reads the clock every 64 ops instead of every op, so
 * that the map's cost is not hidden by the driver's; it adds ns/op.
 *
 * The program links libevmap's uninstalled static copy (evmap_internal_dep)
 * because the rwlock and nosync peers need its internal table; the
 * evmap variant therefore calls the library without the shared library's
 * PLT indirection (about a nanosecond per call).
 */
#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#if EVMAP_BENCH_CK
#include <ck_epoch.h>
#include <ck_hs.h>
#endif

#include "evmap.h"
#include "registry.h"
#include "table.h"
#include "types.h"

#include "bench-util.h"
#include "zipf.h"

#define KEY_SPAN	   10000
#define ZIPF_EXPONENT	   1.03
#define MAP_CAPACITY	   5000000
#define PREGEN_LEN	   (1u << 16) /* keys per thread with --pregen */
#define PREGEN_CLOCK_EVERY 64 /* ops between clock reads with --pregen */

enum variant {
	VARIANT_EVMAP,
	VARIANT_RWLOCK,
	VARIANT_LFHT,
	VARIANT_CK,
	VARIANT_NOSYNC,
	VARIANT_NULL,
	VARIANT_COUNT,
};

static const char *const variant_names[VARIANT_COUNT] = {
    [VARIANT_EVMAP] = "evmap",	 [VARIANT_RWLOCK] = "rwlock",
    [VARIANT_LFHT] = "lfht",	 [VARIANT_CK] = "ck",
    [VARIANT_NOSYNC] = "nosync", [VARIANT_NULL] = "null",
};

struct config {
	int readers;
	int writers;
	bool skewed;
	unsigned long refresh_every;
	double seconds;
	bool pregen;
	unsigned int variants; /* bit per enum variant */
};

/* The peers' nodes: one key and its one value. */
struct lfht_node {
	struct cds_lfht_node node;
	uint64_t key;
	uint64_t value;
	struct rcu_head rcu; /* cold: only for reclamation */
};

#if EVMAP_BENCH_CK
struct ck_node {
	uint64_t key;
	uint64_t value;
	ck_epoch_entry_t epoch_entry;
};
#endif

/* One run of one variant: the map under test and what its threads share. */
struct run {
	const struct config *cfg;
	pthread_barrier_t start;
	uint64_t end_ns;

	/* evmap */
	evmap_writer *writer;
	evmap_reader *reader;
	unsigned long writes_since_refresh;
	pthread_mutex_t writer_lock; /* evmap and ck writers */

	/* rwlock, nosync */
	struct evmap__types types;
	struct evmap__table table;
	pthread_rwlock_t rwlock;

	/* lfht */
	struct cds_lfht *lfht;

#if EVMAP_BENCH_CK
	/* ck */
	ck_hs_t hs;
	ck_epoch_t epoch;
	ck_epoch_record_t *ck_writer_record;
	unsigned long ck_writes;
#endif
};

/* One thread's state; cache-line aligned so that counters do not share. */
struct worker {
	pthread_t thread;
	struct run *run;
	int index;
	bool write;
	uint64_t rng;
	uint64_t *keys;	  /* --pregen */
	uint64_t *values; /* --pregen, writers */

	evmap_reader *reader;	      /* evmap */
#if EVMAP_BENCH_CK
	ck_epoch_record_t *ck_record; /* ck readers */
#endif

	uint64_t ops;
	uint64_t elapsed_ns;
	uint64_t sink; /* sum of values read, so reads cannot be elided */
	int error;     /* first failure (negative errno), 0 if none */
} __attribute__((aligned(64)));

/* ------------------------------------------------------------------ */
/* The driver loop                                                     */
/* ------------------------------------------------------------------ */

typedef uint64_t (*get_fn)(struct worker *wk, uint64_t key);
typedef void (*put_fn)(struct worker *wk, uint64_t key, uint64_t value);

/*
 * Run one thread's loop until the run's end. Always inlined with constant
 * @get / @put so that each variant gets its own loop with direct calls.
 */
static inline __attribute__((always_inline)) void drive(struct worker *wk,
							get_fn get, put_fn put)
{
	const struct config *cfg = wk->run->cfg;
	struct bench_zipf zipf;
	uint64_t rng = wk->rng, ops = 0, sink = 0, start, now, end;

	bench_zipf_init(&zipf, KEY_SPAN, ZIPF_EXPONENT);
	pthread_barrier_wait(&wk->run->start);
	end = wk->run->end_ns;
	start = bench_now_ns();

	if (cfg->pregen) {
		const uint64_t *keys = wk->keys, *values = wk->values;
		uint32_t pos = 0;

		while ((now = bench_now_ns()) < end && !wk->error) {
			for (int i = 0; i < PREGEN_CLOCK_EVERY; i++) {
				uint32_t at = pos++ & (PREGEN_LEN - 1);

				if (put)
					put(wk, keys[at], values[at]);
				else
					sink += get(wk, keys[at]);
			}
			ops += PREGEN_CLOCK_EVERY;
		}
	} else {
		while ((now = bench_now_ns()) < end && !wk->error) {
			/* both, so that the RNG cost is the same for both */
			uint64_t uniform = bench_rand_below(&rng, KEY_SPAN);
			uint64_t skewed = bench_zipf_sample(&zipf, &rng);
			uint64_t key = cfg->skewed ? skewed : uniform;

			if (put)
				put(wk, key, bench_rand(&rng));
			else
				sink += get(wk, key);
			ops++;
		}
	}
	wk->ops = ops;
	wk->elapsed_ns = now - start;
	wk->sink = sink;
	wk->rng = rng;
}

static void fail(struct worker *wk, int err)
{
	if (!wk->error)
		wk->error = err;
}

/* ------------------------------------------------------------------ */
/* evmap                                                              */
/* ------------------------------------------------------------------ */

/* evmap_type_u64 values: one call copies the first value out */
static uint64_t bench_evmap_get(struct worker *wk, uint64_t key)
{
	const void *value = NULL;

	(void)evmap_get_first(wk->reader, (const void *)(uintptr_t)key, &value);
	return (uint64_t)(uintptr_t)value;
}

static void evmap_put(struct worker *wk, uint64_t key, uint64_t value)
{
	struct run *run = wk->run;
	int err;

	pthread_mutex_lock(&run->writer_lock);
	err = evmap_update(run->writer, (const void *)(uintptr_t)key,
			   (const void *)(uintptr_t)value);
	if (!err && ++run->writes_since_refresh == run->cfg->refresh_every) {
		run->writes_since_refresh = 0;
		err = evmap_refresh(run->writer);
	}
	pthread_mutex_unlock(&run->writer_lock);
	if (err)
		fail(wk, err);
}

static int evmap_setup(struct run *run)
{
	evmap_options *opts = evmap_options_new();
	int err;

	if (!opts)
		return -ENOMEM;
	err = evmap_options_set_capacity(opts, MAP_CAPACITY);
	if (!err)
		err = evmap_new(&evmap_type_u64, &evmap_type_u64, opts,
				&run->writer, &run->reader);
	evmap_options_free(opts);
	return err;
}

static void evmap_teardown(struct run *run)
{
	if (getenv("EVMAP_BENCH_WAIT_STATS")) {
		struct evmap__wait_stats st;

		evmap__writer_wait_stats(run->writer, &st);
		fprintf(stderr,
			"# wait: %" PRIu64 " waits, %" PRIu64 " announced, %" PRIu64
			" parked, %" PRIu64 " proven, %" PRIu64 " barriers, %" PRIu64
			" waited, %" PRIu64 " yields\n",
			st.waits, st.announced, st.parked, st.proven, st.barriers,
			st.waited, st.yields);
	}
	evmap_reader_free(run->reader);
	evmap_writer_free(run->writer);
}

static void *evmap_thread(void *arg)
{
	struct worker *wk = arg;

	if (wk->write) {
		drive(wk, NULL, evmap_put);
		return NULL;
	}
	wk->reader = evmap_reader_clone(wk->run->reader);
	if (!wk->reader)
		fail(wk, -ENOMEM);
	drive(wk, bench_evmap_get, NULL);
	evmap_reader_free(wk->reader);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* rwlock and nosync: libevmap's table                                */
/* ------------------------------------------------------------------ */

static uint64_t table_get_first(const struct run *run, uint64_t key)
{
	const void *k = (const void *)(uintptr_t)key;
	const evmap__bag *s = evmap__table_find(
	    &run->table, evmap__item_hash(&run->types.key, k), k);

	if (!s || evmap__bag_len(s) == 0)
		return 0;
	return (uint64_t)(uintptr_t)evmap__bag_values(s)[0];
}

/* update(): the key's bag becomes {value}, as evmap_update does. */
static int table_update(struct run *run, uint64_t key, uint64_t value)
{
	const void *k = (const void *)(uintptr_t)key;
	uint32_t hash = evmap__item_hash(&run->types.key, k);
	evmap__bag *s = evmap__table_find(&run->table, hash, k);
	struct evmap__bag_storage old;

	if (!s)
		s = evmap__table_add(&run->table, hash, k);
	if (!s)
		return -ENOMEM;
	evmap__bag_take(s, &old);
	evmap__bag_storage_release(&old, NULL);
	return evmap__bag_push(s, (const void *)(uintptr_t)value);
}

static int table_setup(struct run *run)
{
	evmap__item_type_init(&run->types.key, &evmap_type_u64, 0);
	evmap__item_type_init(&run->types.value, &evmap_type_u64, 0);
	return evmap__table_init(&run->table, &run->types, MAP_CAPACITY);
}

/*
 * Spin briefly before blocking, as parking_lot's RwLock (the original's)
 * does: glibc's rwlock blocks at once, and a futex sleep and wake-up per
 * contended op would measure the scheduler rather than the lock.
 */
#define RWLOCK_SPINS 100

static void rwlock_read_lock(pthread_rwlock_t *lock)
{
	for (int i = 0; i < RWLOCK_SPINS; i++) {
		if (pthread_rwlock_tryrdlock(lock) == 0)
			return;
		caa_cpu_relax();
	}
	pthread_rwlock_rdlock(lock);
}

static void rwlock_write_lock(pthread_rwlock_t *lock)
{
	for (int i = 0; i < RWLOCK_SPINS; i++) {
		if (pthread_rwlock_trywrlock(lock) == 0)
			return;
		caa_cpu_relax();
	}
	pthread_rwlock_wrlock(lock);
}

static uint64_t rwlock_get(struct worker *wk, uint64_t key)
{
	uint64_t value;

	rwlock_read_lock(&wk->run->rwlock);
	value = table_get_first(wk->run, key);
	pthread_rwlock_unlock(&wk->run->rwlock);
	return value;
}

static void rwlock_put(struct worker *wk, uint64_t key, uint64_t value)
{
	int err;

	rwlock_write_lock(&wk->run->rwlock);
	err = table_update(wk->run, key, value);
	pthread_rwlock_unlock(&wk->run->rwlock);
	if (err)
		fail(wk, err);
}

static int rwlock_setup(struct run *run)
{
	pthread_rwlockattr_t attr;
	int err = table_setup(run);

	if (err)
		return err;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(
	    &attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	err = -pthread_rwlock_init(&run->rwlock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (err)
		evmap__table_destroy(&run->table);
	return err;
}

static void rwlock_teardown(struct run *run)
{
	pthread_rwlock_destroy(&run->rwlock);
	evmap__table_destroy(&run->table);
}

static void *rwlock_thread(void *arg)
{
	struct worker *wk = arg;

	if (wk->write)
		drive(wk, NULL, rwlock_put);
	else
		drive(wk, rwlock_get, NULL);
	return NULL;
}

static uint64_t nosync_get(struct worker *wk, uint64_t key)
{
	return table_get_first(wk->run, key);
}

/* Every key of both distributions (0..KEY_SPAN) is present. */
static int nosync_setup(struct run *run)
{
	int err = table_setup(run);

	for (uint64_t key = 0; !err && key <= KEY_SPAN; key++)
		err = table_update(run, key, key + 1);
	if (err)
		evmap__table_destroy(&run->table);
	return err;
}

static void nosync_teardown(struct run *run)
{
	evmap__table_destroy(&run->table);
}

static void *nosync_thread(void *arg)
{
	drive(arg, nosync_get, NULL);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* lfht: liburcu's cds_lfht                                           */
/* ------------------------------------------------------------------ */

/* The same mixing as libevmap's fold: split-ordering uses the low bits. */
static inline unsigned long mix_hash(uint64_t key)
{
	uint64_t h = key * UINT64_C(0x9E3779B97F4A7C15);

	return (unsigned long)(h ^ (h >> 32));
}

static int lfht_match(struct cds_lfht_node *node, const void *key)
{
	const struct lfht_node *n =
	    caa_container_of(node, struct lfht_node, node);

	return n->key == *(const uint64_t *)key;
}

static void lfht_free_node(struct rcu_head *head)
{
	free(caa_container_of(head, struct lfht_node, rcu));
}

static uint64_t lfht_get(struct worker *wk, uint64_t key)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;
	uint64_t value = 0;

	urcu_memb_read_lock();
	cds_lfht_lookup(wk->run->lfht, mix_hash(key), lfht_match, &key, &iter);
	node = cds_lfht_iter_get_node(&iter);
	if (node)
		value = caa_container_of(node, struct lfht_node, node)->value;
	urcu_memb_read_unlock();
	return value;
}

static void lfht_put(struct worker *wk, uint64_t key, uint64_t value)
{
	struct lfht_node *n = malloc(sizeof(*n));
	struct cds_lfht_node *old;

	if (!n) {
		fail(wk, -ENOMEM);
		return;
	}
	cds_lfht_node_init(&n->node);
	n->key = key;
	n->value = value;
	urcu_memb_read_lock();
	old = cds_lfht_add_replace(wk->run->lfht, mix_hash(key), lfht_match,
				   &n->key, &n->node);
	urcu_memb_read_unlock();
	if (old)
		urcu_memb_call_rcu(
		    &caa_container_of(old, struct lfht_node, node)->rcu,
		    lfht_free_node);
}

static int lfht_setup(struct run *run)
{
	/* Power-of-two bucket counts around the 5 000 000 capacity, as the
	 * node-replication project's port of this benchmark sizes it. */
	run->lfht =
	    cds_lfht_new_flavor(1ul << 22, 1ul << 22, 1ul << 23,
				CDS_LFHT_AUTO_RESIZE, &urcu_memb_flavor, NULL);
	return run->lfht ? 0 : -ENOMEM;
}

/* Unlink and free every node; runs on its own, registered, thread. */
static void *lfht_drain(void *arg)
{
	struct run *run = arg;
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	urcu_memb_register_thread();
	urcu_memb_read_lock();
	for (cds_lfht_first(run->lfht, &iter);
	     (node = cds_lfht_iter_get_node(&iter)) != NULL;
	     cds_lfht_next(run->lfht, &iter)) {
		struct lfht_node *n =
		    caa_container_of(node, struct lfht_node, node);

		if (cds_lfht_del(run->lfht, node) == 0)
			urcu_memb_call_rcu(&n->rcu, lfht_free_node);
	}
	urcu_memb_read_unlock();
	urcu_memb_barrier(); /* every deferred free has run */
	urcu_memb_unregister_thread();
	return NULL;
}

static void lfht_teardown(struct run *run)
{
	pthread_t drainer;

	if (pthread_create(&drainer, NULL, lfht_drain, run) == 0)
		pthread_join(drainer, NULL);
	cds_lfht_destroy(run->lfht, NULL);
}

static void *lfht_thread(void *arg)
{
	struct worker *wk = arg;

	urcu_memb_register_thread();
	if (wk->write)
		drive(wk, NULL, lfht_put);
	else
		drive(wk, lfht_get, NULL);
	urcu_memb_unregister_thread();
	return NULL;
}

#if EVMAP_BENCH_CK
/* ------------------------------------------------------------------ */
/* ck: Concurrency Kit's ck_hs, SPMC mode, ck_epoch reclamation        */
/* ------------------------------------------------------------------ */

static unsigned long ck_node_hash(const void *object, unsigned long seed)
{
	return mix_hash(((const struct ck_node *)object)->key ^ seed);
}

static bool ck_node_equal(const void *a, const void *b)
{
	return ((const struct ck_node *)a)->key ==
	       ((const struct ck_node *)b)->key;
}

static void *ck_malloc_cb(size_t size)
{
	return malloc(size);
}

static void *ck_realloc_cb(void *p, size_t old_size, size_t new_size,
			   bool defer)
{
	(void)old_size;
	(void)defer;
	return realloc(p, new_size);
}

/* The table never grows here (10 000 keys, room for 5 000 000), so no
 * array is ever freed while readers may still see it. */
static void ck_free_cb(void *p, size_t size, bool defer)
{
	(void)size;
	(void)defer;
	free(p);
}

static struct ck_malloc ck_allocator = {
    .malloc = ck_malloc_cb,
    .realloc = ck_realloc_cb,
    .free = ck_free_cb,
};

static void ck_free_node(ck_epoch_entry_t *entry)
{
	free(caa_container_of(entry, struct ck_node, epoch_entry));
}

static ck_epoch_record_t *ck_record_new(ck_epoch_t *epoch)
{
	ck_epoch_record_t *rec = aligned_alloc(64, sizeof(*rec));

	if (rec)
		ck_epoch_register(epoch, rec, NULL);
	return rec;
}

static uint64_t ck_get(struct worker *wk, uint64_t key)
{
	struct ck_node probe = {.key = key};
	const struct ck_node *n;
	uint64_t value = 0;

	ck_epoch_begin(wk->ck_record, NULL);
	n = ck_hs_get(&wk->run->hs,
		      CK_HS_HASH(&wk->run->hs, ck_node_hash, &probe), &probe);
	if (n)
		value = n->value;
	ck_epoch_end(wk->ck_record, NULL);
	return value;
}

static void ck_put(struct worker *wk, uint64_t key, uint64_t value)
{
	struct run *run = wk->run;
	struct ck_node *n = malloc(sizeof(*n));
	void *previous = NULL;
	bool ok;

	if (!n) {
		fail(wk, -ENOMEM);
		return;
	}
	n->key = key;
	n->value = value;
	pthread_mutex_lock(&run->writer_lock);
	ok = ck_hs_set(&run->hs, CK_HS_HASH(&run->hs, ck_node_hash, n), n,
		       &previous);
	if (ok && previous) {
		struct ck_node *old = previous;

		ck_epoch_call(run->ck_writer_record, &old->epoch_entry,
			      ck_free_node);
	}
	/* Reclaim in batches: a poll scans every reader's record. */
	if ((++run->ck_writes & 63) == 0)
		ck_epoch_poll(run->ck_writer_record);
	pthread_mutex_unlock(&run->writer_lock);
	if (!ok) {
		free(n);
		fail(wk, -ENOMEM);
	}
}

static int ck_setup(struct run *run)
{
	ck_epoch_init(&run->epoch);
	run->ck_writer_record = ck_record_new(&run->epoch);
	if (!run->ck_writer_record)
		return -ENOMEM;
	run->ck_writes = 0;
	if (!ck_hs_init(&run->hs, CK_HS_MODE_SPMC | CK_HS_MODE_OBJECT,
			ck_node_hash, ck_node_equal, &ck_allocator,
			MAP_CAPACITY, 0x5eed)) {
		ck_epoch_unregister(run->ck_writer_record);
		free(run->ck_writer_record);
		return -ENOMEM;
	}
	return 0;
}

static void ck_teardown(struct run *run)
{
	ck_hs_iterator_t it = CK_HS_ITERATOR_INITIALIZER;
	void *object;

	/* Every reader has left: run every deferred free, then the nodes
	 * still in the table. */
	ck_epoch_barrier(run->ck_writer_record);
	while (ck_hs_next(&run->hs, &it, &object))
		free(object);
	ck_hs_destroy(&run->hs);
	ck_epoch_unregister(run->ck_writer_record);
	/* Records stay on the epoch's list until the epoch goes away: only
	 * now may their memory be freed (readers' records: see
	 * ck_thread). */
	free(run->ck_writer_record);
}

static void *ck_thread(void *arg)
{
	struct worker *wk = arg;

	if (wk->write) {
		drive(wk, NULL, ck_put);
		return NULL;
	}
	wk->ck_record = ck_record_new(&wk->run->epoch);
	if (!wk->ck_record)
		fail(wk, -ENOMEM);
	drive(wk, ck_get, NULL);
	if (wk->ck_record)
		ck_epoch_unregister(wk->ck_record);
	return NULL;
}

#endif /* EVMAP_BENCH_CK */

/* ------------------------------------------------------------------ */
/* null: the driver alone                                             */
/* ------------------------------------------------------------------ */

static uint64_t null_get(struct worker *wk, uint64_t key)
{
	(void)wk;
	return key;
}

static void null_put(struct worker *wk, uint64_t key, uint64_t value)
{
	wk->sink += key ^ value;
}

static void *null_thread(void *arg)
{
	struct worker *wk = arg;

	if (wk->write)
		drive(wk, NULL, null_put);
	else
		drive(wk, null_get, NULL);
	return NULL;
}

static int null_setup(struct run *run)
{
	(void)run;
	return 0;
}

static void null_teardown(struct run *run)
{
	(void)run;
}

/* ------------------------------------------------------------------ */
/* Running a variant                                                  */
/* ------------------------------------------------------------------ */

struct backend {
	int (*setup)(struct run *run);
	void (*teardown)(struct run *run);
	void *(*thread)(void *worker);
	bool single_reader; /* nosync: one reader, no writers */
};

static const struct backend backends[VARIANT_COUNT] = {
    [VARIANT_EVMAP] = {evmap_setup, evmap_teardown, evmap_thread, false},
    [VARIANT_RWLOCK] = {rwlock_setup, rwlock_teardown, rwlock_thread, false},
    [VARIANT_LFHT] = {lfht_setup, lfht_teardown, lfht_thread, false},
#if EVMAP_BENCH_CK
    [VARIANT_CK] = {ck_setup, ck_teardown, ck_thread, false},
#endif
    [VARIANT_NOSYNC] = {nosync_setup, nosync_teardown, nosync_thread, true},
    [VARIANT_NULL] = {null_setup, null_teardown, null_thread, false},
};

static int pregen(struct worker *wk, bool skewed)
{
	struct bench_zipf zipf;

	wk->keys = malloc(PREGEN_LEN * sizeof(*wk->keys));
	wk->values = malloc(PREGEN_LEN * sizeof(*wk->values));
	if (!wk->keys || !wk->values)
		return -ENOMEM;
	bench_zipf_init(&zipf, KEY_SPAN, ZIPF_EXPONENT);
	for (uint32_t i = 0; i < PREGEN_LEN; i++) {
		wk->keys[i] = skewed ? bench_zipf_sample(&zipf, &wk->rng)
				     : bench_rand_below(&wk->rng, KEY_SPAN);
		wk->values[i] = bench_rand(&wk->rng);
	}
	return 0;
}

static void print_results(const struct config *cfg, const char *name,
			  const struct worker *workers, int count, bool write)
{
	int index = 0;

	for (int i = 0; i < count; i++) {
		const struct worker *wk = &workers[i];
		double seconds = (double)wk->elapsed_ns / 1e9;

		if (wk->write != write)
			continue;
		printf("%2d %2d %-10s %-10s %8.0f ops/s %s %d", cfg->readers,
		       cfg->writers, cfg->skewed ? "skewed" : "uniform", name,
		       seconds > 0 ? (double)wk->ops / seconds : 0.0,
		       write ? "write" : "read", index++);
		if (cfg->pregen)
			printf(" %.1f ns/op", wk->ops ? (double)wk->elapsed_ns /
							    (double)wk->ops
						      : 0.0);
		putchar('\n');
	}
}

static int run_variant(const struct config *cfg, enum variant v)
{
	const struct backend *be = &backends[v];
	int readers = be->single_reader ? 1 : cfg->readers;
	int writers = be->single_reader ? 0 : cfg->writers;
	int count = readers + writers, err;
	struct run *run = calloc(1, sizeof(*run));
	struct worker *workers =
	    aligned_alloc(64, sizeof(*workers) * (size_t)(count ? count : 1));
	pthread_mutexattr_t mutex_attr;
	char name[32];

	if (!run || !workers) {
		free(run);
		free(workers);
		return -ENOMEM;
	}
	memset(workers, 0, sizeof(*workers) * (size_t)count);
	run->cfg = cfg;
	/* Adaptive: spins before it sleeps, like the original's
	 * parking_lot::Mutex. */
	pthread_mutexattr_init(&mutex_attr);
	pthread_mutexattr_settype(&mutex_attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&run->writer_lock, &mutex_attr);
	pthread_mutexattr_destroy(&mutex_attr);
	err = be->setup(run);
	if (err)
		goto out_free;
	pthread_barrier_init(&run->start, NULL, (unsigned int)count + 1);

	for (int i = 0; i < count; i++) {
		struct worker *wk = &workers[i];

		wk->run = run;
		wk->write = i >= readers;
		wk->index = wk->write ? i - readers : i;
		wk->rng = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(i + 1) ^
			  bench_now_ns();
		if (cfg->pregen && !err)
			err = pregen(wk, cfg->skewed);
	}
	if (err) {
		be->teardown(run);
		pthread_barrier_destroy(&run->start);
		goto out_free;
	}
	for (int i = 0; i < count; i++) {
		/* Threads already started wait at the barrier: there is no
		 * clean way back, and this is a benchmark. */
		if (pthread_create(&workers[i].thread, NULL, be->thread,
				   &workers[i]) != 0) {
			fprintf(stderr, "evmap-bench: cannot start thread\n");
			exit(1);
		}
	}
	/* The threads read end_ns after the barrier, which orders it. */
	run->end_ns = bench_now_ns() + (uint64_t)(cfg->seconds * 1e9);
	pthread_barrier_wait(&run->start);
	for (int i = 0; i < count; i++) {
		pthread_join(workers[i].thread, NULL);
		if (!err && workers[i].error)
			err = workers[i].error;
	}
	pthread_barrier_destroy(&run->start);
	be->teardown(run);
#if EVMAP_BENCH_CK
	if (v == VARIANT_CK)
		for (int i = 0; i < count; i++)
			free(workers[i].ck_record);
#endif

	if (!err) {
		if (v == VARIANT_EVMAP && cfg->refresh_every != 1)
			snprintf(name, sizeof(name), "evmap-refresh%lu",
				 cfg->refresh_every);
		else
			snprintf(name, sizeof(name), "%s", variant_names[v]);
		print_results(cfg, name, workers, count, true);
		print_results(cfg, name, workers, count, false);
		fflush(stdout);
	}
out_free:
	for (int i = 0; i < count; i++) {
		free(workers[i].keys);
		free(workers[i].values);
	}
	pthread_mutex_destroy(&run->writer_lock);
	free(workers);
	free(run);
	return err;
}

/* ------------------------------------------------------------------ */
/* Command line                                                       */
/* ------------------------------------------------------------------ */

static void usage(FILE *out, const char *prog)
{
	fprintf(
	    out,
	    "Usage: %s -r N -w N [options]\n"
	    "Concurrent hash map throughput, after evmap's benchmark.\n\n"
	    "  -r, --readers N     reader threads (required)\n"
	    "  -w, --writers N     writer threads (required)\n"
	    "  -d, --dist D        key distribution: uniform (default) or "
	    "skewed\n"
	    "                      (Zipf, exponent 1.03, over 10 000 keys)\n"
	    "  -e, --refresh N     evmap: refresh every N writes (default 1)\n"
	    "  -c, --compare       also run the peers: rwlock lfht ck nosync\n"
	    "  -V, --variants L    comma-separated variants to run, from\n"
	    "                      evmap rwlock lfht ck nosync null\n"
	    "  -t, --seconds S     seconds per variant (default 5, may be "
	    "fractional)\n"
	    "  -p, --pregen        draw keys in advance, read the clock every "
	    "%d ops,\n"
	    "                      print ns/op\n"
	    "  -h, --help          this text\n\n"
	    "Output, one line per thread:\n"
	    "  readers writers dist variant ops/s op thread [ns/op]\n",
	    prog, PREGEN_CLOCK_EVERY);
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_variants(char *list, unsigned int *mask)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		int v;

		for (v = 0; v < VARIANT_COUNT; v++)
			if (strcmp(tok, variant_names[v]) == 0)
				break;
		if (v == VARIANT_COUNT)
			return false;
		if (!backends[v].setup) {
			fprintf(stderr, "evmap-bench: the %s peer was not built "
				"(Concurrency Kit not found at setup)\n", tok);
			return false;
		}
		*mask |= 1u << v;
	}
	return *mask != 0;
}

static int parse_args(int argc, char **argv, struct config *cfg)
{
	static const struct option options[] = {
	    {"readers", required_argument, NULL, 'r'},
	    {"writers", required_argument, NULL, 'w'},
	    {"dist", required_argument, NULL, 'd'},
	    {"refresh", required_argument, NULL, 'e'},
	    {"compare", no_argument, NULL, 'c'},
	    {"variants", required_argument, NULL, 'V'},
	    {"seconds", required_argument, NULL, 't'},
	    {"pregen", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool compare = false;
	unsigned int chosen = 0;
	long n;
	int c;

	*cfg = (struct config){
	    .readers = -1, .writers = -1, .refresh_every = 1, .seconds = 5.0};
	while ((c = getopt_long(argc, argv, "r:w:d:e:cV:t:ph", options,
				NULL)) != -1) {
		switch (c) {
		case 'r':
		case 'w':
			if (!parse_long(optarg, 0, 1024, &n)) {
				fprintf(stderr, "%s: bad thread count '%s'\n",
					argv[0], optarg);
				return 2;
			}
			*(c == 'r' ? &cfg->readers : &cfg->writers) = (int)n;
			break;
		case 'd':
			if (strcmp(optarg, "uniform") &&
			    strcmp(optarg, "skewed")) {
				fprintf(stderr, "%s: bad distribution '%s'\n",
					argv[0], optarg);
				return 2;
			}
			cfg->skewed = strcmp(optarg, "skewed") == 0;
			break;
		case 'e':
			if (!parse_long(optarg, 1, 1L << 40, &n)) {
				fprintf(stderr,
					"%s: bad refresh interval '%s'\n",
					argv[0], optarg);
				return 2;
			}
			cfg->refresh_every = (unsigned long)n;
			break;
		case 'c':
			compare = true;
			break;
		case 'V':
			if (!parse_variants(optarg, &chosen)) {
				fprintf(stderr, "%s: bad variant list\n",
					argv[0]);
				return 2;
			}
			break;
		case 't': {
			char *end;

			cfg->seconds = strtod(optarg, &end);
			if (end == optarg || *end || !(cfg->seconds > 0) ||
			    cfg->seconds > 3600) {
				fprintf(stderr, "%s: bad duration '%s'\n",
					argv[0], optarg);
				return 2;
			}
			break;
		}
		case 'p':
			cfg->pregen = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(0);
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc || cfg->readers < 0 || cfg->writers < 0) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (!chosen) {
		chosen = 1u << VARIANT_EVMAP;
		if (compare)
			chosen |= 1u << VARIANT_RWLOCK | 1u << VARIANT_LFHT |
				  (EVMAP_BENCH_CK ? 1u << VARIANT_CK : 0) |
				  1u << VARIANT_NOSYNC;
	}
	cfg->variants = chosen;
	return 0;
}

int main(int argc, char **argv)
{
	/* The original runs the peers first and evmap last. */
	static const enum variant order[] = {
	    VARIANT_NULL, VARIANT_RWLOCK, VARIANT_LFHT,
	    VARIANT_CK,	  VARIANT_NOSYNC, VARIANT_EVMAP,
	};
	struct config cfg;
	int err = parse_args(argc, argv, &cfg);

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(cfg.variants & (1u << order[i])))
			continue;
		err = run_variant(&cfg, order[i]);
		if (err) {
			fprintf(stderr, "evmap-bench: variant %s failed: %s\n",
				variant_names[order[i]], strerror(-err));
			return 1;
		}
	}
	return 0;
}

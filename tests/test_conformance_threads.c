/* SPDX-License-Identifier: MIT */
/*
 * test_conformance_threads.c - tests/CONFORMANCE.md C8, C24-C27, C30, C32
 * and C33: one writer (the main thread unless said otherwise) against reader
 * threads. Readers check invariants the writer keeps at every refresh and
 * count violations; the main thread asserts after joining them. Nothing
 * waits on time: threads meet on barriers and events, and the only sleep
 * is the 2 ms a slow reader holds its section (C24's slow variant).
 * Loop counts shrink with EVMAP_TEST_SCALE and under sanitizers.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "test_util.h"

#define NREADERS 4

static void count(long *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static long counted(long *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static bool is_set(const int *flag)
{
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE) != 0;
}

static void set(int *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_RELEASE);
}

static void start_threads(pthread_t *t, size_t n, void *(*fn)(void *),
			  void *args, size_t arg_size)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(pthread_create(&t[i], NULL, fn,
						(char *)args + i * arg_size),
				 0);
}

static void join_threads(pthread_t *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
}

/* ---- 24. busy readers ---- */

struct busy_reader {
	evmap_reader *r;
	size_t n;
	bool slow;
	long violations;
	pthread_barrier_t *start;
};

static void hold_section(void)
{
	struct timespec ts = {0, 2 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

static void *busy_reader(void *arg)
{
	struct busy_reader *b = arg;
	size_t i;

	pthread_barrier_wait(b->start);
	for (i = 0; i < b->n; i++) {
		bool found = false;
		while (!found) {
			const evmap_view *v = evmap_enter(b->r);
			const evmap_values *vs = evmap_view_get(v, EVT_U64(i));
			if (vs) {
				found = true;
				if (evmap_values_len(vs) != 1 ||
				    EVT_NUM(evmap_values_at(vs, 0)) != i)
					count(&b->violations);
			}
			if (b->slow)
				hold_section();
			evmap_leave(b->r);
			if (!found)
				sched_yield();
		}
	}
	return NULL;
}

static void busy_readers(size_t n, bool slow)
{
	pthread_t t[NREADERS];
	struct busy_reader b[NREADERS];
	pthread_barrier_t start;
	evmap_writer *w;
	evmap_reader *r;
	size_t i;

	evt_new_u64_map(&w, &r);
	pthread_barrier_init(&start, NULL, NREADERS + 1);
	for (i = 0; i < NREADERS; i++) {
		b[i] = (struct busy_reader){.r = evmap_reader_clone(r),
					    .n = n,
					    .slow = slow,
					    .start = &start};
		assert_non_null(b[i].r);
	}
	start_threads(t, NREADERS, busy_reader, b, sizeof(b[0]));
	pthread_barrier_wait(&start);
	for (i = 0; i < n; i++) {
		assert_int_equal(evmap_insert(w, EVT_U64(i), EVT_U64(i)), 0);
		assert_int_equal(evmap_refresh(w), 0);
	}
	join_threads(t, NREADERS);
	for (i = 0; i < NREADERS; i++) {
		assert_int_equal(counted(&b[i].violations), 0);
		evmap_reader_free(b[i].r);
	}
	assert_int_equal(evmap_len(r), n);
	pthread_barrier_destroy(&start);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

/* 24. Four readers wait for keys 0..n-1 in order; each has one value. */
static void test_conf24_busy_readers(void **state)
{
	(void)state;
	busy_readers(evt_scale(100000, 200), false);
}

/* 24, slow variant: readers hold each section for 2 ms. */
static void test_conf24_busy_readers_slow(void **state)
{
	(void)state;
	busy_readers(evt_scale(1000, 20), true);
}

/* ---- 25. heap values ---- */

struct heap_value {
	size_t len;
	unsigned char bytes[];
};

static long heap_frees;

static void heap_free(void *item, void *ctx)
{
	(void)ctx;
	count(&heap_frees);
	free(item);
}

static const evmap_type heap_type = {.free = heap_free};

static void *heap_reader(void *arg)
{
	struct busy_reader *b = arg;
	size_t i, j;

	pthread_barrier_wait(b->start);
	for (i = 0; i < b->n; i++) {
		bool found = false;
		while (!found) {
			const evmap_view *v = evmap_enter(b->r);
			const evmap_values *vs = evmap_view_get(v, EVT_U64(i));
			if (vs) {
				const struct heap_value *hv =
					evmap_values_first(vs);
				found = true;
				if (evmap_values_len(vs) != 1 || !hv ||
				    hv->len != i) {
					count(&b->violations);
				} else {
					for (j = 0; j < i; j++)
						if (hv->bytes[j] !=
						    (unsigned char)i)
							break;
					if (j != i)
						count(&b->violations);
				}
			}
			evmap_leave(b->r);
			if (!found)
				sched_yield();
		}
	}
	return NULL;
}

/* 25. The same with values that are heap buffers of length i. */
static void test_conf25_heap_values(void **state)
{
	size_t n = evt_scale(3000, 100);
	pthread_t t[NREADERS];
	struct busy_reader b[NREADERS];
	pthread_barrier_t start;
	evmap_writer *w;
	evmap_reader *r;
	size_t i;

	(void)state;
	heap_frees = 0;
	assert_int_equal(evmap_new(&evmap_type_u64, &heap_type, NULL, &w, &r),
			 0);
	pthread_barrier_init(&start, NULL, NREADERS + 1);
	for (i = 0; i < NREADERS; i++) {
		b[i] = (struct busy_reader){
			.r = evmap_reader_clone(r), .n = n, .start = &start};
		assert_non_null(b[i].r);
	}
	start_threads(t, NREADERS, heap_reader, b, sizeof(b[0]));
	pthread_barrier_wait(&start);
	for (i = 0; i < n; i++) {
		struct heap_value *hv = malloc(sizeof(*hv) + i);
		assert_non_null(hv);
		hv->len = i;
		memset(hv->bytes, (int)(unsigned char)i, i);
		assert_int_equal(evmap_insert(w, EVT_U64(i), hv), 0);
		assert_int_equal(evmap_refresh(w), 0);
	}
	join_threads(t, NREADERS);
	for (i = 0; i < NREADERS; i++) {
		assert_int_equal(counted(&b[i].violations), 0);
		evmap_reader_free(b[i].r);
	}
	pthread_barrier_destroy(&start);
	evmap_reader_free(r);
	assert_int_equal(counted(&heap_frees), 0);
	evmap_writer_free(w);
	assert_int_equal(counted(&heap_frees), n);
}

/* ---- 26. clone churn ---- */

struct churn {
	evmap_reader *r;
	int done;
	long clones;
	long violations;
	pthread_barrier_t start;
};

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	size_t last_len = 0;

	pthread_barrier_wait(&c->start);
	while (!is_set(&c->done)) {
		evmap_reader *h = evmap_reader_clone(c->r);
		const evmap_view *v;
		evmap_reader *h2;

		if (!h) {
			count(&c->violations);
			continue;
		}
		/* a clone of a clone, entered nested with its parent */
		v = evmap_enter(h);
		h2 = evmap_reader_clone(h);
		if (v) {
			size_t len = evmap_view_len(v);
			/* the writer only adds keys */
			if (len < last_len)
				count(&c->violations);
			last_len = len;
		}
		if (h2) {
			const evmap_view *v2 = evmap_enter(h2);
			if (v2 && evmap_view_len(v2) < last_len)
				count(&c->violations);
			evmap_leave(h2);
			evmap_reader_free(h2);
		} else {
			count(&c->violations);
		}
		evmap_leave(h);
		evmap_reader_free(h);
		count(&c->clones);
	}
	return NULL;
}

/* 26. A thread clones and frees handles while the writer refreshes. */
static void test_conf26_clone_churn(void **state)
{
	size_t n = evt_scale(1000, 100), i;
	struct churn c = {0};
	pthread_t t[2];
	evmap_writer *w;

	(void)state;
	evt_new_u64_map(&w, &c.r);
	pthread_barrier_init(&c.start, NULL, 3);
	assert_int_equal(pthread_create(&t[0], NULL, churn_thread, &c), 0);
	assert_int_equal(pthread_create(&t[1], NULL, churn_thread, &c), 0);
	pthread_barrier_wait(&c.start);
	for (i = 0; i < n; i++) {
		assert_int_equal(evmap_insert(w, EVT_U64(i), EVT_U64(i)), 0);
		assert_int_equal(evmap_refresh(w), 0);
	}
	set(&c.done);
	join_threads(t, 2);
	assert_int_equal(counted(&c.violations), 0);
	assert_int_equal(evmap_len(c.r), n);
	pthread_barrier_destroy(&c.start);
	evmap_reader_free(c.r);
	evmap_writer_free(w);
}

/* ---- 27. big bag ---- */

#define BAG_VALUES 31 /* values 1..31 (0 would read as "out of range") */
#define BAG_COPIES 32

struct bag_reader {
	evmap_reader *r;
	long violations;
	long checks;
	long max_len;
	pthread_barrier_t *start;
};

static void check_big_bag(struct bag_reader *b, const evmap_values *vs)
{
	size_t counts[BAG_VALUES + 1] = {0};
	size_t len = evmap_values_len(vs), i;
	const void *item;

	if (len > BAG_VALUES * BAG_COPIES)
		count(&b->violations);
	if ((long)len > b->max_len)
		b->max_len = (long)len;
	for (i = 0; (item = evmap_values_at(vs, i)) != NULL; i++) {
		uint64_t n = EVT_NUM(item);
		if (n < 1 || n > BAG_VALUES || ++counts[n] > BAG_COPIES) {
			count(&b->violations);
			return;
		}
	}
	if (i != len)
		count(&b->violations);
	for (i = 1; i <= BAG_VALUES; i++)
		if (evmap_values_contains(vs, EVT_U64(i)) != (counts[i] > 0))
			count(&b->violations);
	if (evmap_values_contains(vs, EVT_U64(BAG_VALUES + 1)))
		count(&b->violations);
	b->checks++;
}

static void *bag_reader(void *arg)
{
	struct bag_reader *b = arg;

	pthread_barrier_wait(b->start);
	for (;;) {
		const evmap_view *v = evmap_enter(b->r);
		if (!v) {
			evmap_leave(b->r);
			if (evmap_is_destroyed(b->r))
				break;
			sched_yield();
			continue;
		}
		check_big_bag(b, evmap_view_get(v, EVT_U64(0)));
		evmap_leave(b->r);
	}
	return NULL;
}

static void big_bag(const evmap_type *value_type)
{
	struct bag_reader b[2];
	pthread_barrier_t start;
	pthread_t t[2];
	evmap_writer *w;
	evmap_reader *r;
	uint64_t copy, value;
	size_t i;

	assert_int_equal(evmap_new(&evmap_type_u64, value_type, NULL, &w, &r),
			 0);
	pthread_barrier_init(&start, NULL, 3);
	for (i = 0; i < 2; i++) {
		b[i] = (struct bag_reader){.r = evmap_reader_clone(r),
					   .start = &start};
		assert_non_null(b[i].r);
	}
	start_threads(t, 2, bag_reader, b, sizeof(b[0]));
	pthread_barrier_wait(&start);
	for (copy = 0; copy < BAG_COPIES; copy++) {
		for (value = 1; value <= BAG_VALUES; value++)
			assert_int_equal(
				evmap_insert(w, EVT_U64(0), EVT_U64(value)), 0);
		assert_int_equal(evmap_refresh(w), 0);
	}
	assert_int_equal(evt_len_of(r, EVT_U64(0)), BAG_VALUES * BAG_COPIES);
	for (copy = 0; copy < BAG_COPIES; copy++) {
		for (value = 1; value <= BAG_VALUES; value++) {
			assert_int_equal(evmap_remove_value(w, EVT_U64(0),
							    EVT_U64(value)),
					 0);
			assert_int_equal(evmap_fit(w, EVT_U64(0)), 0);
			assert_int_equal(evmap_refresh(w), 0);
		}
	}
	assert_int_equal(evt_len_of(r, EVT_U64(0)), 0);
	/* freeing the writer ends the readers' loops */
	evmap_writer_free(w);
	join_threads(t, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(counted(&b[i].violations), 0);
		assert_true(b[i].max_len <= BAG_VALUES * BAG_COPIES);
		evmap_reader_free(b[i].r);
	}
	pthread_barrier_destroy(&start);
	evmap_reader_free(r);
}

/* 27. A bag of 32*31 values with duplicates grows and shrinks under a
 * reader (hashable values: the bag gets its hash index). */
static void test_conf27_big_bag(void **state)
{
	(void)state;
	big_bag(&evmap_type_u64);
}

/* 27, with a value type without hash (bags stay linear). */
static const evmap_type unhashed_type = {0};

static void test_conf27_big_bag_unhashed(void **state)
{
	(void)state;
	big_bag(&unhashed_type);
}

/* ---- 30. refresh is atomic for readers ---- */

struct len_poller {
	evmap_reader *r;
	int *done;
	long violations;
	long saw_four;
	pthread_barrier_t *start;
};

static void *len_poller(void *arg)
{
	struct len_poller *p = arg;

	pthread_barrier_wait(p->start);
	while (!is_set(p->done)) {
		size_t len = evmap_len(p->r);
		if (len == 4)
			p->saw_four++;
		else if (len != 0)
			count(&p->violations);
	}
	return NULL;
}

/* 30. Readers polling evmap_len see 0 or 4, never anything between. */
static void test_conf30_len_is_zero_or_four(void **state)
{
	size_t rounds = evt_scale(2000, 50), i;
	struct len_poller p[NREADERS];
	pthread_barrier_t start;
	pthread_t t[NREADERS];
	evmap_writer *w;
	evmap_reader *r;
	int done = 0;
	uint64_t k;

	(void)state;
	evt_new_u64_map(&w, &r);
	pthread_barrier_init(&start, NULL, NREADERS + 1);
	for (i = 0; i < NREADERS; i++) {
		p[i] = (struct len_poller){.r = evmap_reader_clone(r),
					   .done = &done,
					   .start = &start};
		assert_non_null(p[i].r);
	}
	start_threads(t, NREADERS, len_poller, p, sizeof(p[0]));
	pthread_barrier_wait(&start);
	for (i = 0; i < rounds; i++) {
		for (k = 0; k < 4; k++)
			assert_int_equal(evmap_insert(w, EVT_U64(k), EVT_U64(i)),
					 0);
		assert_int_equal(evmap_refresh(w), 0);
		assert_int_equal(evmap_purge(w), 0);
		assert_int_equal(evmap_refresh(w), 0);
	}
	set(&done);
	join_threads(t, NREADERS);
	for (i = 0; i < NREADERS; i++) {
		assert_int_equal(counted(&p[i].violations), 0);
		evmap_reader_free(p[i].r);
	}
	pthread_barrier_destroy(&start);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

/* ---- 32. no deadlock between handle creation and a waiting refresh ---- */

struct conf32 {
	evmap_writer *w;
	evmap_reader *source; /* cloned from by the cloning threads */
	struct evt_event refresh_blocks;
	int waited_refresh_rc;
	int try_attempts;
	long failures;
};

/* The writer: publishes until try_refresh reports that a reader (the main
 * thread) holds the copy it must update, then refreshes for real, which
 * must wait for the main thread. */
static void *conf32_writer(void *arg)
{
	struct conf32 *c = arg;
	int rc = 0;

	for (c->try_attempts = 0; c->try_attempts < 10; c->try_attempts++) {
		if (evmap_insert(c->w, EVT_U64(c->try_attempts), EVT_U64(1)))
			count(&c->failures);
		rc = evmap_try_refresh(c->w);
		if (rc == -EAGAIN)
			break;
	}
	if (rc != -EAGAIN)
		count(&c->failures);
	evt_event_set(&c->refresh_blocks);
	c->waited_refresh_rc = evmap_refresh(c->w);
	return NULL;
}

static void *conf32_fresh_thread(void *arg)
{
	struct conf32 *c = arg;
	evmap_reader *h = evmap_reader_clone(c->source);

	/* this thread registers with RCU while the refresh waits */
	if (!h) {
		count(&c->failures);
		return NULL;
	}
	evmap_enter(h);
	evmap_leave(h);
	evmap_reader_free(h);
	return NULL;
}

static void *conf32_cloner(void *arg)
{
	struct conf32 *c = arg;
	pthread_t t[8];
	size_t i;

	for (i = 0; i < 100; i++) {
		evmap_reader *h = evmap_reader_clone(c->source);
		if (!h) {
			count(&c->failures);
			continue;
		}
		evmap_enter(h);
		evmap_leave(h);
		evmap_reader_free(h);
	}
	for (i = 0; i < EVT_ARRAY_SIZE(t); i++)
		if (pthread_create(&t[i], NULL, conf32_fresh_thread, c))
			count(&c->failures);
	for (i = 0; i < EVT_ARRAY_SIZE(t); i++)
		pthread_join(t[i], NULL);
	return NULL;
}

/* 32. While a refresh waits for the main thread's section, other threads
 * (new ones included) and the main thread clone, enter and free handles;
 * nothing deadlocks (a deadlock hangs until meson's timeout). */
static void test_conf32_clone_while_refresh_waits(void **state)
{
	struct conf32 c = {0};
	pthread_t writer, cloner;
	evmap_reader *r, *mine[16];
	const evmap_view *v;
	size_t i;

	(void)state;
	evt_new_u64_map(&c.w, &r);
	c.source = evmap_reader_clone(r);
	assert_non_null(c.source);
	evt_event_init(&c.refresh_blocks);
	assert_int_equal(evmap_refresh(c.w), 0);

	v = evmap_enter(r);
	assert_non_null(v);
	assert_int_equal(pthread_create(&writer, NULL, conf32_writer, &c), 0);
	evt_event_wait(&c.refresh_blocks);

	/* the writer is in (or about to be in) a refresh that waits for us */
	assert_int_equal(pthread_create(&cloner, NULL, conf32_cloner, &c), 0);
	assert_int_equal(pthread_join(cloner, NULL), 0);
	for (i = 0; i < EVT_ARRAY_SIZE(mine); i++) {
		mine[i] = evmap_reader_clone(r);
		assert_non_null(mine[i]);
		evmap_enter(mine[i]);
		evmap_leave(mine[i]);
	}
	assert_int_equal(evmap_view_generation(v), 1);
	evmap_leave(r);

	assert_int_equal(pthread_join(writer, NULL), 0);
	assert_int_equal(c.waited_refresh_rc, 0);
	assert_int_equal(counted(&c.failures), 0);
	assert_int_equal(evmap_len(r), (size_t)c.try_attempts + 1);
	for (i = 0; i < EVT_ARRAY_SIZE(mine); i++)
		evmap_reader_free(mine[i]);
	evt_event_destroy(&c.refresh_blocks);
	evmap_reader_free(c.source);
	evmap_reader_free(r);
	evmap_writer_free(c.w);
}

/* ---- 33. freeing the writer under busy readers ---- */

struct teardown_reader {
	evmap_reader *r;
	long violations;
	long sections;
	pthread_barrier_t *start;
};

static void *teardown_reader(void *arg)
{
	struct teardown_reader *t = arg;

	pthread_barrier_wait(t->start);
	while (!evmap_is_destroyed(t->r)) {
		const evmap_view *v = evmap_enter(t->r);
		const void *key;
		const evmap_values *vs;
		evmap_iter it;
		size_t i;

		evmap_view_iter(v, &it);
		while (v && evmap_iter_next(&it, &key, &vs)) {
			if (evt_ct_is_freed(key))
				count(&t->violations);
			for (i = 0; i < evmap_values_len(vs); i++)
				if (evt_ct_is_freed(evmap_values_at(vs, i)))
					count(&t->violations);
		}
		evmap_leave(t->r);
		t->sections++;
	}
	/* afterwards: enter gives NULL, shortcuts report absent */
	if (evmap_enter(t->r))
		count(&t->violations);
	evmap_leave(t->r);
	if (evmap_len(t->r) != 0 || evmap_contains_key(t->r, "k0"))
		count(&t->violations);
	return NULL;
}

/* 33. Readers keep entering and leaving while the writer is freed: no
 * race, no use after free, every item freed once and never while seen. */
static void test_conf33_writer_free_under_readers(void **state)
{
	size_t rounds = evt_scale(200, 10), i, k;
	struct teardown_reader tr[NREADERS];
	pthread_barrier_t start;
	pthread_t t[NREADERS];
	evmap_writer *w;
	evmap_reader *r;
	char key[16], value[16];

	(void)state;
	assert_int_equal(evmap_new(&evt_ct_type, &evt_ct_type, NULL, &w, &r),
			 0);
	pthread_barrier_init(&start, NULL, NREADERS + 1);
	for (i = 0; i < NREADERS; i++) {
		tr[i] = (struct teardown_reader){.r = evmap_reader_clone(r),
						 .start = &start};
		assert_non_null(tr[i].r);
	}
	start_threads(t, NREADERS, teardown_reader, tr, sizeof(tr[0]));
	pthread_barrier_wait(&start);
	for (i = 0; i < rounds; i++) {
		for (k = 0; k < 8; k++) {
			snprintf(key, sizeof(key), "k%zu", (i + k) % 16);
			snprintf(value, sizeof(value), "v%zu", i);
			assert_int_equal(evmap_insert(w, key, value), 0);
		}
		snprintf(key, sizeof(key), "k%zu", (i * 7) % 16);
		assert_int_equal(evmap_remove_key(w, key), 0);
		snprintf(key, sizeof(key), "k%zu", (i * 3) % 16);
		assert_int_equal(evmap_update(w, key, "u"), 0);
		assert_int_equal(evmap_refresh(w), 0);
	}
	/* pending writes too */
	assert_int_equal(evmap_insert(w, "pending", "p"), 0);
	evmap_writer_free(w);
	join_threads(t, NREADERS);
	for (i = 0; i < NREADERS; i++) {
		assert_int_equal(counted(&tr[i].violations), 0);
		evmap_reader_free(tr[i].r);
	}
	pthread_barrier_destroy(&start);
	evmap_reader_free(r);
	evt_ct_assert_clean();
}

/* ---- 8. reader threads that end without cleaning up ---- */

struct leaver {
	evmap_reader *parent;
	evmap_reader *orphan; /* out: the handle the thread left behind */
	struct evt_event entered;
	long sections;
	/* pthread_setcancelstate()'s old state: not in the cancelled
	 * thread's own frame, whose stack redzones AddressSanitizer does
	 * not clear when cancellation unwinds it (the thread's exit
	 * handlers then run over them: a false stack-buffer-underflow) */
	int old_cancel_state;
};

static void *exits_holding_handle(void *arg)
{
	struct leaver *l = arg;
	int i;

	l->orphan = evmap_reader_clone(l->parent);
	for (i = 0; i < 10; i++) {
		evmap_enter(l->orphan);
		evmap_leave(l->orphan);
	}
	pthread_exit(NULL); /* without evmap_reader_free */
}

static void *cancelled_between_sections(void *arg)
{
	struct leaver *l = arg;
	bool signalled = false;

	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
	l->orphan = evmap_reader_clone(l->parent);
	for (;;) {
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE,
				       &l->old_cancel_state);
		evmap_enter(l->orphan);
		evmap_leave(l->orphan);
		l->sections++;
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE,
				       &l->old_cancel_state);
		if (!signalled) {
			evt_event_set(&l->entered);
			signalled = true;
		}
		pthread_testcancel();
		sched_yield();
	}
	return NULL;
}

static void writer_still_works(evmap_writer *w, evmap_reader *r, uint64_t k)
{
	assert_int_equal(evmap_insert(w, EVT_U64(k), EVT_U64(k)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_true(evmap_contains_value(r, EVT_U64(k), EVT_U64(k)));
}

/* 8. A reader thread that exits holding its handle does not block the
 * writer; the handle stays usable from another thread, and freeable. */
static void test_conf08_reader_thread_exits_with_handle(void **state)
{
	struct leaver l = {0};
	evmap_writer *w;
	pthread_t t;

	(void)state;
	evt_new_u64_map(&w, &l.parent);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(pthread_create(&t, NULL, exits_holding_handle, &l), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_non_null(l.orphan);
	writer_still_works(w, l.parent, 1);
	/* the orphan moves to this thread */
	assert_int_equal(evt_len_of(l.orphan, EVT_U64(1)), 1);
	writer_still_works(w, l.orphan, 2);
	evmap_reader_free(l.orphan);
	writer_still_works(w, l.parent, 3);
	evmap_reader_free(l.parent);
	evmap_writer_free(w);
}

/* 8. A reader thread cancelled between sections does not block the
 * writer; its handle is freed by another thread. */
static void test_conf08_reader_thread_cancelled(void **state)
{
	struct leaver l = {0};
	evmap_writer *w;
	pthread_t t;
	void *ret;

	(void)state;
	evt_event_init(&l.entered);
	evt_new_u64_map(&w, &l.parent);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(
		pthread_create(&t, NULL, cancelled_between_sections, &l), 0);
	evt_event_wait(&l.entered);
	writer_still_works(w, l.parent, 1);
	assert_int_equal(pthread_cancel(t), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_ptr_equal(ret, PTHREAD_CANCELED);
	assert_true(l.sections > 0);
	writer_still_works(w, l.parent, 2);
	evmap_reader_free(l.orphan);
	writer_still_works(w, l.parent, 3);
	evmap_reader_free(l.parent);
	evmap_writer_free(w);
	evt_event_destroy(&l.entered);
}

/* 8. Many short-lived reader threads, none freeing its handle before it
 * ends: the writer keeps refreshing. */
static void test_conf08_many_short_lived_reader_threads(void **state)
{
	enum { N = 32 };
	struct leaver l[N];
	evmap_writer *w;
	evmap_reader *r;
	pthread_t t;
	size_t i;

	(void)state;
	evt_new_u64_map(&w, &r);
	assert_int_equal(evmap_refresh(w), 0);
	for (i = 0; i < N; i++) {
		l[i] = (struct leaver){.parent = r};
		assert_int_equal(
			pthread_create(&t, NULL, exits_holding_handle, &l[i]),
			0);
		assert_int_equal(pthread_join(t, NULL), 0);
		writer_still_works(w, r, i);
	}
	evmap_writer_free(w);
	for (i = 0; i < N; i++)
		evmap_reader_free(l[i].orphan);
	evmap_reader_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf08_reader_thread_exits_with_handle),
		cmocka_unit_test(test_conf08_reader_thread_cancelled),
		cmocka_unit_test(test_conf08_many_short_lived_reader_threads),
		cmocka_unit_test(test_conf24_busy_readers),
		cmocka_unit_test(test_conf24_busy_readers_slow),
		cmocka_unit_test(test_conf25_heap_values),
		cmocka_unit_test(test_conf26_clone_churn),
		cmocka_unit_test(test_conf27_big_bag),
		cmocka_unit_test(test_conf27_big_bag_unhashed),
		cmocka_unit_test(test_conf30_len_is_zero_or_four),
		cmocka_unit_test(test_conf32_clone_while_refresh_waits),
		cmocka_unit_test(test_conf33_writer_free_under_readers),
	};
	return cmocka_run_group_tests_name("conformance_threads", tests, NULL,
					   NULL);
}

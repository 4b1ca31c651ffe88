/* SPDX-License-Identifier: MIT */
/*
 * test_util.c - helpers shared by the libevmap test programs (see
 * test_util.h): map constructors and fixtures, the counting item type,
 * counted metas, read helpers and thread helpers.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

size_t evt_scale(size_t n, size_t min)
{
	const char *env = getenv("EVMAP_TEST_SCALE");
	double factor = 1.0;
	size_t scaled;

#if defined(__SANITIZE_THREAD__)
	factor = 0.05;
#elif defined(__SANITIZE_ADDRESS__)
	factor = 0.2;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
	factor = 0.05;
#elif __has_feature(address_sanitizer)
	factor = 0.2;
#endif
#endif
	if (env && *env)
		factor = strtod(env, NULL);
	scaled = (size_t)((double)n * factor);
	return scaled < min ? min : scaled;
}

/* ---- the counting type ---- */

#define CT_MAGIC 0x65766d74u

struct ct_item {
	unsigned int magic;
	int frees; /* atomic */
	char str[];
};

static pthread_mutex_t ct_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ct_item **ct_items;
static size_t ct_len, ct_cap;
static size_t ct_foreign; /* under ct_lock */

static struct ct_item *ct_item_of(const void *item)
{
	return (struct ct_item *)((char *)(uintptr_t)item -
				  offsetof(struct ct_item, str));
}

const char *evt_ct_new(const char *s)
{
	size_t n = strlen(s) + 1;
	struct ct_item *it = malloc(sizeof(*it) + n);

	if (!it)
		return NULL;
	it->magic = CT_MAGIC;
	it->frees = 0;
	memcpy(it->str, s, n);
	pthread_mutex_lock(&ct_lock);
	if (ct_len == ct_cap) {
		size_t cap = ct_cap ? 2 * ct_cap : 1024;
		struct ct_item **items = realloc(ct_items, cap * sizeof(*items));
		if (!items) {
			pthread_mutex_unlock(&ct_lock);
			free(it);
			return NULL;
		}
		ct_items = items;
		ct_cap = cap;
	}
	ct_items[ct_len++] = it;
	pthread_mutex_unlock(&ct_lock);
	return it->str;
}

bool evt_ct_is_freed(const void *item)
{
	return __atomic_load_n(&ct_item_of(item)->frees, __ATOMIC_ACQUIRE) != 0;
}

static uint64_t ct_hash(const void *item, void *ctx)
{
	const unsigned char *p = item;
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	(void)ctx;
	while (*p)
		h = (h ^ *p++) * UINT64_C(0x100000001b3);
	return h;
}

static bool ct_equal(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return strcmp(a, b) == 0;
}

static void *ct_clone(const void *item, void *ctx)
{
	(void)ctx;
	return (void *)(uintptr_t)evt_ct_new(item);
}

static void ct_free(void *item, void *ctx)
{
	struct ct_item *it = ct_item_of(item);

	(void)ctx;
	/* The magic is read before the counter: an item not made here
	 * (a foreign pointer) would make the map's caller's memory ours. */
	if (it->magic != CT_MAGIC) {
		pthread_mutex_lock(&ct_lock);
		ct_foreign++;
		pthread_mutex_unlock(&ct_lock);
		return;
	}
	__atomic_fetch_add(&it->frees, 1, __ATOMIC_ACQ_REL);
}

const evmap_type evt_ct_type = {
	.hash = ct_hash,
	.equal = ct_equal,
	.clone = ct_clone,
	.free = ct_free,
};

const evmap_type evt_ct_owned_type = {
	.hash = ct_hash,
	.equal = ct_equal,
	.free = ct_free,
};

void evt_ct_stats(struct evt_ct_stats *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&ct_lock);
	st->created = ct_len;
	st->foreign_frees = ct_foreign;
	for (i = 0; i < ct_len; i++) {
		int frees = __atomic_load_n(&ct_items[i]->frees, __ATOMIC_ACQUIRE);
		if (frees > 0)
			st->freed++;
		if (frees > 1)
			st->double_frees += (size_t)(frees - 1);
	}
	pthread_mutex_unlock(&ct_lock);
	st->live = st->created - st->freed;
}

void evt_ct_reset(void)
{
	size_t i;

	pthread_mutex_lock(&ct_lock);
	for (i = 0; i < ct_len; i++) {
		ct_items[i]->magic = 0;
		free(ct_items[i]);
	}
	free(ct_items);
	ct_items = NULL;
	ct_len = ct_cap = 0;
	ct_foreign = 0;
	pthread_mutex_unlock(&ct_lock);
}

void evt_ct_assert_clean(void)
{
	struct evt_ct_stats st;
	size_t i, shown = 0;

	evt_ct_stats(&st);
	pthread_mutex_lock(&ct_lock);
	for (i = 0; i < ct_len && shown < 10; i++) {
		if (ct_items[i]->frees != 1 && ++shown)
			print_message("# item \"%s\" freed %d times\n",
				      ct_items[i]->str, ct_items[i]->frees);
	}
	pthread_mutex_unlock(&ct_lock);
	evt_ct_reset();
	assert_int_equal(st.double_frees, 0);
	assert_int_equal(st.foreign_frees, 0);
	assert_int_equal(st.live, 0);
}

/* ---- metas ---- */

static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static struct evt_meta **metas;
static size_t metas_len;

struct evt_meta *evt_meta_new(int value)
{
	struct evt_meta *m = calloc(1, sizeof(*m));
	struct evt_meta **grown;

	if (!m)
		return NULL;
	m->value = value;
	pthread_mutex_lock(&meta_lock);
	grown = realloc(metas, (metas_len + 1) * sizeof(*metas));
	if (grown) {
		metas = grown;
		metas[metas_len++] = m;
	}
	pthread_mutex_unlock(&meta_lock);
	return m;
}

void evt_meta_free(void *meta)
{
	struct evt_meta *m = meta;
	__atomic_fetch_add(&m->frees, 1, __ATOMIC_ACQ_REL);
}

int evt_meta_frees(const struct evt_meta *m)
{
	return __atomic_load_n(&m->frees, __ATOMIC_ACQUIRE);
}

void evt_meta_reset(void)
{
	size_t i;

	pthread_mutex_lock(&meta_lock);
	for (i = 0; i < metas_len; i++)
		free(metas[i]);
	free(metas);
	metas = NULL;
	metas_len = 0;
	pthread_mutex_unlock(&meta_lock);
}

/* ---- reading ---- */

long evt_len_of(evmap_reader *r, const void *key)
{
	const evmap_view *v = evmap_enter(r);
	const evmap_values *vs;
	long len;

	if (!v) {
		evmap_leave(r);
		return EVT_NOT_READY;
	}
	vs = evmap_view_get(v, key);
	len = vs ? (long)evmap_values_len(vs) : EVT_ABSENT;
	evmap_leave(r);
	return len;
}

size_t evt_count_str(const evmap_values *vs, const char *s)
{
	size_t i, n = 0, len = evmap_values_len(vs);

	for (i = 0; i < len; i++) {
		const char *v = evmap_values_at(vs, i);
		if (v && strcmp(v, s) == 0)
			n++;
	}
	return n;
}

size_t evt_count_u64(const evmap_values *vs, uint64_t n)
{
	size_t i, count = 0, len = evmap_values_len(vs);

	for (i = 0; i < len; i++)
		if (EVT_NUM(evmap_values_at(vs, i)) == n)
			count++;
	return count;
}

/* ---- threads ---- */

struct run_arg {
	void (*fn)(void *arg);
	void *arg;
};

static void *run_trampoline(void *p)
{
	struct run_arg *ra = p;
	ra->fn(ra->arg);
	return NULL;
}

bool evt_fail_every_allocation(size_t size, void *ctx)
{
	(void)size;
	(void)ctx;
	return true;
}

void evt_run_in_thread(void (*fn)(void *arg), void *arg)
{
	struct run_arg ra = {fn, arg};
	pthread_t t;

	if (pthread_create(&t, NULL, run_trampoline, &ra) != 0) {
		fail_msg("pthread_create failed");
		return;
	}
	pthread_join(t, NULL);
}

void evt_assert_child_succeeds(int (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

struct event_impl {
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

void evt_event_init(struct evt_event *e)
{
	struct event_impl *impl = malloc(sizeof(*impl));

	assert_non_null(impl);
	pthread_mutex_init(&impl->lock, NULL);
	pthread_cond_init(&impl->cond, NULL);
	e->set = 0;
	e->impl = impl;
}

void evt_event_destroy(struct evt_event *e)
{
	struct event_impl *impl = e->impl;

	pthread_mutex_destroy(&impl->lock);
	pthread_cond_destroy(&impl->cond);
	free(impl);
	e->impl = NULL;
}

void evt_event_set(struct evt_event *e)
{
	struct event_impl *impl = e->impl;

	pthread_mutex_lock(&impl->lock);
	e->set = 1;
	pthread_cond_broadcast(&impl->cond);
	pthread_mutex_unlock(&impl->lock);
}

void evt_event_wait(struct evt_event *e)
{
	struct event_impl *impl = e->impl;

	pthread_mutex_lock(&impl->lock);
	while (!e->set)
		pthread_cond_wait(&impl->cond, &impl->lock);
	pthread_mutex_unlock(&impl->lock);
}

static void *section_holder_main(void *arg)
{
	struct evt_section_holder *h = arg;

	evmap_enter(h->r);
	evt_event_set(&h->inside);
	evt_event_wait(&h->release);
	evmap_leave(h->r);
	return NULL;
}

void evt_hold_section(struct evt_section_holder *h, evmap_reader *r)
{
	h->r = r;
	evt_event_init(&h->inside);
	evt_event_init(&h->release);
	assert_int_equal(pthread_create(&h->thread, NULL, section_holder_main,
					h),
			 0);
	evt_event_wait(&h->inside);
}

void evt_release_section(struct evt_section_holder *h)
{
	evt_event_set(&h->release);
	assert_int_equal(pthread_join(h->thread, NULL), 0);
	evt_event_destroy(&h->inside);
	evt_event_destroy(&h->release);
}

static int setup_fixture(void **state, const evmap_type *key_type,
			 const evmap_type *value_type)
{
	struct evt_fixture *f = calloc(1, sizeof(*f));

	if (!f || evmap_new(key_type, value_type, NULL, &f->w, &f->r)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

int evt_setup_u64(void **state)
{
	return setup_fixture(state, &evmap_type_u64, &evmap_type_u64);
}

int evt_setup_ct(void **state)
{
	return setup_fixture(state, &evt_ct_type, &evt_ct_type);
}

int evt_teardown(void **state)
{
	struct evt_fixture *f = *state;

	evmap_reader_free(f->r);
	evmap_writer_free(f->w);
	free(f);
	evt_ct_assert_clean();
	return 0;
}

void evt_new_u64_map(evmap_writer **w, evmap_reader **r)
{
	assert_int_equal(evmap_new(&evmap_type_u64, &evmap_type_u64, NULL, w, r),
			 0);
}

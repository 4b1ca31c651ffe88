/* SPDX-License-Identifier: MIT */
/*
 * rcu.c - thread registration, grace periods and deferred work over
 * liburcu's memb flavor.
 *
 * Registration: a thread is registered with RCU the first time one of its
 * handles needs it, and unregistered when its last binding goes on that
 * thread or when the thread exits (a pthread key destructor), so threads
 * that exit holding handles never stall grace periods. A thread that the
 * application registered itself is used as is and never unregistered here.
 * All binding changes happen under bind_lock; the hot path only compares
 * the binding's owner with pthread_self().
 *
 * Why a stale binding cannot be used: a binding's owner is cleared (under
 * bind_lock) by the owner thread's exit destructor, before the thread's
 * pthread_t can be reused by a new thread; so a handle whose owner equals
 * the caller's pthread_self() was bound by the caller itself.
 */
#include "rcu.h"

#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <urcu/call-rcu.h>

#include "alloc.h"

#ifdef EVMAP_TSAN
char evmap__tsan_grace_token;
#endif

struct evmap__rcu_thread {
	struct evmap__rcu_binding *bindings;
	struct urcu_reader *reader;
	bool registered_by_us;
	struct evmap__rcu_thread *prev, *next; /* all_threads */
};

static pthread_mutex_t bind_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;
static int key_error;
static __thread struct evmap__rcu_thread *current_thread;
/* Every thread that has bound a handle (under bind_lock). */
static struct evmap__rcu_thread *all_threads;

static void detach_binding(struct evmap__rcu_binding *b)
{
	struct evmap__rcu_thread *t = b->thread;
	if (!t)
		return;
	if (b->prev)
		b->prev->next = b->next;
	else
		t->bindings = b->next;
	if (b->next)
		b->next->prev = b->prev;
	b->prev = b->next = NULL;
	b->thread = NULL;
	b->reader = NULL;
	__atomic_store_n(&b->owner, 0, __ATOMIC_RELAXED);
}

/* The calling thread has no binding left: give back its registration. */
static void release_thread(struct evmap__rcu_thread *t)
{
	pthread_mutex_lock(&bind_lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		all_threads = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&bind_lock);
	if (t->registered_by_us)
		urcu_memb_unregister_thread();
	pthread_setspecific(thread_key, NULL);
	current_thread = NULL;
	evmap__free(t);
}

static void thread_exit(void *arg)
{
	struct evmap__rcu_thread *t = arg;

	pthread_mutex_lock(&bind_lock);
	while (t->bindings)
		detach_binding(t->bindings);
	pthread_mutex_unlock(&bind_lock);
	release_thread(t);
}

static void make_key(void)
{
	key_error = pthread_key_create(&thread_key, thread_exit);
}

static struct evmap__rcu_thread *this_thread(void)
{
	struct evmap__rcu_thread *t = current_thread;

	if (t)
		return t;
	pthread_once(&key_once, make_key);
	if (key_error)
		return NULL;
	t = evmap__calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (pthread_setspecific(thread_key, t) != 0) {
		evmap__free(t);
		return NULL;
	}
	if (!URCU_TLS(urcu_memb_reader).registered) {
		urcu_memb_register_thread();
		t->registered_by_us = true;
	}
	t->reader = &URCU_TLS(urcu_memb_reader);
	pthread_mutex_lock(&bind_lock);
	t->next = all_threads;
	if (t->next)
		t->next->prev = t;
	all_threads = t;
	pthread_mutex_unlock(&bind_lock);
	current_thread = t;
	return t;
}

int evmap__rcu_bind_slow(struct evmap__rcu_binding *b)
{
	struct evmap__rcu_thread *t = this_thread();

	if (!t)
		return -ENOMEM;
	pthread_mutex_lock(&bind_lock);
	detach_binding(b);
	b->thread = t;
	b->reader = &URCU_TLS(urcu_memb_reader);
	b->next = t->bindings;
	if (b->next)
		b->next->prev = b;
	t->bindings = b;
	__atomic_store_n(&b->owner, evmap__rcu_self(), __ATOMIC_RELAXED);
	pthread_mutex_unlock(&bind_lock);
	return 0;
}

void evmap__rcu_unbind(struct evmap__rcu_binding *b)
{
	struct evmap__rcu_thread *t;
	bool last_here;

	pthread_mutex_lock(&bind_lock);
	t = b->thread;
	detach_binding(b);
	last_here = t && t == current_thread && !t->bindings;
	pthread_mutex_unlock(&bind_lock);
	/* Bindings of other threads are only ever removed under bind_lock,
	 * and only this thread adds its own, so t stays ours to release. */
	if (last_here && !urcu_memb_read_ongoing())
		release_thread(t);
}

void evmap__rcu_wake_up_gp(void)
{
	__atomic_store_n(&urcu_memb_gp.futex, 0, __ATOMIC_RELAXED);
	(void)syscall(SYS_futex, &urcu_memb_gp.futex, FUTEX_WAKE, 1, NULL,
		      NULL, 0);
}

/* A full barrier on every CPU running one of our threads (membarrier),
 * or on this one only when readers use full barriers themselves. */
static bool master_barrier(void)
{
	if (!urcu_memb_has_sys_membarrier) {
		cmm_smp_mb();
		return true;
	}
	return syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) ==
	       0;
}

bool evmap__rcu_readers_quiescent(void)
{
	bool quiescent = true;

	/* Readers order their counter store before reading the map only
	 * with a compiler barrier when membarrier is in use: the system call
	 * makes those stores visible (as in liburcu's synchronize_rcu). */
	if (!master_barrier())
		return false;
	pthread_mutex_lock(&bind_lock);
	for (struct evmap__rcu_thread *t = all_threads; t && quiescent;
	     t = t->next)
		quiescent = !(__atomic_load_n(&t->reader->ctr,
					      __ATOMIC_RELAXED) &
			      URCU_GP_CTR_NEST_MASK);
	pthread_mutex_unlock(&bind_lock);
	if (!quiescent)
		return false;
	/* And the other way round: a reader seen outside its section may
	 * have left it with only a compiler barrier, so its loads from the
	 * copy could still be in flight on a weakly ordered CPU. A second
	 * membarrier orders them before the writer changes that copy. */
	if (!master_barrier())
		return false;
	evmap__tsan_grace_period();
	return true;
}

bool evmap__rcu_in_section(void)
{
	return URCU_TLS(urcu_memb_reader).registered && urcu_memb_read_ongoing();
}

void evmap__rcu_synchronize(void)
{
	urcu_memb_synchronize_rcu();
	evmap__tsan_grace_period();
}

/* ---- grace-period tracking ---- */

enum { TRACKER_IDLE, TRACKER_QUEUED, TRACKER_CLOSED };

struct evmap__gp_tracker {
	struct rcu_head head;
	uint64_t queued_gen;    /* generation the queued callback covers */
	uint64_t latest_gen;    /* last generation published (writer) */
	uint64_t elapsed_gen;   /* a grace period passed since its publication */
	int state;              /* TRACKER_* */
};

struct evmap__gp_tracker *evmap__gp_tracker_new(void)
{
	return evmap__calloc(1, sizeof(struct evmap__gp_tracker));
}

static void store_max(uint64_t *where, uint64_t value)
{
	uint64_t cur = __atomic_load_n(where, __ATOMIC_RELAXED);
	while (cur < value &&
	       !__atomic_compare_exchange_n(where, &cur, value, true,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

static void gp_passed(struct rcu_head *head)
{
	struct evmap__gp_tracker *t =
		caa_container_of(head, struct evmap__gp_tracker, head);
	int expected = TRACKER_QUEUED;

	evmap__tsan_acquire(t);
	store_max(&t->elapsed_gen, t->queued_gen);
	for (;;) {
		uint64_t latest = __atomic_load_n(&t->latest_gen, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == TRACKER_CLOSED) {
			evmap__free(t);
			return;
		}
		if (latest > t->queued_gen) {
			/* published again meanwhile: a new grace period from now */
			t->queued_gen = latest;
			evmap__tsan_release(t);
			urcu_memb_call_rcu(&t->head, gp_passed); /* this thread is registered */
			return;
		}
		if (__atomic_compare_exchange_n(&t->state, &expected, TRACKER_IDLE,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			break;
		if (expected == TRACKER_CLOSED) {
			evmap__free(t);
			return;
		}
	}
	/* Idle now, and t may be freed by the writer at any moment: touch
	 * nothing more. A publication that raced with going idle saw QUEUED
	 * and queued nothing; its refresh then waits for a grace period
	 * itself (evmap__gp_wait) or, in try_refresh, re-arms the tracker
	 * (evmap__gp_note_publish again), so only speed is lost, never
	 * safety. */
}

void evmap__gp_note_publish(struct evmap__gp_tracker *t,
			    struct evmap__rcu_binding *b, uint64_t gen)
{
	int expected = TRACKER_IDLE;

	__atomic_store_n(&t->latest_gen, gen, __ATOMIC_RELEASE);
	if (evmap__rcu_bind(b) != 0)
		return; /* no tracking: refresh falls back to waiting */
	if (__atomic_compare_exchange_n(&t->state, &expected, TRACKER_QUEUED,
					false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		t->queued_gen = gen;
		evmap__tsan_release(t);
		urcu_memb_call_rcu(&t->head, gp_passed);
	}
}

bool evmap__gp_elapsed(struct evmap__gp_tracker *t, uint64_t gen)
{
	if (__atomic_load_n(&t->elapsed_gen, __ATOMIC_ACQUIRE) < gen)
		return false;
	evmap__tsan_grace_period();
	return true;
}

bool evmap__gp_check_now(struct evmap__gp_tracker *t, uint64_t gen)
{
	/* No reader in a section now: none can still be inside what was
	 * unpublished before now. */
	if (!evmap__rcu_readers_quiescent())
		return false;
	store_max(&t->elapsed_gen, gen);
	return true;
}

void evmap__gp_wait(struct evmap__gp_tracker *t, uint64_t gen)
{
	evmap__rcu_synchronize();
	store_max(&t->elapsed_gen, gen);
}

void evmap__gp_tracker_free(struct evmap__gp_tracker *t)
{
	if (!t)
		return;
	if (__atomic_exchange_n(&t->state, TRACKER_CLOSED, __ATOMIC_ACQ_REL) !=
	    TRACKER_QUEUED)
		evmap__free(t);
	/* else the queued callback sees CLOSED and frees it */
}

/* ---- deferred work ---- */

struct deferred {
	struct rcu_head head;
	void (*fn)(void *arg);
	void *arg;
};

static void run_deferred(struct rcu_head *head)
{
	struct deferred *d = caa_container_of(head, struct deferred, head);
	evmap__tsan_acquire(d);
	evmap__tsan_grace_period();
	d->fn(d->arg);
	evmap__free(d);
}

int evmap__rcu_defer(struct evmap__rcu_binding *b, void (*fn)(void *arg),
		     void *arg)
{
	struct deferred *d;
	if (evmap__rcu_bind(b) != 0)
		return -ENOMEM;
	d = evmap__malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fn = fn;
	d->arg = arg;
	evmap__tsan_release(d);
	urcu_memb_call_rcu(&d->head, run_deferred);
	return 0;
}

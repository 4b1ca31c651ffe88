/* SPDX-License-Identifier: MIT */
/*
 * rcu.c - thread registration, grace periods, the process-wide barrier
 * and deferred work over liburcu's memb flavor.
 *
 * Registration: a thread is registered with RCU the first time one of its
 * handles needs it, and unregistered when its last binding goes on that
 * thread or when the thread exits (a pthread key destructor), so threads
 * that exit holding handles never stall grace periods. A thread that the
 * application registered itself is used as is and never unregistered here.
 * All binding changes happen under bind_lock; the hot path only compares
 * the binding's owner with the caller's identity (evmap__rcu_self: the
 * thread pointer, or pthread_self()).
 *
 * Why a stale binding cannot be used: a binding's owner is cleared (under
 * bind_lock) by the owner thread's exit destructor, before the thread's
 * identity can be reused by a new thread; so a handle whose owner equals
 * the caller's identity was bound by the caller itself.
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
};

static pthread_mutex_t bind_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;
static int key_error;
static __thread struct evmap__rcu_thread *current_thread;

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

/* fork(): no other thread may hold bind_lock in the child. */
static void lock_for_fork(void)
{
	pthread_mutex_lock(&bind_lock);
}

static void unlock_after_fork(void)
{
	pthread_mutex_unlock(&bind_lock);
}

static void make_key(void)
{
	key_error = pthread_key_create(&thread_key, thread_exit);
	if (!key_error)
		key_error = pthread_atfork(lock_for_fork, unlock_after_fork,
					   unlock_after_fork);
}

static struct evmap__rcu_thread *this_thread(void)
{
	struct evmap__rcu_thread *t = current_thread;

	if (t) {
		/* A record kept by a thread the application registered
		 * itself: the application may have unregistered it since
		 * (it held no handle then). Never trust the record alone. */
		if (!t->registered_by_us &&
		    !URCU_TLS(urcu_memb_reader).registered) {
			urcu_memb_register_thread();
			t->registered_by_us = true;
		}
		return t;
	}
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

/*
 * Which membarrier command to use. liburcu sets has_sys_membarrier on
 * kernels that only have MEMBARRIER_CMD_SHARED (4.3 to 4.13) without
 * registering for the private expedited command, which then always fails:
 * ask the kernel once, register (idempotent) where private expedited
 * exists, else use the shared command; with neither, readers that rely on
 * membarrier cannot be ordered from here, and the barrier fails (refresh
 * then waits for a grace period instead).
 */
static int barrier_cmd; /* 0: none usable */
static pthread_once_t barrier_once = PTHREAD_ONCE_INIT;

static void choose_barrier(void)
{
	long mask = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0);

	if (mask < 0)
		return;
	if ((mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		    0) == 0)
		barrier_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
	else if (mask & MEMBARRIER_CMD_SHARED)
		barrier_cmd = MEMBARRIER_CMD_SHARED;
}

bool evmap__rcu_barrier(void)
{
	if (!urcu_memb_has_sys_membarrier) {
		/* readers fence in every read lock (rcu.h) */
		cmm_smp_mb();
		return true;
	}
	pthread_once(&barrier_once, choose_barrier);
	return barrier_cmd && syscall(__NR_membarrier, barrier_cmd, 0) == 0;
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

int evmap__rcu_defer(void (*fn)(void *arg), void *arg)
{
	struct deferred *d = evmap__malloc(sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->fn = fn;
	d->arg = arg;
	evmap__tsan_release(d);
	urcu_memb_call_rcu(&d->head, run_deferred);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * rcu.c - thread registration, grace periods, the process-wide barrier,
 * deferred work and fork() over liburcu's bp flavor.
 *
 * Registration: a thread is registered with liburcu-bp the first time one
 * of its handles needs it, and stays registered until it exits (bp drops
 * it then; bp has no other way out, and needs none: a registered thread
 * outside every section delays no grace period). bp's registry is its
 * own: no memb call an application makes, on any thread, in any order,
 * sees it. libevmap keeps a record per thread for the thread's bindings,
 * freed with its last binding or at thread exit (a pthread key
 * destructor). All binding changes happen under bind_lock (which also
 * guards every map's spare handles, registry.c); the hot path
 * only compares the binding's owner with the caller's identity
 * (evmap__rcu_self: the thread pointer, or pthread_self()).
 *
 * Why a stale binding cannot be used: a binding's owner is cleared (under
 * bind_lock) by the owner thread's exit destructor, before the thread's
 * identity can be reused by a new thread, and in a fork child for every
 * thread but the forking one; so a handle whose owner equals the caller's
 * identity was bound by the caller itself, and its reader record is the
 * caller's, which bp keeps at one address until its own thread-exit
 * destructor. That one runs before libevmap's (bp's pthread key is
 * older), so a handle used from an application's pthread key destructor
 * could find a freed record: the header rules that out.
 *
 * fork(): the library's own fork handlers (pthread_atfork, installed when
 * the library is loaded) pause liburcu-bp's call_rcu threads and take
 * bp's locks and bind_lock across the fork; in the child, bp drops the
 * records of the threads that do not exist there, and call_rcu starts
 * afresh. The application calls no liburcu hook.
 */
#include "rcu.h"

#include <errno.h>
#include <stddef.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <urcu/call-rcu.h>
#include <urcu/list.h>

#include "alloc.h"
#include "registry.h"

#ifdef EVMAP_TSAN
char evmap__tsan_grace_token;
#endif

struct evmap__rcu_thread {
	struct evmap__rcu_binding *bindings;
	unsigned long *ctr; /* its liburcu-bp counter (rcu_counter_of) */
	struct cds_list_head node; /* in all_threads */
};

static pthread_mutex_t bind_lock = PTHREAD_MUTEX_INITIALIZER;
/* Every thread's record, under bind_lock (the fork child drops the others). */
static CDS_LIST_HEAD(all_threads);
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
	b->ctr = NULL;
	__atomic_store_n(&b->owner, 0, __ATOMIC_RELAXED);
}

/* The calling thread has no binding left: free its record. */
static void release_thread(struct evmap__rcu_thread *t)
{
	pthread_mutex_lock(&bind_lock);
	cds_list_del(&t->node);
	pthread_mutex_unlock(&bind_lock);
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

/*
 * fork(): no other thread may hold bind_lock or one of liburcu-bp's locks
 * in the child, and no call_rcu thread may be in the middle of a callback
 * (urcu-bp.h and call-rcu.h ask for their hooks around every fork that is
 * not followed by exec). The order avoids waiting in a circle:
 *   1. call_rcu's pause waits for a running callback to end; a callback
 *      (a type's free, say) may take bind_lock or bp's locks, which are
 *      not held yet;
 *   2. bp's locks: bp's grace-period lock may be held by a thread that
 *      waits for a reader to leave its section, and that reader may be
 *      about to take bind_lock (freeing another handle), so bind_lock
 *      must still be free;
 *   3. bind_lock: its holders never wait for anything.
 * Given back in the reverse order. A thread that forks inside its own
 * read section cannot take 1 and 2: the call_rcu thread may be waiting
 * for a grace period, and a synchronize_rcu holding bp's lock for a
 * section, that this very thread holds. It takes only bind_lock, and the
 * child must only exec or _exit (header: thread rules).
 */
static __thread bool fork_took_liburcu_locks;

static void before_fork(void)
{
	fork_took_liburcu_locks = !evmap__rcu_in_section();
	if (fork_took_liburcu_locks) {
		urcu_bp_call_rcu_before_fork();
		urcu_bp_before_fork();
	}
	pthread_mutex_lock(&bind_lock);
}

static void after_fork_in_parent(void)
{
	pthread_mutex_unlock(&bind_lock);
	if (fork_took_liburcu_locks) {
		urcu_bp_after_fork_parent();
		urcu_bp_call_rcu_after_fork_parent();
	}
}

/* In the child only the forking thread exists: the other threads' records
 * go, and their bindings with them, so that no handle of theirs is taken
 * for one of a new thread that happens to get a dead thread's identity
 * (glibc reuses thread stacks, hence thread pointers); a section such a
 * handle had open ended with its thread, so refresh and destruction in
 * the child do not wait for it. */
static void after_fork_in_child(void)
{
	struct evmap__rcu_thread *t, *next;

	cds_list_for_each_entry_safe(t, next, &all_threads, node) {
		if (t == current_thread)
			continue;
		while (t->bindings) {
			evmap__section_forget_dead(t->bindings);
			detach_binding(t->bindings);
		}
		cds_list_del(&t->node);
		evmap__free(t);
	}
	pthread_mutex_unlock(&bind_lock);
	if (fork_took_liburcu_locks) {
		urcu_bp_after_fork_child();
		urcu_bp_call_rcu_after_fork_child();
	}
}

/* At load, before any thread of the application can fork with a handle
 * or a call_rcu callback of this library alive. If it fails (no memory
 * at start-up), forks are not handled: nothing to report it to. */
static void __attribute__((constructor)) install_fork_handlers(void)
{
	(void)pthread_atfork(before_fork, after_fork_in_parent,
			     after_fork_in_child);
}

static void make_key(void)
{
	key_error = pthread_key_create(&thread_key, thread_exit);
}

/*
 * The counter of a liburcu-bp reader record, without a member access:
 * struct urcu_bp_reader asks for 128-byte alignment (its list node is
 * cache-line aligned), but bp's arena places records after a chunk
 * header, at 32 bytes past such a boundary (UBSan: "member access within
 * misaligned address"). The counter is the record's first member.
 */
_Static_assert(offsetof(struct urcu_bp_reader, ctr) == 0,
	       "liburcu-bp's reader counter is the record's first member");

static unsigned long *rcu_counter_of(struct urcu_bp_reader *rd)
{
	return (unsigned long *)(void *)rd;
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
	urcu_bp_register_thread(); /* if not yet (bp aborts without memory) */
	t->ctr = rcu_counter_of(URCU_TLS(urcu_bp_reader));
	pthread_mutex_lock(&bind_lock);
	cds_list_add(&t->node, &all_threads);
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
	b->ctr = t->ctr;
	b->next = t->bindings;
	if (b->next)
		b->next->prev = b;
	t->bindings = b;
	__atomic_store_n(&b->owner, evmap__rcu_self(), __ATOMIC_RELAXED);
	pthread_mutex_unlock(&bind_lock);
	return 0;
}

void evmap__rcu_handles_lock(void)
{
	pthread_mutex_lock(&bind_lock);
}

bool evmap__rcu_handles_trylock(void)
{
	return pthread_mutex_trylock(&bind_lock) == 0;
}

void evmap__rcu_handles_unlock(void)
{
	pthread_mutex_unlock(&bind_lock);
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
	if (last_here)
		release_thread(t);
}

/*
 * Which membarrier command to use: ask the kernel once, register
 * (idempotent; liburcu-bp registered already where it relies on
 * membarrier) where private expedited exists, else use the shared
 * command; with neither, readers that rely on membarrier cannot be
 * ordered from here, and the barrier fails (refresh then waits for a
 * grace period instead).
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
	if (!urcu_bp_has_sys_membarrier) {
		/* readers fence in every read lock (rcu.h) */
		cmm_smp_mb();
		return true;
	}
	pthread_once(&barrier_once, choose_barrier);
	return barrier_cmd && syscall(__NR_membarrier, barrier_cmd, 0) == 0;
}

bool evmap__rcu_in_section(void)
{
	/* not urcu_bp_read_ongoing(), which would register the thread */
	struct urcu_bp_reader *rd = URCU_TLS(urcu_bp_reader);

	return rd && (__atomic_load_n(rcu_counter_of(rd), __ATOMIC_RELAXED) &
		      URCU_BP_GP_CTR_NEST_MASK);
}

void evmap__rcu_synchronize(void)
{
	urcu_bp_synchronize_rcu();
	evmap__tsan_grace_period();
}

/* ---- deferred work ---- */

struct deferred {
	struct rcu_head head;
	void (*fn)(void *arg);
	void *arg;
};

/* Whether this thread (liburcu's call_rcu thread) is running a deferred
 * function. */
static __thread bool running_deferred;
/* what deferred functions did, handed to evmap__rcu_wait_deferred()
 * (only TSan builds use it) */
static char deferred_done_token;

static void run_deferred(struct rcu_head *head)
{
	struct deferred *d = caa_container_of(head, struct deferred, head);
	evmap__tsan_acquire(d);
	evmap__tsan_grace_period();
	running_deferred = true;
	d->fn(d->arg);
	running_deferred = false;
	evmap__tsan_release(&deferred_done_token);
	evmap__free(d);
}

int evmap__rcu_wait_deferred(void)
{
	if (running_deferred)
		return -EBUSY;
	if (evmap__rcu_in_section())
		return -EDEADLK;
	/* queues a callback on every call_rcu thread and waits for each:
	 * each thread runs its callbacks in order */
	urcu_bp_barrier();
	evmap__tsan_acquire(&deferred_done_token);
	return 0;
}

int evmap__rcu_defer(void (*fn)(void *arg), void *arg)
{
	struct deferred *d = evmap__malloc(sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->fn = fn;
	d->arg = arg;
	evmap__tsan_release(d);
	urcu_bp_call_rcu(&d->head, run_deferred);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * rcu.h - internal: everything libevmap needs from userspace RCU (liburcu,
 * bp flavor), behind names of its own.
 *
 * rcu.c and this header are the only places that include liburcu (the
 * registry's fast path, registry.h, uses the read side inlined here). The read
 * side is inline here because it is the hot path: a reader handle caches
 * its thread's liburcu reader state (a binding), so a read section costs
 * two plain stores and no thread-local-storage lookup. The binding is
 * checked against the calling thread on every outermost enter and redone
 * (slow path, in rcu.c) when a handle moves to another thread.
 *
 * Why bp ("bulletproof") and not memb: a memb thread is registered by an
 * explicit call on that thread, at most once, and only that thread can
 * unregister it; an application that uses memb itself then cannot
 * register a thread that libevmap registered, and libevmap cannot
 * unregister a thread whose last handle another thread freed. bp keeps a
 * registry of its own that no memb call touches, registers a thread once
 * and drops it when the thread exits: whatever the application does with
 * memb, in whatever order, never meets libevmap's registration. Its read
 * side is memb's (a counter store, compiler barriers with membarrier),
 * without the wake-up test at unlock: bp's grace period polls.
 */
#ifndef EVMAP_RCU_H
#define EVMAP_RCU_H

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE /* liburcu's inline read side */
#endif
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/urcu-bp.h>

/*
 * ThreadSanitizer cannot see grace periods (liburcu is not instrumented).
 * In TSan builds every read-side unlock releases a global token and every
 * waited-for grace period acquires it, which is what RCU guarantees:
 * each section that could see the old data ended before the writer goes on.
 */
#if defined(__SANITIZE_THREAD__)
#define EVMAP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EVMAP_TSAN 1
#endif
#endif
#ifdef EVMAP_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char evmap__tsan_grace_token;
#define evmap__tsan_section_end() __tsan_release(&evmap__tsan_grace_token)
#define evmap__tsan_grace_period() __tsan_acquire(&evmap__tsan_grace_token)
/* hand-over through liburcu's (uninstrumented) call_rcu queue */
#define evmap__tsan_release(addr) __tsan_release(addr)
#define evmap__tsan_acquire(addr) __tsan_acquire(addr)
#else
#define evmap__tsan_section_end() ((void)0)
#define evmap__tsan_grace_period() ((void)0)
#define evmap__tsan_release(addr) ((void)(addr))
#define evmap__tsan_acquire(addr) ((void)(addr))
#endif

struct evmap__rcu_thread;

/* A reader or writer handle's link to the thread that uses it. */
struct evmap__rcu_binding {
	uintptr_t owner;                 /* pthread_self() of the bound thread, 0 if unbound */
	unsigned long *ctr;              /* that thread's liburcu counter */
	struct evmap__rcu_thread *thread;
	struct evmap__rcu_binding *prev, *next; /* the thread's bindings */
};

/* The calling thread's identity, unique among live threads (a thread that
 * starts after another ended may get the same one). With glibc on x86-64
 * and AArch64 it is the thread pointer (%fs base, TPIDR_EL0), read without
 * a call: on x86-64 that is also pthread_self(), on AArch64 it is not (it
 * points at the thread's TLS block), which does not matter, as only its
 * uniqueness is used. Elsewhere pthread_self(). */
static inline uintptr_t evmap__rcu_self(void)
{
#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__)) && \
	defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
	return (uintptr_t)__builtin_thread_pointer();
#else
	return (uintptr_t)pthread_self();
#endif
#else
	return (uintptr_t)pthread_self();
#endif
}

/* Bind @b to the calling thread, registering the thread with RCU if it is
 * not yet. 0 or -ENOMEM. */
int evmap__rcu_bind_slow(struct evmap__rcu_binding *b);
/* Forget @b (handle freed). Any thread. */
void evmap__rcu_unbind(struct evmap__rcu_binding *b);

/* The lock that also guards every map's spare handles (registry.c): the
 * one bindings change under, held across fork() by the library's fork
 * handlers, so that a fork child never finds a spare list half changed.
 * Its holders never wait for anything. The writer only try-locks it. */
void evmap__rcu_handles_lock(void);
bool evmap__rcu_handles_trylock(void);
void evmap__rcu_handles_unlock(void);

static inline int evmap__rcu_bind(struct evmap__rcu_binding *b)
{
	if (__atomic_load_n(&b->owner, __ATOMIC_RELAXED) == evmap__rcu_self())
		return 0;
	return evmap__rcu_bind_slow(b);
}

/*
 * Whether liburcu's readers need no fence, its grace periods using
 * membarrier (urcu_bp_has_sys_membarrier). liburcu's constructor sets
 * it, before any thread can register, and nothing changes it afterwards:
 * a caller that saw it true (at map creation, evmap__shared.get_first_fast)
 * may pass @membarrier_known below, so that its hot path neither loads it
 * nor keeps its address in a register.
 */
static inline bool evmap__rcu_readers_use_membarrier(void)
{
	return urcu_bp_has_sys_membarrier != 0;
}

/* cf. urcu_bp_smp_mb_slave(): a compiler barrier with membarrier, a full
 * fence without. */
static inline void evmap__rcu_reader_fence(bool membarrier_known)
{
	if (membarrier_known || caa_likely(urcu_bp_has_sys_membarrier))
		cmm_barrier();
	else
		cmm_smp_mb();
}

/* Begin a read section on the bound thread (cf. _urcu_bp_read_lock,
 * with the thread's reader state taken from the binding; relaxed atomics
 * instead of volatile accesses: the same instructions, visible to TSan).
 * Return the counter as it was before, for evmap__rcu_read_unlock_restore().
 */
static inline unsigned long
evmap__rcu_read_lock(struct evmap__rcu_binding *b, bool membarrier_known)
{
	unsigned long *ctr = b->ctr;
	unsigned long tmp;

	cmm_barrier();
	tmp = __atomic_load_n(ctr, __ATOMIC_RELAXED);
	if (caa_likely(!(tmp & URCU_BP_GP_CTR_NEST_MASK)))
		__atomic_store_n(ctr,
				 __atomic_load_n(&urcu_bp_gp.ctr, __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(ctr, tmp + URCU_BP_GP_COUNT, __ATOMIC_RELAXED);
	/* liburcu fences only in the outermost lock. The section word needs
	 * it in both: without membarrier, this fence is what orders its
	 * "inside" store before the loads of the section, also when the
	 * thread is already inside another section (registry.c, rule C).
	 * With membarrier it is a compiler barrier. */
	evmap__rcu_reader_fence(membarrier_known);
	return tmp;
}

/* End a read section (cf. _urcu_bp_read_unlock): the section's accesses
 * are ordered before the counter's store by urcu_bp_smp_mb_slave(). */
static inline void evmap__rcu_read_unlock(struct evmap__rcu_binding *b)
{
	unsigned long tmp = __atomic_load_n(b->ctr, __ATOMIC_RELAXED);

	evmap__tsan_section_end();
	evmap__rcu_reader_fence(false);
	__atomic_store_n(b->ctr, tmp - URCU_BP_GP_COUNT, __ATOMIC_RELAXED);
	cmm_barrier();
}

/*
 * End the read section whose evmap__rcu_read_lock() returned @before,
 * when nothing ran inside it that could leave the counter changed (no
 * callback; a signal handler's sections end before it returns): store
 * @before back, without loading the counter that the lock just stored.
 * That is liburcu's result. The counter is written only by its own thread,
 * so it still holds what the lock stored: @before plus one nesting, or,
 * if @before had none, urcu_bp_gp.ctr. One nesting less is @before in the
 * first case; in the second the nesting is 0 both ways and only the phase
 * bit may differ, which liburcu ignores in a counter with no nesting
 * (urcu_bp_reader_state: inactive).
 */
static inline void
evmap__rcu_read_unlock_restore(struct evmap__rcu_binding *b,
			       unsigned long before, bool membarrier_known)
{
	evmap__tsan_section_end();
	evmap__rcu_reader_fence(membarrier_known);
	__atomic_store_n(b->ctr, before, __ATOMIC_RELAXED);
	cmm_barrier();
}

/* Whether the calling thread is inside any RCU read section. */
bool evmap__rcu_in_section(void);
/* Wait for a grace period (the caller must not be in a read section). */
void evmap__rcu_synchronize(void);

/*
 * A full memory barrier on every CPU that runs a thread of this process,
 * the caller's included: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED),
 * which liburcu's bp flavor registered at start-up. Where the kernel has
 * no membarrier, liburcu's readers execute a full fence in every
 * rcu_read_lock (urcu_bp_smp_mb_slave), so a fence here suffices. After
 * it returns, every store a running thread issued before the barrier is
 * visible, and every load it issues after it sees what the caller stored
 * before. false if the system call failed (nothing proven).
 */
bool evmap__rcu_barrier(void);

/* Run @fn(@arg) after a grace period, from liburcu's call_rcu thread. Any
 * thread (bp registers a thread that is not yet). 0 or -ENOMEM. */
int evmap__rcu_defer(void (*fn)(void *arg), void *arg);

/* Wait until every @fn that evmap__rcu_defer() queued before the call has
 * returned. 0; -EDEADLK inside a read section of the calling thread (the
 * grace periods they wait for would wait for it); -EBUSY from inside such
 * an @fn (it would wait for itself). */
int evmap__rcu_wait_deferred(void);

#endif /* EVMAP_RCU_H */

/* SPDX-License-Identifier: MIT */
/*
 * rcu.h - internal: everything libevmap needs from userspace RCU (liburcu,
 * memb flavor), behind names of its own.
 *
 * rcu.c and this header are the only places that include liburcu (the
 * registry's fast path, registry.h, uses the read side inlined here). The read
 * side is inline here because it is the hot path: a reader handle caches
 * its thread's liburcu reader state (a binding), so a read section costs
 * two plain stores and no thread-local-storage lookup. The binding is
 * checked against the calling thread on every outermost enter and redone
 * (slow path, in rcu.c) when a handle moves to another thread.
 */
#ifndef EVMAP_RCU_H
#define EVMAP_RCU_H

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE /* liburcu's inline read side */
#endif
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/urcu-memb.h>

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
	struct urcu_reader *reader;      /* that thread's liburcu reader state */
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
/* Forget @b (handle freed); unregisters the calling thread if @b was its
 * last binding and libevmap registered it. Any thread. */
void evmap__rcu_unbind(struct evmap__rcu_binding *b);

static inline int evmap__rcu_bind(struct evmap__rcu_binding *b)
{
	if (__atomic_load_n(&b->owner, __ATOMIC_RELAXED) == evmap__rcu_self())
		return 0;
	return evmap__rcu_bind_slow(b);
}

/* Wake a grace period waiting for this reader (rare: slow path). */
void evmap__rcu_wake_up_gp(void);

/*
 * Whether liburcu's readers need no fence, its grace periods using
 * membarrier (urcu_memb_has_sys_membarrier). liburcu's constructor sets
 * it, before any thread can register, and nothing changes it afterwards:
 * a caller that saw it true (at map creation, evmap__shared.get_first_fast)
 * may pass @membarrier_known below, so that its hot path neither loads it
 * nor keeps its address in a register.
 */
static inline bool evmap__rcu_readers_use_membarrier(void)
{
	return urcu_memb_has_sys_membarrier != 0;
}

/* cf. urcu_memb_smp_mb_slave(): a compiler barrier with membarrier, a full
 * fence without. */
static inline void evmap__rcu_reader_fence(bool membarrier_known)
{
	if (membarrier_known || caa_likely(urcu_memb_has_sys_membarrier))
		cmm_barrier();
	else
		cmm_smp_mb();
}

/* Begin a read section on the bound thread (cf. _urcu_memb_read_lock,
 * with the thread's reader state taken from the binding; relaxed atomics
 * instead of volatile accesses: the same instructions, visible to TSan).
 * Return the counter as it was before, for
 * evmap__rcu_read_unlock_restore(). */
static inline unsigned long
evmap__rcu_read_lock(struct evmap__rcu_binding *b, bool membarrier_known)
{
	struct urcu_reader *rd = b->reader;
	unsigned long tmp;

	cmm_barrier();
	tmp = __atomic_load_n(&rd->ctr, __ATOMIC_RELAXED);
	if (caa_likely(!(tmp & URCU_GP_CTR_NEST_MASK))) {
		__atomic_store_n(&rd->ctr,
				 __atomic_load_n(&urcu_memb_gp.ctr, __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
		evmap__rcu_reader_fence(membarrier_known);
	} else {
		__atomic_store_n(&rd->ctr, tmp + URCU_GP_COUNT, __ATOMIC_RELAXED);
		/* Not needed by liburcu, but by the section word: without
		 * membarrier, this fence is what orders its "inside" store
		 * before the loads of the section, also when the thread is
		 * already inside another section (registry.c, rule C). With
		 * membarrier it is a compiler barrier. */
		evmap__rcu_reader_fence(membarrier_known);
	}
	return tmp;
}

/* End a read section (cf. _urcu_memb_read_unlock), all but its wake-up:
 * true if the caller must call evmap__rcu_wake_up_gp() (a grace period
 * sleeps waiting for this reader). liburcu's urcu_memb_smp_mb_slave()
 * twice, with its one flag read once. */
static inline bool
evmap__rcu_read_unlock_nowake(struct evmap__rcu_binding *b)
{
	struct urcu_reader *rd = b->reader;
	unsigned long tmp = __atomic_load_n(&rd->ctr, __ATOMIC_RELAXED);
	bool wake = false;

	evmap__tsan_section_end();

	if (caa_likely((tmp & URCU_GP_CTR_NEST_MASK) == URCU_GP_COUNT)) {
		if (caa_likely(urcu_memb_has_sys_membarrier)) {
			cmm_barrier();
			__atomic_store_n(&rd->ctr, tmp - URCU_GP_COUNT,
					 __ATOMIC_RELAXED);
			cmm_barrier();
		} else {
			cmm_smp_mb();
			__atomic_store_n(&rd->ctr, tmp - URCU_GP_COUNT,
					 __ATOMIC_RELAXED);
			cmm_smp_mb();
		}
		/* cf. urcu_common_wake_up_gp, with atomics TSan understands */
		wake = __atomic_load_n(&urcu_memb_gp.futex, __ATOMIC_RELAXED) ==
		       -1;
	} else {
		__atomic_store_n(&rd->ctr, tmp - URCU_GP_COUNT, __ATOMIC_RELAXED);
	}
	cmm_barrier();
	return wake;
}

/*
 * End the read section whose evmap__rcu_read_lock() returned @before,
 * when nothing ran inside it that could leave the counter changed (no
 * callback; a signal handler's sections end before it returns): store
 * @before back, without loading the counter that the lock just stored.
 * That is liburcu's result. The counter is written only by its own thread,
 * so it still holds what the lock stored: @before plus one nesting, or,
 * if @before had none, urcu_memb_gp.ctr. One nesting less is @before
 * in the first case; in the second the nesting is 0 both ways and only
 * the phase bit may differ, which liburcu ignores in a counter with no
 * nesting (urcu_common_reader_state: inactive). The barriers and the
 * look at the grace period's futex are the outermost unlock's, also for
 * a nested section, so that no register carries which one this is: a
 * nested section's fences are redundant (with membarrier they are
 * compiler barriers), and a wake-up from it is spurious but harmless (a
 * woken grace period looks at the readers again and sleeps again).
 */
static inline bool
evmap__rcu_read_unlock_restore(struct evmap__rcu_binding *b,
			       unsigned long before, bool membarrier_known)
{
	evmap__tsan_section_end();
	evmap__rcu_reader_fence(membarrier_known);
	__atomic_store_n(&b->reader->ctr, before, __ATOMIC_RELAXED);
	evmap__rcu_reader_fence(membarrier_known);
	return __atomic_load_n(&urcu_memb_gp.futex, __ATOMIC_RELAXED) == -1;
}

/* Whether the calling thread is inside any RCU read section. */
bool evmap__rcu_in_section(void);
/* Wait for a grace period (the caller must not be in a read section). */
void evmap__rcu_synchronize(void);

/*
 * A full memory barrier on every CPU that runs a thread of this process,
 * the caller's included: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED),
 * which liburcu's memb flavor registered at start-up. Where the kernel has
 * no membarrier, liburcu's readers execute a full fence in every
 * rcu_read_lock (urcu_memb_smp_mb_slave), so a fence here suffices. After
 * it returns, every store a running thread issued before the barrier is
 * visible, and every load it issues after it sees what the caller stored
 * before. false if the system call failed (nothing proven).
 */
bool evmap__rcu_barrier(void);

/* Run @fn(@arg) after a grace period, from liburcu's call_rcu thread. The
 * calling thread must be inside a read section (hence registered with
 * RCU). 0 or -ENOMEM. */
int evmap__rcu_defer(void (*fn)(void *arg), void *arg);

#endif /* EVMAP_RCU_H */

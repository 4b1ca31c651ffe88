/* SPDX-License-Identifier: MIT */
/*
 * evmap.h - libevmap, a lock-free-read, eventually consistent, concurrent
 * multi-value hash map for C (a port of Rust's evmap).
 *
 * One writer, any number of readers. Two copies of the map and an operation
 * log: writes go to the log; evmap_refresh() applies them to the copy
 * readers do not see and publishes it, so readers see them only after it.
 * Reads never lock, never wait and never write memory shared with other
 * threads.
 *
 * Conventions:
 *  - Functions that can fail return int: 0 on success or a negative errno
 *    value (-EINVAL bad argument, -ENOMEM out of memory, -EDEADLK a call
 *    that would wait for readers made inside the caller's own read
 *    section, -EAGAIN try_refresh would wait, -EBUSY a writer call made
 *    from inside a callback of the same map, or evmap_wait_deferred()
 *    from inside a deferred destruction's callback).
 *    A failed call has no effect: nothing is half applied, nothing leaks.
 *  - The library never prints, never aborts on bad input, never exits.
 *  - Functions given a NULL handle return -EINVAL, or the neutral result
 *    stated in their comment (NULL, 0, false) where they do not return int.
 *
 * Bad input, function by function. "cstr NULL": a NULL key or value of
 * evmap_type_cstr itself; other types (a copy of evmap_type_cstr
 * included) take NULL as an ordinary item, which reaches their callbacks.
 * "Own section": a read section of the calling thread, on any handle of
 * any map (also one whose evmap_enter() returned NULL because the map was
 * not ready or destroyed; not one whose evmap_enter() could not register
 * the thread with RCU for lack of memory, which holds nothing).
 *
 *   function                NULL handle  other bad input
 *   evmap_version           -            (no arguments)
 *   evmap_strerror          -            unknown code: "unknown error"
 *   evmap_options_new       -            out of memory: NULL
 *   evmap_options_free      no-op        a meta set on them: not freed
 *   evmap_options_set_capacity
 *                           -EINVAL      more than 3 * 2^30 keys (e.g.
 *                                        SIZE_MAX): -ENOMEM, unchanged
 *   evmap_options_set_hash_seed, evmap_options_set_meta
 *                           -EINVAL
 *   evmap_new               -            NULL key_type, key_type->hash,
 *                                        value_type, writer or reader:
 *                                        -EINVAL; NULL opts: defaults;
 *                                        out of memory: -ENOMEM; on
 *                                        failure the outs are untouched
 *   evmap_writer_free       no-op        in own section: the map is
 *                                        unpublished at once and freed
 *                                        later, from call_rcu's thread
 *                                        (leaked if out of memory)
 *   evmap_wait_deferred     -            in own section: -EDEADLK; from
 *                                        a deferred destruction's
 *                                        callback: -EBUSY
 *   evmap_insert, _update,  -EINVAL      cstr NULL: -EINVAL; the type's
 *   _remove_value,                       clone returns NULL for a
 *   _clear_key,                          non-NULL item: -ENOMEM; in own
 *   _remove_key, _fit                    section: allowed (never waits)
 *   evmap_purge, _fit_all   -EINVAL      in own section: allowed
 *   evmap_retain            -EINVAL      in this order: NULL keep:
 *                                        -EINVAL; in own section:
 *                                        -EDEADLK; an earlier write
 *                                        that cannot be applied:
 *                                        -ENOMEM; cstr NULL key: -EINVAL
 *                                        (after waiting like refresh)
 *   evmap_reserve           -EINVAL      cstr NULL key: -EINVAL; more
 *                                        than 2^31 - 2 (e.g. SIZE_MAX):
 *                                        -ENOMEM, nothing logged; room
 *                                        that cannot be allocated at
 *                                        refresh: not reserved (the
 *                                        refresh still succeeds)
 *   evmap_evict             -EINVAL      more keys than the map holds
 *                                        (e.g. SIZE_MAX): removes all
 *   evmap_refresh           -EINVAL      in own section: -EDEADLK
 *   evmap_try_refresh       -EINVAL      in own section: -EDEADLK;
 *                                        readers may be inside: -EAGAIN
 *   evmap_flush             -EINVAL      nothing pending: 0 (also in own
 *                                        section); else as refresh
 *   evmap_pending,          0
 *   evmap_generation
 *   evmap_set_meta          -EINVAL      the current meta again: kept,
 *                                        not freed
 *   evmap_writer_reader     NULL         out of memory: NULL
 *   evmap_reader_clone      NULL         writer freed: a handle of the
 *                                        destroyed map; no memory: NULL
 *   evmap_reader_free       no-op        any thread, before or after the
 *                                        writer; inside this handle's
 *                                        own section on this thread:
 *                                        ends the section (nested ones
 *                                        too) first
 *   evmap_enter             NULL         not ready, writer freed, or
 *                                        the thread cannot register with
 *                                        RCU: NULL, but still a section
 *                                        (call evmap_leave()); the last
 *                                        one holds nothing, and is not
 *                                        an own section
 *   evmap_leave             no-op        handle not in a section: no-op
 *                                        (ends no other handle's)
 *   evmap_view_len, _meta,  0 / NULL     _get, cstr NULL key: NULL
 *   _generation, _get
 *   evmap_view_iter         no-op        NULL view: iterates nothing
 *   (NULL @it)
 *   evmap_iter_next         false        NULL key / values: that one is
 *   (NULL @it)                           not written
 *   evmap_values_len        0
 *   evmap_values_at, _first NULL         index >= len (e.g. SIZE_MAX),
 *                                        empty bag: NULL (a valid item
 *                                        of _u64/_ptr too: check len)
 *   evmap_values_contains   false        cstr NULL: false
 *   evmap_contains_key,     false        not ready or writer freed:
 *   _contains_value                      false; cstr NULL: false
 *   evmap_len               0            not ready or writer freed: 0
 *   evmap_is_destroyed      false
 *   evmap_get               false        NULL fn: only says whether the
 *                                        key is present; not ready or
 *                                        writer freed: false
 *   evmap_get_first         -EINVAL      NULL value: -EINVAL; value type
 *                                        with a free callback: -EINVAL;
 *                                        absent, empty bag, cstr NULL,
 *                                        not ready or writer freed: 0;
 *                                        the thread cannot register
 *                                        with RCU: -ENOMEM
 *
 * Misuse nothing detects (undefined behaviour): any handle used after it
 * was freed (the writer after evmap_writer_free() included); a view, bag,
 * key, meta or cursor used after the section's evmap_leave(); evmap_leave()
 * on another thread than its evmap_enter(); one handle used by two threads
 * at once (evmap_reader_free() of a handle inside a section on another
 * thread included); evmap_reader_free() of @r from inside evmap_get()'s
 * @fn on @r; a callback calling into ANOTHER map's writer that is running
 * a call of its own; a type freed before its map.
 *
 * Callbacks (a type's hash, equal, clone and free, retain's @keep, the
 * meta's meta_free) run on the thread of the writer call that needs them,
 * except when evmap_writer_free() was called inside the caller's own read
 * section: the deferred destruction then runs free and meta_free on
 * liburcu's call_rcu thread. A writer call on the same map made from inside
 * any of these callbacks fails with -EBUSY and changes nothing (the outer
 * call goes on normally); evmap_writer_free() there is ignored.
 *
 * Thread rules:
 *  - The writer handle is used by one thread at a time (it may move between
 *    threads when the application synchronises the hand-over).
 *  - Each reader handle is used by one thread at a time; handles may move
 *    between threads between read sections. Give each reader thread its
 *    own handle (evmap_reader_clone() is thread-safe).
 *  - The library registers reader threads with userspace RCU itself, with
 *    liburcu's bp ("bulletproof") flavor, whose registry is its own: bp
 *    keeps a thread until it exits, and no call of another flavor sees it.
 *    An application that uses liburcu's memb flavor (or any other) itself
 *    may register and unregister its threads with it in any order
 *    relative to libevmap use: libevmap never registers a thread with
 *    memb. An application that uses the bp flavor itself shares bp's
 *    registry with libevmap, which bp allows, but must not call bp's fork
 *    hooks (urcu_bp_before_fork() and the rest, or call_rcu's for bp):
 *    libevmap's fork handlers run them already, and a second call waits
 *    for ever.
 *  - Reader handles are not used from thread-specific-data destructors
 *    (pthread_key_create(), tss_create()): liburcu-bp's own destructor may
 *    have dropped the thread's registration by then. Code that runs before
 *    a thread ends, C++ thread_local destructors included, may use them.
 *  - Maps are independent: a reader inside one map's section never delays
 *    another map's refresh or destruction (only a destruction deferred by
 *    evmap_writer_free() inside the caller's own section, and
 *    evmap_wait_deferred(), wait for a liburcu grace period, which every
 *    reader section of every map takes part in).
 *  - fork() without exec(): nothing to do. The library's own fork
 *    handlers (pthread_atfork()) run liburcu-bp's fork hooks and its
 *    call_rcu fork hooks. The child may use every map, with the handles
 *    that belonged to its own thread; handles of other threads are dead in
 *    the child: free them, never use them. A section that another thread
 *    had open at the fork ended with it: the child's refreshes and
 *    destructions do not wait for it. Those hooks wait for a liburcu
 *    grace period in progress (a destruction that evmap_writer_free()
 *    deferred, evmap_wait_deferred() on another thread) to end, and so
 *    for the read sections other threads have open meanwhile: a thread
 *    that keeps a section open until another thread's fork() returns
 *    deadlocks that fork. A thread that forks
 *    inside its own read section (a type's hash or equal called by a
 *    lookup included) skips liburcu's hooks, which would wait for that
 *    very section: its child may only exec() or _exit(). fork() from
 *    inside a callback that runs on liburcu's call_rcu thread (a deferred
 *    destruction's free or meta_free) deadlocks.
 */
#ifndef EVMAP_H
#define EVMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define EVMAP_EXPORT
#elif defined(__GNUC__) && __GNUC__ >= 4
#define EVMAP_EXPORT __attribute__((visibility("default")))
#else
#define EVMAP_EXPORT
#endif

/* EVMAP_VERSION_MAJOR/MINOR/PATCH and EVMAP_VERSION_STRING, generated by
 * meson from project(version:). */
#include "evmap-version.h"

/**
 * evmap_version - the library's version at run time
 *
 * Context: any thread, any time.
 * Return:  a static string "MAJOR.MINOR.PATCH" of the loaded library, which
 *          may differ from the EVMAP_VERSION_* macros the program was built
 *          with.
 */
EVMAP_EXPORT const char *evmap_version(void);

/**
 * evmap_strerror - describe an error code
 * @err: a value returned by a libevmap function (negative errno or 0)
 *
 * Context: any thread, any time.
 * Return:  a static, NUL-terminated English message; unknown codes get a
 *          generic message. Never NULL.
 */
EVMAP_EXPORT const char *evmap_strerror(int err);

/* ------------------------------------------------------------------ */
/* Item types                                                         */
/* ------------------------------------------------------------------ */

/**
 * struct evmap_type - how the map handles keys or values (layout frozen)
 * @hash:  hash of an item. Required for keys. For values it is optional:
 *         with it, bags of many values get a hash index (insert,
 *         contains and remove_value in constant time, however many equal
 *         values the bag holds); without it, bags stay linear arrays.
 * @equal: equality; NULL means pointer (item) identity, a == b.
 * @clone: copy an item on insert; NULL stores the caller's pointer as is
 *         (the map then owns it). Return NULL on allocation failure.
 * @free:  release an item the map owns; NULL means items are never freed.
 * @ctx:   passed to every callback.
 *
 * Callbacks are called from the writer's thread only, never from readers
 * (except @equal and @hash during lookups on readers' threads), and must
 * not call back into the library. The object must outlive every map
 * created with it. An inconsistent callback (an equal that answers at
 * random) can make lookups wrong but never corrupts the map, frees an item
 * twice or leaks one: the second copy replays operations by identity.
 */
typedef struct evmap_type {
	uint64_t (*hash)(const void *item, void *ctx);
	bool (*equal)(const void *a, const void *b, void *ctx);
	void *(*clone)(const void *item, void *ctx);
	void (*free)(void *item, void *ctx);
	void *ctx;
} evmap_type;

/**
 * evmap_type_cstr - NUL-terminated strings, copied in (clone) and freed.
 *
 * Hashing is keyed with a per-map random seed (HashDoS resistance; see
 * evmap_options_set_hash_seed()); the seeding applies when this very
 * object is passed to evmap_new(), not to a copy of it. A NULL item is
 * rejected by writes with -EINVAL and found by no lookup.
 */
EVMAP_EXPORT extern const evmap_type evmap_type_cstr;

/**
 * evmap_type_u64 - the item is the number: (void *)(uintptr_t)n. Nothing
 * is allocated or freed. 0 is a valid item. Needs 64-bit pointers.
 */
EVMAP_EXPORT extern const evmap_type evmap_type_u64;

/**
 * evmap_type_ptr - pointer identity; items are never dereferenced or
 * freed. NULL is a valid item.
 */
EVMAP_EXPORT extern const evmap_type evmap_type_ptr;

/* ------------------------------------------------------------------ */
/* Creating and destroying                                            */
/* ------------------------------------------------------------------ */

typedef struct evmap_options evmap_options;
typedef struct evmap_writer evmap_writer;
typedef struct evmap_reader evmap_reader;
typedef struct evmap_view evmap_view;
typedef struct evmap_values evmap_values;

/**
 * evmap_options_new - allocate options with defaults
 *
 * Defaults: no reserved capacity, a random hash seed, no meta.
 * Context: any thread. Return: the options; NULL if out of memory.
 */
EVMAP_EXPORT evmap_options *evmap_options_new(void);

/**
 * evmap_options_free - free options (NULL is ignored)
 * @o: options; a meta set on them is NOT freed (it belongs to the caller
 *     until evmap_new() succeeds with these options)
 *
 * Context: any thread.
 */
EVMAP_EXPORT void evmap_options_free(evmap_options *o);

/**
 * evmap_options_set_capacity - reserve room for @keys keys in both copies
 * @o:    options
 * @keys: number of keys the table holds without growing
 *
 * Context: any thread (options are not shared between threads).
 * Return:  0.
 * Errors:  -EINVAL if @o is NULL; -ENOMEM if @keys is absurdly large (more
 *          than 3 * 2^30: the table could never be allocated), options
 *          unchanged.
 */
EVMAP_EXPORT int evmap_options_set_capacity(evmap_options *o, size_t keys);

/**
 * evmap_options_set_hash_seed - make evmap_type_cstr hashing reproducible
 * @o:    options
 * @seed: the key for the keyed string hash, instead of a random one
 *
 * Context: any thread. Return: 0. Errors: -EINVAL if @o is NULL.
 */
EVMAP_EXPORT int evmap_options_set_hash_seed(evmap_options *o, uint64_t seed);

/**
 * evmap_options_set_meta - the meta readers see after the first refresh
 * @o:         options
 * @meta:      any pointer (NULL allowed); owned by the map once evmap_new()
 *             succeeds
 * @meta_free: called once on every meta the map owns when it is replaced
 *             and no reader can see it any more, or when the map is freed
 *             (then on each meta it still holds, in no set order); NULL:
 *             metas are never freed
 *
 * Context: any thread. Return: 0. Errors: -EINVAL if @o is NULL.
 */
EVMAP_EXPORT int evmap_options_set_meta(evmap_options *o, void *meta,
					void (*meta_free)(void *));

/**
 * evmap_new - create a map, its writer handle and a first reader handle
 * @key_type:   key type, with a hash (e.g. &evmap_type_cstr); must outlive
 *              the map
 * @value_type: value type; must outlive the map
 * @opts:       options, or NULL for defaults; not kept (free them after)
 * @writer:     out: the writer handle
 * @reader:     out: a reader handle
 *
 * The map is not ready until the first evmap_refresh(): until then readers
 * see no view (evmap_enter() returns NULL).
 * Context: any thread; inside or outside a read section.
 * Return:  0, with *@writer and *@reader set.
 * Errors:  -EINVAL if a type, its key hash or an out pointer is NULL;
 *          -ENOMEM. On failure *@writer and *@reader are left unchanged.
 */
EVMAP_EXPORT int evmap_new(const evmap_type *key_type,
			   const evmap_type *value_type,
			   const evmap_options *opts, evmap_writer **writer,
			   evmap_reader **reader);

/**
 * evmap_writer_free - destroy the map for every reader and free the writer
 * @w: writer handle (NULL is ignored)
 *
 * Readers then see a destroyed map: evmap_enter() returns NULL, shortcuts
 * report absent / 0 and evmap_is_destroyed() is true. Waits for readers
 * inside a section to leave, then frees every key, value and meta (pending
 * operations included). Reader handles stay valid until evmap_reader_free().
 * Must not be called by a thread inside a read section: if it is, the map
 * is unpublished at once and its memory is freed later, from liburcu's
 * call_rcu thread, once no reader can see it. That deferred destruction
 * still calls the types' free and the meta_free: keep the types (and
 * their ctx) alive until evmap_wait_deferred() has returned, which waits
 * for it, and call that before dlclose() or exit if nothing is to leak.
 * Once the destruction is done (this call returned outside a section, or
 * evmap_wait_deferred() returned), no call on the map's remaining reader
 * handles looks at the types again: they may be freed.
 * Outside a section it waits, like refresh, for this map's reader handles
 * only (since 0.3.0; a liburcu grace period before, which also waited for
 * the readers of every other map).
 * Context: the writer's thread; outside a read section (see above for
 *          inside). From inside a callback of this map: ignored.
 */
EVMAP_EXPORT void evmap_writer_free(evmap_writer *w);

/**
 * evmap_wait_deferred - wait for the destructions evmap_writer_free() deferred
 *
 * (since 0.3.0) evmap_writer_free() called inside the caller's own read
 * section leaves the freeing to liburcu's call_rcu thread, for when no
 * reader can see the map any more. This waits until every destruction
 * deferred before the call has finished: the types' free and the
 * meta_free it calls have returned. Call it before the types (or their
 * ctx) go, before dlclose() of code they live in, and before exit if
 * nothing is to leak. It waits for liburcu's call_rcu threads to reach
 * their callbacks queued so far, which takes a grace period (readers of
 * every map leave their sections) once such a thread exists, even with
 * nothing deferred.
 * Context: any thread, outside its own read sections, and not from
 *          inside a call_rcu callback of the application's own (that one
 *          would wait for itself).
 * Return:  0.
 * Errors:  -EDEADLK inside the calling thread's own read section (the
 *          destructions wait for it to end); -EBUSY from inside a callback
 *          that a deferred destruction runs (it would wait for itself).
 */
EVMAP_EXPORT int evmap_wait_deferred(void);

/* ------------------------------------------------------------------ */
/* Writing                                                            */
/* ------------------------------------------------------------------ */

/*
 * Every write is logged and becomes visible to readers at the next
 * evmap_refresh(). Ownership: with the type's clone, the map stores a clone
 * and the caller keeps its item; without clone, the map takes the pointer
 * and frees it (type's free) when it leaves the map, or right away if the
 * map does not need it (e.g. the key of an insert whose key already exists).
 * Arguments used only for lookup (the key of evmap_remove_value(), ...) are
 * borrowed: they are cloned into the log when the type has clone; for a type
 * without clone the pointer itself is logged and must stay valid until the
 * next evmap_refresh() returns (always true for evmap_type_u64/ptr).
 * A call that fails takes nothing: without clone, the caller still owns the
 * item it passed and must free it itself. A writer freed with
 * evmap_writer_free() must not be used again.
 *
 * Unless a function says otherwise, a write:
 *  Context: the thread that uses the writer handle (one at a time); inside
 *           or outside a read section; never waits for readers.
 *  Return:  0, the write logged.
 *  Errors:  -EINVAL: NULL writer, or a NULL key or value of
 *           evmap_type_cstr itself; -EBUSY: called from inside a callback
 *           of this map; -ENOMEM: nothing logged, nothing leaked.
 */

/**
 * evmap_insert - add @value to @key's bag (creating the key)
 *
 * Context, return and errors: as every write (above).
 */
EVMAP_EXPORT int evmap_insert(evmap_writer *w, const void *key,
			      const void *value);
/**
 * evmap_update - replace @key's whole bag with {@value} (creating the key)
 *
 * Context, return and errors: as every write.
 */
EVMAP_EXPORT int evmap_update(evmap_writer *w, const void *key,
			      const void *value);
/**
 * evmap_remove_value - remove one value equal to @value from @key's bag
 *
 * @key and @value are borrowed. Removing the last value leaves the key
 * present with an empty bag. No equal value: no effect.
 * Context, return and errors: as every write.
 */
EVMAP_EXPORT int evmap_remove_value(evmap_writer *w, const void *key,
				    const void *value);
/**
 * evmap_clear_key - empty @key's bag; the key stays
 *
 * The key is created if absent, so @key is stored like an insert's key.
 * Context, return and errors: as every write.
 */
EVMAP_EXPORT int evmap_clear_key(evmap_writer *w, const void *key);
/**
 * evmap_remove_key - remove @key (borrowed) and its bag
 *
 * Context, return and errors: as every write.
 */
EVMAP_EXPORT int evmap_remove_key(evmap_writer *w, const void *key);
/**
 * evmap_purge - remove every key
 *
 * Context, return and errors: as every write (no item argument).
 */
EVMAP_EXPORT int evmap_purge(evmap_writer *w);
/**
 * evmap_retain - keep only the values of @key for which @keep returns true
 * @w:    writer
 * @key:  borrowed
 * @keep: called exactly once per value of the bag as it stands after all
 *        earlier writes, on the calling thread, before this call returns;
 *        never used afterwards (nor is @ctx)
 * @ctx:  passed to @keep
 *
 * Context: the writer's thread, outside any read section of that thread.
 *          To see the current bag it may wait for readers to leave the
 *          writer's copy, like evmap_refresh(). Writer calls on this map
 *          from inside @keep fail with -EBUSY; the retain itself completes.
 * Return:  0.
 * Errors:  as every write, and, in this order: -EINVAL if @keep is NULL;
 *          -EDEADLK inside the calling thread's own read section; -ENOMEM
 *          if an earlier write cannot be applied (nothing logged).
 */
EVMAP_EXPORT int evmap_retain(evmap_writer *w, const void *key,
			      bool (*keep)(const void *value, void *ctx),
			      void *ctx);
/**
 * evmap_reserve - make room for @additional more values in @key's bag
 *
 * The key is created like evmap_clear_key() if absent. The room is a
 * hint: at refresh, room that cannot be allocated is not reserved, and the
 * refresh does not fail for it (only creating the key can fail it).
 * Context and return: as every write.
 * Errors:  as every write; -ENOMEM, nothing logged, for more than a bag
 *          can hold (2^31 - 2 values).
 */
EVMAP_EXPORT int evmap_reserve(evmap_writer *w, const void *key,
			       size_t additional);
/**
 * evmap_fit - shrink @key's bag storage to its length (borrowed key)
 *
 * Context, return and errors: as every write.
 */
EVMAP_EXPORT int evmap_fit(evmap_writer *w, const void *key);
/**
 * evmap_fit_all - shrink every bag, and the table to its key count
 *
 * Context, return and errors: as every write.
 */
EVMAP_EXPORT int evmap_fit_all(evmap_writer *w);
/**
 * evmap_evict - remove up to @keys keys chosen pseudo-randomly from @seed
 *
 * For cache eviction; fewer keys if the map holds fewer (any @keys,
 * SIZE_MAX included, is accepted: it removes every key).
 * Context, return and errors: as every write.
 */
EVMAP_EXPORT int evmap_evict(evmap_writer *w, size_t keys, uint64_t seed);

/**
 * evmap_refresh - publish every pending operation to readers
 * @w: writer
 *
 * Waits until no reader handle of this map can still be inside the copy
 * it updates (readers of other maps are not waited for), brings that copy
 * up to date and publishes it. Also publishes when nothing is pending (the
 * first refresh makes the map ready), with the meta set before the call.
 * Context: the writer's thread, outside any read section of that thread;
 *          may wait (spinning, then yielding the CPU, then sleeping up to
 *          a millisecond at a time) for a reader that is inside the copy;
 *          never waits for one that is not (a section whose
 *          evmap_enter() returned NULL is in no copy).
 * Return:  0: published. A read section that the application orders
 *          after this return sees every write logged before the call
 *          (<evmap.h>, "Ordering guarantees", says exactly what holds).
 * Errors:  -EINVAL: NULL @w; -EBUSY: from inside a callback of this map;
 *          -EDEADLK: the calling thread is inside a read section (any
 *          handle, any map); -ENOMEM: readers keep the previous state, no
 *          pending operation is lost, and a later call resumes where this
 *          one stopped.
 */
EVMAP_EXPORT int evmap_refresh(evmap_writer *w);

/**
 * evmap_try_refresh - evmap_refresh() that never waits
 *
 * Context: as evmap_refresh(), but it never blocks, and it takes no lock
 *          that reader creation takes.
 * Return:  0: published.
 * Errors:  -EAGAIN, changing nothing, while a reader handle of this map
 *          may still be inside the copy it must update; otherwise as
 *          evmap_refresh() (-EDEADLK included).
 */
EVMAP_EXPORT int evmap_try_refresh(evmap_writer *w);

/**
 * evmap_flush - evmap_refresh() only if a write is pending
 *
 * A new meta (evmap_set_meta()) is not an op and does not count as
 * pending: evmap_refresh() publishes it.
 * Context: as evmap_refresh() when a write is pending; with nothing
 *          pending (evmap_pending() == 0) it returns at once, also inside
 *          the caller's read section.
 * Return:  0.
 * Errors:  -EINVAL for a NULL @w; the others of evmap_refresh() only when
 *          a write is pending (so -EDEADLK only then).
 */
EVMAP_EXPORT int evmap_flush(evmap_writer *w);

/**
 * evmap_pending - number of writes logged since the last refresh
 *
 * Context: the writer's thread. Return: the count; 0 for NULL.
 */
EVMAP_EXPORT size_t evmap_pending(const evmap_writer *w);

/**
 * evmap_generation - number of refreshes published so far
 *
 * Context: the writer's thread. Return: the count; 0 for NULL.
 */
EVMAP_EXPORT uint64_t evmap_generation(const evmap_writer *w);

/**
 * evmap_set_meta - set the meta published with the next refresh
 * @meta: owned by the map; a meta replaced before it was ever published
 *        is freed at once, a published one once no reader can see it.
 *        Readers share it: they must treat it as read-only.
 *
 * Context: the writer's thread; inside or outside a read section.
 * Return:  0 (the current meta again: kept, not freed).
 * Errors:  -EINVAL for a NULL @w; -EBUSY from inside a callback.
 */
EVMAP_EXPORT int evmap_set_meta(evmap_writer *w, void *meta);

/**
 * evmap_writer_reader - a new reader handle of @w's map
 *
 * Context: any thread, also while the writer's thread uses @w (it only
 *          reads what never changes after creation); never waits.
 * Return:  the handle; NULL if @w is NULL or out of memory.
 */
EVMAP_EXPORT evmap_reader *evmap_writer_reader(evmap_writer *w);

/* ------------------------------------------------------------------ */
/* Reading: a handle per thread                                       */
/* ------------------------------------------------------------------ */

/*
 * Ordering guarantees. Let R be a call of evmap_refresh() (or a
 * successful evmap_try_refresh() or evmap_flush()) that returned 0, and S
 * a read section (evmap_enter() to evmap_leave(), or one shortcut call).
 *  - If R's return happens before S's evmap_enter() (the application
 *    ordered them: a mutex, a release store the reader acquired, a thread
 *    created or joined after R), S sees every write logged before R was
 *    called, and the meta set before it: S's view has R's generation or a
 *    later one.
 *  - Whatever the timing, S sees exactly one generation: the writes of
 *    one refresh appear together (a refresh is atomic for readers), and
 *    what S reads does not change until its evmap_leave().
 *  - A handle's sections never go back: a section's generation is at least
 *    that of the same handle's previous section (also when the handle
 *    moved to another thread, as the hand-over orders the two).
 *  - Everything the writer stored in an item before logging it (the
 *    contents of a value inserted without clone, say) happens before any
 *    reader's access to that item through a view.
 *  - Without such an order, S may see the generation before R's; a write
 *    not yet refreshed is never seen.
 */

/**
 * evmap_reader_clone - a new reader handle of the same map
 * @r: reader handle; may be in use by another thread
 *
 * Context: any thread (thread-safe); never waits for the writer.
 * Return:  the handle; NULL if @r is NULL or out of memory.
 */
EVMAP_EXPORT evmap_reader *evmap_reader_clone(const evmap_reader *r);

/**
 * evmap_reader_free - free a reader handle (NULL is ignored)
 *
 * (since 0.3.1) While the writer lives, the handle's memory is kept for
 * the map's next new handle (evmap_reader_clone(), evmap_writer_reader())
 * and given back by the writer's next refresh that waits for readers, or
 * at destruction: threads that create and free handles hold at most as
 * much memory as the most handles alive at once, whether or not the
 * writer refreshes meanwhile (before 0.3.1 every freed handle's memory
 * waited for that refresh).
 * Context: any thread, before or after the writer is freed, outside
 *          sections of this handle. Called on the thread that is inside a
 *          section of this handle, it ends that section (and every nested
 *          one) first: nothing obtained in it may be used afterwards. A
 *          handle inside a section on another thread must not be freed.
 */
EVMAP_EXPORT void evmap_reader_free(evmap_reader *r);

/**
 * evmap_enter - begin a read section
 * @r: reader handle, used by the calling thread only until evmap_leave()
 *
 * Between evmap_enter() and evmap_leave() the view and everything obtained
 * from it (values, keys, meta) stay valid and unchanged, whatever the
 * writer does. Sections nest: an inner enter returns the same view and the
 * outer view stays protected until the outermost leave.
 * Context: the thread that uses @r; never waits, never locks. Do not call
 *          evmap_refresh(), evmap_retain() or evmap_writer_free() inside a
 *          section on the same thread.
 * Return:  the published view; NULL before the first refresh, after the
 *          map was destroyed, for a NULL @r, or if the thread could not be
 *          registered with RCU (no memory; such a section holds nothing:
 *          evmap_refresh() on this thread is not refused because of it).
 *          Every call, NULL or not, must be matched by one evmap_leave()
 *          on the same handle and thread.
 */
EVMAP_EXPORT const evmap_view *evmap_enter(evmap_reader *r);

/**
 * evmap_leave - end the read section begun by the matching evmap_enter()
 *
 * Context: the thread of the matching evmap_enter(). A handle not in a
 *          section (or NULL): no effect; it never ends another handle's.
 */
EVMAP_EXPORT void evmap_leave(evmap_reader *r);

/*
 * The view, bag and iteration functions below are called inside the
 * section that gave the view, on its thread; they never wait and never
 * write shared memory. Given NULL they return 0, NULL or false.
 */

/** evmap_view_len - number of keys, counting keys with empty bags (0 for NULL). */
EVMAP_EXPORT size_t evmap_view_len(const evmap_view *v);

/**
 * evmap_view_get - the values of @key (borrowed), or NULL if absent
 *
 * Return NULL also for a NULL view, and for a NULL key of
 * evmap_type_cstr itself. A present key may have an empty bag.
 */
EVMAP_EXPORT const evmap_values *evmap_view_get(const evmap_view *v,
						const void *key);

/**
 * evmap_view_meta - the meta published with this view (NULL for NULL)
 *
 * Readers share it with each other and with the writer's later metas:
 * they must not change it.
 */
EVMAP_EXPORT void *evmap_view_meta(const evmap_view *v);

/** evmap_view_generation - the refresh that published this view (1 for the first; 0 for NULL). */
EVMAP_EXPORT uint64_t evmap_view_generation(const evmap_view *v);

/**
 * struct evmap_iter - iteration cursor (layout frozen, contents private)
 */
typedef struct evmap_iter {
	uintptr_t opaque[4];
} evmap_iter;

/**
 * evmap_view_iter - start iterating over every key of @v
 * @it: cursor to initialise; valid while the section lasts (NULL: no
 *      effect; a NULL @v iterates nothing)
 */
EVMAP_EXPORT void evmap_view_iter(const evmap_view *v, evmap_iter *it);

/**
 * evmap_iter_next - next key and its values
 *
 * Return true and set *@key / *@values (either may be NULL to skip), or
 * false when every key was visited (each key exactly once, order
 * unspecified) or @it is NULL.
 */
EVMAP_EXPORT bool evmap_iter_next(evmap_iter *it, const void **key,
				  const evmap_values **values);

/** evmap_values_len - number of values in the bag (0 for NULL, or empty). */
EVMAP_EXPORT size_t evmap_values_len(const evmap_values *vs);

/**
 * evmap_values_at - the value at index @i (0 <= @i < len; order
 * unspecified); NULL for an index out of range.
 */
EVMAP_EXPORT const void *evmap_values_at(const evmap_values *vs, size_t i);

/** evmap_values_first - a value of the bag, or NULL if the bag is empty. */
EVMAP_EXPORT const void *evmap_values_first(const evmap_values *vs);

/** evmap_values_contains - whether a value equal to @value is in the bag. */
EVMAP_EXPORT bool evmap_values_contains(const evmap_values *vs,
					const void *value);

/*
 * Shortcuts: each is a whole read section by itself (evmap_enter(), the
 * lookup, evmap_leave()).
 *  Context: the thread that uses @r; never waits; inside a section of @r
 *           it reads that section's view (sections nest).
 *  Return:  as each says; the neutral result (false, 0) for a NULL @r,
 *           before the first refresh and after destruction.
 */

/** evmap_contains_key - whether @key is present (an empty bag counts). */
EVMAP_EXPORT bool evmap_contains_key(evmap_reader *r, const void *key);
/** evmap_contains_value - whether @key's bag holds a value equal to @value. */
EVMAP_EXPORT bool evmap_contains_value(evmap_reader *r, const void *key,
				       const void *value);
/** evmap_len - number of keys, counting keys with empty bags. */
EVMAP_EXPORT size_t evmap_len(evmap_reader *r);
/**
 * evmap_get - run @fn on @key's values inside a section
 * @fn: called with the bag, the view's meta and @ctx if @key is present
 *      (NULL: only says whether it is); it must not free @r, which
 *      evmap_get() still uses to leave the section after @fn returned
 *
 * Return false if absent (or not ready / destroyed), else true after @fn
 * returned.
 */
EVMAP_EXPORT bool evmap_get(evmap_reader *r, const void *key,
			    void (*fn)(const evmap_values *vs, void *meta,
				       void *ctx),
			    void *ctx);

/**
 * evmap_is_destroyed - whether the writer was freed
 *
 * Not a read section: one load of the map's published state.
 * Context: any thread that may use @r; inside or outside a section.
 * Return:  true once evmap_writer_free() has unpublished the map; false
 *          before, and for a NULL @r.
 */
EVMAP_EXPORT bool evmap_is_destroyed(evmap_reader *r);

/**
 * evmap_get_first - copy out a value of @key in one call (since 0.2.0)
 * @r:     reader handle
 * @key:   the key to look up
 * @value: out: the value evmap_values_first() would give for @key's bag
 *
 * For maps whose value type has no free callback (evmap_type_u64,
 * evmap_type_ptr, or a type of your own without free): the map never frees
 * such a value, so the copy stays valid after the lookup's section ended
 * (for evmap_type_ptr, for as long as the application keeps the object
 * alive). The lookup is one read section by itself on @r's thread; called
 * inside a section of @r, it looks in that section's view instead. It
 * takes the place of evmap_enter(), evmap_view_get(), evmap_values_first()
 * and evmap_leave(), for less than their cost (about half with the map
 * in cache; README, "Benchmarks").
 *
 * Context: the thread that uses @r; never waits; inside any read section
 *          or none.
 * Return:  1 and *@value set if @key has a value; 0 if @key is absent, its
 *          bag is empty, the map is not ready yet or was destroyed, or
 *          @key is a NULL evmap_type_cstr key (*@value unchanged).
 * Errors:  -EINVAL if @r or @value is NULL or the map's value type has a
 *          free callback (use evmap_get()); -ENOMEM if the thread cannot
 *          register with RCU (no memory).
 */
EVMAP_EXPORT int evmap_get_first(evmap_reader *r, const void *key,
				 const void **value);

#ifdef __cplusplus
}
#endif

#endif /* EVMAP_H */

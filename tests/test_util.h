/* SPDX-License-Identifier: MIT */
/*
 * test_util.h - helpers shared by the libevmap test programs.
 *
 *  - cmocka includes in the order cmocka needs them;
 *  - EVT_U64(): a number as an evmap_type_u64 item;
 *  - evt_scale(): shrink loop counts under sanitizers (EVMAP_TEST_SCALE);
 *  - maps: evt_new_u64_map(), and the cmocka fixture evt_setup_u64 /
 *    evt_setup_ct / evt_teardown;
 *  - the counting type: heap strings whose every clone and free is
 *    recorded, so a test can prove that each item the map owned was freed
 *    exactly once, and a reader can check that no item it sees was freed;
 *  - small read helpers (bag length of a key, counting equal values) and a
 *    run-in-a-thread helper for writer calls that must not happen on a
 *    thread holding a read section;
 *  - a thread that holds a read section open until released.
 *
 * Worker threads may call the counting type and the read helpers; only the
 * main thread may call cmocka's asserts (evt_ct_assert_clean included).
 */
#ifndef EVMAP_TEST_UTIL_H
#define EVMAP_TEST_UTIL_H

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <evmap.h>

#define EVT_U64(n) ((const void *)(uintptr_t)(n))
#define EVT_NUM(p) ((uint64_t)(uintptr_t)(p))
#define EVT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * evt_scale - @n multiplied by EVMAP_TEST_SCALE (a decimal factor, default
 * 1, or 0.05 under ThreadSanitizer and 0.2 under AddressSanitizer), never
 * below @min.
 */
size_t evt_scale(size_t n, size_t min);

/* A map of evmap_type_u64 keys and values with default options (main
 * thread: fails the test if it cannot be made). */
void evt_new_u64_map(evmap_writer **w, evmap_reader **r);

/*
 * A cmocka fixture: one map and its first reader handle, in *state.
 * evt_setup_u64: evmap_type_u64 keys and values; evt_setup_ct: the counting
 * type (below) for both. evt_teardown frees them and asserts that every
 * counted item was freed exactly once.
 */
struct evt_fixture {
	evmap_writer *w;
	evmap_reader *r;
};
int evt_setup_u64(void **state);
int evt_setup_ct(void **state);
int evt_teardown(void **state);

/* ---- the counting type ---- */

/*
 * evt_ct_type: items are NUL-terminated strings; clone copies a string into
 * a new recorded item, free records the free (the memory itself is kept
 * until evt_ct_reset(), so that a late reader reads a "freed" mark instead
 * of freed memory). hash: FNV-1a; equal: strcmp.
 * evt_ct_owned_type: the same without clone: the map takes items made with
 * evt_ct_new() and frees them.
 */
extern const evmap_type evt_ct_type;
extern const evmap_type evt_ct_owned_type;

/* A new recorded item holding @s (for evt_ct_owned_type). */
const char *evt_ct_new(const char *s);
/* Whether @item (a recorded item) was freed. Any thread. */
bool evt_ct_is_freed(const void *item);

struct evt_ct_stats {
	size_t created; /* items made by clone or evt_ct_new */
	size_t freed;   /* distinct items freed */
	size_t double_frees;
	size_t foreign_frees; /* free of something never created here */
	size_t live;          /* created - freed */
};
void evt_ct_stats(struct evt_ct_stats *st);
/* Forget every item (releasing their memory) and zero the counters. */
void evt_ct_reset(void);
/* Main thread: every item created was freed exactly once (no double or
 * foreign frees), then evt_ct_reset(). */
void evt_ct_assert_clean(void);

/* ---- meta with a free counter ---- */

struct evt_meta {
	int value;
	int frees; /* atomic */
};
struct evt_meta *evt_meta_new(int value);
void evt_meta_free(void *meta); /* counts, keeps the memory */
int evt_meta_frees(const struct evt_meta *m);
/* Release every meta made by evt_meta_new(). */
void evt_meta_reset(void);

/* ---- reading ---- */

#define EVT_ABSENT (-1L)
#define EVT_NOT_READY (-2L)
/* Bag length of @key in a fresh section: EVT_ABSENT, EVT_NOT_READY (no
 * view), or the length. */
long evt_len_of(evmap_reader *r, const void *key);
/* Number of values of @vs equal to the string @s (strcmp). */
size_t evt_count_str(const evmap_values *vs, const char *s);
/* Number of values of @vs equal to the u64 item @n. */
size_t evt_count_u64(const evmap_values *vs, uint64_t n);

/* ---- allocation failure ---- */

/* A hook for evmap__alloc_set_failure_hook() (internal library) that
 * makes every allocation fail. */
bool evt_fail_every_allocation(size_t size, void *ctx);

/* ---- threads ---- */

/* Run @fn(@arg) on a new thread and join it. */
void evt_run_in_thread(void (*fn)(void *arg), void *arg);

/* fork(); the child runs @fn(@arg) and _exit()s with its result, the
 * parent waits for it and asserts that it exited with 0. */
void evt_assert_child_succeeds(int (*fn)(void *arg), void *arg);

/* A one-shot event: evt_event_wait() returns once evt_event_set() ran. */
struct evt_event {
	int set;
	void *impl; /* pthread mutex + cond, made by evt_event_init() */
};
void evt_event_init(struct evt_event *e);
void evt_event_destroy(struct evt_event *e);
void evt_event_set(struct evt_event *e);
void evt_event_wait(struct evt_event *e);

/* A thread that holds a read section of one handle open until released:
 * evt_hold_section() starts it and returns once it is inside (the handle
 * stays the caller's); evt_release_section() lets it leave and joins it. */
struct evt_section_holder {
	evmap_reader *r;
	pthread_t thread;
	struct evt_event inside, release;
};
void evt_hold_section(struct evt_section_holder *h, evmap_reader *r);
void evt_release_section(struct evt_section_holder *h);

#endif /* EVMAP_TEST_UTIL_H */

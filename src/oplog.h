/* SPDX-License-Identifier: MIT */
/*
 * oplog.h - internal: the writer's operation log and how an operation is
 * applied to a copy.
 *
 * An operation is applied twice: first to the standby copy (resolving it
 * with the user's hash/equal/keep: which key entry, which values it
 * removes) and, after the next publication, a second time to the other
 * copy, by identity (stored hash + pointers), never calling the user's
 * equality or keep callbacks (a large bag's index may hash a value again).
 * What an operation removes on its first application is kept in the op as
 * garbage and freed on its second application, when it leaves the second
 * copy. Each application either completes or fails with -ENOMEM having
 * changed nothing, so refresh can stop and resume at any op.
 */
#ifndef EVMAP_OPLOG_H
#define EVMAP_OPLOG_H

#include "map.h"

enum evmap__op_kind {
	EVMAP__OP_INSERT,
	EVMAP__OP_UPDATE,
	EVMAP__OP_REMOVE_VALUE,
	EVMAP__OP_CLEAR_KEY,
	EVMAP__OP_REMOVE_KEY,
	EVMAP__OP_PURGE,
	EVMAP__OP_RETAIN,
	EVMAP__OP_RESERVE,
	EVMAP__OP_FIT,
	EVMAP__OP_FIT_ALL,
	EVMAP__OP_EVICT,
};

enum evmap__op_flags {
	EVMAP__OP_OWNS_KEY = 1 << 0,      /* key must be freed if unused */
	EVMAP__OP_OWNS_VALUE = 1 << 1,    /* value likewise */
	EVMAP__OP_LOOKUP_KEY = 1 << 2,    /* key is a clone made for lookup */
	EVMAP__OP_LOOKUP_VALUE = 1 << 3,  /* value likewise */
	EVMAP__OP_RESOLVED = 1 << 4,      /* first application done */
	EVMAP__OP_NOOP = 1 << 5,          /* resolved to nothing to do */
	EVMAP__OP_HAS_GARBAGE = 1 << 6,
};

/* Keys (with their bags) an evict removed; values a retain removed. */
struct evmap__removed {
	const void *key;
	uint32_t hash;
	struct evmap__bag_storage bag;
};

struct evmap__op {
	uint8_t kind;
	uint8_t flags;
	uint32_t hash;     /* of key */
	const void *key;   /* after resolution: the stored key pointer */
	const void *value; /* after resolution (remove_value): the removed one */
	size_t count;      /* reserve: additional; evict: keys; removed[] size */
	uint64_t seed;     /* evict */
	union {
		struct evmap__bag_storage bag; /* update, clear, remove_key */
		struct evmap__table table;     /* purge: the whole old table */
		struct evmap__removed *removed; /* evict (keys), retain (values) */
	} garbage;
};

struct evmap__oplog {
	struct evmap__op *ops;
	size_t len, cap;
};

/* Room for one more op. 0 or -ENOMEM. */
int evmap__oplog_reserve(struct evmap__oplog *log);
/* Give back room a burst of writes left once the log is at most a quarter
 * full (halving, never below the initial 64 ops). Best effort: on failure
 * the log keeps its array. */
void evmap__oplog_shrink(struct evmap__oplog *log);

/* First application to @copy. 0 or -ENOMEM (nothing changed). */
int evmap__op_apply_first(struct evmap__op *op, struct evmap_view *copy,
			  const struct evmap__types *types);
/* Second application to @copy, then free the op's garbage. 0 or -ENOMEM. */
int evmap__op_apply_second(struct evmap__op *op, struct evmap_view *copy,
			   const struct evmap__types *types);
/* Free what a never-applied op owns (its key, value, lookup clones). */
void evmap__op_release_unapplied(struct evmap__op *op,
				 const struct evmap__types *types);
/* Free the garbage of a first-applied op that will never be second-applied
 * (destruction). */
void evmap__op_release_garbage(struct evmap__op *op,
			       const struct evmap__types *types);

/* Retain, resolved at once on @copy (calls @keep once per value). */
int evmap__op_retain_first(struct evmap__op *op, struct evmap_view *copy,
			   bool (*keep)(const void *value, void *ctx),
			   void *ctx);

/* Free every key and value in @t (not the storage). */
void evmap__table_free_items(struct evmap__table *t,
			     const struct evmap__types *types);

#endif /* EVMAP_OPLOG_H */

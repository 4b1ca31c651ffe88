/* SPDX-License-Identifier: MIT */
/*
 * oplog.h - internal: the writer's operation log. Its ops, the three
 * cursors that say which ops each copy has seen, and the calls that apply
 * them; oplog.c opens with how the log works and why the copies cannot
 * diverge.
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
	EVMAP__OP_KINDS
};

enum evmap__op_flags {
	EVMAP__OP_OWNS_KEY = 1 << 0,     /* key must be freed if unused */
	EVMAP__OP_OWNS_VALUE = 1 << 1,   /* value likewise */
	EVMAP__OP_LOOKUP_KEY = 1 << 2,   /* key is a clone made for lookup */
	EVMAP__OP_LOOKUP_VALUE = 1 << 3, /* value likewise */
	EVMAP__OP_NOOP = 1 << 4,         /* first application: nothing to do */
	EVMAP__OP_HAS_GARBAGE = 1 << 5,  /* holds what it took out of a copy */
};

/* A key and its bag that an evict took out of the first copy. */
struct evmap__evicted_key {
	const void *key;
	uint32_t hash;
	struct evmap__bag_storage bag;
};

struct evmap__op {
	uint8_t kind;      /* enum evmap__op_kind */
	uint8_t flags;     /* enum evmap__op_flags */
	uint32_t hash;     /* of key */
	const void *key;   /* after the first application: the stored key */
	const void *value; /* after remove_value's first application: the
			    * stored value it removed */
	union {
		/* arguments, as logged */
		size_t reserve_additional; /* RESERVE: room for this many */
		struct {
			size_t keys;
			uint64_t seed;
		} evict_request; /* EVICT, until its first application */
		/* garbage: what the first application took out of the first
		 * copy, freed when the second takes it out of the other */
		struct evmap__bag_storage taken_bag; /* UPDATE, CLEAR_KEY,
						      * REMOVE_KEY */
		struct evmap__table purged_table;    /* PURGE: the old table */
		struct {
			struct evmap__evicted_key *keys;
			size_t count;
		} evicted; /* EVICT */
		struct {
			const void **values;
			size_t count;
		} rejected; /* RETAIN: the values keep() rejected */
	} u;
};

/*
 * The log: ops[0, len), oldest first, in two runs:
 *   [0, published_end)    published by the last refresh, so applied to the
 *                         published copy; [0, replayed) of them are also
 *                         applied (a second time) to the standby;
 *   [published_end, len)  pending: not visible to readers;
 *                         [published_end, applied) of them are applied
 *                         (a first time) to the standby.
 * Invariant: replayed <= published_end <= applied <= len, and applied >
 * published_end only once replayed == published_end.
 */
struct evmap__oplog {
	struct evmap__op *ops;
	size_t len, cap;
	size_t published_end, replayed, applied;
};

/* Ops logged since the last refresh. */
static inline size_t evmap__oplog_pending(const struct evmap__oplog *log)
{
	return log->len - log->published_end;
}

/* Room for one more op. 0 or -ENOMEM. */
int evmap__oplog_reserve(struct evmap__oplog *log);
/* Append @op (after evmap__oplog_reserve succeeded). */
void evmap__oplog_push(struct evmap__oplog *log, const struct evmap__op *op);

/* Bring @standby up to date (no reader may be inside it): replay the
 * published ops, then apply the pending ones. 0, or -ENOMEM; resumable:
 * a later call goes on from the op that failed. */
int evmap__oplog_catch_up(struct evmap__oplog *log, struct evmap_view *standby,
			  const struct evmap__types *types);
/* The caught-up standby was just published: the ops it replayed leave the
 * log (they are in both copies), the pending ones become published. */
void evmap__oplog_published(struct evmap__oplog *log);

/* The last op is a retain, and everything before it is applied to
 * @standby: apply it now (calls @keep once per value). On -ENOMEM the op
 * leaves the log, having changed nothing. */
int evmap__oplog_apply_retain(struct evmap__oplog *log,
			      struct evmap_view *standby,
			      bool (*keep)(const void *value, void *ctx),
			      void *ctx);

/* At destruction: whether the published copy has seen more ops than the
 * standby (it then holds every live item). */
bool evmap__oplog_published_is_ahead(const struct evmap__oplog *log);
/* At destruction, once the copy that is ahead had its items freed: free
 * what the ops still hold (the garbage of ops applied to one copy, the
 * items of ops applied to none) and the log itself. */
void evmap__oplog_destroy(struct evmap__oplog *log,
			  const struct evmap__types *types);

#endif /* EVMAP_OPLOG_H */

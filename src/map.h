/* SPDX-License-Identifier: MIT */
/*
 * map.h - internal: the structures shared by the writer, the readers and
 * the operation log.
 *
 * A map has two copies (struct evmap_view). map->published points to the
 * one readers use (RCU-protected; NULL before the first refresh and after
 * destruction); the writer owns the other one, the standby. The shell
 * (struct evmap__shared) outlives the writer while reader handles exist.
 */
#ifndef EVMAP_MAP_H
#define EVMAP_MAP_H

#include "evmap.h"
#include "rcu.h"
#include "table.h"
#include "types.h"

struct evmap_view {
	struct evmap__table table;
	void *meta;
	uint64_t generation; /* when it was last published; 0 = never */
};

struct evmap__shared {
	struct evmap_view *published; /* rcu */
	int destroyed;                /* atomic */
	unsigned long refs;           /* atomic: the writer + each reader */
	struct evmap__types types;
};

/* One reader handle per cache line pair: nothing a reader writes shares a
 * line with another thread's data. */
struct evmap_reader {
	struct evmap__rcu_binding binding;
	struct evmap__shared *shared;
	const struct evmap_view *view; /* of the current section */
	unsigned int depth;            /* section nesting */
	bool locked;                   /* the outermost enter took the RCU lock */
} __attribute__((aligned(64)));

void evmap__shared_put(struct evmap__shared *s);
/* A new reader handle; takes a reference on @s. */
evmap_reader *evmap__reader_new(struct evmap__shared *s);

#endif /* EVMAP_MAP_H */

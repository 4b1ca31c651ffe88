/* SPDX-License-Identifier: MIT */
/*
 * map.h - internal: the structures shared by the writer, the readers and
 * the operation log.
 *
 * A map has two copies (struct evmap_view). shared->published names the
 * one readers use (none before the first refresh and after destruction);
 * the writer owns the other one, the standby. The shell
 * (struct evmap__shared) outlives the writer while reader handles exist.
 */
#ifndef EVMAP_MAP_H
#define EVMAP_MAP_H

#include "evmap.h"
#include "rcu.h"
#include "table.h"
#include "types.h"

/*
 * 64-bit hosts only: slot counts, bag indexes and the u64 item type assume
 * a 64-bit size_t and pointer, and the section and published words are
 * 64-bit atomics read and written without locks. (debian/control lists
 * the 64-bit architectures; README "Dependencies" says so.)
 */
_Static_assert(sizeof(void *) == 8 && sizeof(size_t) == 8,
	       "libevmap supports 64-bit hosts only");
_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
	       "libevmap needs lock-free 64-bit atomics");

/*
 * One copy. The table header is what every lookup reads: it has a cache
 * line of its own, which the writer writes only when the table grows or
 * shrinks or its key count changes (never while readers use the copy).
 * meta and generation, written at every publication, sit on the next line.
 */
struct evmap_view {
	struct evmap__table table;
	void *meta __attribute__((aligned(64)));
	uint64_t generation; /* when it was last published; 0 = never */
} __attribute__((aligned(64)));

/* How a map's reader handles were had, for tests (registry.c, "Spare
 * handles"; evmap__reader_handle_stats). Atomic counters. */
struct evmap__handle_stats {
	uint64_t allocated; /* handles allocated */
	uint64_t reused;    /* new handles that were a freed one, kept */
	uint64_t released;  /* kept handles the writer then freed */
};

/* The map's shell, shared by the writer and every reader handle. */
struct evmap__shared {
	/* Written by the writer at every refresh, read at every section:
	 * alone on its line. (generation << 1) | index in copies[] of the
	 * published copy (generations from 1); all ones: destroyed, the
	 * word of a section that announced the destruction (registry.h,
	 * EVMAP__GENERATION_DESTROYED), so that such a handle finds its
	 * cached view (none) current, and one that never announced a
	 * generation does not; all ones but the copy bit: none yet. No
	 * section word matches "none yet" (evmap__section_view_is_cached:
	 * with the inside bit it is the destroyed word, which a section
	 * stores only after destruction), so every section that loads it
	 * takes the slow path, which stores "outside" (registry.c). One
	 * word, so a reader learns the view and its generation with one
	 * load. */
	uint64_t published __attribute__((aligned(64)));
#define EVMAP__PUBLISHED_DESTROYED UINT64_MAX /* after evmap_writer_free */
#define EVMAP__PUBLISHED_NONE (EVMAP__PUBLISHED_DESTROYED - 1) /* not ready */
	/* Read-only after creation. */
	struct evmap_view *copies[2] __attribute__((aligned(64)));
	/* evmap_get_first's fast path applies: identity keys, a value type
	 * without free (a value read in a section stays valid after it), and
	 * readers that need no fence (rcu.h). Derived from types and liburcu
	 * at creation, kept here on the line every read loads. */
	bool get_first_fast;
	/* The value type has a free callback (evmap_get_first answers
	 * -EINVAL): kept here so that no reader call reads the type object
	 * after destruction, when the application may have freed it. */
	bool value_type_frees;
	struct evmap__types types;
	/* Written when handles come and go. */
	unsigned long refs __attribute__((aligned(64))); /* atomic */
	struct evmap_reader *handles; /* atomic: the registry (registry.c) */
	/* Freed handles kept for the next new one (registry.c, "Spare
	 * handles"); changed under evmap__rcu_handles_lock(), read without
	 * it as a hint. */
	struct evmap_reader *spares; /* atomic */
	bool spares_closed;          /* the writer was freed: keep no more */
	struct evmap__handle_stats handle_stats;
};

/*
 * A reader handle: three cache lines, so that what the reader writes at
 * every section, what the writer's refresh writes, and what is written
 * only when handles come and go never share a line.
 */
struct evmap_reader {
	/* line 0: written by the reader at every section; read by the
	 * writer once per refresh (section, parked: registry.h) */
	uint64_t section;              /* atomic: section word */
	int parked;                    /* atomic: raised by the writer */
	unsigned int depth;            /* section nesting */
	/* the view of the generation the section word announced (NULL for
	 * generation 0): the current section's view while the word says
	 * inside (registry.h). After destruction it dangles until the next
	 * section sets it NULL; it is never used, as the published word
	 * (destroyed) matches no announced generation. */
	const struct evmap_view *view;
	struct evmap__rcu_binding binding;
	/* line 1: read at every section, written when handles come and go */
	struct evmap__shared *shared __attribute__((aligned(64)));
	struct evmap_reader *next;     /* registry list (registry.c) */
	struct evmap_reader *next_spare; /* spare list, under the lock */
	int state;                     /* atomic: enum evmap__handle_state */
	/* line 2: the writer's own bookkeeping of this handle */
	uint64_t clear_gen __attribute__((aligned(64)));
	bool park_verified;
} __attribute__((aligned(64)));

void evmap__shared_put(struct evmap__shared *s);
/* A new reader handle; takes a reference on @s. */
evmap_reader *evmap__reader_new(struct evmap__shared *s);

#endif /* EVMAP_MAP_H */

/* SPDX-License-Identifier: MIT */
/*
 * alloc.h - internal: the one place the library allocates memory.
 *
 * Every allocation goes through evmap__malloc/calloc/realloc so that tests
 * can make any chosen allocation fail (evmap__alloc_set_failure_hook). The
 * hook is one predictable branch when unset; it is hidden, reachable only by
 * programs that link the uninstalled internal static library.
 */
#ifndef EVMAP_ALLOC_H
#define EVMAP_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* Return true to make this allocation (of @size bytes) fail. */
typedef bool (*evmap__alloc_failure_hook)(size_t size, void *ctx);

void evmap__alloc_set_failure_hook(evmap__alloc_failure_hook hook, void *ctx);

void *evmap__malloc(size_t size);
void *evmap__calloc(size_t count, size_t size);
void *evmap__realloc(void *ptr, size_t size);
/* Cache-line aligned allocation (reader handles, the map's shell and
 * writer: no false sharing); @alignment a power of two. Free with
 * evmap__aligned_free, never evmap__free. */
void *evmap__aligned_alloc(size_t alignment, size_t size);
void evmap__aligned_free(void *ptr);
/*
 * A large array (hash table slots), not yet touched: from 4 MiB on it is
 * 2 MiB aligned and advised for transparent huge pages, so that lookups
 * spread over a big sparse table do not pay a TLB miss each (the kernel's
 * THP mode "madvise", Debian's default, needs the advice). Free with
 * evmap__free.
 */
void *evmap__alloc_large(size_t size);
void evmap__free(void *ptr);

/* *out = a * b; false on overflow. */
static inline bool evmap__mul_size(size_t a, size_t b, size_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

static inline bool evmap__add_size(size_t a, size_t b, size_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}

#endif /* EVMAP_ALLOC_H */

/* SPDX-License-Identifier: MIT */
/* alloc.c - the library's allocation functions and the failure hook. */
#include "alloc.h"

#include <stdlib.h>
#include <sys/mman.h>

static evmap__alloc_failure_hook failure_hook;
static void *failure_hook_ctx;

void evmap__alloc_set_failure_hook(evmap__alloc_failure_hook hook, void *ctx)
{
	failure_hook_ctx = ctx;
	failure_hook = hook;
}

static bool should_fail(size_t size)
{
	return failure_hook && failure_hook(size, failure_hook_ctx);
}

void *evmap__malloc(size_t size)
{
	return should_fail(size) ? NULL : malloc(size);
}

void *evmap__calloc(size_t count, size_t size)
{
	size_t total;
	if (!evmap__mul_size(count, size, &total) || should_fail(total))
		return NULL;
	return calloc(count, size);
}

void *evmap__realloc(void *ptr, size_t size)
{
	return should_fail(size) ? NULL : realloc(ptr, size);
}

void *evmap__aligned_alloc(size_t alignment, size_t size)
{
	void *p;
	if (should_fail(size) || posix_memalign(&p, alignment, size) != 0)
		return NULL;
	return p;
}

void *evmap__alloc_large(size_t size)
{
	const size_t huge = (size_t)2 << 20;
	void *p;

	if (size < 2 * huge)
		return evmap__malloc(size);
	if (should_fail(size) || posix_memalign(&p, huge, size) != 0)
		return NULL;
	/* Before the first touch, so that faults can map huge pages. Only
	 * advice: an error (no THP in this kernel) changes nothing. */
	(void)madvise(p, size & ~(huge - 1), MADV_HUGEPAGE);
	return p;
}

void evmap__free(void *ptr)
{
	free(ptr);
}

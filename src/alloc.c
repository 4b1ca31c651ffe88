/* SPDX-License-Identifier: MIT */
/* alloc.c - the library's allocation functions and the failure hook. */
#include "alloc.h"

#include <stdint.h>
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

/*
 * Aligned blocks are carved out of a larger malloc() block, whose address
 * is kept just below the aligned one, rather than taken from
 * posix_memalign(): glibc's memalign splits each allocation and gives the
 * slack back to the arena as small free chunks. Reader handles are
 * allocated on the threads that clone them and freed on the writer's
 * (registry.c), and with memalign the creators' arenas filled with such
 * fragments: each malloc_consolidate walked them holding the arena lock,
 * the writer's frees queued behind it, and garbage handles piled up
 * faster than it freed them (test_conf26_clone_churn, in a fifth of its
 * runs beside a second copy: 2.9 GB and growing, 19 refreshes in 40 s;
 * none in 50 runs after this change).
 */
void *evmap__aligned_alloc(size_t alignment, size_t size)
{
	size_t total;
	char *block;
	uintptr_t aligned;

	if (!evmap__add_size(size, alignment + sizeof(void *), &total) ||
	    should_fail(size) || !(block = malloc(total)))
		return NULL;
	aligned = ((uintptr_t)block + sizeof(void *) + alignment - 1) &
		  ~(uintptr_t)(alignment - 1);
	((void **)aligned)[-1] = block;
	return (void *)aligned;
}

void evmap__aligned_free(void *ptr)
{
	if (ptr)
		free(((void **)ptr)[-1]);
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

/* SPDX-License-Identifier: MIT */
/*
 * types.c - the ready-made item types (cstr, u64, ptr), the keyed string
 * hash (SipHash-1-3) and per-map random seeds.
 */
#include "types.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "alloc.h"

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = rotl(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = rotl(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = rotl(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = rotl(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = rotl(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = rotl(v2, 32);                                             \
	} while (0)

uint64_t evmap__siphash13(uint64_t k0, uint64_t k1, const void *data,
			  size_t len)
{
	const unsigned char *p = data;
	uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, 8); /* little-endian hosts; any host works */
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < tail; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t evmap__random_seed(void)
{
	uint64_t seed;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (uint64_t)ts.tv_nsec * UINT64_C(0x9E3779B97F4A7C15) ^
		       (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&ts;
	}
	return seed;
}

void evmap__item_type_init(struct evmap__item_type *it, const evmap_type *type,
			   uint64_t seed)
{
	it->type = type;
	/* k1 is the step after k0: the keys the map has always derived */
	it->sip_k0 = evmap__splitmix64(&seed);
	seed = it->sip_k0;
	it->sip_k1 = evmap__splitmix64(&seed);
	if (type == &evmap_type_cstr)
		it->kind = EVMAP__KIND_CSTR;
	else if (type == &evmap_type_u64 || type == &evmap_type_ptr)
		it->kind = EVMAP__KIND_IDENTITY;
	else
		it->kind = EVMAP__KIND_CUSTOM;
}

/* ---- the ready-made types ---- */

static uint64_t cstr_hash(const void *item, void *ctx)
{
	(void)ctx;
	/* Unkeyed when called through the struct; maps created with
	 * &evmap_type_cstr use the keyed hash directly (types.h). */
	return item ? evmap__siphash13(0, 0, item, strlen(item)) : 0;
}

static bool cstr_equal(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void *cstr_clone(const void *item, void *ctx)
{
	size_t len;
	char *copy;
	(void)ctx;
	if (!item)
		return NULL;
	len = strlen(item) + 1;
	copy = evmap__malloc(len);
	if (copy)
		memcpy(copy, item, len);
	return copy;
}

static void cstr_free(void *item, void *ctx)
{
	(void)ctx;
	evmap__free(item);
}

static uint64_t identity_hash(const void *item, void *ctx)
{
	(void)ctx;
	return (uint64_t)(uintptr_t)item;
}

const evmap_type evmap_type_cstr = {
	.hash = cstr_hash,
	.equal = cstr_equal,
	.clone = cstr_clone,
	.free = cstr_free,
	.ctx = NULL,
};

const evmap_type evmap_type_u64 = {
	.hash = identity_hash,
	.equal = NULL,
	.clone = NULL,
	.free = NULL,
	.ctx = NULL,
};

const evmap_type evmap_type_ptr = {
	.hash = identity_hash,
	.equal = NULL,
	.clone = NULL,
	.free = NULL,
	.ctx = NULL,
};

/* SPDX-License-Identifier: MIT */
/*
 * types.h - internal: how a map hashes and compares its keys and values.
 *
 * struct evmap__types is built once per map from the user's evmap_type
 * objects. Ready-made types get inlined fast paths (no indirect call for
 * evmap_type_u64/ptr, the keyed SipHash for evmap_type_cstr with the map's
 * seed); any other type goes through its callbacks. Every 64-bit hash is
 * folded to the 32-bit hash the tables store.
 */
#ifndef EVMAP_TYPES_H
#define EVMAP_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "evmap.h"

enum evmap__type_kind {
	EVMAP__KIND_IDENTITY, /* u64, ptr: hash = the item, equal = identity */
	EVMAP__KIND_CSTR,     /* evmap_type_cstr: keyed SipHash, strcmp */
	EVMAP__KIND_CUSTOM,   /* user callbacks */
};

struct evmap__item_type {
	const evmap_type *type;
	enum evmap__type_kind kind;
	uint64_t sip_k0, sip_k1; /* CSTR only: the per-map key */
};

struct evmap__types {
	struct evmap__item_type key;
	struct evmap__item_type value;
};

uint64_t evmap__siphash13(uint64_t k0, uint64_t k1, const void *data,
			  size_t len);
void evmap__item_type_init(struct evmap__item_type *it, const evmap_type *type,
			   uint64_t seed);
uint64_t evmap__random_seed(void);

/* Fold a 64-bit hash into the 32 bits the tables store (multiplicative
 * mixing, so that weak user hashes such as the identity still spread). */
static inline uint32_t evmap__fold_hash(uint64_t h)
{
	return (uint32_t)((h * UINT64_C(0x9E3779B97F4A7C15)) >> 32);
}

static inline uint32_t evmap__item_hash(const struct evmap__item_type *it,
					const void *item)
{
	switch (it->kind) {
	case EVMAP__KIND_IDENTITY:
		return evmap__fold_hash((uint64_t)(uintptr_t)item);
	case EVMAP__KIND_CSTR:
		if (!item)
			return 0;
		return evmap__fold_hash(evmap__siphash13(
			it->sip_k0, it->sip_k1, item, strlen(item)));
	default:
		return evmap__fold_hash(it->type->hash(item, it->type->ctx));
	}
}

static inline bool evmap__item_equal(const struct evmap__item_type *it,
				     const void *a, const void *b)
{
	switch (it->kind) {
	case EVMAP__KIND_IDENTITY:
		return a == b;
	case EVMAP__KIND_CSTR:
		return a == b || (a && b && strcmp(a, b) == 0);
	default:
		if (!it->type->equal)
			return a == b;
		return it->type->equal(a, b, it->type->ctx);
	}
}

/* Free @item with @type's free callback, if it has one (items of types
 * without one belong to the application). */
static inline void evmap__item_free(const evmap_type *type, const void *item)
{
	if (type->free)
		type->free((void *)item, type->ctx);
}

/* One step of splitmix64 (Steele, Lea, Flood): advance *@state and return
 * a well-mixed 64-bit value of it. */
static inline uint64_t evmap__splitmix64(uint64_t *state)
{
	uint64_t x = (*state += UINT64_C(0x9E3779B97F4A7C15));

	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

/* Whether bags of this value type may get a hash index. */
static inline bool evmap__item_hashable(const struct evmap__item_type *it)
{
	return it->kind != EVMAP__KIND_CUSTOM || it->type->hash != NULL;
}

#endif /* EVMAP_TYPES_H */

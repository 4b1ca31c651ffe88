/* SPDX-License-Identifier: MIT */
/*
 * bench-util.h - what every benchmark program in bench/ shares: the
 * per-thread random number generator (wyrand), the monotonic clock read
 * and a few numeric helpers. Everything is static inline: the generators
 * run inside the measured loops.
 */
#ifndef EVMAP_BENCH_UTIL_H
#define EVMAP_BENCH_UTIL_H

#include <stdint.h>
#include <time.h>

/* wyrand: one 64-bit multiply per number, good enough for key choice. */
static inline uint64_t bench_rand(uint64_t *state)
{
	unsigned __int128 product;

	*state += UINT64_C(0xa0761d6478bd642f);
	product =
	    (unsigned __int128)*state * (*state ^ UINT64_C(0xe7037ed1a0b428db));
	return (uint64_t)(product >> 64) ^ (uint64_t)product;
}

/* Uniform in [0, @span) by multiply-shift (Lemire, without the rejection
 * step: the bias is below 2^-50 for the spans used here). */
static inline uint64_t bench_rand_below(uint64_t *state, uint64_t span)
{
	return (uint64_t)(((unsigned __int128)bench_rand(state) * span) >> 64);
}

/* Uniform in [0, 1) with 53 random bits, as Rust's rand::Rng::gen::<f64>. */
static inline double bench_rand_unit(uint64_t *state)
{
	return (double)(bench_rand(state) >> 11) * 0x1.0p-53;
}

/* The monotonic clock in nanoseconds (one vDSO call). */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) +
	       (uint64_t)ts.tv_nsec;
}

#endif /* EVMAP_BENCH_UTIL_H */

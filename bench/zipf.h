/* SPDX-License-Identifier: MIT */
/*
 * zipf.h - the skewed key distribution of evmap's benchmark.
 *
 * A copy of the sampler of the Rust crate zipf 6.1.0 that evmap's
 * benchmark uses: Hörmann and Derflinger's rejection-inversion method for
 * Zipf's law with exponent s over the keys 1..n, including the crate's
 * quirk that the inverted value is truncated toward zero (not rounded), so
 * that key 1 is drawn far more often than a textbook Zipf law says (for
 * s = 1.03, n = 10 000: 14.84 % instead of 11.59 %). With those parameters
 * the acceptance test never rejects; it is kept so that the sampler stays
 * exactly the crate's for any parameters.
 */
#ifndef EVMAP_BENCH_ZIPF_H
#define EVMAP_BENCH_ZIPF_H

#include <stdint.h>

struct bench_zipf {
	double n;	      /* number of keys */
	double exponent;      /* s */
	double h_integral_x1; /* H(1.5) - 1 */
	double h_integral_n;  /* H(n + 0.5) */
	double s;	      /* acceptance shortcut: 2 - H^-1(H(2.5) - h(2)) */
};

/*
 * bench_zipf_init - prepare a sampler for keys 1..@n with exponent @exponent
 * Return 0, or -1 if @n is 0 or @exponent is not positive.
 */
int bench_zipf_init(struct bench_zipf *z, uint64_t n, double exponent);

/*
 * bench_zipf_sample - draw one key in 1..n
 * @rng: state of the calling thread's bench_rand() generator
 */
uint64_t bench_zipf_sample(const struct bench_zipf *z, uint64_t *rng);

/* The integral H(x) = (x^(1-s) - 1) / (1-s) and its inverse (for tests). */
double bench_zipf_h_integral(double x, double exponent);
double bench_zipf_h_integral_inv(double x, double exponent);

#endif /* EVMAP_BENCH_ZIPF_H */

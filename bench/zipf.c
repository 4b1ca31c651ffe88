/* SPDX-License-Identifier: MIT */
/*
 * zipf.c - rejection-inversion sampling of Zipf's law, transcribed from
 * the Rust crate zipf 6.1.0 (see zipf.h for why the truncation matters).
 *
 * The helpers evaluate log1p(x)/x and expm1(x)/x with a series near 0 so
 * that H and its inverse stay accurate when the exponent is close to 1
 * (1 - s = -0.03 here).
 */
#include "zipf.h"

#include <math.h>

#include "bench-util.h"

/* log(1 + x) / x */
static double helper1(double x)
{
	if (fabs(x) > 1e-8)
		return log1p(x) / x;
	return 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

/* (exp(x) - 1) / x */
static double helper2(double x)
{
	if (fabs(x) > 1e-8)
		return expm1(x) / x;
	return 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
}

double bench_zipf_h_integral(double x, double exponent)
{
	double log_x = log(x);

	return helper2((1.0 - exponent) * log_x) * log_x;
}

double bench_zipf_h_integral_inv(double x, double exponent)
{
	double t = x * (1.0 - exponent);

	if (t < -1.0)
		t = -1.0;
	return exp(helper1(t) * x);
}

/* h(x) = x^-s, the density H integrates. */
static double h(double x, double exponent)
{
	return exp(-exponent * log(x));
}

int bench_zipf_init(struct bench_zipf *z, uint64_t n, double exponent)
{
	if (n == 0 || !(exponent > 0.0))
		return -1;
	z->n = (double)n;
	z->exponent = exponent;
	z->h_integral_x1 = bench_zipf_h_integral(1.5, exponent) - 1.0;
	z->h_integral_n = bench_zipf_h_integral(z->n + 0.5, exponent);
	z->s =
	    2.0 - bench_zipf_h_integral_inv(
		      bench_zipf_h_integral(2.5, exponent) - h(2.0, exponent),
		      exponent);
	return 0;
}

uint64_t bench_zipf_sample(const struct bench_zipf *z, uint64_t *rng)
{
	for (;;) {
		/* u is uniform in (H(1.5) - 1, H(n + 0.5)] */
		double u =
		    z->h_integral_n +
		    bench_rand_unit(rng) * (z->h_integral_x1 - z->h_integral_n);
		double x = bench_zipf_h_integral_inv(u, z->exponent);
		double k64 = fmin(fmax(x, 1.0), z->n);
		/* Truncation toward zero, as in the crate (it means to round
		 * but does not add 0.5). */
		uint64_t k = (uint64_t)k64;

		if (k < 1)
			k = 1;
		if (k64 - x <= z->s ||
		    u >= bench_zipf_h_integral(k64 + 0.5, z->exponent) -
			     h(k64, z->exponent))
			return k;
	}
}

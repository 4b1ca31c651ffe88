/* SPDX-License-Identifier: MIT */
/*
 * test-zipf.c - unit test of the benchmark's skewed key distribution.
 *
 * The sampler must reproduce the distribution evmap's benchmark really
 * draws (the zipf 6.1.0 crate with its truncation; bench/README.md):
 * key 1 14.84 %, key 2 4.57 %, the top 10 keys 33.67 % for exponent 1.03
 * over 10 000 keys. The seed is fixed, so the test is deterministic; the
 * tolerance is five standard errors of the sample plus the rounding of the
 * reference figures, so that it would also hold for any other seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <math.h>

#include "zipf.h"

#define SPAN	 10000
#define EXPONENT 1.03
#define SAMPLES	 2000000
#define SEED	 UINT64_C(0x2545F4914F6CDD1D)

/* Tolerance for a frequency @p estimated from SAMPLES draws. */
static double tolerance(double p)
{
	return 5.0 * sqrt(p * (1.0 - p) / SAMPLES) + 0.00005;
}

struct histogram {
	uint64_t count[SPAN + 1];
	uint64_t out_of_range;
};

static int draw_setup(void **state)
{
	struct histogram *hist = calloc(1, sizeof(*hist));
	struct bench_zipf zipf;
	uint64_t rng = SEED;

	if (!hist || bench_zipf_init(&zipf, SPAN, EXPONENT) != 0) {
		free(hist);
		return -1;
	}
	for (long i = 0; i < SAMPLES; i++) {
		uint64_t k = bench_zipf_sample(&zipf, &rng);

		if (k < 1 || k > SPAN)
			hist->out_of_range++;
		else
			hist->count[k]++;
	}
	*state = hist;
	return 0;
}

static int draw_teardown(void **state)
{
	free(*state);
	return 0;
}

static double frequency(const struct histogram *hist, int first, int last)
{
	uint64_t n = 0;

	for (int k = first; k <= last; k++)
		n += hist->count[k];
	return (double)n / SAMPLES;
}

static void assert_near(double got, double want)
{
	double tol = tolerance(want);

	if (fabs(got - want) > tol)
		fail_msg("frequency %.5f, expected %.5f +- %.5f", got, want,
			 tol);
}

static void keys_stay_in_1_to_n(void **state)
{
	const struct histogram *hist = *state;

	assert_int_equal(hist->out_of_range, 0);
}

static void key_1_is_14_84_percent(void **state)
{
	assert_near(frequency(*state, 1, 1), 0.1484);
}

static void key_2_is_4_57_percent(void **state)
{
	assert_near(frequency(*state, 2, 2), 0.0457);
}

static void top_10_is_33_67_percent(void **state)
{
	assert_near(frequency(*state, 1, 10), 0.3367);
}

/* With truncation, key 1 collects every x in [H^-1(H(1.5) - 1), 2): its
 * exact probability follows from H alone. */
static void key_1_matches_truncated_inversion(void **state)
{
	double lo = bench_zipf_h_integral(1.5, EXPONENT) - 1.0;
	double hi = bench_zipf_h_integral(SPAN + 0.5, EXPONENT);
	double p1 = (bench_zipf_h_integral(2.0, EXPONENT) - lo) / (hi - lo);

	assert_near(p1, 0.1484);
	assert_near(frequency(*state, 1, 1), p1);
}

static void h_integral_inverts(void **state)
{
	(void)state;
	for (double x = 1.0; x < 20000.0; x *= 1.7) {
		double y = bench_zipf_h_integral(x, EXPONENT);

		assert_true(fabs(bench_zipf_h_integral_inv(y, EXPONENT) - x) <
			    1e-9 * x);
	}
}

static void init_rejects_bad_parameters(void **state)
{
	struct bench_zipf zipf;

	(void)state;
	assert_int_equal(bench_zipf_init(&zipf, 0, EXPONENT), -1);
	assert_int_equal(bench_zipf_init(&zipf, SPAN, 0.0), -1);
	assert_int_equal(bench_zipf_init(&zipf, SPAN, EXPONENT), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(keys_stay_in_1_to_n),
	    cmocka_unit_test(key_1_is_14_84_percent),
	    cmocka_unit_test(key_2_is_4_57_percent),
	    cmocka_unit_test(top_10_is_33_67_percent),
	    cmocka_unit_test(key_1_matches_truncated_inversion),
	    cmocka_unit_test(h_integral_inverts),
	    cmocka_unit_test(init_rejects_bad_parameters),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("zipf sampler", tests, draw_setup,
					   draw_teardown);
}

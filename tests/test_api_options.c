/* SPDX-License-Identifier: MIT */
/*
 * test_api_options.c - evmap_options_*, evmap_new's argument checks,
 * evmap_strerror and evmap_version.
 */
#include <limits.h>

#include "test_util.h"

static void test_options_defaults_and_free(void **state)
{
	evmap_options *o = evmap_options_new();
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	assert_non_null(o);
	assert_int_equal(evmap_new(&evmap_type_u64, &evmap_type_u64, o, &w, &r),
			 0);
	/* options are not kept by evmap_new */
	evmap_options_free(o);
	assert_int_equal(evmap_refresh(w), 0);
	assert_null(evmap_view_meta(evmap_enter(r)));
	evmap_leave(r);
	evmap_reader_free(r);
	evmap_writer_free(w);
	evmap_options_free(NULL);
}

static void test_options_null_is_einval(void **state)
{
	(void)state;
	assert_int_equal(evmap_options_set_capacity(NULL, 10), -EINVAL);
	assert_int_equal(evmap_options_set_hash_seed(NULL, 1), -EINVAL);
	assert_int_equal(evmap_options_set_meta(NULL, NULL, NULL), -EINVAL);
}

static void test_options_capacity(void **state)
{
	evmap_options *o = evmap_options_new();
	evmap_writer *w;
	evmap_reader *r;
	uint64_t i;

	(void)state;
	assert_int_equal(evmap_options_set_capacity(o, 0), 0);
	assert_int_equal(evmap_options_set_capacity(o, SIZE_MAX), -ENOMEM);
	assert_int_equal(evmap_options_set_capacity(o, SIZE_MAX / 2), -ENOMEM);
	assert_int_equal(evmap_options_set_capacity(o, 1000), 0);
	assert_int_equal(evmap_new(&evmap_type_u64, &evmap_type_u64, o, &w, &r),
			 0);
	evmap_options_free(o);
	for (i = 0; i < 2000; i++)
		assert_int_equal(evmap_insert(w, EVT_U64(i), EVT_U64(i)), 0);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_len(r), 2000);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_len(r), 2000);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

static void test_options_capacity_limit(void **state)
{
	const size_t most = (size_t)3 << 30; /* 3/4 of 2^32 slots */
	evmap_options *o = evmap_options_new();
	evmap_writer *w;
	evmap_reader *r;

	(void)state;
	assert_non_null(o);
	assert_int_equal(evmap_options_set_capacity(o, most + 1), -ENOMEM);
	assert_int_equal(evmap_options_set_capacity(o, most), 0);
	/* a failed call leaves the capacity as it was */
	assert_int_equal(evmap_options_set_capacity(o, 10), 0);
	assert_int_equal(evmap_options_set_capacity(o, SIZE_MAX), -ENOMEM);
	assert_int_equal(evmap_new(&evmap_type_u64, &evmap_type_u64, o, &w, &r),
			 0);
	evmap_options_free(o);
	assert_int_equal(evmap_refresh(w), 0);
	assert_int_equal(evmap_len(r), 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

static void test_options_meta_not_freed_by_options_free(void **state)
{
	struct evt_meta *m = evt_meta_new(5);
	evmap_options *o = evmap_options_new();

	(void)state;
	assert_int_equal(evmap_options_set_meta(o, m, evt_meta_free), 0);
	evmap_options_free(o);
	assert_int_equal(evt_meta_frees(m), 0);
	evt_meta_reset();
}

static void test_options_meta_not_owned_when_new_fails(void **state)
{
	struct evt_meta *m = evt_meta_new(5);
	evmap_options *o = evmap_options_new();
	evmap_writer *w = NULL;
	evmap_reader *r = NULL;

	(void)state;
	assert_int_equal(evmap_options_set_meta(o, m, evt_meta_free), 0);
	assert_int_equal(evmap_new(NULL, &evmap_type_u64, o, &w, &r), -EINVAL);
	evmap_options_free(o);
	assert_int_equal(evt_meta_frees(m), 0);
	evt_meta_reset();
}

static void test_new_bad_arguments(void **state)
{
	const evmap_type no_hash = {0};
	evmap_writer *w = (evmap_writer *)&w;
	evmap_reader *r = (evmap_reader *)&r;
	evmap_writer *w0 = w;
	evmap_reader *r0 = r;

	(void)state;
	assert_int_equal(evmap_new(NULL, &evmap_type_u64, NULL, &w, &r),
			 -EINVAL);
	assert_int_equal(evmap_new(&evmap_type_u64, NULL, NULL, &w, &r),
			 -EINVAL);
	assert_int_equal(evmap_new(&no_hash, &evmap_type_u64, NULL, &w, &r),
			 -EINVAL);
	assert_int_equal(evmap_new(&evmap_type_u64, &evmap_type_u64, NULL,
				   NULL, &r),
			 -EINVAL);
	assert_int_equal(evmap_new(&evmap_type_u64, &evmap_type_u64, NULL, &w,
				   NULL),
			 -EINVAL);
	/* failures leave the out pointers alone */
	assert_ptr_equal(w, w0);
	assert_ptr_equal(r, r0);
	/* a value type needs no hash */
	assert_int_equal(evmap_new(&evmap_type_u64, &no_hash, NULL, &w, &r), 0);
	evmap_reader_free(r);
	evmap_writer_free(w);
}

static void test_strerror_every_code(void **state)
{
	const int codes[] = {0, -EINVAL, -ENOMEM, -EDEADLK, -EAGAIN, -EBUSY};
	const int unknown[] = {1, -1000, 12345, INT_MIN, INT_MAX, -ENOENT};
	size_t i, j;

	(void)state;
	for (i = 0; i < EVT_ARRAY_SIZE(codes); i++) {
		const char *msg = evmap_strerror(codes[i]);
		assert_non_null(msg);
		assert_true(strlen(msg) > 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(msg, evmap_strerror(codes[j]));
	}
	for (i = 0; i < EVT_ARRAY_SIZE(unknown); i++) {
		const char *msg = evmap_strerror(unknown[i]);
		assert_non_null(msg);
		assert_true(strlen(msg) > 0);
	}
	/* static: the same pointer every time */
	assert_ptr_equal(evmap_strerror(-EINVAL), evmap_strerror(-EINVAL));
}

static void test_version_matches_macros(void **state)
{
	char expect[64];

	(void)state;
	snprintf(expect, sizeof(expect), "%d.%d.%d", EVMAP_VERSION_MAJOR,
		 EVMAP_VERSION_MINOR, EVMAP_VERSION_PATCH);
	assert_non_null(evmap_version());
	assert_string_equal(evmap_version(), expect);
	assert_string_equal(EVMAP_VERSION_STRING, expect);
	assert_ptr_equal(evmap_version(), evmap_version());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_defaults_and_free),
		cmocka_unit_test(test_options_null_is_einval),
		cmocka_unit_test(test_options_capacity),
		cmocka_unit_test(test_options_capacity_limit),
		cmocka_unit_test(test_options_meta_not_freed_by_options_free),
		cmocka_unit_test(test_options_meta_not_owned_when_new_fails),
		cmocka_unit_test(test_new_bad_arguments),
		cmocka_unit_test(test_strerror_every_code),
		cmocka_unit_test(test_version_matches_macros),
	};
	return cmocka_run_group_tests_name("api_options", tests, NULL, NULL);
}

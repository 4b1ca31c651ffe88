/* SPDX-License-Identifier: MIT */
/*
 * call-floor.c - two functions that do nothing, for evmap-micro's floor
 * row: a loop of "enter + leave" can be no faster than a loop of two calls
 * that return at once. They live in a translation unit of their own so
 * that the compiler cannot inline them or drop their calls (no LTO in
 * this build), like calls into libevmap's static library.
 */
#include "call-floor.h"

const void *bench_floor_enter(const void *handle)
{
	return handle;
}

void bench_floor_leave(const void *handle)
{
	(void)handle;
}

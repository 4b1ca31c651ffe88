/* SPDX-License-Identifier: MIT */
/* call-floor.h - evmap-micro's two empty calls (call-floor.c). */
#ifndef BENCH_CALL_FLOOR_H
#define BENCH_CALL_FLOOR_H

/* Returns @handle. */
const void *bench_floor_enter(const void *handle);
/* Does nothing. */
void bench_floor_leave(const void *handle);

#endif

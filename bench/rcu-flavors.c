/* SPDX-License-Identifier: MIT */
/*
 * rcu-flavors.c - what the choice of liburcu flavor costs: nanoseconds per
 * empty read section (lock + unlock, inlined with _LGPL_SOURCE) for the
 * memb, mb and bp flavors, and microseconds per synchronize_rcu of memb
 * and of bp (the flavor libevmap uses) with no reader and with one reader
 * thread spinning through sections. The numbers behind the README's
 * design note on the flavor. libevmap itself is not involved.
 *
 * Usage: rcu-flavors [--quick]
 */
#define _LGPL_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <urcu/urcu-bp.h>
#include <urcu/urcu-mb.h>
#include <urcu/urcu-memb.h>

#include "bench-util.h"

static volatile bool stop_reader;
static volatile unsigned long sink;

/* Nanoseconds per iteration of an empty counted loop (the baseline). */
static double empty_loop_ns(unsigned long n)
{
	uint64_t t0 = bench_now_ns();
	for (unsigned long i = 0; i < n; i++)
		sink++;
	return (double)(bench_now_ns() - t0) / (double)n;
}

/* @out = ns per section of @n sections lock(); sink++; unlock(); (a macro
 * so that the inlined read-side code is what is measured). */
#define TIME_SECTIONS(out, lock, unlock, n)                                    \
	do {                                                                   \
		uint64_t t0_ = bench_now_ns();                                 \
		for (unsigned long i_ = 0; i_ < (n); i_++) {                   \
			lock();                                                \
			sink++;                                                \
			unlock();                                              \
		}                                                              \
		(out) = (double)(bench_now_ns() - t0_) / (double)(n);          \
	} while (0)

static double memb_section_ns(unsigned long n)
{
	double ns;
	urcu_memb_register_thread();
	TIME_SECTIONS(ns, urcu_memb_read_lock, urcu_memb_read_unlock, n);
	urcu_memb_unregister_thread();
	return ns;
}

static double mb_section_ns(unsigned long n)
{
	double ns;
	urcu_mb_register_thread();
	TIME_SECTIONS(ns, urcu_mb_read_lock, urcu_mb_read_unlock, n);
	urcu_mb_unregister_thread();
	return ns;
}

static double bp_section_ns(unsigned long n)
{
	double ns;
	/* bp registers on first use: do that outside the measurement */
	urcu_bp_read_lock();
	urcu_bp_read_unlock();
	TIME_SECTIONS(ns, urcu_bp_read_lock, urcu_bp_read_unlock, n);
	return ns;
}

enum flavor { MEMB, BP };

static double synchronize_us(enum flavor f, unsigned n)
{
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < n; i++) {
		if (f == MEMB)
			urcu_memb_synchronize_rcu();
		else
			urcu_bp_synchronize_rcu();
	}
	return (double)(bench_now_ns() - t0) / 1000.0 / n;
}

static volatile bool reader_running;

static void *spinning_reader(void *arg)
{
	enum flavor f = *(const enum flavor *)arg;

	if (f == MEMB)
		urcu_memb_register_thread();
	while (!stop_reader) {
		if (f == MEMB) {
			urcu_memb_read_lock();
			sink++;
			urcu_memb_read_unlock();
		} else {
			urcu_bp_read_lock();
			sink++;
			urcu_bp_read_unlock();
		}
		reader_running = true;
	}
	if (f == MEMB)
		urcu_memb_unregister_thread();
	return NULL;
}

/* synchronize_rcu of @f while another thread spins through @f's sections;
 * negative if the thread cannot be started. */
static double synchronize_busy_us(enum flavor f, unsigned n)
{
	pthread_t reader;
	double us;

	stop_reader = false;
	reader_running = false;
	if (pthread_create(&reader, NULL, spinning_reader, &f) != 0)
		return -1.0;
	while (!reader_running)
		;
	us = synchronize_us(f, n);
	stop_reader = true;
	pthread_join(reader, NULL);
	return us;
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	unsigned long n = quick ? 1000000UL : 100000000UL;
	unsigned grace_periods = quick ? 100 : 2000;
	double base;

	if (argc > 2 || (argc == 2 && !quick)) {
		fprintf(stderr, "usage: rcu-flavors [--quick]\n");
		return 2;
	}
	base = empty_loop_ns(n);
	printf("# liburcu flavors; ns per empty read section beyond an empty "
	       "loop (%.2f ns), %lu sections\n",
	       base, n);
	printf("memb read section                      %8.2f ns\n",
	       memb_section_ns(n) - base);
	printf("mb read section                        %8.2f ns\n",
	       mb_section_ns(n / 10) - base);
	printf("bp read section                        %8.2f ns\n",
	       bp_section_ns(n) - base);
	printf("memb uses sys_membarrier               %8d\n",
	       urcu_memb_has_sys_membarrier);
	printf("bp uses sys_membarrier                 %8d\n",
	       urcu_bp_has_sys_membarrier);
	printf("memb synchronize_rcu, no reader        %8.2f us\n",
	       synchronize_us(MEMB, grace_periods));
	printf("bp synchronize_rcu, no reader          %8.2f us\n",
	       synchronize_us(BP, grace_periods));
	for (enum flavor f = MEMB; f <= BP; f++) {
		double busy = synchronize_busy_us(f, grace_periods);

		if (busy < 0) {
			fprintf(stderr, "rcu-flavors: pthread_create failed\n");
			return 1;
		}
		printf("%-4s synchronize_rcu, 1 busy reader    %8.2f us\n",
		       f == MEMB ? "memb" : "bp", busy);
	}
	return 0;
}

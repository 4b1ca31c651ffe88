/* SPDX-License-Identifier: MIT */
/*
 * header_c99.c - the public header compiles alone as pedantic C99 with
 * every warning an error (built with -std=c99 -pedantic -Werror), and its
 * declarations link against the library.
 */
#include <evmap.h>

int main(void)
{
	evmap_iter it;
	const evmap_type *t = &evmap_type_u64;

	(void)it;
	return evmap_version() != 0 && t->hash != 0 ? 0 : 1;
}

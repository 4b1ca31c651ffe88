/* SPDX-License-Identifier: MIT */
/*
 * readme_example.c - the example of README.md, built and run as a test:
 * a map of strings to strings, written, published, read, destroyed.
 */
#include <evmap.h>
#include <stdio.h>

static void print_values(const evmap_values *vs, void *meta, void *ctx)
{
	size_t i;

	(void)meta;
	printf("%s:", (const char *)ctx);
	for (i = 0; i < evmap_values_len(vs); i++)
		printf(" %s", (const char *)evmap_values_at(vs, i));
	printf("\n");
}

int main(void)
{
	evmap_writer *w;
	evmap_reader *r;
	const evmap_view *v;
	const evmap_values *vs;
	int err;

	/* Keys and values are C strings; the map keeps its own copies. */
	err = evmap_new(&evmap_type_cstr, &evmap_type_cstr, NULL, &w, &r);
	if (err) {
		fprintf(stderr, "evmap_new: %s\n", evmap_strerror(err));
		return 1;
	}

	/* Writes go to the log; readers see them after evmap_refresh(). */
	evmap_insert(w, "fruit", "apple");
	evmap_insert(w, "fruit", "pear");
	evmap_insert(w, "vegetable", "leek");
	err = evmap_refresh(w);
	if (err) {
		fprintf(stderr, "evmap_refresh: %s\n", evmap_strerror(err));
		return 1;
	}

	/* A read section: a consistent snapshot, no locks. Readers on other
	 * threads would use their own handle: evmap_reader_clone(r). */
	v = evmap_enter(r);
	if (v) {
		printf("%zu keys\n", evmap_view_len(v));
		vs = evmap_view_get(v, "vegetable");
		if (vs)
			printf("vegetable: %s (%zu value)\n",
			       (const char *)evmap_values_at(vs, 0),
			       evmap_values_len(vs));
	}
	evmap_leave(r); /* also when evmap_enter() returned NULL */

	/* Or the one-call shortcut: fn runs inside its own section. */
	if (!evmap_get(r, "fruit", print_values, "fruit"))
		printf("no fruit\n");

	evmap_reader_free(r);
	evmap_writer_free(w); /* frees every key and value */
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * consumer.c - a program built the way an application would build it:
 * only <evmap.h> and the flags `pkg-config [--static] --cflags --libs evmap`
 * prints. tests/consumer/check.sh compiles it against the installed Debian
 * packages and against a `meson install --destdir` tree, linked against
 * the shared and against the static library, and runs it.
 *
 * It touches every part an application needs: the ready-made types, the
 * writer, a reader thread with its own handle, a refresh, the view and
 * iteration API, the meta, and the run-time version. Exit 0 on success,
 * 1 with a message on the first failed expectation.
 */
#include <evmap.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define EXPECT(cond)                                                       \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "consumer: %s:%d: expected %s\n",  \
				__FILE__, __LINE__, #cond);                \
			failures++;                                        \
		}                                                          \
	} while (0)

struct reader_args {
	evmap_reader *reader;
	size_t keys_seen;
	uint64_t sum_seen;
};

/* A reader on its own thread with its own handle: one read section. */
static void *reader_main(void *arg)
{
	struct reader_args *args = arg;
	const evmap_view *view = evmap_enter(args->reader);
	evmap_iter it;
	const void *key;
	const evmap_values *values;

	if (view) {
		evmap_view_iter(view, &it);
		while (evmap_iter_next(&it, &key, &values)) {
			args->keys_seen++;
			for (size_t i = 0; i < evmap_values_len(values); i++)
				args->sum_seen += (uintptr_t)evmap_values_at(values, i);
		}
	}
	evmap_leave(args->reader);
	return NULL;
}

int main(void)
{
	evmap_writer *writer = NULL;
	evmap_reader *reader = NULL;
	struct reader_args args = { 0 };
	pthread_t thread;
	const evmap_view *view;
	static int meta = 42;

	printf("consumer: built against libevmap %s, running with %s\n",
	       EVMAP_VERSION_STRING, evmap_version());
	EXPECT(strcmp(evmap_version(), EVMAP_VERSION_STRING) == 0);
	EXPECT(evmap_strerror(-22) != NULL);

	EXPECT(evmap_new(&evmap_type_cstr, &evmap_type_u64, NULL, &writer,
			 &reader) == 0);
	if (!writer || !reader)
		return 1;

	EXPECT(evmap_insert(writer, "one", (void *)(uintptr_t)1) == 0);
	EXPECT(evmap_insert(writer, "two", (void *)(uintptr_t)2) == 0);
	EXPECT(evmap_insert(writer, "two", (void *)(uintptr_t)20) == 0);
	EXPECT(evmap_set_meta(writer, &meta) == 0);
	EXPECT(evmap_pending(writer) > 0);
	/* Nothing is visible before the first refresh. */
	EXPECT(!evmap_contains_key(reader, "one"));
	EXPECT(evmap_refresh(writer) == 0);
	EXPECT(evmap_pending(writer) == 0);

	EXPECT(evmap_len(reader) == 2);
	EXPECT(evmap_contains_value(reader, "two", (void *)(uintptr_t)20));
	view = evmap_enter(reader);
	EXPECT(view != NULL);
	EXPECT(evmap_values_len(evmap_view_get(view, "two")) == 2);
	EXPECT(evmap_view_get(view, "three") == NULL);
	EXPECT(evmap_view_meta(view) == &meta);
	evmap_leave(reader);

	args.reader = evmap_reader_clone(reader);
	EXPECT(args.reader != NULL);
	EXPECT(pthread_create(&thread, NULL, reader_main, &args) == 0);
	EXPECT(pthread_join(thread, NULL) == 0);
	EXPECT(args.keys_seen == 2);
	EXPECT(args.sum_seen == 23);

	EXPECT(evmap_remove_key(writer, "one") == 0);
	EXPECT(evmap_refresh(writer) == 0);
	EXPECT(!evmap_contains_key(reader, "one"));
	EXPECT(evmap_generation(writer) == 2);

	evmap_writer_free(writer);
	EXPECT(evmap_is_destroyed(reader));
	evmap_reader_free(args.reader);
	evmap_reader_free(reader);

	if (failures) {
		fprintf(stderr, "consumer: %d expectation(s) failed\n", failures);
		return 1;
	}
	printf("consumer: ok\n");
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* version.c - evmap_version() and evmap_strerror(). */
#include <errno.h>

#include "evmap.h"

EVMAP_EXPORT const char *evmap_version(void)
{
	return EVMAP_VERSION_STRING;
}

EVMAP_EXPORT const char *evmap_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -EINVAL:
		return "invalid argument";
	case -ENOMEM:
		return "out of memory";
	case -EDEADLK:
		return "would deadlock: called inside the thread's own read section";
	case -EAGAIN:
		return "readers may still use the copy; try again later";
	case -EBUSY:
		return "writer busy: called from inside a callback of the same map";
	default:
		return "unknown error";
	}
}

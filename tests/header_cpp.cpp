// SPDX-License-Identifier: MIT
//
// header_cpp.cpp - the public header compiles alone as C++11 (pedantic,
// warnings as errors) and its C declarations link from C++.
#include <evmap.h>

int main()
{
	evmap_iter it = evmap_iter();
	const evmap_type *t = &evmap_type_u64;

	(void)it;
	return evmap_version() != nullptr && t->hash != nullptr ? 0 : 1;
}

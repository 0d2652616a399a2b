/*
 * fuzz_target.h: what every tests/fuzz/fuzz_<target>.c provides, for
 * libFuzzer and for replay.c, which runs a corpus through the same entry
 * point as an ordinary test. A broken invariant aborts, which libFuzzer
 * reports as a crash and ctest as a failure.
 */
#ifndef RPX_FUZZ_TARGET_H
#define RPX_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                    \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, \
			    #cond);                                                          \
			abort();                                                             \
		}                                                                            \
	} while (0)

#endif

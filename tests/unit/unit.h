/*
 * unit.h: the unit-test harness shared by every tests/unit/test_<module>.c.
 *
 * A module contributes one group: a name and a table of cases. The runner
 * (test_main.c) runs the groups named on its command line, or all of them,
 * and prints one line per failed check and a closing "N passed, M failed".
 * A case fails when any CHECK inside it fails; checks do not abort the case,
 * so one run shows every broken expectation.
 */
#ifndef RPX_UNIT_H
#define RPX_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct unit_case {
	const char *name;
	void (*run)(void);
};

struct unit_group {
	const char *name;
	const struct unit_case *cases;
	size_t ncases;
};

#define UNIT_GROUP(gname, table)                                     \
	const struct unit_group unit_group_##gname = {#gname, table, \
	    sizeof(table) / sizeof(table[0])}

extern const struct unit_group unit_group_recmark;
extern const struct unit_group unit_group_xdr_evbuf;
extern const struct unit_group unit_group_rpcmsg;
extern const struct unit_group unit_group_dispatch;
extern const struct unit_group unit_group_drc_log;

/* Records one check; returns @ok so a case can stop early on a failure. */
bool unit_check(bool ok, const char *expr, const char *file, int line);
bool unit_check_int(long long got, long long want, const char *expr, const char *file, int line);
bool unit_check_mem(const void *got, size_t gotlen, const void *want, size_t wantlen,
    const char *expr, const char *file, int line);

/*
 * A check that fails today because of a reported bug in code under test:
 * counted apart ("known bugs") and not failing the case; once the bug is
 * fixed it fails the case, so that it gets turned into a CHECK.
 */
bool unit_check_known_bug(bool ok, const char *expr, const char *why, const char *file, int line);

#define CHECK(cond) unit_check((cond), #cond, __FILE__, __LINE__)
#define CHECK_KNOWN_BUG(cond, why) unit_check_known_bug((cond), #cond, (why), __FILE__, __LINE__)
#define CHECK_INT(got, want) \
	unit_check_int((long long)(got), (long long)(want), #got " == " #want, __FILE__, __LINE__)
#define CHECK_MEM(got, gotlen, want, wantlen) \
	unit_check_mem((got), (gotlen), (want), (wantlen), #got " == " #want, __FILE__, __LINE__)

/* A byte string built word by word, for hand-made messages. */
struct unit_msg {
	unsigned char b[4096];
	size_t len;
};

void unit_msg_u32(struct unit_msg *m, uint32_t v);
void unit_msg_bytes(struct unit_msg *m, const void *p, size_t len);
/* An XDR opaque<>: length, bytes, zero padding to a multiple of 4. */
void unit_msg_opaque(struct unit_msg *m, const void *p, size_t len);

#endif

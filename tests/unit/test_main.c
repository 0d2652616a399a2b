/*
 * test_main.c: the unit-test runner. `unit_tests` runs every group;
 * `unit_tests recmark dispatch` runs those groups; `unit_tests --list`
 * names them. Exit status 0 when every case passed, 1 when one failed, 2 on
 * a usage error. Each group is registered in ctest as unit_<group>.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static const struct unit_group *const groups[] = {
    &unit_group_recmark,
    &unit_group_xdr_evbuf,
    &unit_group_rpcmsg,
    &unit_group_dispatch,
    &unit_group_drc_log,
};

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static const char *current_group;
static const char *current_case;
static unsigned case_failures;
static unsigned known_bugs;

bool unit_check(bool ok, const char *expr, const char *file, int line)
{
	if (!ok) {
		case_failures++;
		printf("FAIL %s/%s: %s:%d: %s\n", current_group, current_case, file, line, expr);
	}
	return ok;
}

bool unit_check_known_bug(bool ok, const char *expr, const char *why, const char *file, int line)
{
	if (ok) {
		case_failures++;
		printf("XPASS %s/%s: %s:%d: %s: the known bug is fixed, make this a CHECK\n",
		    current_group, current_case, file, line, expr);
	} else {
		known_bugs++;
		printf("XFAIL %s/%s: %s:%d: %s: known bug: %s\n", current_group, current_case, file,
		    line, expr, why);
	}
	return ok;
}

bool unit_check_int(long long got, long long want, const char *expr, const char *file, int line)
{
	if (got != want) {
		case_failures++;
		printf("FAIL %s/%s: %s:%d: %s: got %lld, want %lld\n", current_group, current_case,
		    file, line, expr, got, want);
	}
	return got == want;
}

bool unit_check_mem(const void *got, size_t gotlen, const void *want, size_t wantlen,
    const char *expr, const char *file, int line)
{
	size_t i;

	if (gotlen == wantlen && (gotlen == 0 || memcmp(got, want, gotlen) == 0))
		return true;
	for (i = 0; i < gotlen && i < wantlen; i++) {
		if (((const unsigned char *)got)[i] != ((const unsigned char *)want)[i])
			break;
	}
	case_failures++;
	printf("FAIL %s/%s: %s:%d: %s: %zu bytes vs %zu, first difference at %zu\n", current_group,
	    current_case, file, line, expr, gotlen, wantlen, i);
	return false;
}

void unit_msg_u32(struct unit_msg *m, uint32_t v)
{
	unsigned char w[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
	    (unsigned char)(v >> 8), (unsigned char)v};

	unit_msg_bytes(m, w, 4);
}

void unit_msg_bytes(struct unit_msg *m, const void *p, size_t len)
{
	if (m->len + len > sizeof(m->b)) {
		fprintf(stderr, "unit_msg overflow\n");
		abort();
	}
	if (len > 0)
		memcpy(m->b + m->len, p, len);
	m->len += len;
}

void unit_msg_opaque(struct unit_msg *m, const void *p, size_t len)
{
	static const unsigned char zero[4];

	unit_msg_u32(m, (uint32_t)len);
	unit_msg_bytes(m, p, len);
	unit_msg_bytes(m, zero, (4 - len % 4) % 4);
}

static const struct unit_group *find_group(const char *name)
{
	for (size_t i = 0; i < NGROUPS; i++) {
		if (strcmp(groups[i]->name, name) == 0)
			return groups[i];
	}
	return NULL;
}

static void run_group(const struct unit_group *g, unsigned *passed, unsigned *failed)
{
	current_group = g->name;
	for (size_t i = 0; i < g->ncases; i++) {
		current_case = g->cases[i].name;
		case_failures = 0;
		g->cases[i].run();
		if (case_failures == 0) {
			(*passed)++;
			printf("ok   %s/%s\n", g->name, current_case);
		} else {
			(*failed)++;
			printf("FAIL %s/%s (%u checks)\n", g->name, current_case, case_failures);
		}
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;

	if (argc > 1 && (strcmp(argv[1], "--list") == 0 || strcmp(argv[1], "-l") == 0)) {
		for (size_t i = 0; i < NGROUPS; i++)
			printf("%s\n", groups[i]->name);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: %s [--list] [group...]\n", argv[0]);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (find_group(argv[i]) == NULL) {
			fprintf(stderr, "%s: no test group named %s (try --list)\n", argv[0],
			    argv[i]);
			return 2;
		}
	}
	if (argc == 1) {
		for (size_t i = 0; i < NGROUPS; i++)
			run_group(groups[i], &passed, &failed);
	} else {
		for (int i = 1; i < argc; i++)
			run_group(find_group(argv[i]), &passed, &failed);
	}
	if (known_bugs > 0)
		printf("%u passed, %u failed, %u known bugs\n", passed, failed, known_bugs);
	else
		printf("%u passed, %u failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}

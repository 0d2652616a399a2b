/*
 * cmd_ping.c: `rpx ping`, the NULL procedure of every program rpx knows.
 *
 * For each host, one NULL call (procedure 0, no arguments, no result) per
 * program and version in programs[], timed on the client: a liveness probe
 * that also shows which programs the server serves. Add a program here when
 * its IDL joins idl/. --program pings any program number instead, which
 * shows the server's PROG_UNAVAIL / PROG_MISMATCH answers. Several hosts
 * are pinged at once (fan-out, fanout_cmds.c), each line prefixed by its
 * host instead of its URL.
 */
#include <errno.h>
#include <stdlib.h>

#include "rpx.h"

static const struct rpx_cli_ping_prog programs[] = {
    {"date", RPX_DATE_PROG, RPX_DATE_VERS},
    {"proc", RPX_PROC_PROG, RPX_PROC_VERS},
};

#define MAX_CHOSEN 16

void rpx_cmd_ping_usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: rpx [-H URL]... ping [-p PROG[:VERS]]... [OPTIONS]\n"
	             "\n"
	             "Call the NULL procedure of every program rpx knows on every host and\n"
	             "print the round trip time, one line per host and program:\n"
	             "  tcp://127.0.0.1:7077 date v1: 0.123 ms\n"
	             "\n"
	             "Programs:");
	for (i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		fprintf(out, " %s v%u (0x%08x)", programs[i].name, programs[i].vers,
		    programs[i].prog);
	fprintf(out,
	    "\n\nOptions:\n"
	    "  -p, --program PROG[:VERS]\n"
	    "                       ping this program number (decimal or 0x hex) and version\n"
	    "                       (default 1) instead of the known ones; repeatable\n");
	rpx_cli_common_usage(out);
}

/* "PROG[:VERS]", numbers in decimal or 0x hex; VERS defaults to 1. */
static int parse_program(const char *s, struct rpx_cli_ping_prog *p)
{
	unsigned long long prog, vers = 1;
	char *end;

	errno = 0;
	prog = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *s == '-' || prog > UINT32_MAX)
		return -EINVAL;
	if (*end == ':') {
		const char *v = end + 1;

		vers = strtoull(v, &end, 0);
		if (errno != 0 || end == v || *v == '-' || vers > UINT32_MAX)
			return -EINVAL;
	}
	if (*end != '\0')
		return -EINVAL;
	p->name = NULL;
	p->prog = (uint32_t)prog;
	p->vers = (uint32_t)vers;
	return 0;
}

void rpx_cli_ping_name(FILE *out, const struct rpx_cli_ping_prog *p)
{
	if (p->name != NULL)
		fprintf(out, "%s v%u", p->name, p->vers);
	else
		fprintf(out, "0x%08x v%u", p->prog, p->vers);
}

static int ping_host(struct rpx_client *cl, const struct rpx_cli_ping_prog *list, size_t n)
{
	int ret = RPX_EXIT_OK;
	size_t i;

	for (i = 0; i < n; i++) {
		double rtt;

		if (rpx_client_ping(cl, list[i].prog, list[i].vers, &rtt) < 0) {
			fprintf(stderr, "rpx: %s ", rpx_client_url(cl));
			rpx_cli_ping_name(stderr, &list[i]);
			fprintf(stderr, ": %s\n", rpx_client_error(cl));
			ret = RPX_EXIT_FAIL;
			continue;
		}
		printf("%s ", rpx_client_url(cl));
		rpx_cli_ping_name(stdout, &list[i]);
		printf(": %.3f ms\n", rtt * 1e3);
	}
	return ret;
}

int rpx_cmd_ping(struct rpx_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    RPX_CLI_COMMON_LONGOPTS,
	    {"program", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	struct rpx_cli_ping_prog chosen[MAX_CHOSEN];
	size_t nchosen = 0;
	int opt, ret, h;

	while (
	    (opt = getopt_long(argc, argv, RPX_CLI_COMMON_SHORTOPTS "p:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			rpx_cmd_ping_usage(stdout);
			return RPX_EXIT_OK;
		case 'p':
			if (nchosen == MAX_CHOSEN) {
				rpx_cli_warn("ping: at most %d --program options", MAX_CHOSEN);
				return RPX_EXIT_USAGE;
			}
			if (parse_program(optarg, &chosen[nchosen]) < 0) {
				rpx_cli_warn(
				    "ping: --program: expected PROG[:VERS] like 0x20007701:1, got \"%s\"",
				    optarg);
				return RPX_EXIT_USAGE;
			}
			nchosen++;
			break;
		case '?':
			fprintf(stderr, "Try 'rpx ping --help'.\n");
			return RPX_EXIT_USAGE;
		default:
			if ((ret = rpx_cli_common_opt(cli, opt, optarg)) != 0)
				return ret;
		}
	}
	if (optind < argc) {
		rpx_cli_warn("ping: unexpected argument \"%s\"", argv[optind]);
		return RPX_EXIT_USAGE;
	}

	if (rpx_cli_fan_wanted(cli)) {
		struct rpx_cli_ping_req req = {nchosen > 0 ? chosen : programs,
		    nchosen > 0 ? nchosen : sizeof(programs) / sizeof(programs[0])};

		return rpx_cli_fanout(cli, &rpx_fan_ping, &req, 0);
	}
	ret = RPX_EXIT_OK;
	for (h = 0; h < rpx_cli_nhosts(cli); h++) {
		struct rpx_client *cl = rpx_cli_open(cli, h);

		if (cl == NULL) {
			ret = RPX_EXIT_FAIL;
			continue;
		}
		if (nchosen > 0) {
			if (ping_host(cl, chosen, nchosen) != RPX_EXIT_OK)
				ret = RPX_EXIT_FAIL;
		} else if (ping_host(cl, programs, sizeof(programs) / sizeof(programs[0])) !=
		           RPX_EXIT_OK) {
			ret = RPX_EXIT_FAIL;
		}
		rpx_client_close(cl);
	}
	return ret;
}

/*
 * cmd_ping.c: `rpx ping`, the NULL procedure of every program rpx knows.
 *
 * For each host, one NULL call (procedure 0, no arguments, no result) per
 * program and version in programs[], timed on the client: a liveness probe
 * that also shows which programs the server serves. Add a program here when
 * its IDL joins idl/.
 */
#include <stdlib.h>

#include "rpx.h"

static const struct {
	const char *name;
	uint32_t prog;
	uint32_t vers;
} programs[] = {
    {"date", RPX_DATE_PROG, RPX_DATE_VERS},
};

void rpx_cmd_ping_usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: rpx [-H URL]... ping [OPTIONS]\n"
	             "\n"
	             "Call the NULL procedure of every program rpx knows on every host and\n"
	             "print the round trip time, one line per host and program:\n"
	             "  tcp://127.0.0.1:7077 date v1: 0.123 ms\n"
	             "\n"
	             "Programs:");
	for (i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		fprintf(out, " %s v%u (0x%08x)", programs[i].name, programs[i].vers,
		    programs[i].prog);
	fprintf(out, "\n\nOptions:\n");
	rpx_cli_common_usage(out);
}

int rpx_cmd_ping(struct rpx_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    RPX_CLI_COMMON_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	int opt, ret, h;
	size_t i;

	while ((opt = getopt_long(argc, argv, RPX_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			rpx_cmd_ping_usage(stdout);
			return RPX_EXIT_OK;
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

	ret = RPX_EXIT_OK;
	for (h = 0; h < rpx_cli_nhosts(cli); h++) {
		struct rpx_client *cl = rpx_cli_open(cli, h);

		if (cl == NULL) {
			ret = RPX_EXIT_FAIL;
			continue;
		}
		for (i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
			double rtt;

			if (rpx_client_ping(cl, programs[i].prog, programs[i].vers, &rtt) < 0) {
				rpx_cli_warn("%s %s v%u: %s", rpx_client_url(cl), programs[i].name,
				    programs[i].vers, rpx_client_error(cl));
				ret = RPX_EXIT_FAIL;
				continue;
			}
			printf("%s %s v%u: %.3f ms\n", rpx_client_url(cl), programs[i].name,
			    programs[i].vers, rtt * 1e3);
		}
		rpx_client_close(cl);
	}
	return ret;
}

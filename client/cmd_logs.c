/*
 * cmd_logs.c: `rpx logs`, what a job printed (OUTPUT).
 *
 * The job's stdout goes to our stdout, its stderr to our stderr, so
 * redirections work as with a local command. Without -f: what its log
 * holds now. With -f: then whatever follows, until the streams close or
 * the job ends. With several hosts (fan-out), job JOB of each host, every
 * line prefixed by its host; -f follows them all at once.
 */
#include <errno.h>

#include "rpx.h"

#define SLICE_MS 1000

void rpx_cmd_logs_usage(FILE *out)
{
	fprintf(out, "usage: rpx [-H URL]... logs [-f] [--stderr|--both] JOB\n"
	             "\n"
	             "Print what JOB wrote to stdout (default), stderr, or both; the job's\n"
	             "stderr goes to our stderr. With several hosts, job JOB of each host,\n"
	             "each line prefixed by its host (\"HOST: line\"); -f follows every host\n"
	             "at once, until each job's streams end.\n"
	             "\n"
	             "Options:\n"
	             "  -f, --follow         keep printing as the job writes, until it ends\n"
	             "      --stderr         the job's stderr instead of its stdout\n"
	             "      --both           stdout and stderr\n");
	rpx_cli_common_usage(out);
}

int rpx_cmd_logs(struct rpx_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    RPX_CLI_COMMON_LONGOPTS,
	    {"follow", no_argument, NULL, 'f'},
	    {"stderr", no_argument, NULL, 'e'},
	    {"both", no_argument, NULL, 'b'},
	    {NULL, 0, NULL, 0},
	};
	struct rpx_client *cl;
	unsigned int streams = RPX_STREAM_STDOUT;
	int opt, ret, follow = 0;
	uint64_t job;

	while (
	    (opt = getopt_long(argc, argv, RPX_CLI_COMMON_SHORTOPTS "f", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			rpx_cmd_logs_usage(stdout);
			return RPX_EXIT_OK;
		case 'f':
			follow = 1;
			break;
		case 'e':
			streams = RPX_STREAM_STDERR;
			break;
		case 'b':
			streams = RPX_STREAM_STDOUT | RPX_STREAM_STDERR;
			break;
		case '?':
			fprintf(stderr, "Try 'rpx logs --help'.\n");
			return RPX_EXIT_USAGE;
		default:
			if ((ret = rpx_cli_common_opt(cli, opt, optarg)) != 0)
				return ret;
		}
	}
	if (optind != argc - 1) {
		rpx_cli_warn("logs: expected one JOB; usage: rpx logs [-f] [--stderr|--both] JOB");
		return RPX_EXIT_USAGE;
	}
	if (rpx_cli_parse_job("logs", argv[optind], &job) < 0)
		return RPX_EXIT_USAGE;
	if (rpx_cli_fan_wanted(cli)) {
		struct rpx_cli_logs_req req = {job, streams, follow};

		return rpx_cli_fanout(cli, &rpx_fan_logs, &req, 0);
	}
	if ((cl = rpx_cli_open_one(cli, "logs", &ret)) == NULL)
		return ret;
	ret = rpx_cli_copy_output(cl, "logs", job, streams, follow, SLICE_MS, NULL, NULL);
	rpx_client_close(cl);
	return ret < 0 ? RPX_EXIT_FAIL : RPX_EXIT_OK;
}

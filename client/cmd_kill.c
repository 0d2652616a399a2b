/*
 * cmd_kill.c: `rpx kill`, send a signal to jobs (KILL).
 *
 * The signal is a name or number as kill(1) takes it (TERM, SIGTERM, 15);
 * --group sends it to the job's whole process group, which reaches the
 * children a shell started too. Several jobs: each one is tried, the exit
 * status is 1 when any failed.
 */
#include <stdlib.h>

#include "rpx.h"

void rpx_cmd_kill_usage(FILE *out)
{
	fprintf(out,
	    "usage: rpx [-H URL]... kill [-s SIGNAL] [--group] JOB...\n"
	    "\n"
	    "Send SIGNAL (default TERM) to each JOB. Killing needs rpxd's Unix socket\n"
	    "unless rpxd runs with --insecure.\n"
	    "\n"
	    "Options:\n"
	    "  -s, --signal SIGNAL  name or number: TERM, SIGKILL, 9, RTMIN+1, 0 (check only)\n"
	    "  -g, --group          signal the job's whole process group\n");
	rpx_cli_common_usage(out);
}

int rpx_cmd_kill(struct rpx_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    RPX_CLI_COMMON_LONGOPTS,
	    {"signal", required_argument, NULL, 's'},
	    {"group", no_argument, NULL, 'g'},
	    {NULL, 0, NULL, 0},
	};
	struct rpx_client *cl;
	int opt, ret, sig = 15, group = 0, i;
	uint64_t *jobs;

	while (
	    (opt = getopt_long(argc, argv, RPX_CLI_COMMON_SHORTOPTS "s:g", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			rpx_cmd_kill_usage(stdout);
			return RPX_EXIT_OK;
		case 's':
			if ((sig = rpx_signal_parse(optarg)) < 0) {
				rpx_cli_warn(
				    "kill: unknown signal \"%s\" (try TERM, KILL, INT, HUP, 9)",
				    optarg);
				return RPX_EXIT_USAGE;
			}
			break;
		case 'g':
			group = 1;
			break;
		case '?':
			fprintf(stderr, "Try 'rpx kill --help'.\n");
			return RPX_EXIT_USAGE;
		default:
			if ((ret = rpx_cli_common_opt(cli, opt, optarg)) != 0)
				return ret;
		}
	}
	if (optind >= argc) {
		rpx_cli_warn("kill: missing JOB; usage: rpx kill [-s SIGNAL] [--group] JOB...");
		return RPX_EXIT_USAGE;
	}
	if ((jobs = calloc((size_t)(argc - optind), sizeof(*jobs))) == NULL) {
		rpx_cli_warn("kill: out of memory");
		return RPX_EXIT_FAIL;
	}
	for (i = optind; i < argc; i++) {
		if (rpx_cli_parse_job("kill", argv[i], &jobs[i - optind]) < 0) {
			free(jobs);
			return RPX_EXIT_USAGE;
		}
	}
	if (rpx_cli_fan_wanted(cli)) {
		struct rpx_cli_jobs_req fr = {jobs, argc - optind, sig, group, 0, 0};

		ret = rpx_cli_fanout(cli, &rpx_fan_kill, &fr, 0);
		free(jobs);
		return ret;
	}
	if ((cl = rpx_cli_open_one(cli, "kill", &ret)) == NULL) {
		free(jobs);
		return ret;
	}
	ret = RPX_EXIT_OK;
	for (i = 0; i < argc - optind; i++) {
		if (rpx_proc_kill(cl, jobs[i], sig, group) < 0) {
			rpx_cli_warn("kill: job %llu: %s", (unsigned long long)jobs[i],
			    rpx_client_error(cl));
			ret = RPX_EXIT_FAIL;
		}
	}
	rpx_client_close(cl);
	free(jobs);
	return ret;
}

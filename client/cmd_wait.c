/*
 * cmd_wait.c: `rpx wait`, wait for a job to end and exit as it did.
 *
 * rpx's own exit status is the job's: its exit code, or 128 + the signal
 * that ended it, like a shell's $?. With several jobs, the first to end
 * counts and its ID is printed. --timeout gives up after SEC seconds with
 * exit status 124, as timeout(1) does. Unless --keep, the answer removes
 * the job's exit record from rpxd (like wait() reaps a zombie).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

#include "rpx.h"

#define EXIT_TIMEDOUT 124

void rpx_cmd_wait_usage(FILE *out)
{
	fprintf(out,
	    "usage: rpx [-H URL]... wait [--timeout SEC] [--keep] [--json] JOB...\n"
	    "\n"
	    "Wait until JOB ends (with several, the first of them; its ID is printed) and\n"
	    "exit with its exit code, or 128 + the signal that ended it.\n"
	    "\n"
	    "Options:\n"
	    "      --timeout SEC    give up after SEC seconds (decimals allowed, or with a\n"
	    "                       unit: 500ms, 2m; 0: just look) and exit with status\n"
	    "                       124. Default: no limit.\n"
	    "                       (-t MS remains the deadline of each call.)\n"
	    "      --keep           keep the job's exit record on the host (default: the\n"
	    "                       answer removes it)\n"
	    "      --json           print {\"job\", \"how\", \"code\", \"signal\", \"signal_name\",\n"
	    "                       \"core\", \"utime_us\", \"stime_us\", \"maxrss_kb\", \"runtime_ns\"}\n");
	rpx_cli_common_usage(out);
}

int rpx_cmd_wait(struct rpx_cli *cli, int argc, char **argv)
{
	/* --timeout here is the wait's; the common --timeout (call deadline) stays -t. */
	static const struct option longopts[] = {
	    {"timeout", required_argument, NULL, 'W'},
	    {"keep", no_argument, NULL, 'k'},
	    {"json", no_argument, NULL, 'j'},
	    RPX_CLI_COMMON_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	struct rpx_client *cl;
	rpx_wait_res res;
	uint64_t *jobs;
	int opt, ret, keep = 0, json = 0, timeout_ms = -1, i, njobs;
	char text[128];

	while ((opt = getopt_long(argc, argv, RPX_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			rpx_cmd_wait_usage(stdout);
			return RPX_EXIT_OK;
		case 'W':
			if (rpx_cli_parse_duration("wait: --timeout", optarg, 1000, 0,
			        &timeout_ms) != 0)
				return RPX_EXIT_USAGE;
			break;
		case 'k':
			keep = 1;
			break;
		case 'j':
			json = 1;
			break;
		case '?':
			fprintf(stderr, "Try 'rpx wait --help'.\n");
			return RPX_EXIT_USAGE;
		default:
			if ((ret = rpx_cli_common_opt(cli, opt, optarg)) != 0)
				return ret;
		}
	}
	if (optind >= argc) {
		rpx_cli_warn("wait: missing JOB; usage: rpx wait [--timeout SEC] [--keep] JOB...");
		return RPX_EXIT_USAGE;
	}
	njobs = argc - optind;
	if ((jobs = calloc((size_t)njobs, sizeof(*jobs))) == NULL) {
		rpx_cli_warn("wait: out of memory");
		return RPX_EXIT_FAIL;
	}
	for (i = 0; i < njobs; i++) {
		if (rpx_cli_parse_job("wait", argv[optind + i], &jobs[i]) < 0) {
			free(jobs);
			return RPX_EXIT_USAGE;
		}
	}
	if (rpx_cli_fan_wanted(cli)) {
		struct rpx_cli_jobs_req fr = {jobs, njobs, 0, 0, timeout_ms, keep};

		ret = rpx_cli_fanout(cli, &rpx_fan_wait, &fr, json);
		free(jobs);
		return ret;
	}
	if ((cl = rpx_cli_open_one(cli, "wait", &ret)) == NULL) {
		free(jobs);
		return ret;
	}
	ret = rpx_proc_wait(cl, jobs, (size_t)njobs, timeout_ms, keep, &res);
	if (ret == 1) {
		if (njobs == 1)
			rpx_cli_warn("wait: job %" PRIu64 " still running after %g s", jobs[0],
			    timeout_ms / 1000.0);
		else
			rpx_cli_warn("wait: none of the %d jobs ended within %g s", njobs,
			    timeout_ms / 1000.0);
		ret = EXIT_TIMEDOUT;
		goto out;
	}
	if (ret < 0) {
		rpx_cli_warn("wait: %s", rpx_client_error(cl));
		ret = RPX_EXIT_FAIL;
		goto out;
	}
	if (json) {
		printf("{\"job\":%" PRIu64 ",", (uint64_t)res.job);
		rpx_json_exit_members(stdout, &res.exit);
		printf("}\n");
	} else if (njobs > 1) {
		printf("%" PRIu64 "\n", (uint64_t)res.job);
	}
	if (res.exit.how != RPX_EXIT_EXITED && res.exit.how != RPX_EXIT_SIGNALED) {
		rpx_cli_exit_text(&res.exit, text, sizeof(text));
		rpx_cli_warn("wait: job %" PRIu64 " %s", (uint64_t)res.job, text);
	}
	ret = rpx_cli_exit_status(&res.exit);
	rpx_proc_wait_free(&res);
out:
	rpx_client_close(cl);
	free(jobs);
	return ret;
}

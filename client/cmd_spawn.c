/*
 * cmd_spawn.c: `rpx spawn`, start a job on the host and print its ID.
 *
 * The job runs on without us: its output stays in its log (rpx logs), its
 * exit record until someone waits for it (rpx wait). --json prints
 * {"job", "pid", "start"} instead, start being the wall clock time of the
 * start in seconds since the epoch, with nanoseconds.
 */
#include <inttypes.h>

#include "rpx.h"

void rpx_cmd_spawn_usage(FILE *out)
{
	fprintf(out,
	    "usage: rpx [-H URL]... spawn [OPTIONS] [--] COMMAND [ARGS]...\n"
	    "\n"
	    "Start COMMAND on the host as a job and print its job ID. COMMAND is looked\n"
	    "up in the host's PATH; with --shell it is a /bin/sh -c command line.\n"
	    "Spawning needs rpxd's Unix socket (the job runs as the caller) unless\n"
	    "rpxd runs with --insecure.\n"
	    "\n"
	    "Options:\n"
	    "      --json               print {\"job\":ID,\"pid\":PID,\"start\":SECONDS}\n");
	rpx_cli_spawn_usage(out);
	rpx_cli_common_usage(out);
}

int rpx_cmd_spawn(struct rpx_cli *cli, int argc, char **argv)
{
	struct rpx_cli_spawn sp;
	struct rpx_client *cl = NULL;
	rpx_spawn_res res;
	int ret, done;

	if ((ret = rpx_cli_spawn_parse(cli, "spawn", rpx_cmd_spawn_usage, 1, argc, argv, &sp,
	         &done)) != 0 ||
	    done)
		goto out;
	if (rpx_cli_fan_wanted(cli)) {
		ret = rpx_cli_fanout(cli, &rpx_fan_spawn, &sp, sp.json);
		goto out;
	}
	if ((cl = rpx_cli_open_one(cli, "spawn", &ret)) == NULL)
		goto out;
	if (rpx_proc_spawn(cl, &sp.opts, &res) < 0) {
		rpx_cli_warn("spawn: %s", rpx_client_error(cl));
		ret = RPX_EXIT_FAIL;
		goto out;
	}
	if (sp.json)
		printf("{\"job\":%" PRIu64 ",\"pid\":%d,\"start\":%" PRId64 ".%09u}\n",
		    (uint64_t)res.job, res.pid, (int64_t)res.start_sec, res.start_nsec);
	else
		printf("%" PRIu64 "\n", (uint64_t)res.job);
	rpx_proc_spawn_free(&res);
	ret = RPX_EXIT_OK;
out:
	rpx_client_close(cl);
	rpx_cli_spawn_free(&sp);
	return ret;
}

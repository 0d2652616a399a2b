/*
 * cmd_run.c: `rpx run`, run a command on the host as if it ran here.
 *
 * Spawns the job, copies its stdout to our stdout and its stderr to our
 * stderr as they come (OUTPUT with follow), then reaps it (WAIT) and exits
 * with its status: its exit code, or 128 + the signal that ended it.
 *
 * Signals: librpx calls block (libtirpc restarts its poll after EINTR),
 * so the handler only counts, and every call the server holds is held for
 * at most SLICE_MS: between calls the loop sees the count and forwards it
 * to the job's process group through a second connection, opened before
 * the job starts. The first SIGINT, SIGTERM or SIGHUP is forwarded as
 * itself; any later one as SIGKILL.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "rpx.h"

#define SLICE_MS 200

static volatile sig_atomic_t signals_caught;
static volatile sig_atomic_t first_signal;

static void on_signal(int sig)
{
	if (signals_caught == 0)
		first_signal = sig;
	signals_caught++;
}

struct run {
	struct rpx_client *kill_cl;
	uint64_t job;
	int forwarded; /* signals sent so far */
};

/* Forwards what arrived since the last call; never stops the copy. */
static int forward_signals(void *arg)
{
	struct run *r = arg;
	int sig, ret;

	while (r->forwarded < signals_caught && r->forwarded < 2) {
		sig = r->forwarded == 0 ? first_signal : SIGKILL;
		r->forwarded++;
		ret = rpx_proc_kill(r->kill_cl, r->job, sig, 1);
		/* ESRCH: the job has just ended; its status follows. */
		if (ret < 0 && ret != -ESRCH)
			rpx_cli_warn("run: forwarding SIG%s: %s", rpx_signal_name(sig),
			    rpx_client_error(r->kill_cl));
	}
	return 0;
}

void rpx_cmd_run_usage(FILE *out)
{
	fprintf(out, "usage: rpx [-H URL]... run [OPTIONS] [--] COMMAND [ARGS]...\n"
	             "\n"
	             "Run COMMAND on the host: its stdout and stderr are copied to ours as they\n"
	             "come, and rpx exits with its exit code, or 128 + the signal that ended\n"
	             "it. Ctrl-C (SIGINT), SIGTERM and SIGHUP are forwarded to the job's process\n"
	             "group; a second one sends SIGKILL. Same options as rpx spawn.\n"
	             "\n");
	rpx_cli_spawn_usage(out);
	rpx_cli_common_usage(out);
}

int rpx_cmd_run(struct rpx_cli *cli, int argc, char **argv)
{
	struct rpx_cli_spawn sp;
	struct rpx_client *cl = NULL;
	struct sigaction sa;
	struct run r;
	rpx_spawn_res res;
	rpx_wait_res wres;
	unsigned int streams = 0;
	int ret, done;

	memset(&r, 0, sizeof(r));
	if ((ret = rpx_cli_spawn_parse(cli, "run", rpx_cmd_run_usage, 0, argc, argv, &sp, &done)) !=
	        0 ||
	    done)
		goto out;
	if (rpx_cli_fan_wanted(cli)) {
		ret = rpx_cli_fanout(cli, &rpx_fan_run, &sp, 0);
		goto out;
	}
	if ((cl = rpx_cli_open_one(cli, "run", &ret)) == NULL ||
	    (r.kill_cl = rpx_cli_open_one(cli, "run", &ret)) == NULL)
		goto out;

	/* No SA_RESTART: nothing here needs it, and the count is all we keep. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (rpx_proc_spawn(cl, &sp.opts, &res) < 0) {
		rpx_cli_warn("run: %s", rpx_client_error(cl));
		ret = RPX_EXIT_FAIL;
		goto out;
	}
	r.job = res.job;
	rpx_proc_spawn_free(&res);
	forward_signals(&r);

	if (!(sp.opts.flags & RPX_SPAWN_DISCARD_STDOUT))
		streams |= RPX_STREAM_STDOUT;
	if (!(sp.opts.flags & RPX_SPAWN_DISCARD_STDERR))
		streams |= RPX_STREAM_STDERR;
	if (streams != 0 &&
	    (ret = rpx_cli_copy_output(cl, "run", r.job, streams, 1, SLICE_MS, forward_signals,
	         &r)) < 0 &&
	    ret != -EPIPE) {
		ret = RPX_EXIT_FAIL;
		goto out;
	}
	/* Our stdout closed (rpx run ... | head): keep waiting, as a local child would be. */
	while ((ret = rpx_proc_wait(cl, &r.job, 1, SLICE_MS, 0, &wres)) == 1)
		forward_signals(&r);
	if (ret < 0) {
		rpx_cli_warn("run: wait for job %llu: %s", (unsigned long long)r.job,
		    rpx_client_error(cl));
		ret = RPX_EXIT_FAIL;
		goto out;
	}
	if (wres.exit.how != RPX_EXIT_EXITED && wres.exit.how != RPX_EXIT_SIGNALED)
		rpx_cli_warn("run: job %llu ended, its status is unknown",
		    (unsigned long long)r.job);
	ret = rpx_cli_exit_status(&wres.exit);
	rpx_proc_wait_free(&wres);
out:
	rpx_client_close(r.kill_cl);
	rpx_client_close(cl);
	rpx_cli_spawn_free(&sp);
	return ret;
}

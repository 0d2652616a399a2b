/*
 * proc_run.c: the PROC program from C, in one screen: start a command on
 * the host of an rpxd (SPAWN), copy what it prints as it prints it
 * (OUTPUT with follow, offsets carried from reply to reply), reap it (WAIT)
 * and exit as it did. Uses only <rpx/client.h>; builds like date_now.c.
 *
 *	proc_run URL COMMAND [ARGS]...	e.g. proc_run unix:/run/rpx/rpxd.sock uname -a
 *
 * Spawning needs rpxd's Unix socket (or an rpxd started with --insecure).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rpx/client.h>

/* Copies the job's stdout and stderr to ours until both end, or the job ends. */
static int copy_output(struct rpx_client *cl, rpx_job_id job)
{
	rpx_output_args args = {0};
	rpx_output_res res;
	unsigned int want = RPX_STREAM_STDOUT | RPX_STREAM_STDERR;

	args.job = job;
	args.follow = TRUE; /* the server holds the call until there is something new */
	args.timeout_ms = 5000;
	while (want != 0) {
		size_t got = 0;

		args.streams = want;
		if (rpx_proc_output(cl, &args, &res) < 0)
			return -1;
		if (want & RPX_STREAM_STDOUT) {
			if (res.out.data.data_len > 0)
				fwrite(res.out.data.data_val, 1, res.out.data.data_len, stdout);
			got += res.out.data.data_len;
			args.stdout_offset = res.out.offset + res.out.data.data_len;
			if (res.out.eof)
				want &= ~RPX_STREAM_STDOUT;
		}
		if (want & RPX_STREAM_STDERR) {
			if (res.err.data.data_len > 0)
				fwrite(res.err.data.data_val, 1, res.err.data.data_len, stderr);
			got += res.err.data.data_len;
			args.stderr_offset = res.err.offset + res.err.data.data_len;
			if (res.err.eof)
				want &= ~RPX_STREAM_STDERR;
		}
		fflush(stdout);
		/* Ended, and nothing more came: a grandchild may hold the pipes open. */
		if (res.ended && got == 0)
			want = 0;
		rpx_proc_output_free(&res);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rpx_spawn_opts spawn = {0}; /* zero: defaults (cwd /, rpxd's environment) */
	struct rpx_client *cl;
	rpx_spawn_res started;
	rpx_wait_res ended;
	char err[256];
	int status = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: proc_run URL COMMAND [ARGS]...\n");
		return 2;
	}
	if ((cl = rpx_client_open(argv[1], NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "proc_run: %s\n", err);
		return 1;
	}
	spawn.argv = (const char *const *)&argv[2];
	if (rpx_proc_spawn(cl, &spawn, &started) < 0) {
		fprintf(stderr, "proc_run: spawn: %s\n", rpx_client_error(cl));
		goto out;
	}
	if (copy_output(cl, started.job) < 0) {
		fprintf(stderr, "proc_run: output: %s\n", rpx_client_error(cl));
		goto out_spawned;
	}
	/* -1: no limit (the library waits in slices, so a dead server is noticed). */
	if (rpx_proc_wait(cl, &started.job, 1, -1, 0, &ended) != 0) {
		fprintf(stderr, "proc_run: wait: %s\n", rpx_client_error(cl));
		goto out_spawned;
	}
	if (ended.exit.how == RPX_EXIT_EXITED)
		status = ended.exit.code;
	else if (ended.exit.how == RPX_EXIT_SIGNALED)
		status = 128 + ended.exit.signal;
	rpx_proc_wait_free(&ended);
out_spawned:
	rpx_proc_spawn_free(&started);
out:
	rpx_client_close(cl);
	return status;
}

/*
 * amo_driver.c: drives many SPAWNs through librpx, for the at-most-once
 * tests (test_amo_*.py). Each call runs `echo TOKEN >> FILE` under /bin/sh
 * with a token of its own, so afterwards the file tells which calls ran and
 * how often; the driver prints, one line per call, what librpx said:
 *
 *   TOKEN ok JOB              the call succeeded (it must have run exactly once)
 *   TOKEN unknown ERR TEXT    -ETIMEDOUT or -ESTALE: it may or may not have run
 *   TOKEN failed ERR TEXT     any other error: it must not have run
 *
 * usage: amo_driver [-p PROCS] [-t TIMEOUT_MS] [-r RETRY_MS] [-s PAUSE_MS]
 *                   [-C CA -c CERT -k KEY] URL FILE PREFIX N
 * (-C/-c/-k: the files of a tls:// URL, for mutual TLS.)
 * PROCS processes (each its own rpx_client, so its own request-ID client)
 * share the N calls. Lines are written with one write(2) each, so the
 * processes' lines do not mix. Exit status 0 when every call was made, 2
 * on bad usage or when a client could not be opened.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <rpx/client.h>

static void emit(const char *line)
{
	size_t len = strlen(line), off = 0;

	while (off < len) {
		ssize_t n = write(STDOUT_FILENO, line + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

static void pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run_worker(const char *url, const struct rpx_client_opts *opts,
    const struct rpx_tls_opts *tls, const char *file, const char *prefix, int worker, int first,
    int count, int pause)
{
	char err[256], script[4096], token[256], line[1024];
	const char *argv[2] = {script, NULL};
	struct rpx_spawn_opts so;
	struct rpx_client *cl;
	rpx_spawn_res res;
	int i, ret;

	/*
	 * A tls:// open makes the probe and the handshake, which a fault
	 * proxy may cut: an open that did not get through sent no call, so
	 * trying again is safe.
	 */
	for (i = 0; (cl = rpx_client_open_tls(url, opts, tls, err, sizeof(err))) == NULL &&
	            tls->ca_file != NULL && i < 50;
	     i++)
		pause_ms(20);
	if (cl == NULL) {
		fprintf(stderr, "amo_driver: worker %d: %s\n", worker, err);
		return 2;
	}
	for (i = first; i < first + count; i++) {
		snprintf(token, sizeof(token), "%s-%d", prefix, i);
		snprintf(script, sizeof(script), "echo %s >> '%s'", token, file);
		memset(&so, 0, sizeof(so));
		so.argv = argv;
		so.flags = RPX_SPAWN_SHELL | RPX_SPAWN_DISCARD_STDOUT | RPX_SPAWN_DISCARD_STDERR;
		ret = rpx_proc_spawn(cl, &so, &res);
		if (ret == 0)
			snprintf(line, sizeof(line), "%s ok %llu\n", token,
			    (unsigned long long)res.job);
		else
			snprintf(line, sizeof(line), "%s %s %d %s\n", token,
			    ret == -ETIMEDOUT || ret == -ESTALE ? "unknown" : "failed", -ret,
			    rpx_client_error(cl));
		emit(line);
		rpx_proc_spawn_free(&res);
		/* A call that could not reach rpxd: let it come back before the next. */
		if (ret < 0 && ret != -ETIMEDOUT && ret != -ESTALE)
			pause_ms(50);
		pause_ms(pause);
	}
	rpx_client_close(cl);
	return 0;
}

int main(int argc, char **argv)
{
	struct rpx_client_opts opts = {0};
	struct rpx_tls_opts tls = {0};
	int procs = 1, pause = 0, opt, n, p, status, rc = 0;

	while ((opt = getopt(argc, argv, "p:t:r:s:C:c:k:")) != -1) {
		switch (opt) {
		case 'p':
			procs = atoi(optarg);
			break;
		case 't':
			opts.timeout_ms = atoi(optarg);
			break;
		case 'r':
			opts.retry_ms = atoi(optarg);
			break;
		case 's':
			pause = atoi(optarg);
			break;
		case 'C':
			tls.ca_file = optarg;
			break;
		case 'c':
			tls.cert_file = optarg;
			break;
		case 'k':
			tls.key_file = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 4 || procs < 1 || (n = atoi(argv[optind + 3])) < 0)
		goto usage;
	for (p = 0; p < procs; p++) {
		int first = (int)((long)n * p / procs), last = (int)((long)n * (p + 1) / procs);
		pid_t pid = fork();

		if (pid < 0) {
			perror("amo_driver: fork");
			return 2;
		}
		if (pid == 0)
			_exit(run_worker(argv[optind], &opts, &tls, argv[optind + 1],
			    argv[optind + 2], p, first, last - first, pause));
	}
	while (wait(&status) > 0) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			rc = 2;
	}
	return rc;
usage:
	fprintf(stderr, "usage: amo_driver [-p PROCS] [-t TIMEOUT_MS] [-r RETRY_MS] "
	                "[-s PAUSE_MS] [-C CA -c CERT -k KEY] URL FILE PREFIX N\n");
	return 2;
}

/*
 * amo_bench.c: what at-most-once costs in rpxd. Starts its own rpxd
 * instances (Unix socket, a state dir under TMPDIR) and prints one table:
 *
 *   spawn+wait of /bin/true, 1 and 4 clients: the default rpxd (request
 *     cache on, completion records written before each reply) beside
 *     rpxd --fsync (each record fdatasync'ed, and the job records too);
 *     the cache itself cannot be switched off;
 *   a cache hit: a SPAWN sent again with the same request ID (answered
 *     from its record, nothing run) beside a NULL call on the same
 *     connection, so the difference is the cost of the lookup and replay;
 *   memory per cached entry: STATS drc_bytes / drc_entries (reply bytes
 *     kept) and rpxd's VmRSS growth over N recorded requests (KILLs of job
 *     0, answered ESRCH, each recorded) divided by N (everything a record
 *     costs: the reply, the entry, the hash table, malloc's overhead).
 *
 * usage: amo_bench [-n SPAWNS] [-c CALLS] [-m ENTRIES] [-r RUNS] RPXD
 * Defaults: 1000 spawns per cell, 20000 calls for the hit/NULL timing,
 * 100000 entries for the memory figure, 3 runs (the median is printed).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/wait.h>

#include <rpx/client.h>

struct daemon {
	pid_t pid;
	char dir[256];
	char url[320];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "amo_bench: %s: %s\n", what, why);
	exit(1);
}

/* Starts rpxd with its own state dir and Unix socket; returns when it is ready. */
static void daemon_start(struct daemon *d, const char *rpxd, const char *const *extra)
{
	const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	char state[300], listen[320], line[512];
	const char *argv[32];
	int pipefd[2], n = 0;
	FILE *out;

	snprintf(d->dir, sizeof(d->dir), "%s/amo_bench.XXXXXX", tmp);
	if (mkdtemp(d->dir) == NULL)
		die("mkdtemp", strerror(errno));
	snprintf(state, sizeof(state), "%s/state", d->dir);
	snprintf(listen, sizeof(listen), "unix:%s/rpxd.sock", d->dir);
	snprintf(d->url, sizeof(d->url), "%s", listen);
	argv[n++] = rpxd;
	argv[n++] = "--state-dir";
	argv[n++] = state;
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--daytime";
	argv[n++] = "off";
	argv[n++] = "--log-level";
	argv[n++] = "error";
	while (extra != NULL && *extra != NULL && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	if (pipe(pipefd) < 0 || (d->pid = fork()) < 0)
		die("fork", strerror(errno));
	if (d->pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(rpxd, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	if ((out = fdopen(pipefd[0], "r")) == NULL)
		die("fdopen", strerror(errno));
	while (fgets(line, sizeof(line), out) != NULL) {
		if (strcmp(line, "ready\n") == 0) {
			/* rpxd writes nothing more to stdout; leave the pipe open. */
			return;
		}
	}
	die(rpxd, "exited before printing ready");
}

static void daemon_stop(struct daemon *d)
{
	char cmd[300];
	int status;

	kill(d->pid, SIGTERM);
	waitpid(d->pid, &status, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "amo_bench: could not remove %s\n", d->dir);
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

static struct rpx_client *open_client(const char *url)
{
	struct rpx_client_opts opts = {.timeout_ms = 30000};
	char err[256];
	struct rpx_client *cl = rpx_client_open(url, &opts, err, sizeof(err));

	if (cl == NULL)
		die("open", err);
	return cl;
}

/* spawn + wait of /bin/true, n times, on one client. */
static void spawn_wait_loop(const char *url, int n)
{
	static const char *const argv[] = {"/bin/true", NULL};
	struct rpx_client *cl = open_client(url);
	struct rpx_spawn_opts so;
	rpx_spawn_res sres;
	rpx_wait_res wres;
	uint64_t job;
	int i;

	memset(&so, 0, sizeof(so));
	so.argv = argv;
	so.flags = RPX_SPAWN_DISCARD_STDOUT | RPX_SPAWN_DISCARD_STDERR;
	for (i = 0; i < n; i++) {
		if (rpx_proc_spawn(cl, &so, &sres) < 0)
			die("spawn", rpx_client_error(cl));
		job = sres.job;
		rpx_proc_spawn_free(&sres);
		if (rpx_proc_wait(cl, &job, 1, -1, 0, &wres) != 0)
			die("wait", rpx_client_error(cl));
		rpx_proc_wait_free(&wres);
	}
	rpx_client_close(cl);
}

/* Spawns per second with `clients` processes, n spawn+wait each. */
static double spawn_rate(const char *url, int clients, int n)
{
	double t0 = now_s();
	pid_t pids[64];
	int c, status;

	for (c = 0; c < clients && c < 64; c++) {
		if ((pids[c] = fork()) == 0) {
			spawn_wait_loop(url, n);
			_exit(0);
		}
		if (pids[c] < 0)
			die("fork", strerror(errno));
	}
	/* By pid: rpxd is a child of ours too. */
	for (c = 0; c < clients && c < 64; c++) {
		if (waitpid(pids[c], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			die("client", "failed");
	}
	return (double)clients * n / (now_s() - t0);
}

/* The PROC program on the library's handle (built for DATE): switch it. */
static CLIENT *proc_handle(struct rpx_client *cl)
{
	CLIENT *h = rpx_client_clnt(cl);
	rpcprog_t prog = RPX_PROC_PROG;
	rpcvers_t vers = RPX_PROC_VERS;

	if (h == NULL)
		die("handle", rpx_client_error(cl));
	clnt_control(h, CLSET_PROG, (char *)&prog);
	clnt_control(h, CLSET_VERS, (char *)&vers);
	return h;
}

/* Mean microseconds of a NULL call and of a replayed SPAWN, same connection. */
static void hit_cost(const char *url, int calls, double *null_us, double *hit_us)
{
	static char *argv[] = {"/bin/true"};
	struct rpx_client *cl = open_client(url);
	CLIENT *h = proc_handle(cl);
	rpx_spawn_args a;
	rpx_spawn_res r;
	uint64_t cid;
	double t0;
	int i;

	memset(&a, 0, sizeof(a));
	if (getrandom(&cid, sizeof(cid), 0) != sizeof(cid))
		cid = (uint64_t)getpid() << 20 | 1;
	a.reqid.client = cid | 1;
	a.reqid.seq = 1;
	a.reqid.acked = 1;
	a.argv.argv_len = 1;
	a.argv.argv_val = argv;
	a.cwd = a.name = a.user = "";
	a.stdout_mode = a.stderr_mode = RPX_STDIO_DISCARD;
	for (i = 0; i < 2000; i++) /* warm up, and the one real SPAWN */
		if (rpx_proc_null_1(NULL, NULL, h) != RPC_SUCCESS)
			die("NULL", clnt_sperrno(RPC_FAILED));
	t0 = now_s();
	for (i = 0; i < calls; i++)
		if (rpx_proc_null_1(NULL, NULL, h) != RPC_SUCCESS)
			die("NULL", "call failed");
	*null_us = (now_s() - t0) * 1e6 / calls;
	memset(&r, 0, sizeof(r));
	if (rpx_proc_spawn_1(&a, &r, h) != RPC_SUCCESS || r.status.error != 0)
		die("SPAWN", "first call failed");
	xdr_free((xdrproc_t)xdr_rpx_spawn_res, (char *)&r);
	t0 = now_s();
	for (i = 0; i < calls; i++) {
		memset(&r, 0, sizeof(r));
		if (rpx_proc_spawn_1(&a, &r, h) != RPC_SUCCESS || r.status.error != 0)
			die("SPAWN", "replay failed");
		xdr_free((xdrproc_t)xdr_rpx_spawn_res, (char *)&r);
	}
	*hit_us = (now_s() - t0) * 1e6 / calls;
	rpx_client_close(cl);
}

static void stats(const char *url, rpx_stats_res *st)
{
	struct rpx_client *cl = open_client(url);

	if (rpx_proc_stats(cl, st) < 0)
		die("STATS", rpx_client_error(cl));
	rpx_client_close(cl);
}

/* Records n KILLs of job 0 (distinct request IDs, acked 1: all kept). */
static void fill_cache(const char *url, int n)
{
	struct rpx_client *cl = open_client(url);
	CLIENT *h = proc_handle(cl);
	rpx_kill_args a;
	rpx_kill_res r;
	uint64_t cid;
	int i;

	if (getrandom(&cid, sizeof(cid), 0) != sizeof(cid))
		cid = (uint64_t)getpid() << 20 | 1;
	memset(&a, 0, sizeof(a));
	a.reqid.client = cid | 1;
	a.reqid.acked = 1;
	for (i = 0; i < n; i++) {
		a.reqid.seq = (uint64_t)i + 1;
		memset(&r, 0, sizeof(r));
		if (rpx_proc_kill_1(&a, &r, h) != RPC_SUCCESS || r.status.error != ESRCH)
			die("KILL", "unexpected answer");
		xdr_free((xdrproc_t)xdr_rpx_kill_res, (char *)&r);
	}
	rpx_client_close(cl);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define REPEAT_MAX 15

int main(int argc, char **argv)
{
	static const char *const fsync_opt[] = {"--fsync", NULL};
	int spawns = 1000, calls = 20000, entries = 100000, repeat = 3, opt, c, k;
	const char *rpxd;
	struct daemon d;
	double rate[2][2][REPEAT_MAX], null_us[REPEAT_MAX], hit_us[REPEAT_MAX], diff[REPEAT_MAX];
	rpx_stats_res st;
	long rss0, rss1;
	char entries_opt[32];

	while ((opt = getopt(argc, argv, "n:c:m:r:")) != -1) {
		switch (opt) {
		case 'n':
			spawns = atoi(optarg);
			break;
		case 'c':
			calls = atoi(optarg);
			break;
		case 'm':
			entries = atoi(optarg);
			break;
		case 'r':
			repeat = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 1 || spawns < 1 || calls < 1 || entries < 1 || repeat < 1 ||
	    repeat > REPEAT_MAX)
		goto usage;
	rpxd = argv[optind];

	/* Cells interleaved, each repeated: a busy machine disturbs them alike. */
	for (k = 0; k < repeat; k++) {
		for (c = 0; c < 2; c++) {
			daemon_start(&d, rpxd, c == 0 ? NULL : fsync_opt);
			rate[c][0][k] = spawn_rate(d.url, 1, spawns);
			rate[c][1][k] = spawn_rate(d.url, 4, spawns / 4 > 0 ? spawns / 4 : 1);
			daemon_stop(&d);
		}
		daemon_start(&d, rpxd, NULL);
		hit_cost(d.url, calls, &null_us[k], &hit_us[k]);
		diff[k] = hit_us[k] - null_us[k];
		daemon_stop(&d);
	}

	snprintf(entries_opt, sizeof(entries_opt), "%d", entries + 1000 + 16);
	{
		const char *const big[] = {"--drc-entries", entries_opt, "--drc-bytes",
		    "1073741824", NULL};

		daemon_start(&d, rpxd, big);
		fill_cache(d.url, 1000); /* warm up the allocator and the connection path */
		rss0 = rss_kib(d.pid);
		fill_cache(d.url, entries);
		rss1 = rss_kib(d.pid);
		stats(d.url, &st);
		daemon_stop(&d);
	}

	printf("%-48s %14s\n", "measure (rpxd on a Unix socket; median of runs)", "value");
	printf("%-48s %14.0f\n", "spawn+wait /s, 1 client, default", median(rate[0][0], repeat));
	printf("%-48s %14.0f\n", "spawn+wait /s, 1 client, --fsync", median(rate[1][0], repeat));
	printf("%-48s %14.0f\n", "spawn+wait /s, 4 clients, default", median(rate[0][1], repeat));
	printf("%-48s %14.0f\n", "spawn+wait /s, 4 clients, --fsync", median(rate[1][1], repeat));
	printf("%-48s %14.1f\n", "NULL call, us", median(null_us, repeat));
	printf("%-48s %14.1f\n", "replayed SPAWN (cache hit), us", median(hit_us, repeat));
	printf("%-48s %14.1f\n", "cache hit minus NULL, us", median(diff, repeat));
	printf("%-48s %14llu\n", "cached entries (STATS drc_entries)",
	    (unsigned long long)st.drc_entries);
	printf("%-48s %14.1f\n", "reply bytes per entry (drc_bytes/drc_entries)",
	    st.drc_entries > 0 ? (double)st.drc_bytes / (double)st.drc_entries : 0.0);
	printf("%-48s %14.1f\n", "RSS bytes per entry (VmRSS delta / entries)",
	    (double)(rss1 - rss0) * 1024.0 / entries);
	printf("(%d runs; %d spawn+wait per cell, %d calls per timing, %d entries)\n", repeat,
	    spawns, calls, entries);
	rpx_proc_stats_free(&st);
	return 0;
usage:
	fprintf(stderr, "usage: amo_bench [-n SPAWNS] [-c CALLS] [-m ENTRIES] [-r RUNS] RPXD\n");
	return 2;
}

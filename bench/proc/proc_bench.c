/*
 * proc_bench: the client side of the process-service benchmark
 * (bench/proc/run.sh, run by hand). It times starting a process and waiting
 * for its end, four ways, and holds many jobs and WAITs open to weigh rpxd:
 *
 *   proc_bench local N THREADS
 *	posix_spawn + waitpid of /bin/true, in this process: the floor.
 *   proc_bench rpx URL N THREADS [discard]
 *	SPAWN of /bin/true then WAIT for it (no timeout, reaping), through
 *	rpxd with librpx. Each thread opens its own rpx_client. "discard"
 *	sets RPX_SPAWN_DISCARD_STDOUT|STDERR (no output FIFOs): a diagnostic.
 *   proc_bench exec N CMD [ARGS]...
 *	posix_spawn + waitpid of a whole command (e.g. rpx run -- true), its
 *	stdout and stderr on /dev/null; every run must exit 0.
 *   proc_bench hold URL NJOBS NCONN RPXD_PID
 *	SPAWNs NJOBS `sleep 600` (one client), then sends one WAIT per job,
 *	pipelined over NCONN raw connections so that every WAIT is held by
 *	rpxd at once; reads rpxd's VmRSS/VmHWM before, with the jobs and with
 *	the WAITs pending; then KILLs every job's process group (SIGKILL),
 *	collects the NJOBS WAIT replies and checks that no job is left.
 *
 * Timed modes run N operations per thread after N/10 (at most 20) warm-up
 * ones and print one line for run.sh to parse:
 *
 *   result runs=N ops=O threads=T p50_us=X p99_us=Y start_p50_us=S ops_s=Z failed=F cpu_ms=C
 *
 * start_p50_us is the median of the first part of each operation: until
 * posix_spawn returned (local) or SPAWN was answered (rpx); the rest is
 * the wait for the end.
 *
 * ops/s is every operation of every thread over the wall time from the
 * common start to the last thread's end; cpu_ms is the CPU time of this
 * process and of the children it reaped (the local /bin/true, the commands
 * of exec mode). No new operation starts after PROC_BENCH_MAX_S seconds
 * (default 30): runs= then says how many were measured; ops= counts the
 * warm-up operations too. The hold mode prints "pids", "mem", "waits" and
 * "hold" lines (see hold_main).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rpx/client.h>

extern char **environ;

#define WARMUP_MAX 20
#define DEFAULT_MAX_S 30 /* see max_seconds() */
#define HOLD_REPLY_WAIT_S 30 /* for the WAIT replies once the jobs are killed */

struct timed_run {
	const char *url; /* rpx mode */
	char **cmd; /* exec mode; NULL: local /bin/true */
	int discard;
	int runs; /* measured operations per thread */
	int warmup;
	uint64_t stop_ns; /* no new operation starts after this */
	pthread_barrier_t *start;
};

struct worker {
	pthread_t thread;
	const struct timed_run *run;
	uint64_t *lat_ns; /* run->runs entries */
	uint64_t *start_ns; /* of each, the part until the start answered (SPAWN, posix_spawn) */
	int done;
	int failed;
	uint64_t end_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return (double)v[i - 1] / 1000.0;
}

static double tv_ms(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}

/* PROC_BENCH_MAX_S: seconds after which a timed mode starts no new operation. */
static double max_seconds(void)
{
	const char *s = getenv("PROC_BENCH_MAX_S");
	double v = s != NULL ? atof(s) : 0;

	return v > 0 ? v : DEFAULT_MAX_S;
}

/*
 * One local posix_spawn + waitpid; 0 when the command exited 0. *@started:
 * when posix_spawn returned.
 */
static int spawn_wait_local(char *const *argv, const posix_spawn_file_actions_t *fa,
    uint64_t *started)
{
	pid_t pid;
	int status;

	if (posix_spawn(&pid, argv[0], fa, NULL, argv, environ) != 0)
		return -1;
	*started = now_ns();
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* One SPAWN + WAIT of /bin/true through rpxd; 0 when it exited 0. *@started: SPAWN's answer. */
static int spawn_wait_rpx(struct rpx_client *cl, int discard, uint64_t *started)
{
	static const char *const argv[] = {"/bin/true", NULL};
	struct rpx_spawn_opts so;
	rpx_spawn_res sres;
	rpx_wait_res wres;
	uint64_t job;
	int err;

	memset(&so, 0, sizeof(so));
	so.argv = argv;
	if (discard)
		so.flags = RPX_SPAWN_DISCARD_STDOUT | RPX_SPAWN_DISCARD_STDERR;
	memset(&sres, 0, sizeof(sres));
	if ((err = rpx_proc_spawn(cl, &so, &sres)) < 0)
		return err;
	*started = now_ns();
	job = sres.job;
	rpx_proc_spawn_free(&sres);
	memset(&wres, 0, sizeof(wres));
	err = rpx_proc_wait(cl, &job, 1, -1, 0, &wres);
	if (err == 0 && (wres.exit.how != RPX_EXIT_EXITED || wres.exit.code != 0))
		err = -ECHILD;
	else if (err == 1)
		err = -ETIMEDOUT;
	rpx_proc_wait_free(&wres);
	return err;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct timed_run *run = w->run;
	static char *const true_argv[] = {"/bin/true", NULL};
	posix_spawn_file_actions_t fa, *fap = NULL;
	struct rpx_client *cl = NULL;
	char err[256];
	int total = run->warmup + run->runs;

	if (run->url != NULL) {
		if ((cl = rpx_client_open(run->url, NULL, err, sizeof(err))) == NULL) {
			fprintf(stderr, "proc_bench: %s\n", err);
			w->failed = total;
			pthread_barrier_wait(run->start);
			return NULL;
		}
	} else if (run->cmd != NULL) {
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
		fap = &fa;
	}
	pthread_barrier_wait(run->start);
	for (int i = 0; i < total; i++) {
		uint64_t t0 = now_ns(), started = t0;
		int ret;

		if (t0 >= run->stop_ns)
			break;

		if (cl != NULL)
			ret = spawn_wait_rpx(cl, run->discard, &started);
		else
			ret = spawn_wait_local(run->cmd != NULL ? run->cmd : true_argv, fap,
			    &started);
		if (ret < 0) {
			if (w->failed++ == 0)
				fprintf(stderr, "proc_bench: operation failed: %s\n",
				    cl != NULL ? rpx_client_error(cl) : "command did not exit 0");
			continue;
		}
		if (i >= run->warmup) {
			w->start_ns[w->done] = started - t0;
			w->lat_ns[w->done++] = now_ns() - t0;
		}
	}
	w->end_ns = now_ns();
	if (fap != NULL)
		posix_spawn_file_actions_destroy(fap);
	rpx_client_close(cl);
	return NULL;
}

static int timed_main(struct timed_run *run, int threads)
{
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	pthread_barrier_t start;
	struct rusage self, children;
	uint64_t *all, *starts, t_start, t_end = 0;
	size_t n = 0;
	int failed = 0;

	if (w == NULL || threads < 1 || run->runs < 1)
		return 2;
	run->warmup = run->runs / 10 < WARMUP_MAX ? run->runs / 10 : WARMUP_MAX;
	pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
	run->start = &start;
	run->stop_ns = now_ns() + (uint64_t)(max_seconds() * 1e9);
	for (int i = 0; i < threads; i++) {
		w[i].run = run;
		if ((w[i].lat_ns = calloc((size_t)run->runs, sizeof(uint64_t))) == NULL ||
		    (w[i].start_ns = calloc((size_t)run->runs, sizeof(uint64_t))) == NULL)
			return 2;
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	pthread_barrier_wait(&start);
	t_start = now_ns();
	for (int i = 0; i < threads; i++)
		pthread_join(w[i].thread, NULL);
	if ((all = calloc((size_t)threads * (size_t)run->runs, sizeof(uint64_t))) == NULL ||
	    (starts = calloc((size_t)threads * (size_t)run->runs, sizeof(uint64_t))) == NULL)
		return 2;
	for (int i = 0; i < threads; i++) {
		memcpy(all + n, w[i].lat_ns, (size_t)w[i].done * sizeof(uint64_t));
		memcpy(starts + n, w[i].start_ns, (size_t)w[i].done * sizeof(uint64_t));
		free(w[i].start_ns);
		n += (size_t)w[i].done;
		failed += w[i].failed;
		if (w[i].end_ns > t_end)
			t_end = w[i].end_ns;
		free(w[i].lat_ns);
	}
	qsort(all, n, sizeof(uint64_t), cmp_u64);
	qsort(starts, n, sizeof(uint64_t), cmp_u64);
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &children);
	/* Warm-up operations overlap the start of the clock: count them too. */
	printf("result runs=%zu ops=%zu threads=%d p50_us=%.1f p99_us=%.1f start_p50_us=%.1f "
	       "ops_s=%.0f failed=%d cpu_ms=%.0f\n",
	    n, n + (size_t)threads * (size_t)run->warmup, threads, pct_us(all, n, 50),
	    pct_us(all, n, 99), pct_us(starts, n, 50),
	    (double)(n + (size_t)threads * (size_t)run->warmup) / ((double)(t_end - t_start) / 1e9),
	    failed,
	    tv_ms(&self.ru_utime) + tv_ms(&self.ru_stime) + tv_ms(&children.ru_utime) +
	        tv_ms(&children.ru_stime));
	free(all);
	free(starts);
	free(w);
	return failed == 0 ? 0 : 1;
}

/* VmRSS and VmHWM of @pid, in KiB; -1 when unreadable. */
static void read_mem(long pid, long *rss_kb, long *hwm_kb)
{
	char path[64], line[256];
	FILE *f;

	*rss_kb = *hwm_kb = -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss_kb = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm_kb = strtol(line + 6, NULL, 10);
	}
	fclose(f);
}

static void print_mem(const char *stage, long pid)
{
	long rss, hwm;

	read_mem(pid, &rss, &hwm);
	printf("mem %s rss_kb=%ld hwm_kb=%ld\n", stage, rss, hwm);
	fflush(stdout);
}

static int unix_connect(const char *url)
{
	struct sockaddr_un sun;
	int fd;

	if (strncmp(url, "unix:", 5) != 0 || strlen(url + 5) >= sizeof(sun.sun_path))
		return -EINVAL;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, url + 5);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Encodes one WAIT call for @job (no timeout, reaping) with its record mark. */
static size_t encode_wait(char *buf, size_t len, uint32_t xid, uint64_t job)
{
	struct rpc_msg msg;
	rpx_wait_args args;
	rpx_job_id id = job;
	XDR x;
	size_t n;
	uint32_t mark;

	memset(&msg, 0, sizeof(msg));
	msg.rm_xid = xid;
	msg.rm_direction = CALL;
	msg.rm_call.cb_rpcvers = RPC_MSG_VERSION;
	msg.rm_call.cb_prog = RPX_PROC_PROG;
	msg.rm_call.cb_vers = RPX_PROC_VERS;
	msg.rm_call.cb_proc = RPX_PROC_WAIT;
	msg.rm_call.cb_cred = _null_auth;
	msg.rm_call.cb_verf = _null_auth;
	memset(&args, 0, sizeof(args));
	args.jobs.jobs_len = 1;
	args.jobs.jobs_val = &id;
	args.timeout_ms = -1;
	args.keep = FALSE;
	xdrmem_create(&x, buf + 4, (u_int)(len - 4), XDR_ENCODE);
	if (!xdr_callmsg(&x, &msg) || !xdr_rpx_wait_args(&x, &args))
		return 0;
	n = xdr_getpos(&x);
	xdr_destroy(&x);
	mark = htonl(0x80000000u | (uint32_t)n);
	memcpy(buf, &mark, 4);
	return n + 4;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reader state of one raw connection: record-marked replies, one fragment. */
struct raw_conn {
	int fd;
	int expected;
	int replies;
	int ok;
	char buf[65536];
	size_t have;
};

/* Decodes every complete reply in @c->buf; a WAIT that reports an exit counts as ok. */
static void raw_consume(struct raw_conn *c)
{
	size_t off = 0;

	while (c->have - off >= 4) {
		uint32_t mark, len;
		struct rpc_msg msg;
		rpx_wait_res res;
		XDR x;

		memcpy(&mark, c->buf + off, 4);
		len = ntohl(mark) & 0x7fffffffu;
		if (c->have - off - 4 < len)
			break;
		memset(&msg, 0, sizeof(msg));
		memset(&res, 0, sizeof(res));
		msg.acpted_rply.ar_verf = _null_auth;
		msg.acpted_rply.ar_results.where = (caddr_t)&res;
		msg.acpted_rply.ar_results.proc = (xdrproc_t)xdr_rpx_wait_res;
		xdrmem_create(&x, c->buf + off + 4, len, XDR_DECODE);
		if (xdr_replymsg(&x, &msg) && msg.rm_reply.rp_stat == MSG_ACCEPTED &&
		    msg.acpted_rply.ar_stat == SUCCESS && res.status.error == 0 &&
		    res.exit.how == RPX_EXIT_SIGNALED && res.exit.signal == SIGKILL)
			c->ok++;
		xdr_destroy(&x);
		xdr_free((xdrproc_t)xdr_rpx_wait_res, (char *)&res);
		c->replies++;
		off += 4 + len;
	}
	memmove(c->buf, c->buf + off, c->have - off);
	c->have -= off;
}

/* Reads what is there within @ms; returns the number of replies read. */
static int raw_poll(struct raw_conn *conns, int nconn, int ms)
{
	struct pollfd *pfd = calloc((size_t)nconn, sizeof(*pfd));
	uint64_t deadline = now_ns() + (uint64_t)ms * 1000000u;
	int got = 0;

	if (pfd == NULL)
		return -1;
	for (;;) {
		int left = 0, wait_ms;
		uint64_t now = now_ns();

		for (int i = 0; i < nconn; i++) {
			pfd[i].fd = conns[i].fd;
			pfd[i].events = POLLIN;
			left += conns[i].expected - conns[i].replies;
		}
		if (left == 0 || now >= deadline)
			break;
		wait_ms = (int)((deadline - now) / 1000000u) + 1;
		if (poll(pfd, (nfds_t)nconn, wait_ms) <= 0)
			continue;
		for (int i = 0; i < nconn; i++) {
			struct raw_conn *c = &conns[i];
			ssize_t n;
			int before = c->replies;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
			if (n <= 0) {
				c->expected = c->replies; /* closed: nothing more comes */
				continue;
			}
			c->have += (size_t)n;
			raw_consume(c);
			got += c->replies - before;
		}
	}
	free(pfd);
	return got;
}

static uint64_t stats_calls(struct rpx_client *cl, uint64_t *running)
{
	rpx_stats_res st;
	uint64_t calls = 0;

	memset(&st, 0, sizeof(st));
	*running = 0;
	if (rpx_proc_stats(cl, &st) == 0) {
		calls = st.calls;
		*running = st.jobs_running;
	}
	rpx_proc_stats_free(&st);
	return calls;
}

/*
 * Prints:
 *   pids P1 P2 ...           (the jobs' process ids)
 *   mem before|jobs|waits|after rss_kb=R hwm_kb=H
 *   waits sent=N received=M early_replies=E
 *   hold jobs=N spawned=S replies=R ok=K alive_after=A running_after=U
 */
static int hold_main(const char *url, int njobs, int nconn, long rpxd_pid)
{
	static const char *const argv[] = {"sleep", "600", NULL};
	struct rpx_client *cl;
	struct raw_conn *conns = NULL;
	uint64_t *ids = calloc((size_t)njobs, sizeof(uint64_t));
	pid_t *pids = calloc((size_t)njobs, sizeof(pid_t));
	uint64_t calls0, calls1, running;
	int spawned = 0, replies = 0, ok = 0, alive = 0, early, status = 1;
	char err[256];

	if (ids == NULL || pids == NULL || nconn < 1 || njobs < 1)
		return 2;
	if ((cl = rpx_client_open(url, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "proc_bench: %s\n", err);
		return 1;
	}
	print_mem("before", rpxd_pid);
	for (int i = 0; i < njobs; i++) {
		struct rpx_spawn_opts so;
		rpx_spawn_res res;

		memset(&so, 0, sizeof(so));
		so.argv = argv;
		so.name = "proc-bench-hold";
		memset(&res, 0, sizeof(res));
		if (rpx_proc_spawn(cl, &so, &res) < 0) {
			fprintf(stderr, "proc_bench: spawn %d: %s\n", i, rpx_client_error(cl));
			break;
		}
		ids[spawned] = res.job;
		pids[spawned] = res.pid;
		spawned++;
		rpx_proc_spawn_free(&res);
	}
	printf("pids");
	for (int i = 0; i < spawned; i++)
		printf(" %d", (int)pids[i]);
	printf("\n");
	usleep(300000);
	print_mem("jobs", rpxd_pid);
	if (spawned < njobs)
		goto stop_jobs;

	if ((conns = calloc((size_t)nconn, sizeof(*conns))) == NULL)
		goto stop_jobs;
	for (int i = 0; i < nconn; i++)
		conns[i].fd = -1;
	calls0 = stats_calls(cl, &running);
	for (int i = 0; i < nconn; i++) {
		if ((conns[i].fd = unix_connect(url)) < 0) {
			fprintf(stderr, "proc_bench: connect %s: %s\n", url,
			    strerror(-conns[i].fd));
			goto stop_jobs;
		}
	}
	for (int i = 0; i < spawned; i++) {
		struct raw_conn *c = &conns[i % nconn];
		char rec[256];
		size_t n = encode_wait(rec, sizeof(rec), 0x5000u + (uint32_t)i, ids[i]);

		if (n == 0 || write_all(c->fd, rec, n) < 0) {
			fprintf(stderr, "proc_bench: send WAIT %d failed\n", i);
			goto stop_jobs;
		}
		c->expected++;
	}
	/* No job ends, so no WAIT may be answered: any reply now is an error. */
	early = raw_poll(conns, nconn, 500);
	calls1 = stats_calls(cl, &running);
	printf("waits sent=%d received=%llu early_replies=%d\n", spawned,
	    (unsigned long long)(calls1 - calls0 - 1), early);
	print_mem("waits", rpxd_pid);

stop_jobs:
	for (int i = 0; i < spawned; i++) {
		if (rpx_proc_kill(cl, ids[i], SIGKILL, 1) < 0)
			fprintf(stderr, "proc_bench: kill job %llu: %s\n",
			    (unsigned long long)ids[i], rpx_client_error(cl));
	}
	if (conns != NULL) {
		raw_poll(conns, nconn, HOLD_REPLY_WAIT_S * 1000);
		for (int i = 0; i < nconn; i++) {
			replies += conns[i].replies;
			ok += conns[i].ok;
			if (conns[i].fd >= 0)
				close(conns[i].fd);
		}
	}
	/* rpxd reaps a job before it answers its WAIT; give stragglers a moment. */
	for (int tries = 0; tries < 50; tries++) {
		alive = 0;
		for (int i = 0; i < spawned; i++) {
			if (kill(pids[i], 0) == 0)
				alive++;
		}
		if (alive == 0)
			break;
		usleep(100000);
	}
	stats_calls(cl, &running);
	print_mem("after", rpxd_pid);
	printf("hold jobs=%d spawned=%d replies=%d ok=%d alive_after=%d running_after=%llu\n",
	    njobs, spawned, replies, ok, alive, (unsigned long long)running);
	if (spawned == njobs && ok == njobs && alive == 0 && running == 0)
		status = 0;
	rpx_client_close(cl);
	free(conns);
	free(ids);
	free(pids);
	return status;
}

static int usage(void)
{
	fprintf(stderr, "usage: proc_bench local N THREADS\n"
	                "       proc_bench rpx URL N THREADS [discard]\n"
	                "       proc_bench exec N CMD [ARGS]...\n"
	                "       proc_bench hold URL NJOBS NCONN RPXD_PID\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct timed_run run;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	memset(&run, 0, sizeof(run));
	if (argc == 4 && strcmp(argv[1], "local") == 0) {
		run.runs = atoi(argv[2]);
		return timed_main(&run, atoi(argv[3]));
	}
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "rpx") == 0) {
		run.url = argv[2];
		run.runs = atoi(argv[3]);
		run.discard = argc == 6 && strcmp(argv[5], "discard") == 0;
		return timed_main(&run, atoi(argv[4]));
	}
	if (argc >= 4 && strcmp(argv[1], "exec") == 0) {
		run.runs = atoi(argv[2]);
		run.cmd = argv + 3;
		return timed_main(&run, 1);
	}
	if (argc == 6 && strcmp(argv[1], "hold") == 0)
		return hold_main(argv[2], atoi(argv[3]), atoi(argv[4]), atol(argv[5]));
	return usage();
}

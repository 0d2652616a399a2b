/*
 * fanout_cmds.c: the async forms of rpx's commands, for the fan-out
 * (fanout.c): each is a small state machine on one host's struct rpx_async,
 * one callback per reply, printing through rpx_cli_fan_printf() so that
 * every line is attributed to its host.
 *
 *   date   NOW, or FORMAT (--at), or NOW then FORMAT (--utc)
 *   ping   NULL of each program (DATE and PROC, or those of -p), with the
 *          round trip time; a failed program does not stop the others
 *   spawn  SPAWN (arguments built and checked by librpx); prints the job ID
 *   run    SPAWN, OUTPUT (follow) until the streams end, WAIT; the host's
 *          result is the job's exit status. A signal the driver forwards
 *          (Ctrl-C) becomes a KILL of the job's group, sent as soon as the
 *          job ID is known, on the same connection
 *   ps     LIST, every page
 *   info   INFO of one job
 *   kill   KILL of each job in turn
 *   wait   WAIT (in slices without --timeout)
 *   logs   OUTPUT until the streams end (-f: held in slices, until the job ends)
 *
 * SPAWN and KILL carry a request ID (rpx/proc_client.h): one random client
 * part per host and run, seq counting from 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "rpx.h"

#define SLICE_MS 1000 /* OUTPUT and WAIT hold calls at most this long */

/* Per-host state of every command (one struct: the commands are small). */
struct fan_state {
	uint64_t client, seq; /* request ID */
	uint64_t job;
	rpx_output_args out;
	int index; /* kill: next job; ping: next program */
	int failed; /* ping: programs that did not answer */
	int64_t sent_ns; /* ping: when the call left */
	int step;
	int shown_header;
	int forward_sig; /* run: a signal to forward once the job ID is known */
};

/* What a host's chain is doing (fan_state.step). */
enum { STEP_SPAWN, STEP_RUN, STEP_WAIT_LIMIT, STEP_WAIT_SLICES, STEP_LOGS };

static struct fan_state *state(struct rpx_cli_fan_host *h)
{
	if (h->state == NULL) {
		struct fan_state *s = calloc(1, sizeof(*s));

		if (s == NULL)
			return NULL;
		if (getrandom(&s->client, sizeof(s->client), 0) != sizeof(s->client))
			s->client = (uint64_t)time(NULL) ^ ((uint64_t)h->index << 32);
		h->state = s;
	}
	return h->state;
}

static void cleanup(struct rpx_cli_fan_host *h)
{
	free(h->state);
	h->state = NULL;
}

static void next_reqid(struct fan_state *s, rpx_reqid *id)
{
	s->seq++;
	id->client = s->client;
	id->seq = s->seq;
	id->acked = s->seq;
}

/* A server-side error in a result's status: ends the host. 1 if it did. */
static int status_failed(struct rpx_cli_fan_host *h, const char *what, const rpx_status *st)
{
	if (st->error == 0)
		return 0;
	rpx_cli_fan_done(h, -st->error, "%s: %s: server: %s", h->name, what,
	    st->message != NULL && st->message[0] != '\0' ? st->message : strerror(st->error));
	return 1;
}

static int call_failed(struct rpx_cli_fan_host *h, int err, const char *errmsg)
{
	if (rpx_cli_fan_gone(h))
		return 1;
	if (err == 0)
		return 0;
	rpx_cli_fan_done(h, err, "%s", errmsg);
	return 1;
}

static int start_failed(struct rpx_cli_fan_host *h, struct rpx_async *c, int ret)
{
	if (ret == 0)
		return 0;
	rpx_cli_fan_done(h, ret, "%s",
	    rpx_async_error(c)[0] != '\0' ? rpx_async_error(c) : strerror(-ret));
	return 1;
}

/* A call of the PROC program for host h; a call that cannot start ends the host. */
static void proc_call(struct rpx_cli_fan_host *h, struct rpx_async *c, uint32_t proc,
    xdrproc_t xargs, const void *args, xdrproc_t xres, size_t res_size, int timeout_ms,
    rpx_async_cb cb)
{
	start_failed(h, c,
	    rpx_async_call(c, RPX_PROC_PROG, RPX_PROC_VERS, proc, xargs, args, xres, res_size,
	        timeout_ms, cb, h));
}

/* date */

static void date_print(struct rpx_cli_fan_host *h, const rpx_date_now_res *r)
{
	if (rpx_cli_fan_json(h)) {
		char *zone = NULL, *text = NULL;
		size_t zl, tl;
		FILE *m = open_memstream(&zone, &zl), *m2 = open_memstream(&text, &tl);

		if (m == NULL || m2 == NULL)
			return;
		rpx_json_string(m, r->zone);
		rpx_json_string(m2, r->rfc3339);
		fclose(m);
		fclose(m2);
		rpx_cli_fan_printf(h, 1,
		    "{\"seconds\":%" PRId64 ",\"nanoseconds\":%u,\"utc_offset\":%d,\"zone\":%s,"
		    "\"rfc3339\":%s}\n",
		    (int64_t)r->seconds, r->nanoseconds, r->utc_offset, zone, text);
		free(zone);
		free(text);
		return;
	}
	rpx_cli_fan_printf(h, 1, "%s %s\n", r->rfc3339 != NULL ? r->rfc3339 : "",
	    r->zone != NULL ? r->zone : "");
}

static void date_start_format(struct rpx_cli_fan_host *h, struct rpx_async *c, int64_t sec,
    uint32_t nsec, int utc);

static void on_date_format(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_cli_fan_host *h = arg;
	rpx_date_format_res *r = res;

	(void)c;
	if (call_failed(h, err, errmsg))
		return;
	if (r->error != 0) {
		rpx_cli_fan_done(h, -r->error, "%s: server: %s", h->name,
		    r->rpx_date_format_res_u.message);
		return;
	}
	date_print(h, &r->rpx_date_format_res_u.time);
	rpx_cli_fan_done(h, 0, NULL);
}

static void on_date_now(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_cli_fan_host *h = arg;
	const struct rpx_cli_date_req *req = h->req;
	rpx_date_now_res *r = res;

	if (call_failed(h, err, errmsg))
		return;
	if (req->utc) {
		date_start_format(h, c, r->seconds, r->nanoseconds, 1);
		return;
	}
	date_print(h, r);
	rpx_cli_fan_done(h, 0, NULL);
}

static void date_start_format(struct rpx_cli_fan_host *h, struct rpx_async *c, int64_t sec,
    uint32_t nsec, int utc)
{
	rpx_date_format_args a;

	a.seconds = sec;
	a.nanoseconds = nsec;
	a.utc = utc ? TRUE : FALSE;
	start_failed(h, c,
	    rpx_async_call(c, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_FORMAT,
	        (xdrproc_t)xdr_rpx_date_format_args, &a, (xdrproc_t)xdr_rpx_date_format_res,
	        sizeof(rpx_date_format_res), 0, on_date_format, h));
}

static void date_start(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	const struct rpx_cli_date_req *req = h->req;

	if (req->at) {
		date_start_format(h, c, req->at_seconds, req->at_nanoseconds, req->utc);
		return;
	}
	start_failed(h, c,
	    rpx_async_call(c, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_NOW, (xdrproc_t)xdr_void, NULL,
	        (xdrproc_t)xdr_rpx_date_now_res, sizeof(rpx_date_now_res), 0, on_date_now, h));
}

const struct rpx_cli_fan_cmd rpx_fan_date = {.name = "date",
    .prog = RPX_DATE_PROG,
    .start = date_start};

/* ping: NULL of each program in turn */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void ping_next(struct rpx_cli_fan_host *h, struct rpx_async *c);

/* "date v1: 0.123 ms" on stdout, or "date v1: why" on stderr, as the one-host ping. */
static void ping_print(struct rpx_cli_fan_host *h, int err, const char *errmsg)
{
	const struct rpx_cli_ping_req *req = h->req;
	struct fan_state *s = h->state;
	char *name = NULL;
	size_t len;
	FILE *m = open_memstream(&name, &len);

	if (m == NULL)
		return;
	rpx_cli_ping_name(m, &req->progs[s->index]);
	fclose(m);
	if (err < 0)
		rpx_cli_fan_printf(h, 2, "%s: %s\n", name, errmsg);
	else
		rpx_cli_fan_printf(h, 1, "%s: %.3f ms\n", name, (now_ns() - s->sent_ns) / 1e6);
	free(name);
}

static void on_ping(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_cli_fan_host *h = arg;
	struct fan_state *s = h->state;

	(void)res;
	if (rpx_cli_fan_gone(h))
		return;
	ping_print(h, err, errmsg);
	s->failed += err < 0;
	s->index++;
	ping_next(h, c);
}

static void ping_next(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	const struct rpx_cli_ping_req *req = h->req;
	struct fan_state *s = state(h);
	int ret;

	if (s == NULL) {
		rpx_cli_fan_done(h, -ENOMEM, "%s: out of memory", h->name);
		return;
	}
	if ((size_t)s->index == req->nprogs) {
		if (s->failed > 0)
			rpx_cli_fan_done(h, -EIO, "%s: %d of %zu programs did not answer", h->name,
			    s->failed, req->nprogs);
		else
			rpx_cli_fan_done(h, 0, NULL);
		return;
	}
	s->sent_ns = now_ns();
	ret = rpx_async_call(c, req->progs[s->index].prog, req->progs[s->index].vers, 0,
	    (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, 0, 0, on_ping, h);
	start_failed(h, c, ret); /* the connection failed: every program would */
}

const struct rpx_cli_fan_cmd rpx_fan_ping = {.name = "ping",
    .prog = RPX_DATE_PROG,
    .start = ping_next,
    .cleanup = cleanup};

/* spawn, run */

static void run_output(struct rpx_cli_fan_host *h, struct rpx_async *c);
static void run_wait(struct rpx_cli_fan_host *h, struct rpx_async *c);

static void on_run_kill(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_cli_fan_host *h = arg;
	rpx_kill_res *r = res;

	(void)c;
	if (rpx_cli_fan_gone(h))
		return;
	/* Not the host's end: its OUTPUT and WAIT report what became of the job. */
	if (err < 0)
		rpx_cli_fan_printf(h, 2, "run: forwarding the signal: %s\n", errmsg);
	else if (r->status.error != 0 && r->status.error != ESRCH) /* ESRCH: it just ended */
		rpx_cli_fan_printf(h, 2, "run: forwarding the signal: server: %s\n",
		    r->status.message != NULL && r->status.message[0] != '\0'
		        ? r->status.message
		        : strerror(r->status.error));
}

/* KILL of the job's process group with sig, beside the OUTPUT or WAIT in flight. */
static void run_kill(struct rpx_cli_fan_host *h, struct rpx_async *c, int sig)
{
	struct fan_state *s = h->state;
	rpx_kill_args a;
	int ret;

	memset(&a, 0, sizeof(a));
	next_reqid(s, &a.reqid);
	a.job = s->job;
	a.signal = sig;
	a.group = TRUE;
	ret = rpx_async_call(c, RPX_PROC_PROG, RPX_PROC_VERS, RPX_PROC_KILL,
	    (xdrproc_t)xdr_rpx_kill_args, &a, (xdrproc_t)xdr_rpx_kill_res, sizeof(rpx_kill_res), 0,
	    on_run_kill, h);
	if (ret < 0)
		rpx_cli_fan_printf(h, 2, "run: forwarding SIG%s: %s\n", rpx_signal_name(sig),
		    rpx_async_error(c)[0] != '\0' ? rpx_async_error(c) : strerror(-ret));
}

/* The driver caught a signal: KILL now if the job is known, else once SPAWN answers. */
static void run_forward(struct rpx_cli_fan_host *h, int sig)
{
	struct fan_state *s = h->state;

	if (s == NULL || s->step != STEP_RUN)
		return;
	if (s->job != 0)
		run_kill(h, h->conn, sig);
	else
		s->forward_sig = sig; /* the last one wins: SIGKILL after the first */
}

static void on_spawn(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_cli_fan_host *h = arg;
	const struct rpx_cli_spawn *sp = h->req;
	struct fan_state *s = h->state;
	rpx_spawn_res *r = res;

	if (call_failed(h, err, errmsg))
		return;
	if (status_failed(h, "spawn", &r->status))
		return;
	s->job = r->job;
	if (s->step == STEP_SPAWN) {
		if (sp->json)
			rpx_cli_fan_printf(h, 1,
			    "{\"job\":%" PRIu64 ",\"pid\":%d,\"start\":%" PRId64 ".%09u}\n",
			    (uint64_t)r->job, r->pid, (int64_t)r->start_sec, r->start_nsec);
		else
			rpx_cli_fan_printf(h, 1, "%" PRIu64 "\n", (uint64_t)r->job);
		rpx_cli_fan_done(h, 0, NULL);
		return;
	}
	if (s->forward_sig != 0)
		run_kill(h, c, s->forward_sig); /* a signal came before the job ID */
	s->out.job = r->job;
	s->out.streams = 0;
	if (!(sp->opts.flags & RPX_SPAWN_DISCARD_STDOUT))
		s->out.streams |= RPX_STREAM_STDOUT;
	if (!(sp->opts.flags & RPX_SPAWN_DISCARD_STDERR))
		s->out.streams |= RPX_STREAM_STDERR;
	s->out.follow = TRUE;
	s->out.timeout_ms = SLICE_MS;
	if (s->out.streams != 0)
		run_output(h, c);
	else
		run_wait(h, c);
}

static void spawn_common(struct rpx_cli_fan_host *h, struct rpx_async *c, int run)
{
	const struct rpx_cli_spawn *sp = h->req;
	struct fan_state *s = state(h);
	rpx_spawn_args a;
	char why[300];
	int ret;

	if (s == NULL) {
		rpx_cli_fan_done(h, -ENOMEM, "%s: out of memory", h->name);
		return;
	}
	s->step = run;
	/* librpx's builder: the same local checks as a single-host spawn. */
	if ((ret = rpx_proc_spawn_args(&sp->opts, &a, why, sizeof(why))) < 0) {
		rpx_cli_fan_done(h, ret, "%s: %s", h->name, why);
		return;
	}
	next_reqid(s, &a.reqid);
	ret = rpx_async_call(c, RPX_PROC_PROG, RPX_PROC_VERS, RPX_PROC_SPAWN,
	    (xdrproc_t)xdr_rpx_spawn_args, &a, (xdrproc_t)xdr_rpx_spawn_res, sizeof(rpx_spawn_res),
	    0, on_spawn, h);
	rpx_proc_spawn_args_free(&a);
	start_failed(h, c, ret);
}

static void spawn_start(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	spawn_common(h, c, STEP_SPAWN);
}

static void run_start(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	spawn_common(h, c, STEP_RUN);
}

static void on_output(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	static const char *const stream_name[] = {"stdout", "stderr"};
	struct rpx_cli_fan_host *h = arg;
	struct fan_state *s = h->state;
	rpx_output_res *r = res;
	const rpx_chunk *chunk;
	uint64_t *offset;
	int got = 0, i;

	if (call_failed(h, err, errmsg))
		return;
	if (status_failed(h, "output", &r->status))
		return;
	for (i = 0; i < 2; i++) {
		unsigned int bit = i == 0 ? RPX_STREAM_STDOUT : RPX_STREAM_STDERR;

		if (!(s->out.streams & bit))
			continue;
		chunk = i == 0 ? &r->out : &r->err;
		offset = i == 0 ? &s->out.stdout_offset : &s->out.stderr_offset;
		if (chunk->dropped > 0)
			rpx_cli_fan_printf(h, 2,
			    "%" PRIu64 " bytes of the job's %s were dropped from its log\n",
			    (uint64_t)chunk->dropped, stream_name[i]);
		rpx_cli_fan_write(h, i + 1, chunk->data.data_val, chunk->data.data_len);
		*offset = chunk->offset + chunk->data.data_len;
		got |= chunk->data.data_len > 0;
		if (chunk->eof)
			s->out.streams &= ~bit;
	}
	if (s->step == STEP_LOGS) {
		if (s->out.streams == 0 || (!got && (!s->out.follow || r->ended)))
			rpx_cli_fan_done(h, 0, NULL);
		else
			run_output(h, c);
		return;
	}
	if (s->out.streams == 0 || (r->ended && !got))
		run_wait(h, c);
	else
		run_output(h, c);
}

static void run_output(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	struct fan_state *s = h->state;

	proc_call(h, c, RPX_PROC_OUTPUT, (xdrproc_t)xdr_rpx_output_args, &s->out,
	    (xdrproc_t)xdr_rpx_output_res, sizeof(rpx_output_res), 0, on_output);
	/* The call's deadline: the connection's timeout, which covers the slice. */
}

/* wait, and run's last step */

static void wait_call(struct rpx_cli_fan_host *h, struct rpx_async *c, const uint64_t *jobs,
    int njobs, int timeout_ms, int keep);

static void on_wait(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_cli_fan_host *h = arg;
	struct fan_state *s = h->state;
	rpx_wait_res *r = res;
	char text[128];

	if (call_failed(h, err, errmsg))
		return;
	if (r->status.error == ETIMEDOUT) {
		if (s->step == STEP_WAIT_LIMIT) { /* no job ended in time */
			rpx_cli_fan_printf(h, 2, "no job ended in time\n");
			rpx_cli_fan_exit(h, 124);
			return;
		}
		if (s->step == STEP_RUN)
			run_wait(h, c);
		else
			wait_call(h, c, NULL, 0, 0, 0); /* next slice of a wait without limit */
		return;
	}
	if (status_failed(h, "wait", &r->status))
		return;
	if (s->step >= STEP_WAIT_LIMIT && rpx_cli_fan_json(h)) {
		char *m = NULL;
		size_t ml;
		FILE *mf = open_memstream(&m, &ml);

		if (mf != NULL) {
			fprintf(mf, "{\"job\":%" PRIu64 ",", (uint64_t)r->job);
			rpx_json_exit_members(mf, &r->exit);
			fputs("}\n", mf);
			fclose(mf);
			rpx_cli_fan_write(h, 1, m, ml);
			free(m);
		}
	} else if (s->step >= STEP_WAIT_LIMIT) {
		rpx_cli_exit_text(&r->exit, text, sizeof(text));
		rpx_cli_fan_printf(h, 1, "job %" PRIu64 " %s\n", (uint64_t)r->job, text);
	}
	rpx_cli_fan_exit(h, rpx_cli_exit_status(&r->exit));
}

static void wait_call(struct rpx_cli_fan_host *h, struct rpx_async *c, const uint64_t *jobs,
    int njobs, int timeout_ms, int keep)
{
	const struct rpx_cli_jobs_req *req = h->req;
	struct fan_state *s = h->state;
	rpx_wait_args a;

	memset(&a, 0, sizeof(a));
	if (jobs == NULL) { /* wait command: from the request */
		jobs = req->jobs;
		njobs = req->njobs;
		keep = req->keep;
		timeout_ms = req->timeout_ms >= 0 ? req->timeout_ms : SLICE_MS * 10;
		s->step = req->timeout_ms >= 0 ? STEP_WAIT_LIMIT : STEP_WAIT_SLICES;
	}
	a.jobs.jobs_len = (u_int)njobs;
	a.jobs.jobs_val = (rpx_job_id *)jobs;
	a.timeout_ms = timeout_ms;
	a.keep = keep ? TRUE : FALSE;
	proc_call(h, c, RPX_PROC_WAIT, (xdrproc_t)xdr_rpx_wait_args, &a,
	    (xdrproc_t)xdr_rpx_wait_res, sizeof(rpx_wait_res), timeout_ms + 5000, on_wait);
}

static void run_wait(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	struct fan_state *s = h->state;

	s->step = STEP_RUN;
	wait_call(h, c, &s->job, 1, SLICE_MS, 0);
}

static void wait_start(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	if (state(h) == NULL) {
		rpx_cli_fan_done(h, -ENOMEM, "%s: out of memory", h->name);
		return;
	}
	wait_call(h, c, NULL, 0, 0, 0);
}

const struct rpx_cli_fan_cmd rpx_fan_spawn = {.name = "spawn",
    .prog = RPX_PROC_PROG,
    .start = spawn_start,
    .cleanup = cleanup};
const struct rpx_cli_fan_cmd rpx_fan_run = {"run", RPX_PROC_PROG, run_start, cleanup, run_forward};
const struct rpx_cli_fan_cmd rpx_fan_wait = {.name = "wait",
    .prog = RPX_PROC_PROG,
    .start = wait_start,
    .cleanup = cleanup};

/* kill */

static void kill_next(struct rpx_cli_fan_host *h, struct rpx_async *c);

static void on_kill(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_cli_fan_host *h = arg;
	const struct rpx_cli_jobs_req *req = h->req;
	struct fan_state *s = h->state;
	rpx_kill_res *r = res;

	if (call_failed(h, err, errmsg))
		return;
	if (r->status.error != 0) {
		rpx_cli_fan_done(h, -r->status.error, "%s: kill: job %" PRIu64 ": server: %s",
		    h->name, req->jobs[s->index], r->status.message);
		return;
	}
	s->index++;
	kill_next(h, c);
}

static void kill_next(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	const struct rpx_cli_jobs_req *req = h->req;
	struct fan_state *s = state(h);
	rpx_kill_args a;

	if (s == NULL) {
		rpx_cli_fan_done(h, -ENOMEM, "%s: out of memory", h->name);
		return;
	}
	if (s->index == req->njobs) {
		rpx_cli_fan_done(h, 0, NULL);
		return;
	}
	memset(&a, 0, sizeof(a));
	next_reqid(s, &a.reqid);
	a.job = req->jobs[s->index];
	a.signal = req->sig;
	a.group = req->group ? TRUE : FALSE;
	proc_call(h, c, RPX_PROC_KILL, (xdrproc_t)xdr_rpx_kill_args, &a,
	    (xdrproc_t)xdr_rpx_kill_res, sizeof(rpx_kill_res), 0, on_kill);
}

const struct rpx_cli_fan_cmd rpx_fan_kill = {.name = "kill",
    .prog = RPX_PROC_PROG,
    .start = kill_next,
    .cleanup = cleanup};

/* ps: every page of LIST */

static void ps_page(struct rpx_cli_fan_host *h, struct rpx_async *c, uint64_t cursor);

static void on_list(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_cli_fan_host *h = arg;
	struct fan_state *s = h->state;
	rpx_list_res *r = res;
	char *text = NULL;
	size_t len = 0;
	FILE *m;
	u_int i;

	if (call_failed(h, err, errmsg))
		return;
	if (status_failed(h, "ps", &r->status))
		return;
	if ((m = open_memstream(&text, &len)) != NULL) {
		if (!s->shown_header && !rpx_cli_fan_json(h))
			rpx_cli_ps_header(m);
		s->shown_header = 1;
		for (i = 0; i < r->entries.entries_len; i++)
			rpx_cli_ps_row(m, &r->entries.entries_val[i], rpx_cli_fan_json(h));
		fclose(m);
		rpx_cli_fan_write(h, 1, text, len);
		free(text);
	}
	if (r->more)
		ps_page(h, c, r->next_cursor);
	else
		rpx_cli_fan_done(h, 0, NULL);
}

static void ps_page(struct rpx_cli_fan_host *h, struct rpx_async *c, uint64_t cursor)
{
	rpx_list_args a;
	char why[200];
	int ret;

	if ((ret = rpx_proc_list_args(h->req, cursor, &a, why, sizeof(why))) < 0) {
		rpx_cli_fan_done(h, ret, "%s: %s", h->name, why);
		return;
	}
	proc_call(h, c, RPX_PROC_LIST, (xdrproc_t)xdr_rpx_list_args, &a,
	    (xdrproc_t)xdr_rpx_list_res, sizeof(rpx_list_res), 0, on_list);
}

static void ps_start(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	if (state(h) == NULL) {
		rpx_cli_fan_done(h, -ENOMEM, "%s: out of memory", h->name);
		return;
	}
	ps_page(h, c, 0);
}

const struct rpx_cli_fan_cmd rpx_fan_ps = {.name = "ps",
    .prog = RPX_PROC_PROG,
    .start = ps_start,
    .cleanup = cleanup};

/* info: INFO of one job */

static void on_info(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_cli_fan_host *h = arg;
	rpx_info_res *r = res;
	char *text = NULL;
	size_t len = 0;
	FILE *m;

	(void)c;
	if (call_failed(h, err, errmsg))
		return;
	if (r->status.error != 0) {
		rpx_cli_fan_done(h, -r->status.error, "%s: info: job %" PRIu64 ": server: %s",
		    h->name, *(const uint64_t *)h->req,
		    r->status.message != NULL && r->status.message[0] != '\0'
		        ? r->status.message
		        : strerror(r->status.error));
		return;
	}
	if ((m = open_memstream(&text, &len)) != NULL) {
		rpx_cli_info_print(m, r, rpx_cli_fan_json(h));
		fclose(m);
		rpx_cli_fan_write(h, 1, text, len);
		free(text);
	}
	rpx_cli_fan_done(h, 0, NULL);
}

static void info_start(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	rpx_job_id job = *(const uint64_t *)h->req;

	proc_call(h, c, RPX_PROC_INFO, (xdrproc_t)xdr_rpx_job_id, &job, (xdrproc_t)xdr_rpx_info_res,
	    sizeof(rpx_info_res), 0, on_info);
}

const struct rpx_cli_fan_cmd rpx_fan_info = {.name = "info",
    .prog = RPX_PROC_PROG,
    .start = info_start};

/* logs: OUTPUT until the streams end, held in slices with -f */

static void logs_start(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	const struct rpx_cli_logs_req *req = h->req;
	struct fan_state *s = state(h);

	if (s == NULL) {
		rpx_cli_fan_done(h, -ENOMEM, "%s: out of memory", h->name);
		return;
	}
	s->step = STEP_LOGS;
	s->out.job = req->job;
	s->out.streams = req->streams;
	s->out.follow = req->follow ? TRUE : FALSE;
	s->out.timeout_ms = req->follow ? SLICE_MS : 0;
	run_output(h, c);
}

const struct rpx_cli_fan_cmd rpx_fan_logs = {.name = "logs",
    .prog = RPX_PROC_PROG,
    .start = logs_start,
    .cleanup = cleanup};

/*
 * fanout_cmds.c: the async forms of rpx's commands, for the fan-out
 * (fanout.c): each is a small state machine on one host's struct rpx_async,
 * one callback per reply, printing through rpx_cli_fan_printf() so that
 * every line is attributed to its host.
 *
 *   date   NOW, or FORMAT (--at), or NOW then FORMAT (--utc)
 *   ping   NULL of DATE and PROC, with the round trip time
 *   spawn  SPAWN; prints the job ID
 *   run    SPAWN, OUTPUT (follow) until the streams end, WAIT; the host's
 *          result is the job's exit status
 *   ps     LIST, every page
 *   kill   KILL of each job in turn
 *   wait   WAIT (in slices without --timeout)
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
	int index; /* kill: next job */
	int64_t sent_ns; /* ping: when the call left */
	int step;
	int shown_header;
};

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

const struct rpx_cli_fan_cmd rpx_fan_date = {"date", RPX_DATE_PROG, date_start, NULL};

/* ping: NULL of DATE, then of PROC */

static const struct {
	uint32_t prog, vers;
	const char *name;
} ping_progs[] = {{RPX_DATE_PROG, RPX_DATE_VERS, "DATE"}, {RPX_PROC_PROG, RPX_PROC_VERS, "PROC"}};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void ping_next(struct rpx_cli_fan_host *h, struct rpx_async *c);

static void on_ping(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_cli_fan_host *h = arg;
	struct fan_state *s = h->state;

	(void)res;
	if (call_failed(h, err, errmsg))
		return;
	if (rpx_cli_fan_json(h))
		rpx_cli_fan_printf(h, 1, "{\"program\":\"%s\",\"rtt_ms\":%.3f}\n",
		    ping_progs[s->step].name, (now_ns() - s->sent_ns) / 1e6);
	else
		rpx_cli_fan_printf(h, 1, "%s: %.3f ms\n", ping_progs[s->step].name,
		    (now_ns() - s->sent_ns) / 1e6);
	s->step++;
	ping_next(h, c);
}

static void ping_next(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	struct fan_state *s = state(h);

	if (s == NULL) {
		rpx_cli_fan_done(h, -ENOMEM, "%s: out of memory", h->name);
		return;
	}
	if ((size_t)s->step == sizeof(ping_progs) / sizeof(ping_progs[0])) {
		rpx_cli_fan_done(h, 0, NULL);
		return;
	}
	s->sent_ns = now_ns();
	start_failed(h, c,
	    rpx_async_call(c, ping_progs[s->step].prog, ping_progs[s->step].vers, 0,
	        (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, 0, 0, on_ping, h));
}

const struct rpx_cli_fan_cmd rpx_fan_ping = {"ping", RPX_DATE_PROG, ping_next, cleanup};

/* spawn, run */

/* The SPAWN arguments of opts (as rpx_proc_spawn builds them); labels point into a copy. */
static int spawn_args(const struct rpx_spawn_opts *o, rpx_spawn_args *a, rpx_label **labels)
{
	size_t n = 0, i;

	memset(a, 0, sizeof(*a));
#define COUNT(v, k)                                             \
	do {                                                    \
		for (k = 0; (v) != NULL && (v)[k] != NULL; k++) \
			;                                       \
	} while (0)
	COUNT(o->labels, n);
	*labels = NULL;
	if (n > 0 && (*labels = calloc(n, sizeof(**labels))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const char *eq = strchr(o->labels[i], '=');

		if (eq == NULL)
			return -EINVAL;
		(*labels)[i].key = strndup(o->labels[i], (size_t)(eq - o->labels[i]));
		(*labels)[i].value = (char *)(eq + 1);
	}
	a->labels.labels_len = (u_int)n;
	a->labels.labels_val = *labels;
	COUNT(o->argv, i);
	a->argv.argv_len = (u_int)i;
	a->argv.argv_val = (rpx_arg *)o->argv;
	COUNT(o->env_set, i);
	a->env_set.env_set_len = (u_int)i;
	a->env_set.env_set_val = (rpx_arg *)o->env_set;
	COUNT(o->env_unset, i);
	a->env_unset.env_unset_len = (u_int)i;
	a->env_unset.env_unset_val = (rpx_arg *)o->env_unset;
#undef COUNT
	a->shell = (o->flags & RPX_SPAWN_SHELL) ? TRUE : FALSE;
	a->env_mode = (o->flags & RPX_SPAWN_CLEAR_ENV) ? RPX_ENV_CLEAR : RPX_ENV_INHERIT;
	a->cwd = (char *)(o->cwd != NULL ? o->cwd : "");
	a->stdin_data.stdin_data_len = (u_int)o->stdin_len;
	a->stdin_data.stdin_data_val = (char *)o->stdin_data;
	a->stdout_mode =
	    (o->flags & RPX_SPAWN_DISCARD_STDOUT) ? RPX_STDIO_DISCARD : RPX_STDIO_CAPTURE;
	a->stderr_mode =
	    (o->flags & RPX_SPAWN_DISCARD_STDERR) ? RPX_STDIO_DISCARD : RPX_STDIO_CAPTURE;
	a->name = (char *)(o->name != NULL ? o->name : "");
	a->limits.cpu_seconds = o->cpu_seconds;
	a->limits.address_space = o->address_space;
	a->limits.open_files = o->open_files;
	a->importance = (rpx_importance)o->importance;
	a->user = (char *)(o->user != NULL ? o->user : "");
	return 0;
}

static void run_output(struct rpx_cli_fan_host *h, struct rpx_async *c);
static void run_wait(struct rpx_cli_fan_host *h, struct rpx_async *c);

static void on_spawn(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_cli_fan_host *h = arg;
	const struct rpx_cli_spawn *sp = h->req;
	struct fan_state *s = h->state;
	rpx_spawn_res *r = res;

	if (call_failed(h, err == -EACCES ? err : err, errmsg))
		return;
	if (status_failed(h, "spawn", &r->status))
		return;
	s->job = r->job;
	if (s->step == 0) { /* spawn */
		if (sp->json)
			rpx_cli_fan_printf(h, 1,
			    "{\"job\":%" PRIu64 ",\"pid\":%d,\"start\":%" PRId64 ".%09u}\n",
			    (uint64_t)r->job, r->pid, (int64_t)r->start_sec, r->start_nsec);
		else
			rpx_cli_fan_printf(h, 1, "%" PRIu64 "\n", (uint64_t)r->job);
		rpx_cli_fan_done(h, 0, NULL);
		return;
	}
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
	rpx_label *labels = NULL;
	int ret;

	if (s == NULL) {
		rpx_cli_fan_done(h, -ENOMEM, "%s: out of memory", h->name);
		return;
	}
	s->step = run;
	if ((ret = spawn_args(&sp->opts, &a, &labels)) == 0) {
		next_reqid(s, &a.reqid);
		ret = rpx_async_call(c, RPX_PROC_PROG, RPX_PROC_VERS, RPX_PROC_SPAWN,
		    (xdrproc_t)xdr_rpx_spawn_args, &a, (xdrproc_t)xdr_rpx_spawn_res,
		    sizeof(rpx_spawn_res), 0, on_spawn, h);
	}
	for (size_t i = 0; labels != NULL && i < a.labels.labels_len; i++)
		free(labels[i].key);
	free(labels);
	start_failed(h, c, ret);
}

static void spawn_start(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	spawn_common(h, c, 0);
}

static void run_start(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	spawn_common(h, c, 1);
}

static void on_output(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_cli_fan_host *h = arg;
	struct fan_state *s = h->state;
	rpx_output_res *r = res;
	int got = 0;

	if (call_failed(h, err, errmsg))
		return;
	if (status_failed(h, "output", &r->status))
		return;
	if (s->out.streams & RPX_STREAM_STDOUT) {
		rpx_cli_fan_write(h, 1, r->out.data.data_val, r->out.data.data_len);
		s->out.stdout_offset = r->out.offset + r->out.data.data_len;
		got |= r->out.data.data_len > 0;
		if (r->out.eof)
			s->out.streams &= ~RPX_STREAM_STDOUT;
	}
	if (s->out.streams & RPX_STREAM_STDERR) {
		rpx_cli_fan_write(h, 2, r->err.data.data_val, r->err.data.data_len);
		s->out.stderr_offset = r->err.offset + r->err.data.data_len;
		got |= r->err.data.data_len > 0;
		if (r->err.eof)
			s->out.streams &= ~RPX_STREAM_STDERR;
	}
	if (s->out.streams == 0 || (r->ended && !got))
		run_wait(h, c);
	else
		run_output(h, c);
}

static void run_output(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	struct fan_state *s = h->state;

	start_failed(h, c,
	    rpx_async_call(c, RPX_PROC_PROG, RPX_PROC_VERS, RPX_PROC_OUTPUT,
	        (xdrproc_t)xdr_rpx_output_args, &s->out, (xdrproc_t)xdr_rpx_output_res,
	        sizeof(rpx_output_res), 0, on_output, h));
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
		if (s->step == 2) { /* wait --timeout: no job ended in time */
			rpx_cli_fan_printf(h, 2, "no job ended in time\n");
			rpx_cli_fan_exit(h, 124);
			return;
		}
		if (s->step == 1)
			run_wait(h, c);
		else
			wait_call(h, c, NULL, 0, 0, 0); /* next slice of a wait without limit */
		return;
	}
	if (status_failed(h, "wait", &r->status))
		return;
	if (s->step >= 2 && rpx_cli_fan_json(h)) {
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
	} else if (s->step >= 2) {
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
		s->step = req->timeout_ms >= 0 ? 2 : 3;
	}
	a.jobs.jobs_len = (u_int)njobs;
	a.jobs.jobs_val = (rpx_job_id *)jobs;
	a.timeout_ms = timeout_ms;
	a.keep = keep ? TRUE : FALSE;
	start_failed(h, c,
	    rpx_async_call(c, RPX_PROC_PROG, RPX_PROC_VERS, RPX_PROC_WAIT,
	        (xdrproc_t)xdr_rpx_wait_args, &a, (xdrproc_t)xdr_rpx_wait_res, sizeof(rpx_wait_res),
	        timeout_ms + 5000, on_wait, h));
}

static void run_wait(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	struct fan_state *s = h->state;

	s->step = 1;
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

const struct rpx_cli_fan_cmd rpx_fan_spawn = {"spawn", RPX_PROC_PROG, spawn_start, cleanup};
const struct rpx_cli_fan_cmd rpx_fan_run = {"run", RPX_PROC_PROG, run_start, cleanup};
const struct rpx_cli_fan_cmd rpx_fan_wait = {"wait", RPX_PROC_PROG, wait_start, cleanup};

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
	start_failed(h, c,
	    rpx_async_call(c, RPX_PROC_PROG, RPX_PROC_VERS, RPX_PROC_KILL,
	        (xdrproc_t)xdr_rpx_kill_args, &a, (xdrproc_t)xdr_rpx_kill_res, sizeof(rpx_kill_res),
	        0, on_kill, h));
}

const struct rpx_cli_fan_cmd rpx_fan_kill = {"kill", RPX_PROC_PROG, kill_next, cleanup};

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
	const struct rpx_list_opts *o = h->req;
	rpx_list_args a;

	memset(&a, 0, sizeof(a));
	a.scope = o->all ? RPX_LIST_ALL : RPX_LIST_JOBS;
	a.state_mask = o->state_mask;
	a.name = (char *)(o->name != NULL ? o->name : "");
	a.label.key = (char *)(o->label_key != NULL ? o->label_key : "");
	a.label.value = (char *)(o->label_value != NULL ? o->label_value : "");
	a.cursor = cursor;
	a.limit = o->limit;
	start_failed(h, c,
	    rpx_async_call(c, RPX_PROC_PROG, RPX_PROC_VERS, RPX_PROC_LIST,
	        (xdrproc_t)xdr_rpx_list_args, &a, (xdrproc_t)xdr_rpx_list_res, sizeof(rpx_list_res),
	        0, on_list, h));
}

static void ps_start(struct rpx_cli_fan_host *h, struct rpx_async *c)
{
	if (state(h) == NULL) {
		rpx_cli_fan_done(h, -ENOMEM, "%s: out of memory", h->name);
		return;
	}
	ps_page(h, c, 0);
}

const struct rpx_cli_fan_cmd rpx_fan_ps = {"ps", RPX_PROC_PROG, ps_start, cleanup};

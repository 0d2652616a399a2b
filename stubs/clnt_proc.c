/*
 * clnt_proc.c: typed calls of the PROC program (idl/proc.x).
 *
 * Turns the C option structs of <rpx/proc_client.h> into rpcgen's argument
 * types, checks them against the IDL bounds before sending (a call the
 * server would refuse as garbage gets a message naming the field instead),
 * fills request IDs for the mutating calls (rpx_proc_spawn_args() builds and
 * checks SPAWN's arguments for the sync call and for async callers alike), and turns each result's
 * rpx_status into a negative errno and "server: MESSAGE". Calls the server
 * holds (WAIT, OUTPUT with follow) get a deadline of the hold plus the
 * client's timeout. SPAWN and KILL are sent again after a broken connection
 * with the same request ID (rpxd answers a duplicate from its record);
 * reads are sent again as they are; a WAIT that reaps the exit record is
 * not, since its answer cannot be asked for twice.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clnt_internal.h"
#include "rpx/proc_client.h"

/* rpxd's default --max-record: a bigger call is cut off by a closed connection. */
#define DEFAULT_MAX_RECORD 1048576u

static size_t count(const char *const *v)
{
	size_t n = 0;

	if (v != NULL)
		while (v[n] != NULL)
			n++;
	return n;
}

/*
 * The local checks write their reason into a caller's buffer (struct why),
 * so that rpx_proc_spawn_args() works without a client; the calls copy it
 * into the client's error.
 */
struct why {
	char *buf;
	size_t len;
};

static int fail(struct why *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct why *w, int code, const char *fmt, ...)
{
	va_list ap;

	if (w->len > 0) {
		va_start(ap, fmt);
		vsnprintf(w->buf, w->len, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int check_count(struct why *w, const char *what, size_t n, size_t limit)
{
	if (n > limit)
		return fail(w, -E2BIG, "%s has %zu entries; the limit is %zu", what, n, limit);
	return 0;
}

static int check_len(struct why *w, const char *what, const char *s, size_t limit)
{
	size_t len = s != NULL ? strlen(s) : 0;

	if (len > limit)
		return fail(w, -E2BIG, "%s is %zu bytes long; the limit is %zu", what, len, limit);
	return 0;
}

/* Every entry of a NULL-terminated array within limit bytes. */
static int check_entries(struct why *w, const char *what, const char *const *v, size_t limit)
{
	size_t i, len;

	for (i = 0; v != NULL && v[i] != NULL; i++) {
		if ((len = strlen(v[i])) > limit)
			return fail(w, -E2BIG, "%s[%zu] is %zu bytes long; the limit is %zu", what,
			    i, len, limit);
	}
	return 0;
}

/* A failed local check as the client's error. */
static int check_failed(struct rpx_client *cl, int ret, const char *why)
{
	return rpx_client_fail_(cl, ret, "%s", why);
}

/* The result's status as a return value: 0, or -errno with "server: MESSAGE". */
static int status_result(struct rpx_client *cl, const rpx_status *st)
{
	int err;

	if (st->error == 0)
		return 0;
	err = st->error > 0 ? st->error : -st->error;
	return rpx_client_fail_(cl, -err, "server: %s",
	    st->message != NULL && st->message[0] != '\0' ? st->message : strerror(err));
}

/*
 * A mutating call's status: as status_result(), but ESTALE (rpxd cannot
 * tell whether the request ran: its record was dropped, or the request
 * started before a restart and its outcome was lost) says so plainly.
 */
static int mutating_result(struct rpx_client *cl, const rpx_status *st)
{
	if (st->error == ESTALE)
		return rpx_client_fail_(cl, -ESTALE,
		    "outcome unknown: the server no longer knows whether this request ran "
		    "(server: %s)",
		    st->message != NULL && st->message[0] != '\0' ? st->message : strerror(ESTALE));
	return status_result(cl, st);
}

/* SPAWN and KILL over TCP/UDP/TLS: say why, and what would work. */
static int mutating_call_failed(struct rpx_client *cl, int ret)
{
	if (ret == -EACCES && rpx_client_auth_why_(cl) == AUTH_TOOWEAK && rpx_client_is_tls(cl))
		return rpx_client_fail_(cl, ret,
		    "server: authentication error: refused for security reasons (spawn and kill over TLS need a client certificate that rpxd maps to a user: --cert/--key, rpxd --tls-users)");
	if (ret == -EACCES && rpx_client_auth_why_(cl) == AUTH_TOOWEAK)
		return rpx_client_fail_(cl, ret,
		    "server: authentication error: refused for security reasons (spawn and kill need the Unix socket, or rpxd --insecure)");
	return ret;
}

static void fill_reqid(struct rpx_client *cl, rpx_reqid *id)
{
	uint64_t client, seq, acked;

	rpx_client_reqid_(cl, &client, &seq, &acked);
	id->client = client;
	id->seq = seq;
	id->acked = acked;
}

/* Splits "KEY=VALUE" entries into labels (pointing into copies). */
static int fill_labels(struct why *w, const char *const *v, rpx_label *labels, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *eq = strchr(v[i], '=');
		size_t keylen;

		if (eq == NULL || eq == v[i])
			return fail(w, -EINVAL,
			    "label \"%s\" is not KEY=VALUE with a non-empty KEY", v[i]);
		keylen = (size_t)(eq - v[i]);
		if (keylen > RPX_NAME_MAX || strlen(eq + 1) > RPX_NAME_MAX)
			return fail(w, -E2BIG,
			    "label \"%.40s...\": key and value are limited to %d bytes each", v[i],
			    RPX_NAME_MAX);
		if ((labels[i].key = strndup(v[i], keylen)) == NULL)
			return fail(w, -ENOMEM, "out of memory");
		labels[i].value = (char *)(eq + 1);
	}
	return 0;
}

static int check_spawn(struct why *w, const struct rpx_spawn_opts *o)
{
	size_t i, nargv = count(o->argv), nset = count(o->env_set);
	int ret;

	if (o->flags & ~(RPX_SPAWN_SHELL | RPX_SPAWN_CLEAR_ENV | RPX_SPAWN_DISCARD_STDOUT |
	                   RPX_SPAWN_DISCARD_STDERR))
		return fail(w, -EINVAL, "unknown spawn flags 0x%x", o->flags);
	for (i = 0; i < sizeof(o->reserved) / sizeof(o->reserved[0]); i++) {
		if (o->reserved[i] != 0)
			return fail(w, -EINVAL, "reserved spawn fields must be 0");
	}
	if (nargv == 0)
		return fail(w, -EINVAL, "no command given (argv is empty)");
	if ((o->flags & RPX_SPAWN_SHELL) && nargv != 1)
		return fail(w, -EINVAL,
		    "a shell command is one string; got %zu arguments (quote the command)", nargv);
	if (o->importance < RPX_IMPORTANCE_DEFAULT || o->importance > RPX_IMPORTANCE_EMPTY)
		return fail(w, -EINVAL, "importance %d is not 0..5", o->importance);
	if ((ret = check_count(w, "argv", nargv, RPX_ARGV_MAX)) < 0 ||
	    (ret = check_entries(w, "argv", o->argv, RPX_ARG_MAX)) < 0 ||
	    (ret = check_count(w, "the environment to set", nset, RPX_ENV_MAX)) < 0 ||
	    (ret = check_entries(w, "env", o->env_set, RPX_ARG_MAX)) < 0 ||
	    (ret = check_count(w, "the environment to unset", count(o->env_unset), RPX_ENV_MAX)) <
	        0 ||
	    (ret = check_entries(w, "unset", o->env_unset, RPX_ARG_MAX)) < 0 ||
	    (ret = check_len(w, "cwd", o->cwd, RPX_PATH_MAX)) < 0 ||
	    (ret = check_len(w, "the job name", o->name, RPX_NAME_MAX)) < 0 ||
	    (ret = check_len(w, "the user name", o->user, RPX_NAME_MAX)) < 0 ||
	    (ret = check_count(w, "labels", count(o->labels), RPX_LABELS_MAX)) < 0)
		return ret;
	if (o->stdin_len > RPX_STDIN_MAX)
		return fail(w, -E2BIG, "stdin is %zu bytes; the limit is %d", o->stdin_len,
		    RPX_STDIN_MAX);
	for (i = 0; i < nset; i++) {
		const char *eq = strchr(o->env_set[i], '=');

		if (eq == NULL || eq == o->env_set[i])
			return fail(w, -EINVAL, "environment entry \"%s\" is not NAME=VALUE",
			    o->env_set[i]);
	}
	return 0;
}

int rpx_proc_spawn_args(const struct rpx_spawn_opts *o, rpx_spawn_args *a, char *why, size_t whylen)
{
	struct why w = {why, whylen};
	rpx_label *labels = NULL;
	size_t nlabels;
	int ret;

	memset(a, 0, sizeof(*a));
	if (o == NULL)
		return fail(&w, -EINVAL, "no spawn options given");
	if ((ret = check_spawn(&w, o)) < 0)
		return ret;
	nlabels = count(o->labels);
	if (nlabels > 0 && (labels = calloc(nlabels, sizeof(*labels))) == NULL)
		return fail(&w, -ENOMEM, "out of memory");
	a->labels.labels_len = (u_int)nlabels;
	a->labels.labels_val = labels;
	if ((ret = fill_labels(&w, o->labels, labels, nlabels)) < 0) {
		rpx_proc_spawn_args_free(a);
		return ret;
	}
	/* The rpcgen types are not const-correct; nothing below is written through. */
	a->argv.argv_len = (u_int)count(o->argv);
	a->argv.argv_val = (rpx_arg *)o->argv;
	a->shell = (o->flags & RPX_SPAWN_SHELL) ? TRUE : FALSE;
	a->env_mode = (o->flags & RPX_SPAWN_CLEAR_ENV) ? RPX_ENV_CLEAR : RPX_ENV_INHERIT;
	a->env_set.env_set_len = (u_int)count(o->env_set);
	a->env_set.env_set_val = (rpx_arg *)o->env_set;
	a->env_unset.env_unset_len = (u_int)count(o->env_unset);
	a->env_unset.env_unset_val = (rpx_arg *)o->env_unset;
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

void rpx_proc_spawn_args_free(rpx_spawn_args *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; a->labels.labels_val != NULL && i < a->labels.labels_len; i++)
		free(a->labels.labels_val[i].key);
	free(a->labels.labels_val);
	memset(a, 0, sizeof(*a));
}

int rpx_proc_spawn(struct rpx_client *cl, const struct rpx_spawn_opts *o, rpx_spawn_res *res)
{
	rpx_spawn_args a;
	char why[300];
	int ret;

	memset(res, 0, sizeof(*res));
	if ((ret = rpx_proc_spawn_args(o, &a, why, sizeof(why))) < 0)
		return check_failed(cl, ret, why);
	fill_reqid(cl, &a.reqid);
	ret = rpx_client_call_policy_(cl, RPX_CALL_MUTATING_, 0, RPX_PROC_PROG, RPX_PROC_VERS,
	    RPX_PROC_SPAWN, (xdrproc_t)xdr_rpx_spawn_args, &a, (xdrproc_t)xdr_rpx_spawn_res, res);
	if (ret == -ECONNRESET || ret == -EPIPE || ret == -ETIMEDOUT) {
		unsigned long size = xdr_sizeof((xdrproc_t)xdr_rpx_spawn_args, &a);

		/* rpxd closes a connection whose record is over its limit, without a reply. */
		if (size > DEFAULT_MAX_RECORD)
			ret = rpx_client_fail_(cl, ret,
			    "%s (the call is %lu bytes; rpxd's default --max-record is %u)",
			    rpx_client_error(cl), size, DEFAULT_MAX_RECORD);
	}
	if (ret < 0) {
		ret = mutating_call_failed(cl, ret);
		goto out;
	}
	ret = mutating_result(cl, &res->status);
out:
	rpx_proc_spawn_args_free(&a);
	if (ret < 0)
		rpx_proc_spawn_free(res);
	return ret;
}

void rpx_proc_spawn_free(rpx_spawn_res *res)
{
	if (res == NULL)
		return;
	xdr_free((xdrproc_t)xdr_rpx_spawn_res, (char *)res);
	memset(res, 0, sizeof(*res));
}

int rpx_proc_list_args(const struct rpx_list_opts *o, uint64_t cursor, rpx_list_args *a, char *why,
    size_t whylen)
{
	static const struct rpx_list_opts none;
	struct why w = {why, whylen};
	int ret;

	memset(a, 0, sizeof(*a));
	if (o == NULL)
		o = &none;
	if ((ret = check_len(&w, "the name filter", o->name, RPX_NAME_MAX)) < 0 ||
	    (ret = check_len(&w, "the label key", o->label_key, RPX_NAME_MAX)) < 0 ||
	    (ret = check_len(&w, "the label value", o->label_value, RPX_NAME_MAX)) < 0)
		return ret;
	if (o->limit > RPX_LIST_MAX)
		return fail(&w, -E2BIG, "a page of %u entries; the limit is %d", o->limit,
		    RPX_LIST_MAX);
	a->scope = o->all ? RPX_LIST_ALL : RPX_LIST_JOBS;
	a->state_mask = o->state_mask;
	a->name = (char *)(o->name != NULL ? o->name : "");
	a->label.key = (char *)(o->label_key != NULL ? o->label_key : "");
	a->label.value = (char *)(o->label_value != NULL ? o->label_value : "");
	a->cursor = cursor;
	a->limit = o->limit;
	return 0;
}

int rpx_proc_list(struct rpx_client *cl, const struct rpx_list_opts *o, uint64_t cursor,
    rpx_list_res *res)
{
	rpx_list_args a;
	char why[200];
	int ret;

	memset(res, 0, sizeof(*res));
	if ((ret = rpx_proc_list_args(o, cursor, &a, why, sizeof(why))) < 0)
		return check_failed(cl, ret, why);
	ret = rpx_client_call_policy_(cl, RPX_CALL_IDEMPOTENT_, 0, RPX_PROC_PROG, RPX_PROC_VERS,
	    RPX_PROC_LIST, (xdrproc_t)xdr_rpx_list_args, &a, (xdrproc_t)xdr_rpx_list_res, res);
	if (ret == 0)
		ret = status_result(cl, &res->status);
	if (ret < 0)
		rpx_proc_list_free(res);
	return ret;
}

void rpx_proc_list_free(rpx_list_res *res)
{
	if (res == NULL)
		return;
	xdr_free((xdrproc_t)xdr_rpx_list_res, (char *)res);
	memset(res, 0, sizeof(*res));
}

int rpx_proc_list_each(struct rpx_client *cl, const struct rpx_list_opts *opts,
    int (*fn)(const rpx_pinfo *p, void *arg), void *arg)
{
	uint64_t cursor = 0;
	rpx_list_res res;
	u_int i;
	int ret, more;

	do {
		if ((ret = rpx_proc_list(cl, opts, cursor, &res)) < 0)
			return ret;
		for (i = 0; i < res.entries.entries_len; i++) {
			if ((ret = fn(&res.entries.entries_val[i], arg)) != 0) {
				rpx_proc_list_free(&res);
				return ret;
			}
		}
		more = res.more;
		if (more && res.next_cursor == cursor) {
			rpx_proc_list_free(&res);
			return rpx_client_fail_(cl, -EPROTO,
			    "server: LIST returned the same cursor %llu again",
			    (unsigned long long)cursor);
		}
		cursor = res.next_cursor;
		rpx_proc_list_free(&res);
	} while (more);
	return 0;
}

int rpx_proc_info(struct rpx_client *cl, uint64_t job, rpx_info_res *res)
{
	rpx_job_id id = job;
	int ret;

	memset(res, 0, sizeof(*res));
	ret = rpx_client_call_policy_(cl, RPX_CALL_IDEMPOTENT_, 0, RPX_PROC_PROG, RPX_PROC_VERS,
	    RPX_PROC_INFO, (xdrproc_t)xdr_rpx_job_id, &id, (xdrproc_t)xdr_rpx_info_res, res);
	if (ret == 0)
		ret = status_result(cl, &res->status);
	if (ret < 0)
		rpx_proc_info_free(res);
	return ret;
}

void rpx_proc_info_free(rpx_info_res *res)
{
	if (res == NULL)
		return;
	xdr_free((xdrproc_t)xdr_rpx_info_res, (char *)res);
	memset(res, 0, sizeof(*res));
}

int rpx_proc_kill(struct rpx_client *cl, uint64_t job, int sig, int group)
{
	rpx_kill_args a;
	rpx_kill_res res;
	int ret;

	if (sig < 0 || sig > 64)
		return rpx_client_fail_(cl, -EINVAL, "signal %d is not 0..64", sig);
	memset(&a, 0, sizeof(a));
	memset(&res, 0, sizeof(res));
	a.job = job;
	a.signal = sig;
	a.group = group ? TRUE : FALSE;
	fill_reqid(cl, &a.reqid);
	ret = rpx_client_call_policy_(cl, RPX_CALL_MUTATING_, 0, RPX_PROC_PROG, RPX_PROC_VERS,
	    RPX_PROC_KILL, (xdrproc_t)xdr_rpx_kill_args, &a, (xdrproc_t)xdr_rpx_kill_res, &res);
	if (ret < 0)
		return mutating_call_failed(cl, ret);
	ret = mutating_result(cl, &res.status);
	xdr_free((xdrproc_t)xdr_rpx_kill_res, (char *)&res);
	return ret;
}

static int wait_once(struct rpx_client *cl, rpx_wait_args *a, rpx_wait_res *res)
{
	int ret;

	memset(res, 0, sizeof(*res));
	/* WAIT without keep drops the exit record: its answer cannot be asked for twice. */
	ret = rpx_client_call_policy_(cl, a->keep ? RPX_CALL_IDEMPOTENT_ : RPX_CALL_ONCE_,
	    a->timeout_ms, RPX_PROC_PROG, RPX_PROC_VERS, RPX_PROC_WAIT,
	    (xdrproc_t)xdr_rpx_wait_args, a, (xdrproc_t)xdr_rpx_wait_res, res);
	if (ret < 0)
		return ret;
	if (res->status.error == ETIMEDOUT) {
		rpx_proc_wait_free(res);
		return 1;
	}
	if ((ret = status_result(cl, &res->status)) < 0)
		rpx_proc_wait_free(res);
	return ret;
}

int rpx_proc_wait(struct rpx_client *cl, const uint64_t *jobs, size_t njobs, int timeout_ms,
    int keep, rpx_wait_res *res)
{
	rpx_wait_args a;
	char why[200];
	struct why w = {why, sizeof(why)};
	int ret;

	memset(res, 0, sizeof(*res));
	if (njobs == 0)
		return rpx_client_fail_(cl, -EINVAL, "no job to wait for");
	if ((ret = check_count(&w, "the list of jobs to wait for", njobs, RPX_WAIT_JOBS_MAX)) < 0)
		return check_failed(cl, ret, why);
	memset(&a, 0, sizeof(a));
	a.jobs.jobs_len = (u_int)njobs;
	a.jobs.jobs_val = (rpx_job_id *)jobs;
	a.keep = keep ? TRUE : FALSE;
	if (timeout_ms >= 0) {
		a.timeout_ms = timeout_ms;
		return wait_once(cl, &a, res);
	}
	/* No limit: slices, each with its own deadline, so a dead server shows. */
	a.timeout_ms = RPX_WAIT_SLICE_MS;
	while ((ret = wait_once(cl, &a, res)) == 1)
		;
	return ret;
}

void rpx_proc_wait_free(rpx_wait_res *res)
{
	if (res == NULL)
		return;
	xdr_free((xdrproc_t)xdr_rpx_wait_res, (char *)res);
	memset(res, 0, sizeof(*res));
}

int rpx_proc_output(struct rpx_client *cl, const rpx_output_args *args, rpx_output_res *res)
{
	rpx_output_args a = *args;
	int ret;

	memset(res, 0, sizeof(*res));
	if (a.streams == 0 || (a.streams & ~(RPX_STREAM_STDOUT | RPX_STREAM_STDERR)) != 0)
		return rpx_client_fail_(cl, -EINVAL,
		    "streams 0x%x: expected 1 (stdout), 2 (stderr) or 3", a.streams);
	if (a.follow && a.timeout_ms < 0)
		a.timeout_ms = RPX_WAIT_SLICE_MS;
	ret = rpx_client_call_policy_(cl, RPX_CALL_IDEMPOTENT_, a.follow ? a.timeout_ms : 0,
	    RPX_PROC_PROG, RPX_PROC_VERS, RPX_PROC_OUTPUT, (xdrproc_t)xdr_rpx_output_args, &a,
	    (xdrproc_t)xdr_rpx_output_res, res);
	if (ret == 0)
		ret = status_result(cl, &res->status);
	if (ret < 0)
		rpx_proc_output_free(res);
	return ret;
}

void rpx_proc_output_free(rpx_output_res *res)
{
	if (res == NULL)
		return;
	xdr_free((xdrproc_t)xdr_rpx_output_res, (char *)res);
	memset(res, 0, sizeof(*res));
}

int rpx_proc_stats(struct rpx_client *cl, rpx_stats_res *res)
{
	int ret;

	memset(res, 0, sizeof(*res));
	ret = rpx_client_call_policy_(cl, RPX_CALL_IDEMPOTENT_, 0, RPX_PROC_PROG, RPX_PROC_VERS,
	    RPX_PROC_STATS, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_rpx_stats_res, res);
	if (ret == 0)
		ret = status_result(cl, &res->status);
	if (ret < 0)
		rpx_proc_stats_free(res);
	return ret;
}

void rpx_proc_stats_free(rpx_stats_res *res)
{
	if (res == NULL)
		return;
	xdr_free((xdrproc_t)xdr_rpx_stats_res, (char *)res);
	memset(res, 0, sizeof(*res));
}

/* Linux signal numbers (x86, arm, most others; not alpha, mips, sparc). */
static const char *const signal_names[] = {
    [SIGHUP] = "HUP",
    [SIGINT] = "INT",
    [SIGQUIT] = "QUIT",
    [SIGILL] = "ILL",
    [SIGTRAP] = "TRAP",
    [SIGABRT] = "ABRT",
    [SIGBUS] = "BUS",
    [SIGFPE] = "FPE",
    [SIGKILL] = "KILL",
    [SIGUSR1] = "USR1",
    [SIGSEGV] = "SEGV",
    [SIGUSR2] = "USR2",
    [SIGPIPE] = "PIPE",
    [SIGALRM] = "ALRM",
    [SIGTERM] = "TERM",
    [SIGSTKFLT] = "STKFLT",
    [SIGCHLD] = "CHLD",
    [SIGCONT] = "CONT",
    [SIGSTOP] = "STOP",
    [SIGTSTP] = "TSTP",
    [SIGTTIN] = "TTIN",
    [SIGTTOU] = "TTOU",
    [SIGURG] = "URG",
    [SIGXCPU] = "XCPU",
    [SIGXFSZ] = "XFSZ",
    [SIGVTALRM] = "VTALRM",
    [SIGPROF] = "PROF",
    [SIGWINCH] = "WINCH",
    [SIGIO] = "IO",
    [SIGPWR] = "PWR",
    [SIGSYS] = "SYS",
};

/* glibc keeps 32 and 33 for itself: the real-time signals users see start at 34. */
#define RT_MIN 34
#define RT_MAX 64

static const char *const rt_names[RT_MAX - RT_MIN + 1] = {
    "RTMIN",
    "RTMIN+1",
    "RTMIN+2",
    "RTMIN+3",
    "RTMIN+4",
    "RTMIN+5",
    "RTMIN+6",
    "RTMIN+7",
    "RTMIN+8",
    "RTMIN+9",
    "RTMIN+10",
    "RTMIN+11",
    "RTMIN+12",
    "RTMIN+13",
    "RTMIN+14",
    "RTMIN+15",
    "RTMAX-14",
    "RTMAX-13",
    "RTMAX-12",
    "RTMAX-11",
    "RTMAX-10",
    "RTMAX-9",
    "RTMAX-8",
    "RTMAX-7",
    "RTMAX-6",
    "RTMAX-5",
    "RTMAX-4",
    "RTMAX-3",
    "RTMAX-2",
    "RTMAX-1",
    "RTMAX",
};

const char *rpx_signal_name(int sig)
{
	if (sig > 0 && sig < (int)(sizeof(signal_names) / sizeof(signal_names[0])) &&
	    signal_names[sig] != NULL)
		return signal_names[sig];
	if (sig >= RT_MIN && sig <= RT_MAX)
		return rt_names[sig - RT_MIN];
	return NULL;
}

/* "N" in 0..64, or -EINVAL. */
static int parse_number(const char *s)
{
	int n = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || n > RT_MAX)
			return -EINVAL;
		n = n * 10 + (*s - '0');
	}
	return n <= RT_MAX ? n : -EINVAL;
}

int rpx_signal_parse(const char *text)
{
	const char *s = text;
	size_t i;
	int n;

	if (s == NULL)
		return -EINVAL;
	if (isdigit((unsigned char)*s))
		return parse_number(s);
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 1; i < sizeof(signal_names) / sizeof(signal_names[0]); i++) {
		if (signal_names[i] != NULL && strcasecmp(s, signal_names[i]) == 0)
			return (int)i;
	}
	/* Aliases procps and bash know. */
	if (strcasecmp(s, "IOT") == 0)
		return SIGABRT;
	if (strcasecmp(s, "CLD") == 0)
		return SIGCHLD;
	if (strcasecmp(s, "POLL") == 0)
		return SIGIO;
	if (strncasecmp(s, "RTMIN", 5) == 0) {
		if (s[5] == '\0')
			return RT_MIN;
		if (s[5] == '+' && (n = parse_number(s + 6)) >= 0 && RT_MIN + n <= RT_MAX)
			return RT_MIN + n;
		return -EINVAL;
	}
	if (strncasecmp(s, "RTMAX", 5) == 0) {
		if (s[5] == '\0')
			return RT_MAX;
		if (s[5] == '-' && (n = parse_number(s + 6)) >= 0 && RT_MAX - n >= RT_MIN)
			return RT_MAX - n;
		return -EINVAL;
	}
	return -EINVAL;
}

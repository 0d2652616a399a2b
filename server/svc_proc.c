/*
 * svc_proc.c: the PROC program's procedures: who may call them, argument
 * checks, and results. The job table (jobs.c) does the work.
 *
 * Who is calling: on the Unix socket, the peer's uid as the kernel reports
 * it (SO_PEERCRED); AUTH_SYS credentials are claims, never trusted. Callers
 * on TCP and UDP have no proven identity: they may read (LIST of the host's
 * processes, and jobs started by such callers) but SPAWN and KILL are
 * refused with AUTH_ERROR/AUTH_TOOWEAK unless rpxd runs with --insecure,
 * which makes them rpxd's own user.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "log.h"
#include "procfs.h"
#include "server.h"
#include "svc_proc.h"

#define SIGNAL_MAX 64
#define LIST_STREAM_BUDGET (4u * 1024 * 1024)
#define LIST_DGRAM_BUDGET (48u * 1024)

struct svc_proc {
	struct rpx_jobs *jobs;
	bool insecure;
	struct rpx_server *srv;
	struct rpx_drc *drc;
};

static struct svc_proc svc;

struct caller {
	uid_t uid;
	bool may_mutate;
};

static void caller_of(const struct rpx_call *call, struct caller *c)
{
	if (call->cred.peer_known) {
		c->uid = call->cred.peer_uid;
		c->may_mutate = true;
	} else if (call->cred.tls_mapped) {
		/* A verified client certificate that --tls-users maps to a user. */
		c->uid = call->cred.tls_uid;
		c->may_mutate = true;
	} else if (svc.insecure) {
		c->uid = geteuid();
		c->may_mutate = true;
	} else {
		c->uid = RPX_OWNER_ANON;
		c->may_mutate = false;
	}
}

static bool owned_by(const struct caller *c, uid_t owner)
{
	return c->uid == 0 || owner == c->uid;
}

static bool visible(const struct caller *c, const struct rpx_job *job)
{
	return owned_by(c, job->owner);
}

static bool is_datagram(const struct rpx_call *call)
{
	return strcmp(call->xprt->kind, "udp") == 0;
}

static void status_set(rpx_status *st, int err, const char *fmt, ...)
{
	va_list ap;

	free(st->message);
	st->error = err;
	va_start(ap, fmt);
	if (vasprintf(&st->message, fmt, ap) < 0)
		st->message = NULL;
	va_end(ap);
}

static void status_ok(rpx_status *st)
{
	status_set(st, 0, "%s", "");
}

static char *dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/*
 * SPAWN and KILL, before the duplicate request cache: refused with
 * AUTH_TOOWEAK for a caller without a proven identity. The identity keys the
 * cache: a uid on the Unix socket, "the network" otherwise.
 */
static int authorize(const struct rpx_call *call, uint64_t *identity)
{
	struct caller c;

	caller_of(call, &c);
	if (!c.may_mutate) {
		if (call->cred.tls)
			log_info("audit: %s: %s refused: certificate %s is not mapped to a user "
			         "(--tls-users)",
			    call->xprt->peer, call->pi->name, call->cred.tls_id);
		else
			log_info("audit: %s: %s refused: SPAWN and KILL need the Unix socket, a "
			         "mapped TLS client certificate, or --insecure",
			    call->xprt->peer, call->pi->name);
		return AUTH_TOOWEAK;
	}
	*identity = call->cred.peer_known || call->cred.tls_mapped ? (uint64_t)c.uid + 1 : 0;
	return 0;
}

/* Looks up a job the caller may see; ESRCH otherwise. */
static struct rpx_job *find_job(const struct caller *c, uint64_t id, rpx_status *st)
{
	struct rpx_job *job = rpx_jobs_find(svc.jobs, id);

	if (job == NULL || !visible(c, job)) {
		status_set(st, ESRCH, "no job %llu", (unsigned long long)id);
		return NULL;
	}
	return job;
}

static char *join_argv(char *const *argv)
{
	size_t len = 0;
	char *s;

	for (char *const *a = argv; *a != NULL; a++)
		len += strlen(*a) + 1;
	if (len > RPX_CMDLINE_MAX)
		len = RPX_CMDLINE_MAX;
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	s[0] = '\0';
	for (char *const *a = argv; *a != NULL; a++) {
		size_t used = strlen(s);

		if (used >= len)
			break;
		snprintf(s + used, len + 1 - used, "%s%s", used > 0 ? " " : "", *a);
	}
	return s;
}

/* A job as LIST and INFO show it: what rpxd knows, plus /proc while it runs. */
static void pinfo_from_job(const struct rpx_job *job, rpx_pinfo *p)
{
	p->job = job->id;
	p->name = dup_or_empty(job->name);
	p->cmdline = join_argv(job->argv);
	p->pid = job->pid;
	p->pgid = job->pid;
	p->sid = job->pid;
	p->uid = job->uid;
	p->start_sec = job->start_real.tv_sec;
	p->start_nsec = (unsigned)job->start_real.tv_nsec;
	p->open_fds = -1;
	p->exit = job->exit;
	if (job->ended || rpx_procfs_read(job->pid, p) < 0) {
		p->state = RPX_PSTATE_TERMINATED;
		free(p->state_code);
		p->state_code = strdup(job->ended ? "X" : "Z");
		if (job->ended) {
			p->utime_us = job->exit.utime_us;
			p->stime_us = job->exit.stime_us;
		}
	}
	if (job->nlabels > 0 &&
	    (p->labels.labels_val = calloc(job->nlabels, sizeof(rpx_label))) != NULL) {
		p->labels.labels_len = job->nlabels;
		for (unsigned i = 0; i < job->nlabels; i++) {
			p->labels.labels_val[i].key = dup_or_empty(job->labels[i].key);
			p->labels.labels_val[i].value = dup_or_empty(job->labels[i].value);
		}
	}
}

/* Every string of an entry must exist for the encoder. */
static void pinfo_complete(rpx_pinfo *p)
{
	if (p->name == NULL)
		p->name = strdup("");
	if (p->state_code == NULL)
		p->state_code = strdup("?");
	if (p->cmdline == NULL)
		p->cmdline = strdup("");
}

static size_t pinfo_size(const rpx_pinfo *p)
{
	size_t n = 220 + strlen(p->name) + strlen(p->cmdline);

	for (u_int i = 0; i < p->labels.labels_len; i++)
		n +=
		    8 + strlen(p->labels.labels_val[i].key) + strlen(p->labels.labels_val[i].value);
	return n;
}

static bool label_matches(const rpx_label *want, const rpx_label *have, u_int n)
{
	if (want->key == NULL || want->key[0] == '\0')
		return true;
	for (u_int i = 0; i < n; i++) {
		if (strcmp(have[i].key, want->key) == 0 &&
		    (want->value == NULL || want->value[0] == '\0' ||
		        strcmp(have[i].value, want->value) == 0))
			return true;
	}
	return false;
}

static bool entry_matches(const rpx_list_args *a, const rpx_pinfo *p)
{
	if (a->state_mask != 0 && !(a->state_mask & (1u << p->state)))
		return false;
	if (a->name[0] != '\0' && strcmp(a->name, p->name) != 0)
		return false;
	return label_matches(&a->label, p->labels.labels_val, p->labels.labels_len);
}

/* Procedures. */

static int proc_null(struct rpx_call *call, void *args, void *res)
{
	return 0;
}

static int proc_spawn(struct rpx_call *call, void *args, void *res)
{
	const rpx_spawn_args *a = args;
	rpx_spawn_res *r = res;
	struct rpx_job *job;
	struct caller c;
	char msg[RPX_MESSAGE_MAX];
	int err;

	caller_of(call, &c);
	err = rpx_jobs_spawn(svc.jobs, a, c.uid, c.uid, &job, msg, sizeof(msg));
	if (err < 0) {
		status_set(&r->status, -err, "%s", msg);
		return 0;
	}
	status_ok(&r->status);
	r->job = job->id;
	r->pid = job->pid;
	r->start_sec = job->start_real.tv_sec;
	r->start_nsec = (unsigned)job->start_real.tv_nsec;
	return 0;
}

static int list_jobs(const struct caller *c, const rpx_list_args *a, rpx_list_res *r,
    unsigned limit, size_t budget)
{
	size_t used = 0;

	for (struct rpx_job *job = rpx_jobs_next(svc.jobs, a->cursor); job != NULL;
	     job = rpx_jobs_next(svc.jobs, job->id)) {
		rpx_pinfo p;

		if (!visible(c, job))
			continue;
		memset(&p, 0, sizeof(p));
		pinfo_from_job(job, &p);
		pinfo_complete(&p);
		if (!entry_matches(a, &p)) {
			xdr_free((xdrproc_t)xdr_rpx_pinfo, (char *)&p);
			continue;
		}
		if (r->entries.entries_len == limit || used + pinfo_size(&p) > budget) {
			xdr_free((xdrproc_t)xdr_rpx_pinfo, (char *)&p);
			r->more = true;
			break;
		}
		used += pinfo_size(&p);
		r->entries.entries_val[r->entries.entries_len++] = p;
		r->next_cursor = job->id;
	}
	return 0;
}

static struct rpx_job *job_by_pid(pid_t pid)
{
	/* Jobs are few next to processes: a scan of the caller's page is fine. */
	for (struct rpx_job *job = rpx_jobs_next(svc.jobs, 0); job != NULL;
	     job = rpx_jobs_next(svc.jobs, job->id)) {
		if (!job->ended && job->pid == pid)
			return job;
	}
	return NULL;
}

static int list_all(const rpx_list_args *a, rpx_list_res *r, unsigned limit, size_t budget)
{
	pid_t pids[RPX_LIST_MAX];
	size_t used = 0;
	bool more;
	ssize_t n;

	if (a->cursor > (uint64_t)INT32_MAX)
		return 0;
	n = rpx_procfs_pids((pid_t)a->cursor, pids, limit, &more);
	if (n < 0) {
		status_set(&r->status, (int)-n, "/proc: %s", strerror((int)-n));
		return 0;
	}
	r->more = more;
	for (ssize_t i = 0; i < n; i++) {
		struct rpx_job *job = job_by_pid(pids[i]);
		rpx_pinfo p;

		memset(&p, 0, sizeof(p));
		p.open_fds = -1;
		if (job != NULL) {
			p.job = job->id;
			p.name = dup_or_empty(job->name[0] != '\0' ? job->name : NULL);
		}
		if (rpx_procfs_read(pids[i], &p) < 0) {
			/* Gone between the directory read and now. */
			xdr_free((xdrproc_t)xdr_rpx_pinfo, (char *)&p);
			r->next_cursor = (uint64_t)pids[i];
			continue;
		}
		pinfo_complete(&p);
		if (used + pinfo_size(&p) > budget) {
			xdr_free((xdrproc_t)xdr_rpx_pinfo, (char *)&p);
			r->more = true;
			break;
		}
		r->next_cursor = (uint64_t)pids[i];
		if (!entry_matches(a, &p)) {
			xdr_free((xdrproc_t)xdr_rpx_pinfo, (char *)&p);
			continue;
		}
		used += pinfo_size(&p);
		r->entries.entries_val[r->entries.entries_len++] = p;
	}
	return 0;
}

static int proc_list(struct rpx_call *call, void *args, void *res)
{
	const rpx_list_args *a = args;
	rpx_list_res *r = res;
	unsigned limit = a->limit == 0 || a->limit > RPX_LIST_MAX ? RPX_LIST_MAX : a->limit;
	size_t budget = is_datagram(call) ? LIST_DGRAM_BUDGET : LIST_STREAM_BUDGET;
	struct caller c;

	caller_of(call, &c);
	status_ok(&r->status);
	r->next_cursor = a->cursor;
	if (a->scope != RPX_LIST_JOBS && a->scope != RPX_LIST_ALL) {
		status_set(&r->status, EINVAL, "scope %d: expected 0 (jobs) or 1 (all)", a->scope);
		return 0;
	}
	if ((r->entries.entries_val = calloc(limit, sizeof(rpx_pinfo))) == NULL)
		return -ENOMEM;
	if (a->scope == RPX_LIST_JOBS)
		return list_jobs(&c, a, r, limit, budget);
	return list_all(a, r, limit, budget);
}

static int proc_info(struct rpx_call *call, void *args, void *res)
{
	const rpx_job_id *id = args;
	rpx_info_res *r = res;
	struct rpx_job *job;
	struct caller c;
	u_int argc = 0;

	caller_of(call, &c);
	r->cwd = strdup("");
	r->user = strdup("");
	status_ok(&r->status);
	if ((job = find_job(&c, *id, &r->status)) == NULL) {
		pinfo_complete(&r->info);
		return 0;
	}
	if (is_datagram(call)) {
		/* argv alone may not fit a datagram: say so rather than send nothing. */
		size_t size = 1024 + RPX_CMDLINE_MAX + strlen(job->cwd) + strlen(job->name);

		for (char **a = job->argv; *a != NULL; a++)
			size += 8 + strlen(*a);
		for (unsigned i = 0; i < job->nlabels; i++)
			size += 16 + strlen(job->labels[i].key) + strlen(job->labels[i].value);
		if (size > LIST_DGRAM_BUDGET) {
			status_set(&r->status, EMSGSIZE,
			    "job %llu: the INFO reply (about %zu bytes) does not fit a UDP datagram; "
			    "ask over TCP or the Unix socket",
			    (unsigned long long)job->id, size);
			pinfo_complete(&r->info);
			return 0;
		}
	}
	pinfo_from_job(job, &r->info);
	pinfo_complete(&r->info);
	free(r->cwd);
	free(r->user);
	r->cwd = dup_or_empty(job->cwd);
	r->user = dup_or_empty(job->user);
	while (job->argv[argc] != NULL)
		argc++;
	if ((r->argv.argv_val = calloc(argc > 0 ? argc : 1, sizeof(char *))) != NULL) {
		r->argv.argv_len = argc;
		for (u_int i = 0; i < argc; i++)
			r->argv.argv_val[i] = strdup(job->argv[i]);
	}
	r->stdout_bytes = job->out.total;
	r->stderr_bytes = job->err.total;
	r->stdout_dropped = rpx_joblog_start(&job->out);
	r->stderr_dropped = rpx_joblog_start(&job->err);
	return 0;
}

static int proc_kill(struct rpx_call *call, void *args, void *res)
{
	const rpx_kill_args *a = args;
	rpx_kill_res *r = res;
	struct rpx_job *job;
	struct caller c;
	int rc;

	caller_of(call, &c);
	status_ok(&r->status);
	if (a->signal < 0 || a->signal > SIGNAL_MAX) {
		status_set(&r->status, EINVAL, "signal %d: expected 0 to %d", a->signal,
		    SIGNAL_MAX);
		return 0;
	}
	if ((job = find_job(&c, a->job, &r->status)) == NULL)
		return 0;
	if (job->ended) {
		status_set(&r->status, ESRCH, "job %llu has ended", (unsigned long long)job->id);
		return 0;
	}
	/* The leader is not reaped yet, so neither its pid nor its group id
	 * can belong to another process. */
	if (a->group)
		rc = kill(-job->pid, a->signal);
	else
		rc = (int)syscall(SYS_pidfd_send_signal, job->pidfd, a->signal, NULL, 0);
	if (rc < 0)
		status_set(&r->status, errno, "job %llu: %s", (unsigned long long)job->id,
		    strerror(errno));
	return 0;
}

/*
 * A WAIT naming a job that is gone (ESRCH already in @r): if one of its jobs
 * was reaped lately by a WAIT, perhaps this very call sent again, the answer
 * it got, as if that job had just ended.
 */
static void wait_reaped(const struct caller *c, const rpx_wait_args *a, rpx_wait_res *r)
{
	for (u_int i = 0; i < a->jobs.jobs_len; i++) {
		const struct rpx_reaped *reaped = rpx_jobs_reaped(svc.jobs, a->jobs.jobs_val[i]);

		if (reaped != NULL && owned_by(c, reaped->owner)) {
			xdr_free((xdrproc_t)xdr_rpx_wait_res, (char *)r);
			rpx_jobs_reaped_result(reaped, r);
			return;
		}
	}
}

static int proc_wait(struct rpx_call *call, void *args, void *res)
{
	const rpx_wait_args *a = args;
	rpx_wait_res *r = res;
	struct rpx_job **list;
	struct caller c;
	u_int n = a->jobs.jobs_len;
	int err;

	caller_of(call, &c);
	status_ok(&r->status);
	if (n == 0) {
		status_set(&r->status, EINVAL, "no job to wait for");
		return 0;
	}
	if (a->timeout_ms < -1) {
		status_set(&r->status, EINVAL, "timeout %d ms: expected -1 (none) or more",
		    a->timeout_ms);
		return 0;
	}
	if ((list = calloc(n, sizeof(*list))) == NULL)
		return -ENOMEM;
	for (u_int i = 0; i < n; i++) {
		if ((list[i] = find_job(&c, a->jobs.jobs_val[i], &r->status)) == NULL) {
			wait_reaped(&c, a, r);
			goto out;
		}
	}
	for (u_int i = 0; i < n; i++) {
		if (list[i]->ended) {
			xdr_free((xdrproc_t)xdr_rpx_wait_res, (char *)r);
			rpx_jobs_exit_result(list[i], r);
			if (!a->keep)
				rpx_jobs_collect(svc.jobs, list[i]);
			goto out;
		}
	}
	if (a->timeout_ms == 0) {
		status_set(&r->status, ETIMEDOUT, "no job has ended");
		goto out;
	}
	if ((err = rpx_jobs_wait(svc.jobs, call, list, n, a->timeout_ms, a->keep)) < 0) {
		free(list);
		return err;
	}
	free(list);
	xdr_free((xdrproc_t)xdr_rpx_wait_res, (char *)r);
	memset(r, 0, sizeof(*r));
	return RPX_PENDING;
out:
	free(list);
	return 0;
}

static int proc_output(struct rpx_call *call, void *args, void *res)
{
	const rpx_output_args *a = args;
	rpx_output_res *r = res;
	struct rpx_job *job;
	struct caller c;
	int err;

	caller_of(call, &c);
	if (a->timeout_ms < -1) {
		status_set(&r->status, EINVAL, "timeout %d ms: expected -1 (none) or more",
		    a->timeout_ms);
		return 0;
	}
	if ((job = find_job(&c, a->job, &r->status)) == NULL)
		return 0;
	if (rpx_jobs_output(svc.jobs, job, call, a, r) || !a->follow || a->timeout_ms == 0)
		return 0;
	xdr_free((xdrproc_t)xdr_rpx_output_res, (char *)r);
	memset(r, 0, sizeof(*r));
	if ((err = rpx_jobs_follow(svc.jobs, call, job, a->timeout_ms)) < 0)
		return err;
	return RPX_PENDING;
}

/* Results must encode even on early returns: every string set. */
static int proc_output_entry(struct rpx_call *call, void *args, void *res)
{
	rpx_output_res *r = res;
	int rc = proc_output(call, args, res);

	if (rc == 0 && r->status.message == NULL)
		r->status.message = strdup("");
	return rc;
}

static int proc_stats(struct rpx_call *call, void *args, void *res)
{
	rpx_stats_res *r = res;
	const struct rpx_dispatch_stats *d = rpx_dispatch_stats(svc.srv->dispatch);
	const struct rpx_drc_stats *c = rpx_drc_stats(svc.drc);

	status_ok(&r->status);
	r->calls = d->calls;
	r->success = d->success;
	r->rpc_mismatch = d->rpc_mismatch;
	r->auth_error = d->auth_error;
	r->prog_unavail = d->prog_unavail;
	r->prog_mismatch = d->prog_mismatch;
	r->proc_unavail = d->proc_unavail;
	r->garbage_args = d->garbage_args;
	r->system_err = d->system_err;
	r->dropped = d->dropped;
	r->cancelled = d->cancelled;
	r->drc_new = c->new_requests;
	r->drc_hits = c->hits;
	r->drc_in_progress = c->in_progress;
	r->drc_evictions = c->evictions;
	r->drc_refusals = c->refusals;
	r->drc_full = c->full;
	r->drc_acked = c->acked;
	r->drc_entries = c->entries;
	r->drc_bytes = c->bytes;
	r->drc_clients = c->clients;
	r->jobs_running = rpx_jobs_running(svc.jobs);
	r->jobs_started = rpx_jobs_started(svc.jobs);
	r->orphans_reaped = rpx_jobs_orphans_reaped(svc.jobs);
	r->connections = svc.srv->nconns;
	r->drc_late = c->late;
	return 0;
}

static const struct rpx_procinfo proc_procs[] = {
    [RPX_PROC_NULL] = {"NULL", NULL, 0, NULL, 0, proc_null, 0},
    [RPX_PROC_SPAWN] = {"SPAWN", (xdrproc_t)xdr_rpx_spawn_args, sizeof(rpx_spawn_args),
        (xdrproc_t)xdr_rpx_spawn_res, sizeof(rpx_spawn_res), proc_spawn, RPX_PROC_MUTATING},
    [RPX_PROC_LIST] = {"LIST", (xdrproc_t)xdr_rpx_list_args, sizeof(rpx_list_args),
        (xdrproc_t)xdr_rpx_list_res, sizeof(rpx_list_res), proc_list, 0},
    [RPX_PROC_INFO] = {"INFO", (xdrproc_t)xdr_rpx_job_id, sizeof(rpx_job_id),
        (xdrproc_t)xdr_rpx_info_res, sizeof(rpx_info_res), proc_info, 0},
    [RPX_PROC_KILL] = {"KILL", (xdrproc_t)xdr_rpx_kill_args, sizeof(rpx_kill_args),
        (xdrproc_t)xdr_rpx_kill_res, sizeof(rpx_kill_res), proc_kill, RPX_PROC_MUTATING},
    [RPX_PROC_WAIT] = {"WAIT", (xdrproc_t)xdr_rpx_wait_args, sizeof(rpx_wait_args),
        (xdrproc_t)xdr_rpx_wait_res, sizeof(rpx_wait_res), proc_wait, 0},
    [RPX_PROC_OUTPUT] = {"OUTPUT", (xdrproc_t)xdr_rpx_output_args, sizeof(rpx_output_args),
        (xdrproc_t)xdr_rpx_output_res, sizeof(rpx_output_res), proc_output_entry, 0},
    [RPX_PROC_STATS] = {"STATS", NULL, 0, (xdrproc_t)xdr_rpx_stats_res, sizeof(rpx_stats_res),
        proc_stats, 0},
};

static struct rpx_program proc_program = {
    .prog = RPX_PROC_PROG,
    .vers = RPX_PROC_VERS,
    .name = "proc",
    .procs = proc_procs,
    .nprocs = sizeof(proc_procs) / sizeof(proc_procs[0]),
};

const struct rpx_program *rpx_svc_proc_init(struct rpx_jobs *jobs, bool insecure,
    struct rpx_server *srv, struct rpx_drc *drc)
{
	svc.jobs = jobs;
	svc.insecure = insecure;
	svc.srv = srv;
	svc.drc = drc;
	proc_program.ctx = &svc;
	proc_program.authorize = authorize;
	return &proc_program;
}

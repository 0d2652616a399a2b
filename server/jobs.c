/*
 * jobs.c: the job table and everything that happens to a job after SPAWN:
 * its output arriving on pipes, its stdin being fed, its end (its pidfd
 * becomes readable, then wait4 on that exact child), the calls parked on
 * it, and the retention of its exit record.
 *
 * rpxd is a child subreaper: processes orphaned inside a job's tree are
 * re-parented to rpxd and reaped here, so none stays a zombie. A job's own
 * exit is collected with wait4 on its pid, which cannot have been reused
 * because rpxd has not reaped it yet.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "dispatch.h"
#include "drc.h"
#include "jobs.h"
#include "jobs_fifo.h"
#include "jobs_store.h"
#include "log.h"
#include "procfs.h"
#include "spawn.h"
#include "xdr_evbuf.h"

#define HASH_BUCKETS 4096
#define PIPE_READ_CHUNK 65536
#define PIPE_READS_PER_EVENT 16
#define ID_RESERVE 1024
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

struct rpx_waiter {
	struct rpx_call *call;
	struct rpx_jobs *jobs;
	struct event *timer;
	bool keep;
	unsigned n;
	struct rpx_waitlink links[];
};

struct rpx_follower {
	TAILQ_ENTRY(rpx_follower) link;
	struct rpx_call *call;
	struct rpx_job *job;
	struct rpx_jobs *jobs;
	struct event *timer;
};

struct rpx_jobs {
	struct event_base *base;
	struct rpx_jobs_config cfg;
	char *jobs_dir; /* STATE_DIR/jobs: output rings (and records of older rpxd) */
	struct rpx_jobfifos fifos; /* the jobs' stdout/stderr FIFOs */
	struct event *prepare; /* makes the next job's FIFOs once a SPAWN has answered */
	struct rpx_jobstore store; /* STATE_DIR/jobs.log: the job records */
	int devnull; /* /dev/null, read-write: the streams a job does not get from rpxd */
	uint64_t next_id;
	unsigned running;
	unsigned nended;
	uint64_t orphans_reaped;
	uint64_t id_reserved; /* ids below it may have been handed out: never reuse them */
	unsigned restored_running, restored_ended;
	char boot_id[64];
	struct rpx_job *by_id[HASH_BUCKETS];
	struct rpx_job *by_pid[HASH_BUCKETS];
	TAILQ_HEAD(, rpx_job) all;
	TAILQ_HEAD(, rpx_job) ended;
	struct rpx_reaped reaped[RPX_REAPED_MAX]; /* a ring, oldest at reaped_head */
	unsigned reaped_head, nreaped;
	struct event *sigchld;
	struct event *sweep;
};

static void wake_followers(struct rpx_jobs *jobs, struct rpx_job *job);
static bool reap(struct rpx_job *job);

/* Hash chains. */

static void hash_add(struct rpx_job **table, struct rpx_job *job, uint64_t key, bool by_pid)
{
	struct rpx_job **head = &table[key % HASH_BUCKETS];

	if (by_pid)
		job->pid_next = *head;
	else
		job->id_next = *head;
	*head = job;
}

static void hash_del(struct rpx_job **table, struct rpx_job *job, uint64_t key, bool by_pid)
{
	struct rpx_job **p = &table[key % HASH_BUCKETS];

	while (*p != NULL && *p != job)
		p = by_pid ? &(*p)->pid_next : &(*p)->id_next;
	if (*p != NULL)
		*p = by_pid ? job->pid_next : job->id_next;
}

struct rpx_job *rpx_jobs_find(struct rpx_jobs *jobs, uint64_t id)
{
	struct rpx_job *job = jobs->by_id[id % HASH_BUCKETS];

	while (job != NULL && job->id != id)
		job = job->id_next;
	return job;
}

static struct rpx_job *find_pid(struct rpx_jobs *jobs, pid_t pid)
{
	struct rpx_job *job = jobs->by_pid[(uint64_t)pid % HASH_BUCKETS];

	while (job != NULL && job->pid != pid)
		job = job->pid_next;
	return job;
}

struct rpx_job *rpx_jobs_next(struct rpx_jobs *jobs, uint64_t after)
{
	struct rpx_job *job = after != 0 ? rpx_jobs_find(jobs, after) : NULL;

	if (job != NULL)
		return TAILQ_NEXT(job, link);
	TAILQ_FOREACH(job, &jobs->all, link) {
		if (job->id > after)
			return job;
	}
	return NULL;
}

unsigned rpx_jobs_running(const struct rpx_jobs *jobs)
{
	return jobs->running;
}

uint64_t rpx_jobs_started(const struct rpx_jobs *jobs)
{
	return jobs->next_id - 1;
}

uint64_t rpx_jobs_orphans_reaped(const struct rpx_jobs *jobs)
{
	return jobs->orphans_reaped;
}

static uint64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	int64_t ns = (int64_t)(b->tv_sec - a->tv_sec) * 1000000000 + (b->tv_nsec - a->tv_nsec);

	return ns > 0 ? (uint64_t)ns : 0;
}

/* Output. */

static void log_path(struct rpx_jobs *jobs, uint64_t id, const char *stream, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%llu.%s", jobs->jobs_dir, (unsigned long long)id, stream);
}

/* A job's FIFO; an older rpxd kept them in STATE_DIR/jobs. */
static void job_fifo_path(struct rpx_jobs *jobs, const struct rpx_job *job,
    enum rpx_jobfifo_stream stream, char *buf, size_t len)
{
	if (job->legacy_fifos)
		snprintf(buf, len, "%s/%llu.%s.fifo", jobs->jobs_dir, (unsigned long long)job->id,
		    stream == RPX_JOBFIFO_OUT ? "out" : "err");
	else
		rpx_jobfifos_path(&jobs->fifos, job->id, stream, buf, len);
}

/* Writes @len bytes to @path through a temporary file and rename(2). */
static int write_file_atomic(const char *path, const void *data, size_t len, bool sync)
{
	char tmp[4200];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || (sync && fdatasync(fd) < 0))
		err = errno != 0 ? -errno : -EIO;
	close(fd);
	if (err == 0 && rename(tmp, path) < 0)
		err = -errno;
	if (err < 0)
		unlink(tmp);
	return err;
}

/* Appends the job's record (rpx_job_record in idl/proc.x) to @store. */
static int job_store(struct rpx_jobs *jobs, struct rpx_job *job, struct rpx_jobstore *store)
{
	rpx_job_record rec;
	struct evbuffer *eb = evbuffer_new();
	struct rpx_xdrenc enc;
	u_int argc = 0;
	int err = -ENOMEM;

	if (eb == NULL)
		goto out;
	while (job->argv[argc] != NULL)
		argc++;
	memset(&rec, 0, sizeof(rec));
	rec.format = 1;
	rec.job = job->id;
	rec.pid = job->pid;
	rec.proc_start = job->proc_start;
	rec.boot_id = jobs->boot_id;
	rec.owner = job->owner;
	rec.uid = job->uid;
	rec.user = job->user;
	rec.name = job->name;
	rec.argv.argv_len = argc;
	rec.argv.argv_val = job->argv;
	rec.cwd = job->cwd;
	rec.labels.labels_len = job->nlabels;
	rec.labels.labels_val = job->labels;
	rec.start_sec = job->start_real.tv_sec;
	rec.start_nsec = (unsigned)job->start_real.tv_nsec;
	rec.out_captured = rpx_joblog_captured(&job->out);
	rec.err_captured = rpx_joblog_captured(&job->err);
	rec.ended = job->ended;
	rec.exit = job->exit;
	rec.out_total = job->out.total;
	rec.err_total = job->err.total;
	rpx_xdrenc_create(&enc, eb);
	if (!xdr_rpx_job_record(&enc.xdr, &rec)) {
		rpx_xdrenc_finish(&enc);
		err = -EMSGSIZE;
		goto out;
	}
	rpx_xdrenc_finish(&enc);
	err = rpx_jobstore_save(store, job->id, evbuffer_pullup(eb, -1), evbuffer_get_length(eb));
out:
	if (eb != NULL)
		evbuffer_free(eb);
	return err;
}

static void job_save(struct rpx_jobs *jobs, struct rpx_job *job)
{
	int err = job_store(jobs, job, &jobs->store);

	if (err < 0) {
		errno = -err;
		log_warn("job %llu: record in %s", (unsigned long long)job->id,
		    rpx_jobstore_path(&jobs->store));
	}
}

static void store_all(struct rpx_jobstore *tmp, void *arg)
{
	struct rpx_jobs *jobs = arg;
	struct rpx_job *job;

	TAILQ_FOREACH(job, &jobs->all, link)
		job_store(jobs, job, tmp);
}

/* The job's record was collected: forgotten on disk too. */
static void job_forget(struct rpx_jobs *jobs, struct rpx_job *job)
{
	int err;

	if ((err = rpx_jobstore_forget(&jobs->store, job->id)) < 0) {
		errno = -err;
		log_warn("job %llu: record in %s", (unsigned long long)job->id,
		    rpx_jobstore_path(&jobs->store));
	}
	if (rpx_jobstore_wants_rewrite(&jobs->store, jobs->running + jobs->nended) &&
	    (err = rpx_jobstore_rewrite(&jobs->store, store_all, jobs)) < 0) {
		errno = -err;
		log_warn("%s: rewrite", rpx_jobstore_path(&jobs->store));
	}
}

/* Job ids are never reused, across restarts too: ids are handed out from a
 * reserved block whose end is on disk before the first id of it is used. */
static int reserve_ids(struct rpx_jobs *jobs)
{
	char path[4096], text[32];
	int n;

	snprintf(path, sizeof(path), "%s/next-job-id", jobs->cfg.state_dir);
	n = snprintf(text, sizeof(text), "%llu\n",
	    (unsigned long long)(jobs->next_id + ID_RESERVE));
	if (write_file_atomic(path, text, (size_t)n, true) < 0)
		return -errno;
	jobs->id_reserved = jobs->next_id + ID_RESERVE;
	return 0;
}

/* Reads what the pipe holds; closes it at EOF. Returns true on news. */
static bool drain_pipe(struct rpx_jobs *jobs, struct rpx_job *job, bool is_err)
{
	static char buf[PIPE_READ_CHUNK];
	int *fd = is_err ? &job->err_pipe : &job->out_pipe;
	struct event **ev = is_err ? &job->err_ev : &job->out_ev;
	struct rpx_joblog *log = is_err ? &job->err : &job->out;
	bool news = false;

	for (int i = 0; i < PIPE_READS_PER_EVENT && *fd >= 0; i++) {
		ssize_t n = read(*fd, buf, sizeof(buf));

		if (n > 0) {
			if (rpx_joblog_append(log, buf, (size_t)n) < 0)
				log_warn("job %llu: output log", (unsigned long long)job->id);
			news = true;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		/* EOF, or an error that ends the stream all the same. */
		event_free(*ev);
		*ev = NULL;
		close(*fd);
		*fd = -1;
		log->eof = true;
		news = true;
	}
	return news;
}

static void out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_job *job = arg;

	if (drain_pipe(job->jobs, job, false))
		wake_followers(job->jobs, job);
}

static void err_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_job *job = arg;

	if (drain_pipe(job->jobs, job, true))
		wake_followers(job->jobs, job);
}

/* Reads a job's output stream from @fd (the read end of its FIFO) as it comes. */
static void watch_stream(struct rpx_jobs *jobs, struct rpx_job *job, bool is_err, int fd)
{
	int *pfd = is_err ? &job->err_pipe : &job->out_pipe;
	struct event **ev = is_err ? &job->err_ev : &job->out_ev;

	*pfd = fd;
	*ev = event_new(jobs->base, fd, EV_READ | EV_PERSIST, is_err ? err_cb : out_cb, job);
	if (*ev == NULL || event_add(*ev, NULL) < 0)
		log_warnx("job %llu: output not watched: out of memory",
		    (unsigned long long)job->id);
}

static void close_stdin(struct rpx_job *job)
{
	if (job->in_ev != NULL)
		event_free(job->in_ev);
	if (job->in_pipe >= 0)
		close(job->in_pipe);
	if (job->in_buf != NULL)
		evbuffer_free(job->in_buf);
	job->in_ev = NULL;
	job->in_pipe = -1;
	job->in_buf = NULL;
}

static void stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_job *job = arg;

	/* EPIPE when the job closed its stdin or ended: the rest is not wanted. */
	if (evbuffer_write(job->in_buf, fd) < 0 && errno != EAGAIN && errno != EINTR) {
		close_stdin(job);
		return;
	}
	if (evbuffer_get_length(job->in_buf) == 0)
		close_stdin(job);
}

/* The bytes of output one reply on @call's transport may carry. */
static size_t reply_budget(const struct rpx_call *call)
{
	/* A datagram reply must fit 64 KiB with its headers. */
	return strcmp(call->xprt->kind, "udp") == 0 ? 48 * 1024 : 2 * RPX_CHUNK_MAX;
}

bool rpx_jobs_output(struct rpx_jobs *jobs, struct rpx_job *job, const struct rpx_call *call,
    const rpx_output_args *a, rpx_output_res *res)
{
	size_t budget = reply_budget(call);
	unsigned streams = (a->streams & 3) != 0 ? (a->streams & 3) : 3;
	size_t max =
	    a->max_bytes == 0 || a->max_bytes > RPX_CHUNK_MAX ? RPX_CHUNK_MAX : a->max_bytes;
	bool news = false, all_eof = true;

	if (streams == 3)
		budget /= 2;
	if (max > budget)
		max = budget;
	memset(res, 0, sizeof(*res));
	res->status.message = strdup("");
	res->out.offset = a->stdout_offset;
	res->err.offset = a->stderr_offset;
	for (int i = 0; i < 2; i++) {
		const struct rpx_joblog *log = i == 0 ? &job->out : &job->err;
		rpx_chunk *c = i == 0 ? &res->out : &res->err;
		uint64_t from, dropped;
		ssize_t n;
		char *data;

		if (!(streams & (1u << i)))
			continue;
		if ((data = malloc(max > 0 ? max : 1)) == NULL) {
			res->status.error = ENOMEM;
			return true;
		}
		n = rpx_joblog_read(log, c->offset, data, max, &from, &dropped);
		if (n < 0) {
			free(data);
			res->status.error = (int)-n;
			return true;
		}
		c->offset = from;
		c->dropped = dropped;
		c->data.data_val = data;
		c->data.data_len = (u_int)n;
		c->eof = log->eof && from + (uint64_t)n == log->total;
		if (n > 0 || dropped > 0)
			news = true;
		if (!c->eof)
			all_eof = false;
	}
	res->ended = job->ended;
	return news || all_eof || job->ended;
}

/* Parked calls: WAIT. */

static void waiter_free(struct rpx_waiter *w)
{
	for (unsigned i = 0; i < w->n; i++) {
		if (w->links[i].job != NULL)
			TAILQ_REMOVE(&w->links[i].job->waiters, &w->links[i], link);
	}
	if (w->timer != NULL)
		event_free(w->timer);
	free(w);
}

static void set_status(rpx_status *st, int err, const char *fmt, ...)
{
	va_list ap;

	st->error = err;
	va_start(ap, fmt);
	if (vasprintf(&st->message, fmt, ap) < 0)
		st->message = NULL;
	va_end(ap);
}

static void exit_result(uint64_t id, const rpx_exit *exit, rpx_wait_res *res)
{
	memset(res, 0, sizeof(*res));
	set_status(&res->status, 0, "%s", "");
	res->job = id;
	res->exit = *exit;
}

void rpx_jobs_exit_result(const struct rpx_job *job, rpx_wait_res *res)
{
	exit_result(job->id, &job->exit, res);
}

void rpx_jobs_reaped_result(const struct rpx_reaped *reaped, rpx_wait_res *res)
{
	exit_result(reaped->id, &reaped->exit, res);
}

static void waiter_answer(struct rpx_waiter *w, const struct rpx_job *job)
{
	rpx_wait_res res;

	if (job != NULL) {
		rpx_jobs_exit_result(job, &res);
	} else {
		memset(&res, 0, sizeof(res));
		set_status(&res.status, ETIMEDOUT, "no job ended within the timeout");
	}
	rpx_call_set_cancel(w->call, NULL, NULL);
	rpx_call_reply(w->call, &res);
	xdr_free((xdrproc_t)xdr_rpx_wait_res, (char *)&res);
	waiter_free(w);
}

static void waiter_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	waiter_answer(arg, NULL);
}

static void waiter_cancel(struct rpx_call *call, void *arg)
{
	waiter_free(arg);
}

/* A parked call's timer: none (*ev NULL) for @ms -1, else armed to fire in @ms. */
static int park_timer(struct rpx_jobs *jobs, int ms, event_callback_fn cb, void *arg,
    struct event **ev)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	*ev = NULL;
	if (ms < 0)
		return 0;
	if ((*ev = evtimer_new(jobs->base, cb, arg)) == NULL)
		return -ENOMEM;
	evtimer_add(*ev, &tv);
	return 0;
}

int rpx_jobs_wait(struct rpx_jobs *jobs, struct rpx_call *call, struct rpx_job **list, unsigned n,
    int timeout_ms, bool keep)
{
	struct rpx_waiter *w = calloc(1, sizeof(*w) + n * sizeof(w->links[0]));

	if (w == NULL)
		return -ENOMEM;
	w->call = call;
	w->jobs = jobs;
	w->keep = keep;
	w->n = n;
	if (park_timer(jobs, timeout_ms, waiter_timeout_cb, w, &w->timer) < 0) {
		free(w);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		w->links[i].job = list[i];
		w->links[i].waiter = w;
		TAILQ_INSERT_TAIL(&list[i]->waiters, &w->links[i], link);
	}
	rpx_call_set_cancel(call, waiter_cancel, w);
	return 0;
}

/* Parked calls: OUTPUT follow. */

static void follower_free(struct rpx_follower *f)
{
	TAILQ_REMOVE(&f->job->followers, f, link);
	if (f->timer != NULL)
		event_free(f->timer);
	free(f);
}

static void follower_reply(struct rpx_follower *f, rpx_output_res *res)
{
	rpx_call_set_cancel(f->call, NULL, NULL);
	rpx_call_reply(f->call, res);
	xdr_free((xdrproc_t)xdr_rpx_output_res, (char *)res);
	follower_free(f);
}

static void follower_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_follower *f = arg;
	rpx_output_res res;

	rpx_jobs_output(f->jobs, f->job, f->call, f->call->args, &res);
	follower_reply(f, &res);
}

static void follower_cancel(struct rpx_call *call, void *arg)
{
	follower_free(arg);
}

static void wake_followers(struct rpx_jobs *jobs, struct rpx_job *job)
{
	struct rpx_follower *f, *next;

	for (f = TAILQ_FIRST(&job->followers); f != NULL; f = next) {
		rpx_output_res res;

		next = TAILQ_NEXT(f, link);
		if (rpx_jobs_output(jobs, job, f->call, f->call->args, &res))
			follower_reply(f, &res);
		else
			xdr_free((xdrproc_t)xdr_rpx_output_res, (char *)&res);
	}
}

int rpx_jobs_follow(struct rpx_jobs *jobs, struct rpx_call *call, struct rpx_job *job,
    int timeout_ms)
{
	struct rpx_follower *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -ENOMEM;
	f->call = call;
	f->job = job;
	f->jobs = jobs;
	if (park_timer(jobs, timeout_ms, follower_timeout_cb, f, &f->timer) < 0) {
		free(f);
		return -ENOMEM;
	}
	TAILQ_INSERT_TAIL(&job->followers, f, link);
	rpx_call_set_cancel(call, follower_cancel, f);
	return 0;
}

/* The end of a job. */

/*
 * An ended job's FIFOs have done their work (what a job left in them is
 * still read through the descriptors rpxd holds): only a running job's are
 * needed again, by the next rpxd.
 */
static void unlink_fifos(struct rpx_jobs *jobs, const struct rpx_job *job)
{
	char path[4096];

	for (int i = 0; i < 2; i++) {
		enum rpx_jobfifo_stream stream = i == 0 ? RPX_JOBFIFO_OUT : RPX_JOBFIFO_ERR;
		const struct rpx_joblog *log = i == 0 ? &job->out : &job->err;

		if (!rpx_joblog_captured(log))
			continue;
		if (job->legacy_fifos) {
			job_fifo_path(jobs, job, stream, path, sizeof(path));
			unlink(path);
		} else {
			/*
			 * Read to its end by this rpxd: no process holds it any
			 * more, so the next job may have it.
			 */
			bool drained = !job->adopted && log->eof &&
			               (i == 0 ? job->out_pipe : job->err_pipe) < 0;

			rpx_jobfifos_release(&jobs->fifos, job->id, stream, drained);
		}
	}
}

/* Frees what a job holds in memory (not its descriptors or events). */
static void job_free(struct rpx_job *job)
{
	for (char **a = job->argv; a != NULL && *a != NULL; a++)
		free(*a);
	free(job->argv);
	for (unsigned i = 0; i < job->nlabels; i++) {
		free(job->labels[i].key);
		free(job->labels[i].value);
	}
	free(job->labels);
	free(job->name);
	free(job->cwd);
	free(job->user);
	free(job);
}

/*
 * Frees a job's memory and descriptors. With @forget its files go too (its
 * record was collected); without, they stay for the next rpxd (shutdown).
 */
static void job_release(struct rpx_jobs *jobs, struct rpx_job *job, bool forget)
{
	struct rpx_follower *f;

	/* Followers get the last word. */
	while ((f = TAILQ_FIRST(&job->followers)) != NULL) {
		rpx_output_res res;

		rpx_jobs_output(jobs, job, f->call, f->call->args, &res);
		res.ended = job->ended;
		follower_reply(f, &res);
	}
	TAILQ_REMOVE(&jobs->all, job, link);
	if (job->ended) {
		TAILQ_REMOVE(&jobs->ended, job, ended_link);
		jobs->nended--;
	} else {
		jobs->running--;
		hash_del(jobs->by_pid, job, (uint64_t)job->pid, true);
		if (job->pidfd >= 0)
			close(job->pidfd);
	}
	hash_del(jobs->by_id, job, job->id, false);
	for (int i = 0; i < 2; i++) {
		int *fd = i == 0 ? &job->out_pipe : &job->err_pipe;
		struct event **ev = i == 0 ? &job->out_ev : &job->err_ev;
		struct rpx_joblog *log = i == 0 ? &job->out : &job->err;

		if (*ev != NULL)
			event_free(*ev);
		if (*fd >= 0)
			close(*fd);
		if (rpx_joblog_captured(log)) {
			/* Never created if the job printed nothing. */
			if (forget)
				rpx_joblog_remove(log);
			rpx_joblog_close(log);
		}
	}
	close_stdin(job);
	if (job->pidfd_ev != NULL)
		event_free(job->pidfd_ev);
	if (forget)
		job_forget(jobs, job);
	job_free(job);
}

void rpx_jobs_drop(struct rpx_jobs *jobs, struct rpx_job *job)
{
	if (job != NULL && job->ended)
		job_release(jobs, job, true);
}

void rpx_jobs_collect(struct rpx_jobs *jobs, struct rpx_job *job)
{
	struct rpx_reaped *r;

	if (job == NULL || !job->ended)
		return;
	if (jobs->nreaped == RPX_REAPED_MAX) {
		/* Full: the oldest answer makes room. */
		jobs->reaped_head = (jobs->reaped_head + 1) % RPX_REAPED_MAX;
		jobs->nreaped--;
	}
	r = &jobs->reaped[(jobs->reaped_head + jobs->nreaped) % RPX_REAPED_MAX];
	jobs->nreaped++;
	r->id = job->id;
	r->owner = job->owner;
	r->exit = job->exit;
	clock_gettime(CLOCK_MONOTONIC, &r->when);
	job_release(jobs, job, true);
}

const struct rpx_reaped *rpx_jobs_reaped(struct rpx_jobs *jobs, uint64_t id)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Expired answers are the oldest: forget them first. */
	while (jobs->nreaped > 0 &&
	       ns_between(&jobs->reaped[jobs->reaped_head].when, &now) / 1000000000 >=
	           RPX_REAPED_SECONDS) {
		jobs->reaped_head = (jobs->reaped_head + 1) % RPX_REAPED_MAX;
		jobs->nreaped--;
	}
	for (unsigned i = 0; i < jobs->nreaped; i++) {
		const struct rpx_reaped *r =
		    &jobs->reaped[(jobs->reaped_head + i) % RPX_REAPED_MAX];

		if (r->id == id)
			return r;
	}
	return NULL;
}

static void job_ended(struct rpx_jobs *jobs, struct rpx_job *job, int status,
    const struct rusage *ru)
{
	struct rpx_waitlink *l;
	bool drop = false;

	clock_gettime(CLOCK_MONOTONIC, &job->end_mono);
	job->ended = true;
	if (ru == NULL) {
		job->exit.how = RPX_EXIT_UNKNOWN;
	} else if (WIFEXITED(status)) {
		job->exit.how = RPX_EXIT_EXITED;
		job->exit.code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		job->exit.how = RPX_EXIT_SIGNALED;
		job->exit.signal = WTERMSIG(status);
		job->exit.core = WCOREDUMP(status) != 0;
	} else {
		job->exit.how = RPX_EXIT_UNKNOWN;
	}
	if (ru != NULL) {
		job->exit.utime_us =
		    (uint64_t)ru->ru_utime.tv_sec * 1000000 + (uint64_t)ru->ru_utime.tv_usec;
		job->exit.stime_us =
		    (uint64_t)ru->ru_stime.tv_sec * 1000000 + (uint64_t)ru->ru_stime.tv_usec;
		job->exit.maxrss_kb = (uint64_t)ru->ru_maxrss;
	}
	if (job->pidfd_ev != NULL) {
		event_free(job->pidfd_ev);
		job->pidfd_ev = NULL;
	}
	job->exit.runtime_ns = ns_between(&job->start_mono, &job->end_mono);
	hash_del(jobs->by_pid, job, (uint64_t)job->pid, true);
	if (job->pidfd >= 0)
		close(job->pidfd);
	job->pidfd = -1;
	jobs->running--;
	TAILQ_INSERT_TAIL(&jobs->ended, job, ended_link);
	jobs->nended++;
	log_debug("job %llu (pid %d) ended: %s %d", (unsigned long long)job->id, job->pid,
	    job->exit.how == RPX_EXIT_EXITED ? "exit" : "signal",
	    job->exit.how == RPX_EXIT_EXITED ? job->exit.code : job->exit.signal);

	/* What the job wrote before it ended is in the pipes: take it now, so
	 * that a reader told "ended" has seen all of it. */
	drain_pipe(jobs, job, false);
	drain_pipe(jobs, job, true);
	/* A waiter that collects the record makes saving it moot: it is deleted next. */
	TAILQ_FOREACH(l, &job->waiters, link) {
		if (!l->waiter->keep)
			drop = true;
	}
	if (!drop)
		job_save(jobs, job);
	while ((l = TAILQ_FIRST(&job->waiters)) != NULL) {
		if (!l->waiter->keep)
			drop = true;
		waiter_answer(l->waiter, job);
	}
	wake_followers(jobs, job);
	/* After the answers: nobody waits for this. */
	unlink_fifos(jobs, job);
	if (drop)
		rpx_jobs_collect(jobs, job);
	while (jobs->nended > jobs->cfg.retain_jobs)
		rpx_jobs_drop(jobs, TAILQ_FIRST(&jobs->ended));
}

/* SIGCHLD: collect every child that ended: the orphans re-parented to rpxd. */
static void sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct rpx_jobs *jobs = arg;

	for (;;) {
		siginfo_t si;
		struct rusage ru;
		int status;
		pid_t pid;

		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
			break;
		pid = si.si_pid;
		memset(&ru, 0, sizeof(ru));
		if (wait4(pid, &status, WNOHANG, &ru) <= 0)
			break;
		struct rpx_job *job = find_pid(jobs, pid);

		if (job != NULL)
			job_ended(jobs, job, status, &ru);
		else
			jobs->orphans_reaped++;
	}
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_jobs *jobs = arg;
	struct timespec now;
	struct rpx_job *job;

	/* A job whose pidfd could not be watched (out of memory) is polled. */
	for (job = TAILQ_FIRST(&jobs->all); job != NULL;) {
		/* (Its end may drop other records: start over.) */
		if (!job->ended && job->pidfd_ev == NULL && reap(job))
			job = TAILQ_FIRST(&jobs->all);
		else
			job = TAILQ_NEXT(job, link);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	while ((job = TAILQ_FIRST(&jobs->ended)) != NULL &&
	       ns_between(&job->end_mono, &now) / 1000000000 >= jobs->cfg.retain_seconds)
		rpx_jobs_drop(jobs, job);
}

void rpx_jobs_signal_all(struct rpx_jobs *jobs, int sig)
{
	struct rpx_job *job;

	TAILQ_FOREACH(job, &jobs->all, link) {
		if (!job->ended)
			kill(-job->pid, sig);
	}
}

/* SPAWN. */

static char *strdup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

struct spawn_work {
	struct rpx_spawn_req req;
	char **argv;
	char **envp;
	size_t nenv;
	char **candidates;
	int child_fds[3];
	int parent_in, parent_out, parent_err;
	char home[4096], user_env[300], logname_env[300];
};

static void free_strv(char **v)
{
	for (char **p = v; p != NULL && *p != NULL; p++)
		free(*p);
	free(v);
}

static int env_find(char **envp, size_t n, const char *name, size_t namelen)
{
	for (size_t i = 0; i < n; i++) {
		if (strncmp(envp[i], name, namelen) == 0 && envp[i][namelen] == '=')
			return (int)i;
	}
	return -1;
}

static int env_put(struct spawn_work *w, const char *entry)
{
	size_t namelen = strcspn(entry, "=");
	int i = env_find(w->envp, w->nenv, entry, namelen);
	char *copy = strdup(entry);

	if (copy == NULL)
		return -ENOMEM;
	if (i >= 0) {
		free(w->envp[i]);
		w->envp[i] = copy;
		return 0;
	}
	char **grown = realloc(w->envp, (w->nenv + 2) * sizeof(char *));

	if (grown == NULL) {
		free(copy);
		return -ENOMEM;
	}
	w->envp = grown;
	w->envp[w->nenv++] = copy;
	w->envp[w->nenv] = NULL;
	return 0;
}

static void env_unset(struct spawn_work *w, const char *name)
{
	int i = env_find(w->envp, w->nenv, name, strlen(name));

	if (i < 0)
		return;
	free(w->envp[i]);
	w->envp[i] = w->envp[--w->nenv];
	w->envp[w->nenv] = NULL;
}

static int build_env(struct spawn_work *w, const rpx_spawn_args *a, const struct passwd *pw,
    char *msg, size_t msglen)
{
	int err;

	w->envp = calloc(1, sizeof(char *));
	if (w->envp == NULL)
		return -ENOMEM;
	if (a->env_mode == RPX_ENV_INHERIT) {
		for (char **e = environ; *e != NULL; e++) {
			if ((err = env_put(w, *e)) < 0)
				return err;
		}
		if (pw != NULL) {
			snprintf(w->home, sizeof(w->home), "HOME=%s", pw->pw_dir);
			snprintf(w->user_env, sizeof(w->user_env), "USER=%s", pw->pw_name);
			snprintf(w->logname_env, sizeof(w->logname_env), "LOGNAME=%s", pw->pw_name);
			if ((err = env_put(w, w->home)) < 0 ||
			    (err = env_put(w, w->user_env)) < 0 ||
			    (err = env_put(w, w->logname_env)) < 0)
				return err;
		}
	} else if (a->env_mode != RPX_ENV_CLEAR) {
		snprintf(msg, msglen, "env_mode %d: expected 0 (inherit) or 1 (clear)",
		    a->env_mode);
		return -EINVAL;
	}
	for (u_int i = 0; i < a->env_unset.env_unset_len; i++) {
		const char *name = a->env_unset.env_unset_val[i];

		if (name[0] == '\0' || strchr(name, '=') != NULL) {
			snprintf(msg, msglen, "env unset entry %u: expected a NAME without '='", i);
			return -EINVAL;
		}
		env_unset(w, name);
	}
	for (u_int i = 0; i < a->env_set.env_set_len; i++) {
		const char *entry = a->env_set.env_set_val[i];

		if (entry[0] == '=' || strchr(entry, '=') == NULL) {
			snprintf(msg, msglen, "env entry %u: expected NAME=VALUE", i);
			return -EINVAL;
		}
		if ((err = env_put(w, entry)) < 0)
			return err;
	}
	return 0;
}

/* execvp's PATH search, done before clone so the child only calls execve. */
static int build_candidates(struct spawn_work *w, const char *prog)
{
	const char *path;
	size_t n = 0, cap = 8;
	int i;

	if ((w->candidates = calloc(cap, sizeof(char *))) == NULL)
		return -ENOMEM;
	if (strchr(prog, '/') != NULL) {
		return (w->candidates[0] = strdup(prog)) == NULL ? -ENOMEM : 0;
	}
	i = env_find(w->envp, w->nenv, "PATH", 4);
	path = i >= 0 ? w->envp[i] + 5 : DEFAULT_PATH;
	while (*path != '\0' || n == 0) {
		size_t len = strcspn(path, ":");
		char *c;

		if (n + 2 > cap) {
			char **grown = realloc(w->candidates, (cap *= 2) * sizeof(char *));

			if (grown == NULL)
				return -ENOMEM;
			w->candidates = grown;
		}
		if (asprintf(&c, "%.*s/%s", (int)(len > 0 ? len : 1), len > 0 ? path : ".", prog) <
		    0)
			return -ENOMEM;
		w->candidates[n++] = c;
		w->candidates[n] = NULL;
		path += len;
		if (*path == ':')
			path++;
		if (*path == '\0')
			break;
	}
	return 0;
}

/*
 * The job's stdout and stderr are FIFOs in the runtime directory, not
 * anonymous pipes: the job holds its end open for reading and writing, so
 * if rpxd dies the job's writes block (when the FIFO is full) instead of
 * raising SIGPIPE, and a restarted rpxd opens the FIFO again and goes on
 * reading.
 */
static int open_stdio(struct spawn_work *w, struct rpx_jobs *jobs, uint64_t id,
    const rpx_spawn_args *a, char *msg, size_t msglen)
{
	int p[2], err;

	for (int i = 0; i < 3; i++)
		w->child_fds[i] = -1;
	w->parent_in = w->parent_out = w->parent_err = -1;
	if (a->stdin_data.stdin_data_len > 0) {
		if (pipe2(p, O_CLOEXEC) < 0)
			goto fail;
		w->child_fds[0] = p[0];
		w->parent_in = p[1];
		fcntl(p[1], F_SETFL, O_NONBLOCK);
	}
	for (int i = 1; i <= 2; i++) {
		rpx_stdio_mode mode = i == 1 ? a->stdout_mode : a->stderr_mode;
		int *parent = i == 1 ? &w->parent_out : &w->parent_err;

		if (mode == RPX_STDIO_DISCARD)
			continue; /* /dev/null */
		if (mode != RPX_STDIO_CAPTURE) {
			snprintf(msg, msglen, "stdio mode %d: expected 0 (capture) or 1 (discard)",
			    mode);
			return -EINVAL;
		}
		if ((err = rpx_jobfifos_open(&jobs->fifos, id,
		         i == 1 ? RPX_JOBFIFO_OUT : RPX_JOBFIFO_ERR, parent, &w->child_fds[i])) <
		    0) {
			snprintf(msg, msglen, "job's %s FIFO in %s: %s%s",
			    i == 1 ? "stdout" : "stderr", jobs->fifos.dir, strerror(-err),
			    err == -EPERM ? " (the folder must be rpxd's user's, mode 0700)" : "");
			return err;
		}
	}
	return 0;
fail:
	snprintf(msg, msglen, "job's stdin/stdout/stderr: %s", strerror(errno));
	return -errno;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void work_release(struct spawn_work *w)
{
	free_strv(w->argv);
	free_strv(w->envp);
	free_strv(w->candidates);
	for (int i = 0; i < 3; i++)
		close_fd(&w->child_fds[i]);
	close_fd(&w->parent_in);
	close_fd(&w->parent_out);
	close_fd(&w->parent_err);
}

/* Android's oom_adj levels for each importance class. */
static const int importance_oom[] = {0, 0, 100, 500, 900, 999};

static int resolve_user(const rpx_spawn_args *a, uid_t caller_uid, struct spawn_work *w,
    struct passwd *pw, char *pwbuf, size_t pwlen, struct passwd **found, char *msg, size_t msglen)
{
	int rc;

	*found = NULL;
	/* A job of rpxd's own user: nothing to look up or switch. */
	if (a->user[0] == '\0' && caller_uid == geteuid())
		return 0;
	if (a->user[0] != '\0') {
		rc = getpwnam_r(a->user, pw, pwbuf, pwlen, found);
		if (*found == NULL) {
			snprintf(msg, msglen, "user %s: %s", a->user,
			    rc ? strerror(rc) : "no such user");
			return -ESRCH;
		}
		if (caller_uid != 0 && (*found)->pw_uid != caller_uid) {
			snprintf(msg, msglen, "only root may run a job as another user (%s)",
			    a->user);
			return -EPERM;
		}
	} else {
		rc = getpwuid_r(caller_uid, pw, pwbuf, pwlen, found);
	}
	uid_t uid = *found != NULL ? (*found)->pw_uid : caller_uid;

	if (uid == geteuid() && *found == NULL)
		return 0; /* rpxd's own user: nothing to switch */
	if (uid != geteuid() && geteuid() != 0) {
		snprintf(msg, msglen, "rpxd runs as uid %u and cannot start jobs as uid %u",
		    (unsigned)geteuid(), (unsigned)uid);
		return -EPERM;
	}
	if (uid == geteuid())
		return 0;
	if (*found == NULL) {
		/* A uid with no passwd entry: its own gid, no supplementary groups. */
		w->req.set_ids = true;
		w->req.uid = uid;
		w->req.gid = (gid_t)uid;
		w->req.ngroups = 0;
		return 0;
	}
	w->req.set_ids = true;
	w->req.uid = (*found)->pw_uid;
	w->req.gid = (*found)->pw_gid;
	w->req.ngroups = RPX_SPAWN_GROUPS_MAX;
	if (getgrouplist((*found)->pw_name, (*found)->pw_gid, w->req.groups, &w->req.ngroups) < 0)
		w->req.ngroups = RPX_SPAWN_GROUPS_MAX;
	return 0;
}

/*
 * Reaps @job if it ended: a job has no exit signal (spawn.c), so it is a
 * "clone" child that only wait4 with __WALL sees, and SIGCHLD (which reaps
 * the orphans) never collects it. True when it was reaped.
 */
static bool reap(struct rpx_job *job)
{
	struct rusage ru;
	int status;

	memset(&ru, 0, sizeof(ru));
	if (wait4(job->pid, &status, WNOHANG | __WALL, &ru) != job->pid)
		return false;
	job_ended(job->jobs, job, status, &ru);
	return true;
}

/* The job's pidfd became readable: it ended. */
static void exit_cb(evutil_socket_t fd, short what, void *arg)
{
	reap(arg);
}

int rpx_jobs_spawn(struct rpx_jobs *jobs, const rpx_spawn_args *a, uid_t owner, uid_t caller_uid,
    struct rpx_job **out, char *msg, size_t msglen)
{
	struct spawn_work w;
	struct rpx_job *job = NULL;
	struct passwd pw, *found = NULL;
	char pwbuf[4096], path[4096];
	const char *step = NULL;
	u_int argc = a->argv.argv_len;
	int err;

	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 3; i++)
		w.child_fds[i] = -1;
	w.parent_in = w.parent_out = w.parent_err = -1;
	msg[0] = '\0';

	err = -EINVAL;
	if (argc == 0) {
		snprintf(msg, msglen, "argv is empty: name a program to run");
		goto out;
	}
	if (a->shell && argc != 1) {
		snprintf(msg, msglen, "with shell, argv is one command string (got %u entries)",
		    argc);
		goto out;
	}
	if (a->cwd[0] != '\0' && a->cwd[0] != '/') {
		snprintf(msg, msglen, "cwd %s: must be an absolute path", a->cwd);
		goto out;
	}
	if ((unsigned)a->importance > RPX_IMPORTANCE_EMPTY) {
		snprintf(msg, msglen, "importance %d: expected 0 to 5", a->importance);
		goto out;
	}
	if (jobs->running >= jobs->cfg.max_jobs) {
		snprintf(msg, msglen, "%u jobs running (--max-jobs)", jobs->running);
		err = -EAGAIN;
		goto out;
	}
	if ((err = resolve_user(a, caller_uid, &w, &pw, pwbuf, sizeof(pwbuf), &found, msg,
	         msglen)) < 0)
		goto out;
	err = -ENOMEM;
	if ((w.argv = calloc(argc + 3, sizeof(char *))) == NULL)
		goto out;
	if (a->shell) {
		if ((w.argv[0] = strdup("/bin/sh")) == NULL || (w.argv[1] = strdup("-c")) == NULL ||
		    (w.argv[2] = strdup(a->argv.argv_val[0])) == NULL)
			goto out;
	} else {
		for (u_int i = 0; i < argc; i++) {
			if ((w.argv[i] = strdup(a->argv.argv_val[i])) == NULL)
				goto out;
		}
	}
	if ((err = build_env(&w, a, w.req.set_ids ? found : NULL, msg, msglen)) < 0)
		goto out;
	if ((err = build_candidates(&w, w.argv[0])) < 0)
		goto out;
	if (jobs->next_id >= jobs->id_reserved && reserve_ids(jobs) < 0) {
		err = -errno;
		snprintf(msg, msglen, "job id reservation in %s: %s", jobs->cfg.state_dir,
		    strerror(errno));
		goto out;
	}
	if ((err = open_stdio(&w, jobs, jobs->next_id, a, msg, msglen)) < 0)
		goto out;

	err = -ENOMEM;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		goto out;
	job->jobs = jobs;
	job->id = jobs->next_id;
	job->pidfd = -1;
	job->out_pipe = job->err_pipe = job->in_pipe = -1;
	TAILQ_INIT(&job->waiters);
	TAILQ_INIT(&job->followers);
	rpx_joblog_none(&job->out);
	rpx_joblog_none(&job->err);
	for (int i = 0; i < 2; i++) {
		struct rpx_joblog *log = i == 0 ? &job->out : &job->err;

		if ((i == 0 ? w.parent_out : w.parent_err) < 0)
			continue;
		log_path(jobs, job->id, i == 0 ? "out" : "err", path, sizeof(path));
		if ((err = rpx_joblog_open(log, path, jobs->cfg.output_cap)) < 0) {
			snprintf(msg, msglen, "output log %s: %s", path, strerror(-err));
			goto out;
		}
	}

	w.req.candidates = w.candidates;
	w.req.argv = w.argv;
	w.req.envp = w.envp;
	w.req.cwd = a->cwd[0] != '\0' ? a->cwd : "/";
	w.req.stdin_fd = w.child_fds[0] >= 0 ? w.child_fds[0] : jobs->devnull;
	w.req.stdout_fd = w.child_fds[1] >= 0 ? w.child_fds[1] : jobs->devnull;
	w.req.stderr_fd = w.child_fds[2] >= 0 ? w.child_fds[2] : jobs->devnull;
	if (a->importance != RPX_IMPORTANCE_DEFAULT) {
		w.req.have_oom = true;
		w.req.oom_score_adj = importance_oom[a->importance];
	}
	if (a->limits.cpu_seconds != 0) {
		w.req.set_cpu = true;
		w.req.cpu.rlim_cur = w.req.cpu.rlim_max = a->limits.cpu_seconds;
	}
	if (a->limits.address_space != 0) {
		w.req.set_as = true;
		w.req.as.rlim_cur = w.req.as.rlim_max = a->limits.address_space;
	}
	if (a->limits.open_files != 0) {
		w.req.set_nofile = true;
		w.req.nofile.rlim_cur = w.req.nofile.rlim_max = a->limits.open_files;
	}

	clock_gettime(CLOCK_REALTIME, &job->start_real);
	clock_gettime(CLOCK_MONOTONIC, &job->start_mono);
	err = rpx_spawn(&w.req, &job->pid, &job->pidfd, &step);
	if (err < 0) {
		if (strcmp(step, "exec") == 0)
			snprintf(msg, msglen, "%s: %s", w.argv[0], strerror(-err));
		else if (strcmp(step, "chdir") == 0)
			snprintf(msg, msglen, "cwd %s: %s", w.req.cwd, strerror(-err));
		else
			snprintf(msg, msglen, "%s: %s", step, strerror(-err));
		goto out;
	}
	jobs->next_id++;
	if (rpx_procfs_starttime(job->pid, &job->proc_start) < 0)
		job->proc_start = 0;

	/* The job runs: from here on nothing fails, only degrades. */
	job->owner = owner;
	job->uid = w.req.set_ids ? w.req.uid : geteuid();
	job->user = strdup_or_empty(found != NULL ? found->pw_name : "");
	job->name = strdup_or_empty(a->name);
	job->cwd = strdup(w.req.cwd);
	job->argv = w.argv;
	w.argv = NULL;
	if (a->labels.labels_len > 0 &&
	    (job->labels = calloc(a->labels.labels_len, sizeof(rpx_label))) != NULL) {
		job->nlabels = a->labels.labels_len;
		for (u_int i = 0; i < job->nlabels; i++) {
			job->labels[i].key = strdup_or_empty(a->labels.labels_val[i].key);
			job->labels[i].value = strdup_or_empty(a->labels.labels_val[i].value);
		}
	}
	if (w.parent_out >= 0) {
		watch_stream(jobs, job, false, w.parent_out);
		w.parent_out = -1;
	}
	if (w.parent_err >= 0) {
		watch_stream(jobs, job, true, w.parent_err);
		w.parent_err = -1;
	}
	if (w.parent_in >= 0) {
		job->in_pipe = w.parent_in;
		w.parent_in = -1;
		job->in_buf = evbuffer_new();
		job->in_ev =
		    event_new(jobs->base, job->in_pipe, EV_WRITE | EV_PERSIST, stdin_cb, job);
		if (job->in_buf == NULL || job->in_ev == NULL ||
		    evbuffer_add(job->in_buf, a->stdin_data.stdin_data_val,
		        a->stdin_data.stdin_data_len) < 0)
			close_stdin(job);
		else
			event_add(job->in_ev, NULL);
	}
	TAILQ_INSERT_TAIL(&jobs->all, job, link);
	hash_add(jobs->by_id, job, job->id, false);
	hash_add(jobs->by_pid, job, (uint64_t)job->pid, true);
	jobs->running++;
	/*
	 * First among the events of one loop turn (rpxd sets two priorities): at a
	 * job's end the EOFs of its FIFOs come in the same turn, and the WAIT
	 * answer need not wait for them (job_ended drains the FIFOs itself).
	 */
	if ((job->pidfd_ev = event_new(jobs->base, job->pidfd, EV_READ, exit_cb, job)) != NULL) {
		event_priority_set(job->pidfd_ev, 0);
		event_add(job->pidfd_ev, NULL);
	}
	job_save(jobs, job);
	log_debug("job %llu: pid %d: %s", (unsigned long long)job->id, job->pid, job->argv[0]);
	*out = job;
	job = NULL;
	err = 0;
out:
	if (job != NULL) {
		rpx_joblog_close(&job->out);
		rpx_joblog_close(&job->err);
		for (int i = 0; i < 2; i++) {
			log_path(jobs, job->id, i == 0 ? "out" : "err", path, sizeof(path));
			unlink(path);
		}
		free(job);
	}
	if (err < 0 && w.parent_out >= 0)
		rpx_jobfifos_remove(&jobs->fifos, jobs->next_id, RPX_JOBFIFO_OUT);
	if (err < 0 && w.parent_err >= 0)
		rpx_jobfifos_remove(&jobs->fifos, jobs->next_id, RPX_JOBFIFO_ERR);
	if (err < 0 && msg[0] == '\0')
		snprintf(msg, msglen, "%s", strerror(-err));
	work_release(&w);
	/* The next job's FIFOs, once this answer is out. */
	if (jobs->fifos.dir_made && jobs->fifos.ahead_id != jobs->next_id) {
		static const struct timeval now = {0, 0};

		evtimer_add(jobs->prepare, &now);
	}
	return err;
}

static void prepare_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_jobs *jobs = arg;

	rpx_jobfifos_prepare(&jobs->fifos, jobs->next_id);
}

unsigned rpx_jobs_restored_running(const struct rpx_jobs *jobs)
{
	return jobs->restored_running;
}

unsigned rpx_jobs_restored_ended(const struct rpx_jobs *jobs)
{
	return jobs->restored_ended;
}

/* An adopted job's pidfd became readable: it ended; its status went to its new parent. */
static void adopted_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_job *job = arg;

	job_ended(job->jobs, job, 0, NULL);
}

static char **copy_strv(char **v, u_int n)
{
	char **copy = calloc(n + 1, sizeof(char *));

	for (u_int i = 0; copy != NULL && i < n; i++) {
		if ((copy[i] = strdup(v[i])) == NULL) {
			free_strv(copy);
			return NULL;
		}
	}
	return copy;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/*
 * Rebuilds one job from its record (@len bytes at @data, from @where); NULL
 * when the record is unreadable.
 */
static struct rpx_job *restore_job(struct rpx_jobs *jobs, const void *data, size_t len,
    const char *where)
{
	rpx_job_record rec;
	struct rpx_job *job = NULL;
	XDR xdrs;
	struct timespec now_real, now_mono;

	memset(&rec, 0, sizeof(rec));
	xdrmem_create(&xdrs, (char *)data, (u_int)len, XDR_DECODE);
	if (!xdr_rpx_job_record(&xdrs, &rec) || rec.format != 1) {
		log_warnx("%s: unreadable job record, ignored", where);
		goto out;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL)
		goto out;
	job->jobs = jobs;
	job->id = rec.job;
	job->pid = rec.pid;
	job->pidfd = -1;
	job->out_pipe = job->err_pipe = job->in_pipe = -1;
	job->proc_start = rec.proc_start;
	snprintf(job->boot_id, sizeof(job->boot_id), "%s", rec.boot_id);
	job->owner = rec.owner;
	job->uid = rec.uid;
	job->user = strdup(rec.user);
	job->name = strdup(rec.name);
	job->cwd = strdup(rec.cwd);
	job->argv = copy_strv(rec.argv.argv_val, rec.argv.argv_len);
	if (rec.labels.labels_len > 0 &&
	    (job->labels = calloc(rec.labels.labels_len, sizeof(rpx_label))) != NULL) {
		job->nlabels = rec.labels.labels_len;
		for (u_int i = 0; i < job->nlabels; i++) {
			job->labels[i].key = strdup(rec.labels.labels_val[i].key);
			job->labels[i].value = strdup(rec.labels.labels_val[i].value);
		}
	}
	TAILQ_INIT(&job->waiters);
	TAILQ_INIT(&job->followers);
	job->start_real.tv_sec = rec.start_sec;
	job->start_real.tv_nsec = rec.start_nsec;
	clock_gettime(CLOCK_REALTIME, &now_real);
	clock_gettime(CLOCK_MONOTONIC, &now_mono);
	job->start_mono = now_mono;
	job->start_mono.tv_sec -= now_real.tv_sec - job->start_real.tv_sec;
	job->ended = rec.ended;
	job->exit = rec.exit;
	rpx_joblog_none(&job->out);
	rpx_joblog_none(&job->err);
	for (int i = 0; i < 2; i++) {
		struct rpx_joblog *log = i == 0 ? &job->out : &job->err;
		bool captured = i == 0 ? rec.out_captured : rec.err_captured;
		uint64_t total = i == 0 ? rec.out_total : rec.err_total;
		char p[4096];

		if (!captured)
			continue;
		log_path(jobs, job->id, i == 0 ? "out" : "err", p, sizeof(p));
		if (!rec.ended) {
			/* Not known past the ring's size: what it holds is what counts. */
			total = file_size(p);
		}
		if (rpx_joblog_reopen(log, p, jobs->cfg.output_cap, total) < 0)
			rpx_joblog_none(log);
		log->eof = true;
	}
	if (job->user == NULL || job->name == NULL || job->cwd == NULL || job->argv == NULL)
		log_warnx("job %llu: out of memory restoring it", (unsigned long long)job->id);
out:
	xdr_free((xdrproc_t)xdr_rpx_job_record, (char *)&rec);
	xdr_destroy(&xdrs);
	return job;
}

/* A job that was running when the previous rpxd stopped: still the same process? */
static void restore_running(struct rpx_jobs *jobs, struct rpx_job *job)
{
	const char *boot_id = job->boot_id;
	uint64_t start;
	char path[4096];
	int fd;

	if (job->proc_start != 0 && strcmp(boot_id, jobs->boot_id) == 0 &&
	    rpx_procfs_starttime(job->pid, &start) == 0 && start == job->proc_start &&
	    (fd = (int)syscall(SYS_pidfd_open, job->pid, 0)) >= 0) {
		job->adopted = true;
		job->pidfd = fd;
		job->pidfd_ev = event_new(jobs->base, fd, EV_READ, adopted_exit_cb, job);
		event_add(job->pidfd_ev, NULL);
		hash_add(jobs->by_pid, job, (uint64_t)job->pid, true);
		jobs->running++;
		jobs->restored_running++;
		for (int i = 0; i < 2; i++) {
			struct rpx_joblog *log = i == 0 ? &job->out : &job->err;

			if (!rpx_joblog_captured(log))
				continue;
			job_fifo_path(jobs, job, i == 0 ? RPX_JOBFIFO_OUT : RPX_JOBFIFO_ERR, path,
			    sizeof(path));
			if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
				continue;
			log->eof = false;
			watch_stream(jobs, job, i == 1, fd);
		}
		log_info("job %llu (pid %d) still runs: adopted; its exit status will be unknown",
		    (unsigned long long)job->id, job->pid);
		return;
	}
	/* It ended while no rpxd watched it (or the pid is now another process's). */
	job->ended = true;
	job->exit.how = RPX_EXIT_UNKNOWN;
	clock_gettime(CLOCK_MONOTONIC, &job->end_mono);
	jobs->restored_ended++;
	log_info("job %llu (pid %d) ended while rpxd was down: status unknown",
	    (unsigned long long)job->id, job->pid);
	unlink_fifos(jobs, job);
	job_save(jobs, job);
}

static int cmp_job_id(const void *a, const void *b)
{
	const struct rpx_job *x = *(struct rpx_job *const *)a, *y = *(struct rpx_job *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Jobs read back, before they go into the table. */
struct restored {
	struct rpx_jobs *jobs;
	struct rpx_job **list;
	size_t n, cap;
};

static void restored_add(struct restored *r, struct rpx_job *job)
{
	if (job == NULL)
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct rpx_job **grown = realloc(r->list, cap * sizeof(*r->list));

		if (grown == NULL) {
			log_warnx("job %llu: out of memory restoring it",
			    (unsigned long long)job->id);
			rpx_joblog_close(&job->out);
			rpx_joblog_close(&job->err);
			job_free(job);
			return;
		}
		r->list = grown;
		r->cap = cap;
	}
	r->list[r->n++] = job;
}

static void restore_cb(void *arg, uint64_t id, const void *record, size_t len)
{
	struct restored *r = arg;

	restored_add(r, restore_job(r->jobs, record, len, rpx_jobstore_path(&r->jobs->store)));
}

/* Whole file at @path into *@data (malloc'd); 0 or -errno. */
static int read_file(const char *path, char **data, size_t *len)
{
	char buf[4096];
	FILE *f;

	*data = NULL;
	*len = 0;
	if ((f = fopen(path, "re")) == NULL)
		return -errno;
	for (size_t n; (n = fread(buf, 1, sizeof(buf), f)) > 0; *len += n) {
		char *grown = realloc(*data, *len + n);

		if (grown == NULL)
			break;
		*data = grown;
		memcpy(*data + *len, buf, n);
	}
	fclose(f);
	return 0;
}

/*
 * Records of an older rpxd, one file per job in STATE_DIR/jobs: read once,
 * then they move into the store. Returns how many files there were.
 */
static size_t restore_legacy(struct restored *r)
{
	struct rpx_jobs *jobs = r->jobs;
	char path[4096];
	struct dirent *de;
	size_t found = 0;
	DIR *d;

	if ((d = opendir(jobs->jobs_dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char *data;

		if (len < 5 || strcmp(de->d_name + len - 4, ".job") != 0)
			continue;
		found++;
		snprintf(path, sizeof(path), "%s/%s", jobs->jobs_dir, de->d_name);
		if (read_file(path, &data, &len) == 0 && data != NULL) {
			struct rpx_job *job = restore_job(jobs, data, len, path);
			bool known = false;

			/* The store's record of a job is the newer one. */
			for (size_t i = 0; job != NULL && i < r->n && !known; i++)
				known = r->list[i]->id == job->id;
			if (known) {
				rpx_joblog_close(&job->out);
				rpx_joblog_close(&job->err);
				job_free(job);
			} else if (job != NULL) {
				job->legacy_fifos = true;
				restored_add(r, job);
			}
		}
		free(data);
	}
	closedir(d);
	return found;
}

/* The older files, now in the store (the FIFOs of running jobs stay). */
static void remove_legacy(struct rpx_jobs *jobs)
{
	char path[4096];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(jobs->jobs_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct rpx_job *job = rpx_jobs_find(jobs, strtoull(de->d_name, NULL, 10));

		if ((len > 4 && strcmp(de->d_name + len - 4, ".job") == 0) ||
		    (len > 5 && strcmp(de->d_name + len - 5, ".fifo") == 0 &&
		        (job == NULL || job->ended))) {
			snprintf(path, sizeof(path), "%s/%s", jobs->jobs_dir, de->d_name);
			unlink(path);
		}
	}
	closedir(d);
}

/* Reads back every job record and the id reservation. 0 or -errno. */
static int restore_all(struct rpx_jobs *jobs)
{
	struct restored r = {.jobs = jobs};
	char path[4096];
	size_t legacy;
	int err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/next-job-id", jobs->cfg.state_dir);
	if ((f = fopen(path, "re")) != NULL) {
		unsigned long long v;

		if (fscanf(f, "%llu", &v) == 1 && v > jobs->next_id)
			jobs->next_id = v;
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/jobs.log", jobs->cfg.state_dir);
	if ((err = rpx_jobstore_open(&jobs->store, path, jobs->cfg.fsync, restore_cb, &r)) < 0) {
		errno = -err;
		log_warn("%s", path);
		return err;
	}
	legacy = restore_legacy(&r);
	if (r.n > 1)
		qsort(r.list, r.n, sizeof(*r.list), cmp_job_id);
	for (size_t i = 0; i < r.n; i++) {
		struct rpx_job *job = r.list[i];
		bool was_running = !job->ended;

		TAILQ_INSERT_TAIL(&jobs->all, job, link);
		hash_add(jobs->by_id, job, job->id, false);
		if (job->id >= jobs->next_id)
			jobs->next_id = job->id + 1;
		if (was_running) {
			restore_running(jobs, job);
		} else {
			clock_gettime(CLOCK_MONOTONIC, &job->end_mono);
		}
		if (job->ended) {
			TAILQ_INSERT_TAIL(&jobs->ended, job, ended_link);
			jobs->nended++;
		}
	}
	free(r.list);
	if (legacy > 0 && rpx_jobstore_rewrite(&jobs->store, store_all, jobs) == 0)
		remove_legacy(jobs);
	return 0;
}

/* A FIFO in the runtime directory that a restored job still writes to. */
static bool fifo_in_use(void *arg, uint64_t id)
{
	struct rpx_job *job = rpx_jobs_find(arg, id);

	return job != NULL && !job->ended && !job->legacy_fifos;
}

struct rpx_jobs *rpx_jobs_new(struct event_base *base, const struct rpx_jobs_config *cfg)
{
	struct rpx_jobs *jobs = calloc(1, sizeof(*jobs));
	struct timeval sweep = {1, 0};

	if (jobs == NULL)
		return NULL;
	jobs->base = base;
	jobs->cfg = *cfg;
	jobs->store.log.fd = -1;
	if ((jobs->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		log_warn("/dev/null");
		free(jobs);
		return NULL;
	}
	jobs->next_id = 1;
	TAILQ_INIT(&jobs->all);
	TAILQ_INIT(&jobs->ended);
	if (asprintf(&jobs->jobs_dir, "%s/jobs", cfg->state_dir) < 0) {
		jobs->jobs_dir = NULL;
		goto fail;
	}
	if (mkdir(jobs->jobs_dir, 0700) < 0 && errno != EEXIST) {
		log_warn("%s", jobs->jobs_dir);
		goto fail;
	}
	if (rpx_jobfifos_init(&jobs->fifos, cfg->runtime_dir, cfg->state_dir) < 0)
		goto fail;
	/* Left by the previous rpxd (jobs it left running)? Then it must be ours alone. */
	if (rpx_jobfifos_dir(&jobs->fifos, false) == -EPERM) {
		log_warnx("%s: not a directory of rpxd's user with mode 0700", jobs->fifos.dir);
		goto fail;
	}
	if (rpx_spawn_init() < 0) {
		log_warn("spawn stack");
		goto fail;
	}
	{
		FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

		if (f != NULL) {
			if (fgets(jobs->boot_id, sizeof(jobs->boot_id), f) != NULL)
				jobs->boot_id[strcspn(jobs->boot_id, "\n")] = '\0';
			fclose(f);
		}
	}
	if (restore_all(jobs) < 0)
		goto fail;
	rpx_jobfifos_sweep(&jobs->fifos, fifo_in_use, jobs);
	if (reserve_ids(jobs) < 0) {
		log_warn("%s/next-job-id", cfg->state_dir);
		goto fail;
	}
	/* Orphans of a job's tree come to rpxd, which reaps them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("PR_SET_CHILD_SUBREAPER");
	jobs->sigchld = evsignal_new(base, SIGCHLD, sigchld_cb, jobs);
	jobs->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, jobs);
	jobs->prepare = evtimer_new(base, prepare_cb, jobs);
	if (jobs->sigchld == NULL || jobs->sweep == NULL || jobs->prepare == NULL ||
	    evsignal_add(jobs->sigchld, NULL) < 0 || evtimer_add(jobs->sweep, &sweep) < 0)
		goto fail;
	return jobs;
fail:
	rpx_jobs_free(jobs);
	return NULL;
}

void rpx_jobs_free(struct rpx_jobs *jobs)
{
	struct rpx_job *job;

	if (jobs == NULL)
		return;
	/*
	 * The stop policy has run. Jobs still running (--on-stop leave) and exit
	 * records nobody collected stay on disk: the next rpxd adopts them.
	 */
	while ((job = TAILQ_FIRST(&jobs->all)) != NULL)
		job_release(jobs, job, false);
	if (jobs->sigchld != NULL)
		event_free(jobs->sigchld);
	if (jobs->sweep != NULL)
		event_free(jobs->sweep);
	if (jobs->prepare != NULL)
		event_free(jobs->prepare);
	rpx_jobstore_close(&jobs->store);
	rpx_jobfifos_close(&jobs->fifos);
	close(jobs->devnull);
	free(jobs->jobs_dir);
	free(jobs);
}

/*
 * jobs.h: the job table: every process rpxd started, from spawn to the
 * moment its exit record is collected. The textbook's process table: a job
 * that ended keeps its record (the table's zombie) until a client waits for
 * it, or until retention (--retain-jobs, --retain-seconds) drops it.
 *
 * Waits and output follows are pending calls parked on jobs; they are
 * answered from the events that end a job or bring it output.
 */
#ifndef RPX_JOBS_H
#define RPX_JOBS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "joblog.h"
#include "proc.h"

#define RPX_OWNER_ANON ((uid_t)-2) /* a network caller with no identity */

/*
 * Recently reaped jobs: the answer of a WAIT that collected a job's exit
 * record, so that the same WAIT resent (a UDP retransmission, a client that
 * reconnected after a broken connection) gets it again rather than ESRCH.
 * WAIT's arguments carry no request id for the duplicate request cache. At
 * most RPX_REAPED_MAX answers, each for RPX_REAPED_SECONDS (above librpx's
 * retransmission window), the oldest evicted first; memory only.
 */
#define RPX_REAPED_MAX 256
#define RPX_REAPED_SECONDS 60

struct rpx_reaped {
	uint64_t id;
	uid_t owner;
	rpx_exit exit;
	struct timespec when; /* CLOCK_MONOTONIC, when the record was collected */
};

struct rpx_waiter;
struct rpx_follower;

struct rpx_waitlink {
	TAILQ_ENTRY(rpx_waitlink) link; /* in the job's waiters */
	struct rpx_job *job;
	struct rpx_waiter *waiter;
};

struct rpx_jobs;

struct rpx_job {
	struct rpx_jobs *jobs;
	uint64_t id;
	pid_t pid;
	int pidfd;
	uid_t owner; /* who may see and signal it */
	uid_t uid; /* runs as */
	char *user;
	char *name;
	char **argv;
	char *cwd;
	rpx_label *labels;
	unsigned nlabels;
	struct timespec start_real, start_mono, end_mono;
	bool ended;
	bool adopted; /* started by an earlier rpxd: not our child, exit status unknown */
	bool legacy_fifos; /* its FIFOs are in STATE_DIR/jobs (an older rpxd started it) */
	uint64_t proc_start; /* /proc/PID/stat starttime, to recognise the pid after a restart */
	char boot_id[40]; /* of the boot it started in (restored jobs) */
	struct event *pidfd_ev; /* its pidfd readable: it ended */
	rpx_exit exit;

	struct rpx_joblog out, err;
	int out_pipe, err_pipe; /* read ends, -1 once at EOF */
	struct event *out_ev, *err_ev;
	int in_pipe; /* write end while stdin bytes remain */
	struct event *in_ev;
	struct evbuffer *in_buf;

	TAILQ_HEAD(, rpx_waitlink) waiters;
	TAILQ_HEAD(, rpx_follower) followers;
	TAILQ_ENTRY(rpx_job) link; /* all jobs, by id */
	TAILQ_ENTRY(rpx_job) ended_link; /* ended jobs, oldest first */
	struct rpx_job *id_next, *pid_next;
};

struct rpx_jobs_config {
	const char *state_dir;
	const char *runtime_dir; /* the FIFOs go in RUNTIME_DIR/jobs-HASH (HASH of state_dir) */
	bool fsync; /* job records reach the disk before SPAWN answers */
	uint64_t output_cap; /* bytes kept per stream */
	unsigned max_jobs; /* running at once */
	unsigned retain_jobs; /* ended records kept */
	unsigned retain_seconds; /* age at which an ended record is dropped */
};

struct rpx_jobs *rpx_jobs_new(struct event_base *base, const struct rpx_jobs_config *cfg);
void rpx_jobs_free(struct rpx_jobs *jobs);

/* Starts a job for @a; on failure -errno and a message in @msg. */
int rpx_jobs_spawn(struct rpx_jobs *jobs, const rpx_spawn_args *a, uid_t owner, uid_t caller_uid,
    struct rpx_job **out, char *msg, size_t msglen);

struct rpx_job *rpx_jobs_find(struct rpx_jobs *jobs, uint64_t id);
/* The first job with id > @after, or NULL. */
struct rpx_job *rpx_jobs_next(struct rpx_jobs *jobs, uint64_t after);
/* Drops an ended job's record (its exit was collected). */
void rpx_jobs_drop(struct rpx_jobs *jobs, struct rpx_job *job);
/* Drops an ended job's record that a WAIT without keep collected, remembering its answer. */
void rpx_jobs_collect(struct rpx_jobs *jobs, struct rpx_job *job);
/* The remembered answer for job @id, reaped less than RPX_REAPED_SECONDS ago, or NULL. */
const struct rpx_reaped *rpx_jobs_reaped(struct rpx_jobs *jobs, uint64_t id);
unsigned rpx_jobs_running(const struct rpx_jobs *jobs);
uint64_t rpx_jobs_started(const struct rpx_jobs *jobs);
uint64_t rpx_jobs_orphans_reaped(const struct rpx_jobs *jobs);
/* Jobs read back from --state-dir at start-up: still running, and ended while rpxd was down. */
unsigned rpx_jobs_restored_running(const struct rpx_jobs *jobs);
unsigned rpx_jobs_restored_ended(const struct rpx_jobs *jobs);

/* Pending WAIT: parks @call on every job in @list until one ends. */
int rpx_jobs_wait(struct rpx_jobs *jobs, struct rpx_call *call, struct rpx_job **list, unsigned n,
    int timeout_ms, bool keep);
/* Pending OUTPUT follow: parks @call until @job has news for it. */
int rpx_jobs_follow(struct rpx_jobs *jobs, struct rpx_call *call, struct rpx_job *job,
    int timeout_ms);

/*
 * Fills an OUTPUT result for @a from @job (data malloc'd, freed with
 * xdr_free), as much as a reply on @call's transport can carry. Returns
 * true when the result has news: bytes, an EOF, the job's end, or an error.
 */
bool rpx_jobs_output(struct rpx_jobs *jobs, struct rpx_job *job, const struct rpx_call *call,
    const rpx_output_args *a, rpx_output_res *res);

/* Fills a WAIT result from an ended @job. */
void rpx_jobs_exit_result(const struct rpx_job *job, rpx_wait_res *res);
/* Fills a WAIT result from a reaped job's remembered answer. */
void rpx_jobs_reaped_result(const struct rpx_reaped *reaped, rpx_wait_res *res);

/*
 * Stop policy: signals every running job's process group with @sig; @done
 * runs once no job runs any more.
 */
void rpx_jobs_signal_all(struct rpx_jobs *jobs, int sig);

#endif

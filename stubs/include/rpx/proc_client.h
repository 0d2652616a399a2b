/*
 * rpx/proc_client.h: typed calls of the PROC program (idl/proc.x): start
 * a command on the host of an rpxd (SPAWN), list and inspect processes
 * (LIST, INFO), signal a job (KILL), wait for its end (WAIT) and read what
 * it printed (OUTPUT). Included by <rpx/client.h>; the result types are
 * rpcgen's, from <rpx/proc.h>.
 *
 * Conventions, as for the DATE calls: a function returns 0 or a negative
 * errno value, with one line of text in rpx_client_error(). An error the
 * server reported in a result's rpx_status comes back as its negated errno
 * and the text "server: MESSAGE" (e.g. -ENOENT and "server: nosuchprog: No
 * such file or directory"). A result filled by a call is freed with the
 * matching rpx_proc_*_free() (which accepts NULL and zeroes the struct);
 * after a failed call there is nothing to free, but freeing is harmless.
 *
 * Arguments are checked against the IDL bounds before anything is sent:
 * too many or too long entries fail with -E2BIG and a message such as
 * "argv has 100000 entries; the limit is 4096".
 *
 * Request IDs (exactly once while rpxd can be reached): SPAWN and KILL
 * carry an rpx_reqid. Its client part is a random 64-bit number chosen
 * when the rpx_client is opened (getrandom); seq counts this client's
 * mutating calls from 1; and acked, the lowest seq this client still waits
 * for, equals seq because an rpx_client makes one call at a time (a call
 * given up at its deadline is never sent again, so it counts as done).
 * Every retransmission of a call (UDP resend, or a resend on a new
 * connection after the old one broke: see rpx/client.h) carries the same
 * request ID, and rpxd's duplicate request cache answers it with the
 * recorded reply instead of running it again. Results of SPAWN and KILL:
 *   0 / -errno of the result   the request ran once, with this outcome
 *   -ETIMEDOUT                 "outcome unknown: no reply within N ms; the
 *                              request may or may not have run"
 *   -ESTALE                    "outcome unknown: the server no longer knows
 *                              whether this request ran (server: ...)":
 *                              rpxd refused the request without running it
 *                              because it may have run already: its record
 *                              was evicted from a full cache, or the request
 *                              started before rpxd restarted (kill -9, crash)
 *                              and its outcome was lost
 *   -EBUSY                     rpxd's cache has no room for another client;
 *                              not run
 *   other negative errno       not run (local checks, transport errors
 *                              before anything could reach rpxd, AUTH_ERROR)
 * After -ETIMEDOUT or -ESTALE, look (LIST by name or label) before you
 * repeat the request.
 *
 * Who may do what is the server's rule: on rpxd's Unix socket the caller is
 * the peer's uid; over TCP and UDP, SPAWN and KILL are refused with
 * AUTH_ERROR/AUTH_TOOWEAK (-EACCES, "server: authentication error: refused
 * for security reasons (spawn and kill need the Unix socket, or rpxd
 * --insecure)") unless rpxd runs with --insecure.
 */
#ifndef RPX_PROC_CLIENT_H
#define RPX_PROC_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <rpx/proc.h>
#include <rpx/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rpx_client;

/* Flags of struct rpx_spawn_opts. */
#define RPX_SPAWN_SHELL 0x1u /* argv[0] is a script for /bin/sh -c; argv has one entry */
#define RPX_SPAWN_CLEAR_ENV 0x2u /* start from an empty environment, not rpxd's */
#define RPX_SPAWN_DISCARD_STDOUT 0x4u /* stdout to /dev/null instead of the job's log */
#define RPX_SPAWN_DISCARD_STDERR 0x8u /* likewise stderr */

/*
 * What to start. Zero every field you do not set: NULL and 0 mean "none"
 * or "the default". String arrays end with a NULL entry.
 */
struct rpx_spawn_opts {
	const char *const *argv; /* program and arguments; argv[0] looked up in PATH */
	const char *const *env_set; /* "NAME=VALUE" entries set in the environment */
	const char *const *env_unset; /* "NAME" entries removed from it */
	const char *cwd; /* absolute directory on the host; NULL or "": "/" */
	const void *stdin_data; /* bytes fed to stdin, then EOF; none: /dev/null */
	size_t stdin_len;
	const char *name; /* job name shown by LIST; NULL: none */
	const char *const *labels; /* "KEY=VALUE" entries, for LIST filters */
	uint64_t cpu_seconds; /* RLIMIT_CPU; 0: unchanged */
	uint64_t address_space; /* RLIMIT_AS in bytes; 0: unchanged */
	uint64_t open_files; /* RLIMIT_NOFILE; 0: unchanged */
	int importance; /* enum rpx_importance: RPX_IMPORTANCE_DEFAULT .. _EMPTY */
	const char *user; /* run as this user (root callers only); NULL: the caller */
	unsigned int flags; /* RPX_SPAWN_* */
	int reserved[4]; /* must be 0 */
};

/*
 * SPAWN: starts a job. On success res->job, res->pid and res->start_sec/
 * start_nsec describe it; free res with rpx_proc_spawn_free(). Local checks
 * fail with -EINVAL (no argv, a shell command of several entries, an
 * environment entry without '=', a label without '=') or -E2BIG (bounds).
 */
RPX_API int rpx_proc_spawn(struct rpx_client *cl, const struct rpx_spawn_opts *opts,
    rpx_spawn_res *res);
RPX_API void rpx_proc_spawn_free(rpx_spawn_res *res);

/*
 * The SPAWN arguments of opts, for a caller that sends SPAWN itself (on a
 * struct rpx_async, e.g. a fan-out): the same local checks as
 * rpx_proc_spawn() (-EINVAL, -E2BIG, -ENOMEM, with the reason in why when
 * whylen > 0). reqid is left 0: set it. args points into opts and into
 * memory freed by rpx_proc_spawn_args_free() (also after a failure: the
 * free accepts a zeroed or half-built args).
 */
RPX_API int rpx_proc_spawn_args(const struct rpx_spawn_opts *opts, rpx_spawn_args *args, char *why,
    size_t whylen);
RPX_API void rpx_proc_spawn_args_free(rpx_spawn_args *args);

/* Which processes LIST reports. Zero every field you do not set. */
struct rpx_list_opts {
	int all; /* non-zero: every process of the host; 0: the caller's jobs */
	unsigned int state_mask; /* bits 1 << rpx_pstate; 0: any state */
	const char *name; /* exact job name or comm; NULL: any */
	const char *label_key; /* with label_value: jobs with this label; NULL: any */
	const char *label_value;
	unsigned int limit; /* entries per page, at most RPX_LIST_MAX; 0: RPX_LIST_MAX */
};

/*
 * LIST, one page: from cursor (0 for the first page; then res->next_cursor
 * while res->more). Free res with rpx_proc_list_free().
 */
RPX_API int rpx_proc_list(struct rpx_client *cl, const struct rpx_list_opts *opts, uint64_t cursor,
    rpx_list_res *res);
RPX_API void rpx_proc_list_free(rpx_list_res *res);

/*
 * The LIST arguments of opts (NULL: the caller's jobs) from cursor, for a
 * caller that sends LIST itself (on a struct rpx_async, e.g. a fan-out):
 * the same local checks as rpx_proc_list() (-E2BIG, with the reason in why
 * when whylen > 0). args points into opts; nothing to free.
 */
RPX_API int rpx_proc_list_args(const struct rpx_list_opts *opts, uint64_t cursor,
    rpx_list_args *args, char *why, size_t whylen);

/*
 * LIST, every page: calls fn once per process, in the server's order. A
 * non-zero return of fn stops the walk and is returned. A server that
 * repeats a cursor fails the walk with -EPROTO.
 */
RPX_API int rpx_proc_list_each(struct rpx_client *cl, const struct rpx_list_opts *opts,
    int (*fn)(const rpx_pinfo *p, void *arg), void *arg);

/* INFO: one job in detail. Free res with rpx_proc_info_free(). */
RPX_API int rpx_proc_info(struct rpx_client *cl, uint64_t job, rpx_info_res *res);
RPX_API void rpx_proc_info_free(rpx_info_res *res);

/*
 * KILL: sends signal sig (0..64; 0 only checks) to the job, or with group
 * non-zero to its whole process group. The server answers -ESRCH for an
 * unknown or ended job, -EINVAL for a bad signal.
 */
RPX_API int rpx_proc_kill(struct rpx_client *cl, uint64_t job, int sig, int group);

/*
 * WAIT: waits up to timeout_ms (0: poll; negative: no limit) for the first
 * of jobs[0..njobs-1] to end. Returns 0 when one ended (res->job,
 * res->exit), 1 when none ended in time, or a negative errno (-ESRCH: a job
 * is unknown). Unless keep is non-zero, the job's exit record is removed
 * by the answer, as wait() reaps a zombie. The call's deadline is the
 * wait plus the client's timeout; without a limit the library waits in
 * slices of RPX_WAIT_SLICE_MS, so a server that went away is noticed.
 * Free res with rpx_proc_wait_free().
 */
#define RPX_WAIT_SLICE_MS 30000
RPX_API int rpx_proc_wait(struct rpx_client *cl, const uint64_t *jobs, size_t njobs, int timeout_ms,
    int keep, rpx_wait_res *res);
RPX_API void rpx_proc_wait_free(rpx_wait_res *res);

/*
 * OUTPUT: what the job wrote to stdout (args->streams bit 1) and stderr
 * (bit 2) from the given offsets. With args->follow the server holds the
 * call until there is something new, the streams end, the job ends or
 * args->timeout_ms passes (a negative timeout is sent as
 * RPX_WAIT_SLICE_MS, so the call has a deadline). Each chunk says where its
 * data starts (offset; dropped bytes were lost from the log before it) and
 * whether the stream is at its end (eof). A reader continues from
 * chunk.offset + data_len, stops asking for a stream at eof, and stops when
 * every stream it reads is at eof, or res->ended is TRUE and a reply
 * brought no data. Free res with rpx_proc_output_free().
 */
#define RPX_STREAM_STDOUT 1u
#define RPX_STREAM_STDERR 2u
RPX_API int rpx_proc_output(struct rpx_client *cl, const rpx_output_args *args,
    rpx_output_res *res);
RPX_API void rpx_proc_output_free(rpx_output_res *res);

/*
 * STATS: rpxd's counters since it started (calls, RPC errors, the duplicate
 * request cache, jobs). Free res with rpx_proc_stats_free().
 */
RPX_API int rpx_proc_stats(struct rpx_client *cl, rpx_stats_res *res);
RPX_API void rpx_proc_stats_free(rpx_stats_res *res);

/*
 * Signal names as the host (Linux) numbers them: "TERM", "SIGTERM",
 * "term", "15", "RTMIN+2", "0". Returns the number, or -EINVAL.
 */
RPX_API int rpx_signal_parse(const char *text);

/* "TERM" for 15, "RTMIN+2" for 36, NULL for a number without a name. */
RPX_API const char *rpx_signal_name(int sig);

#ifdef __cplusplus
}
#endif

#endif /* RPX_PROC_CLIENT_H */

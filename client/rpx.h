/*
 * rpx.h: what the rpx command's files share.
 *
 * rpx.c parses the options common to every subcommand (-H, --timeout,
 * --retry), finds the subcommand in its table and calls it with the rest of
 * argv; each cmd_*.c is one subcommand and uses librpx only through
 * <rpx/client.h>. Subcommands return an exit status: RPX_EXIT_OK, RPX_EXIT_FAIL
 * (some host or call failed; the reason is on stderr) or RPX_EXIT_USAGE.
 */
#ifndef RPX_CLI_H
#define RPX_CLI_H

#include <getopt.h>
#include <stdio.h>

#include <rpx/client.h>
#include <rpx/fanout.h>

enum {
	RPX_EXIT_OK = 0,
	RPX_EXIT_FAIL = 1,
	RPX_EXIT_USAGE = 2,
};

#define RPX_CLI_MAX_HOSTS 4096

/* Options shared by every subcommand, from the command line and the environment. */
struct rpx_cli {
	const char *hosts[RPX_CLI_MAX_HOSTS]; /* -H URL... ; none: $RPX_HOST, else the default */
	int nhosts;
	char *owned[RPX_CLI_MAX_HOSTS]; /* host names read from --hosts files, freed at exit */
	int nowned;
	struct rpx_client_opts opts;
	int parallel; /* --parallel N: hosts at a time in a fan-out; 0: the default */
	int host_timeout_ms; /* --host-timeout MS: deadline of each host; 0: none */
	struct rpx_tls_opts tls; /* --ca/--cert/--key; unset: $RPX_CA/$RPX_CERT/$RPX_KEY */
};

/* One subcommand. run() gets argv starting at the subcommand's name. */
struct rpx_cmd {
	const char *name;
	const char *summary;
	int (*run)(struct rpx_cli *cli, int argc, char **argv);
	void (*usage)(FILE *out);
};

/*
 * Long options every subcommand accepts too, so `rpx date -H URL` works like
 * `rpx -H URL date`. Put RPX_CLI_COMMON_LONGOPTS in the subcommand's table and
 * RPX_CLI_COMMON_SHORTOPTS in its short option string, and pass any option it
 * does not handle itself to rpx_cli_common_opt().
 */
#define RPX_CLI_COMMON_SHORTOPTS "H:t:h"
/* Long-only common options (values above any character). */
enum {
	RPX_CLI_OPT_CA = 0x100,
	RPX_CLI_OPT_CERT,
	RPX_CLI_OPT_KEY,
};
/* Long-only common options of the fan-out (values above the TLS ones). */
enum {
	RPX_CLI_OPT_HOSTS = 0x180,
	RPX_CLI_OPT_PARALLEL,
	RPX_CLI_OPT_HOST_TIMEOUT,
};
#define RPX_CLI_COMMON_LONGOPTS                                                                \
	{"hosts", required_argument, NULL, RPX_CLI_OPT_HOSTS},                                 \
	    {"parallel", required_argument, NULL, RPX_CLI_OPT_PARALLEL},                       \
	    {"host-timeout", required_argument, NULL, RPX_CLI_OPT_HOST_TIMEOUT},               \
	    {"host", required_argument, NULL, 'H'}, {"timeout", required_argument, NULL, 't'}, \
	    {"retry", required_argument, NULL, 'R'},                                           \
	    {"ca", required_argument, NULL, RPX_CLI_OPT_CA},                                   \
	    {"cert", required_argument, NULL, RPX_CLI_OPT_CERT},                               \
	    {"key", required_argument, NULL, RPX_CLI_OPT_KEY},                                 \
	{                                                                                      \
		"help", no_argument, NULL, 'h'                                                 \
	}

/*
 * Handles a common option (H, t, R, --ca, --cert, --key); returns 0, or RPX_EXIT_USAGE after
 * printing why. 'h' and '?' are the subcommand's business.
 */
int rpx_cli_common_opt(struct rpx_cli *cli, int opt, const char *arg);

/*
 * A duration option: a decimal number with an optional unit (ms, s, m, h);
 * a bare number counts bare_ms milliseconds (1 for -t, 1000 for wait's
 * --timeout). *ms is rounded up and at least min_ms. 0 or RPX_EXIT_USAGE
 * after printing why.
 */
int rpx_cli_parse_duration(const char *opt, const char *arg, int bare_ms, int min_ms, int *ms);

/* The common options, for a subcommand's usage text. */
void rpx_cli_common_usage(FILE *out);

/* Number of hosts to contact: at least one (the default). */
int rpx_cli_nhosts(const struct rpx_cli *cli);

/* Host i as given (NULL: the library default URL). */
const char *rpx_cli_host(const struct rpx_cli *cli, int i);

/*
 * The TLS files for tls:// hosts: --ca/--cert/--key, else $RPX_CA,
 * $RPX_CERT, $RPX_KEY (pointers into cli or the environment).
 */
void rpx_cli_tls_opts(const struct rpx_cli *cli, struct rpx_tls_opts *tls);

/*
 * Opens host i; on failure prints "rpx: REASON" to stderr and returns NULL.
 */
struct rpx_client *rpx_cli_open(const struct rpx_cli *cli, int i);

/* Prints "rpx: " and the formatted message to stderr, with a newline. */
void rpx_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Subcommands (cmd_*.c). */
int rpx_cmd_ping(struct rpx_cli *cli, int argc, char **argv);
void rpx_cmd_ping_usage(FILE *out);
int rpx_cmd_date(struct rpx_cli *cli, int argc, char **argv);
void rpx_cmd_date_usage(FILE *out);
int rpx_cmd_spawn(struct rpx_cli *cli, int argc, char **argv);
void rpx_cmd_spawn_usage(FILE *out);
int rpx_cmd_run(struct rpx_cli *cli, int argc, char **argv);
void rpx_cmd_run_usage(FILE *out);
int rpx_cmd_ps(struct rpx_cli *cli, int argc, char **argv);
void rpx_cmd_ps_usage(FILE *out);
int rpx_cmd_info(struct rpx_cli *cli, int argc, char **argv);
void rpx_cmd_info_usage(FILE *out);
int rpx_cmd_kill(struct rpx_cli *cli, int argc, char **argv);
void rpx_cmd_kill_usage(FILE *out);
int rpx_cmd_wait(struct rpx_cli *cli, int argc, char **argv);
void rpx_cmd_wait_usage(FILE *out);
int rpx_cmd_logs(struct rpx_cli *cli, int argc, char **argv);
void rpx_cmd_logs_usage(FILE *out);

/* Shared by the PROC subcommands (proc_common.c). */

/*
 * Opens the one host a PROC subcommand talks to; with several -H prints
 * "rpx: CMD: one host at a time" and sets *status to RPX_EXIT_USAGE, on a
 * connect failure prints why and sets RPX_EXIT_FAIL. NULL on failure.
 */
struct rpx_client *rpx_cli_open_one(const struct rpx_cli *cli, const char *cmd, int *status);

/* A job ID in decimal; 0 or -EINVAL (after printing "rpx: CMD: bad job ID"). */
int rpx_cli_parse_job(const char *cmd, const char *text, uint64_t *job);

/* The exit status a shell gives a child that ended like e: code, or 128+signal. */
int rpx_cli_exit_status(const rpx_exit *e);

/* "exited with code 3", "killed by signal 9 (KILL), core dumped", "running". */
void rpx_cli_exit_text(const rpx_exit *e, char *buf, size_t len);

/* The members of an rpx_exit as JSON members, without braces: "how":"exited",... */
void rpx_json_exit_members(FILE *out, const rpx_exit *e);

/*
 * Copies a job's output to our stdout (job's stdout) and stderr (job's
 * stderr), streams a bitmask of RPX_STREAM_*. Without follow: what is in
 * the log now. With follow: until the streams end or the job ends, asking
 * the server to hold each call up to slice_ms; after each reply tick(arg)
 * runs (when not NULL) and a non-zero return stops the copy and is
 * returned. Returns 0, a negative errno (message printed, prefixed
 * "rpx: CMD: "), or tick's value.
 */
int rpx_cli_copy_output(struct rpx_client *cl, const char *cmd, uint64_t job, unsigned int streams,
    int follow, int slice_ms, int (*tick)(void *arg), void *arg);

/*
 * Spawn options shared by `rpx spawn` and `rpx run` (spawn_opts.c). The
 * arrays point into argv or into buffers freed by rpx_cli_spawn_free().
 */
struct rpx_cli_spawn {
	struct rpx_spawn_opts opts;
	const char **env_set;
	const char **env_unset;
	const char **labels;
	char *stdin_buf;
	char *shell_cmd;
	int json;
};

/*
 * Parses `CMD [OPTIONS] [--] COMMAND ARGS...` into *sp (with --json only
 * when allow_json). Returns 0, or an exit status after printing why (also
 * RPX_EXIT_OK after --help, with *done set).
 */
int rpx_cli_spawn_parse(struct rpx_cli *cli, const char *cmd, void (*usage)(FILE *out),
    int allow_json, int argc, char **argv, struct rpx_cli_spawn *sp, int *done);
void rpx_cli_spawn_free(struct rpx_cli_spawn *sp);

/* The spawn options, for a subcommand's usage text. */
void rpx_cli_spawn_usage(FILE *out);

/*
 * Fan-out (fanout.c): a command on several hosts from one event loop.
 * With more than one host a command parses its options as usual and then
 * hands a struct rpx_cli_fan_cmd and its parsed request to rpx_cli_fanout().
 */
struct rpx_cli_fan_host {
	struct fan *fan;
	const char *name; /* as given: the prefix of its lines */
	int index;
	const void *req; /* the command's parsed request */
	struct rpx_fanout_host *fh; /* NULL before start and once done */
	struct rpx_async *conn;
	int started;
	int err; /* 0, or why the host failed (errmsg) */
	int status; /* run, wait: the job's exit status */
	char errmsg[512];
	struct rpx_cli_fan_lines {
		char *data;
		size_t len, cap;
	} lines[2]; /* partial lines of stdout and stderr */
	void *state; /* the command's per-host state */
};

struct rpx_cli_fan_cmd {
	const char *name;
	uint32_t prog; /* looked up in rpcbind for bare host names */
	/* Makes the host's first call on c; the chain ends in rpx_cli_fan_done/_exit. */
	void (*start)(struct rpx_cli_fan_host *h, struct rpx_async *c);
	void (*cleanup)(struct rpx_cli_fan_host *h); /* frees h->state; may be NULL */
	/*
	 * run: SIGINT, SIGTERM, SIGHUP are caught and handed to this for each
	 * host started and not done (the first signal as itself, later ones
	 * as SIGKILL); hosts not started yet are not started. NULL: the
	 * signals keep their default action.
	 */
	void (*forward)(struct rpx_cli_fan_host *h, int sig);
};

/* Runs cmd on every host; returns the exit status (0: every host ok, job status 0). */
int rpx_cli_fanout(struct rpx_cli *cli, const struct rpx_cli_fan_cmd *cmd, const void *req,
    int json);

/* --hosts FILE, --parallel N, --host-timeout MS; 0 or RPX_EXIT_USAGE after printing why. */
int rpx_cli_fan_opt(struct rpx_cli *cli, int opt, const char *arg);

/* More than one host: the command goes through rpx_cli_fanout(). */
int rpx_cli_fan_wanted(const struct rpx_cli *cli);

/* Output of host h on stream 1 (stdout) or 2 (stderr), attributed line by line. */
void rpx_cli_fan_write(struct rpx_cli_fan_host *h, int stream, const void *data, size_t len);
void rpx_cli_fan_printf(struct rpx_cli_fan_host *h, int stream, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends host h: failed (err < 0, message naming it) or ok; ignored when it ended already. */
void rpx_cli_fan_done(struct rpx_cli_fan_host *h, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends host h with its job's exit status (run, wait). */
void rpx_cli_fan_exit(struct rpx_cli_fan_host *h, int status);
/* 1 when h has ended (e.g. at its deadline): a callback must not continue it. */
int rpx_cli_fan_gone(const struct rpx_cli_fan_host *h);
int rpx_cli_fan_json(const struct rpx_cli_fan_host *h);

/* The async forms of the commands (fanout_cmds.c); req points to the named struct. */
struct rpx_cli_date_req {
	int utc;
	int at;
	int64_t at_seconds;
	uint32_t at_nanoseconds;
};
struct rpx_cli_jobs_req {
	const uint64_t *jobs;
	int njobs;
	int sig, group; /* kill */
	int timeout_ms, keep; /* wait */
};
struct rpx_cli_ping_prog {
	const char *name; /* NULL: print the number */
	uint32_t prog;
	uint32_t vers;
};
struct rpx_cli_ping_req {
	const struct rpx_cli_ping_prog *progs;
	size_t nprogs;
};
struct rpx_cli_logs_req {
	uint64_t job;
	unsigned int streams; /* RPX_STREAM_* */
	int follow;
};
extern const struct rpx_cli_fan_cmd rpx_fan_date, rpx_fan_ping, rpx_fan_spawn, rpx_fan_run,
    rpx_fan_ps, rpx_fan_info, rpx_fan_kill, rpx_fan_wait, rpx_fan_logs;

/* cmd_ping.c: "date v1" or "0x20007701 v1". */
void rpx_cli_ping_name(FILE *out, const struct rpx_cli_ping_prog *p);

/* cmd_ps.c, for the fan-out: the table header, and one process as a row or JSON line. */
void rpx_cli_ps_header(FILE *out);
void rpx_cli_ps_row(FILE *out, const rpx_pinfo *p, int json);
/* cmd_ps.c: one job in detail (rpx info), as text or one JSON line. */
void rpx_cli_info_print(FILE *out, const rpx_info_res *r, int json);

/* JSON output (out_json.c). */
void rpx_json_string(FILE *out, const char *s);

#endif /* RPX_CLI_H */

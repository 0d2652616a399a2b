/*
 * rpx.c: the rpx command: common options, the subcommand table, help.
 *
 *	rpx [-H URL]... [--timeout MS] [--retry MS] [--ca FILE] [--cert FILE --key FILE]
 *	    COMMAND [ARGS]
 *
 * A subcommand is one entry in the commands[] table and one cmd_*.c file
 * (ping, date; spawn, run, ps, info, kill, wait, logs for the PROC
 * program, with what they share in proc_common.c and spawn_opts.c). rpx
 * only uses librpx, the way any other client program would.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpx.h"

#ifndef RPX_VERSION
#define RPX_VERSION "unknown"
#endif

static const struct rpx_cmd commands[] = {
    {"ping", "call the NULL procedure of every known program; print round trip times", rpx_cmd_ping,
        rpx_cmd_ping_usage},
    {"date", "print the host's current time (DATE program, NOW)", rpx_cmd_date, rpx_cmd_date_usage},
    {"spawn", "start a command on the host as a job; print its ID", rpx_cmd_spawn,
        rpx_cmd_spawn_usage},
    {"run", "run a command on the host, copy its output, exit with its status", rpx_cmd_run,
        rpx_cmd_run_usage},
    {"ps", "list your jobs, or every process of the host (--all, --tree)", rpx_cmd_ps,
        rpx_cmd_ps_usage},
    {"info", "show one job in detail", rpx_cmd_info, rpx_cmd_info_usage},
    {"kill", "send a signal to jobs", rpx_cmd_kill, rpx_cmd_kill_usage},
    {"wait", "wait for a job to end; exit with its status", rpx_cmd_wait, rpx_cmd_wait_usage},
    {"logs", "print a job's output (-f: follow it)", rpx_cmd_logs, rpx_cmd_logs_usage},
};

static const struct rpx_cmd *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

void rpx_cli_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("rpx: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void rpx_cli_common_usage(FILE *out)
{
	fprintf(out,
	    "  -H, --host URL       host to contact; repeat for several hosts. URL is\n"
	    "                       tcp://HOST:PORT, udp://HOST:PORT, unix:PATH, HOST:PORT\n"
	    "                       (tcp), or HOST (tcp, port from HOST's rpcbind, else\n"
	    "                       %d); IPv6 in brackets: tcp://[::1]:%d.\n"
	    "                       tls://HOST:PORT is RPC-with-TLS (RFC 9289) over TCP.\n"
	    "                       Default: $RPX_HOST, else the local rpxd's Unix socket if it\n"
	    "                       exists, else tcp://127.0.0.1:%d\n"
	    "  -t, --timeout MS     deadline of the connect and of each call (default %d)\n"
	    "      --retry MS       UDP: wait before retransmitting a call (default %d)\n"
	    "                       Durations: bare numbers are milliseconds here; a unit\n"
	    "                       may be given: 500ms, 2s, 1.5m, 1h.\n"
	    "      --ca FILE        tls://: CA certificates (PEM) that verify the server\n"
	    "                       (default: $RPX_CA, else the system's CAs)\n"
	    "      --cert FILE      tls://: client certificate (PEM) for mutual TLS\n"
	    "                       (default: $RPX_CERT)\n"
	    "      --key FILE       tls://: its private key (PEM) (default: $RPX_KEY)\n"
	    "  -h, --help           show this help\n",
	    RPX_DEFAULT_PORT, RPX_DEFAULT_PORT, RPX_DEFAULT_PORT, RPX_CLIENT_TIMEOUT_MS,
	    RPX_CLIENT_RETRY_MS);
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: rpx [OPTIONS] COMMAND [ARGS]\n"
	             "       rpx COMMAND --help\n"
	             "\n"
	             "Client of rpxd, the rpx daemon (ONC RPC).\n"
	             "\n"
	             "Options (also accepted after COMMAND):\n");
	rpx_cli_common_usage(out);
	fprintf(out, "      --version        print the version and exit\n"
	             "\n"
	             "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
	    "\n"
	    "Environment:\n"
	    "  RPX_HOST             host URL used when no -H is given\n"
	    "  RPX_CA, RPX_CERT, RPX_KEY  TLS files when --ca, --cert, --key are not given\n"
	    "\n"
	    "Exit status: 0 on success, 1 when any host or call failed (reason on\n"
	    "stderr), 2 on a usage error. wait and run exit with the job's status\n"
	    "(its exit code, or 128 + the signal that ended it); wait --timeout\n"
	    "exits with 124 when no job ended in time.\n"
	    "\n"
	    "Many hosts (-H more than once, or --hosts FILE): every command (ping,\n"
	    "date, spawn, run, ps, info, kill, wait, logs, logs -f) runs on every host\n"
	    "at once from one event loop; only ps --tree takes one host. Each output\n"
	    "line starts with \"HOST: \"; with --json each line is one object whose\n"
	    "first member is \"host\" (a failed host: {\"host\":...,\"ok\":false}). A\n"
	    "failed host gets one \"rpx: HOST: why\" line; at the end stderr has a\n"
	    "summary: \"5 hosts: 4 ok, 1 failed (tcp://...: connection refused)\".\n"
	    "The exit status is 0 only when every host succeeded (run, wait: and every\n"
	    "job exited 0; the summary lists each non-zero status), else 1. Ctrl-C\n"
	    "during run is forwarded to the job of every host (a second one: SIGKILL),\n"
	    "hosts not started yet are not started, and rpx waits for the jobs' ends.\n"
	    "      --hosts FILE     hosts, one URL or host per line; # comments\n"
	    "      --parallel N     hosts worked on at once (default %d)\n"
	    "      --host-timeout MS  deadline of each host's whole work (default none)\n"
	    "A bare host (no scheme, no port), one or many, finds rpxd's port through\n"
	    "the host's rpcbind (as clnt_create does), else uses port %d.\n",
	    RPX_FANOUT_PARALLEL, RPX_DEFAULT_PORT);
}

int rpx_cli_parse_duration(const char *opt, const char *arg, int bare_ms, int min_ms, int *ms)
{
	static const struct {
		const char *suffix;
		double ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	double n, unit = bare_ms;
	char *end;
	size_t i;

	errno = 0;
	n = strtod(arg, &end);
	if (end != arg && *end != '\0') {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcmp(end, units[i].suffix) == 0)
				break;
		unit = i < sizeof(units) / sizeof(units[0]) ? units[i].ms : -1;
	}
	if (errno == 0 && end != arg && unit > 0 && n >= 0 && n * unit <= (double)INT_MAX) {
		*ms = (int)(n * unit);
		if (*ms < n * unit)
			(*ms)++; /* rounded up: a deadline is never shorter than asked */
		if (*ms >= min_ms)
			return 0;
	}
	rpx_cli_warn("%s: expected a duration like %s, 500ms, 2s or 1m%s, got \"%s\"", opt,
	    bare_ms == 1 ? "250 (milliseconds)" : "10 (seconds)", min_ms > 0 ? " (not 0)" : "",
	    arg);
	return RPX_EXIT_USAGE;
}

int rpx_cli_common_opt(struct rpx_cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case 'H':
		if (cli->nhosts == RPX_CLI_MAX_HOSTS) {
			rpx_cli_warn("too many hosts (at most %d)", RPX_CLI_MAX_HOSTS);
			return RPX_EXIT_USAGE;
		}
		cli->hosts[cli->nhosts++] = arg;
		return 0;
	case 't':
		return rpx_cli_parse_duration("--timeout", arg, 1, 1, &cli->opts.timeout_ms);
	case 'R':
		return rpx_cli_parse_duration("--retry", arg, 1, 1, &cli->opts.retry_ms);
	case RPX_CLI_OPT_CA:
		cli->tls.ca_file = arg;
		return 0;
	case RPX_CLI_OPT_CERT:
		cli->tls.cert_file = arg;
		return 0;
	case RPX_CLI_OPT_KEY:
		cli->tls.key_file = arg;
		return 0;
	case RPX_CLI_OPT_HOSTS:
	case RPX_CLI_OPT_PARALLEL:
	case RPX_CLI_OPT_HOST_TIMEOUT:
		return rpx_cli_fan_opt(cli, opt, arg); /* fanout.c */
	default:
		return RPX_EXIT_USAGE;
	}
}

int rpx_cli_nhosts(const struct rpx_cli *cli)
{
	return cli->nhosts > 0 ? cli->nhosts : 1;
}

const char *rpx_cli_host(const struct rpx_cli *cli, int i)
{
	const char *env;

	if (cli->nhosts > 0)
		return cli->hosts[i];
	env = getenv("RPX_HOST");
	return env != NULL && env[0] != '\0' ? env : NULL;
}

/* An option's value, else the environment variable's (NULL when unset or empty). */
static const char *opt_or_env(const char *opt, const char *name)
{
	const char *env;

	if (opt != NULL)
		return opt;
	env = getenv(name);
	return env != NULL && env[0] != '\0' ? env : NULL;
}

void rpx_cli_tls_opts(const struct rpx_cli *cli, struct rpx_tls_opts *tls)
{
	memset(tls, 0, sizeof(*tls));
	tls->ca_file = opt_or_env(cli->tls.ca_file, "RPX_CA");
	tls->cert_file = opt_or_env(cli->tls.cert_file, "RPX_CERT");
	tls->key_file = opt_or_env(cli->tls.key_file, "RPX_KEY");
}

struct rpx_client *rpx_cli_open(const struct rpx_cli *cli, int i)
{
	struct rpx_tls_opts tls;
	struct rpx_client *cl;
	char err[512];

	rpx_cli_tls_opts(cli, &tls);
	cl = rpx_client_open_tls(rpx_cli_host(cli, i), &cli->opts, &tls, err, sizeof(err));
	if (cl == NULL)
		rpx_cli_warn("%s", err);
	return cl;
}

/* True when fd is a pipe or socket whose reading end has been closed. */
static int reader_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR) != 0;
}

static int run(struct rpx_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    RPX_CLI_COMMON_LONGOPTS,
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const struct rpx_cmd *cmd;
	int opt, ret;

	/* '+': stop at the subcommand, whose options are its own. */
	while (
	    (opt = getopt_long(argc, argv, "+" RPX_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return RPX_EXIT_OK;
		case 'V':
			printf("rpx %s (librpx %s)\n", RPX_VERSION, rpx_version());
			return RPX_EXIT_OK;
		case '?':
			fprintf(stderr, "Try 'rpx --help'.\n");
			return RPX_EXIT_USAGE;
		default:
			if ((ret = rpx_cli_common_opt(cli, opt, optarg)) != 0)
				return ret;
		}
	}
	if (optind >= argc) {
		rpx_cli_warn("missing command; try 'rpx --help'");
		return RPX_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 < argc && (cmd = find_command(argv[optind + 1])) != NULL)
			cmd->usage(stdout);
		else
			usage(stdout);
		return RPX_EXIT_OK;
	}
	if ((cmd = find_command(argv[optind])) == NULL) {
		rpx_cli_warn("unknown command \"%s\"; try 'rpx --help'", argv[optind]);
		return RPX_EXIT_USAGE;
	}
	/* librpx also guards its calls; this covers writes to a closed stdout pipe. */
	signal(SIGPIPE, SIG_IGN);
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: full re-initialisation for the subcommand's getopt_long */
	ret = cmd->run(cli, argc, argv);
	if ((fflush(stdout) != 0 || ferror(stdout)) && reader_gone(STDOUT_FILENO)) {
		/*
		 * The reader went away (rpx ps --all | head -1): end as any
		 * filter would, by the signal the ignored SIGPIPE stood for.
		 */
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
	}
	if (ferror(stdout) && ret == RPX_EXIT_OK) {
		rpx_cli_warn("write error on standard output");
		ret = RPX_EXIT_FAIL;
	}
	return ret;
}

int main(int argc, char **argv)
{
	static struct rpx_cli cli; /* large: not on the stack */
	int ret = run(&cli, argc, argv);

	for (int i = 0; i < cli.nowned; i++)
		free(cli.owned[i]);
	return ret;
}

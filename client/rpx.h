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

enum {
	RPX_EXIT_OK = 0,
	RPX_EXIT_FAIL = 1,
	RPX_EXIT_USAGE = 2,
};

#define RPX_CLI_MAX_HOSTS 64

/* Options shared by every subcommand, from the command line and the environment. */
struct rpx_cli {
	const char *hosts[RPX_CLI_MAX_HOSTS]; /* -H URL... ; none: $RPX_HOST, else the default */
	int nhosts;
	struct rpx_client_opts opts;
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
#define RPX_CLI_COMMON_LONGOPTS                                                            \
	{"host", required_argument, NULL, 'H'}, {"timeout", required_argument, NULL, 't'}, \
	    {"retry", required_argument, NULL, 'R'},                                       \
	{                                                                                  \
		"help", no_argument, NULL, 'h'                                             \
	}

/*
 * Handles a common option (H, t, R); returns 0, or RPX_EXIT_USAGE after
 * printing why. 'h' and '?' are the subcommand's business.
 */
int rpx_cli_common_opt(struct rpx_cli *cli, int opt, const char *arg);

/* The common options, for a subcommand's usage text. */
void rpx_cli_common_usage(FILE *out);

/* Number of hosts to contact: at least one (the default). */
int rpx_cli_nhosts(const struct rpx_cli *cli);

/* Host i as given (NULL: the library default URL). */
const char *rpx_cli_host(const struct rpx_cli *cli, int i);

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

/* JSON output (out_json.c). */
void rpx_json_string(FILE *out, const char *s);

#endif /* RPX_CLI_H */

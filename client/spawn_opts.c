/*
 * spawn_opts.c: the options that describe a job to start, shared by
 * `rpx spawn` and `rpx run`.
 *
 * Turns the command line into a struct rpx_spawn_opts for librpx's
 * rpx_proc_spawn(): repeatable --env/--unset/--label go into arrays sized
 * by argc, --stdin-file is read whole (up to the IDL's RPX_STDIN_MAX), and
 * the command is everything after the options (parsing stops at the first
 * word that is not an option, so `rpx spawn sh -c 'exit 3'` needs no
 * "--"). Bounds are checked by the library, which names the field.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "rpx.h"

enum {
	OPT_NAME = 256,
	OPT_CWD,
	OPT_ENV,
	OPT_UNSET,
	OPT_CLEAR_ENV,
	OPT_LABEL,
	OPT_STDIN_FILE,
	OPT_STDIN_TEXT,
	OPT_DISCARD_STDOUT,
	OPT_DISCARD_STDERR,
	OPT_SHELL,
	OPT_USER,
	OPT_CPU,
	OPT_AS,
	OPT_NOFILE,
	OPT_IMPORTANCE,
	OPT_JSON,
};

static const char *const importance_names[] = {
    [RPX_IMPORTANCE_DEFAULT] = "default",
    [RPX_IMPORTANCE_FOREGROUND] = "foreground",
    [RPX_IMPORTANCE_VISIBLE] = "visible",
    [RPX_IMPORTANCE_SERVICE] = "service",
    [RPX_IMPORTANCE_BACKGROUND] = "background",
    [RPX_IMPORTANCE_EMPTY] = "empty",
};

void rpx_cli_spawn_usage(FILE *out)
{
	fprintf(out,
	    "Job options:\n"
	    "      --name NAME          job name, shown by ps and usable as a filter\n"
	    "      --cwd DIR            absolute working directory on the host (default /)\n"
	    "      --env NAME=VALUE     set an environment variable; repeatable\n"
	    "      --unset NAME         remove an environment variable; repeatable\n"
	    "      --clear-env          start from an empty environment, not rpxd's\n"
	    "      --label KEY=VALUE    attach a label (ps --label filters); repeatable\n"
	    "      --stdin-file FILE    feed FILE (\"-\": our stdin) to the job's stdin, up to %d\n"
	    "                           bytes; default: /dev/null\n"
	    "      --stdin-text TEXT    feed TEXT to the job's stdin\n"
	    "      --discard-stdout     send the job's stdout to /dev/null instead of its log\n"
	    "      --discard-stderr     likewise stderr\n"
	    "      --shell              run COMMAND with /bin/sh -c (words joined by spaces)\n"
	    "      --user USER          run as USER (needs a root caller)\n"
	    "      --cpu SECONDS        CPU time limit (RLIMIT_CPU)\n"
	    "      --as BYTES           address space limit (RLIMIT_AS); suffixes K, M, G, T\n"
	    "      --nofile N           open files limit (RLIMIT_NOFILE)\n"
	    "      --importance CLASS   foreground, visible, service, background or empty\n"
	    "                           (sets the job's oom_score_adj)\n",
	    RPX_STDIN_MAX);
}

/* Decimal with an optional K/M/G/T (binary) suffix, when suffix is allowed. */
static int parse_u64(const char *s, int suffix, uint64_t *v)
{
	unsigned long long n, mult = 1;
	char *end;

	errno = 0;
	if (*s == '-' || *s == '\0')
		return -EINVAL;
	n = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return -EINVAL;
	if (suffix && *end != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'k':
		case 'K':
			mult = 1ull << 10;
			break;
		case 'm':
		case 'M':
			mult = 1ull << 20;
			break;
		case 'g':
		case 'G':
			mult = 1ull << 30;
			break;
		case 't':
		case 'T':
			mult = 1ull << 40;
			break;
		default:
			return -EINVAL;
		}
		end++;
	}
	if (*end != '\0' || n > UINT64_MAX / mult)
		return -EINVAL;
	*v = (uint64_t)(n * mult);
	return 0;
}

/* Reads all of path ("-": fd 0), at most RPX_STDIN_MAX bytes. */
static int read_stdin_file(const char *cmd, const char *path, struct rpx_cli_spawn *sp)
{
	size_t cap = 65536, len = 0;
	char *buf = NULL, *nbuf;
	int fd, ret = RPX_EXIT_FAIL;
	ssize_t n;

	fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rpx_cli_warn("%s: --stdin-file %s: %s", cmd, path, strerror(errno));
		return RPX_EXIT_FAIL;
	}
	for (;;) {
		if (len == cap || buf == NULL) {
			if (buf != NULL)
				cap *= 2;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				rpx_cli_warn("%s: out of memory", cmd);
				goto out;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rpx_cli_warn("%s: --stdin-file %s: %s", cmd, path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > RPX_STDIN_MAX) {
			rpx_cli_warn(
			    "%s: --stdin-file %s: more than %d bytes, the limit of one spawn", cmd,
			    path, RPX_STDIN_MAX);
			goto out;
		}
	}
	free(sp->stdin_buf);
	sp->stdin_buf = buf;
	sp->opts.stdin_data = buf;
	sp->opts.stdin_len = len;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	if (fd > 0)
		close(fd);
	return ret;
}

static int bad_value(const char *cmd, const char *opt, const char *want, const char *got)
{
	rpx_cli_warn("%s: %s: expected %s, got \"%s\"", cmd, opt, want, got);
	return RPX_EXIT_USAGE;
}

int rpx_cli_spawn_parse(struct rpx_cli *cli, const char *cmd, void (*usage)(FILE *out),
    int allow_json, int argc, char **argv, struct rpx_cli_spawn *sp, int *done)
{
	static const struct option longopts[] = {
	    RPX_CLI_COMMON_LONGOPTS,
	    {"name", required_argument, NULL, OPT_NAME},
	    {"cwd", required_argument, NULL, OPT_CWD},
	    {"env", required_argument, NULL, OPT_ENV},
	    {"unset", required_argument, NULL, OPT_UNSET},
	    {"clear-env", no_argument, NULL, OPT_CLEAR_ENV},
	    {"label", required_argument, NULL, OPT_LABEL},
	    {"stdin-file", required_argument, NULL, OPT_STDIN_FILE},
	    {"stdin-text", required_argument, NULL, OPT_STDIN_TEXT},
	    {"discard-stdout", no_argument, NULL, OPT_DISCARD_STDOUT},
	    {"discard-stderr", no_argument, NULL, OPT_DISCARD_STDERR},
	    {"shell", no_argument, NULL, OPT_SHELL},
	    {"user", required_argument, NULL, OPT_USER},
	    {"cpu", required_argument, NULL, OPT_CPU},
	    {"as", required_argument, NULL, OPT_AS},
	    {"nofile", required_argument, NULL, OPT_NOFILE},
	    {"importance", required_argument, NULL, OPT_IMPORTANCE},
	    {"json", no_argument, NULL, OPT_JSON},
	    {NULL, 0, NULL, 0},
	};
	size_t nset = 0, nunset = 0, nlabels = 0, i, len;
	int opt, ret;

	memset(sp, 0, sizeof(*sp));
	*done = 0;
	sp->env_set = calloc((size_t)argc + 1, sizeof(char *));
	sp->env_unset = calloc((size_t)argc + 1, sizeof(char *));
	sp->labels = calloc((size_t)argc + 1, sizeof(char *));
	if (sp->env_set == NULL || sp->env_unset == NULL || sp->labels == NULL) {
		rpx_cli_warn("%s: out of memory", cmd);
		return RPX_EXIT_FAIL;
	}
	/* '+': the command's own options are not ours. */
	while (
	    (opt = getopt_long(argc, argv, "+" RPX_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		uint64_t v;

		switch (opt) {
		case 'h':
			usage(stdout);
			*done = 1;
			return RPX_EXIT_OK;
		case OPT_NAME:
			sp->opts.name = optarg;
			break;
		case OPT_CWD:
			sp->opts.cwd = optarg;
			break;
		case OPT_ENV:
			if (strchr(optarg, '=') == NULL || optarg[0] == '=')
				return bad_value(cmd, "--env", "NAME=VALUE", optarg);
			sp->env_set[nset++] = optarg;
			break;
		case OPT_UNSET:
			if (optarg[0] == '\0' || strchr(optarg, '=') != NULL)
				return bad_value(cmd, "--unset", "a variable NAME", optarg);
			sp->env_unset[nunset++] = optarg;
			break;
		case OPT_CLEAR_ENV:
			sp->opts.flags |= RPX_SPAWN_CLEAR_ENV;
			break;
		case OPT_LABEL:
			if (strchr(optarg, '=') == NULL || optarg[0] == '=')
				return bad_value(cmd, "--label", "KEY=VALUE", optarg);
			sp->labels[nlabels++] = optarg;
			break;
		case OPT_STDIN_FILE:
			if ((ret = read_stdin_file(cmd, optarg, sp)) != 0)
				return ret;
			break;
		case OPT_STDIN_TEXT:
			free(sp->stdin_buf);
			sp->stdin_buf = NULL;
			sp->opts.stdin_data = optarg;
			sp->opts.stdin_len = strlen(optarg);
			break;
		case OPT_DISCARD_STDOUT:
			sp->opts.flags |= RPX_SPAWN_DISCARD_STDOUT;
			break;
		case OPT_DISCARD_STDERR:
			sp->opts.flags |= RPX_SPAWN_DISCARD_STDERR;
			break;
		case OPT_SHELL:
			sp->opts.flags |= RPX_SPAWN_SHELL;
			break;
		case OPT_USER:
			sp->opts.user = optarg;
			break;
		case OPT_CPU:
			if (parse_u64(optarg, 0, &v) < 0 || v == 0)
				return bad_value(cmd, "--cpu", "a positive number of seconds",
				    optarg);
			sp->opts.cpu_seconds = v;
			break;
		case OPT_AS:
			if (parse_u64(optarg, 1, &v) < 0 || v == 0)
				return bad_value(cmd, "--as", "a positive size like 512M", optarg);
			sp->opts.address_space = v;
			break;
		case OPT_NOFILE:
			if (parse_u64(optarg, 0, &v) < 0 || v == 0)
				return bad_value(cmd, "--nofile", "a positive number", optarg);
			sp->opts.open_files = v;
			break;
		case OPT_IMPORTANCE:
			for (i = 0; i < sizeof(importance_names) / sizeof(importance_names[0]);
			     i++) {
				if (strcasecmp(optarg, importance_names[i]) == 0)
					break;
			}
			if (i == sizeof(importance_names) / sizeof(importance_names[0]))
				return bad_value(cmd, "--importance",
				    "foreground, visible, service, background or empty", optarg);
			sp->opts.importance = (int)i;
			break;
		case OPT_JSON:
			if (!allow_json) {
				rpx_cli_warn("%s: unrecognized option '--json'", cmd);
				fprintf(stderr, "Try 'rpx %s --help'.\n", cmd);
				return RPX_EXIT_USAGE;
			}
			sp->json = 1;
			break;
		case '?':
			fprintf(stderr, "Try 'rpx %s --help'.\n", cmd);
			return RPX_EXIT_USAGE;
		default:
			if ((ret = rpx_cli_common_opt(cli, opt, optarg)) != 0)
				return ret;
		}
	}
	if (optind >= argc) {
		rpx_cli_warn("%s: missing command; usage: rpx %s [OPTIONS] [--] COMMAND [ARGS]...",
		    cmd, cmd);
		return RPX_EXIT_USAGE;
	}
	sp->opts.env_set = sp->env_set;
	sp->opts.env_unset = sp->env_unset;
	sp->opts.labels = sp->labels;
	sp->opts.argv = (const char *const *)&argv[optind];
	if ((sp->opts.flags & RPX_SPAWN_SHELL) && argc - optind > 1) {
		/* Like ssh: several words are one command line, joined by spaces. */
		for (len = 0, i = (size_t)optind; i < (size_t)argc; i++)
			len += strlen(argv[i]) + 1;
		if ((sp->shell_cmd = malloc(len)) == NULL) {
			rpx_cli_warn("%s: out of memory", cmd);
			return RPX_EXIT_FAIL;
		}
		sp->shell_cmd[0] = '\0';
		for (i = (size_t)optind; i < (size_t)argc; i++) {
			if (i > (size_t)optind)
				strcat(sp->shell_cmd, " ");
			strcat(sp->shell_cmd, argv[i]);
		}
		/* argv[optind] is replaced by the joined line; the rest is cut off. */
		argv[optind] = sp->shell_cmd;
		argv[optind + 1] = NULL;
	}
	return 0;
}

void rpx_cli_spawn_free(struct rpx_cli_spawn *sp)
{
	free(sp->env_set);
	free(sp->env_unset);
	free(sp->labels);
	free(sp->stdin_buf);
	free(sp->shell_cmd);
	memset(sp, 0, sizeof(*sp));
}

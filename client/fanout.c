/*
 * fanout.c: one rpx command on many hosts (-H more than once, --hosts FILE)
 * from one event loop, through librpx's fan-out (rpx/fanout.h).
 *
 * The driver owns what every command shares: the event_base, the list of
 * hosts, attribution of output (each line "HOST: line", or with --json the
 * host as the first member of each object), the progress line on a
 * terminal, one "rpx: HOST: why" line per failed host, the summary on
 * stderr and the exit status. A command contributes a struct rpx_cli_fan_cmd
 * (fanout_cmds.c): start() makes the host's first call and each callback
 * the next, until rpx_cli_fan_done() or rpx_cli_fan_exit().
 *
 * Signals (run): SIGINT, SIGTERM and SIGHUP arrive as libevent signal
 * events on the same loop. The first is forwarded as itself, the second as
 * SIGKILL, to every host that started and is not done (the command's
 * forward()); hosts still waiting for their turn are not started. The loop
 * then goes on until every host has reported how its job ended.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#include "rpx.h"

struct fan {
	const struct rpx_cli_fan_cmd *cmd;
	const void *req;
	int json;
	struct rpx_cli_fan_host *hosts;
	size_t nhosts, ndone, nfailed;
	struct event_base *base;
	struct rpx_fanout *fanout;
	struct event *progress;
	int progress_shown;
	struct event *signals[3];
	int forwarded; /* signals forwarded so far (at most 2) */
};

static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void progress_clear(struct fan *f)
{
	if (f->progress_shown) {
		fputs("\r\033[K", stderr);
		f->progress_shown = 0;
	}
}

/* Prints one complete line of host h. */
static void emit_line(struct rpx_cli_fan_host *h, int stream, const char *line, size_t len)
{
	FILE *out = stream == 2 ? stderr : stdout;

	progress_clear(h->fan);
	if (h->fan->json && stream == 1 && len > 0 && line[0] == '{') {
		fputs("{\"host\":", out);
		rpx_json_string(out, h->name);
		if (len > 1 && line[1] != '}')
			fputc(',', out);
		fwrite(line + 1, 1, len - 1, out);
	} else {
		fprintf(out, "%s: ", h->name);
		fwrite(line, 1, len, out);
	}
	fputc('\n', out);
	fflush(out);
}

void rpx_cli_fan_write(struct rpx_cli_fan_host *h, int stream, const void *data, size_t len)
{
	struct rpx_cli_fan_lines *b = &h->lines[stream == 2 ? 1 : 0];
	const char *p = data, *nl;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		if (nl == NULL) {
			if (b->len + len > b->cap) {
				size_t cap = (b->len + len) * 2;
				char *d = realloc(b->data, cap);

				if (d == NULL)
					return; /* keep what fits; this is output, not state */
				b->data = d;
				b->cap = cap;
			}
			memcpy(b->data + b->len, p, len);
			b->len += len;
			return;
		}
		if (b->len > 0) {
			size_t n = (size_t)(nl - p);
			char *d = realloc(b->data, b->len + n + 1);

			if (d != NULL) {
				b->data = d;
				memcpy(b->data + b->len, p, n);
				emit_line(h, stream, b->data, b->len + n);
			}
			b->len = 0;
		} else {
			emit_line(h, stream, p, (size_t)(nl - p));
		}
		len -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
}

void rpx_cli_fan_printf(struct rpx_cli_fan_host *h, int stream, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n > 0)
		rpx_cli_fan_write(h, stream, text, (size_t)n);
	free(text);
}

static void flush_partial(struct rpx_cli_fan_host *h)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (h->lines[i].len > 0)
			emit_line(h, i + 1, h->lines[i].data, h->lines[i].len);
		h->lines[i].len = 0;
	}
}

int rpx_cli_fan_gone(const struct rpx_cli_fan_host *h)
{
	return h->fh == NULL || rpx_fanout_host_is_done(h->fh);
}

void rpx_cli_fan_done(struct rpx_cli_fan_host *h, int err, const char *fmt, ...)
{
	char msg[512] = "";
	va_list ap;

	if (rpx_cli_fan_gone(h))
		return;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	rpx_fanout_host_done(h->fh, err, "%s", msg);
}

void rpx_cli_fan_exit(struct rpx_cli_fan_host *h, int status)
{
	h->status = status;
	rpx_cli_fan_done(h, 0, NULL);
}

static void on_host_start(struct rpx_fanout_host *fh, struct rpx_async *c, void *arg)
{
	struct rpx_cli_fan_host *h = rpx_fanout_host_arg(fh);

	(void)arg;
	h->fh = fh;
	h->conn = c;
	h->started = 1;
	if (h->fan->forwarded > 0) {
		rpx_cli_fan_done(h, -ECANCELED, "%s: not started: interrupted", h->name);
		return;
	}
	h->fan->cmd->start(h, c);
}

static void on_host_done(struct rpx_fanout_host *fh, int err, const char *errmsg, void *arg)
{
	struct rpx_cli_fan_host *h = rpx_fanout_host_arg(fh);
	struct fan *f = arg;

	h->conn = NULL;
	flush_partial(h);
	h->err = err;
	f->ndone++;
	if (err < 0) {
		snprintf(h->errmsg, sizeof(h->errmsg), "%s", errmsg[0] ? errmsg : strerror(-err));
		f->nfailed++;
		progress_clear(f);
		if (strncmp(h->errmsg, h->name, strlen(h->name)) == 0 ||
		    strncmp(h->errmsg, rpx_fanout_host_url(fh), strlen(rpx_fanout_host_url(fh))) ==
		        0)
			rpx_cli_warn("%s", h->errmsg);
		else
			rpx_cli_warn("%s: %s", h->name, h->errmsg);
		if (f->json)
			emit_line(h, 1, "{\"ok\":false}", 12);
	} else if (h->status != 0) {
		f->nfailed++;
	}
	if (f->cmd->cleanup != NULL)
		f->cmd->cleanup(h);
	h->fh = NULL;
	/* The last host: leave the loop now, not at the next check (the command's events may remain). */
	if (rpx_fanout_remaining(f->fanout) == 0)
		event_base_loopbreak(f->base);
}

static void on_progress(evutil_socket_t fd, short what, void *arg)
{
	struct fan *f = arg;

	(void)fd;
	(void)what;
	fprintf(stderr, "\r%s: %zu/%zu hosts done, %zu running, %zu failed\033[K", f->cmd->name,
	    f->ndone, f->nhosts, rpx_fanout_running(f->fanout), f->nfailed);
	fflush(stderr);
	f->progress_shown = 1;
	if (rpx_fanout_remaining(f->fanout) == 0)
		event_del(f->progress);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct fan *f = arg;
	size_t i, n = 0;
	int fwd;

	(void)what;
	if (f->forwarded >= 2)
		return;
	fwd = f->forwarded++ == 0 ? (int)sig : SIGKILL;
	for (i = 0; i < f->nhosts; i++) {
		struct rpx_cli_fan_host *h = &f->hosts[i];

		if (h->started && !rpx_cli_fan_gone(h)) {
			f->cmd->forward(h, fwd);
			n++;
		}
	}
	progress_clear(f);
	rpx_cli_warn("%s: SIG%s: SIG%s forwarded to the jobs of %zu hosts%s", f->cmd->name,
	    rpx_signal_name((int)sig), rpx_signal_name(fwd), n,
	    f->nhosts > f->ndone + n ? "; hosts not started yet will not be" : "");
}

/* Stops the loop once every host is done (the command's own events may remain). */
static void on_check_done(evutil_socket_t fd, short what, void *arg)
{
	struct fan *f = arg;

	(void)fd;
	(void)what;
	if (rpx_fanout_remaining(f->fanout) == 0)
		event_base_loopbreak(f->base);
}

static void summary(struct fan *f)
{
	size_t i, listed = 0;

	progress_clear(f);
	fprintf(stderr, "%zu hosts: %zu ok, %zu failed", f->nhosts, f->nhosts - f->nfailed,
	    f->nfailed);
	for (i = 0; i < f->nhosts; i++) {
		struct rpx_cli_fan_host *h = &f->hosts[i];

		if (h->err == 0 && h->status == 0)
			continue;
		fputs(listed++ ? "; " : " (", stderr);
		if (h->err < 0)
			fputs(h->errmsg, stderr);
		else
			fprintf(stderr, "%s: exit status %d", h->name, h->status);
	}
	fputs(listed ? ")\n" : "\n", stderr);
}

int rpx_cli_fanout(struct rpx_cli *cli, const struct rpx_cli_fan_cmd *cmd, const void *req,
    int json)
{
	struct rpx_fanout_opts fo;
	struct fan f;
	struct event *check = NULL;
	struct timeval tick = {0, 200000};
	size_t i;
	int ret = RPX_EXIT_FAIL;

	memset(&f, 0, sizeof(f));
	f.cmd = cmd;
	f.req = req;
	f.json = json;
	f.nhosts = (size_t)cli->nhosts;
	if ((f.hosts = calloc(f.nhosts, sizeof(*f.hosts))) == NULL ||
	    (f.base = event_base_new()) == NULL) {
		rpx_cli_warn("%s: out of memory", cmd->name);
		goto out;
	}
	memset(&fo, 0, sizeof(fo));
	fo.parallel = cli->parallel;
	fo.host_timeout_ms = cli->host_timeout_ms;
	fo.rpcbind_prog = cmd->prog;
	fo.async.timeout_ms = cli->opts.timeout_ms;
	fo.async.retry_ms = cli->opts.retry_ms;
	fo.async.tls_ca_file = cli->tls.ca_file != NULL ? cli->tls.ca_file : getenv("RPX_CA");
	fo.async.tls_cert_file =
	    cli->tls.cert_file != NULL ? cli->tls.cert_file : getenv("RPX_CERT");
	fo.async.tls_key_file = cli->tls.key_file != NULL ? cli->tls.key_file : getenv("RPX_KEY");
	if ((f.fanout = rpx_fanout_new(f.base, &fo, on_host_start, on_host_done, &f)) == NULL) {
		rpx_cli_warn("%s: cannot set up the fan-out", cmd->name);
		goto out;
	}
	for (i = 0; i < f.nhosts; i++) {
		f.hosts[i].fan = &f;
		f.hosts[i].name = cli->hosts[i];
		f.hosts[i].req = req;
		f.hosts[i].index = (int)i;
		if (rpx_fanout_add(f.fanout, cli->hosts[i], &f.hosts[i]) < 0) {
			rpx_cli_warn("%s: bad host \"%s\"", cmd->name, cli->hosts[i]);
			goto out;
		}
	}
	if (isatty(STDERR_FILENO)) {
		f.progress = event_new(f.base, -1, EV_PERSIST, on_progress, &f);
		if (f.progress != NULL)
			event_add(f.progress, &tick);
	}
	for (i = 0; cmd->forward != NULL && i < 3; i++) {
		f.signals[i] = evsignal_new(f.base, forwarded_signals[i], on_signal, &f);
		if (f.signals[i] == NULL || event_add(f.signals[i], NULL) < 0) {
			rpx_cli_warn("%s: cannot catch SIG%s", cmd->name,
			    rpx_signal_name(forwarded_signals[i]));
			goto out;
		}
	}
	check = event_new(f.base, -1, EV_PERSIST, on_check_done, &f);
	if (check == NULL || event_add(check, &(struct timeval){0, 50000}) < 0 ||
	    rpx_fanout_start(f.fanout) < 0) {
		rpx_cli_warn("%s: cannot start the fan-out", cmd->name);
		goto out;
	}
	event_base_dispatch(f.base);
	fflush(stdout);
	summary(&f);
	ret = f.nfailed == 0 ? RPX_EXIT_OK : RPX_EXIT_FAIL;
out:
	if (check != NULL)
		event_free(check);
	if (f.progress != NULL)
		event_free(f.progress);
	for (i = 0; i < 3; i++) {
		if (f.signals[i] != NULL)
			event_free(f.signals[i]);
	}
	rpx_fanout_free(f.fanout);
	for (i = 0; f.hosts != NULL && i < f.nhosts; i++) {
		free(f.hosts[i].lines[0].data);
		free(f.hosts[i].lines[1].data);
	}
	free(f.hosts);
	if (f.base != NULL)
		event_base_free(f.base);
	return ret;
}

int rpx_cli_fan_json(const struct rpx_cli_fan_host *h)
{
	return h->fan->json;
}

int rpx_cli_fan_wanted(const struct rpx_cli *cli)
{
	return cli->nhosts > 1;
}

static int parse_count(const char *opt, const char *arg, int min, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || n < min || n > 1000000) {
		rpx_cli_warn("%s: expected a number from %d, got \"%s\"", opt, min, arg);
		return RPX_EXIT_USAGE;
	}
	*out = (int)n;
	return 0;
}

/* One URL or host per line; '#' starts a comment; blank lines are skipped. */
static int read_hosts(struct rpx_cli *cli, const char *path)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL, *p, *end;
	size_t cap = 0;
	int ret = 0;

	if (in == NULL) {
		rpx_cli_warn("--hosts: %s: %s", path, strerror(errno));
		return RPX_EXIT_USAGE;
	}
	while (ret == 0 && getline(&line, &cap, in) >= 0) {
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		for (end = p + strlen(p); end > p && strchr(" \t\r\n", end[-1]) != NULL; end--)
			;
		*end = '\0';
		if (*p == '\0')
			continue;
		if (cli->nhosts == RPX_CLI_MAX_HOSTS) {
			rpx_cli_warn("too many hosts (at most %d)", RPX_CLI_MAX_HOSTS);
			ret = RPX_EXIT_USAGE;
		} else if ((cli->owned[cli->nowned] = strdup(p)) == NULL) {
			rpx_cli_warn("out of memory");
			ret = RPX_EXIT_FAIL;
		} else {
			cli->hosts[cli->nhosts++] = cli->owned[cli->nowned++];
		}
	}
	free(line);
	if (in != stdin)
		fclose(in);
	return ret;
}

int rpx_cli_fan_opt(struct rpx_cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case RPX_CLI_OPT_HOSTS:
		return read_hosts(cli, arg);
	case RPX_CLI_OPT_PARALLEL:
		return parse_count("--parallel", arg, 1, &cli->parallel);
	case RPX_CLI_OPT_HOST_TIMEOUT:
		return rpx_cli_parse_duration("--host-timeout", arg, 1, 1, &cli->host_timeout_ms);
	default:
		return RPX_EXIT_USAGE;
	}
}

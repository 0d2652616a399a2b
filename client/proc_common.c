/*
 * proc_common.c: what the PROC subcommands (spawn, run, ps, info, kill,
 * wait, logs) share: opening the one host they talk to, job IDs, how a
 * job's end becomes our exit status and text, and the OUTPUT reading loop
 * that `rpx logs` and `rpx run` use to copy a job's streams to ours.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpx.h"

struct rpx_client *rpx_cli_open_one(const struct rpx_cli *cli, const char *cmd, int *status)
{
	struct rpx_client *cl;

	if (rpx_cli_nhosts(cli) > 1) {
		rpx_cli_warn("%s: one host at a time (got %d -H options)", cmd, cli->nhosts);
		*status = RPX_EXIT_USAGE;
		return NULL;
	}
	if ((cl = rpx_cli_open(cli, 0)) == NULL)
		*status = RPX_EXIT_FAIL;
	return cl;
}

int rpx_cli_parse_job(const char *cmd, const char *text, uint64_t *job)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || text[0] == '+' ||
	    n == 0) {
		rpx_cli_warn("%s: bad job ID \"%s\" (expected a number as printed by rpx spawn)",
		    cmd, text);
		return -EINVAL;
	}
	*job = (uint64_t)n;
	return 0;
}

int rpx_cli_exit_status(const rpx_exit *e)
{
	switch (e->how) {
	case RPX_EXIT_EXITED:
		return e->code & 0xff;
	case RPX_EXIT_SIGNALED:
		return 128 + (e->signal & 0x7f);
	default:
		return RPX_EXIT_FAIL;
	}
}

void rpx_cli_exit_text(const rpx_exit *e, char *buf, size_t len)
{
	const char *name = rpx_signal_name(e->signal);

	switch (e->how) {
	case RPX_EXIT_NONE:
		snprintf(buf, len, "running");
		break;
	case RPX_EXIT_EXITED:
		snprintf(buf, len, "exited with code %d", e->code);
		break;
	case RPX_EXIT_SIGNALED:
		snprintf(buf, len, "killed by signal %d (%s)%s", e->signal,
		    name != NULL ? name : "?", e->core ? ", core dumped" : "");
		break;
	default:
		snprintf(buf, len, "ended, status unknown");
	}
}

void rpx_json_exit_members(FILE *out, const rpx_exit *e)
{
	static const char *const how[] = {"running", "exited", "signaled", "unknown"};
	const char *name = rpx_signal_name(e->signal);

	fprintf(out, "\"how\":\"%s\",\"code\":%d,\"signal\":%d,\"signal_name\":",
	    (unsigned)e->how < 4 ? how[e->how] : "unknown", e->code, e->signal);
	if (e->how == RPX_EXIT_SIGNALED && name != NULL)
		rpx_json_string(out, name);
	else
		fputs("null", out);
	fprintf(out,
	    ",\"core\":%s,\"utime_us\":%" PRIu64 ",\"stime_us\":%" PRIu64 ",\"maxrss_kb\":%" PRIu64
	    ",\"runtime_ns\":%" PRIu64,
	    e->core ? "true" : "false", (uint64_t)e->utime_us, (uint64_t)e->stime_us,
	    (uint64_t)e->maxrss_kb, (uint64_t)e->runtime_ns);
}

/* All of buf to fd; 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int rpx_cli_copy_output(struct rpx_client *cl, const char *cmd, uint64_t job, unsigned int streams,
    int follow, int slice_ms, int (*tick)(void *arg), void *arg)
{
	static const char *const stream_name[] = {"stdout", "stderr"};
	uint64_t offset[2] = {0, 0};
	unsigned int want = streams;
	rpx_output_args a;
	rpx_output_res res;
	int ret, s, ended;

	while (want != 0) {
		size_t got = 0;

		memset(&a, 0, sizeof(a));
		a.job = job;
		a.stdout_offset = offset[0];
		a.stderr_offset = offset[1];
		a.streams = want;
		a.follow = follow ? TRUE : FALSE;
		a.timeout_ms = follow ? slice_ms : 0;
		if ((ret = rpx_proc_output(cl, &a, &res)) < 0) {
			rpx_cli_warn("%s: %s", cmd, rpx_client_error(cl));
			return ret;
		}
		for (s = 0; s < 2; s++) {
			const rpx_chunk *c = s == 0 ? &res.out : &res.err;

			if (!(want & (1u << s)))
				continue;
			if (c->dropped > 0)
				rpx_cli_warn(
				    "%s: %" PRIu64
				    " bytes of the job's %s were dropped from its log (it keeps the latest only)",
				    cmd, (uint64_t)c->dropped, stream_name[s]);
			if (c->data.data_len > 0 && (ret = write_all(s == 0 ? 1 : 2,
			                                 c->data.data_val, c->data.data_len)) < 0) {
				rpx_proc_output_free(&res);
				/* A closed pipe (rpx logs | head) is the reader's choice, not an error. */
				if (ret != -EPIPE)
					rpx_cli_warn("%s: write to %s: %s", cmd, stream_name[s],
					    strerror(-ret));
				return ret;
			}
			got += c->data.data_len;
			offset[s] = c->offset + c->data.data_len;
			if (c->eof)
				want &= ~(1u << s);
		}
		ended = res.ended;
		rpx_proc_output_free(&res);
		if (want == 0 || (got == 0 && (!follow || ended)))
			break;
		if (tick != NULL && (ret = tick(arg)) != 0)
			return ret;
	}
	return 0;
}

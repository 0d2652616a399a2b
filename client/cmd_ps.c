/*
 * cmd_ps.c: `rpx ps` and `rpx info`, processes and jobs (LIST, INFO).
 *
 * ps prints a table in the manner of ps -el (JOB PID PPID PGID S UID PRI NI
 * RSS TIME CMD): the caller's jobs, or with --all every process of the
 * host, page after page (LIST's cursor). --tree orders the rows by parent
 * links and indents CMD the way ps --forest does; --json prints one object
 * per process and line (with "depth" under --tree). info shows one job in
 * detail, as "field value" lines or one JSON object.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rpx.h"

static const char *const state_names[] = {
    [RPX_PSTATE_NEW] = "new",
    [RPX_PSTATE_RUNNING] = "running",
    [RPX_PSTATE_WAITING] = "waiting",
    [RPX_PSTATE_STOPPED] = "stopped",
    [RPX_PSTATE_TERMINATED] = "terminated",
};

static const char *state_name(rpx_pstate s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

struct ps_req {
	struct rpx_list_opts opts;
	int tree;
	int json;
	char *label_buf;
};

void rpx_cmd_ps_usage(FILE *out)
{
	fprintf(out,
	    "usage: rpx [-H URL]... ps [--all] [--tree] [--state S] [--name N] [--label K=V] [--json]\n"
	    "\n"
	    "List your jobs on the host (with --all: every process of the host) as a\n"
	    "table: JOB PID PPID PGID S UID PRI NI RSS(kB) TIME CMD. JOB is \"-\" for a\n"
	    "process that is not a job of rpxd's.\n"
	    "\n"
	    "Options:\n"
	    "  -a, --all            every process of the host, not only your jobs\n"
	    "      --tree           order by parent links, children indented under parents\n"
	    "      --state S        only these states, comma-separated: new, running,\n"
	    "                       waiting (or sleeping), stopped, terminated (or ended)\n"
	    "      --name N         only jobs named N (or processes whose comm is N)\n"
	    "      --label K=V      only jobs with this label\n"
	    "      --json           one JSON object per process and line\n"
	    "      --page-size N    entries per LIST call (1..%d; default: the server's)\n",
	    RPX_LIST_MAX);
	rpx_cli_common_usage(out);
}

void rpx_cmd_info_usage(FILE *out)
{
	fprintf(out, "usage: rpx [-H URL]... info [--json] JOB\n"
	             "\n"
	             "Show one job in detail: process fields, command, working directory,\n"
	             "labels, output sizes, and how it ended. With several hosts, job JOB\n"
	             "of each host, every line prefixed by its host.\n"
	             "\n"
	             "Options:\n"
	             "      --json           one JSON object\n");
	rpx_cli_common_usage(out);
}

static int parse_states(const char *text, unsigned int *mask)
{
	static const struct {
		const char *name;
		rpx_pstate state;
	} names[] = {
	    {"new", RPX_PSTATE_NEW},
	    {"running", RPX_PSTATE_RUNNING},
	    {"R", RPX_PSTATE_RUNNING},
	    {"waiting", RPX_PSTATE_WAITING},
	    {"sleeping", RPX_PSTATE_WAITING},
	    {"S", RPX_PSTATE_WAITING},
	    {"D", RPX_PSTATE_WAITING},
	    {"stopped", RPX_PSTATE_STOPPED},
	    {"T", RPX_PSTATE_STOPPED},
	    {"terminated", RPX_PSTATE_TERMINATED},
	    {"ended", RPX_PSTATE_TERMINATED},
	    {"zombie", RPX_PSTATE_TERMINATED},
	    {"Z", RPX_PSTATE_TERMINATED},
	};
	const char *p = text;
	size_t i, len;

	*mask = 0;
	while (*p != '\0') {
		len = strcspn(p, ",");
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strlen(names[i].name) == len && strncasecmp(p, names[i].name, len) == 0)
				break;
		}
		if (i == sizeof(names) / sizeof(names[0]))
			return -EINVAL;
		*mask |= 1u << names[i].state;
		p += len;
		if (*p == ',')
			p++;
	}
	return *mask != 0 ? 0 : -EINVAL;
}

/* CPU time as ps prints it: [DD-]HH:MM:SS. */
static void format_cpu(uint64_t us, char *buf, size_t len)
{
	uint64_t s = us / 1000000;

	if (s >= 86400)
		snprintf(buf, len, "%" PRIu64 "-%02u:%02u:%02u", s / 86400,
		    (unsigned)(s % 86400 / 3600), (unsigned)(s % 3600 / 60), (unsigned)(s % 60));
	else
		snprintf(buf, len, "%02u:%02u:%02u", (unsigned)(s / 3600),
		    (unsigned)(s % 3600 / 60), (unsigned)(s % 60));
}

static void print_header(FILE *out)
{
	fprintf(out, "%7s %7s %7s %7s S %5s %3s %3s %8s %10s CMD\n", "JOB", "PID", "PPID", "PGID",
	    "UID", "PRI", "NI", "RSS", "TIME");
}

static void print_row(FILE *out, const rpx_pinfo *p, int depth)
{
	char job[24], cpu[32];
	int i;

	if (p->job != 0)
		snprintf(job, sizeof(job), "%" PRIu64, (uint64_t)p->job);
	else
		snprintf(job, sizeof(job), "-");
	format_cpu(p->utime_us + p->stime_us, cpu, sizeof(cpu));
	fprintf(out, "%7s %7d %7d %7d %-1s %5u %3d %3d %8" PRIu64 " %10s ", job, p->pid, p->ppid,
	    p->pgid, p->state_code != NULL && p->state_code[0] != '\0' ? p->state_code : "?",
	    p->uid, p->priority, p->nice, (uint64_t)p->rss_kb, cpu);
	/* ps --forest: four columns per level, "\_ " before a child. */
	for (i = 1; i < depth; i++)
		fputs("    ", out);
	if (depth > 0)
		fputs(" \\_ ", out);
	if (p->cmdline != NULL && p->cmdline[0] != '\0')
		fprintf(out, "%s\n", p->cmdline);
	else
		fprintf(out, "[%s]\n", p->name != NULL ? p->name : "");
}

static void json_labels(FILE *out, const rpx_label *l, u_int n)
{
	u_int i;

	fputc('{', out);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', out);
		rpx_json_string(out, l[i].key);
		fputc(':', out);
		rpx_json_string(out, l[i].value);
	}
	fputc('}', out);
}

/* The members of one process, without braces. */
static void json_pinfo_members(FILE *out, const rpx_pinfo *p)
{
	fprintf(out, "\"job\":%" PRIu64 ",\"name\":", (uint64_t)p->job);
	rpx_json_string(out, p->name);
	fprintf(out, ",\"pid\":%d,\"ppid\":%d,\"pgid\":%d,\"sid\":%d,\"uid\":%u,\"state\":\"%s\",",
	    p->pid, p->ppid, p->pgid, p->sid, p->uid, state_name(p->state));
	fputs("\"state_code\":", out);
	rpx_json_string(out, p->state_code);
	fprintf(out,
	    ",\"priority\":%d,\"nice\":%d,\"threads\":%u,\"start\":%" PRId64 ".%09u,"
	    "\"utime_us\":%" PRIu64 ",\"stime_us\":%" PRIu64 ",\"rss_kb\":%" PRIu64
	    ",\"vol_ctxsw\":%" PRIu64 ",\"invol_ctxsw\":%" PRIu64 ",\"open_fds\":%d,\"cmdline\":",
	    p->priority, p->nice, p->threads, (int64_t)p->start_sec, p->start_nsec,
	    (uint64_t)p->utime_us, (uint64_t)p->stime_us, (uint64_t)p->rss_kb,
	    (uint64_t)p->vol_ctxsw, (uint64_t)p->invol_ctxsw, p->open_fds);
	rpx_json_string(out, p->cmdline);
	fputs(",\"exit\":", out);
	if (p->exit.how == RPX_EXIT_NONE) {
		fputs("null", out);
	} else {
		fputc('{', out);
		rpx_json_exit_members(out, &p->exit);
		fputc('}', out);
	}
	fputs(",\"labels\":", out);
	json_labels(out, p->labels.labels_val, p->labels.labels_len);
}

static void print_json(FILE *out, const rpx_pinfo *p, int depth)
{
	fputc('{', out);
	json_pinfo_members(out, p);
	if (depth >= 0)
		fprintf(out, ",\"depth\":%d", depth);
	fputs("}\n", out);
}

/* For the fan-out (fanout_cmds.c): the table's header, one row, or one JSON line. */
void rpx_cli_ps_header(FILE *out)
{
	print_header(out);
}

void rpx_cli_ps_row(FILE *out, const rpx_pinfo *p, int json)
{
	if (json)
		print_json(out, p, -1);
	else
		print_row(out, p, 0);
}

static int print_flat(const rpx_pinfo *p, void *arg)
{
	const struct ps_req *req = arg;

	if (req->json)
		print_json(stdout, p, -1);
	else
		print_row(stdout, p, 0);
	return 0;
}

/* All rows of a LIST, kept for --tree: the pages and pointers into them. */
struct ps_rows {
	rpx_list_res *pages;
	size_t npages;
	const rpx_pinfo **rows;
	size_t nrows;
	char *printed;
};

static int collect(struct rpx_client *cl, const struct ps_req *req, struct ps_rows *t)
{
	uint64_t cursor = 0;
	size_t total = 0, i;
	rpx_list_res *pages;
	u_int j;
	int ret, more;

	do {
		if ((pages = realloc(t->pages, (t->npages + 1) * sizeof(*pages))) == NULL)
			return -ENOMEM;
		t->pages = pages;
		if ((ret = rpx_proc_list(cl, &req->opts, cursor, &t->pages[t->npages])) < 0)
			return ret;
		more = t->pages[t->npages].more;
		if (more && t->pages[t->npages].next_cursor == cursor) {
			t->npages++;
			return -EPROTO;
		}
		cursor = t->pages[t->npages].next_cursor;
		total += t->pages[t->npages].entries.entries_len;
		t->npages++;
	} while (more);
	if ((t->rows = calloc(total + 1, sizeof(*t->rows))) == NULL ||
	    (t->printed = calloc(total + 1, 1)) == NULL)
		return -ENOMEM;
	for (i = 0; i < t->npages; i++)
		for (j = 0; j < t->pages[i].entries.entries_len; j++)
			t->rows[t->nrows++] = &t->pages[i].entries.entries_val[j];
	return 0;
}

static void free_rows(struct ps_rows *t)
{
	size_t i;

	for (i = 0; i < t->npages; i++)
		rpx_proc_list_free(&t->pages[i]);
	free(t->pages);
	free(t->rows);
	free(t->printed);
}

static int has_pid(const struct ps_rows *t, int pid)
{
	size_t i;

	for (i = 0; i < t->nrows; i++)
		if (t->rows[i]->pid == pid)
			return 1;
	return 0;
}

/* Row r and, under it, its children (rows whose ppid is its pid). */
static void print_subtree(const struct ps_req *req, struct ps_rows *t, size_t r, int depth)
{
	size_t i;

	t->printed[r] = 1;
	if (req->json)
		print_json(stdout, t->rows[r], depth);
	else
		print_row(stdout, t->rows[r], depth);
	for (i = 0; i < t->nrows; i++) {
		/* printed[] also breaks a cycle of parent links, should /proc change under us. */
		if (!t->printed[i] && t->rows[i]->ppid == t->rows[r]->pid &&
		    t->rows[i]->pid != t->rows[r]->pid)
			print_subtree(req, t, i, depth + 1);
	}
}

static int ps_tree(struct rpx_client *cl, const struct ps_req *req)
{
	struct ps_rows t;
	size_t i;
	int ret;

	memset(&t, 0, sizeof(t));
	if ((ret = collect(cl, req, &t)) < 0) {
		if (ret == -ENOMEM)
			rpx_cli_warn("ps: out of memory");
		else if (ret == -EPROTO)
			rpx_cli_warn("ps: server: LIST returned the same cursor again");
		else
			rpx_cli_warn("ps: %s", rpx_client_error(cl));
		free_rows(&t);
		return RPX_EXIT_FAIL;
	}
	if (!req->json)
		print_header(stdout);
	/* Roots: rows whose parent is not listed; then whatever a cycle left over. */
	for (i = 0; i < t.nrows; i++)
		if (!t.printed[i] && !has_pid(&t, t.rows[i]->ppid))
			print_subtree(req, &t, i, 0);
	for (i = 0; i < t.nrows; i++)
		if (!t.printed[i])
			print_subtree(req, &t, i, 0);
	free_rows(&t);
	return RPX_EXIT_OK;
}

int rpx_cmd_ps(struct rpx_cli *cli, int argc, char **argv)
{
	enum { OPT_TREE = 256, OPT_STATE, OPT_NAME, OPT_LABEL, OPT_JSON, OPT_PAGE_SIZE };
	static const struct option longopts[] = {
	    RPX_CLI_COMMON_LONGOPTS,
	    {"all", no_argument, NULL, 'a'},
	    {"tree", no_argument, NULL, OPT_TREE},
	    {"state", required_argument, NULL, OPT_STATE},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"label", required_argument, NULL, OPT_LABEL},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"page-size", required_argument, NULL, OPT_PAGE_SIZE},
	    {NULL, 0, NULL, 0},
	};
	struct rpx_client *cl = NULL;
	struct ps_req req;
	int opt, ret;
	char *eq;

	memset(&req, 0, sizeof(req));
	while (
	    (opt = getopt_long(argc, argv, RPX_CLI_COMMON_SHORTOPTS "a", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			rpx_cmd_ps_usage(stdout);
			return RPX_EXIT_OK;
		case 'a':
			req.opts.all = 1;
			break;
		case OPT_TREE:
			req.tree = 1;
			break;
		case OPT_STATE:
			if (parse_states(optarg, &req.opts.state_mask) < 0) {
				rpx_cli_warn(
				    "ps: --state: expected states like running,waiting "
				    "(new, running, waiting, stopped, terminated), got \"%s\"",
				    optarg);
				return RPX_EXIT_USAGE;
			}
			break;
		case OPT_NAME:
			req.opts.name = optarg;
			break;
		case OPT_LABEL:
			if (req.opts.label_key != NULL) {
				rpx_cli_warn("ps: one --label at a time");
				return RPX_EXIT_USAGE;
			}
			if ((eq = strchr(optarg, '=')) == NULL || eq == optarg) {
				rpx_cli_warn("ps: --label: expected KEY=VALUE, got \"%s\"", optarg);
				return RPX_EXIT_USAGE;
			}
			*eq = '\0';
			req.opts.label_key = optarg;
			req.opts.label_value = eq + 1;
			break;
		case OPT_JSON:
			req.json = 1;
			break;
		case OPT_PAGE_SIZE: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (end == optarg || *end != '\0' || optarg[0] == '-' || n == 0 ||
			    n > RPX_LIST_MAX) {
				rpx_cli_warn("ps: --page-size: expected 1..%d, got \"%s\"",
				    RPX_LIST_MAX, optarg);
				return RPX_EXIT_USAGE;
			}
			req.opts.limit = (unsigned int)n;
			break;
		}
		case '?':
			fprintf(stderr, "Try 'rpx ps --help'.\n");
			return RPX_EXIT_USAGE;
		default:
			if ((ret = rpx_cli_common_opt(cli, opt, optarg)) != 0)
				return ret;
		}
	}
	if (optind < argc) {
		rpx_cli_warn("ps: unexpected argument \"%s\"", argv[optind]);
		return RPX_EXIT_USAGE;
	}
	if (rpx_cli_fan_wanted(cli)) {
		if (req.tree) {
			rpx_cli_warn("ps: --tree takes one host");
			return RPX_EXIT_USAGE;
		}
		return rpx_cli_fanout(cli, &rpx_fan_ps, &req.opts, req.json);
	}
	if ((cl = rpx_cli_open_one(cli, "ps", &ret)) == NULL)
		return ret;
	if (req.tree) {
		ret = ps_tree(cl, &req);
	} else {
		if (!req.json)
			print_header(stdout);
		ret = RPX_EXIT_OK;
		if (rpx_proc_list_each(cl, &req.opts, print_flat, &req) < 0) {
			rpx_cli_warn("ps: %s", rpx_client_error(cl));
			ret = RPX_EXIT_FAIL;
		}
	}
	rpx_client_close(cl);
	return ret;
}

static void print_info(FILE *out, const rpx_info_res *r)
{
	const rpx_pinfo *p = &r->info;
	char when[64], text[128];
	time_t t = (time_t)p->start_sec;
	struct tm tm;
	u_int i;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(when, sizeof(when), "%" PRId64, (int64_t)p->start_sec);
	fprintf(out, "job         %" PRIu64 "\n", (uint64_t)p->job);
	fprintf(out, "name        %s\n", p->name != NULL ? p->name : "");
	fprintf(out, "pid         %d\n", p->pid);
	fprintf(out, "ppid        %d\n", p->ppid);
	fprintf(out, "pgid        %d\n", p->pgid);
	fprintf(out, "sid         %d\n", p->sid);
	fprintf(out, "user        %s (uid %u)\n",
	    r->user != NULL && r->user[0] != '\0' ? r->user : "?", p->uid);
	fprintf(out, "state       %s (%s)\n", p->state_code != NULL ? p->state_code : "?",
	    state_name(p->state));
	fprintf(out, "priority    %d, nice %d\n", p->priority, p->nice);
	fprintf(out, "threads     %u\n", p->threads);
	fprintf(out, "started     %s\n", when);
	fprintf(out, "cpu         user %.3f s, system %.3f s\n", (double)p->utime_us / 1e6,
	    (double)p->stime_us / 1e6);
	fprintf(out, "rss         %" PRIu64 " kB\n", (uint64_t)p->rss_kb);
	fprintf(out, "ctxsw       voluntary %" PRIu64 ", involuntary %" PRIu64 "\n",
	    (uint64_t)p->vol_ctxsw, (uint64_t)p->invol_ctxsw);
	if (p->open_fds >= 0)
		fprintf(out, "open fds    %d\n", p->open_fds);
	fprintf(out, "cwd         %s\n", r->cwd != NULL ? r->cwd : "");
	fprintf(out, "argv       ");
	for (i = 0; i < r->argv.argv_len; i++) {
		fputc(' ', out);
		rpx_json_string(out, r->argv.argv_val[i]);
	}
	fputc('\n', out);
	fprintf(out, "labels     ");
	for (i = 0; i < p->labels.labels_len; i++)
		fprintf(out, " %s=%s", p->labels.labels_val[i].key, p->labels.labels_val[i].value);
	fputc('\n', out);
	fprintf(out, "stdout      %" PRIu64 " bytes, %" PRIu64 " dropped from the log\n",
	    (uint64_t)r->stdout_bytes, (uint64_t)r->stdout_dropped);
	fprintf(out, "stderr      %" PRIu64 " bytes, %" PRIu64 " dropped from the log\n",
	    (uint64_t)r->stderr_bytes, (uint64_t)r->stderr_dropped);
	rpx_cli_exit_text(&p->exit, text, sizeof(text));
	fprintf(out, "status      %s", text);
	if (p->exit.how != RPX_EXIT_NONE)
		fprintf(out, " after %.3f s, max rss %" PRIu64 " kB",
		    (double)p->exit.runtime_ns / 1e9, (uint64_t)p->exit.maxrss_kb);
	fputc('\n', out);
}

static void print_info_json(FILE *out, const rpx_info_res *r)
{
	u_int i;

	fputc('{', out);
	json_pinfo_members(out, &r->info);
	fputs(",\"cwd\":", out);
	rpx_json_string(out, r->cwd);
	fputs(",\"argv\":[", out);
	for (i = 0; i < r->argv.argv_len; i++) {
		if (i > 0)
			fputc(',', out);
		rpx_json_string(out, r->argv.argv_val[i]);
	}
	fputs("],\"user\":", out);
	rpx_json_string(out, r->user);
	fprintf(out,
	    ",\"stdout_bytes\":%" PRIu64 ",\"stderr_bytes\":%" PRIu64 ",\"stdout_dropped\":%" PRIu64
	    ",\"stderr_dropped\":%" PRIu64 "}\n",
	    (uint64_t)r->stdout_bytes, (uint64_t)r->stderr_bytes, (uint64_t)r->stdout_dropped,
	    (uint64_t)r->stderr_dropped);
}

void rpx_cli_info_print(FILE *out, const rpx_info_res *r, int json)
{
	if (json)
		print_info_json(out, r);
	else
		print_info(out, r);
}

int rpx_cmd_info(struct rpx_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    RPX_CLI_COMMON_LONGOPTS,
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	struct rpx_client *cl;
	rpx_info_res res;
	int opt, ret, json = 0;
	uint64_t job;

	while ((opt = getopt_long(argc, argv, RPX_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			rpx_cmd_info_usage(stdout);
			return RPX_EXIT_OK;
		case 'j':
			json = 1;
			break;
		case '?':
			fprintf(stderr, "Try 'rpx info --help'.\n");
			return RPX_EXIT_USAGE;
		default:
			if ((ret = rpx_cli_common_opt(cli, opt, optarg)) != 0)
				return ret;
		}
	}
	if (optind != argc - 1) {
		rpx_cli_warn("info: expected one JOB; usage: rpx info [--json] JOB");
		return RPX_EXIT_USAGE;
	}
	if (rpx_cli_parse_job("info", argv[optind], &job) < 0)
		return RPX_EXIT_USAGE;
	if (rpx_cli_fan_wanted(cli))
		return rpx_cli_fanout(cli, &rpx_fan_info, &job, json);
	if ((cl = rpx_cli_open_one(cli, "info", &ret)) == NULL)
		return ret;
	if (rpx_proc_info(cl, job, &res) < 0) {
		rpx_cli_warn("info: job %" PRIu64 ": %s", job, rpx_client_error(cl));
		rpx_client_close(cl);
		return RPX_EXIT_FAIL;
	}
	rpx_cli_info_print(stdout, &res, json);
	rpx_proc_info_free(&res);
	rpx_client_close(cl);
	return RPX_EXIT_OK;
}

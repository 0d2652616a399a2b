/*
 * cmd_date.c: `rpx date`, the host's clock through the DATE program.
 *
 * NOW by default; with --at the server renders a given instant (FORMAT),
 * and --utc asks for the rendering in UTC instead of the host's zone (for
 * the current time: NOW, then FORMAT of that instant). One line per host:
 * the RFC 3339 text and the zone, prefixed with the host URL when there
 * are several hosts; --json prints one object per host and line instead.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rpx.h"

struct date_req {
	int json;
	int utc;
	int at; /* --at given: FORMAT of at_seconds.at_nanoseconds */
	int64_t at_seconds;
	uint32_t at_nanoseconds;
};

void rpx_cmd_date_usage(FILE *out)
{
	fprintf(out,
	    "usage: rpx [-H URL]... date [--json] [--utc] [--at SECONDS[.FRACTION]]\n"
	    "\n"
	    "Print the host's current time as RFC 3339 text and zone, e.g.\n"
	    "  2026-11-26T14:17:29.123456789+01:00 CET\n"
	    "With several hosts each line starts with the host URL and \": \".\n"
	    "\n"
	    "Options:\n"
	    "      --json           one JSON object per host and line: {\"host\", \"seconds\",\n"
	    "                       \"nanoseconds\", \"utc_offset\", \"zone\", \"rfc3339\"}\n"
	    "  -u, --utc            render in UTC instead of the host's zone\n"
	    "      --at SECONDS     have the host render this instant (seconds since the\n"
	    "                       epoch, may be negative, up to 9 decimals) instead of now\n");
	rpx_cli_common_usage(out);
}

/* "[-]DIGITS[.DIGITS]" -> seconds and nanoseconds, the instant rounded toward -inf. */
static int parse_instant(const char *s, int64_t *seconds, uint32_t *nanoseconds)
{
	const char *p = s;
	int negative = 0, digits = 0;
	uint64_t whole = 0;
	uint32_t frac = 0;

	if (*p == '-' || *p == '+')
		negative = *p++ == '-';
	for (; isdigit((unsigned char)*p); p++, digits++) {
		if (whole > (uint64_t)INT64_MAX / 10 - 1)
			return -ERANGE;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		int n = 0;

		for (p++; isdigit((unsigned char)*p); p++, n++, digits++) {
			if (n >= 9)
				return -EINVAL;
			frac = frac * 10 + (uint32_t)(*p - '0');
		}
		for (; n < 9; n++)
			frac *= 10;
	}
	if (*p != '\0' || digits == 0)
		return -EINVAL;
	*seconds = negative ? -(int64_t)whole : (int64_t)whole;
	*nanoseconds = frac;
	if (negative && frac > 0) {
		*seconds -= 1;
		*nanoseconds = 1000000000u - frac;
	}
	return 0;
}

static void print_result(const char *host, int multi, const struct date_req *req,
    const rpx_date_now_res *res)
{
	if (req->json) {
		printf("{\"host\":");
		rpx_json_string(stdout, host);
		printf(",\"seconds\":%" PRId64 ",\"nanoseconds\":%u,\"utc_offset\":%d,\"zone\":",
		    (int64_t)res->seconds, res->nanoseconds, res->utc_offset);
		rpx_json_string(stdout, res->zone);
		printf(",\"rfc3339\":");
		rpx_json_string(stdout, res->rfc3339);
		printf("}\n");
		return;
	}
	if (multi)
		printf("%s: ", host);
	printf("%s %s\n", res->rfc3339 != NULL ? res->rfc3339 : "",
	    res->zone != NULL ? res->zone : "");
}

static int date_one(struct rpx_client *cl, const struct date_req *req, rpx_date_now_res *res)
{
	int ret;

	if (req->at)
		return rpx_date_format(cl, req->at_seconds, req->at_nanoseconds, req->utc, res);
	if ((ret = rpx_date_now(cl, res)) < 0 || !req->utc)
		return ret;
	{
		int64_t seconds = res->seconds;
		uint32_t nanoseconds = res->nanoseconds;

		rpx_date_free(res);
		return rpx_date_format(cl, seconds, nanoseconds, 1, res);
	}
}

int rpx_cmd_date(struct rpx_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    RPX_CLI_COMMON_LONGOPTS,
	    {"json", no_argument, NULL, 'j'},
	    {"utc", no_argument, NULL, 'u'},
	    {"at", required_argument, NULL, 'a'},
	    {NULL, 0, NULL, 0},
	};
	struct date_req req;
	int opt, ret, h, nhosts;

	memset(&req, 0, sizeof(req));
	while (
	    (opt = getopt_long(argc, argv, RPX_CLI_COMMON_SHORTOPTS "u", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			rpx_cmd_date_usage(stdout);
			return RPX_EXIT_OK;
		case 'j':
			req.json = 1;
			break;
		case 'u':
			req.utc = 1;
			break;
		case 'a':
			if (parse_instant(optarg, &req.at_seconds, &req.at_nanoseconds) < 0) {
				rpx_cli_warn(
				    "date: --at: expected seconds since the epoch like 1700000000 or -1.5, got \"%s\"",
				    optarg);
				return RPX_EXIT_USAGE;
			}
			req.at = 1;
			break;
		case '?':
			fprintf(stderr, "Try 'rpx date --help'.\n");
			return RPX_EXIT_USAGE;
		default:
			if ((ret = rpx_cli_common_opt(cli, opt, optarg)) != 0)
				return ret;
		}
	}
	if (optind < argc) {
		rpx_cli_warn("date: unexpected argument \"%s\"", argv[optind]);
		return RPX_EXIT_USAGE;
	}

	if (rpx_cli_fan_wanted(cli)) {
		struct rpx_cli_date_req fr = {req.utc, req.at, req.at_seconds, req.at_nanoseconds};

		return rpx_cli_fanout(cli, &rpx_fan_date, &fr, req.json);
	}
	ret = RPX_EXIT_OK;
	nhosts = rpx_cli_nhosts(cli);
	for (h = 0; h < nhosts; h++) {
		struct rpx_client *cl = rpx_cli_open(cli, h);
		rpx_date_now_res res;

		if (cl == NULL) {
			ret = RPX_EXIT_FAIL;
			continue;
		}
		if (date_one(cl, &req, &res) < 0) {
			rpx_cli_warn("%s: %s", rpx_client_url(cl), rpx_client_error(cl));
			ret = RPX_EXIT_FAIL;
		} else {
			print_result(rpx_client_url(cl), nhosts > 1, &req, &res);
			rpx_date_free(&res);
		}
		rpx_client_close(cl);
	}
	return ret;
}

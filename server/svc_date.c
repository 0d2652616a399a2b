/*
 * svc_date.c: the DATE program, the RPC form of the textbook's date server
 * on port 6013. NOW reads CLOCK_REALTIME once and reports it with the host's
 * zone; FORMAT renders an instant the caller gives. Results point into this
 * file's buffers: the loop is single-threaded and a reply is encoded before
 * the next call runs (RPX_PROC_RES_STATIC).
 */
#include <stdio.h>
#include <string.h>

#include "svc_date.h"

static char zone_buf[RPX_DATE_ZONE_MAX + 1];
static char text_buf[RPX_DATE_TEXT_MAX + 1];
static char error_buf[RPX_DATE_ERROR_MAX + 1];

int rpx_date_render(int64_t seconds, uint32_t nanoseconds, bool utc, rpx_date_now_res *res,
    char *zone, size_t zonelen, char *text, size_t textlen, const char **err)
{
	time_t t = (time_t)seconds;
	struct tm tm;
	char base[48], offset[24];
	long off;

	if (nanoseconds >= 1000000000u) {
		*err = "nanoseconds must be below 1000000000";
		return -EINVAL;
	}
	if ((utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) == NULL || tm.tm_year < 0 - 1900 ||
	    tm.tm_year > 9999 - 1900) {
		/* RFC 3339 §5.6: a year has four digits. */
		*err = "instant outside the years 0000 to 9999";
		return -EOVERFLOW;
	}
	off = utc ? 0 : tm.tm_gmtoff;
	/* RFC 3339 §5.6: four-digit year, zero-padded (strftime's %Y is not). */
	snprintf(base, sizeof(base), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
	    (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
	    tm.tm_sec % 100);
	if (off == 0)
		strcpy(offset, "Z");
	else
		snprintf(offset, sizeof(offset), "%c%02ld:%02ld", off < 0 ? '-' : '+',
		    (off < 0 ? -off : off) / 3600, ((off < 0 ? -off : off) % 3600) / 60);
	snprintf(text, textlen, "%s.%09u%s", base, nanoseconds, offset);
	snprintf(zone, zonelen, "%s", utc ? "UTC" : (tm.tm_zone != NULL ? tm.tm_zone : ""));
	res->seconds = seconds;
	res->nanoseconds = nanoseconds;
	res->utc_offset = (int)off;
	res->zone = zone;
	res->rfc3339 = text;
	return 0;
}

static int date_null(struct rpx_call *call, void *args, void *res)
{
	return 0;
}

static int date_now(struct rpx_call *call, void *args, void *res)
{
	struct timespec ts;
	const char *err;

	clock_gettime(CLOCK_REALTIME, &ts);
	return rpx_date_render(ts.tv_sec, (uint32_t)ts.tv_nsec, false, res, zone_buf,
	    sizeof(zone_buf), text_buf, sizeof(text_buf), &err);
}

static int date_format(struct rpx_call *call, void *args, void *res)
{
	const rpx_date_format_args *a = args;
	rpx_date_format_res *r = res;
	const char *err = NULL;
	int rc;

	rc = rpx_date_render(a->seconds, a->nanoseconds, a->utc, &r->rpx_date_format_res_u.time,
	    zone_buf, sizeof(zone_buf), text_buf, sizeof(text_buf), &err);
	r->error = -rc;
	if (rc < 0) {
		snprintf(error_buf, sizeof(error_buf), "%s", err);
		r->rpx_date_format_res_u.message = error_buf;
	}
	return 0;
}

static const struct rpx_procinfo date_procs[] = {
    [RPX_DATE_NULL] = {"NULL", NULL, 0, NULL, 0, date_null, 0},
    [RPX_DATE_NOW] = {"NOW", NULL, 0, (xdrproc_t)xdr_rpx_date_now_res, sizeof(rpx_date_now_res),
        date_now, RPX_PROC_RES_STATIC},
    [RPX_DATE_FORMAT] = {"FORMAT", (xdrproc_t)xdr_rpx_date_format_args,
        sizeof(rpx_date_format_args), (xdrproc_t)xdr_rpx_date_format_res,
        sizeof(rpx_date_format_res), date_format, RPX_PROC_RES_STATIC},
};

const struct rpx_program rpx_svc_date_v1 = {
    .prog = RPX_DATE_PROG,
    .vers = RPX_DATE_VERS,
    .name = "date",
    .procs = date_procs,
    .nprocs = sizeof(date_procs) / sizeof(date_procs[0]),
};

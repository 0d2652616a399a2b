/*
 * svc_date.h: the DATE program (idl/date.x).
 */
#ifndef RPX_SVC_DATE_H
#define RPX_SVC_DATE_H

#include <time.h>

#include "dispatch.h"
#include "date.h"

extern const struct rpx_program rpx_svc_date_v1;

/*
 * Renders @seconds + @nanoseconds as RFC 3339 in UTC (@utc) or the host's
 * zone into @res, whose strings point into @zone and @text. 0, or a
 * negative errno with a reason in @err.
 */
int rpx_date_render(int64_t seconds, uint32_t nanoseconds, bool utc, rpx_date_now_res *res,
    char *zone, size_t zonelen, char *text, size_t textlen, const char **err);

#endif

/*
 * svc_proc.h: the PROC program (idl/proc.x): remote process management.
 */
#ifndef RPX_SVC_PROC_H
#define RPX_SVC_PROC_H

#include <stdbool.h>

#include "dispatch.h"
#include "jobs.h"

/*
 * The program, bound to @jobs. @insecure lets callers on TCP and UDP spawn
 * and kill as rpxd's own user.
 */
struct rpx_server;
struct rpx_drc;

const struct rpx_program *rpx_svc_proc_init(struct rpx_jobs *jobs, bool insecure,
    struct rpx_server *srv, struct rpx_drc *drc);

#endif

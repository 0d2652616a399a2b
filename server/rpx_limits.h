/*
 * rpx_limits.h: every limit rpxd applies to its peers, with its default. Each
 * has an option of its own (rpxd --help, rpxd.8).
 */
#ifndef RPX_LIMITS_H
#define RPX_LIMITS_H

#define RPX_DEFAULT_PORT 7077
#define RPX_DAYTIME_PORT 6013

#define RPX_MAX_RECORD_DEFAULT (1024 * 1024) /* --max-record: bytes in one call */
#define RPX_MAX_RECORD_MIN 1024
#define RPX_MAX_CONNECTIONS_DEFAULT 1024 /* --max-connections: stream clients at once */
#define RPX_MAX_INFLIGHT_DEFAULT 64 /* --max-inflight: calls per connection */
#define RPX_MAX_UDP_INFLIGHT_DEFAULT 1024 /* --max-udp-inflight: pending UDP calls per socket */
#define RPX_MAX_OUTPUT_DEFAULT \
	(4 * 1024 * 1024) /* --max-output: unsent reply bytes per connection */
#define RPX_IDLE_TIMEOUT_DEFAULT 300 /* --idle-timeout: seconds with no call */
#define RPX_RECORD_TIMEOUT_DEFAULT 30 /* --record-timeout: seconds to finish a record */
#define RPX_UDP_DATAGRAM_MAX 65535

#define RPX_OUTPUT_CAP_DEFAULT (16 * 1024 * 1024) /* --output-cap: bytes kept per job stream */
#define RPX_MAX_JOBS_DEFAULT 4096 /* --max-jobs: running at once */
#define RPX_RETAIN_JOBS_DEFAULT 1000 /* --retain-jobs: unwaited exit records */
#define RPX_RETAIN_SECONDS_DEFAULT 86400 /* --retain-seconds: their age limit */
#define RPX_DRC_ENTRIES_DEFAULT 16384 /* --drc-entries: completed calls remembered */
#define RPX_DRC_BYTES_DEFAULT (4 * 1024 * 1024) /* --drc-bytes: their reply bytes */
#define RPX_DRC_CLIENTS_DEFAULT 16384 /* --drc-clients: client instances known */
#define RPX_DRC_CLIENT_TTL_DEFAULT 3600 /* --drc-client-ttl: silence before a client is forgotten */
#define RPX_STOP_GRACE_DEFAULT 5 /* --stop-grace: SIGTERM to SIGKILL */

#define RPX_STR_(x) #x
#define RPX_STR(x) RPX_STR_(x)

#define RPX_ACCEPT_BACKOFF_MS 1000 /* pause of accept() when out of descriptors */

#endif

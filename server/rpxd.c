/*
 * rpxd.c: the daemon's entry point: options, the listeners, the services,
 * signals and the event loop. Everything after start-up happens in
 * callbacks of one libevent loop.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "rpx_limits.h"
#include "listen.h"
#include "log.h"
#include "server.h"
#include "drc.h"
#include "jobs.h"
#include "svc_date.h"
#include "svc_proc.h"
#include "rpcbind.h"
#include "tls.h"

#ifndef RPX_VERSION
#define RPX_VERSION "0.0.0"
#endif

#define MAX_LISTEN 64
#define MAX_RPCBIND_ENTRIES (2 * MAX_LISTEN + 6)

/* What --register told rpcbind, to take back at exit. */
struct registration {
	const struct rpx_program *progs[2];
	struct rpx_rpcbind_entry entries[MAX_RPCBIND_ENTRIES];
	size_t n;
};

struct options {
	const char *listen[MAX_LISTEN];
	size_t nlisten;
	const char *time_listen[MAX_LISTEN];
	size_t ntime_listen;
	const char *daytime;
	const char *state_dir;
	const char *runtime_dir;
	const char *socket_group;
	bool insecure;
	bool rpcbind_register;
	struct rpx_limits limits;
	struct rpx_jobs_config jobs;
	struct rpx_drc_config drc;
	struct rpx_tls_config tls;
	enum { STOP_TERM, STOP_KILL, STOP_LEAVE } on_stop;
	unsigned stop_grace;
};

/* Stopping: the policy for running jobs, then the loop's end. */
struct stopping {
	struct event_base *base;
	struct rpx_jobs *jobs;
	struct event *tick;
	int phase; /* 0 running, 1 jobs signalled, 2 SIGKILL sent */
	unsigned grace_left_ms;
	int on_stop;
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: rpxd [options]\n"
	    "\n"
	    "Serves the rpx PROC (remote process management) and DATE programs over ONC RPC\n"
	    "(TCP, UDP, Unix socket), the daytime line (RFC 867) and, on request, RFC 868 time.\n"
	    "\n"
	    "Listeners:\n"
	    "  -l, --listen URL        serve RPC on URL; repeatable; replaces the defaults:\n"
	    "                          tcp://HOST:PORT, udp://HOST:PORT (IPv6: tcp://[::1]:PORT),\n"
	    "                          unix:PATH; port 0 picks a free port.\n"
	    "                          Defaults: tcp://127.0.0.1:%d, udp://127.0.0.1:%d and\n"
	    "                          unix:/run/rpx/rpxd.sock (root) or\n"
	    "                          unix:$XDG_RUNTIME_DIR/rpx/rpxd.sock (others)\n"
	    "      --daytime URL|off   daytime line service (default tcp://127.0.0.1:%d)\n"
	    "      --time-listen URL   RFC 868 time on tcp://HOST:PORT or udp://HOST:PORT;\n"
	    "                          repeatable (default: none)\n"
	    "\n"
	    "State:\n"
	    "  -d, --state-dir DIR     state directory (default /var/lib/rpx for root,\n"
	    "                          $XDG_STATE_HOME/rpx or ~/.local/state/rpx for others);\n"
	    "                          job output logs live in DIR/jobs, job records in\n"
	    "                          DIR/jobs.log\n"
	    "      --runtime-dir DIR   runtime directory, for what a reboot may drop: the jobs'\n"
	    "                          stdout/stderr FIFOs, in DIR/jobs-HASH (HASH names the\n"
	    "                          state directory) (default /run/rpx for root,\n"
	    "                          $XDG_RUNTIME_DIR/rpx or /tmp/rpx-UID for others)\n"
	    "\n"
	    "Jobs (the PROC program):\n"
	    "      --insecure          let callers on TCP and UDP spawn and kill, as rpxd's user;\n"
	    "                          without it they may only read\n"
	    "      --socket-group GROUP  Unix sockets mode 0660 and owned by GROUP (default 0600)\n"
	    "      --output-cap BYTES  output kept per job stream; older bytes are dropped and\n"
	    "                          reported (default %d)\n"
	    "      --max-jobs N        jobs running at once (default %d)\n"
	    "      --retain-jobs N     exit records of ended jobs kept until waited for (default %d)\n"
	    "      --retain-seconds SEC  age at which an unwaited exit record is dropped (default %d)\n"
	    "      --on-stop POLICY    what SIGTERM does to running jobs: term (SIGTERM to each job's\n"
	    "                          process group, SIGKILL after the grace), kill (SIGKILL at\n"
	    "                          once) or leave (jobs go on; their output is no longer kept)\n"
	    "                          (default term)\n"
	    "      --stop-grace SEC    seconds between SIGTERM and SIGKILL (default %d)\n"
	    "\n"
	    "RPC-with-TLS (RFC 9289) on TCP listeners:\n"
	    "      --tls-cert FILE     server certificate chain (PEM); with --tls-key, TCP clients\n"
	    "                          may upgrade with the AUTH_TLS probe (TLS 1.3, ALPN sunrpc)\n"
	    "      --tls-key FILE      its private key (PEM)\n"
	    "      --tls-client-ca FILE  trust anchors for client certificates: a certificate is\n"
	    "                          then required (mutual TLS)\n"
	    "      --tls-users FILE    maps client certificates to users (sha256:FINGERPRINT,\n"
	    "                          subject:SUBJECT or san:NAME, then USER); mapped callers may\n"
	    "                          spawn and kill as that user, others only read\n"
	    "      --tls-require       refuse every clear-text call on TCP except the probe\n"
	    "      SIGHUP reloads certificates, key, CA and users, and closes sessions whose\n"
	    "      client certificate is no longer trusted.\n"
	    "\n"
	    "At most once (duplicate request cache for SPAWN and KILL):\n"
	    "      --drc-entries N     completed requests remembered (default %d)\n"
	    "      --drc-bytes BYTES   reply bytes remembered (default %d)\n"
	    "      --drc-clients N     client instances known at once (default %d)\n"
	    "      --drc-client-ttl SEC  silence after which a client is forgotten (default %d)\n"
	    "      --fsync             fdatasync each completion record and job record before\n"
	    "                          replying, so a machine crash loses none (default:\n"
	    "                          written before the reply, which survives any crash of\n"
	    "                          rpxd itself)\n"
	    "\n"
	    "Limits:\n"
	    "      --max-record BYTES      largest call record (default %d)\n"
	    "      --max-connections N     stream clients at once (default %d)\n"
	    "      --max-inflight N        calls in flight per connection (default %d)\n"
	    "      --max-udp-inflight N    pending calls per UDP socket (default %d)\n"
	    "      --max-output BYTES      unsent reply bytes per connection (default %d)\n"
	    "      --idle-timeout SEC      close a connection idle this long (default %d)\n"
	    "      --record-timeout SEC    close a connection that leaves a record\n"
	    "                              unfinished this long (default %d)\n"
	    "\n"
	    "Other:\n"
	    "      --register          register the programs on each tcp, udp and Unix listener\n"
	    "                          with the host's rpcbind (and unregister at exit)\n"
	    "      --log-level LEVEL   error, warn, info or debug (default info)\n"
	    "  -h, --help              show this help\n"
	    "  -V, --version           show the version\n"
	    "\n"
	    "When every listener is bound, rpxd prints one \"listening [SERVICE ]URL\" line per\n"
	    "listener and then \"ready\" on standard output. SIGTERM or SIGINT stop it.\n",
	    RPX_DEFAULT_PORT, RPX_DEFAULT_PORT, RPX_DAYTIME_PORT, RPX_OUTPUT_CAP_DEFAULT,
	    RPX_MAX_JOBS_DEFAULT, RPX_RETAIN_JOBS_DEFAULT, RPX_RETAIN_SECONDS_DEFAULT,
	    RPX_STOP_GRACE_DEFAULT, RPX_DRC_ENTRIES_DEFAULT, RPX_DRC_BYTES_DEFAULT,
	    RPX_DRC_CLIENTS_DEFAULT, RPX_DRC_CLIENT_TTL_DEFAULT, RPX_MAX_RECORD_DEFAULT,
	    RPX_MAX_CONNECTIONS_DEFAULT, RPX_MAX_INFLIGHT_DEFAULT, RPX_MAX_UDP_INFLIGHT_DEFAULT,
	    RPX_MAX_OUTPUT_DEFAULT, RPX_IDLE_TIMEOUT_DEFAULT, RPX_RECORD_TIMEOUT_DEFAULT);
}

static unsigned long parse_number(const char *opt, const char *text, unsigned long min,
    unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max)
		fatalx("%s %s: expected a number from %lu to %lu", opt, text, min, max);
	return v;
}

/* mkdir -p with @mode for the parts it creates. */
static int make_dirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void default_paths(char *sock, size_t socklen, char *state, size_t statelen, char *run,
    size_t runlen)
{
	const char *xdg;

	if (geteuid() == 0) {
		snprintf(sock, socklen, "/run/rpx/rpxd.sock");
		snprintf(run, runlen, "/run/rpx");
		snprintf(state, statelen, "/var/lib/rpx");
		return;
	}
	if ((xdg = getenv("XDG_RUNTIME_DIR")) != NULL && xdg[0] == '/') {
		snprintf(sock, socklen, "%s/rpx/rpxd.sock", xdg);
		snprintf(run, runlen, "%s/rpx", xdg);
	} else {
		snprintf(sock, socklen, "/tmp/rpx-%u/rpxd.sock", (unsigned)geteuid());
		snprintf(run, runlen, "/tmp/rpx-%u", (unsigned)geteuid());
	}
	if ((xdg = getenv("XDG_STATE_HOME")) != NULL && xdg[0] == '/')
		snprintf(state, statelen, "%s/rpx", xdg);
	else
		snprintf(state, statelen, "%s/.local/state/rpx",
		    getenv("HOME") != NULL ? getenv("HOME") : "/tmp");
}

static void add_listener(struct rpx_server *srv, enum rpx_service service, const char *text,
    const char *what)
{
	struct rpx_url url;
	char err[512];

	if (rpx_url_parse(text, &url, err, sizeof(err)) < 0)
		fatalx("%s %s", what, err);
	if (service != RPX_SERVICE_RPC && url.kind == RPX_URL_UNIX)
		fatalx("%s %s: needs tcp:// or udp://", what, text);
	if (service == RPX_SERVICE_DAYTIME && url.kind != RPX_URL_TCP)
		fatalx("%s %s: daytime is served over tcp:// only", what, text);
	if (url.kind == RPX_URL_UNIX) {
		char dir[sizeof(url.path)];
		char *slash;

		snprintf(dir, sizeof(dir), "%s", url.path);
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
			*slash = '\0';
			make_dirs(dir, 0755); /* the socket's own mode guards it */
		}
	}
	if (rpx_listener_add(srv, service, &url, err, sizeof(err)) < 0)
		fatalx("listen %s", err);
}

#define STOP_TICK_MS 50

static void stop_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stopping *st = arg;
	struct timeval tick = {0, STOP_TICK_MS * 1000};

	if (rpx_jobs_running(st->jobs) == 0) {
		event_base_loopexit(st->base, NULL);
		return;
	}
	if (st->grace_left_ms >= STOP_TICK_MS) {
		st->grace_left_ms -= STOP_TICK_MS;
	} else if (st->phase == 1) {
		log_info("%u jobs still running after the grace: SIGKILL",
		    rpx_jobs_running(st->jobs));
		rpx_jobs_signal_all(st->jobs, SIGKILL);
		st->phase = 2;
		st->grace_left_ms = 2000;
	} else {
		log_warnx("%u jobs did not end after SIGKILL", rpx_jobs_running(st->jobs));
		event_base_loopexit(st->base, NULL);
		return;
	}
	evtimer_add(st->tick, &tick);
}

static void sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct rpx_server *srv = arg;
	char err[512];

	if (srv->tls == NULL) {
		log_info("SIGHUP: nothing to reload");
		return;
	}
	if (rpx_tls_reload(srv->tls, err, sizeof(err)) < 0) {
		log_warnx("SIGHUP: TLS reload failed, keeping the old certificates: %s", err);
		return;
	}
	log_info("audit: SIGHUP: TLS certificates, CA and users reloaded");
	rpx_conn_tls_recheck(srv);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct stopping *st = arg;
	unsigned running = rpx_jobs_running(st->jobs);

	if (st->phase != 0) {
		log_info("%s again: stopping now", strsignal((int)sig));
		event_base_loopexit(st->base, NULL);
		return;
	}
	log_info("%s: shutting down", strsignal((int)sig));
	if (running == 0 || st->on_stop == STOP_LEAVE) {
		if (running > 0)
			log_info("leaving %u jobs running (--on-stop leave)", running);
		event_base_loopexit(st->base, NULL);
		return;
	}
	st->phase = st->on_stop == STOP_KILL ? 2 : 1;
	log_info("sending %s to the process groups of %u jobs",
	    st->phase == 2 ? "SIGKILL" : "SIGTERM", running);
	rpx_jobs_signal_all(st->jobs, st->phase == 2 ? SIGKILL : SIGTERM);
	stop_tick_cb(-1, 0, st);
}

static void registration_add_cb(int socktype, const struct sockaddr *sa, socklen_t salen, void *arg)
{
	struct registration *reg = arg;

	for (size_t i = 0; i < 2 && reg->n < MAX_RPCBIND_ENTRIES; i++)
		if (rpx_rpcbind_entry_init(&reg->entries[reg->n], reg->progs[i]->prog,
		        reg->progs[i]->vers, socktype, sa, salen) == 0)
			reg->n++;
}

static void log_stats(const struct rpx_dispatch_stats *s)
{
	log_info("calls %llu, success %llu, rpc_mismatch %llu, auth_error %llu, prog_unavail %llu, "
	         "prog_mismatch %llu, proc_unavail %llu, garbage_args %llu, system_err %llu, "
	         "dropped %llu, cancelled %llu",
	    (unsigned long long)s->calls, (unsigned long long)s->success,
	    (unsigned long long)s->rpc_mismatch, (unsigned long long)s->auth_error,
	    (unsigned long long)s->prog_unavail, (unsigned long long)s->prog_mismatch,
	    (unsigned long long)s->proc_unavail, (unsigned long long)s->garbage_args,
	    (unsigned long long)s->system_err, (unsigned long long)s->dropped,
	    (unsigned long long)s->cancelled);
}

enum {
	OPT_DAYTIME = 256,
	OPT_TIME_LISTEN,
	OPT_MAX_RECORD,
	OPT_MAX_CONNECTIONS,
	OPT_MAX_INFLIGHT,
	OPT_MAX_UDP_INFLIGHT,
	OPT_MAX_OUTPUT,
	OPT_IDLE_TIMEOUT,
	OPT_RECORD_TIMEOUT,
	OPT_LOG_LEVEL,
	OPT_INSECURE,
	OPT_SOCKET_GROUP,
	OPT_OUTPUT_CAP,
	OPT_MAX_JOBS,
	OPT_RETAIN_JOBS,
	OPT_RETAIN_SECONDS,
	OPT_ON_STOP,
	OPT_STOP_GRACE,
	OPT_DRC_ENTRIES,
	OPT_DRC_BYTES,
	OPT_DRC_CLIENTS,
	OPT_DRC_CLIENT_TTL,
	OPT_FSYNC,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_CLIENT_CA,
	OPT_TLS_USERS,
	OPT_TLS_REQUIRE,
	OPT_REGISTER,
	OPT_RUNTIME_DIR,
};

static const struct option long_options[] = {
    {"listen", required_argument, NULL, 'l'},
    {"daytime", required_argument, NULL, OPT_DAYTIME},
    {"time-listen", required_argument, NULL, OPT_TIME_LISTEN},
    {"state-dir", required_argument, NULL, 'd'},
    {"runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR},
    {"max-record", required_argument, NULL, OPT_MAX_RECORD},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT},
    {"max-udp-inflight", required_argument, NULL, OPT_MAX_UDP_INFLIGHT},
    {"max-output", required_argument, NULL, OPT_MAX_OUTPUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"record-timeout", required_argument, NULL, OPT_RECORD_TIMEOUT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"socket-group", required_argument, NULL, OPT_SOCKET_GROUP},
    {"output-cap", required_argument, NULL, OPT_OUTPUT_CAP},
    {"max-jobs", required_argument, NULL, OPT_MAX_JOBS},
    {"retain-jobs", required_argument, NULL, OPT_RETAIN_JOBS},
    {"retain-seconds", required_argument, NULL, OPT_RETAIN_SECONDS},
    {"on-stop", required_argument, NULL, OPT_ON_STOP},
    {"stop-grace", required_argument, NULL, OPT_STOP_GRACE},
    {"drc-entries", required_argument, NULL, OPT_DRC_ENTRIES},
    {"drc-bytes", required_argument, NULL, OPT_DRC_BYTES},
    {"drc-clients", required_argument, NULL, OPT_DRC_CLIENTS},
    {"drc-client-ttl", required_argument, NULL, OPT_DRC_CLIENT_TTL},
    {"fsync", no_argument, NULL, OPT_FSYNC},
    {"register", no_argument, NULL, OPT_REGISTER},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"tls-client-ca", required_argument, NULL, OPT_TLS_CLIENT_CA},
    {"tls-users", required_argument, NULL, OPT_TLS_USERS},
    {"tls-require", no_argument, NULL, OPT_TLS_REQUIRE},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void parse_options(int argc, char **argv, struct options *o)
{
	int c;

	o->daytime = "tcp://127.0.0.1:" RPX_STR(RPX_DAYTIME_PORT);
	o->limits = (struct rpx_limits){
	    .max_record = RPX_MAX_RECORD_DEFAULT,
	    .max_connections = RPX_MAX_CONNECTIONS_DEFAULT,
	    .max_inflight = RPX_MAX_INFLIGHT_DEFAULT,
	    .max_udp_inflight = RPX_MAX_UDP_INFLIGHT_DEFAULT,
	    .max_output = RPX_MAX_OUTPUT_DEFAULT,
	    .idle_timeout = RPX_IDLE_TIMEOUT_DEFAULT,
	    .record_timeout = RPX_RECORD_TIMEOUT_DEFAULT,
	};
	o->jobs = (struct rpx_jobs_config){
	    .output_cap = RPX_OUTPUT_CAP_DEFAULT,
	    .max_jobs = RPX_MAX_JOBS_DEFAULT,
	    .retain_jobs = RPX_RETAIN_JOBS_DEFAULT,
	    .retain_seconds = RPX_RETAIN_SECONDS_DEFAULT,
	};
	o->on_stop = STOP_TERM;
	o->stop_grace = RPX_STOP_GRACE_DEFAULT;
	o->drc = (struct rpx_drc_config){
	    .max_entries = RPX_DRC_ENTRIES_DEFAULT,
	    .max_bytes = RPX_DRC_BYTES_DEFAULT,
	    .max_clients = RPX_DRC_CLIENTS_DEFAULT,
	    .client_ttl = RPX_DRC_CLIENT_TTL_DEFAULT,
	};
	while ((c = getopt_long(argc, argv, "l:d:hV", long_options, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (o->nlisten == MAX_LISTEN)
				fatalx("--listen: at most %d listeners", MAX_LISTEN);
			o->listen[o->nlisten++] = optarg;
			break;
		case OPT_DAYTIME:
			o->daytime = strcmp(optarg, "off") == 0 ? NULL : optarg;
			break;
		case OPT_TIME_LISTEN:
			if (o->ntime_listen == MAX_LISTEN)
				fatalx("--time-listen: at most %d listeners", MAX_LISTEN);
			o->time_listen[o->ntime_listen++] = optarg;
			break;
		case 'd':
			o->state_dir = optarg;
			break;
		case OPT_RUNTIME_DIR:
			o->runtime_dir = optarg;
			break;
		case OPT_MAX_RECORD:
			o->limits.max_record =
			    parse_number("--max-record", optarg, RPX_MAX_RECORD_MIN, 0x7fffffff);
			break;
		case OPT_MAX_CONNECTIONS:
			o->limits.max_connections =
			    (unsigned)parse_number("--max-connections", optarg, 1, 1000000);
			break;
		case OPT_MAX_INFLIGHT:
			o->limits.max_inflight =
			    (unsigned)parse_number("--max-inflight", optarg, 1, 1000000);
			break;
		case OPT_MAX_UDP_INFLIGHT:
			o->limits.max_udp_inflight =
			    (unsigned)parse_number("--max-udp-inflight", optarg, 1, 1000000);
			break;
		case OPT_MAX_OUTPUT:
			o->limits.max_output =
			    parse_number("--max-output", optarg, 4096, 0x7fffffff);
			break;
		case OPT_IDLE_TIMEOUT:
			o->limits.idle_timeout =
			    (unsigned)parse_number("--idle-timeout", optarg, 1, 86400 * 365);
			break;
		case OPT_RECORD_TIMEOUT:
			o->limits.record_timeout =
			    (unsigned)parse_number("--record-timeout", optarg, 1, 86400);
			break;
		case OPT_LOG_LEVEL:
			if (rpx_log_parse_level(optarg, &rpx_log_threshold) < 0)
				fatalx("--log-level %s: expected error, warn, info or debug",
				    optarg);
			break;
		case OPT_INSECURE:
			o->insecure = true;
			break;
		case OPT_SOCKET_GROUP:
			o->socket_group = optarg;
			break;
		case OPT_OUTPUT_CAP:
			o->jobs.output_cap =
			    parse_number("--output-cap", optarg, 4096, (unsigned long)1 << 40);
			break;
		case OPT_MAX_JOBS:
			o->jobs.max_jobs = (unsigned)parse_number("--max-jobs", optarg, 1, 1000000);
			break;
		case OPT_RETAIN_JOBS:
			o->jobs.retain_jobs =
			    (unsigned)parse_number("--retain-jobs", optarg, 0, 10000000);
			break;
		case OPT_RETAIN_SECONDS:
			o->jobs.retain_seconds =
			    (unsigned)parse_number("--retain-seconds", optarg, 1, 86400 * 365);
			break;
		case OPT_ON_STOP:
			if (strcmp(optarg, "term") == 0)
				o->on_stop = STOP_TERM;
			else if (strcmp(optarg, "kill") == 0)
				o->on_stop = STOP_KILL;
			else if (strcmp(optarg, "leave") == 0)
				o->on_stop = STOP_LEAVE;
			else
				fatalx("--on-stop %s: expected term, kill or leave", optarg);
			break;
		case OPT_STOP_GRACE:
			o->stop_grace = (unsigned)parse_number("--stop-grace", optarg, 0, 3600);
			break;
		case OPT_TLS_CERT:
			o->tls.cert = optarg;
			break;
		case OPT_TLS_KEY:
			o->tls.key = optarg;
			break;
		case OPT_TLS_CLIENT_CA:
			o->tls.client_ca = optarg;
			break;
		case OPT_TLS_USERS:
			o->tls.users = optarg;
			break;
		case OPT_TLS_REQUIRE:
			o->tls.require = true;
			break;
		case OPT_REGISTER:
			o->rpcbind_register = true;
			break;
		case OPT_FSYNC:
			o->drc.fsync = true;
			break;
		case OPT_DRC_ENTRIES:
			o->drc.max_entries = parse_number("--drc-entries", optarg, 1, 100000000);
			break;
		case OPT_DRC_BYTES:
			o->drc.max_bytes =
			    parse_number("--drc-bytes", optarg, 1024, (unsigned long)1 << 40);
			break;
		case OPT_DRC_CLIENTS:
			o->drc.max_clients =
			    (unsigned)parse_number("--drc-clients", optarg, 1, 100000000);
			break;
		case OPT_DRC_CLIENT_TTL:
			o->drc.client_ttl =
			    (unsigned)parse_number("--drc-client-ttl", optarg, 1, 86400 * 30);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("rpxd %s\n", RPX_VERSION);
			exit(0);
		default:
			fprintf(stderr, "rpxd: try 'rpxd --help'\n");
			exit(2);
		}
	}
	if (optind < argc)
		fatalx("unexpected argument '%s' (try 'rpxd --help')", argv[optind]);
	if ((o->tls.cert != NULL) != (o->tls.key != NULL))
		fatalx("--tls-cert and --tls-key go together");
	if (o->tls.cert == NULL &&
	    (o->tls.client_ca != NULL || o->tls.users != NULL || o->tls.require))
		fatalx(
		    "--tls-client-ca, --tls-users and --tls-require need --tls-cert and --tls-key");
}

int main(int argc, char **argv)
{
	struct options o;
	struct rpx_server srv;
	struct event *sigterm, *sigint, *sighup;
	struct rpx_jobs *jobs;
	struct rpx_drc *drc;
	struct stopping stopping;
	static struct registration reg;
	char msg[512];
	const struct rpx_program *proc;
	char sock_path[PATH_MAX], state_dir[PATH_MAX], url[PATH_MAX + 8], drc_path[PATH_MAX + 16];
	char runtime_dir[PATH_MAX];
	int err;

	memset(&o, 0, sizeof(o));
	parse_options(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	tzset();

	default_paths(sock_path, sizeof(sock_path), state_dir, sizeof(state_dir), runtime_dir,
	    sizeof(runtime_dir));
	if (o.state_dir == NULL)
		o.state_dir = state_dir;
	if ((err = make_dirs(o.state_dir, 0700)) < 0) {
		errno = -err;
		fatal("state directory %s", o.state_dir);
	}
	if (o.runtime_dir == NULL)
		o.runtime_dir = runtime_dir;
	if ((err = make_dirs(o.runtime_dir, 0700)) < 0) {
		errno = -err;
		fatal("runtime directory %s", o.runtime_dir);
	}

	memset(&srv, 0, sizeof(srv));
	srv.limits = o.limits;
	TAILQ_INIT(&srv.conns);
	TAILQ_INIT(&srv.listeners);
	snprintf(drc_path, sizeof(drc_path), "%s/completions", o.state_dir);
	o.drc.path = drc_path;
	if ((drc = rpx_drc_new(&o.drc)) == NULL)
		fatal("duplicate request cache %s", drc_path);
	if ((srv.base = event_base_new()) == NULL || (srv.dispatch = rpx_dispatch_new(drc)) == NULL)
		fatalx("out of memory");
	/* Two priorities: a job's end (its pidfd, 0) goes before other events (1). */
	if (event_base_priority_init(srv.base, 2) < 0)
		fatalx("event priorities");
	if (rpx_drc_stats(drc)->restored > 0)
		log_info("%s: %llu completion records of %llu clients restored", drc_path,
		    (unsigned long long)rpx_drc_stats(drc)->entries,
		    (unsigned long long)rpx_drc_stats(drc)->clients);
	if ((err = rpx_dispatch_add(srv.dispatch, &rpx_svc_date_v1)) < 0)
		fatalx("date program: %s", strerror(-err));
	o.jobs.state_dir = o.state_dir;
	o.jobs.runtime_dir = o.runtime_dir;
	o.jobs.fsync = o.drc.fsync;
	if ((jobs = rpx_jobs_new(srv.base, &o.jobs)) == NULL)
		fatalx("job table in %s/jobs: cannot set up", o.state_dir);
	proc = rpx_svc_proc_init(jobs, o.insecure, &srv, drc);
	if ((err = rpx_dispatch_add(srv.dispatch, proc)) < 0)
		fatalx("proc program: %s", strerror(-err));
	if (o.tls.cert != NULL) {
		char tls_err[512];

		if ((srv.tls = rpx_tls_new(&o.tls, tls_err, sizeof(tls_err))) == NULL)
			fatalx("%s", tls_err);
	}
	if (o.socket_group != NULL) {
		struct group *gr = getgrnam(o.socket_group);

		if (gr == NULL)
			fatalx("--socket-group %s: no such group", o.socket_group);
		srv.socket_gid = (int)gr->gr_gid;
	} else {
		srv.socket_gid = -1;
	}

	if (o.nlisten == 0) {
		add_listener(&srv, RPX_SERVICE_RPC, "tcp://127.0.0.1:" RPX_STR(RPX_DEFAULT_PORT),
		    "listen");
		add_listener(&srv, RPX_SERVICE_RPC, "udp://127.0.0.1:" RPX_STR(RPX_DEFAULT_PORT),
		    "listen");
		snprintf(url, sizeof(url), "unix:%s", sock_path);
		add_listener(&srv, RPX_SERVICE_RPC, url, "listen");
	}
	for (size_t i = 0; i < o.nlisten; i++)
		add_listener(&srv, RPX_SERVICE_RPC, o.listen[i], "--listen");
	if (o.daytime != NULL)
		add_listener(&srv, RPX_SERVICE_DAYTIME, o.daytime, "--daytime");
	for (size_t i = 0; i < o.ntime_listen; i++)
		add_listener(&srv, RPX_SERVICE_TIME, o.time_listen[i], "--time-listen");

	memset(&stopping, 0, sizeof(stopping));
	stopping.base = srv.base;
	stopping.jobs = jobs;
	stopping.on_stop = o.on_stop;
	stopping.grace_left_ms = o.stop_grace * 1000;
	stopping.tick = evtimer_new(srv.base, stop_tick_cb, &stopping);
	sigterm = evsignal_new(srv.base, SIGTERM, signal_cb, &stopping);
	sigint = evsignal_new(srv.base, SIGINT, signal_cb, &stopping);
	sighup = evsignal_new(srv.base, SIGHUP, sighup_cb, &srv);
	if (sighup == NULL || evsignal_add(sighup, NULL) < 0)
		fatalx("signal handlers: out of memory");
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) < 0 ||
	    evsignal_add(sigint, NULL) < 0)
		fatalx("signal handlers: out of memory");

	if (o.rpcbind_register) {
		reg.progs[0] = &rpx_svc_date_v1;
		reg.progs[1] = proc;
		rpx_listener_foreach_rpc(&srv, registration_add_cb, &reg);
		err = rpx_rpcbind_register(reg.entries, reg.n, RPX_RPCBIND_TIMEOUT_MS, msg,
		    sizeof(msg));
		if (err == -ECONNREFUSED)
			log_warnx("rpcbind not reachable: %s", msg);
		else if (err < 0)
			log_warnx("rpcbind registration: %s", msg);
	}
	rpx_listener_print_all(&srv, stdout);
	printf("ready\n");
	fflush(stdout);
	if (srv.tls != NULL)
		log_info("TLS on TCP listeners: %s%s",
		    o.tls.client_ca != NULL ? "mutual, client certificates required"
		                            : "server certificate only",
		    o.tls.require ? ", clear text refused" : "");
	if (o.insecure)
		log_warnx(
		    "--insecure: ANY client that reaches a TCP or UDP listener may spawn and kill "
		    "processes as uid %u. Use it only on trusted, isolated networks.",
		    (unsigned)geteuid());
	log_info("rpxd %s ready, state in %s", RPX_VERSION, o.state_dir);

	event_base_dispatch(srv.base);
	err = rpx_rpcbind_unregister(reg.entries, reg.n, RPX_RPCBIND_TIMEOUT_MS, msg, sizeof(msg));
	if (err < 0)
		log_warnx("rpcbind unregistration: %s", msg);

	log_stats(rpx_dispatch_stats(srv.dispatch));
	const struct rpx_drc_stats *ds = rpx_drc_stats(drc);

	log_info("at most once: %llu requests run, %llu retransmissions answered from the cache, "
	         "%llu dropped in progress, %llu evictions, %llu refusals, %llu refused for room",
	    (unsigned long long)ds->new_requests, (unsigned long long)ds->hits,
	    (unsigned long long)ds->in_progress, (unsigned long long)ds->evictions,
	    (unsigned long long)ds->refusals, (unsigned long long)ds->full);
	rpx_conn_close_all(&srv);
	rpx_listener_free_all(&srv);
	rpx_jobs_free(jobs);
	event_free(stopping.tick);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	rpx_tls_free(srv.tls);
	rpx_dispatch_free(srv.dispatch);
	rpx_drc_free(drc);
	event_base_free(srv.base);
	libevent_global_shutdown();
	return 0;
}

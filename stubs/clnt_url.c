/*
 * clnt_url.c: the URLs that name an rpxd, and the default one.
 *
 * tcp://HOST:PORT, udp://HOST:PORT and unix:PATH, IPv6 hosts in brackets;
 * HOST:PORT is tcp. Parsing is purely textual: names are resolved when
 * clnt_conn.c connects. rpxd accepts the same forms for --listen, so a URL
 * printed by rpxd's "listening" lines works here.
 *
 * A bare HOST (no scheme, no port) finds rpxd's port through the host's
 * rpcbind, as clnt_create() does: the sync client (clnt_conn.c) and the
 * fan-out (clnt_fanout.c) each make the RPCBPROC_GETADDR call on their own
 * transport, and both turn its answer into a URL here, with one fallback
 * rule: no answer or no mapping means port 7077, and a note saying so for
 * the error message if that fails too.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <sys/stat.h>
#include <unistd.h>
#include <rpc/rpc.h>
#include <rpc/rpcb_prot.h>

#include "clnt_internal.h"

static int bad_url(const char *text, const char *why, char *err, size_t errlen)
{
	if (errlen > 0)
		snprintf(err, errlen, "bad URL \"%s\": %s", text, why);
	return -EINVAL;
}

static int parse_port(const char *s, char *port, size_t len)
{
	unsigned long n = 0;
	const char *p;

	if (*s == '\0' || strlen(s) > 5)
		return -EINVAL;
	for (p = s; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n == 0 || n > 65535)
		return -EINVAL;
	snprintf(port, len, "%lu", n);
	return 0;
}

/* HOST, HOST:PORT, [V6], [V6]:PORT, or a bare V6 address (two colons or more). */
static int parse_hostport(const char *text, const char *s, struct rpx_url *url, char *err,
    size_t errlen)
{
	const char *host = s, *port = NULL;
	size_t hostlen;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL)
			return bad_url(text, "missing ']' after IPv6 address", err, errlen);
		host = s + 1;
		hostlen = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return bad_url(text, "unexpected text after ']'", err, errlen);
	} else {
		const char *colon = strchr(s, ':');

		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			hostlen = (size_t)(colon - s);
			port = colon + 1;
		} else {
			hostlen = strlen(s);
		}
	}
	if (hostlen == 0)
		return bad_url(text, "missing host", err, errlen);
	if (hostlen >= sizeof(url->host))
		return bad_url(text, "host name too long", err, errlen);
	memcpy(url->host, host, hostlen);
	url->host[hostlen] = '\0';
	if (strpbrk(url->host, "/[] \t") != NULL)
		return bad_url(text, "bad character in host", err, errlen);
	if (port == NULL)
		snprintf(url->port, sizeof(url->port), "%d", RPX_DEFAULT_PORT);
	else if (parse_port(port, url->port, sizeof(url->port)) < 0)
		return bad_url(text, "port must be a number from 1 to 65535", err, errlen);
	return 0;
}

int rpx_url_parse_(const char *text, struct rpx_url *url, char *err, size_t errlen)
{
	static const struct {
		const char *prefix;
		enum rpx_transport transport;
	} schemes[] = {
	    {"tcp://", RPX_TRANSPORT_TCP},
	    {"udp://", RPX_TRANSPORT_UDP},
	    {"unix:", RPX_TRANSPORT_UNIX},
	};
	const char *rest = NULL;
	size_t i;
	int ret;

	memset(url, 0, sizeof(*url));
	if (text == NULL || *text == '\0')
		return bad_url("", "empty", err, errlen);
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].prefix);

		if (strncmp(text, schemes[i].prefix, n) == 0) {
			url->transport = schemes[i].transport;
			rest = text + n;
			break;
		}
	}
	if (rest == NULL) {
		if (strstr(text, "://") != NULL)
			return bad_url(text,
			    "unknown scheme (want tcp://HOST:PORT, udp://HOST:PORT or unix:PATH)",
			    err, errlen);
		url->transport = RPX_TRANSPORT_TCP;
		rest = text;
	}

	if (url->transport == RPX_TRANSPORT_UNIX) {
		if (*rest == '\0')
			return bad_url(text, "missing socket path", err, errlen);
		if (strlen(rest) >= sizeof(url->path))
			return bad_url(text, "socket path too long", err, errlen);
		strcpy(url->path, rest);
		snprintf(url->text, sizeof(url->text), "unix:%s", url->path);
		return 0;
	}

	if ((ret = parse_hostport(text, rest, url, err, errlen)) < 0)
		return ret;
	snprintf(url->text, sizeof(url->text), "%s://%s%s%s:%s",
	    url->transport == RPX_TRANSPORT_UDP ? "udp" : "tcp",
	    strchr(url->host, ':') != NULL ? "[" : "", url->host,
	    strchr(url->host, ':') != NULL ? "]" : "", url->port);
	return 0;
}

int rpx_client_default_url(char *buf, size_t len)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (geteuid() == 0)
		n = snprintf(path, sizeof(path), "/run/rpx/rpxd.sock");
	else if (runtime != NULL && runtime[0] == '/')
		n = snprintf(path, sizeof(path), "%s/rpx/rpxd.sock", runtime);
	else
		n = snprintf(path, sizeof(path), "/tmp/rpx-%u/rpxd.sock", (unsigned)geteuid());

	if (n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		n = snprintf(buf, len, "unix:%s", path);
	else
		n = snprintf(buf, len, "tcp://127.0.0.1:%d", RPX_DEFAULT_PORT);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void rpx_strerror_(int err, char *buf, size_t len)
{
	if (len == 0)
		return;
	snprintf(buf, len, "%s", strerror(err < 0 ? -err : err));
	/* "Connection refused" -> "connection refused", but keep "EOF"-like acronyms. */
	if (isupper((unsigned char)buf[0]) && !isupper((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
}

int rpx_url_is_bare_(const char *text)
{
	const char *colon;

	if (text == NULL || text[0] == '\0' || strstr(text, "://") != NULL ||
	    strncmp(text, "unix:", 5) == 0 || text[0] == '/')
		return 0;
	if (text[0] == '[')
		return strchr(text, ']') != NULL && strchr(text, ']')[1] == '\0';
	colon = strchr(text, ':');
	return colon == NULL || strchr(colon + 1, ':') != NULL;
}

void rpx_url_bare_tcp_(const char *host, int port, char *buf, size_t len)
{
	if (host[0] != '[' && strchr(host, ':') != NULL)
		snprintf(buf, len, "tcp://[%s]:%d", host, port);
	else
		snprintf(buf, len, "tcp://%s:%d", host, port);
}

void rpx_rpcbind_args_(struct rpcb *args, uint32_t prog, uint32_t vers)
{
	memset(args, 0, sizeof(*args));
	args->r_prog = prog;
	args->r_vers = vers;
	args->r_netid = (char *)"tcp";
	args->r_addr = (char *)"";
	args->r_owner = (char *)"";
}

/* "h1.h2.h3.h4.p1.p2" (or an IPv6 universal address) -> port, or -EINVAL. */
static int uaddr_port(const char *uaddr)
{
	const char *p2 = strrchr(uaddr, '.'), *p1;
	char *end;
	long hi, lo;

	if (p2 == NULL || p2 == uaddr)
		return -EINVAL;
	for (p1 = p2 - 1; p1 > uaddr && *p1 != '.'; p1--)
		;
	if (*p1 != '.')
		return -EINVAL;
	hi = strtol(p1 + 1, &end, 10);
	if (end != p2 || hi < 0 || hi > 255)
		return -EINVAL;
	lo = strtol(p2 + 1, &end, 10);
	if (*end != '\0' || lo < 0 || lo > 255 || (hi == 0 && lo == 0))
		return -EINVAL;
	return (int)(hi * 256 + lo);
}

void rpx_url_from_rpcbind_(const char *host, uint32_t prog, int lookup_err, const char *lookup_why,
    const char *uaddr, char *url, size_t urllen, char *note, size_t notelen)
{
	int port = -EINVAL;

	if (lookup_err == 0 && uaddr != NULL && uaddr[0] != '\0')
		port = uaddr_port(uaddr);
	if (notelen > 0)
		note[0] = '\0';
	if (port < 0) {
		if (lookup_err < 0)
			snprintf(note, notelen, "rpcbind: %s; tried port %d: ", lookup_why,
			    RPX_DEFAULT_PORT);
		else
			snprintf(note, notelen,
			    "%s: rpcbind has no tcp mapping for program 0x%" PRIx32
			    "; tried port %d: ",
			    host, prog, RPX_DEFAULT_PORT);
		port = RPX_DEFAULT_PORT;
	}
	rpx_url_bare_tcp_(host, port, url, urllen);
}

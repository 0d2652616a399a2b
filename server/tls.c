/*
 * tls.c: OpenSSL for rpxd's TLS sessions. The context enforces what RFC
 * 9289 asks: TLS 1.3 only, no early data, ALPN "sunrpc" or no session. A
 * client certificate is verified during the handshake against the
 * configured trust anchors; its SHA-256 fingerprint, subject or subject
 * alternative names select a local user in the --tls-users file:
 *
 *   # comment
 *   sha256:AB:CD:...        alice
 *   subject:CN=ops,O=example bob
 *   san:build.example.org    builder
 *
 * A certificate may map to root only through a line that names root.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"

#define ALPN_SUNRPC "sunrpc"

struct user_rule {
	enum { RULE_SHA256, RULE_SUBJECT, RULE_SAN } kind;
	char *value;
	char user[64];
	uid_t uid;
};

struct rpx_tls {
	struct rpx_tls_config cfg;
	SSL_CTX *ctx;
	X509_STORE *client_store; /* for re-checking sessions after a reload */
	struct user_rule *rules;
	size_t nrules;
};

static void ssl_error(char *err, size_t errlen, const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else if (errno != 0)
		snprintf(buf, sizeof(buf), "%s", strerror(errno));
	snprintf(err, errlen, "%s %s: %s", what, path != NULL ? path : "", buf);
	ERR_clear_error();
}

/* RFC 9289 §5.2: the ALPN identifier "sunrpc", or no session. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char want[] = {6, 's', 'u', 'n', 'r', 'p', 'c'};
	unsigned char *sel = NULL;
	unsigned char sellen = 0;

	if (SSL_select_next_proto(&sel, &sellen, want, sizeof(want), in, inlen) !=
	        OPENSSL_NPN_NEGOTIATED ||
	    sellen != 6 || memcmp(sel, ALPN_SUNRPC, 6) != 0) {
		struct rpx_tls_peer *peer = SSL_get_app_data(ssl);

		if (peer != NULL)
			peer->refused = "the client did not offer the ALPN protocol sunrpc";
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	*out = sel;
	*outlen = sellen;
	return SSL_TLSEXT_ERR_OK;
}

/* RFC 9289 §5.2: a ClientHello without ALPN is refused too (alpn_select never sees it). */
static int client_hello_cb(SSL *ssl, int *alert, void *arg)
{
	const unsigned char *ext;
	size_t len;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
	        &len) != 1) {
		struct rpx_tls_peer *peer = SSL_get_app_data(ssl);

		if (peer != NULL)
			peer->refused = "the client offered no ALPN protocol (sunrpc required)";
		*alert = SSL_AD_NO_APPLICATION_PROTOCOL;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

static void fingerprint_of(X509 *cert, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t n = 0;

	out[0] = '\0';
	if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1)
		return;
	for (unsigned i = 0; i < mdlen && n + 3 < outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%02X", i > 0 ? ":" : "", md[i]);
}

static void subject_of(X509 *cert, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	int len = 0;

	out[0] = '\0';
	if (b == NULL)
		return;
	X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
	len = BIO_read(b, out, (int)outlen - 1);
	out[len > 0 ? len : 0] = '\0';
	BIO_free(b);
}

/* Records the client's certificate as it is verified, so a refusal can name it. */
static int verify_cb(int ok, X509_STORE_CTX *vctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(vctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct rpx_tls_peer *peer = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(vctx);

	if (peer != NULL && cert != NULL && X509_STORE_CTX_get_error_depth(vctx) == 0 &&
	    peer->fingerprint[0] == '\0') {
		fingerprint_of(cert, peer->fingerprint, sizeof(peer->fingerprint));
		subject_of(cert, peer->subject, sizeof(peer->subject));
	}
	return ok;
}

/*
 * When the server is about to answer a ClientHello that resumed a session:
 * remember the cached session, to take it out of the cache once the
 * handshake is done (after the ticket for the next connection is issued,
 * which copies it).
 */
static void info_cb(const SSL *ssl, int where, int ret)
{
	struct rpx_tls_peer *peer = SSL_get_app_data(ssl);
	SSL_SESSION *sess;

	if (!(where & SSL_CB_ACCEPT_LOOP) || SSL_get_state(ssl) != TLS_ST_SW_SRVR_HELLO ||
	    peer == NULL || peer->resumed_from != NULL || !SSL_session_reused(ssl))
		return;
	if ((sess = SSL_get_session(ssl)) != NULL && SSL_SESSION_up_ref(sess) == 1)
		peer->resumed_from = sess;
}

void rpx_tls_attach(SSL *ssl, struct rpx_tls_peer *peer)
{
	memset(peer, 0, sizeof(*peer));
	SSL_set_app_data(ssl, peer);
}

void rpx_tls_detach(struct rpx_tls_peer *peer)
{
	SSL_SESSION_free(peer->resumed_from);
	peer->resumed_from = NULL;
}

void rpx_tls_failure(SSL *ssl, const char *ssl_error, char *buf, size_t len)
{
	struct rpx_tls_peer *peer = SSL_get_app_data(ssl);
	long v = SSL_get_verify_result(ssl);

	if (peer != NULL && peer->refused != NULL)
		snprintf(buf, len, "%s", peer->refused);
	else if (v != X509_V_OK && peer != NULL && peer->fingerprint[0] != '\0')
		snprintf(buf, len, "certificate %s (%s): %s", peer->fingerprint, peer->subject,
		    X509_verify_cert_error_string(v));
	else
		snprintf(buf, len, "%s", ssl_error);
}

static void free_rules(struct user_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rules[i].value);
	free(rules);
}

/* Upper-case hex with colons, the form `openssl x509 -fingerprint -sha256` prints. */
static void normalize_fingerprint(const char *in, char *out, size_t outlen)
{
	size_t n = 0, digits = 0;

	for (const char *p = in; *p != '\0' && n + 4 < outlen; p++) {
		if (!isxdigit((unsigned char)*p))
			continue;
		if (digits > 0 && digits % 2 == 0)
			out[n++] = ':';
		out[n++] = (char)toupper((unsigned char)*p);
		digits++;
	}
	out[n] = '\0';
}

static int load_users(const char *path, struct user_rule **out, size_t *nout, char *err,
    size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct user_rule *rules = NULL;
	size_t n = 0;
	char line[1024];
	unsigned lineno = 0;

	*out = NULL;
	*nout = 0;
	if (f == NULL) {
		snprintf(err, errlen, "--tls-users %s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char sel[600], user[64], *last, *end;
		struct user_rule r;
		struct passwd *pw;
		struct user_rule *grown;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "--tls-users %s:%u: line longer than %zu bytes", path,
			    lineno, sizeof(line) - 2);
			goto fail;
		}
		line[strcspn(line, "#\r\n")] = '\0';
		/* SELECTOR USER: the user is the last word; a subject may hold spaces. */
		end = line + strlen(line);
		while (end > line && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (end == line + strspn(line, " \t"))
			continue;
		last = end;
		while (last > line && !isspace((unsigned char)last[-1]))
			last--;
		if (last == line + strspn(line, " \t") || (size_t)(end - last) >= sizeof(user))
			goto bad;
		snprintf(user, sizeof(user), "%s", last);
		while (last > line && isspace((unsigned char)last[-1]))
			last--;
		*last = '\0';
		if (strlen(line + strspn(line, " \t")) >= sizeof(sel)) {
			snprintf(err, errlen, "--tls-users %s:%u: selector longer than %zu bytes",
			    path, lineno, sizeof(sel) - 1);
			goto fail;
		}
		snprintf(sel, sizeof(sel), "%s", line + strspn(line, " \t"));
		memset(&r, 0, sizeof(r));
		if (strncmp(sel, "sha256:", 7) == 0) {
			char fp[200];

			r.kind = RULE_SHA256;
			normalize_fingerprint(sel + 7, fp, sizeof(fp));
			if (strlen(fp) != 95)
				goto bad;
			r.value = strdup(fp);
		} else if (strncmp(sel, "subject:", 8) == 0) {
			r.kind = RULE_SUBJECT;
			r.value = strdup(sel + 8);
		} else if (strncmp(sel, "san:", 4) == 0) {
			r.kind = RULE_SAN;
			r.value = strdup(sel + 4);
		} else {
			goto bad;
		}
		if (r.value == NULL || r.value[0] == '\0') {
			free(r.value);
			goto bad;
		}
		if ((pw = getpwnam(user)) == NULL) {
			snprintf(err, errlen, "--tls-users %s:%u: no such user %s", path, lineno,
			    user);
			free(r.value);
			goto fail;
		}
		snprintf(r.user, sizeof(r.user), "%s", user);
		r.uid = pw->pw_uid;
		if ((grown = realloc(rules, (n + 1) * sizeof(*rules))) == NULL) {
			free(r.value);
			snprintf(err, errlen, "--tls-users %s: out of memory", path);
			goto fail;
		}
		rules = grown;
		rules[n++] = r;
	}
	fclose(f);
	*out = rules;
	*nout = n;
	return 0;
bad:
	snprintf(err, errlen,
	    "--tls-users %s:%u: expected 'sha256:FINGERPRINT USER', 'subject:SUBJECT USER' or 'san:NAME USER'",
	    path, lineno);
fail:
	fclose(f);
	free_rules(rules, n);
	return -EINVAL;
}

static SSL_CTX *make_ctx(const struct rpx_tls_config *cfg, X509_STORE **store_out, char *err,
    size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	*store_out = NULL;
	if (ctx == NULL) {
		ssl_error(err, errlen, "TLS context", NULL);
		return NULL;
	}
	/* RFC 9289 §5.1: TLS 1.3 or later; no 0-RTT data. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_early_data(ctx, 0);
	/*
	 * Record marking delimits every message: a peer that closes without
	 * a close_notify truncates nothing unnoticed. Without this OpenSSL,
	 * reading the socket itself, would call that a fatal error and drop
	 * the session from the cache (no resumption after such a close).
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/*
	 * AES-128-GCM with SHA-256 first, whatever the client prefers: the
	 * key schedule of every handshake is HMAC-SHA-256 instead of -384
	 * (SHA extensions where the CPU has them), and AES-NI does the rest.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_ciphersuites(ctx, RPX_TLS_CIPHERSUITES) != 1) {
		ssl_error(err, errlen, "TLS cipher suites", NULL);
		goto fail;
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
	SSL_CTX_set_info_callback(ctx, info_cb);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"rpxd", 4);
	/*
	 * Resumption (RFC 8446 §2.2) with stateful tickets: the ticket is only
	 * the name of a session kept in this context's cache. Stateless
	 * tickets would carry the client certificate, which OpenSSL 3.0
	 * re-encodes and parses for every ticket it issues or accepts (about
	 * 0.2 ms each). The cache belongs to the context, so a reload starts
	 * an empty one: no session outlives the CA that verified it. One
	 * ticket per handshake; a resumed session is taken out of the cache
	 * (rpx_tls_take_resumed), so every ticket is good once.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, RPX_TLS_SESSION_CACHE);
	SSL_CTX_set_timeout(ctx, RPX_TLS_SESSION_LIFETIME);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1) {
		ssl_error(err, errlen, "--tls-cert", cfg->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error(err, errlen, "--tls-key", cfg->key);
		goto fail;
	}
	if (cfg->client_ca != NULL) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca);

		if (SSL_CTX_load_verify_locations(ctx, cfg->client_ca, NULL) != 1 ||
		    names == NULL) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			ssl_error(err, errlen, "--tls-client-ca", cfg->client_ca);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		/* Mutual TLS: no certificate, no session. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
		    verify_cb);
		*store_out = SSL_CTX_get_cert_store(ctx);
		X509_STORE_up_ref(*store_out);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct rpx_tls *rpx_tls_new(const struct rpx_tls_config *cfg, char *err, size_t errlen)
{
	struct rpx_tls *tls = calloc(1, sizeof(*tls));

	if (tls == NULL) {
		snprintf(err, errlen, "TLS: out of memory");
		return NULL;
	}
	tls->cfg = *cfg;
	if (rpx_tls_reload(tls, err, errlen) < 0) {
		rpx_tls_free(tls);
		return NULL;
	}
	return tls;
}

int rpx_tls_reload(struct rpx_tls *tls, char *err, size_t errlen)
{
	struct user_rule *rules = NULL;
	size_t nrules = 0;
	X509_STORE *store;
	SSL_CTX *ctx;

	if (tls->cfg.users != NULL && load_users(tls->cfg.users, &rules, &nrules, err, errlen) < 0)
		return -EINVAL;
	if ((ctx = make_ctx(&tls->cfg, &store, err, errlen)) == NULL) {
		free_rules(rules, nrules);
		return -EINVAL;
	}
	/* Sessions hold references of their own to the old context. */
	SSL_CTX_free(tls->ctx);
	X509_STORE_free(tls->client_store);
	free_rules(tls->rules, tls->nrules);
	tls->ctx = ctx;
	tls->client_store = store;
	tls->rules = rules;
	tls->nrules = nrules;
	return 0;
}

void rpx_tls_free(struct rpx_tls *tls)
{
	if (tls == NULL)
		return;
	SSL_CTX_free(tls->ctx);
	X509_STORE_free(tls->client_store);
	free_rules(tls->rules, tls->nrules);
	free(tls);
}

bool rpx_tls_required(const struct rpx_tls *tls)
{
	return tls != NULL && tls->cfg.require;
}

SSL *rpx_tls_ssl_new(struct rpx_tls *tls)
{
	return SSL_new(tls->ctx);
}

static bool san_matches(X509 *cert, const char *want)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	bool found = false;

	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && !found; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		ASN1_STRING *s = NULL;

		if (g->type == GEN_DNS || g->type == GEN_EMAIL || g->type == GEN_URI)
			s = g->d.ia5;
		if (s != NULL && (size_t)ASN1_STRING_length(s) == strlen(want) &&
		    memcmp(ASN1_STRING_get0_data(s), want, strlen(want)) == 0)
			found = true;
		if (g->type == GEN_IPADD) {
			char ip[64];
			const unsigned char *d = ASN1_STRING_get0_data(g->d.ip);

			if (ASN1_STRING_length(g->d.ip) == 4) {
				snprintf(ip, sizeof(ip), "%u.%u.%u.%u", d[0], d[1], d[2], d[3]);
				found = strcmp(ip, want) == 0;
			}
		}
	}
	GENERAL_NAMES_free(names);
	return found;
}

void rpx_tls_peer(struct rpx_tls *tls, SSL *ssl, struct rpx_tls_peer *peer)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);

	peer->has_cert = false;
	peer->mapped = false;
	peer->uid = 0;
	peer->user[0] = '\0';
	peer->resumed = SSL_session_reused(ssl) == 1;
	if (peer->resumed_from != NULL) {
		/* Single use: the ticket just used names no session any more. */
		SSL_CTX_remove_session(SSL_get_SSL_CTX(ssl), peer->resumed_from);
		SSL_SESSION_free(peer->resumed_from);
		peer->resumed_from = NULL;
	}
	if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
		X509_free(cert);
		return;
	}
	/* A resumed session skips verification: its certificate may have expired since. */
	peer->expired = peer->resumed && X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
	peer->has_cert = true;
	fingerprint_of(cert, peer->fingerprint, sizeof(peer->fingerprint));
	subject_of(cert, peer->subject, sizeof(peer->subject));
	for (size_t i = 0; i < tls->nrules && !peer->mapped; i++) {
		const struct user_rule *r = &tls->rules[i];

		if ((r->kind == RULE_SHA256 && strcmp(r->value, peer->fingerprint) == 0) ||
		    (r->kind == RULE_SUBJECT && strcmp(r->value, peer->subject) == 0) ||
		    (r->kind == RULE_SAN && san_matches(cert, r->value))) {
			peer->mapped = true;
			peer->uid = r->uid;
			snprintf(peer->user, sizeof(peer->user), "%s", r->user);
		}
	}
	X509_free(cert);
}

bool rpx_tls_still_trusted(struct rpx_tls *tls, SSL *ssl)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	X509_STORE_CTX *vctx;
	bool ok = false;

	if (cert == NULL)
		return tls->client_store == NULL;
	if (tls->client_store == NULL || (vctx = X509_STORE_CTX_new()) == NULL)
		return false;
	if (X509_STORE_CTX_init(vctx, tls->client_store, cert, chain) == 1)
		ok = X509_verify_cert(vctx) == 1;
	X509_STORE_CTX_free(vctx);
	return ok;
}

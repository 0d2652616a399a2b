#!/bin/sh
# rpx-certs.sh: a small certificate authority for RPC-with-TLS between rpx
# clients and rpxd, with nothing but the stock openssl command. It makes the
# CA, a server certificate for rpxd (names and IP addresses in
# subjectAltName) and client certificates, and prints the rpxd options and
# the --tls-users line that maps a client certificate to a local user.
#
#   scripts/rpx-certs.sh DIR ca [CA-NAME]
#       DIR/ca.key, DIR/ca.crt: a CA valid 10 years (EC P-256). DIR is made
#       with mode 0700; an existing CA is never overwritten.
#   scripts/rpx-certs.sh DIR server NAME-OR-IP...
#       DIR/server.key, DIR/server.crt signed by DIR's CA, valid for every
#       NAME-OR-IP given (DNS names and IPv4/IPv6 addresses; clients check
#       the one they connect to). Prints the rpxd command line.
#   scripts/rpx-certs.sh DIR client NAME [USER]
#       DIR/client-NAME.key, DIR/client-NAME.crt signed by DIR's CA, subject
#       CN=NAME. Prints the --tls-users line mapping it to USER (default
#       NAME): `sha256:FINGERPRINT USER`.
#
# Environment: RPX_CERT_DAYS (server and client validity, default 365).
# See docs/tls.md for the whole walk-through.
set -eu

usage() {
	sed -n '2,21s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

[ $# -ge 2 ] || usage
dir=$1
what=$2
shift 2
days=${RPX_CERT_DAYS:-365}
umask 077

command -v openssl >/dev/null 2>&1 || {
	echo "rpx-certs.sh: the openssl command is needed (apt-get install openssl)" >&2
	exit 1
}

need_ca() {
	if [ ! -f "$dir/ca.crt" ] || [ ! -f "$dir/ca.key" ]; then
		echo "rpx-certs.sh: no CA in $dir: run '$0 $dir ca' first" >&2
		exit 1
	fi
}

# sign CSR CRT EXTFILE: a leaf certificate from the CA, with a random serial.
sign() {
	openssl x509 -req -in "$1" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days "$days" -sha256 \
		-extfile "$3" -out "$2" 2>/dev/null
}

fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'
}

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

case $what in
ca)
	name=${1:-rpx CA $(hostname)}
	mkdir -p "$dir"
	chmod 700 "$dir"
	if [ -e "$dir/ca.key" ] || [ -e "$dir/ca.crt" ]; then
		echo "rpx-certs.sh: $dir already holds a CA (ca.key, ca.crt); not overwritten" >&2
		exit 1
	fi
	newkey "$dir/ca.key"
	openssl req -x509 -new -key "$dir/ca.key" -out "$dir/ca.crt" -days 3650 -sha256 \
		-subj "/CN=$name" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	chmod 644 "$dir/ca.crt"
	echo "CA:  $dir/ca.crt (keep $dir/ca.key secret)"
	echo "     fingerprint $(fingerprint "$dir/ca.crt")"
	echo "next: $0 $dir server HOST-NAME-OR-IP..."
	;;
server)
	[ $# -ge 1 ] || usage
	need_ca
	san=""
	for n in "$@"; do
		case $n in
		*:* | [0-9]*.[0-9]*.[0-9]*.[0-9]*) entry="IP:$n" ;;
		*) entry="DNS:$n" ;;
		esac
		san="${san:+$san,}$entry"
	done
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	newkey "$dir/server.key"
	openssl req -new -key "$dir/server.key" -out "$tmp/csr" -subj "/CN=$1" 2>/dev/null
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
		"subjectAltName=$san" >"$tmp/ext"
	sign "$tmp/csr" "$dir/server.crt" "$tmp/ext"
	chmod 644 "$dir/server.crt"
	echo "server: $dir/server.crt, key $dir/server.key ($san)"
	echo
	echo "rpxd with mutual TLS (clients need a certificate from this CA):"
	echo "  rpxd --listen tcp://0.0.0.0:7077 --tls-cert $dir/server.crt --tls-key $dir/server.key \\"
	echo "       --tls-client-ca $dir/ca.crt --tls-users $dir/tls-users --tls-require"
	echo "(drop --tls-client-ca and --tls-users for server-only TLS; drop --tls-require"
	echo " to keep clear-text TCP too)"
	echo
	echo "next: $0 $dir client NAME [USER]"
	;;
client)
	[ $# -ge 1 ] || usage
	need_ca
	name=$1
	user=${2:-$1}
	case $name in
	*/* | .* | "") echo "rpx-certs.sh: bad client name '$name'" >&2; exit 2 ;;
	esac
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	newkey "$dir/client-$name.key"
	openssl req -new -key "$dir/client-$name.key" -out "$tmp/csr" -subj "/CN=$name" 2>/dev/null
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth" >"$tmp/ext"
	sign "$tmp/csr" "$dir/client-$name.crt" "$tmp/ext"
	chmod 644 "$dir/client-$name.crt"
	fp=$(fingerprint "$dir/client-$name.crt")
	echo "client: $dir/client-$name.crt, key $dir/client-$name.key (CN=$name)"
	echo
	echo "--tls-users line (lets this certificate spawn and kill jobs as $user):"
	echo "  sha256:$fp $user"
	echo "e.g.: echo 'sha256:$fp $user' >> $dir/tls-users; then SIGHUP rpxd"
	echo
	echo "client side: URL tls://HOST:7077 with the CA $dir/ca.crt,"
	echo "  certificate $dir/client-$name.crt and key $dir/client-$name.key"
	echo "  (librpx: rpx_async_opts .tls_ca_file, .tls_cert_file, .tls_key_file)"
	;;
*)
	usage
	;;
esac

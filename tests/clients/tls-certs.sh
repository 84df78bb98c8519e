#!/usr/bin/env bash
# Make the TLS test PKI for the client suites into DIR, at run time (no key is committed):
#   ca.crt           the CA the servers' certificate and the client certificate chain to
#   server.crt/.key  for CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   client.crt/.key  a client certificate (mutual TLS) from ca
#   other-ca.crt     a CA that signed nothing here: trusting only it must fail verification
# Valid for 2 days; RSA 2048 (every client's TLS stack accepts it).
#   tests/clients/tls-certs.sh DIR
set -euo pipefail
dir=${1:?usage: tls-certs.sh DIR}
command -v openssl >/dev/null || { echo "tls-certs.sh: openssl missing (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
ssl() { openssl "$@" 2>/dev/null || { echo "tls-certs.sh: openssl $* failed" >&2; openssl "$@"; exit 1; }; }
ssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=respub clients test CA" -keyout ca.key -out ca.crt
ssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=respub clients other CA" -keyout other-ca.key -out other-ca.crt
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >client.ext
for name in server client; do
    ssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$name.key" -out "$name.csr"
    ssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile "$name.ext" -out "$name.crt"
done
chmod 600 ./*.key

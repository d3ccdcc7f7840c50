#!/usr/bin/env bash
# Makes the test certificate authority and the certificate of 127.0.0.1 it signed, for the
# https source tests (tests/live/sources.rs). Test-only keys: never trust ca.pem anywhere else.
set -euo pipefail
cd "$(dirname "$0")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 \
  -subj "/CN=claimwatch test CA" -keyout ca.key -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=127.0.0.1" -keyout key.pem -out server.csr
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 36500 \
  -out cert.pem -extfile <(printf "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
# rustls reads PKCS#8 keys.
openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.pk8.pem && mv key.pk8.pem key.pem
rm -f server.csr ca.key ca.srl

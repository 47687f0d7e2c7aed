#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# gen-certs.sh OUT.der OUT.pem "cert[,cert...]"
# Converts each X.509 certificate (DER or PEM) to DER and PEM and
# concatenates them. An empty list gives empty outputs (lpguard then
# refuses every livepatch and says so at boot).
set -eu
der=$1 pem=$2 list=$3
: > "$der.tmp"
: > "$pem.tmp"
IFS=,
for c in $list; do
	[ -n "$c" ] || continue
	case $c in
	/*) ;;
	*) echo "lpguard: certificate path '$c' must be absolute (LPGUARD_CERTS)" >&2; exit 1 ;;
	esac
	if [ ! -r "$c" ]; then
		echo "lpguard: certificate $c not found: create it with 'cvm-cli generate-livepatch-keys' or fix LPGUARD_CERTS" >&2
		exit 1
	fi
	for form in DER PEM; do
		if openssl x509 -inform $form -in "$c" -outform DER -out "$der.one" 2>/dev/null; then
			break
		fi
		rm -f "$der.one"
	done
	if [ ! -s "$der.one" ]; then
		echo "lpguard: $c is not an X.509 certificate (DER or PEM)" >&2
		exit 1
	fi
	# The keyring loader expects SEQUENCE with a two-byte length.
	if [ "$(od -An -tx1 -N2 "$der.one" | tr -d ' ')" != 3082 ]; then
		echo "lpguard: $c: unexpected DER encoding (certificate too small or too large)" >&2
		exit 1
	fi
	cat "$der.one" >> "$der.tmp"
	openssl x509 -inform DER -in "$der.one" -outform PEM >> "$pem.tmp"
	rm -f "$der.one"
done
mv "$der.tmp" "$der"
mv "$pem.tmp" "$pem"

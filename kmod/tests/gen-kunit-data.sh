#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# gen-kunit-data.sh OUTDIR CC
# Test material for lpguard's KUnit suites: three throwaway signing keys
# (A and B: RSA; E: ECDSA P-384, as cvm-cli --type ecdsa-p384 makes), a
# certificate issued by A, and small module-like ELF objects signed the
# way sign-file signs modules (detached CMS, no certificates, no signed
# attributes, followed by struct module_signature and the
# "~Module signature appended~" marker); plain_chain.ko carries the
# issued certificate instead.
set -eu
out=$1 cc=$2
mkdir -p "$out"
cd "$out"

cat > x509.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = ext
[dn]
CN = lpguard kunit
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
for k in a b; do
	openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 36500 \
		-config x509.cnf -subj "/CN=lpguard kunit key $k" \
		-keyout key_$k.pem -out cert_$k.pem 2>/dev/null
	openssl x509 -in cert_$k.pem -outform DER -out cert_$k.der
done
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -sha384 -days 36500 \
	-config x509.cnf -subj "/CN=lpguard kunit key e" \
	-keyout key_e.pem -out cert_e.pem 2>/dev/null
openssl x509 -in cert_e.pem -outform DER -out cert_e.der

# A certificate issued by key A (not self-signed): a signature that
# carries it chains to A through the certificate.
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=lpguard kunit leaf of a" \
	-keyout key_leaf.pem -out leaf.csr 2>/dev/null
openssl x509 -req -in leaf.csr -CA cert_a.pem -CAkey key_a.pem -set_serial 7 \
	-days 36500 -sha256 -extfile x509.cnf -extensions leaf -out cert_leaf.pem 2>/dev/null

# Module-like objects: an ELF relocatable with a .modinfo section.
modinfo() {
	name=$1; shift
	{
		echo 'static const char modinfo[] __attribute__((section(".modinfo"), used, aligned(1))) ='
		for tag in "$@"; do printf '\t"%s\\0"\n' "$tag"; done
		echo ';'
		echo 'int lpguard_kunit_text(void) { return 0; }'
	} > "$name.c"
	$cc -c -O2 -o "$name.o" "$name.c"
}
modinfo lp "license=GPL" "livepatch=Y" "name=kunit_lp"
modinfo plain "license=GPL" "name=kunit_plain"

# sign IN KEY OUT [extra cms options]; $certs: -nocerts (sign-file's form)
# or empty (the signer's certificate goes into the message)
certs=-nocerts
sign() {
	in=$1 key=$2 dst=$3; shift 3
	openssl cms -sign -binary -noattr $certs -nosmimecap -md sha256 \
		-outform DER -in "$in" -signer cert_$key.pem -inkey key_$key.pem \
		-out "$dst.p7s" "$@"
	len=$(wc -c < "$dst.p7s")
	{
		cat "$in" "$dst.p7s"
		# struct module_signature: algo, hash, id_type=PKCS7, signer_len,
		# key_id_len, pad[3], be32 sig_len.
		printf '\000\000\002\000\000\000\000\000'
		printf "\\$(printf %03o $((len >> 24 & 255)))\\$(printf %03o $((len >> 16 & 255)))"
		printf "\\$(printf %03o $((len >> 8 & 255)))\\$(printf %03o $((len & 255)))"
		printf '~Module signature appended~\n'
	} > "$dst"
}
sign lp.o a lp_a.ko
sign lp.o b lp_b.ko
sign lp.o a lp_a_skid.ko -keyid
sign lp.o e lp_e.ko
sign plain.o a plain_a.ko
sign plain.o b plain_b.ko
certs=
sign plain.o leaf plain_chain.ko
certs=-nocerts
cp lp.o lp_unsigned.ko
touch stamp

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Regenerates the golden attestation data of tests/unit/test_attest_verify.cpp
# with swtpm and tpm2-tools (Debian 12): a fake IMA measurement list
# (make-ima-log.py: boot_aggregate, lpguard records of A then B, a refused
# rollback, a violation), PCR 10 of a fresh swtpm extended with it, and
# quotes over sha256:10 with a nonce by RSASSA, RSAPSS and ECDSA attestation keys
# (the template of docs/lp-load.md), plus the AK of a second swtpm. The
# swtpm TCTI finds the control socket at <path>.ctrl.
#
#   tests/unit/data/attest/make-golden.sh    (writes into its own directory)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

start_tpm() { # dir
	mkdir -p "$1"
	swtpm socket --tpm2 --tpmstate dir="$1" --server type=unixio,path="$1/sock" \
		--ctrl type=unixio,path="$1/sock.ctrl" --flags not-need-init,startup-clear &
	pids+=($!)
	for _ in $(seq 50); do [ -S "$1/sock" ] && return; sleep 0.1; done
	echo "make-golden: swtpm did not start" >&2
	exit 1
}
AK_ATTRS='fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign'

start_tpm "$work/tpm"
export TPM2TOOLS_TCTI="swtpm:path=$work/tpm/sock"
python3 "$here/make-ima-log.py" "$here/ima-log.bin" >"$work/extends"
while read -r pcr digest; do tpm2_pcrextend "$pcr:sha256=$digest"; done <"$work/extends"
tpm2_pcrread -Q sha256:10 -o "$work/pcr10"
xxd -p -c 64 "$work/pcr10" >"$here/pcr10.hex"
nonce=6c7067756172642d676f6c64656e2d6e6f6e63652d3031 # "lpguard-golden-nonce-01"
echo "$nonce" >"$here/nonce.hex"
for alg in rsa pss ecc; do
	case $alg in
	rsa) G=rsa2048:rsassa-sha256:null S=rsassa ;;
	pss) G=rsa2048:rsapss-sha256:null S=rsapss ;;
	ecc) G=ecc256:ecdsa-sha256:null S=ecdsa ;;
	esac
	tpm2_createprimary -Q -C e -g sha256 -G "$G" -a "$AK_ATTRS" -c "$work/ak-$alg.ctx"
	tpm2_readpublic -Q -c "$work/ak-$alg.ctx" -f pem -o "$here/ak-$alg.pem"
	tpm2_quote -Q -c "$work/ak-$alg.ctx" -l sha256:10 -q "$nonce" -g sha256 --scheme "$S" \
		-m "$here/quote-$alg.attest" -s "$here/quote-$alg.sig"
	# RSAPSS: libtpms salts with the largest length the key allows (TPM 2.0 Part 1,
	# B.7; newer TPMs use the hash length), which the verifier detects
	# (RSA_PSS_SALTLEN_AUTO); tpm2_checkquote 5.4 with a PEM key expects the
	# hash length and refuses it, so it checks the other two only.
	[ $alg = pss ] || tpm2_checkquote -Q -u "$here/ak-$alg.pem" -m "$here/quote-$alg.attest" -s "$here/quote-$alg.sig" -q "$nonce" -g sha256
	tpm2_flushcontext -t
done

# A TPM that measured a list with a record missing (seq 1, 2, 4, ...).
start_tpm "$work/tpm-gap"
(
	export TPM2TOOLS_TCTI="swtpm:path=$work/tpm-gap/sock"
	python3 "$here/make-ima-log.py" "$here/ima-log-gap.bin" gap >"$work/extends-gap"
	while read -r pcr digest; do tpm2_pcrextend "$pcr:sha256=$digest"; done <"$work/extends-gap"
	tpm2_createprimary -Q -C e -g sha256 -G rsa2048:rsassa-sha256:null -a "$AK_ATTRS" -c "$work/ak-gap.ctx"
	tpm2_readpublic -Q -c "$work/ak-gap.ctx" -f pem -o "$here/ak-gap.pem"
	tpm2_quote -Q -c "$work/ak-gap.ctx" -l sha256:10 -q "$nonce" -g sha256 \
		-m "$here/quote-gap.attest" -s "$here/quote-gap.sig"
)

start_tpm "$work/tpm2"
TPM2TOOLS_TCTI="swtpm:path=$work/tpm2/sock" tpm2_createprimary -Q -C e -g sha256 -G rsa2048:rsassa-sha256:null \
	-a "$AK_ATTRS" -c "$work/ak-other.ctx"
TPM2TOOLS_TCTI="swtpm:path=$work/tpm2/sock" tpm2_readpublic -Q -c "$work/ak-other.ctx" -f pem -o "$here/ak-other.pem"
echo "make-golden: wrote $(cd "$here" && ls -m ./*.pem ./*.attest ./*.sig ./*.bin)"

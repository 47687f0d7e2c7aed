#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tests of how scripts/kpatch/kpatch-tools.sh and scripts/fetch-kernel-source.sh
# read Debian's archive (scripts/lib/debian-archive.sh): each runs against a
# local fake archive served to apt through file: URIs, with a Release file
# signed by a throwaway key made here, and must either succeed with the pinned
# file or fail with exactly the expected one-line message. No network: the
# "unreachable" case uses a closed port on 127.0.0.1. In `make check`.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tools=$top/scripts/kpatch/kpatch-tools.sh
fetch=$top/scripts/fetch-kernel-source.sh
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
pass=0 fail=0
etc_apt() { ls -la --time-style=full-iso /etc/apt /etc/apt/sources.list.d /etc/apt/preferences.d 2>/dev/null; }
etc_before=$(etc_apt)

export GNUPGHOME=$d/gnupg
mkdir -m 700 "$GNUPGHOME"
printf 'trust-model always\nquiet\n' > "$GNUPGHOME/gpg.conf"
newkey() { # newkey NAME: a signing key and its public keyring $d/NAME.gpg
	gpg --batch --quiet --passphrase '' --quick-gen-key "lpguard test archive $1" ed25519 sign never 2>/dev/null &&
		gpg --batch --quiet --export "lpguard test archive $1" > "$d/$1.gpg"
}
newkey archive && newkey other || { echo "not ok - gpg could not make a test key (gnupg installed? 'make deps')"; exit 1; }

# Read by apt before its own configuration: no retries, so the unreachable case fails at once.
echo 'Acquire::Retries "0";' > "$d/apt.conf"

fmt() { LC_ALL=C date -u -d "$1" '+%a, %d %b %Y %H:%M:%S UTC'; }
fresh=$(fmt '-1 hour')

# The archive: $d/arch-NAME/{pool,dists/SUITE/main/{source/Sources,binary-amd64/Packages}}.
# add_source ARCH SUITE PKG VERSION FILE / add_deb ARCH SUITE PKG VERSION FILE: file into pool, entry into the index.
add_source() {
	local a=$d/arch-$1 dir=pool/main/${3:0:1}/$3
	mkdir -p "$a/$dir" "$a/dists/$2/main/source"
	cp "$5" "$a/$dir/"
	printf 'Package: %s\nBinary: %s\nVersion: %s\nArchitecture: amd64\nFormat: 3.0 (quilt)\nDirectory: %s\nChecksums-Sha256:\n %s %s %s\n\n' \
		"$3" "$3" "$4" "$dir" "$(sha256sum < "$5" | cut -d' ' -f1)" "$(stat -c %s "$5")" "$(basename "$5")" \
		>> "$a/dists/$2/main/source/Sources"
}
add_deb() {
	local a=$d/arch-$1 dir=pool/main/l/linux
	mkdir -p "$a/$dir" "$a/dists/$2/main/binary-amd64"
	cp "$5" "$a/$dir/"
	printf 'Package: %s\nVersion: %s\nArchitecture: all\nFilename: %s\nSize: %s\nSHA256: %s\nDescription: test\n\n' \
		"$3" "$4" "$dir/$(basename "$5")" "$(stat -c %s "$5")" "$(sha256sum < "$5" | cut -d' ' -f1)" \
		>> "$a/dists/$2/main/binary-amd64/Packages"
}
# release ARCH SUITE DATE [VALID-UNTIL] [signed|unsigned|KEY]: the Release file over the indexes there.
release() {
	local r=$d/arch-$1/dists/$2 f
	mkdir -p "$r/main/source" "$r/main/binary-amd64"
	touch "$r/main/source/Sources" "$r/main/binary-amd64/Packages"
	{
		printf 'Origin: Debian\nLabel: Debian\nSuite: %s\nCodename: %s\nDate: %s\n' "$2" "$2" "$3"
		[ -z "${4:-}" ] || printf 'Valid-Until: %s\n' "$4"
		printf 'Architectures: amd64 all\nComponents: main\nSHA256:\n'
		for f in main/source/Sources main/binary-amd64/Packages; do
			printf ' %s %s %s\n' "$(sha256sum < "$r/$f" | cut -d' ' -f1)" "$(stat -c %s "$r/$f")" "$f"
		done
	} > "$r/Release"
	rm -f "$r/InRelease"
	case ${5:-signed} in
	unsigned) ;;
	signed) gpg --batch --quiet --clearsign -u "lpguard test archive archive" -o "$r/InRelease" "$r/Release" ;;
	*) gpg --batch --quiet --clearsign -u "lpguard test archive $5" -o "$r/InRelease" "$r/Release" ;;
	esac
}

# A kpatch "source": kpatch-build/kpatch-build and a Makefile that makes the tools kpatch-tools.sh checks for.
mkdir -p "$d/t/kpatch-0.9.10/kpatch-build"
printf '#!/bin/sh\necho kpatch-build stand-in\n' > "$d/t/kpatch-0.9.10/kpatch-build/kpatch-build"
chmod +x "$d/t/kpatch-0.9.10/kpatch-build/kpatch-build"
printf 'all:\n\tfor t in create-diff-object create-klp-module create-kpatch-module; do printf "#!/bin/sh\\n" > $$t; chmod +x $$t; done\n' \
	> "$d/t/kpatch-0.9.10/kpatch-build/Makefile"
tar -C "$d/t" -czf "$d/kpatch_0.9.10.orig.tar.gz" kpatch-0.9.10
ksha=$(sha256sum < "$d/kpatch_0.9.10.orig.tar.gz" | cut -d' ' -f1)
mkdir -p "$d/t/kpatch-0.9.11" && cp -a "$d/t/kpatch-0.9.10/." "$d/t/kpatch-0.9.11/"
tar -C "$d/t" -czf "$d/kpatch_0.9.11.orig.tar.gz" kpatch-0.9.11
# A linux-source-7.3 package: usr/src/linux-source-7.3.tar.xz holding linux-source-7.3/Makefile.
mkdir -p "$d/t/linux-source-7.3" "$d/t/deb/DEBIAN" "$d/t/deb/usr/src"
echo 'VERSION = 7' > "$d/t/linux-source-7.3/Makefile"
tar -C "$d/t" -cJf "$d/t/deb/usr/src/linux-source-7.3.tar.xz" linux-source-7.3
printf 'Package: linux-source-7.3\nVersion: 7.3.4-1~bpo13+1\nArchitecture: all\nMaintainer: test <test@example.invalid>\nDescription: test\n' \
	> "$d/t/deb/DEBIAN/control"
dpkg-deb --root-owner-group -b "$d/t/deb" "$d/linux-source-7.3_7.3.4-1~bpo13+1_all.deb" >/dev/null
lsha=$(sha256sum < "$d/linux-source-7.3_7.3.4-1~bpo13+1_all.deb" | cut -d' ' -f1)

# good: trixie with kpatch 0.9.10-1, sid with 0.9.11-1, trixie-backports with linux-source-7.3.
add_source good trixie kpatch 0.9.10-1 "$d/kpatch_0.9.10.orig.tar.gz"
release good trixie "$fresh"
add_source good sid kpatch 0.9.11-1 "$d/kpatch_0.9.11.orig.tar.gz"
release good sid "$fresh" "$(fmt '+6 days')"
add_deb good trixie-backports linux-source-7.3 7.3.4-1~bpo13+1 "$d/linux-source-7.3_7.3.4-1~bpo13+1_all.deb"
release good trixie-backports "$fresh" "$(fmt '+6 days')"
# expired: the same indexes, Release dated 30 days ago and valid for 7 days.
exp_date=$(fmt '-30 days') exp_until=$(fmt '-23 days')
cp -a "$d/arch-good" "$d/arch-expired"
for s in trixie sid trixie-backports; do release expired $s "$exp_date" "$exp_until"; done
# future: dated tomorrow (a clock that is behind).
cp -a "$d/arch-good" "$d/arch-future"
future_date=$(fmt '+1 day')
release future trixie "$future_date"
# empty: no kpatch and no linux-source at all.
release empty trixie "$fresh"
release empty trixie-backports "$fresh"
# unsigned and signed by a key the keyring does not hold.
cp -a "$d/arch-good" "$d/arch-unsigned" && release unsigned trixie "$fresh" "" unsigned
cp -a "$d/arch-good" "$d/arch-otherkey" && release otherkey trixie "$fresh" "" other
# altered: the index is right, the pool's files are not what it says.
cp -a "$d/arch-good" "$d/arch-altered"
echo x >> "$d/arch-altered/pool/main/k/kpatch/kpatch_0.9.10.orig.tar.gz"
echo x >> "$d/arch-altered/pool/main/l/linux/linux-source-7.3_7.3.4-1~bpo13+1_all.deb"
# missing: the index lists a file the pool does not have.
cp -a "$d/arch-good" "$d/arch-missing" && rm "$d/arch-missing/pool/main/k/kpatch/kpatch_0.9.10.orig.tar.gz"

kpin="trixie 0.9.10-1 $ksha"
lpin="trixie-backports linux-source-7.3 7.3.4-1~bpo13+1 $lsha"
n=0
# run ARCHIVE SCRIPT [VAR=value...]: run it with a fresh state directory; sets rc, out (stdout), err (stderr).
run() {
	local arch=$1 script=$2 mirror
	shift 2
	n=$((n + 1))
	case $arch in http:*) mirror=$arch ;; *) mirror=file:$d/arch-$arch ;; esac
	out=$(env LPGUARD_DEBIAN_MIRROR="$mirror" LPGUARD_DEBIAN_KEYRING="$d/archive.gpg" KPATCH_DIR="$d/kp-$n" APT_CONFIG="$d/apt.conf" \
		"$@" "$script" "$d/src-$n" 2>"$d/err")
	rc=$?
	err=$(cat "$d/err")
}
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1: $2"; echo "$err" | sed 's/^/#   /'; }
# expect_fail NAME MESSAGE: the last run exited 1 and its last line of stderr is exactly MESSAGE
# (with "now <date>" of an expiry message set to "now NOW").
expect_fail() {
	local last
	last=$(tail -n1 <<< "$err" | sed -E 's/, now [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} UTC/, now NOW/; s/later than now \([^)]*\)/later than now (NOW)/')
	if [ "$rc" -ne 1 ]; then bad "$1" "exit $rc, wanted 1"
	elif [ "$last" != "$2" ]; then bad "$1" "last line differs; wanted:"; echo "#   $2"
	else ok "$1"; fi
}

K=kpatch-tools F=fetch-kernel-source
KP="KPATCH_PIN in scripts/kpatch/kpatch-tools.sh" LP="LINUX_SOURCE_PIN in scripts/fetch-kernel-source.sh"
FIX="use an up-to-date mirror (LPGUARD_DEBIAN_MIRROR=<url>)"

# ---- kpatch-tools.sh ----
run good "$tools" KPATCH_PIN="$kpin"
if [ "$rc" -eq 0 ] && [ "$(tail -n1 <<< "$out")" = "$d/kp-$n/src/kpatch-0.9.10-1/kpatch-build/kpatch-build" ] &&
   grep -qxF "$K: using kpatch 0.9.10-1 from Debian trixie (kpatch_0.9.10.orig.tar.gz, SHA256 $ksha)" <<< "$err"; then
	ok "kpatch: the pinned version from trixie is fetched, checked and built"
else bad "kpatch: the pinned version from trixie is fetched, checked and built" "exit $rc, stdout '$out'"; fi
# The second run must not need the archive at all.
out=$(env LPGUARD_DEBIAN_MIRROR=http://127.0.0.1:1/debian APT_CONFIG="$d/apt.conf" KPATCH_DIR="$d/kp-$n" KPATCH_PIN="$kpin" "$tools" 2>"$d/err"); rc=$?; err=$(cat "$d/err")
[ "$rc" -eq 0 ] && ! grep -q reading <<< "$err" && ok "kpatch: a second run reuses the built tree without the network" ||
	bad "kpatch: a second run reuses the built tree without the network" "exit $rc"

run expired "$tools" KPATCH_PIN="$kpin"
expect_fail "kpatch: expired index" \
	"$K: the Debian trixie index at file:$d/arch-expired expired on $exp_until (Release file dated $exp_date, now NOW): apt refuses a stale index; $FIX, or correct this machine's clock if it is wrong"
run future "$tools" KPATCH_PIN="$kpin"
expect_fail "kpatch: index dated in the future" \
	"$K: the Debian trixie index at file:$d/arch-future is dated $future_date, later than now (NOW): apt refuses it; correct this machine's clock"
run good "$tools" KPATCH_PIN="trixie 0.9.12-1 $ksha"
expect_fail "kpatch: pinned version missing" \
	"$K: Debian trixie has no kpatch 0.9.12-1 (it has 0.9.10-1): Debian replaced it; pin one of those in $KP (its SHA256 from the index) and run the tests"
run empty "$tools" KPATCH_PIN="$kpin"
expect_fail "kpatch: package missing" \
	"$K: Debian trixie has no package kpatch (at file:$d/arch-empty): pin one that it carries in $KP"
run good "$tools"
expect_fail "kpatch: the index's SHA256 is not the one pinned in the repository" \
	"$K: the signed Debian trixie index gives kpatch_0.9.10.orig.tar.gz SHA256 $ksha, but $KP pins $(sed -n 's/^KPATCH_PIN=.*trixie [^ ]* \([0-9a-f]*\).*/\1/p' "$tools"): this is not the file the pin was made from; do not use it (if Debian rebuilt it on purpose, check the new file and update the pin)"
run altered "$tools" KPATCH_PIN="$kpin"
expect_fail "kpatch: downloaded file differs from the pin and the index" \
	"$K: downloaded kpatch_0.9.10.orig.tar.gz has SHA256 $(sha256sum < "$d/arch-altered/pool/main/k/kpatch/kpatch_0.9.10.orig.tar.gz" | cut -d' ' -f1), not $ksha (the pinned value, which the signed Debian trixie index confirms): corrupted or altered on the way, deleted; retry, or use another mirror (LPGUARD_DEBIAN_MIRROR=<url>)"
[ ! -e "$d/kp-$n/src/kpatch_0.9.10.orig.tar.gz" ] && [ ! -e "$d/kp-$n/src/kpatch_0.9.10.orig.tar.gz.part" ] &&
	ok "kpatch: the altered download is not kept" || bad "kpatch: the altered download is not kept" "file left in $d/kp-$n/src"
run missing "$tools" KPATCH_PIN="$kpin"
expect_fail "kpatch: file listed by the index but not served" \
	"$K: cannot download file:$d/arch-missing/pool/main/k/kpatch/kpatch_0.9.10.orig.tar.gz (File not found - $d/arch-missing/pool/main/k/kpatch/kpatch_0.9.10.orig.tar.gz (2: No such file or directory)): check the network, or use another mirror (LPGUARD_DEBIAN_MIRROR=<url>)"
run unsigned "$tools" KPATCH_PIN="$kpin"
expect_fail "kpatch: unsigned index" \
	"$K: the Debian trixie index at file:$d/arch-unsigned is not signed by a key in $d/archive.gpg (The repository 'file:$d/arch-unsigned trixie Release' is not signed.): apt refuses it; install the current debian-archive-keyring ('make deps') or use another mirror (LPGUARD_DEBIAN_MIRROR=<url>)"
run otherkey "$tools" KPATCH_PIN="$kpin"
expect_fail "kpatch: index signed by a key outside the keyring" \
	"$K: the Debian trixie index at file:$d/arch-otherkey is not signed by a key in $d/archive.gpg (The following signatures couldn't be verified because the public key is not available: NO_PUBKEY $(gpg --batch --with-colons --list-keys 'lpguard test archive other' | awk -F: '/^pub/{print $5; exit}')): apt refuses it; install the current debian-archive-keyring ('make deps') or use another mirror (LPGUARD_DEBIAN_MIRROR=<url>)"
run nosuite "$tools" KPATCH_PIN="$kpin"
expect_fail "kpatch: mirror without the suite" \
	"$K: file:$d/arch-nosuite has no Release file for Debian trixie: LPGUARD_DEBIAN_MIRROR must point at a Debian archive that carries trixie"
run http://127.0.0.1:1/debian "$tools" KPATCH_PIN="$kpin"
expect_fail "kpatch: archive unreachable" \
	"$K: cannot reach http://127.0.0.1:1/debian for the Debian trixie index (Could not connect to 127.0.0.1:1 (127.0.0.1). - connect (111: Connection refused)): check the network and apt's proxy setting, or use another mirror (LPGUARD_DEBIAN_MIRROR=<url>)"

run good "$tools" KPATCH_SID=1
if [ "$rc" -eq 0 ] && [ "$(tail -n1 <<< "$out")" = "$d/kp-$n/src/kpatch-0.9.11-1/kpatch-build/kpatch-build" ] &&
   grep -qxF "$K: KPATCH_SID=1: taking the newest kpatch in Debian sid instead of the pinned $(sed -n 's/^KPATCH_PIN=${KPATCH_PIN:-"\(.*\)"}$/\1/p' "$tools"); it is checked against sid's signed index only" <<< "$err"; then
	ok "kpatch: KPATCH_SID=1 takes sid's newest version and says so"
else bad "kpatch: KPATCH_SID=1 takes sid's newest version and says so" "exit $rc, stdout '$out'"; fi
run expired "$tools" KPATCH_SID=1
expect_fail "kpatch: KPATCH_SID=1 with sid's index expired" \
	"$K: the Debian sid index at file:$d/arch-expired expired on $exp_until (Release file dated $exp_date, now NOW): apt refuses a stale index; $FIX, or unset KPATCH_SID to use the pinned kpatch, or correct this machine's clock if it is wrong"
run good "$tools" KPATCH_SID=yes
expect_fail "kpatch: KPATCH_SID with another value" \
	"$K: KPATCH_SID='yes': use 1 (kpatch from Debian sid, unpinned) or leave it unset (the pinned trixie 0.9.10-1)"

# ---- fetch-kernel-source.sh ----
run good "$fetch" LINUX_SOURCE_PIN="$lpin"
if [ "$rc" -eq 0 ] && [ "$out" = "$d/src-$n/linux-source-7.3" ] && [ -f "$d/src-$n/linux-source-7.3/Makefile" ]; then
	ok "linux-source: the pinned .deb from trixie-backports is fetched, checked and unpacked"
else bad "linux-source: the pinned .deb from trixie-backports is fetched, checked and unpacked" "exit $rc, stdout '$out'"; fi
run expired "$fetch" LINUX_SOURCE_PIN="$lpin"
expect_fail "linux-source: expired index" \
	"$F: the Debian trixie-backports index at file:$d/arch-expired expired on $exp_until (Release file dated $exp_date, now NOW): apt refuses a stale index; $FIX, or correct this machine's clock if it is wrong"
run good "$fetch" LINUX_SOURCE_PIN="trixie-backports linux-source-7.3 7.3.9-1~bpo13+1 $lsha"
expect_fail "linux-source: pinned version missing" \
	"$F: Debian trixie-backports has no linux-source-7.3 7.3.9-1~bpo13+1 (it has 7.3.4-1~bpo13+1): Debian replaced it; pin one of those in $LP (its SHA256 from the index) and run the tests"
run empty "$fetch" LINUX_SOURCE_PIN="$lpin"
expect_fail "linux-source: package missing" \
	"$F: Debian trixie-backports has no package linux-source-7.3 (at file:$d/arch-empty): pin one that it carries in $LP"
run good "$fetch"
expect_fail "linux-source: the index's SHA256 is not the one pinned in the repository" \
	"$F: the signed Debian trixie-backports index gives linux-source-7.3_7.3.4-1~bpo13+1_all.deb SHA256 $lsha, but $LP pins $(sed -n 's/^LINUX_SOURCE_PIN=.* \([0-9a-f]\{64\}\)"}$/\1/p' "$fetch"): this is not the file the pin was made from; do not use it (if Debian rebuilt it on purpose, check the new file and update the pin)"
run altered "$fetch" LINUX_SOURCE_PIN="$lpin"
expect_fail "linux-source: downloaded file differs from the pin and the index" \
	"$F: downloaded linux-source-7.3_7.3.4-1~bpo13+1_all.deb has SHA256 $(sha256sum < "$d/arch-altered/pool/main/l/linux/linux-source-7.3_7.3.4-1~bpo13+1_all.deb" | cut -d' ' -f1), not $lsha (the pinned value, which the signed Debian trixie-backports index confirms): corrupted or altered on the way, deleted; retry, or use another mirror (LPGUARD_DEBIAN_MIRROR=<url>)"

[ "$(etc_apt)" = "$etc_before" ] && ok "nothing under /etc/apt changed" || bad "nothing under /etc/apt changed" "it did"

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]

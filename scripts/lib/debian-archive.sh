# SPDX-License-Identifier: GPL-2.0
# debian-archive.sh: read one suite of Debian's archive through apt with a
# private configuration and fetch one pinned file from it. Every failure is
# one line naming what failed, why, and what to do. Sourced by
# scripts/kpatch/kpatch-tools.sh and scripts/fetch-kernel-source.sh.
#
#   da_tool=NAME da_pin_where=TEXT     message prefix; where the pin is (for the hints)
#   da_also=TEXT                       appended to the advice for an expired index
#   da_setup DIR SUITE TYPE            TYPE deb or deb-src; apt's state lives under DIR
#   da_update                          apt-get update of SUITE: the signed index, or fail
#   da_lookup_source PKG VERSION FILE-REGEX   from the Sources index: sets da_uri da_file da_size da_sha
#   da_lookup_deb PKG VERSION          the same for a binary package from the Packages index
#   da_check_pin SHA256                the index's SHA256 (da_sha) must equal the pinned one
#   da_fetch DEST SHA256               download da_uri to DEST and check it against SHA256
#   da_newest_source PKG               newest version of PKG in the Sources index
#
# apt runs with its own sources file, preferences, lists, cache and (empty)
# dpkg status under DIR: /etc/apt's sources and /var/lib/apt are neither read
# nor changed; only the Packages or Sources index is fetched (no Contents,
# translations or AppStream data that apt.conf.d may ask for). apt.conf.d is
# still read (proxy settings), but the index date checks are forced on
# whatever it says: an expired index is refused.
#
# Environment: LPGUARD_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# LPGUARD_DEBIAN_KEYRING (the keyring the index must be signed with, default
# Debian's archive keyring; the tests point both at a local fake archive).

da_tool=${da_tool:-debian-archive}
da_pin_where=${da_pin_where:-the script}
da_mirror=${LPGUARD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
da_keyring=${LPGUARD_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

da_now() { LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC'; }

da_fail() { echo "$da_tool: $*" >&2; exit 1; }

da_setup() {
	da_dir=$1 da_suite=$2 da_type=$3
	da_log=$da_dir/apt.log
	mkdir -p "$da_dir/etc" "$da_dir/state/lists/partial" "$da_dir/cache/archives/partial"
	: > "$da_dir/state/status"
	cat > "$da_dir/etc/lpguard.sources" <<-EOF
	# Written by $da_tool (scripts/lib/debian-archive.sh); used only through
	# apt's -o Dir::Etc options, never from /etc/apt.
	Types: $da_type
	URIs: $da_mirror
	Suites: $da_suite
	Components: main
	Targets: $([ "$da_type" = deb ] && echo Packages || echo Sources)
	Signed-By: $da_keyring
	EOF
	da_opts=(-o "Dir::Etc=$da_dir/etc" -o Dir::Etc::sourcelist=lpguard.sources -o Dir::Etc::sourceparts=-
		 -o Dir::Etc::preferences=lpguard.pref -o Dir::Etc::preferencesparts=-
		 -o "Dir::State=$da_dir/state" -o "Dir::State::status=$da_dir/state/status" -o "Dir::Cache=$da_dir/cache"
		 -o Acquire::Check-Valid-Until=true -o Acquire::Check-Date=true -o Acquire::Languages=none)
	# As root, apt would download as _apt, which cannot write into DIR.
	[ "$(id -u)" -ne 0 ] || da_opts+=(-o APT::Sandbox::User=root)
}

da_apt() { LC_ALL=C apt-get "${da_opts[@]}" "$@"; }

# The first line of $1 (apt's output) matching the extended regex $2, without apt's "E: "/"W: ".
# Empty, not a failure, when nothing matches.
da_grep() { { grep -m1 -E -- "$2" <<< "$1" || true; } | sed -E 's/^[EWN]: //; s/ +/ /g; s/^ //'; }

# A Release file field (Date, Valid-Until) from the InRelease/Release apt left in its lists.
da_release_field() {
	local f
	for f in "$da_dir"/state/lists/partial/*_dists_"${da_suite}"_InRelease "$da_dir"/state/lists/partial/*_dists_"${da_suite}"_Release \
		 "$da_dir"/state/lists/*_dists_"${da_suite}"_InRelease "$da_dir"/state/lists/*_dists_"${da_suite}"_Release; do
		[ -f "$f" ] || continue
		sed -n "s/^$1: *//p" "$f" | head -n1
		return
	done
}

da_update() {
	local out why
	echo "$da_tool: reading the Debian $da_suite index at $da_mirror" >&2
	# --error-on=any: without it apt exits 0 when the index cannot be fetched and
	# quietly keeps the lists of an earlier run.
	if out=$(da_apt -q --error-on=any update 2>&1); then
		echo "$out" > "$da_log"
		return 0
	fi
	echo "$out" > "$da_log"
	local where="the Debian $da_suite index at $da_mirror"
	local fix="use an up-to-date mirror (LPGUARD_DEBIAN_MIRROR=<url>)${da_also:-}"
	if grep -q 'is expired' <<< "$out"; then
		local date until
		date=$(da_release_field Date) until=$(da_release_field Valid-Until)
		[ -n "$until" ] || until="an earlier date ($(da_grep "$out" 'is expired' | sed -E 's/.*\((invalid since [^)]*)\).*/\1/'))"
		da_fail "$where expired on $until (Release file dated ${date:-?}, now $(da_now)): apt refuses a stale index; $fix, or correct this machine's clock if it is wrong"
	elif grep -q 'is not valid yet' <<< "$out"; then
		da_fail "$where is dated $(da_release_field Date), later than now ($(da_now)): apt refuses it; correct this machine's clock"
	elif why=$(da_grep "$out" "Could not resolve|Could not connect|Connection failed|Connection timed out|Temporary failure|Unable to connect|No route to host|Network is unreachable|Failed to fetch .*(Connection|timed out)") && [ -n "$why" ]; then
		why=$(sed -E 's/^Failed to fetch [^ ]+ +//' <<< "$why")
		da_fail "cannot reach $da_mirror for the Debian $da_suite index ($why): check the network and apt's proxy setting, or use another mirror (LPGUARD_DEBIAN_MIRROR=<url>)"
	elif why=$(da_grep "$out" "NO_PUBKEY|signatures were invalid|signatures couldn't be verified|BADSIG|is not signed|no longer signed|Signed-By") && [ -n "$why" ]; then
		da_fail "$where is not signed by a key in $da_keyring ($why): apt refuses it; install the current debian-archive-keyring ('make deps') or use another mirror (LPGUARD_DEBIAN_MIRROR=<url>)"
	elif grep -q 'does not have a Release file' <<< "$out"; then
		da_fail "$da_mirror has no Release file for Debian $da_suite: LPGUARD_DEBIAN_MIRROR must point at a Debian archive that carries $da_suite"
	elif why=$(da_grep "$out" '^E: ') && [ -n "$why" ]; then
		da_fail "apt-get update of $where failed ($why): see $da_log"
	else
		why=$(da_grep "$out" '^W: ')
		da_fail "apt-get update of $where failed (${why:-no message from apt}): see $da_log"
	fi
}

# Versions of a package in the index, newest first, comma separated.
da_versions() {
	local v
	if [ "$da_type" = deb-src ]; then
		v=$(LC_ALL=C apt-cache "${da_opts[@]}" showsrc --only-source "$1" 2>/dev/null | sed -n 's/^Version: //p')
	else
		v=$(LC_ALL=C apt-cache "${da_opts[@]}" madison "$1" 2>/dev/null | awk -F' [|] ' '{print $2}')
	fi
	sort -ruV <<< "$v" | sed '/^$/d' | paste -sd, | sed 's/,/, /g'
}

da_newest_source() { da_versions "$1" | sed 's/,.*//'; }

# Shared by da_lookup_source and da_lookup_deb: $1 package, $2 version,
# $3 apt's --print-uris output, $4 the regex of the file wanted.
da_take_uri() {
	local line have
	line=$(grep -E "^'[^']+' $4 [0-9]+ SHA256:[0-9a-f]{64}\$" <<< "$3" | head -n1 || true)
	if [ -z "$line" ]; then
		have=$(da_versions "$1")
		[ -n "$have" ] || da_fail "Debian $da_suite has no package $1 (at $da_mirror): pin one that it carries in $da_pin_where"
		grep -qxF "$2" <<< "${have//, /$'\n'}" &&
			da_fail "the Debian $da_suite entry for $1 $2 has no file matching $4 with a SHA256: see $da_log"
		da_fail "Debian $da_suite has no $1 $2 (it has $have): Debian replaced it; pin one of those in $da_pin_where (its SHA256 from the index) and run the tests"
	fi
	read -r da_uri da_file da_size da_sha <<< "$line"
	da_uri=${da_uri//\'/}
	da_sha=${da_sha#SHA256:}
}

da_lookup_source() {
	local out
	out=$(da_apt -qq source --print-uris --only-source "$1=$2" 2>&1) || true
	echo "$out" >> "$da_log"
	da_take_uri "$1" "$2" "$out" "$3"
}

da_lookup_deb() {
	local out
	out=$(da_apt -qq download --print-uris "$1=$2" 2>&1) || true
	echo "$out" >> "$da_log"
	da_take_uri "$1" "$2" "$out" "${1//./\\.}_[^ ]+\\.deb"
}

da_check_pin() {
	[ "$da_sha" = "$1" ] ||
		da_fail "the signed Debian $da_suite index gives $da_file SHA256 $da_sha, but $da_pin_where pins $1: this is not the file the pin was made from; do not use it (if Debian rebuilt it on purpose, check the new file and update the pin)"
}

da_fetch() {
	local dest=$1 want=$2 part=$1.part out got why
	rm -f "$part"
	echo "$da_tool: downloading $da_file ($da_size bytes)" >&2
	if ! out=$(LC_ALL=C /usr/lib/apt/apt-helper "${da_opts[@]}" download-file "$da_uri" "$part" 2>&1); then
		echo "$out" >> "$da_log"
		rm -f "$part"
		why=$(da_grep "$out" '^E: Failed to fetch' | sed -E 's/^Failed to fetch [^ ]+ +//')
		[ -n "$why" ] || why=$(da_grep "$out" '^E: ')
		da_fail "cannot download $da_uri (${why:-see $da_log}): check the network, or use another mirror (LPGUARD_DEBIAN_MIRROR=<url>)"
	fi
	echo "$out" >> "$da_log"
	# A file: URI gives a symbolic link to the archive's file: keep a copy.
	if [ -L "$part" ]; then cp -L "$part" "$part.copy" && mv -f "$part.copy" "$part"; fi
	got=$(sha256sum "$part" | cut -d' ' -f1)
	if [ "$got" != "$want" ]; then
		rm -f "$part"
		da_fail "downloaded $da_file has SHA256 $got, not $want (the pinned value, which the signed Debian $da_suite index confirms): corrupted or altered on the way, deleted; retry, or use another mirror (LPGUARD_DEBIAN_MIRROR=<url>)"
	fi
	mv -f "$part" "$dest"
}

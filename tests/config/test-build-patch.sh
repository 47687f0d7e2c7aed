#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tests of scripts/build-patch.sh, the patch builders' front end, on fake
# kernel trees (fast, in `make check`): which builder it picks per tree, what
# it passes on, and its argument errors. Also the pre-checks of
# scripts/kpatch/klp-build.sh that run before any build. The real builds are
# `make test-kpatch` (kpatch-build, 6.12) and `make test-kernels` (klp-build, 7.x).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bp=$top/scripts/build-patch.sh
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
nok() { fail=$((fail + 1)); echo "not ok - $1"; [ -z "${2:-}" ] || while IFS= read -r l; do echo "#   $l"; done <<< "$2"; }

# expect RC NAME PATTERN [env...] -- args...: exit code RC, PATTERN (fixed
# string) in stdout+stderr, and every error line one line long.
expect() {
	local want=$1 name=$2 pat=$3 out rc
	shift 3
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	out=$(env "${envs[@]}" "$bp" "$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && grep -qF -- "$pat" <<< "$out"; then
		ok "$name"
	else
		nok "$name (exit $rc, wanted $want; wanted '$pat')" "$out"
	fi
}

# tree MAJOR MINOR [klp]: a fake kernel source tree and an out-of-tree build
# directory for it (.config and the 'source' link Kbuild leaves).
tree() {
	local t=$d/linux-$1.$2${3:+-klp}
	mkdir -p "$t/scripts/livepatch" "$t.out"
	printf 'VERSION = %s\nPATCHLEVEL = %s\nSUBLEVEL = 0\n' "$1" "$2" > "$t/Makefile"
	if [ -n "${3:-}" ]; then
		printf '#!/bin/bash\nexit 0\n' > "$t/scripts/livepatch/klp-build"
		chmod +x "$t/scripts/livepatch/klp-build"
	fi
	echo 'CONFIG_LIVEPATCH=y' > "$t.out/.config"
	ln -sfn "$t" "$t.out/source"
	echo "$t.out"
}
k612=$(tree 6 12)
k619=$(tree 6 19 klp)
k73=$(tree 7 3 klp)
k73n=$(tree 7 3)
k510=$(tree 5 10)
p=$d/fix.patch
printf -- '--- a/fs/proc/cmdline.c\n+++ b/fs/proc/cmdline.c\n@@ -1 +1 @@\n-a\n+b\n' > "$p"
mkdir -p "$d/out"

# ---- which builder, per tree -------------------------------------------------
expect 0 "6.12 without klp-build: kpatch-build" kpatch-build KOUT="$k612" -- --which
expect 0 "5.10: kpatch-build" kpatch-build KOUT="$k510" -- --which
expect 0 "6.19 with klp-build: klp-build" klp-build KOUT="$k619" -- --which
expect 0 "7.3 with klp-build: klp-build" klp-build KOUT="$k73" -- --which
expect 1 "7.3 without klp-build: no builder, says why" \
	"no patch builder for Linux 7.3 in $d/linux-7.3: it has no scripts/livepatch/klp-build" KOUT="$k73n" -- --which
expect 0 "KSRC overrides the source link" klp-build KOUT="$k612" KSRC="$d/linux-7.3-klp" -- --which
expect 0 "--builder kpatch-build on a 6.19 tree that ships klp-build" kpatch-build KOUT="$k619" -- --builder kpatch-build --which
expect 1 "--builder kpatch-build on 7.3 is refused" "kpatch-build builds for kernels up to 6.x" KOUT="$k73" -- --builder=kpatch-build --which
expect 1 "--builder klp-build on 6.12 is refused" "has no scripts/livepatch/klp-build, which the kernel ships from 6.19" \
	KOUT="$k612" -- --builder klp-build --which

# ---- what it runs: the same arguments to either wrapper ----------------------
expect 0 "7.3: klp-build.sh with the patches and OUTDIR" "scripts/kpatch/klp-build.sh $p $d/out" \
	KOUT="$k73" -- --dry-run "$p" "$d/out"
expect 0 "6.12: kpatch-build.sh with the patches and OUTDIR" "scripts/kpatch/kpatch-build.sh $p $d/out" \
	KOUT="$k612" -- --dry-run "$p" "$d/out"
expect 0 "--no-replace, -f and -n are passed on as -f -R -n" "klp-build.sh -f -R -n livepatch-x $p $p $d/out" \
	KOUT="$k73" -- --dry-run --no-replace -f -n livepatch-x "$p" "$p" "$d/out"
expect 0 "-R is --no-replace" "kpatch-build.sh -R $p $d/out" KOUT="$k612" -- --dry-run -R "$p" "$d/out"
expect 0 "--name=NAME" "-n lp-y $p" KOUT="$k612" -- --dry-run --name=lp-y "$p" "$d/out"
expect 0 "the wrapper gets KOUT and KSRC" "KOUT=$k73 KSRC=$d/linux-7.3-klp " KOUT="$k73" -- --dry-run "$p" "$d/out"
expect 0 "the chosen builder and why, on stderr" "build-patch: klp-build for Linux 7.3 (the tree ships scripts/livepatch/klp-build)" \
	KOUT="$k73" -- --dry-run "$p" "$d/out"
cp "$p" "$d/-odd.patch"
expect 0 "-- ends the options (a patch named -odd.patch)" "kpatch-build.sh $d/-odd.patch $d/out" \
	KOUT="$k612" -- --dry-run -- "$d/-odd.patch" "$d/out"

# ---- argument errors ----------------------------------------------------------
expect 2 "no arguments: the usage line" "usage: scripts/build-patch.sh [-f] [-R|--no-replace]" KOUT="$k612" --
expect 2 "no arguments: what is missing" "build-patch: no PATCH and no OUTDIR given" KOUT="$k612" --
expect 2 "only a patch" "build-patch: only '$p' given: name the .patch files, then the directory" KOUT="$k612" -- "$p"
expect 2 "unknown option" "build-patch: unknown option '--replace'" KOUT="$k612" -- --replace "$p" "$d/out"
expect 2 "-n without a name" "build-patch: -n needs a module name" KOUT="$k612" -- "$p" "$d/out" -n
expect 2 "--builder with a bad value" "build-patch: --builder 'kpatch': use auto" KOUT="$k612" -- --builder kpatch "$p" "$d/out"
expect 0 "--help prints the usage line and exits 0" "usage: scripts/build-patch.sh" KOUT="$k612" -- --help
expect 1 "a missing patch" "build-patch: patch $d/nope.patch not found" KOUT="$k612" -- "$d/nope.patch" "$d/out"
expect 1 "a directory as the patch" "build-patch: patch $d/out is not a readable file" KOUT="$k612" -- "$d/out" "$d/out"
touch "$d/file"
expect 1 "OUTDIR is a file" "build-patch: OUTDIR $d/file exists and is not a directory" KOUT="$k612" -- "$p" "$d/file"
expect 1 "OUTDIR named like a module" "build-patch: OUTDIR $d/x.ko ends in .ko" KOUT="$k612" -- "$p" "$d/x.ko"
expect 1 "the patch last, as if it were OUTDIR" "the last argument $d/fix2.patch looks like a patch" KOUT="$k612" -- "$p" "$d/fix2.patch"
expect 1 "KOUT without .config" "build-patch: KOUT=$d/nowhere is not a configured kernel build directory (no .config)" \
	KOUT="$d/nowhere" -- "$p" "$d/out"
mkdir -p "$d/nosrc" && echo 'CONFIG_LIVEPATCH=y' > "$d/nosrc/.config"
expect 1 "KOUT without a source link" "build-patch: KOUT=$d/nosrc has no source link to its kernel tree" KOUT="$d/nosrc" -- "$p" "$d/out"
expect 1 "KSRC that is no kernel tree" "build-patch: KSRC=$d is not a kernel source tree" KOUT="$k612" KSRC="$d" -- "$p" "$d/out"

# Every error is one line (the usage line may follow a command-line mistake).
out=$(KOUT="$d/nowhere" "$bp" "$p" "$d/out" 2>&1)
if [ "$(wc -l <<< "$out")" = 1 ]; then ok "an error is one line"; else nok "an error is one line" "$out"; fi

# ---- klp-build.sh's pre-checks, before any build --------------------------------
klp=$top/scripts/kpatch/klp-build.sh
kexpect() { # kexpect NAME PATTERN KOUT
	local out rc
	out=$(KOUT=$3 KLP_DIR=$d/klp "$klp" "$p" "$d/out" 2>&1)
	rc=$?
	if [ $rc = 1 ] && grep -qF -- "$2" <<< "$out" && [ "$(wc -l <<< "$out")" = 1 ]; then ok "$1"
	else nok "$1 (exit $rc)" "$out"; fi
}
mkdir -p "$k73/include/config" && echo 7.3.0 > "$k73/include/config/kernel.release"
kexpect "klp-build.sh: a tree without klp-build" "has no scripts/livepatch/klp-build: the kernel ships it from 6.19" "$k73n"
kexpect "klp-build.sh: a kernel without CONFIG_KLP_BUILD" "was built without CONFIG_KLP_BUILD: klp-build refuses such a kernel" "$k73"
printf 'CONFIG_LIVEPATCH=y\nCONFIG_KLP_BUILD=y\nCONFIG_LD_DEAD_CODE_DATA_ELIMINATION=y\n' > "$k73/.config"
kexpect "klp-build.sh: dead code elimination" "has CONFIG_LD_DEAD_CODE_DATA_ELIMINATION, which klp-build does not support" "$k73"
out=$(KOUT=$k73 "$klp" 2>&1); rc=$?
if [ $rc = 2 ] && grep -qF "usage: $klp [-f] [-R] [-n NAME] PATCH [PATCH...] OUTDIR" <<< "$out"; then
	ok "klp-build.sh: the usage line"
else
	nok "klp-build.sh: the usage line (exit $rc)" "$out"
fi


# ---- klp-build.sh around a stand-in klp-build -----------------------------------
# A fake 7.3 tree whose scripts/livepatch/klp-build records how it was called
# and writes a module-like ELF object (.modinfo with livepatch=Y and a
# vermagic): the tree copy, the reuse of klp-build's unpatched build (-S
# patched), the options passed on and the repair after a killed run.
ksrc=$d/fake-7.3
mkdir -p "$ksrc/security" "$ksrc/scripts/livepatch" "$ksrc/fs/proc" "$d/fkout/include/config"
printf 'VERSION = 7\nPATCHLEVEL = 3\nSUBLEVEL = 0\n' > "$ksrc/Makefile"
printf 'source "security/loadpin/Kconfig"\n' > "$ksrc/security/Kconfig"
: > "$ksrc/security/Makefile"
echo 'echo 7.3.0' > "$ksrc/scripts/setlocalversion"
printf 'a\n' > "$ksrc/fs/proc/cmdline.c"
cat > "$d/mod.c" <<'C'
__attribute__((section(".modinfo"), used)) static const char a[] = "livepatch=Y";
__attribute__((section(".modinfo"), used)) static const char b[] = "vermagic=" VERMAGIC;
C
gcc -c -DVERMAGIC='"7.3.0 SMP preempt mod_unload "' -o "$d/mod.o" "$d/mod.c"
gcc -c -DVERMAGIC='"7.3.1 SMP preempt mod_unload "' -o "$d/mod-other.o" "$d/mod.c"
cat > "$ksrc/scripts/livepatch/klp-build" <<K
#!/bin/bash
# stand-in: record the call, check where it runs, write the module
[ -f ./scripts/livepatch/klp-build ] || { echo "error: not run from the tree" >&2; exit 1; }
echo "\$*" >> "$d/klp-calls"
out= short=0
while [ \$# -gt 0 ]; do
	case \$1 in -o) out=\$2; shift ;; -S) short=1; shift ;; esac
	shift
done
if [ \$short -eq 1 ]; then
	[ -f klp-tmp/1-orig/.complete ] || { echo "error: -S without 1-orig" >&2; exit 1; }
else
	mkdir -p klp-tmp/1-orig && touch klp-tmp/1-orig/.complete
fi
grep -q CONFIG_KLP_BUILD=y .config || { echo "error: no .config" >&2; exit 1; }
if [ -n "\${FAKE_KLP_DIE:-}" ]; then
	echo b > fs/proc/cmdline.c
	echo 'echo 7.3.0; exit 0' > scripts/setlocalversion
	kill -9 \$\$
fi
cp "\${FAKE_KLP_MOD:-$d/mod.o}" "\$out"
echo SUCCESS
K
chmod +x "$ksrc/scripts/livepatch/klp-build"
printf 'CONFIG_LIVEPATCH=y\nCONFIG_KLP_BUILD=y\n' > "$d/fkout/.config"
echo 7.3.0 > "$d/fkout/include/config/kernel.release"
ln -sfn "$ksrc" "$d/fkout/source"
krun() { # krun NAME WANT-RC PATTERN [env...] -- args: run klp-build.sh on the fake tree
	local name=$1 want=$2 pat=$3 out rc
	shift 3
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	: > "$d/klp-calls"
	out=$(env KOUT="$d/fkout" KLP_DIR="$d/klp" HOSTCC=true JOBS=2 "${envs[@]}" "$klp" "$@" 2>&1)
	rc=$?
	if [ $rc = "$want" ] && grep -qF -- "$pat" <<< "$out"; then ok "$name"; else nok "$name (exit $rc, wanted $want; '$pat')" "$out"; fi
}
calls() { cat "$d/klp-calls"; }
# called NAME CMD...: CMD (a check of the stand-in's calls) succeeds.
called() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name" "$(calls)"; fi; }
full_build() { [ -s "$d/klp-calls" ] && ! grep -qF -- "-S" "$d/klp-calls"; }
krun "klp-build.sh: first run builds in full and prints the module" 0 "$d/out/livepatch-fix.ko" -- "$p" "$d/out"
c=$(calls)
if [ "$c" = "-T -j 2 -o $d/out/livepatch-fix.ko $p" ]; then ok "klp-build.sh: first run: -T -j 2 -o OUTDIR/livepatch-<patch>.ko, no -S"
else nok "klp-build.sh: first run: -T -j 2 -o OUTDIR/livepatch-<patch>.ko, no -S" "$c"; fi
if cmp -s "$d/fkout/.config" "$d/klp/tree-fkout/.config" && [ -L "$d/klp/tree-fkout/security/lpguard" ]; then
	ok "klp-build.sh: the tree copy has KOUT's .config and lpguard grafted in"
else nok "klp-build.sh: the tree copy has KOUT's .config and lpguard grafted in" "$(ls -la "$d/klp/tree-fkout" "$d/klp/tree-fkout/security")"; fi
krun "klp-build.sh: the same patch again is up to date" 0 "is up to date (-f rebuilds it)" -- "$p" "$d/out"
called "klp-build.sh: up to date: klp-build not run" test ! -s "$d/klp-calls"
krun "klp-build.sh: -f rebuilds" 0 "$d/out/livepatch-fix.ko" -- -f "$p" "$d/out"
called "klp-build.sh: a later run starts at the patched build (-S patched)" grep -qF -- "-S patched" "$d/klp-calls"
krun "klp-build.sh: -R -n NAME" 0 "$d/out/lp-nr.ko" -- -R -n lp-nr "$p" "$d/out"
called "klp-build.sh: -R is --no-replace, -n names the module" grep -qF -- "-o $d/out/lp-nr.ko --no-replace -S patched" "$d/klp-calls"
echo 'CONFIG_FOO=y' >> "$d/fkout/.config"
krun "klp-build.sh: a changed .config" 0 "$d/out/livepatch-fix.ko" -- "$p" "$d/out"
called "klp-build.sh: a changed .config is copied" grep -q CONFIG_FOO=y "$d/klp/tree-fkout/.config"
called "klp-build.sh: a changed .config means a full build" full_build
echo changed >> "$(find "$d/klp/kmod-fkout" -maxdepth 1 -name '*.c' | head -n 1)"
krun "klp-build.sh: lpguard's sources changed in the copy" 0 "$d/out/livepatch-fix.ko" -- -f "$p" "$d/out"
called "klp-build.sh: changed lpguard sources mean a full build" full_build
krun "klp-build.sh: a killed klp-build fails in one line" 1 "klp-build: failed; its output is in $d/klp/logs/klp-build-fkout.log" \
	FAKE_KLP_DIE=1 -- -f "$p" "$d/out"
if cmp -s "$ksrc/fs/proc/cmdline.c" "$d/klp/tree-fkout/fs/proc/cmdline.c" &&
	cmp -s "$ksrc/scripts/setlocalversion" "$d/klp/tree-fkout/scripts/setlocalversion"; then
	ok "klp-build.sh: what a killed run left patched is put back"
else nok "klp-build.sh: what a killed run left patched is put back"; fi
krun "klp-build.sh: a module of another kernel release" 1 "has vermagic '7.3.1 SMP preempt mod_unload ' but the kernel is 7.3.0" \
	FAKE_KLP_MOD="$d/mod-other.o" -- -f "$p" "$d/out"
krun "klp-build.sh: no libxxhash" 1 "libxxhash headers not found: klp-build's objtool needs them" HOSTCC=false -- "$p" "$d/out"
krun "klp-build.sh: a missing patch" 1 "klp-build: patch $d/nope.patch not found" -- "$d/nope.patch" "$d/out"

echo "build-patch: $pass passed, $fail failed"
[ $fail -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# readiness.sh [--loadable] [--builders] DOTCONFIG: can this kernel enforce
# lpguard, and can a patch builder make livepatches for it?
#
# One line per requirement ("ok", "FAIL" or "n/a"), then a verdict line:
#   lpguard    CONFIG_LSM holds lockdown and, after it, lpguard (built in);
#              lockdown forced to integrity (or confidentiality) from early boot
#   kpatch-build (6.x kernels)
#              CONFIG_LIVEPATCH, CONFIG_DEBUG_INFO, neither DEBUG_INFO_SPLIT nor
#              DEBUG_INFO_REDUCED, no X86_KERNEL_IBT, no GCC_PLUGIN_RANDSTRUCT,
#              no GCC_PLUGIN_LATENT_ENTROPY
#   klp-build  (the kernel's own builder, scripts/livepatch/klp-build: 6.19 and later)
#              CONFIG_KLP_BUILD, no LD_DEAD_CODE_DATA_ELIMINATION, neither plugin
# Exit 1 when lpguard's requirements fail (built-in form), or when no builder
# can target the kernel, unless LPGUARD_ALLOW_UNPATCHABLE=1 (then a warning).
# --loadable: lpguard is lpguard.ko, not an LSM; its lines only inform.
# --builders: print only the names of the builders that can target the kernel.
set -uo pipefail
loadable=0 builders_only=0
while [ $# -gt 1 ]; do
	case $1 in
	--loadable) loadable=1 ;;
	--builders) builders_only=1 ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 1 ] || { echo "usage: readiness.sh [--loadable] [--builders] DOTCONFIG" >&2; exit 2; }
dotconfig=$1
[ -r "$dotconfig" ] || { echo "readiness: cannot read $dotconfig: configure the kernel first" >&2; exit 2; }

declare -A cfg
while IFS= read -r l; do
	[[ $l =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]] && cfg[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
done < "$dotconfig"
on() { [ "${cfg[CONFIG_$1]:-}" = y ]; }
val() { [ -n "${cfg[CONFIG_$1]:-}" ] && echo "CONFIG_$1=${cfg[CONFIG_$1]}" || echo "CONFIG_$1 not set"; }

# "# Linux/x86_64 6.12.117 Kernel Configuration", as every olddefconfig writes it.
major=0 minor=0 version=unknown
if [[ $(grep -m1 -E '^# Linux/' "$dotconfig") =~ ^#\ Linux/[^\ ]+\ (([0-9]+)\.([0-9]+)[^\ ]*) ]]; then
	version=${BASH_REMATCH[1]} major=${BASH_REMATCH[2]} minor=${BASH_REMATCH[3]}
fi

report() { [ $builders_only -eq 1 ] || echo "readiness: $*"; }
# req GROUP WHAT OK DETAIL FIX: one requirement line; failures are kept for the verdict.
declare -A failed
req() {
	local group=$1 what=$2 ok=$3 detail=$4 fix=$5
	if [ "$ok" = 1 ]; then
		report "ok   $group: $what ($detail)"
	else
		report "FAIL $group: $what: $detail; $fix"
		failed[$group]="${failed[$group]:+${failed[$group]}, }$detail"
	fi
}
is() { "$@" && echo 1 || echo 0; }
unset_() { ! on "$1"; }

# lpguard
lsm=${cfg[CONFIG_LSM]:-}
lsm=${lsm//\"/}
lsm_order_ok() {
	local i=0 lockdown=-1 lpguard=-1 m
	IFS=, read -ra mods <<< "$lsm"
	for m in "${mods[@]}"; do
		[ "$m" != lockdown ] || lockdown=$i
		[ "$m" != lpguard ] || lpguard=$i
		i=$((i + 1))
	done
	[ $lockdown -ge 0 ] && [ $lpguard -gt $lockdown ] && on SECURITY_LPGUARD
}
lockdown_ok() {
	on SECURITY_LOCKDOWN_LSM && on SECURITY_LOCKDOWN_LSM_EARLY &&
		{ on LOCK_DOWN_KERNEL_FORCE_INTEGRITY || on LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY; }
}
lockdown_detail() {
	local o
	for o in SECURITY_LOCKDOWN_LSM SECURITY_LOCKDOWN_LSM_EARLY LOCK_DOWN_KERNEL_FORCE_NONE \
		LOCK_DOWN_KERNEL_FORCE_INTEGRITY LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY; do
		on $o && echo -n "CONFIG_$o=y "
	done | sed 's/ $//; s/ /, /g'
}
if [ $loadable -eq 1 ]; then
	report "n/a  lpguard: in the LSM order (the loadable form, lpguard.ko, is no LSM)"
	if lockdown_ok; then report "ok   lpguard: lockdown forced to integrity ($(lockdown_detail))"
	else report "n/a  lpguard: lockdown not forced at build time ($(lockdown_detail)): boot with lockdown=integrity"; fi
else
	req lpguard "in the LSM order after lockdown" "$(is lsm_order_ok)" \
		"CONFIG_LSM=\"$lsm\", $(val SECURITY_LPGUARD)" \
		"merge kconfig/lpguard.config (its CONFIG_LSM has lockdown, then lpguard)"
	req lpguard "lockdown forced to integrity from early boot" "$(is lockdown_ok)" \
		"$(lockdown_detail)" \
		"merge kconfig/lpguard.config (CONFIG_SECURITY_LOCKDOWN_LSM_EARLY=y, CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY=y)"
fi

# Patch builders.
builders=() tried=()
check_kpatch() {
	local k=kpatch-build fix="kconfig/kpatch.config does"
	req $k "livepatch support" "$(is on LIVEPATCH)" "$(val LIVEPATCH)" "set CONFIG_LIVEPATCH=y ($fix)"
	req $k "debug information" "$(is on DEBUG_INFO)" "$(val DEBUG_INFO)" \
		"it reads struct sizes from vmlinux's DWARF; set CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y ($fix)"
	req $k "debug information not split" "$(is unset_ DEBUG_INFO_SPLIT)" "$(val DEBUG_INFO_SPLIT)" \
		"it cannot read .dwo files; unset it ($fix)"
	req $k "debug information not reduced" "$(is unset_ DEBUG_INFO_REDUCED)" "$(val DEBUG_INFO_REDUCED)" \
		"reduced information lacks the struct types it looks up; unset it ($fix)"
	req $k "no indirect branch tracking" "$(is unset_ X86_KERNEL_IBT)" "$(val X86_KERNEL_IBT)" \
		"it refuses ENDBR at function entries; unset it ($fix)"
	req $k "no randstruct plugin" "$(is unset_ GCC_PLUGIN_RANDSTRUCT)" "$(val GCC_PLUGIN_RANDSTRUCT)" \
		"it refuses randomized struct layouts; unset it ($fix)"
	req $k "no latent entropy plugin" "$(is unset_ GCC_PLUGIN_LATENT_ENTROPY)" "$(val GCC_PLUGIN_LATENT_ENTROPY)" \
		"it refuses the plugin's instrumentation; unset it ($fix)"
}
check_klp() {
	local k=klp-build
	req $k "klp-build support" "$(is on KLP_BUILD)" "$(val KLP_BUILD)" \
		"it follows from CONFIG_LIVEPATCH=y on x86_64; set CONFIG_LIVEPATCH=y (kconfig/lpguard.config)"
	req $k "no dead code elimination at link time" "$(is unset_ LD_DEAD_CODE_DATA_ELIMINATION)" \
		"$(val LD_DEAD_CODE_DATA_ELIMINATION)" "it drops the functions a patch refers to; unset it"
	req $k "no randstruct plugin" "$(is unset_ GCC_PLUGIN_RANDSTRUCT)" "$(val GCC_PLUGIN_RANDSTRUCT)" \
		"it refuses randomized struct layouts; unset it"
	req $k "no latent entropy plugin" "$(is unset_ GCC_PLUGIN_LATENT_ENTROPY)" "$(val GCC_PLUGIN_LATENT_ENTROPY)" \
		"it refuses the plugin's instrumentation; unset it"
}
if [ "$major" = 6 ]; then
	check_kpatch; tried+=(kpatch-build)
	[ -n "${failed[kpatch-build]:-}" ] || builders+=(kpatch-build)
else
	report "n/a  kpatch-build: builds for 6.x kernels; this is $version"
fi
if [ "$major" -ge 7 ] || { [ "$major" = 6 ] && [ "$minor" -ge 19 ]; } || on HAVE_KLP_BUILD; then
	check_klp; tried+=(klp-build)
	[ -n "${failed[klp-build]:-}" ] || builders+=(klp-build)
else
	report "n/a  klp-build: ships with Linux 6.19 and later; this is $version"
fi

if [ $builders_only -eq 1 ]; then
	[ ${#builders[@]} -eq 0 ] || printf '%s\n' "${builders[@]}"
	exit 0
fi
rc=0
if [ $loadable -eq 0 ] && [ -n "${failed[lpguard]:-}" ]; then
	echo "readiness: this kernel cannot enforce lpguard (${failed[lpguard]}): merge kconfig/lpguard.config, which sets the options named above" >&2
	rc=1
fi
if [ ${#builders[@]} -gt 0 ]; then
	echo "readiness: livepatches for this kernel can be built with ${builders[*]}"
else
	why=
	for b in "${tried[@]}"; do why+="${why:+; }$b: ${failed[$b]}"; done
	[ -n "$why" ] || why="no builder supports Linux $version"
	if [ "${LPGUARD_ALLOW_UNPATCHABLE:-0}" = 1 ]; then
		echo "readiness: warning: no patch builder can target this kernel ($why); building it anyway because LPGUARD_ALLOW_UNPATCHABLE=1, but no livepatch can be made for it" >&2
	else
		echo "readiness: no patch builder can target this kernel ($why): set the options named above (for kpatch-build, merge kconfig/kpatch.config: make ... EXTRA_FRAGMENTS=kconfig/kpatch.config image-kernel), or build it unpatchable with LPGUARD_ALLOW_UNPATCHABLE=1" >&2
		rc=1
	fi
fi
exit $rc

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-config.sh DOTCONFIG FRAGMENT...: fail when any option line of a
# fragment did not survive olddefconfig (merge_config.sh drops options whose
# dependencies are unmet without failing).
#   CONFIG_X=v             must appear exactly so in DOTCONFIG
#   # CONFIG_X is not set  CONFIG_X must not be set (absent counts as not set)
# As in merge_config.sh, a later fragment overrides an earlier one: only the
# last line that names an option is checked.
set -uo pipefail
dotconfig=$1; shift
[ -r "$dotconfig" ] || { echo "check-config: cannot read $dotconfig" >&2; exit 2; }
bad=0
# The option each fragment line names, if any.
sym_of() {
	if [[ $1 =~ ^(CONFIG_[A-Za-z0-9_]+)= ]] || [[ $1 =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		echo "${BASH_REMATCH[1]}"
	fi
}
declare -A last
for frag in "$@"; do
	n=0
	while IFS= read -r line; do
		n=$((n + 1))
		sym=$(sym_of "$line")
		[ -z "$sym" ] || last[$sym]="$frag:$n"
	done < "$frag"
done
for frag in "$@"; do
	n=0
	while IFS= read -r line; do
		n=$((n + 1))
		sym=$(sym_of "$line")
		[ -z "$sym" ] || [ "${last[$sym]}" = "$frag:$n" ] || continue
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			sym=${BASH_REMATCH[1]}
			got=$(grep -E "^(# )?$sym[= ]" "$dotconfig" | head -n1)
			if [ "$got" != "$line" ]; then
				if [ -z "$got" ] || [[ $got == "# "* ]]; then
					hint="an unmet dependency dropped it; add what it depends on to the fragment"
				else
					hint="something else sets another value; find what with 'make menuconfig' (/${sym#CONFIG_})"
				fi
				echo "check-config: $frag:$n: wanted '$line', got '${got:-<absent>}': $hint" >&2
				bad=1
			fi
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			sym=${BASH_REMATCH[1]}
			if grep -qE "^$sym=" "$dotconfig"; then
				echo "check-config: $frag:$n: wanted '$line', got '$(grep -E "^$sym=" "$dotconfig")': something selects it; find what with 'make menuconfig' (/${sym#CONFIG_})" >&2
				bad=1
			fi
		fi
	done < "$frag"
done
[ $bad -eq 0 ] && echo "check-config: all options of $* present in $dotconfig"
exit $bad

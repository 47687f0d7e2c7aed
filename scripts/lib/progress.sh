# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# progress.sh: run a long step with its output in a log and one progress line
# with the elapsed time. Source it; then: run_step "label" LOG cmd args...
#
# On a terminal the line is redrawn every second; otherwise (a log, CI) it is
# printed when the step starts, every RUN_STEP_EVERY seconds (default 60) and
# when it ends. RUN_STEP_PHASES, an extended regex, names the step's phases:
# the last line of LOG that matches it is shown after the label.
run_step() {
	local label=$1 log=$2 start rc pid phase='' p now last every=${RUN_STEP_EVERY:-60} tty=0
	shift 2
	start=$(date +%s)
	mkdir -p "$(dirname "$log")"
	"$@" >"$log" 2>&1 &
	pid=$!
	[ -t 1 ] && tty=1
	[ $tty -eq 1 ] || echo "$label ..."
	last=$start
	while kill -0 "$pid" 2>/dev/null; do
		now=$(date +%s)
		if [ -n "${RUN_STEP_PHASES:-}" ]; then
			# The end of the log only, and the last phase seen stays.
			p=$(tail -n 500 "$log" 2>/dev/null | grep -E "$RUN_STEP_PHASES" | tail -n 1 |
				sed -E 's/[[:space:]]+/ /g; s/^ //' | cut -c 1-60) || p=''
			[ -z "$p" ] || phase=" [$p]"
		fi
		if [ $tty -eq 1 ]; then
			printf '\r\033[K%s%s ... %ds' "$label" "$phase" $((now - start))
		elif [ $((now - last)) -ge "$every" ]; then
			echo "$label$phase ... $((now - start))s"
			last=$now
		fi
		sleep 1
	done
	[ $tty -eq 0 ] || printf '\r\033[K'
	# (also under set -e: a failed step is reported before the caller exits)
	rc=0
	wait "$pid" || rc=$?
	if [ $rc -ne 0 ]; then
		echo "$label: FAILED after $(($(date +%s) - start))s (exit $rc); last lines of $log:" >&2
		tail -n 40 "$log" >&2
		return $rc
	fi
	echo "$label: done in $(($(date +%s) - start))s"
}

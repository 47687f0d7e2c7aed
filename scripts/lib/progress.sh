# SPDX-License-Identifier: GPL-2.0
# progress.sh: run a long step with its output in a log and one progress line
# with the elapsed time. Source it; then: run_step "label" LOG cmd args...
run_step() {
	local label=$1 log=$2 start rc pid
	shift 2
	start=$(date +%s)
	mkdir -p "$(dirname "$log")"
	"$@" >"$log" 2>&1 &
	pid=$!
	if [ -t 1 ]; then
		while kill -0 "$pid" 2>/dev/null; do
			printf '\r%s ... %ds' "$label" $(($(date +%s) - start))
			sleep 1
		done
		printf '\r'
	else
		echo "$label ..."
	fi
	wait "$pid"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "$label: FAILED after $(($(date +%s) - start))s (exit $rc); last lines of $log:" >&2
		tail -n 40 "$log" >&2
		return $rc
	fi
	echo "$label: done in $(($(date +%s) - start))s"
}

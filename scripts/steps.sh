# shellcheck shell=bash
# steps.sh: runs the steps of the test command and prints its summary.
# Sourced by scripts/test, and by scripts/test-scripts, which tests it.
#
# Set WORK (a directory for the steps' logs) and STEPS (names of bash
# functions) before run_steps. A step's exit status is its outcome:
#   0              passed;
#   $NOT_CHECKED   nothing was checked (for example the vulnerability
#                  database could not be reached): not a failure, and not
#                  a pass either; the summary says "not checked";
#   anything else  failed.
# Each step's output is shown and kept in its own log, step-NAME.log in
# WORK; the summary's last line names every failed step and its log.

NOT_CHECKED=77

FAILED=()    # names of the failed steps
PASSED=()    # names of the passed steps
UNCHECKED=() # names of the steps that checked nothing
SUMMARY=     # the summary's last line, once run_steps is done

# step_log STEP: the file that keeps STEP's output.
step_log() { printf '%s/step-%s.log\n' "$WORK" "${1#step_}"; }

run_steps() {
	local step t0 rc log
	for step in "${STEPS[@]}"; do
		printf '\n==> step %s (log: %s)\n' "${step#step_}" "$(step_log "$step")" >&2
		log=$(step_log "$step")
		t0=$SECONDS
		# set -e does not apply inside the step: it runs as an if condition.
		if (if "$step"; then exit 0; else exit $?; fi) 2>&1 | tee "$log" >&2; then
			rc=0
		else
			rc=${PIPESTATUS[0]}
		fi
		case $rc in
		0)
			PASSED+=("$step")
			printf -- '--- step %s passed (%ds)\n' "${step#step_}" $((SECONDS - t0)) >&2
			;;
		"$NOT_CHECKED")
			UNCHECKED+=("$step")
			printf -- '--- step %s NOT CHECKED (%ds)\n' "${step#step_}" $((SECONDS - t0)) >&2
			;;
		*)
			FAILED+=("$step")
			printf -- '--- step %s FAILED (%ds)\n' "${step#step_}" $((SECONDS - t0)) >&2
			;;
		esac
	done
}

# with_logs STEP...: "name (log: file), ..." of the steps.
with_logs() {
	local step out=
	for step in "$@"; do
		out+="${out:+, }${step#step_} (log: $(step_log "$step"))"
	done
	printf '%s' "$out"
}

# summary: the last lines of each failed step's log, then the counts and
# the line that names what failed and what was not checked. Returns 1 if a
# step failed.
summary() {
	local step
	for step in "${FAILED[@]}"; do
		printf '\n--- last lines of the failed step %s (%s)\n' "${step#step_}" "$(step_log "$step")"
		tail -n 40 "$(step_log "$step")"
	done
	printf '\nsteps: %d passed, %d failed, %d not checked\n' "${#PASSED[@]}" "${#FAILED[@]}" "${#UNCHECKED[@]}"
	SUMMARY=
	if [[ ${#UNCHECKED[@]} -gt 0 ]]; then
		SUMMARY="NOT CHECKED: $(with_logs "${UNCHECKED[@]}")"
	fi
	if [[ ${#FAILED[@]} -gt 0 ]]; then
		SUMMARY="FAILED: $(with_logs "${FAILED[@]}")${SUMMARY:+; $SUMMARY}"
	else
		SUMMARY="all ${#PASSED[@]} checking steps passed${SUMMARY:+; $SUMMARY}"
	fi
	printf '%s\n' "$SUMMARY"
	[[ ${#FAILED[@]} -eq 0 ]]
}

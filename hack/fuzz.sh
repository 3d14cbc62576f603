#!/usr/bin/env bash
# Runs every Go fuzz target in the repository, one after another, each for
# $FUZZTIME (default 30s) with one worker, and prints a table of targets,
# executions and results. Fails if a target fails or if none is found.
set -uo pipefail

cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-30s}"
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT

targets=()
for pkg in $(go list ./...); do
	dir="$(go list -f '{{.Dir}}' "$pkg")"
	# Only packages with fuzz tests: listing compiles the test binary.
	grep -qs '^func Fuzz' "$dir"/*_test.go || continue
	while read -r name; do
		[[ "$name" == Fuzz* ]] && targets+=("$pkg $name")
	done < <(go test -list '^Fuzz' "$pkg")
done

if [[ ${#targets[@]} -eq 0 ]]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

failed=0
rows=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	log="$log_dir/$name.log"
	echo "=== $pkg $name ($FUZZTIME)"
	if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel 1 "$pkg" >"$log" 2>&1; then
		result=ok
	else
		result=FAIL
		failed=1
		cat "$log"
	fi
	execs="$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
	rows+=("$(printf '%-60s | %10s | %s' "${pkg#github.com/temblor-dev/temblor/}.$name" "${execs:-0}" "$result")")
done

echo
printf '%-60s | %10s | %s\n' target execs result
for r in "${rows[@]}"; do
	echo "$r"
done
echo "$(grep -c ' ok$' <<<"$(printf '%s\n' "${rows[@]}")") passed, $(grep -c ' FAIL$' <<<"$(printf '%s\n' "${rows[@]}")") failed"
exit "$failed"

#!/usr/bin/env bash
# `sv status` over N running services (default 1000), ours vs Debian's sv.
# Each service is supervised by its own runsv (Debian's unless RUNSV is
# set) running `exec sleep 100000`; all are stopped again at the end.
# Usage: crates/sv/bench/status1000.sh [N] [ROUNDS]   (after scripts/build-release, which links sv statically)
set -euo pipefail
cd "$(dirname "$0")/../../.."
N=${1:-1000}
ROUNDS=${2:-10}
OURS=${OURS:-$PWD/target/release/sv}
THEIRS=${THEIRS:-/usr/bin/sv}
RUNSV=${RUNSV:-/usr/bin/runsv}
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
names=()
for i in $(seq -w 1 "$N"); do
  mkdir "$dir/s$i"
  printf '#!/bin/sh\nexec sleep 100000\n' >"$dir/s$i/run"
  chmod +x "$dir/s$i/run"
  names+=("s$i")
done
for n in "${names[@]}"; do
  setsid "$RUNSV" "$dir/$n" </dev/null >/dev/null 2>&1 &
  pids+=($!)
done
for n in "${names[@]}"; do
  until [ -s "$dir/$n/supervise/pid" ]; do sleep 0.05; done
done
export SVDIR=$dir
running=$("$OURS" status "${names[@]}" | grep -c '^run: ')
echo "$running of $N services running"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
: >"$dir/ours"; : >"$dir/theirs"
for i in $(seq "$ROUNDS"); do
  for who in ours theirs; do
    bin=$OURS; [ $who = theirs ] && bin=$THEIRS
    t0=$EPOCHREALTIME
    "$bin" status "${names[@]}" >/dev/null
    t1=$EPOCHREALTIME
    echo "($t1 - $t0) * 1000" | bc -l >>"$dir/$who"
  done
done
o=$(median <"$dir/ours"); t=$(median <"$dir/theirs")
echo "ours, sorted (ms):  $(sort -n "$dir/ours" | tr '\n' ' ')"
echo "runit, sorted (ms): $(sort -n "$dir/theirs" | tr '\n' ' ')"
# CPU time (user + system) per run, summed over ROUNDS runs in a subshell
cpu() {
  (for _ in $(seq "$ROUNDS"); do "$1" status "${names[@]}" >/dev/null; done; times) | tail -1 |
    sed 's/[ms]/ /g' | awk -v n="$ROUNDS" '{print ($1 * 60 + $2 + $3 * 60 + $4) * 1000 / n}'
}
printf 'cpu time (user+sys) per run: ours %.1f ms, runit %.1f ms\n' "$(cpu "$OURS")" "$(cpu "$THEIRS")"
printf 'fastest run: ours %.1f ms, runit %.1f ms\n' "$(sort -n "$dir/ours" | head -1)" "$(sort -n "$dir/theirs" | head -1)"
printf 'sv status over %d services, median of %d: ours %.1f ms, runit %.1f ms, ratio %.3f\n' "$N" "$ROUNDS" "$o" "$t" "$(echo "$o / $t" | bc -l)"

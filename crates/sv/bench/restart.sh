#!/usr/bin/env bash
# `sv -w 5 restart` round trip, ours vs Debian's sv, on the same service
# supervised by one runsv (Debian's unless RUNSV is set).
# Usage: crates/sv/bench/restart.sh [ROUNDS]   (after scripts/build-release, which links sv statically)
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROUNDS=${1:-20}
OURS=${OURS:-$PWD/target/release/sv}
THEIRS=${THEIRS:-/usr/bin/sv}
RUNSV=${RUNSV:-/usr/bin/runsv}
dir=$(mktemp -d)
mkdir "$dir/svc"
printf '#!/bin/sh\nexec sleep 100000\n' >"$dir/svc/run"
chmod +x "$dir/svc/run"
setsid "$RUNSV" "$dir/svc" </dev/null >/dev/null 2>&1 &
runsv=$!
trap 'kill -TERM $runsv 2>/dev/null; wait $runsv 2>/dev/null; rm -rf "$dir"' EXIT
until [ -s "$dir/svc/supervise/pid" ]; do sleep 0.05; done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
: >"$dir/ours" ; : >"$dir/theirs"
for i in $(seq "$ROUNDS"); do
  for who in ours theirs; do
    # runsv delays a restart by a second when ./run ran for less.
    sleep 1.1
    bin=$OURS; [ $who = theirs ] && bin=$THEIRS
    t0=$EPOCHREALTIME
    "$bin" -w 5 restart "$dir/svc" >/dev/null
    t1=$EPOCHREALTIME
    echo "($t1 - $t0) * 1000" | bc -l >>"$dir/$who"
  done
done
o=$(median <"$dir/ours"); t=$(median <"$dir/theirs")
echo "ours, sorted (ms):  $(sort -n "$dir/ours" | tr '\n' ' ')"
echo "runit, sorted (ms): $(sort -n "$dir/theirs" | tr '\n' ' ')"
printf 'restart round trip, median of %d: ours %.1f ms, runit %.1f ms, ratio %.3f\n' "$ROUNDS" "$o" "$t" "$(echo "$o / $t" | bc -l)"

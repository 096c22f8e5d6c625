#!/bin/sh
# Creates the daemontools-style personality links next to an installed
# chpst: envdir, envuidgid, pgrphack, setuidgid, setlock, softlimit.
#
#   install-personalities.sh [BINDIR]      (default BINDIR: /usr/bin)
#
# DESTDIR is honoured for staged installs. The links are relative symlinks
# to `chpst` in the same directory, so the staged tree can be moved. Set
# LINK=hard for hard links instead. Existing files of those names are
# replaced; skip this script if daemontools' own programs must stay.
set -eu
bindir=${1:-/usr/bin}
dir="${DESTDIR:-}$bindir"
if [ ! -e "$dir/chpst" ]; then
  echo "install-personalities.sh: fatal: $dir/chpst does not exist" >&2
  exit 111
fi
for name in envdir envuidgid pgrphack setuidgid setlock softlimit; do
  rm -f "$dir/$name"
  if [ "${LINK:-symbolic}" = hard ]; then
    ln "$dir/chpst" "$dir/$name"
  else
    ln -s chpst "$dir/$name"
  fi
done

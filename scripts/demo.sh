#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The first command of the README. As root on Debian 12, from any directory: installs what is
# missing (scripts/deps.sh), builds the release binaries in build-rel/, then runs
# `tapir demo`: two network namespaces joined by a veth pair, a tapir tunnel brought up in
# each with `tapir up` and fresh keys, a ping and a 3 s TCP transfer through it (beside
# wireguard-go's), then everything removed again (also on Ctrl-C or failure).
# Arguments are passed to `tapir demo` (e.g. --keep, then --clean).
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it creates network namespaces)" >&2
	exit 1
fi

bash scripts/deps.sh
if [ -f build-rel/meson-private/coredata.dat ]; then
	meson setup --reconfigure build-rel -Dbuildtype=release >/dev/null
else
	meson setup build-rel -Dbuildtype=release >/dev/null
fi
ninja -C build-rel
echo
exec build-rel/tapir demo "$@"

#!/bin/sh
# SPDX-License-Identifier: MIT
# meson install script: create the system user tapird runs as (tapird(8), PRIVILEGES) when
# installing into the real root as root. A staged install (DESTDIR set) creates nothing: the
# package's own scripts, or systemd-sysusers at boot, do it from the installed sysusers.d file.
# $1 is that file, as installed.
set -eu
[ -z "${DESTDIR:-}" ] || exit 0
[ "$(id -u)" -eq 0 ] || exit 0
getent passwd tapir >/dev/null 2>&1 && exit 0
if command -v systemd-sysusers >/dev/null 2>&1; then
	echo "[#] systemd-sysusers $1"
	systemd-sysusers "$1"
else
	echo "[#] useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin tapir"
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin tapir
fi

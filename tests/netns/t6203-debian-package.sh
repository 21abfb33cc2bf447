#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package (debian/): built from a copy of the tree under $T, never installed into
# this system. No namespace, daemon or network (lib.sh is sourced for its TAP helpers and
# cleanup).
#
#   copy the tree (tracked and untracked files, no build directories) --> $T/src/tapir
#   DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b   (bounded: 480 s)
#   then: the .deb exists, is named for meson.build's version, and dpkg-deb -c lists tapir,
#   tapird, the three man pages, tapir@.service, tapir-mesh@.service, the sysusers.d file and
#   the bash, zsh and fish completions; lintian --fail-on error passes on it; the maintainer
#   scripts parse (sh -n); the postinst, run with every user tool replaced by a recorder on
#   PATH, creates the user once through systemd-sysusers (or adduser/useradd without it) and
#   not when it exists; the postrm removes it on purge only; the packaged sysusers.d file
#   makes the user tapir in a scratch root (systemd-sysusers --root);
#   dpkg --root=$T/root --force-script-chrootless -i, then --purge: a real install and purge
#   by dpkg into a throw-away root (the maintainer scripts honour DPKG_ROOT), with wrappers
#   that refuse any user tool call aimed at this system.
set -eu
. "$(dirname "$0")/lib.sh"

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
require_cmds dpkg-buildpackage dpkg-deb dh lintian fakeroot meson ninja tar

plan 16

# logged LOG CMD...: run CMD with its output in LOG; on failure show the end of the log.
logged()
{
	local log=$1 rc=0
	shift
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "exit status $rc; last lines of $log:"
		tail -n 40 "$log"
	fi
	return "$rc"
}

VERSION=$(sed -n "s/^ *version: *'\([^']*\)'.*/\1/p" "$SRCDIR/meson.build" | head -n 1)
SRC=$T/src/tapir-$VERSION
DEB=$T/src/tapir_${VERSION}_$(dpkg --print-architecture).deb

# copy_tree: the checkout's files without its build directories (git's view when it is a git
# checkout: tracked plus untracked files not ignored; else everything but build*/ and .git).
copy_tree()
{
	mkdir -p "$SRC"
	if git -C "$SRCDIR" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$SRCDIR" && git ls-files -z --cached --others --exclude-standard |
			xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
			tar --null -T - -cf -) | tar -C "$SRC" -xf -
	else
		tar -C "$SRCDIR" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$SRC" -xf -
	fi
	[ -x "$SRC/debian/rules" ]
}
check "copy of the tree to $SRC" copy_tree

build_deb()
{
	cd "$SRC" &&
		DEB_BUILD_OPTIONS="nocheck parallel=2" timeout 480 dpkg-buildpackage -us -uc -b
}
pretty "" "cd $SRC && DEB_BUILD_OPTIONS='nocheck parallel=2' dpkg-buildpackage -us -uc -b"
check "dpkg-buildpackage -us -uc -b" logged "$T/build.log" build_deb
check "the package is $(basename "$DEB") (meson.build's version)" test -f "$DEB"

# in_deb PATH...: every PATH (relative to the package root, regex-safe) is a file in the .deb.
in_deb()
{
	local list p missing=0
	list=$(dpkg-deb -c "$DEB" | awk '{ print $NF }' | sed 's|^\./|/|') || return 1
	for p in "$@"; do
		grep -qxF "$p" <<<"$list" || { echo "missing: $p"; missing=1; }
	done
	[ "$missing" -eq 0 ] || { echo "contents:"; echo "$list"; return 1; }
}
UNITDIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
SYSUSERSDIR=$(pkg-config --variable=sysusersdir systemd 2>/dev/null || echo /usr/lib/sysusers.d)
check "dpkg-deb -c: tapir, tapird" in_deb /usr/bin/tapir /usr/sbin/tapird
check "dpkg-deb -c: tapir(8), tapird(8), tapir.conf(5)" in_deb \
	/usr/share/man/man8/tapir.8.gz /usr/share/man/man8/tapird.8.gz \
	/usr/share/man/man5/tapir.conf.5.gz
check "dpkg-deb -c: $UNITDIR/tapir@.service, tapir-mesh@.service, $SYSUSERSDIR/tapir.conf" \
	in_deb "$UNITDIR/tapir@.service" "$UNITDIR/tapir-mesh@.service" "$SYSUSERSDIR/tapir.conf"
check "dpkg-deb -c: bash, zsh and fish completions" in_deb \
	/usr/share/bash-completion/completions/tapir /usr/share/zsh/vendor-completions/_tapir \
	/usr/share/fish/vendor_completions.d/tapir.fish

pretty "" "lintian --fail-on error $DEB"
lintian_ok()
{
	local rc=0
	lintian --fail-on error --display-info --pedantic --tag-display-limit 0 "$DEB" >"$T/lintian.log" 2>&1 || rc=$?
	cat "$T/lintian.log"
	return "$rc"
}
check "lintian --fail-on error" lintian_ok
diag "lintian: $(grep -v 'root privileges' "$T/lintian.log" | tr '\n' ';')"

CTRL=$T/control
# They must call nothing but the user tools recorded below (no debhelper snippet that would
# reach systemd on this system), since they are run here.
scripts_ok()
{
	dpkg-deb -e "$DEB" "$CTRL" && sh -n "$CTRL/postinst" && sh -n "$CTRL/postrm" || return 1
	if grep -nE 'deb-systemd|systemctl|invoke-rc|update-rc|dpkg-maintscript' \
		"$CTRL/postinst" "$CTRL/postrm"; then
		echo "debhelper added snippets: the scripts cannot be run here"
		return 1
	fi
}
check "dpkg-deb -e: postinst and postrm parse (sh -n), no systemd snippets" scripts_ok
if [ ! -f "$CTRL/postinst" ] || [ ! -f "$CTRL/postrm" ] ||
	grep -qE 'deb-systemd|systemctl|invoke-rc|update-rc' "$CTRL/postinst" "$CTRL/postrm"; then
	bail_out "the maintainer scripts cannot be run against recorders"
fi

# The maintainer scripts run against recorders: every tool they may call to look up, create or
# remove a user is a script on PATH ahead of the real one that appends its name and arguments
# to $T/calls, so nothing on this system changes. getent answers from $T/users (one name a line).
SHIMS=$T/shims
mkdir -p "$SHIMS"
for tool in systemd-sysusers adduser useradd deluser userdel delgroup groupdel; do
	printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$tool" "$T" >"$SHIMS/$tool"
done
printf '#!/bin/sh\ngrep -qx "$2" "%s/users"\n' "$T" >"$SHIMS/getent"
chmod +x "$SHIMS"/*

# run_script SCRIPT ARG USERS: run the maintainer script with USERS existing; print the calls.
run_script()
{
	printf '%s\n' "$3" >"$T/users"
	: >"$T/calls"
	PATH=$SHIMS:/usr/sbin:/usr/bin:/sbin:/bin sh "$CTRL/$1" "$2" >/dev/null 2>&1 || {
		echo "$1 $2: exit status $?"
		return 1
	}
	cat "$T/calls"
}
# The postinst asks systemd-sysusers when the sysusers.d file is installed (not so on this
# system, which never gets the package), else adduser.
if [ -f /usr/lib/sysusers.d/tapir.conf ]; then
	WANT_CREATE="systemd-sysusers /usr/lib/sysusers.d/tapir.conf"
else
	WANT_CREATE="adduser --system --group --no-create-home --home /nonexistent --shell /usr/sbin/nologin --gecos tapir VPN daemon tapir"
fi
check_eq "postinst configure creates the user once" "$WANT_CREATE" \
	run_script postinst configure root
check_eq "postinst configure again with the user present: nothing" "" \
	run_script postinst configure "root
tapir"
check_eq "postrm remove keeps the user" "" run_script postrm remove "root
tapir"
check_eq "postrm purge removes the user and its group" "deluser --system --quiet tapir
delgroup --system --quiet tapir" \
	run_script postrm purge "root
tapir"

# creates_user: the packaged sysusers.d file, given to systemd-sysusers with a scratch root,
# makes the system user tapir (no home, no login shell): what the postinst does on a system.
creates_user()
{
	local x=$T/extract sysroot=$T/sysroot
	dpkg-deb -x "$DEB" "$x" && mkdir -p "$sysroot/etc" || return 1
	systemd-sysusers --root="$sysroot" "$x$SYSUSERSDIR/tapir.conf" || return 1
	grep -E '^tapir:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$' "$sysroot/etc/passwd" ||
		{ cat "$sysroot/etc/passwd"; return 1; }
}
if command -v systemd-sysusers >/dev/null 2>&1; then
	check "the packaged sysusers.d file creates the user tapir (systemd-sysusers --root)" \
		creates_user
else
	ok "the packaged sysusers.d file creates the user tapir # SKIP systemd-sysusers not installed"
fi

# ---------------------------------------------------------------- install and purge, for real
# The .deb installed and purged by dpkg itself into a throw-away root: dpkg --root=$ROOT with
# its own empty database, the maintainer scripts run outside it (--force-script-chrootless:
# the root holds no shell to chroot into) with DPKG_ROOT=$ROOT, which the scripts honour.
# --force-depends: the root has none of the libraries the package depends on (the host's are
# used to run the installed tapird). Guards that nothing reaches this system: the user tools
# on PATH are wrappers that refuse (and record) any call not aimed at $ROOT, and /etc/passwd
# and /etc/group are compared before and after.
ROOT=$T/root
GUARD=$T/guard
mkdir -p "$GUARD" "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/etc"
: >"$ROOT/var/lib/dpkg/status"
: >"$ROOT/var/lib/dpkg/available"
for tool in systemd-sysusers useradd userdel groupdel; do
	real=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$tool" || echo /bin/false)
	printf '#!/bin/sh\ncase " $* " in\n*" --root %s "* | *" --root=%s "*) exec %s "$@" ;;\nesac\necho "%s $*" >>"%s/host-calls"\nexit 1\n' \
		"$ROOT" "$ROOT" "$real" "$tool" "$T" >"$GUARD/$tool"
done
for tool in adduser deluser delgroup getent; do
	printf '#!/bin/sh\necho "%s $*" >>"%s/host-calls"\nexit 1\n' "$tool" "$T" >"$GUARD/$tool"
done
chmod +x "$GUARD"/*
HOST_IDS=$(cat /etc/passwd /etc/group | sha256sum)
rootdpkg() { PATH=$GUARD:/usr/sbin:/usr/bin:/sbin:/bin dpkg --root="$ROOT" --log="$T/dpkg.log" \
	--force-script-chrootless "$@"; }
host_untouched()
{
	[ ! -s "$T/host-calls" ] || { cat "$T/host-calls"; return 1; }
	[ "$(cat /etc/passwd /etc/group | sha256sum)" = "$HOST_IDS" ]
}
installed()
{
	logged "$T/install.log" rootdpkg --force-depends -i "$DEB" &&
		rootdpkg -s tapir | grep -qx 'Status: install ok installed' &&
		"$ROOT/usr/sbin/tapird" --version | grep -qx "tapird $VERSION" &&
		[ -f "$ROOT/usr/share/man/man8/tapird.8.gz" ] &&
		grep -E '^tapir:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$' "$ROOT/etc/passwd" &&
		host_untouched
}
pretty "" "dpkg --root=$ROOT --force-script-chrootless --force-depends -i $(basename "$DEB")"
check "dpkg --root -i: installed, tapird runs, the postinst made the user in the root only" \
	installed
purged()
{
	local left
	logged "$T/purge.log" rootdpkg --purge tapir || return 1
	! rootdpkg -s tapir 2>/dev/null | grep -q '^Status: install' || return 1
	# what may stay: dpkg's database, the root's user database files and their lock
	left=$(find "$ROOT" -type f -not -path "$ROOT/var/lib/dpkg/*" \
		-not -regex "$ROOT/etc/\(passwd\|group\|shadow\|gshadow\)-?" -not -name .pwd.lock)
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
	! grep -q '^tapir:' "$ROOT/etc/passwd" "$ROOT/etc/group" || { cat "$ROOT/etc/passwd"; return 1; }
	host_untouched
}
pretty "" "dpkg --root=$ROOT --force-script-chrootless --purge tapir"
check "dpkg --root --purge: every file and the user and group gone, this system untouched" purged

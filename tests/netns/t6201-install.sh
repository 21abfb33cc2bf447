#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installation: meson's install rules and the Makefile wrapper, into staging directories under
# $T. No namespace, daemon or network (lib.sh is sourced for its TAP helpers and cleanup). The
# developer's own build directories and the system are not touched: the builds live in $T.
#
#   meson setup $T/b --prefix=/usr     --> meson install --destdir $T/root
#   make -C $SRCDIR install PREFIX=/opt/tapir BUILDDIR=$T/b DESTDIR=$T/root2
#                                          (the Makefile reconfigures $T/b for the new prefix:
#                                          one compilation for both, to stay well under 60 s)
#   make -C $SRCDIR configure PREFIX=/opt/x BUILDDIR=$T/b2   (the first-time setup path)
#
#   a copy of the source with another project() version --> tapir/tapird --version print it
#                                          (a second compilation, of tapir and tapird only)
#
#   then, in both trees: tapir, tapird, tapir(8), tapird(8), tapir.conf(5), tapir@.service and
#   tapir-mesh@.service, the
#   sysusers.d file (which systemd-sysusers turns into the user tapir in a scratch root)
#   (pointing at the installed tapir and tapird) and the bash, zsh and fish completions
#   (zsh: vendor-completions for /usr, site-functions otherwise) are where they
#   belong and nothing else is installed; the installed programs run; the man pages render
#   without warnings (skipped without man); the completion parses and completes; the units
#   pass systemd-analyze verify (skipped without systemd-analyze).
set -eu
. "$(dirname "$0")/lib.sh"

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
require_cmds meson ninja make sed

plan 19

ROOT=$T/root
ROOT2=$T/root2

# skip_check DESC REASON: a check that cannot run here counts as ok, with a TAP SKIP directive.
skip_check()
{
	ok "$1 # SKIP $2"
}

# logged LOG CMD...: run CMD with its output in LOG; on failure show the end of the log.
logged()
{
	local log=$1 rc=0
	shift
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "exit status $rc; last lines of $log:"
		tail -n 30 "$log"
	fi
	return "$rc"
}

# ---------------------------------------------------------------- meson install, PREFIX=/usr

# Only what gets installed is built here; the Makefile run below builds everything.
meson_install()
{
	meson setup "$T/b" "$SRCDIR" --prefix=/usr -Dbuildtype=release &&
		ninja -C "$T/b" tapir tapird &&
		meson install -C "$T/b" --no-rebuild --destdir "$ROOT"
}
pretty "" "meson setup $T/b --prefix=/usr; meson install -C $T/b --destdir $ROOT"
check "meson setup --prefix=/usr + meson install --destdir" logged "$T/meson.log" meson_install

# man_page DIR SECTION NAME: the installed page, plain or gzipped.
man_page()
{
	local f=$1/share/man/man$2/$3.$2
	[ -f "$f" ] || f=$f.gz
	echo "$f"
}

# unit_in TREE PREFIX [UNIT]: where UNIT (tapir@.service) belongs, as doc/meson.build decides:
# the distribution's unit directory (pkg-config systemd) for /usr, PREFIX/lib/systemd/system
# otherwise. Fails if it is not there.
unit_in()
{
	local d=$2/lib/systemd/system u=${3:-tapir@.service}
	if [ "$2" = /usr ] && pkg-config --exists systemd 2>/dev/null; then
		d=$(pkg-config --variable=systemdsystemunitdir systemd)
	fi
	echo "$1$d/$u"
	[ -f "$1$d/$u" ]
}

# sysusers_in TREE PREFIX: where the sysusers.d file belongs (pkg-config systemd's sysusersdir
# for /usr, PREFIX/lib/sysusers.d otherwise). Fails if it is not there.
sysusers_in()
{
	local d=$2/lib/sysusers.d
	if [ "$2" = /usr ] && pkg-config --exists systemd 2>/dev/null; then
		d=$(pkg-config --variable=sysusersdir systemd)
	fi
	echo "$1$d/tapir.conf"
	[ -f "$1$d/tapir.conf" ]
}

# expected_files TREE PREFIX: every file the install must produce, one per line.
expected_files()
{
	local p=$1$2
	echo "$p/bin/tapir"
	echo "$p/sbin/tapird"
	man_page "$p" 8 tapir
	man_page "$p" 8 tapird
	man_page "$p" 5 tapir.conf
	unit_in "$1" "$2" || true
	unit_in "$1" "$2" tapir-mesh@.service || true
	sysusers_in "$1" "$2" || true
	echo "$p/share/bash-completion/completions/tapir"
	if [ "$2" = /usr ]; then
		echo "$p/share/zsh/vendor-completions/_tapir"
	else
		echo "$p/share/zsh/site-functions/_tapir"
	fi
	echo "$p/share/fish/vendor_completions.d/tapir.fish"
}

# installed_ok TREE PREFIX: the expected files exist (programs executable) and nothing else
# was installed.
installed_ok()
{
	local tree=$1 prefix=$2 f missing=0 extra
	while read -r f; do
		if [ ! -f "$f" ]; then
			echo "missing: ${f#"$tree"}"
			missing=1
		fi
	done < <(expected_files "$tree" "$prefix")
	for f in "$tree$prefix/bin/tapir" "$tree$prefix/sbin/tapird"; do
		[ ! -f "$f" ] || [ -x "$f" ] || { echo "not executable: ${f#"$tree"}"; missing=1; }
	done
	extra=$(comm -13 <(expected_files "$tree" "$prefix" | LC_ALL=C sort) \
		<(find "$tree" -type f | LC_ALL=C sort))
	if [ -n "$extra" ]; then
		echo "installed but not expected:"
		echo "$extra"
		return 1
	fi
	[ "$missing" -eq 0 ]
}
check "PREFIX=/usr: programs, man pages, unit, completion installed, nothing else" \
	installed_ok "$ROOT" /usr

# unit_points_at TREE PREFIX BINDIR SBINDIR: ExecStart (the supervised tapir up --foreground
# of a Type=notify unit, which takes the interface down itself on stop) and TAPIRD name the
# installed programs.
unit_points_at()
{
	local unit
	unit=$(unit_in "$1" "$2") || { echo "no unit"; return 1; }
	if ! grep -qx "ExecStart=$3/tapir up %i --foreground" "$unit" ||
		! grep -qx "Type=notify" "$unit" ||
		! grep -qx "Environment=TAPIRD=$4/tapird" "$unit"; then
		grep -E '^(Type|Exec|Environment)' "$unit"
		return 1
	fi
	unit=$(unit_in "$1" "$2" tapir-mesh@.service) || { echo "no mesh unit"; return 1; }
	if ! grep -q "^ExecStart=$3/tapir mesh join --network %i " "$unit" ||
		! grep -qx "Type=notify" "$unit"; then
		grep -E '^(Type|Exec)' "$unit"
		return 1
	fi
}
check "PREFIX=/usr: the unit runs /usr/bin/tapir up %i --foreground with /usr/sbin/tapird" \
	unit_points_at "$ROOT" /usr /usr/bin /usr/sbin

# creates_user FILE: systemd-sysusers, pointed at a scratch root, makes the system user tapir
# from the installed file (no home, no login shell): what happens at boot or package install.
creates_user()
{
	local sysroot=$T/sysroot
	mkdir -p "$sysroot/etc"
	systemd-sysusers --root="$sysroot" "$1" >"$T/sysusers.log" 2>&1 || { cat "$T/sysusers.log"; return 1; }
	grep -E '^tapir:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$' "$sysroot/etc/passwd" ||
		{ cat "$sysroot/etc/passwd"; return 1; }
}
if command -v systemd-sysusers >/dev/null 2>&1; then
	check "the installed sysusers.d file creates the system user tapir (systemd-sysusers --root)" \
		creates_user "$(sysusers_in "$ROOT" /usr)"
else
	skip_check "the installed sysusers.d file creates the system user tapir" \
		"systemd-sysusers not installed"
fi

VERSION=$(meson introspect --projectinfo "$T/b" | grep -o '"version": *"[^"]*"' | head -n 1 |
	sed 's/.*"\([^"]*\)"$/\1/')
check_eq "installed tapir --version" "tapir $VERSION" "$ROOT/usr/bin/tapir" --version
check_eq "installed tapird --version" "tapird $VERSION" "$ROOT/usr/sbin/tapird" --version

# ---------------------------------------------------------------- make install, PREFIX=/opt/tapir

# mtime of the developer's build-rel configuration (or "none"): make must leave it alone.
build_rel_stamp()
{
	stat -c %Y "$SRCDIR/build-rel/meson-private/coredata.dat" 2>/dev/null || echo none
}
STAMP=$(build_rel_stamp)
pretty "" "make -C $SRCDIR install DESTDIR=$ROOT2 PREFIX=/opt/tapir BUILDDIR=$T/b"
check "make install DESTDIR=... PREFIX=/opt/tapir BUILDDIR=... (reconfigures, builds all)" \
	logged "$T/make.log" make -C "$SRCDIR" install DESTDIR="$ROOT2" PREFIX=/opt/tapir \
	BUILDDIR="$T/b"

# configured_prefix BUILDDIR: the prefix meson has for BUILDDIR.
configured_prefix()
{
	meson introspect --buildoptions "$1" | grep -o '"name": *"prefix", *"value": *"[^"]*"' |
		sed 's/.*"\([^"]*\)"$/\1/'
}
pretty "" "make -C $SRCDIR configure PREFIX=/opt/x BUILDDIR=$T/b2"
configure_fresh()
{
	logged "$T/configure.log" make -C "$SRCDIR" configure PREFIX=/opt/x BUILDDIR="$T/b2" &&
		[ "$(configured_prefix "$T/b2")" = /opt/x ]
}
check "make configure sets up a new build directory with PREFIX" configure_fresh
check_eq "make left the developer's build-rel alone" "$STAMP" build_rel_stamp
check "PREFIX=/opt/tapir: everything under /opt/tapir, nothing else" \
	installed_ok "$ROOT2" /opt/tapir
check "PREFIX=/opt/tapir: the unit runs /opt/tapir/bin/tapir with /opt/tapir/sbin/tapird" \
	unit_points_at "$ROOT2" /opt/tapir /opt/tapir/bin /opt/tapir/sbin
check_eq "tapir --version installed by make" "tapir $VERSION" "$ROOT2/opt/tapir/bin/tapir" --version

# ---------------------------------------------------------------- the version comes from meson

# version_follows_meson: a copy of the source whose project() version is changed builds a tapir
# and a tapird that print the new version (no version string hard-coded in C).
version_follows_meson()
{
	local v=9.8.7-t6201 src=$T/src
	mkdir -p "$src"
	tar -C "$SRCDIR" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$src" -xf - &&
		sed -i "0,/^  version: '[^']*'/s//  version: '$v'/" "$src/meson.build" &&
		grep -q "^  version: '$v'" "$src/meson.build" &&
		logged "$T/version.log" meson setup "$T/bv" "$src" -Dbuildtype=release &&
		logged "$T/version-ninja.log" ninja -C "$T/bv" tapir tapird || return 1
	local cli daemon
	cli=$("$T/bv/tapir" --version) && daemon=$("$T/bv/tapird" --version) || return 1
	if [ "$cli" != "tapir $v" ] || [ "$daemon" != "tapird $v" ]; then
		echo "got: $cli / $daemon"
		return 1
	fi
}
check "a changed meson project() version reaches tapir --version and tapird --version" \
	version_follows_meson

# ---------------------------------------------------------------- the installed files themselves

# renders_clean PAGE: man shows it with groff warnings on, and says nothing on stderr.
renders_clean()
{
	local err
	err=$(LC_ALL=C MANWIDTH=80 man -l --warnings "$1" 2>&1 >/dev/null) || {
		echo "man -l failed: $err"
		return 1
	}
	[ -z "$err" ] || {
		echo "$err"
		return 1
	}
}
for page in "8 tapir" "8 tapird" "5 tapir.conf"; do
	read -r sec name <<<"$page"
	if command -v man >/dev/null 2>&1 && command -v groff >/dev/null 2>&1; then
		check "$name($sec) renders without warnings (man -l --warnings)" \
			renders_clean "$(man_page "$ROOT/usr" "$sec" "$name")"
	else
		skip_check "$name($sec) renders without warnings" "man or groff not installed"
	fi
done

# completes COMPLETION: the script parses, and completes "tapir tu" to tuntap and
# "tapir tuntap add x mode " to tun and tap.
completes()
{
	bash -n "$1" || return 1
	bash -c '
		. "$1"
		COMP_WORDS=(tapir tu); COMP_CWORD=1; _tapir
		[ "${COMPREPLY[*]}" = tuntap ] || { echo "tapir tu -> ${COMPREPLY[*]}"; exit 1; }
		COMP_WORDS=(tapir tuntap add x mode ""); COMP_CWORD=5; _tapir
		[ "${COMPREPLY[*]}" = "tun tap" ] || { echo "mode -> ${COMPREPLY[*]}"; exit 1; }
	' completion "$1"
}
check "bash completion parses (bash -n) and completes" \
	completes "$ROOT/usr/share/bash-completion/completions/tapir"

# verifies UNIT TREE: systemd-analyze verify on a copy whose /usr paths lead into TREE, since
# verify insists that ExecStart exists (and --root would want a whole systemd tree). Both units
# are copied: tapir-mesh@ requires tapir@, which verify loads from the same directory.
verifies()
{
	local out rc=0 u
	mkdir -p "$T/unit"
	for u in tapir@.service tapir-mesh@.service; do
		sed "s|=/usr/|=$2/usr/|" "$(dirname "$1")/$u" >"$T/unit/$u"
	done
	out=$(cd "$T/unit" && systemd-analyze verify --man=no "./$(basename "$1")" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
		echo "exit status $rc: $out"
		return 1
	fi
}
if command -v systemd-analyze >/dev/null 2>&1; then
	check "tapir@.service passes systemd-analyze verify" verifies "$(unit_in "$ROOT" /usr)" "$ROOT"
	check "tapir-mesh@.service passes systemd-analyze verify" \
		verifies "$(unit_in "$ROOT" /usr tapir-mesh@.service)" "$ROOT"
else
	skip_check "tapir@.service passes systemd-analyze verify" "systemd-analyze not installed"
	skip_check "tapir-mesh@.service passes systemd-analyze verify" "systemd-analyze not installed"
fi

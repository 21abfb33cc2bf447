#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install every Debian package tapir needs to build, test and demo (Debian 12 bookworm).
# Does nothing but a dpkg-query when everything is already installed, so it is cheap to run
# before every build. Run as root.
set -euo pipefail

packages=(
	# build
	meson ninja-build make pkg-config gcc clang clang-format libclang-rt-dev libc6-dev
	libssl-dev libsodium-dev libmnl-dev libcmocka-dev liblz4-dev libnftables-dev
	libcurl4-openssl-dev libjson-c-dev
	# tests and demo: the reference implementation and tools, namespaces, traffic
	wireguard-go wireguard-tools iproute2 iputils-ping socat iperf3 netcat-openbsd
	procps kmod ca-certificates coreutils util-linux nftables
	# install test: systemd-analyze verify of the unit, systemd-sysusers of the user file
	systemd
	# completion test: zsh (syntax check) and fish (its completions driven for real)
	zsh fish
	# tapir mesh tests: a single-member etcd and etcdctl
	etcd-server etcd-client openssl
	# tapir mesh cni test: the real CNI plugins (bridge, host-local) under /usr/lib/cni, and
	# jq for their JSON (also t7009's etcd answers)
	containernetworking-plugins jq
	# tapir show IF metrics: the Prometheus text parser (python3 is in the base system);
	# tapird's metrics endpoint: scraped with curl
	python3 python3-prometheus-client curl
	# tuntap watch test: its -w pcap file read back by tcpdump -r
	tcpdump
	# Debian package test: dpkg-buildpackage of debian/, lintian on the .deb
	debhelper dpkg-dev fakeroot lintian
)

# tapird drops to the system user `tapir` once its device and sockets exist, and refuses to
# start without it (no fallback to the shared `nobody`): create it when we may. No home, no
# login shell, no password.
if ! getent passwd tapir >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] &&
	command -v useradd >/dev/null 2>&1; then
	echo "[#] useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin tapir"
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin tapir
fi

installed=" $(dpkg-query -W -f='${Package}:${db:Status-Status} ' "${packages[@]}" 2>/dev/null || true) "
missing=()
for p in "${packages[@]}"; do
	case $installed in
	*" $p:installed "*) ;;
	*) missing+=("$p") ;;
	esac
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages are installed"
	exit 0
fi

echo "deps: missing: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: apt-get not found; install the packages above by hand" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: run as root to install them" >&2
	exit 1
fi
echo "[#] apt-get update"
apt-get update
echo "[#] apt-get install -y --no-install-recommends ${missing[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"

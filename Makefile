# SPDX-License-Identifier: MIT
# A thin wrapper around meson for people who type `make`; meson + ninja stay the build system.
#
#   make                          configure $(BUILDDIR) (release) and build
#   make install PREFIX=/usr      install tapir, tapird, man pages, systemd unit, completion
#   make install DESTDIR=/tmp/stage PREFIX=/usr    the same under a staging directory
#   make test                     bash scripts/test.sh (every suite; netns tests need root)
#   make clean                    remove what the build made in $(BUILDDIR)
#
# Every target re-runs `meson setup` on $(BUILDDIR) so that PREFIX changes take effect: an
# existing build directory is reconfigured (its other options are kept), not wiped.

PREFIX ?= /usr/local
DESTDIR ?=
BUILDDIR ?= build-rel
MESON ?= meson
NINJA ?= ninja

.PHONY: all configure install test clean

all: configure
	$(NINJA) -C "$(BUILDDIR)"

configure:
	@if [ -f "$(BUILDDIR)/meson-private/coredata.dat" ]; then \
		echo "$(MESON) setup --reconfigure --prefix=$(PREFIX) -Dbuildtype=release $(BUILDDIR)"; \
		$(MESON) setup --reconfigure --prefix="$(PREFIX)" -Dbuildtype=release "$(BUILDDIR)"; \
	else \
		echo "$(MESON) setup --prefix=$(PREFIX) -Dbuildtype=release $(BUILDDIR)"; \
		$(MESON) setup --prefix="$(PREFIX)" -Dbuildtype=release "$(BUILDDIR)"; \
	fi

install: all
	$(MESON) install -C "$(BUILDDIR)" --destdir "$(DESTDIR)"

test:
	bash scripts/test.sh

clean:
	@if [ -f "$(BUILDDIR)/build.ninja" ]; then \
		echo "$(NINJA) -C $(BUILDDIR) clean"; \
		$(NINJA) -C "$(BUILDDIR)" clean; \
	fi

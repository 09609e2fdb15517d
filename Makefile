# Set-up and everyday commands. `make run` and `make test` are all a fresh
# machine needs; each installs what it uses, and does so only once.
#
# deps-debian: the Debian packages that building and using libvirt-python
# needs (libvirt's headers and library, pkg-config, a C compiler and Python's
# headers), and qemu-system-x86, whose VNC server (no machine, no disk) the
# console proxy's RFB security tests authenticate to, and libvirt-daemon with
# libvirt-daemon-driver-qemu: the libvirtd that the libvirt driver's QEMU
# tests start privately (nova_ws/testing/libvirtd.py; never the system's,
# nor libvirt-daemon-system with its systemd units). It asks dpkg first and
# runs apt-get (update, then install) only when one is missing, with sudo
# only when not root. `venv` depends on it,
# so `make run` and `make test` both get it. `chromium` is the browser the
# console pages' tests drive (through Playwright, never its own browsers).
#
# deps-console: the browser clients the console proxies serve (noVNC,
# spice-html5, xterm.js): `npm ci` in nova_ws/console/assets, once per
# change of its package.json or package-lock.json.
#
# deps-web: the dashboard's browser libraries (autobahn-browser, uPlot):
# `npm ci` in web/, once per change of its package.json or package-lock.json.
# nova-api serves them as they are (no build step).
#
# dist: a wheel that carries the dashboard and the console pages with their
# npm packages (setup.py copies them in), so an installed nova_ws serves them.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp
JS_DIR := tests/interop/js
CONSOLE_JS := nova_ws/console/assets
WEB_JS := web
DEBIAN_PACKAGES := libvirt-dev pkg-config gcc python3-dev qemu-system-x86 chromium \
                   libvirt-daemon libvirt-daemon-driver-qemu

.PHONY: venv deps-debian deps-node deps-console deps-web test run lint bench dist

venv: deps-debian $(STAMP)

deps-debian:
	@missing=""; \
	for pkg in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$pkg 2>/dev/null | grep -q '^Status: install ok installed' || \
	    missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo=sudo; fi; \
	  echo "installing Debian packages:$$missing"; \
	  $$sudo apt-get update && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml | deps-debian
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -e '.[test]'
	touch $(STAMP)

deps-node:
	@if [ -f $(JS_DIR)/package.json ]; then \
	  cd $(JS_DIR) && \
	  if [ node_modules/.stamp -nt package.json ] && \
	     { [ ! -f package-lock.json ] || [ node_modules/.stamp -nt package-lock.json ]; }; then \
	    :; \
	  elif [ -f package-lock.json ]; then \
	    npm ci && touch node_modules/.stamp; \
	  else \
	    npm install && touch node_modules/.stamp; \
	  fi; \
	fi

deps-console:
	@cd $(CONSOLE_JS) && \
	if [ node_modules/.stamp -nt package.json ] && \
	   [ node_modules/.stamp -nt package-lock.json ]; then \
	  :; \
	else \
	  npm ci --ignore-scripts --no-audit --no-fund && touch node_modules/.stamp; \
	fi

deps-web:
	@cd $(WEB_JS) && \
	if [ node_modules/.stamp -nt package.json ] && \
	   [ node_modules/.stamp -nt package-lock.json ]; then \
	  :; \
	else \
	  npm ci --ignore-scripts --no-audit --no-fund && touch node_modules/.stamp; \
	fi

test: venv deps-node deps-console deps-web
	$(PY) -m pytest -q

run: venv deps-console deps-web
	$(VENV)/bin/nova-ws up --config etc/nova.conf

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy nova_ws twisted/plugins/nova_ws_services.py

# dist: a wheel in dist/ with the browser files (setup.py copies them in).
dist: venv deps-console deps-web
	$(PY) -m pip wheel --no-deps --no-build-isolation -w dist .

bench: venv deps-console deps-web
	$(PY) bench/router.py
	$(PY) bench/boot.py
	$(PY) bench/console.py
	$(PY) bench/api.py

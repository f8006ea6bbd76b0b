#!/usr/bin/env bash
# Installs everything the browser build (scripts/build-web.sh) and its end-to-end tests
# (scripts/test-e2e.sh) need on a fresh Debian machine. Idempotent: every step is skipped when
# it is already satisfied. Only crates.io, the Rust distribution server, Debian and npm are used;
# no browser or tool is downloaded from anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."

# trunk 0.22.x needs rustc >= 1.96.1; 0.21.14 is the newest release that builds on our 1.95.
TRUNK_VERSION=0.21.14
# wasm-bindgen-cli must be exactly the wasm-bindgen the page links against.
WASM_BINDGEN_VERSION=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)

say() { echo "setup-web: $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# RUSTUP_AUTO_INSTALL=0 on these machines: the target is never added implicitly.
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "wasm32-unknown-unknown target: present"
else
  say "adding the wasm32-unknown-unknown target"
  timeout 600 rustup target add wasm32-unknown-unknown
fi

if trunk --version 2>/dev/null | grep -qx "trunk $TRUNK_VERSION"; then
  say "trunk $TRUNK_VERSION: present"
else
  say "installing trunk $TRUNK_VERSION (~17 CPU-minutes)"
  # Without default features trunk has no TLS client and no update check: it cannot download
  # tools even by mistake (build-web.sh runs it offline anyway).
  timeout 3600 nice cargo install --locked trunk --version "$TRUNK_VERSION" --no-default-features
fi

if wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION"; then
  say "wasm-bindgen-cli $WASM_BINDGEN_VERSION: present"
else
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (~7 CPU-minutes)"
  # Not --locked: its lock file pins a crate version the index no longer has.
  timeout 3600 nice cargo install --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  say "chromium: present ($(/usr/bin/chromium --version 2>/dev/null))"
else
  say "installing Debian's chromium"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver
fi

# npm keeps a copy of the lock it installed; when it is newer than ours the install is current.
if [ tests/e2e/node_modules/.package-lock.json -nt tests/e2e/package-lock.json ]; then
  say "tests/e2e node modules: present"
else
  say "installing tests/e2e node modules (playwright-core only drives Chromium; it downloads no browser)"
  (cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
# The study viewer's NiiVue bundle, served from the page's own origin (pinned in its lock file;
# no install scripts run).
if [ app/vendor/node_modules/.package-lock.json -nt app/vendor/package-lock.json ]; then
  say "app/vendor node modules (NiiVue): present"
else
  say "installing app/vendor node modules (NiiVue, for the study viewer)"
  (cd app/vendor && npm ci --no-audit --no-fund --ignore-scripts)
fi
say "done"

#!/usr/bin/env bash
# Builds the web app with the shipped model and serves it on http://localhost:${PORT:-8080}.
# Any static file server works for dist/; this one is Python's, bound to loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-web.sh
port="${PORT:-8080}"
echo "brainseg: open http://localhost:$port (Ctrl-C to stop)"
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory dist

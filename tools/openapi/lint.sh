#!/usr/bin/env bash
# Lints the API document, internal/api/openapi.yaml, with the pinned linters of
# package.json / package-lock.json: Redocly CLI (recommended ruleset,
# redocly.yaml) and Spectral (spectral:oas, .spectral.yaml). Fails when either
# reports an error; warnings are printed but do not fail. Installs the linters
# into tools/openapi/node_modules (git-ignored) with npm ci, so it runs on a
# clean clone; needs node and npm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
doc="$here/../../internal/api/openapi.yaml"
cd "$here"

# No telemetry, update notices or install scripts (the only one, @scarf/scarf's,
# reports the installation).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true SCARF_ANALYTICS=false
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

status=0
echo "== redocly lint (recommended)"
./node_modules/.bin/redocly lint --config redocly.yaml --format stylish "$doc" || status=1
echo "== spectral lint (spectral:oas)"
./node_modules/.bin/spectral lint --ruleset .spectral.yaml --fail-severity error "$doc" || status=1
if [ "$status" -ne 0 ]; then
  echo "openapi lint: errors in internal/api/openapi.yaml" >&2
fi
exit "$status"

#!/usr/bin/env bash
# Run once by the lead after every branch of the wave is merged: formats the whole repository with
# Biome and applies its safe lint fixes, then prints what is left for hands (by rule). Doing this in
# one commit on main, not per branch, keeps the parallel branches from conflicting on every line.
set -euo pipefail
cd "$(dirname "$0")/.."
npx biome check --write . || true
npx biome check --reporter=summary --max-diagnostics=none . || true

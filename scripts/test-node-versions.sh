#!/usr/bin/env bash
# The unit tests that run in seconds (no training runs) on each Node major given, with the `node`
# npm package (`npx -y node@22`); CI's own Node runs the whole suite. Usage: test-node-versions.sh 22 24
set -euo pipefail
cd "$(dirname "$0")/.."
for major in "$@"; do
  echo "=== Node ${major}: $(npx -y "node@${major}" --version)"
  vitest() { npx -y "node@${major}" node_modules/vitest/vitest.mjs run "$@"; }
  vitest --root packages/core
  vitest --root packages/metrics
  vitest --root packages/samplers
  vitest --root packages/engine src/tf.test.ts src/init-engine.test.ts
  vitest --root packages/cli src/config.test.ts src/cli-conventions.test.ts src/format.test.ts src/loggers \
    src/optimizers.test.ts src/report-runs.test.ts src/progress-line.test.ts
done

import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings: tests run against each package's TypeScript source
 * (the `@patchgd/source` export condition), so no build is needed first.
 */
export function packageTestConfig(options: { testTimeout?: number } = {}) {
  return defineConfig({
    resolve: { conditions: ['@patchgd/source'] },
    ssr: { resolve: { conditions: ['@patchgd/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: options.testTimeout ?? 60_000,
      pool: 'forks',
      // trainers default to one worker thread per core; the tests that test workers ask for them,
      // the others train in their own thread (their exact comparisons assume one process)
      env: { PATCHGD_WORKERS: '1' },
    },
  });
}

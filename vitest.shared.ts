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
    },
  });
}

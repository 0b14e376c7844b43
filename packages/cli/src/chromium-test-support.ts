// Headless Chromium for the browser tests and the docs' screenshots: Debian's /usr/bin/chromium
// driven by playwright-core (no browser download), with a fresh profile removed on close.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`); browser tests skip when it is missing. */
export const CHROMIUM = '/usr/bin/chromium';

/** Whether {@link CHROMIUM} is installed. */
export const hasChromium = (): boolean => existsSync(CHROMIUM);

/** A headless Chromium; `close` ends it and removes its profile. */
export interface Chromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with a fresh profile, no GPU and no background networking.
 *
 * @example
 * ```ts
 * const chromium = await launchChromium({ width: 900, height: 600 });
 * try {
 *   const page = await chromium.context.newPage();
 *   await page.goto(url);
 * } finally {
 *   await chromium.close();
 * }
 * ```
 */
export async function launchChromium(viewport = { width: 900, height: 600 }): Promise<Chromium> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(path.join(tmpdir(), 'chromium-profile-'));
  // a fresh profile (playwright passes it as --user-data-dir)
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

// Screenshot of `patchgd view` for the docs: starts the viewer on a run's predictions, opens it in
// headless Chromium (Debian's /usr/bin/chromium) and saves a PNG once every tile has loaded.
//   npx tsx --conditions=@patchgd/source packages/cli/scripts/viewer-screenshot.ts runs/<name> docs/apps/panda/viewer.png
import { launchChromium } from '../src/chromium-test-support.js';
import { startViewer } from '../src/viewer-server.js';

const [dir, out, slide] = process.argv.slice(2);
if (!dir || !out) throw new Error('usage: viewer-screenshot.ts <run or predictions folder> <out.png> [slide index]');
const viewer = await startViewer({ dir });
const chromium = await launchChromium({ width: 1100, height: 700 });
try {
  const page = await chromium.context.newPage();
  await page.goto(viewer.url);
  if (slide) await page.locator('#slides li').nth(Number(slide)).click();
  await page.locator('#showGrid').check();
  await page.waitForFunction(
    () => {
      const v = (
        globalThis as unknown as {
          patchgdViewer: { world: { getItemCount(): number; getItemAt(i: number): { getFullyLoaded(): boolean } } };
        }
      ).patchgdViewer;
      return (
        v.world.getItemCount() === 2 && v.world.getItemAt(0).getFullyLoaded() && v.world.getItemAt(1).getFullyLoaded()
      );
    },
    undefined,
    { timeout: 30_000 },
  );
  await page.waitForTimeout(800);
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await chromium.close();
  await viewer.close();
}

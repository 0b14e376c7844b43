// Child process of the fuzzer: opens and reads each image it is sent and answers with the
// outcome. Run through runFuzz (fuzz.ts), never directly.
import { TiledIoError } from './errors.js';
import { openImage } from './open-image.js';

/** Opens `bytes` and reads a corner region of every level plus a small readResized. */
export async function exercise(bytes: Uint8Array): Promise<{ detail: string; levels: number }> {
  const image = await openImage(bytes, {
    cacheBytes: 32 * 1024 * 1024,
    maxTileBytes: 64 * 1024 * 1024,
    maxRegionPixels: 1 << 22,
  });
  try {
    for (let level = 0; level < image.levels.length; level++) {
      const { width, height } = image.levels[level]!;
      const w = Math.min(width, 300);
      const h = Math.min(height, 300);
      for (const [x, y] of [
        [0, 0],
        [width - w, height - h],
      ] as const) {
        const px = await image.readRegion({ level, x, y, width: w, height: h });
        if (px.data.length !== w * h * image.channels) throw new Error(`wrong size ${px.data.length}`);
      }
    }
    const small = await image.readResized({ longSide: 32 });
    return {
      detail: `read ${image.format} ${image.levels.length} levels ${small.width}x${small.height}`,
      levels: image.levels.length,
    };
  } finally {
    await image.close();
  }
}

if (process.send) {
  process.on('message', (message: { id: number; bytes: Uint8Array }) => {
    void exercise(message.bytes).then(
      ({ detail, levels }) =>
        process.send!({ id: message.id, outcome: 'read', detail, levels, rss: process.memoryUsage().rss }),
      (error: unknown) => {
        const typed = error instanceof TiledIoError;
        const detail = `${(error as Error)?.name}: ${(error as Error)?.message}${typed ? '' : `\n${(error as Error)?.stack}`}`;
        process.send!({
          id: message.id,
          outcome: typed ? 'typed-error' : 'untyped-error',
          detail,
          rss: process.memoryUsage().rss,
        });
      },
    );
  });
}

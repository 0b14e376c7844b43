// A generated "biopsy slide" for tests: near-white glass with a few pink tissue ellipses, at full
// resolution and as a pyramid, plus an in-memory RegionReader over it.
import type { Pixels, RegionReader, RegionRequest } from '../pixels.js';
import { Rng } from '@patchgd/core';

export interface TestSlide {
  full: Pixels & { data: Uint8Array };
  /** 1 where the full-resolution pixel is tissue */
  tissue: Uint8Array;
  /** levels: full resolution and box-averaged copies at the given downsamples */
  levels: (Pixels & { data: Uint8Array; downsample: number })[];
}

export function makeSlide(width: number, height: number, seed: number, downsamples: number[] = [8]): TestSlide {
  const rng = new Rng(seed);
  const blobs = Array.from({ length: 4 }, () => ({
    cx: width * (0.15 + 0.7 * rng.next()),
    cy: height * (0.15 + 0.7 * rng.next()),
    rx: width * (0.05 + 0.12 * rng.next()),
    ry: height * (0.05 + 0.12 * rng.next()),
  }));
  const data = new Uint8Array(width * height * 3);
  const tissue = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = blobs.some((b) => ((x - b.cx) / b.rx) ** 2 + ((y - b.cy) / b.ry) ** 2 <= 1);
      const o = (y * width + x) * 3;
      const noise = rng.nextInt(16);
      if (inside) {
        tissue[y * width + x] = 1;
        data[o] = 190 + noise;
        data[o + 1] = 110 + noise;
        data[o + 2] = 160 + noise;
      } else {
        data[o] = 240 + noise;
        data[o + 1] = 240 + noise;
        data[o + 2] = 240 + noise;
      }
    }
  }
  const full = { data, width, height, channels: 3 };
  const levels = [{ ...full, downsample: 1 }, ...downsamples.map((d) => ({ ...boxDown(full, d), downsample: d }))];
  return { full, tissue, levels };
}

function boxDown(src: Pixels & { data: Uint8Array }, d: number): Pixels & { data: Uint8Array } {
  const w = Math.floor(src.width / d);
  const h = Math.floor(src.height / d);
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = 0; dy < d; dy++)
          for (let dx = 0; dx < d; dx++) s += src.data[((y * d + dy) * src.width + x * d + dx) * 3 + c]!;
        out[(y * w + x) * 3 + c] = Math.round(s / (d * d));
      }
  return { data: out, width: w, height: h, channels: 3 };
}

/** An in-memory RegionReader over a pyramid; counts reads and refuses regions outside a level. */
export function memoryReader(
  levels: (Pixels & { data: Uint8Array; downsample: number })[],
): RegionReader & { reads: RegionRequest[] } {
  const reads: RegionRequest[] = [];
  return {
    reads,
    levels: levels.map(({ width, height, downsample }) => ({ width, height, downsample })),
    channels: levels[0]!.channels,
    async readRegion(region) {
      reads.push(region);
      const lv = levels[region.level ?? 0]!;
      if (region.x < 0 || region.y < 0 || region.x + region.width > lv.width || region.y + region.height > lv.height) {
        throw new Error(`region outside level: ${JSON.stringify(region)}`);
      }
      const c = lv.channels;
      const out = new Uint8Array(region.width * region.height * c);
      for (let y = 0; y < region.height; y++) {
        const start = ((region.y + y) * lv.width + region.x) * c;
        out.set(lv.data.subarray(start, start + region.width * c), y * region.width * c);
      }
      await Promise.resolve();
      return { data: out, width: region.width, height: region.height, channels: c };
    },
  };
}

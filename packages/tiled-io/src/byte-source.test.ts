import { describe, expect, it } from 'vitest';
import { bufferSource } from './byte-source.js';
import { CorruptImageError } from './errors.js';

describe('bufferSource', () => {
  it('refuses reads past the end with a CorruptImageError', async () => {
    const source = bufferSource(new Uint8Array(10), 'x.tif');
    await expect(source.read(8, 4)).rejects.toThrow(
      new CorruptImageError('x.tif', 'expected 4 bytes at offset 8 but the file ends at byte 10 (truncated?)'),
    );
    expect((await source.read(2, 3)).length).toBe(3);
    expect(source.stats).toEqual({ bytesRead: 3, requests: 1, retries: 0 });
  });
});

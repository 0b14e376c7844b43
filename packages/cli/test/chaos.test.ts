// The fast subset of `npm run chaos`: three kill -9 / resume cycles of a real `patchgd train`
// process, each compared bit for bit with the uninterrupted run (step losses, checkpoint tensors).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { killCampaign } from '../bench/chaos.js';

it('three runs killed at random moments resume to the uninterrupted run, bit for bit', async () => {
  const work = await mkdtemp(path.join(os.tmpdir(), 'patchgd-chaos-test-'));
  try {
    const row = await killCampaign({ kills: 3, seed: 11, work, epochs: 2 });
    expect(row.notes).toMatch(/^[1-9]\d* kills landed; every step loss and checkpoint tensor bit-identical/);
    expect(row).toMatchObject({ tried: 3, passed: 3 });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

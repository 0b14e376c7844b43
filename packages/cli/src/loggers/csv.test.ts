import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvLogger } from './csv.js';

describe('csvLogger', () => {
  it('writes steps.csv and epochs.csv, widening the header when a field appears, and drops resumed rows', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'patchgd-csv-'));
    const logger = csvLogger(dir);
    await logger.onMetrics!({ kind: 'step', step: 1, epoch: 1, batch: 1, loss: 0.5, learningRate: 3e-4 });
    await logger.onMetrics!({
      kind: 'step',
      step: 2,
      epoch: 1,
      batch: 2,
      loss: 0.25,
      learningRate: 3e-4,
      imagesPerSecond: 10,
    });
    await logger.onMetrics!({
      kind: 'epoch',
      step: 2,
      epoch: 1,
      trainLoss: 0.375,
      valAccuracy: 0.5,
      valConfusion: [[1]],
    });
    await logger.onMetrics!({
      kind: 'step',
      step: 3,
      epoch: 2,
      batch: 1,
      loss: 0.125,
      learningRate: 1e-4,
      imagesPerSecond: 11,
    });
    await logger.onMetrics!({ kind: 'final', seconds: 3 });
    await logger.onRunEnd!();
    expect(await readFile(logger.files.step, 'utf8')).toBe(
      'step,epoch,batch,loss,learningRate,imagesPerSecond\n1,1,1,0.5,0.0003,\n2,1,2,0.25,0.0003,10\n3,2,1,0.125,0.0001,11\n',
    );
    expect(await readFile(logger.files.epoch, 'utf8')).toBe('step,epoch,trainLoss,valAccuracy\n2,1,0.375,0.5\n');

    // A second logger on the same folder (a resumed run) keeps the rows before the resumed step.
    const resumed = csvLogger(dir);
    await resumed.onResume!({ step: 3, epoch: 2 });
    await resumed.onMetrics!({
      kind: 'step',
      step: 3,
      epoch: 2,
      batch: 1,
      loss: 0.1,
      learningRate: 1e-4,
      imagesPerSecond: 12,
    });
    await resumed.onRunEnd!();
    expect((await readFile(logger.files.step, 'utf8')).trim().split('\n').slice(-2)).toEqual([
      '2,1,2,0.25,0.0003,10',
      '3,2,1,0.1,0.0001,12',
    ]);
  });
});

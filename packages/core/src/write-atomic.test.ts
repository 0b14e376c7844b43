import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicWriteError, writeAtomic } from './write-atomic.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'core-atomic-'));
});
afterEach(async () => {
  await chmod(dir, 0o755).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('writeAtomic', () => {
  it('replaces a file whole and leaves no temporary behind', async () => {
    const file = path.join(dir, 'a.json');
    await writeFile(file, 'old');
    await writeAtomic(file, '{"new":true}');
    expect(await readFile(file, 'utf8')).toBe('{"new":true}');
    await writeAtomic(file, [new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect([...(await readFile(file))]).toEqual([1, 2, 3]);
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('names the file and operation, keeps the old file and removes the temporary on failure', async () => {
    const file = path.join(dir, 'missing', 'a.json');
    const error = await writeAtomic(file, 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AtomicWriteError);
    expect((error as AtomicWriteError).file).toBe(file);
    expect((error as AtomicWriteError).code).toBe('ENOENT');
    expect((error as Error).message).toBe(`Cannot write ${file} (open, ENOENT): the folder does not exist`);
    // a rename onto a directory fails after the data was written: the temporary must go
    const target = path.join(dir, 'target');
    await writeFile(path.join(dir, 'keep'), 'x');
    await import('node:fs/promises').then((fs) => fs.mkdir(path.join(target, 'child'), { recursive: true }));
    const renameError = await writeAtomic(target, 'data').catch((e: unknown) => e);
    expect((renameError as AtomicWriteError).operation).toBe('rename');
    expect((await readdir(dir)).sort()).toEqual(['keep', 'target']);
  });

  it('lets a producer write the temporary path, returns its result and cleans up when it fails', async () => {
    const file = path.join(dir, 'slide.tiff');
    const written = await writeAtomic(file, async (temporary) => {
      expect(path.dirname(temporary)).toBe(dir);
      await writeFile(temporary, 'pixels');
      return 6;
    });
    expect(written).toBe(6);
    expect(await readFile(file, 'utf8')).toBe('pixels');
    const failure = new Error('encoder broke');
    const error = await writeAtomic(path.join(dir, 'b.tiff'), async (temporary) => {
      await writeFile(temporary, 'half');
      throw failure;
    }).catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(await readdir(dir)).toEqual(['slide.tiff']);
    // a producer that writes nothing: the fsync step names the missing temporary
    const nothing = await writeAtomic(path.join(dir, 'c.tiff'), async () => undefined).catch((e: unknown) => e);
    expect((nothing as AtomicWriteError).operation).toBe('fsync');
    expect((nothing as AtomicWriteError).code).toBe('ENOENT');
  });
});

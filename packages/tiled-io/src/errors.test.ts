import { describe, expect, it } from 'vitest';
import { PatchGDError } from '@patchgd/core';
import {
  CorruptImageError,
  DamagedLevelError,
  InvalidArgumentError,
  RegionOutOfBoundsError,
  RemoteReadError,
  TiledIoError,
  UnsupportedFormatError,
} from './errors.js';

describe('errors', () => {
  it('name the file, URL or parameter and keep one family', () => {
    const errors = [
      new InvalidArgumentError('region.x', 'an integer', 1.5),
      new UnsupportedFormatError('a.tif', 'compression 9'),
      new CorruptImageError('a.tif', 'bad tile', new Error('inner failure\nat stack line')),
      new RegionOutOfBoundsError('a.tif', { level: 0, x: -1, y: 0, width: 2, height: 2 }, 10, 10),
      new RemoteReadError('http://h/a.tif', 'HTTP 500', 500),
    ];
    expect(errors.map((e) => e.message)).toEqual([
      'Expected an integer for region.x but received 1.5',
      'Unsupported image a.tif: compression 9',
      'Corrupt image a.tif: bad tile (inner failure)',
      'Region x=-1 y=0 width=2 height=2 at level 0 of a.tif is outside the level (10x10); pass { fill } to read past the edges',
      'Remote read failed for http://h/a.tif: HTTP 500',
    ]);
    expect(errors.map((e) => e.name)).toEqual([
      'InvalidArgumentError',
      'UnsupportedFormatError',
      'CorruptImageError',
      'RegionOutOfBoundsError',
      'RemoteReadError',
    ]);
    for (const e of errors) expect(e).toBeInstanceOf(TiledIoError);
    expect(errors[2]!.source).toBe('a.tif');
    expect((errors[2]!.cause as Error).message).toMatch(/^inner failure/);
  });

  it('belong to the PatchGD family and describe received values as core does', () => {
    const e = new InvalidArgumentError('options.cache', 'a TileCache', { a: 1 });
    expect(e).toBeInstanceOf(PatchGDError);
    expect(e.message).toBe('Expected a TileCache for options.cache but received an object');
    expect(new InvalidArgumentError('x', 'y', new Uint8Array(3)).message).toBe(
      'Expected y for x but received Uint8Array(3)',
    );
  });

  it('a damaged level names the file, the level, the directory and the way out', () => {
    const e = new DamagedLevelError('a.tif', 2, 'IFD 2', 'IFD at offset 900 runs past the end of the file');
    expect(e).toBeInstanceOf(CorruptImageError);
    expect(e.message).toBe(
      'Corrupt image a.tif: level 2 (IFD 2) is damaged: IFD at offset 900 runs past the end of the file; ' +
        "pass { onDamagedLevel: 'skip' } to open the other levels",
    );
    expect([e.level, e.directory, e.source]).toEqual([2, 'IFD 2', 'a.tif']);
  });
});

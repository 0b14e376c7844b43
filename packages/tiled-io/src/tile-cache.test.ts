import { describe, expect, it } from 'vitest';
import { TileCache, type CachedTile } from './tile-cache.js';

const tile = (bytes: number): CachedTile => ({ data: new Uint8Array(bytes), stride: bytes, bytes });

describe('TileCache', () => {
  it('evicts least recently used tiles to stay within the byte budget', () => {
    const cache = new TileCache(300);
    cache.set('a', tile(100));
    cache.set('b', tile(100));
    cache.set('c', tile(100));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('d', tile(100)); // evicts b
    expect(cache.get('b')).toBeUndefined();
    expect(cache.bytes).toBe(300);
    expect(cache.size).toBe(3);
    expect(cache.stats).toEqual({ hits: 1, misses: 1, evictions: 1 });
  });

  it('ignores tiles larger than the budget, replaces keys and clears by prefix', () => {
    const cache = new TileCache(100);
    cache.set('big', tile(101));
    expect(cache.size).toBe(0);
    cache.set('x:1', tile(10));
    cache.set('x:1', tile(20));
    cache.set('y:1', tile(30));
    expect(cache.bytes).toBe(50);
    cache.clear('x:');
    expect(cache.bytes).toBe(30);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});

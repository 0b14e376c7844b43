// Typed errors of @patchgd/tiled-io. Every error names the file, URL or parameter it is about,
// and decoder failures are wrapped (the original is kept as `cause`) so that callers never see
// a raw decoder stack.
import { PatchGDError, expectedMessage } from '@patchgd/core';

/** Base class of every error this package throws, so callers can catch them as one family. */
export class TiledIoError extends PatchGDError {
  override name = 'TiledIoError';
  constructor(
    /** The file path, URL or `<buffer>` the error is about (`undefined` for pure argument errors). */
    readonly source: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An argument had the wrong type or value. */
export class InvalidArgumentError extends TiledIoError {
  override name = 'InvalidArgumentError';
  constructor(
    readonly parameter: string,
    expected: string,
    received: unknown,
    source?: string,
  ) {
    super(source, expectedMessage(parameter, expected, received));
  }
}

/** The bytes are a valid container, but use a feature (format, compression, layout) this package cannot decode. */
export class UnsupportedFormatError extends TiledIoError {
  override name = 'UnsupportedFormatError';
  constructor(
    source: string,
    readonly detail: string,
  ) {
    super(source, `Unsupported image ${source}: ${detail}`);
  }
}

/** The bytes are not a well-formed image: truncated, mangled headers, undecodable compressed data. */
export class CorruptImageError extends TiledIoError {
  override name = 'CorruptImageError';
  constructor(
    source: string,
    readonly detail: string,
    cause?: unknown,
  ) {
    super(source, `Corrupt image ${source}: ${detail}${causeSuffix(cause)}`, { cause });
  }
}

/** A region reaches outside the image at the requested level and no `fill` was given. */
export class RegionOutOfBoundsError extends TiledIoError {
  override name = 'RegionOutOfBoundsError';
  constructor(
    source: string,
    readonly region: { level: number; x: number; y: number; width: number; height: number },
    readonly levelWidth: number,
    readonly levelHeight: number,
  ) {
    const { level, x, y, width, height } = region;
    super(
      source,
      `Region x=${x} y=${y} width=${width} height=${height} at level ${level} of ${source} ` +
        `is outside the level (${levelWidth}x${levelHeight}); pass { fill } to read past the edges`,
    );
  }
}

/** Where and how hard a {@link RemoteReadError} tried before giving up. */
export interface RemoteAttempts {
  /** the byte range asked for, inclusive */
  range: { start: number; end: number };
  /** requests sent for it */
  attempts: number;
  /** milliseconds from the first request to giving up */
  elapsedMs: number;
}

/** An HTTP(S) read failed: network error, timeout, bad status, or a server without range requests. */
export class RemoteReadError extends TiledIoError {
  override name = 'RemoteReadError';
  /** the range, attempts and time spent when the error ends a retried read */
  readonly tried: RemoteAttempts | undefined;
  constructor(
    readonly url: string,
    readonly detail: string,
    readonly status?: number,
    cause?: unknown,
    tried?: RemoteAttempts,
  ) {
    super(url, `Remote read failed for ${url}: ${detail}${causeSuffix(cause)}`, { cause });
    this.tried = tried;
  }
}

/**
 * A pyramid level's directory cannot be parsed, or does not fit the pyramid. Thrown by
 * `openImage` unless `onDamagedLevel: 'skip'`, which lists the level in `damagedLevels` instead.
 */
export class DamagedLevelError extends CorruptImageError {
  override name = 'DamagedLevelError';
  constructor(
    source: string,
    /** the index the level would have had in `levels` */
    readonly level: number,
    /** which directory: 'IFD 3' (main chain) or 'SubIFD 1' (of the first IFD) */
    readonly directory: string,
    readonly reason: string,
  ) {
    const hint = "pass { onDamagedLevel: 'skip' } to open the other levels";
    super(source, `level ${level} (${directory}) is damaged: ${reason}; ${hint}`);
  }
}

/** The image was used after `close()`. */
export class SourceClosedError extends TiledIoError {
  override name = 'SourceClosedError';
  constructor(source: string) {
    super(source, `Image ${source} is closed`);
  }
}

function causeSuffix(cause: unknown): string {
  if (cause === undefined) return '';
  const text = cause instanceof Error ? cause.message : String(cause);
  const first = text.split('\n')[0]?.trim() ?? '';
  return first ? ` (${first.slice(0, 200)})` : '';
}

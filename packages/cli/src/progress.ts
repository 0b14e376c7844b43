// Progress bars with ETA (cli-progress) for epochs, Z-filling and inner iterations; in quiet mode
// (or when stderr is not a terminal) only the lines passed to `log` are printed.
import cliProgress from 'cli-progress';

export interface Bar {
  update(value: number, payload?: Record<string, string | number>): void;
  setTotal(total: number): void;
  stop(): void;
}

export interface Progress {
  /** true when bars are drawn; false for plain lines (quiet, or stderr not a terminal) */
  readonly interactive?: boolean;
  /** a bar; `label` names what is counted */
  bar(label: string, total: number): Bar;
  /** a line printed above the bars */
  log(message: string): void;
  stop(): void;
}

const noBar: Bar = { update() {}, setTotal() {}, stop() {} };

/**
 * @example
 * ```ts
 * const progress = createProgress({ quiet: false });
 * const epochs = progress.bar('epoch 1/10', stepsPerEpoch);
 * epochs.update(3, { loss: '2.31' });
 * ```
 */
export function createProgress(options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet || !stream.isTTY) {
    return { interactive: false, bar: () => noBar, log: (message) => void stream.write(`${message}\n`), stop() {} };
  }
  const multi = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: false,
      hideCursor: true,
      format: ' {label} |{bar}| {value}/{total} · {percentage}% · ETA {eta_formatted} {info}',
      barsize: 28,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    interactive: true,
    bar(label, total) {
      const bar = multi.create(total, 0, { label: label.padEnd(12), info: '' });
      return {
        update: (value, payload) =>
          bar.update(
            value,
            payload
              ? {
                  info: Object.entries(payload)
                    .map(([k, v]) => `${k} ${v}`)
                    .join(' · '),
                }
              : {},
          ),
        setTotal: (t) => bar.setTotal(t),
        stop: () => multi.remove(bar),
      };
    },
    log: (message) => multi.log(`${message}\n`),
    stop: () => multi.stop(),
  };
}

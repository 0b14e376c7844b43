// Numbers for people: significant digits without trailing zeros, never a small value rounded to
// "0" (a loss of 3e-4 prints as 0.0003), exponents only for the very small and very large. The
// report, its tables and the progress lines all print numbers through `formatNumber`.

export interface FormatOptions {
  /** significant digits kept (default 4) */
  digits?: number;
}

const stripMantissa = (text: string) => text.replace(/\.?0+(e|$)/, '$1');

/**
 * A number as a short, exact-enough string: 4 significant digits, no trailing zeros, plain
 * notation from 1e-4 to 1e15 (integers always in full), exponent notation outside.
 *
 * @example
 * ```ts
 * formatNumber(0.1); // '0.1'
 * formatNumber(3e-4); // '0.0003'
 * formatNumber(2.5e-7); // '2.5e-7'
 * formatNumber(0.123456); // '0.1235'
 * formatNumber(1234.567); // '1235'
 * formatNumber(12); // '12'
 * ```
 */
export function formatNumber(value: number, options: FormatOptions = {}): string {
  const digits = options.digits ?? 4;
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (value === 0) return '0';
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1e15 || magnitude < 1e-4) {
    const [mantissa, exponent] = value.toExponential(digits - 1).split('e');
    return `${stripMantissa(mantissa!)}e${Number(exponent)}`;
  }
  // Values with more integer digits than `digits` keep their integer part (1234.5 → 1235, not 1.235e3).
  if (magnitude >= 10 ** digits) return String(Math.round(value));
  return String(Number(value.toPrecision(digits)));
}

/**
 * A fraction in [0, 1] as a percentage with up to `digits` significant digits (default 3), e.g. for
 * accuracies: 0.8125 → '81.3 %'.
 *
 * @example
 * ```ts
 * formatPercent(0.8125); // '81.3 %'
 * formatPercent(1); // '100 %'
 * ```
 */
export function formatPercent(fraction: number, options: FormatOptions = {}): string {
  return `${formatNumber(100 * fraction, { digits: options.digits ?? 3 })} %`;
}

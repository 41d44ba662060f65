/**
 * Number formatting for the report, independent of the host's locale so that the same inputs give
 * byte-identical Markdown on every machine (tests compare it literally).
 */

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * A number with thousands separators and at most `maxDecimals` decimals, trailing zeros dropped.
 *
 * @example
 * formatNumber(206800); // '206,800'
 * formatNumber(0.0375, 4); // '0.0375'
 * formatNumber(265.56566, 2); // '265.57'
 */
export function formatNumber(value: number, maxDecimals = 4): string {
  const fixed = Math.abs(value).toFixed(maxDecimals);
  const [whole = '0', fraction = ''] = fixed.split('.');
  const trimmed = fraction.replace(/0+$/, '');
  const sign = value < 0 && Number(fixed) !== 0 ? '-' : '';
  return `${sign}${groupThousands(whole)}${trimmed ? `.${trimmed}` : ''}`;
}

/** A number with exactly `decimals` decimals and thousands separators: `formatFixed(265.5, 2)` is `265.50`. */
export function formatFixed(value: number, decimals = 2): string {
  const fixed = Math.abs(value).toFixed(decimals);
  const [whole = '0', fraction] = fixed.split('.');
  const sign = value < 0 && Number(fixed) !== 0 ? '-' : '';
  return `${sign}${groupThousands(whole)}${fraction ? `.${fraction}` : ''}`;
}

/**
 * US dollars with cents: `formatUsd(-1808)` is `-$1,808.00`.
 *
 * @example
 * formatUsd(13278.283); // '$13,278.28'
 */
export function formatUsd(value: number): string {
  const text = formatFixed(value, 2);
  return text.startsWith('-') ? `-$${text.slice(1)}` : `$${text}`;
}

/** A ratio as a percentage with one decimal: `formatPercent(0.8)` is `80.0 %`. */
export function formatPercent(ratio: number): string {
  return `${formatFixed(ratio * 100, 1)} %`;
}

/** Bytes in binary units with two decimals: `formatBytes(1536)` is `1.50 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${formatNumber(value, 0)} B` : `${formatFixed(value, 2)} ${units[unit]}`;
}

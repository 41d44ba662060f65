/**
 * A measured quantity and where it came from. Missing data is a value of its own, never a zero:
 * a month in which Prometheus recorded nothing must read "no data" in the report, not "0 ms".
 *
 * @example
 * const p95 = measured(0.012, 'Prometheus: histogram_quantile(...)');
 * const hitRate = noData('Prometheus: ...', 'no pre-warm attempts recorded in 2026-10');
 */
export type Measured = { value: number; source: string } | { noData: true; source: string; reason: string };

/** A measured value; non-finite numbers (NaN, ±Inf) become "no data", never a number. */
export function measured(value: number, source: string): Measured {
  if (!Number.isFinite(value)) return noData(source, `the query returned ${String(value)}`);
  return { value, source };
}

/** A quantity that could not be measured, with the reason shown to the reader. */
export function noData(source: string, reason: string): Measured {
  return { noData: true, source, reason };
}

/** True when the quantity holds a number. */
export function hasValue(m: Measured): m is { value: number; source: string } {
  return !('noData' in m);
}

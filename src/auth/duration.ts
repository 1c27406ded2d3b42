// Durations as operators type them: `60s`, `10m`, `1h`, `7d`, or a bare number of seconds.
import { SignetError } from '../errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parse a duration to milliseconds; `what` names the option in the error. Bounds are inclusive. */
export function parseDuration(value: string | number, what: string, bounds: { minMs: number; maxMs: number }): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = Number.isInteger(value) && value >= 0 ? value * 1000 : NaN;
  } else {
    const m = /^(\d{1,9})(ms|s|m|h|d)?$/.exec(value.trim());
    ms = m ? Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS] : NaN;
  }
  if (!Number.isSafeInteger(ms)) throw new SignetError('BAD_REQUEST', `${what}: want a duration like 60s, 10m, 1h or 7d`);
  if (ms < bounds.minMs || ms > bounds.maxMs) {
    throw new SignetError('BAD_REQUEST', `${what}: must be between ${formatDuration(bounds.minMs)} and ${formatDuration(bounds.maxMs)}`);
  }
  return ms;
}

/** The shortest exact spelling: 600000 -> `10m`, 90000 -> `90s`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

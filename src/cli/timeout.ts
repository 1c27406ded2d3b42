// --timeout, SIGNET_TIMEOUT and the client configuration's `timeout:`, one syntax for all three.
import { SignetError } from '../errors.js';

/** A timeout as given to --timeout, SIGNET_TIMEOUT or `timeout:` in the client configuration. */
export function parseTimeout(text: string, source = '--timeout'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  const unit = m?.[2] ?? 's';
  const ms = m ? Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000) : NaN;
  if (!Number.isFinite(ms) || ms < 1 || ms > 24 * 3_600_000) {
    throw new SignetError('USAGE', `${source} wants a duration such as 30s, 2m or 500ms (at most 24h), not ${JSON.stringify(text)}`);
  }
  return Math.round(ms);
}

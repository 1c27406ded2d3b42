import { SignetError } from '../errors.js';

/** Every structural failure in this folder is one code with a precise, stable reason. */
export function malformed(reason: string): SignetError {
  return new SignetError('RPM_MALFORMED', `rpm: ${reason}`);
}

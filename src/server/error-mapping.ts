// The one place where any thrown error becomes an HTTP status and `{"error":{"code","message"}}`.
import type { FastifyError } from 'fastify';
import { SignetError, type ErrorCode } from '../errors.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BODY_EMPTY',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BODY_INVALID',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

export function toSignetError(err: unknown): SignetError {
  if (err instanceof SignetError) return err;
  const fe = err as Partial<FastifyError> & { type?: string };
  if (fe && typeof fe.code === 'string' && fe.code in FASTIFY_CODES) {
    const code = FASTIFY_CODES[fe.code] as ErrorCode;
    return new SignetError(code, publicMessage(code, fe.message));
  }
  if (fe && fe.validation) return new SignetError('BAD_REQUEST', fe.message ?? 'invalid request');
  // JSON.parse failures raised by the body parser.
  if (err instanceof SyntaxError && (fe.statusCode === 400 || /JSON/.test(err.message))) {
    return new SignetError('BODY_INVALID', 'the request body is not valid JSON');
  }
  if (fe && fe.statusCode === 400) return new SignetError('BAD_REQUEST', 'the request is malformed');
  if (fe && fe.statusCode === 413) return new SignetError('BODY_TOO_LARGE', 'the request body is too large');
  const sys = err as NodeJS.ErrnoException;
  if (sys && sys.code === 'ENOSPC') return new SignetError('DISK_FULL', 'the server has no space left');
  return new SignetError('INTERNAL', 'internal error');
}

function publicMessage(code: ErrorCode, fallback: string | undefined): string {
  switch (code) {
    case 'BODY_TOO_LARGE':
      return 'the request body is too large';
    case 'BODY_EMPTY':
      return 'the request body is empty';
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 'unsupported content type';
    default:
      return fallback ?? 'bad request';
  }
}

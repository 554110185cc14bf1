import { ApiError, type ErrorCode } from '../api';

/** What went wrong, as the back end said it: the code to act on, the field to highlight (if any),
 * and the words to show. Nothing here reads the message text. */
export function explain(e: unknown): { code: ErrorCode; field: string | null; message: string } {
  if (e instanceof ApiError) return { code: e.code, field: e.field, message: e.message };
  return { code: 'internal', field: null, message: String(e) };
}

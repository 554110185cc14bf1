import { ApiError } from '../api';

/** Splits an error into the field it is about (if any) and the words to show. */
export function explain(e: unknown): { field: string | null; message: string } {
  if (e instanceof ApiError) {
    // The core says "field: reason"; beside the field, the reason alone reads better.
    const message = e.field && e.message.startsWith(`${e.field}: `) ? e.message.slice(e.field.length + 2) : e.message;
    return { field: e.field, message: sentence(message) };
  }
  return { field: null, message: sentence(String(e)) };
}

/** The core writes messages to follow a colon; on their own they start with a capital. */
function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Short-lived messages shown to the user (errors and refusals), as toasts. Filled only by
 * `handleError`. A notice is keyed by its cause (the error code unless told otherwise): when the
 * cause is gone (the connection is back, a retry went through) `resolve` takes its toast away at
 * once instead of leaving it up for its whole lifetime.
 */
export interface Notice {
  id: number;
  code: string;
  /** What must go away for the notice to be moot; the code unless the caller says otherwise. */
  cause: string;
  text: string;
}

/** Long enough to read two lines; a refusal that matters stays visible in its own place anyway. */
const LIFETIME_MS = 5000;
/** More than this and the oldest goes: a burst of refusals must not fill the screen. */
const MAX_SHOWN = 3;

/** Codes that are moot once the server answers again (a request succeeded, the socket is back). */
export const CONNECTIVITY_CODES = ['network-error', 'internal-error'];

export class Notices {
  items = $state<Notice[]>([]);
  private next = 1;
  private timers = new Map<number, ReturnType<typeof setTimeout>>();

  push(code: string, text: string, cause: string = code): void {
    // the same refusal twice in a row stays one notice, shown for its full time again
    const same = this.items.find((n) => n.cause === cause && n.text === text);
    if (same) this.dismiss(same.id);
    const id = this.next++;
    this.items = [...this.items, { id, code, cause, text }].slice(-MAX_SHOWN);
    this.timers.set(
      id,
      setTimeout(() => this.dismiss(id), LIFETIME_MS),
    );
  }

  dismiss(id: number): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    this.items = this.items.filter((n) => n.id !== id);
  }

  /** The cause is gone (a retry succeeded, the connection is back): its notices go at once. */
  resolve(...causes: string[]): void {
    for (const n of this.items) if (causes.includes(n.cause)) this.dismiss(n.id);
  }

  clear(): void {
    for (const n of this.items) this.dismiss(n.id);
  }
}

/** One per tab: the error funnel and the toast list share it. */
export const notices = new Notices();

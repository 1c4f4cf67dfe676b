/** Short-lived messages shown to the user (errors and refusals). Filled only by `handleError`. */
export interface Notice {
  id: number;
  code: string;
  text: string;
}

const LIFETIME_MS = 8000;

export class Notices {
  items = $state<Notice[]>([]);
  private next = 1;

  push(code: string, text: string): void {
    // the same code twice in a row (e.g. a burst of refusals) stays one notice
    if (this.items.some((n) => n.code === code && n.text === text)) return;
    const id = this.next++;
    this.items = [...this.items, { id, code, text }];
    setTimeout(() => this.dismiss(id), LIFETIME_MS);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((n) => n.id !== id);
  }

  clear(): void {
    this.items = [];
  }
}

/** One per tab: the error funnel and the notice list component share it. */
export const notices = new Notices();

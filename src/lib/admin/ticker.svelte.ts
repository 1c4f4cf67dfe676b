/** "Now", moved on every half minute, so that relative times ("3 minutes ago") stay true on screen. */
export class Ticker {
  now = $state(Date.now());
  private timer: ReturnType<typeof setInterval>;

  constructor(everyMs = 30_000) {
    this.timer = setInterval(() => (this.now = Date.now()), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

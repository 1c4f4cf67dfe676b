/**
 * "Now" for relative times ("5분 전"), moving once a minute while anything reads it: the timer runs
 * only while at least one reactive reader is subscribed (`createSubscriber`), so a tab without a
 * room list keeps no interval.
 */
import { createSubscriber } from 'svelte/reactivity';

class MinuteClock {
  private current = Date.now();
  private active = false;
  private subscribe = createSubscriber((update) => {
    this.active = true;
    this.current = Date.now();
    const timer = setInterval(() => {
      this.current = Date.now();
      update();
    }, 30_000);
    return () => {
      this.active = false;
      clearInterval(timer);
    };
  });

  get now(): number {
    this.subscribe();
    return this.active ? this.current : Date.now();
  }
}

/** One per tab, like `i18n`. */
export const minuteClock = new MinuteClock();

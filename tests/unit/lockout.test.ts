/** The failed-login lockout's backoff and its limits on a fake clock (server/auth/lockout.ts). */
import { describe, expect, it } from 'vitest';
import { LoginLockout, GLOBAL_IPS, GLOBAL_WINDOW_MS } from '../../server/auth/lockout.ts';
import { RATE_LIMITS } from '../../server/http/rate-limits.ts';

const MIN = 60_000;

function setup() {
  const clock = { t: 1_000_000, now() { return this.t; } };
  return { clock, lock: new LoginLockout(RATE_LIMITS.lockout, clock) };
}

const failTimes = (lock: LoginLockout, n: number, user = 'alice', ip = '10.0.0.1') => {
  for (let i = 0; i < n; i++) lock.failed(user, ip);
};

describe('the (username, IP) lockout', () => {
  it('starts after 5 failures with 1 minute, then doubles with each failure after a lock, up to 15 minutes', () => {
    const { clock, lock } = setup();
    failTimes(lock, 4);
    expect(lock.retryAfterSec('alice', '10.0.0.1')).toBe(0);
    lock.failed('alice', '10.0.0.1');
    expect(lock.retryAfterSec('alice', '10.0.0.1')).toBe(60);
    const locks: number[] = [];
    for (let i = 0; i < 6; i++) {
      clock.t += lock.retryAfterSec('alice', '10.0.0.1') * 1000;
      expect(lock.retryAfterSec('alice', '10.0.0.1')).toBe(0);
      lock.failed('alice', '10.0.0.1');
      locks.push(lock.retryAfterSec('alice', '10.0.0.1'));
    }
    expect(locks).toEqual([120, 240, 480, 900, 900, 900]);
  });

  it('is cleared by a success from that IP, and forgotten an hour after the last failure', () => {
    const { clock, lock } = setup();
    failTimes(lock, 4);
    lock.succeeded('alice', '10.0.0.1');
    failTimes(lock, 4);
    expect(lock.retryAfterSec('alice', '10.0.0.1')).toBe(0);
    clock.t += 61 * MIN;
    failTimes(lock, 4);
    expect(lock.retryAfterSec('alice', '10.0.0.1')).toBe(0);
    lock.failed('alice', '10.0.0.1');
    expect(lock.retryAfterSec('alice', '10.0.0.1')).toBe(60);
  });

  it('never touches another IP or another username', () => {
    const { lock } = setup();
    failTimes(lock, 20);
    expect(lock.retryAfterSec('alice', '10.0.0.2')).toBe(0);
    expect(lock.retryAfterSec('bob', '10.0.0.1')).toBe(0);
    expect(lock.retryAfterSec('ALICE', '10.0.0.1')).toBeGreaterThan(0);
  });
});

describe('the per-username lockout', () => {
  it(`trips on failures from ${GLOBAL_IPS} IPs within the window, and spares IPs that logged in before`, () => {
    const { lock } = setup();
    lock.succeeded('alice', '10.0.0.100');
    for (let i = 1; i < GLOBAL_IPS; i++) lock.failed('alice', `10.1.0.${i}`);
    expect(lock.retryAfterSec('alice', '10.9.9.9')).toBe(0);
    lock.failed('alice', `10.1.0.${GLOBAL_IPS}`);
    expect(lock.retryAfterSec('alice', '10.9.9.9')).toBe(60);
    expect(lock.retryAfterSec('alice', '10.0.0.100')).toBe(0);
    // spread out over more than the window, the same failures do not trip it
    const { clock: c2, lock: slow } = setup();
    for (let i = 1; i <= GLOBAL_IPS; i++) {
      slow.failed('carol', `10.2.0.${i}`);
      c2.t += GLOBAL_WINDOW_MS / (GLOBAL_IPS - 1) + 1;
    }
    expect(slow.retryAfterSec('carol', '10.9.9.9')).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { formatCountdown, remainingMs } from './countdown';
import { backoffMs } from './client';

describe('countdown', () => {
  it('formats mm:ss, rounding up to whole seconds', () => {
    expect(formatCountdown(300000)).toBe('05:00');
    expect(formatCountdown(299001)).toBe('05:00');
    expect(formatCountdown(299000)).toBe('04:59');
    expect(formatCountdown(61000)).toBe('01:01');
    expect(formatCountdown(999)).toBe('00:01');
    expect(formatCountdown(0)).toBe('00:00');
    expect(formatCountdown(-5000)).toBe('00:00');
    expect(formatCountdown(3600000)).toBe('60:00');
  });

  it('counts down to expiresAt and never below zero', () => {
    const now = Date.parse('2026-12-01T12:05:42.550Z');
    expect(remainingMs('2026-12-01T12:10:42.550897403Z', now)).toBe(300000);
    expect(formatCountdown(remainingMs('2026-12-01T12:10:42.550Z', now))).toBe('05:00');
    expect(remainingMs('2026-12-01T12:00:00Z', now)).toBe(0);
  });
});

describe('reconnect backoff', () => {
  it('grows and is capped', () => {
    expect(backoffMs(0, 1)).toBe(500);
    expect(backoffMs(1, 1)).toBe(1000);
    expect(backoffMs(3, 0)).toBe(2000);
    expect(backoffMs(50, 1)).toBe(15000);
  });
});

import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, ValidationError, backoffDelay, isRetriable, retry, retrySync } from './index.ts';

describe('retry', () => {
  it('retries retriable errors until success', async () => {
    let calls = 0;
    const v = await retry(async () => {
      if (++calls < 3) throw new BackendUnavailableError('busy');
      return 'ok';
    }, { initialDelayMs: 1 });
    expect(v).toBe('ok');
    expect(calls).toBe(3);
  });

  it('does not retry non-retriable errors', async () => {
    let calls = 0;
    await expect(retry(async () => {
      calls++;
      throw new ValidationError('bad');
    }, { initialDelayMs: 1 })).rejects.toBeInstanceOf(ValidationError);
    expect(calls).toBe(1);
  });

  it('gives up after the attempts and honours foreign retriable flags', async () => {
    let calls = 0;
    await expect(retry(async () => {
      calls++;
      throw Object.assign(new Error('kafka'), { retriable: true });
    }, { retries: 4, initialDelayMs: 1 })).rejects.toThrow('kafka');
    expect(calls).toBe(4);
    expect(isRetriable(new Error('x'))).toBe(false);
  });

  it('backs off exponentially up to the cap', () => {
    const fixed = () => 0.5;
    expect(backoffDelay(0, { initialDelayMs: 100 }, fixed)).toBe(100);
    expect(backoffDelay(3, { initialDelayMs: 100 }, fixed)).toBe(800);
    expect(backoffDelay(20, { initialDelayMs: 100, maxDelayMs: 5000 }, fixed)).toBe(5000);
  });
});

describe('retrySync', () => {
  it('retries what the predicate accepts, sleeping between attempts, until success', () => {
    let calls = 0;
    const t0 = performance.now();
    const v = retrySync(() => {
      if (++calls < 3) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      return 'open';
    }, { initialDelayMs: 20, jitter: 0, shouldRetry: (e) => (e as { code?: string }).code === 'SQLITE_BUSY' });
    expect(v).toBe('open');
    expect(calls).toBe(3);
    // Two sleeps of 20 and 40 ms.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
  });

  it('throws at once what the predicate refuses, and the last error once the attempts run out', () => {
    let calls = 0;
    expect(() => retrySync(() => {
      calls++;
      throw new ValidationError('bad');
    }, { initialDelayMs: 1 })).toThrow('bad');
    expect(calls).toBe(1);
    calls = 0;
    expect(() => retrySync(() => {
      calls++;
      throw new BackendUnavailableError(`busy ${calls}`);
    }, { retries: 3, initialDelayMs: 1 })).toThrow('busy 3');
    expect(calls).toBe(3);
  });
});

import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../runtime/api/errors';
import { createWebhookMemoryBudget } from '../../../runtime/api/webhook-memory-budget';

const refusal = (act: () => unknown) => {
  try {
    act();
  } catch (error) {
    if (error instanceof ApiError)
      return { status: error.status, code: error.code, headers: error.headers };
    throw error;
  }
  return null;
};

describe('createWebhookMemoryBudget', () => {
  it('admits holds while they fit together and answers 503 with Retry-After past that', () => {
    const budget = createWebhookMemoryBudget(100);
    const first = budget.hold(60);
    expect(refusal(() => budget.hold(50))).toEqual({
      status: 503,
      code: 'overloaded',
      headers: { 'Retry-After': '1' },
    });
    expect(budget.held).toBe(60);
    first.release();
    expect(budget.held).toBe(0);
    expect(refusal(() => budget.hold(50))).toBeNull();
  });

  it('answers 413 to a hold that could never fit, even alone', () => {
    const budget = createWebhookMemoryBudget(100);
    expect(refusal(() => budget.hold(101))?.status).toBe(413);
    expect(budget.held).toBe(0);
  });

  it('grows and shrinks a hold, keeping it unchanged when growing is refused', () => {
    const budget = createWebhookMemoryBudget(100);
    const other = budget.hold(40);
    const mine = budget.hold(10);
    expect(refusal(() => mine.resize(70))?.status).toBe(503);
    expect(budget.held).toBe(50);
    mine.resize(60);
    expect(budget.held).toBe(100);
    mine.resize(5);
    other.release();
    mine.release();
    mine.release();
    expect(budget.held).toBe(0);
  });
});

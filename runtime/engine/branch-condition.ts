import { isDeepStrictEqual } from 'node:util';
import { assertNever } from './assert-never';
import { StepFailedError } from './errors/step-failed-error';
import type { BranchOperator } from './step-schemas';

/**
 * Evaluates a branch condition on resolved values. Equality is strict and deep (`"5"` is not
 * `5`); ordering needs two numbers or two strings; `exists` is true for anything but a missing
 * path or null.
 */
export function evaluateCondition(op: BranchOperator, left: unknown, right: unknown): boolean {
  switch (op) {
    case 'eq':
      return isDeepStrictEqual(left, right);
    case 'ne':
      return !isDeepStrictEqual(left, right);
    case 'gt':
      return compare(op, left, right) > 0;
    case 'gte':
      return compare(op, left, right) >= 0;
    case 'lt':
      return compare(op, left, right) < 0;
    case 'lte':
      return compare(op, left, right) <= 0;
    case 'contains':
      return contains(left, right);
    case 'exists':
      return left !== undefined && left !== null;
    default:
      return assertNever(op);
  }
}

function compare(op: BranchOperator, left: unknown, right: unknown): number {
  if (typeof left === 'number' && typeof right === 'number') return left - right;
  if (typeof left === 'string' && typeof right === 'string') {
    return left < right ? -1 : left > right ? 1 : 0;
  }
  throw new StepFailedError(
    `${op} needs two numbers or two strings (got ${describeType(left)} and ${describeType(right)})`,
  );
}

function contains(left: unknown, right: unknown): boolean {
  if (typeof left === 'string' && typeof right === 'string') return left.includes(right);
  if (Array.isArray(left)) return left.some((item) => isDeepStrictEqual(item, right));
  if (left !== null && typeof left === 'object' && typeof right === 'string') {
    return Object.hasOwn(left, right);
  }
  throw new StepFailedError(
    `contains needs a string, an array or an object on the left (got ${describeType(left)} and ${describeType(right)})`,
  );
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

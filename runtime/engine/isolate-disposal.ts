import type ivm from 'isolated-vm';
import { settleWithin } from './bounded-wait';

/**
 * Disposes `isolate` and resolves true once its thread has let go of it; false when dispose()
 * failed or the thread is still busy after `ms`.
 *
 * isolated-vm's dispose() asks V8 to terminate what runs and drops the handle without waiting.
 * V8 cannot stop some work (a builtin that does not check for interrupts, a value read after a
 * termination was consumed), and while the thread is held the isolate is never freed and a
 * normal process exit waits for it forever. A call queued on the isolate settles only once the
 * thread has finished its current task (the call runs, or is rejected as the isolate is torn
 * down), so such calls are the probes: `running`, the call the caller was waiting for, and a
 * heap-statistics call made here.
 */
export async function disposeAndConfirm(
  isolate: ivm.Isolate,
  ms: number,
  running?: Promise<unknown>,
): Promise<boolean> {
  const probes: Promise<unknown>[] = running === undefined ? [] : [running];
  if (!isolate.isDisposed) {
    try {
      probes.push(isolate.getHeapStatistics());
    } catch {
      // disposed meanwhile (the memory limit): `running` is the probe
    }
    try {
      isolate.dispose();
    } catch {
      if (!isolate.isDisposed) return false;
    }
  }
  const all = Promise.all(probes.map((probe) => probe.catch(() => undefined)));
  return (await settleWithin(all, ms)).status !== 'pending';
}

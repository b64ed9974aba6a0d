import { describe, expect, it } from 'vitest';
import type { CodeRunResult } from '../../runtime/engine/code-run-result';
import {
  MAX_INTL_OBJECTS,
  MAX_SEGMENTED_UNITS,
} from '../../runtime/engine/code-step-allocation-limits';
import { runThenRecover, useHostileSandbox } from './code-sandbox-cases';

/** Long enough that only the 16 MB cap can stop these steps. */
const ROOMY_CAP_MS = 5000;
/** What one step may add to the host's resident memory: the cap, a few times over, and slack. */
const MAX_RSS_GROWTH_MB = 16 * 10;

// Variants that make V8 fail one allocation it cannot recover from (a Map, a sparse array or a
// doubling string or array that outgrows the cap at once) make V8 give up on the isolate, which
// ends the worker; worker-hostile-code.test.ts covers them.
describe('a code step that allocates without bound', () => {
  const hostile = useHostileSandbox(16);

  /** Runs each variant with a roomy time cap and expects `stopped`, with the host's RSS bounded. */
  async function expectStopped(variants: Record<string, string>, stopped: CodeRunResult) {
    for (const [name, code] of Object.entries(variants)) {
      const rssBefore = process.memoryUsage().rss;
      const result: CodeRunResult = await runThenRecover(hostile, code, ROOMY_CAP_MS);
      expect(result, name).toEqual(stopped);
      const grewMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
      expect(grewMb, name).toBeLessThan(MAX_RSS_GROWTH_MB);
    }
  }

  const expectStoppedForMemory = (variants: Record<string, string>) =>
    expectStopped(variants, { ok: false, reason: 'memory', message: 'code used more than 16 MB' });
  const refused = (message: string): CodeRunResult => ({ ok: false, reason: 'error', message });

  it('stops arrays and objects at the memory cap', async () => {
    await expectStoppedForMemory({
      arrays: 'export default () => { const k = []; for (;;) k.push(new Array(1e5).fill(7)) }',
      objects:
        'export default () => { const k = []; for (let i = 0; ; i++) k.push({ i, s: "v" + i }) }',
      asyncGrowth:
        'export default async () => { const k = []; for (;;) { await null; k.push(new Array(1e4).fill(1)) } }',
    });
  });

  it('stops strings at the memory cap', async () => {
    await expectStoppedForMemory({
      flatStrings:
        'export default () => { const k = []; for (let i = 0; ; i++) { const s = "x".repeat(1 << 20) + i; s.charCodeAt(3); k.push(s) } }',
      serialised:
        'export default () => { const k = []; for (;;) k.push(JSON.stringify(new Array(1e5).fill("x"))) }',
    });
  });

  it('stops typed arrays and ArrayBuffers at the memory cap', async () => {
    await expectStoppedForMemory({
      typedArrays: 'export default () => { const k = []; for (;;) k.push(new Float64Array(1e6)) }',
      buffers: 'export default () => { const k = []; for (;;) k.push(new ArrayBuffer(1 << 22)) }',
      oneHugeBuffer: 'export default () => new ArrayBuffer(2 ** 31).byteLength',
      dataViews:
        'export default () => { const k = []; for (;;) k.push(new DataView(new ArrayBuffer(1 << 22))) }',
      slices:
        'export default () => { const k = []; for (;;) k.push(new Uint8Array(1 << 20).slice()) }',
    });
  });

  // Before the fix, steps of a second each took a worker from 80 MB to 1.4 GB this way.
  it('limits the Intl objects a step makes, whose ICU memory is outside the cap', async () => {
    const variants = {
      formatters:
        'export default () => { const k = []; for (;;) k.push(new Intl.DateTimeFormat("en", { timeZone: "UTC" })) }',
      calledWithoutNew:
        'export default () => { const k = []; for (;;) k.push(Intl.NumberFormat("en")) }',
      byPrototype:
        'export default () => { const C = Object.getPrototypeOf(new Intl.Collator()).constructor; const k = []; for (;;) k.push(new C()) }',
      segments:
        'export default () => { const s = new Intl.Segmenter(); const k = []; for (;;) k.push(s.segment("a b")) }',
      segmentIterators:
        'export default () => { const s = new Intl.Segmenter().segment("a b"); const k = []; for (;;) k.push(s[Symbol.iterator]()) }',
    };
    await expectStopped(
      variants,
      refused(`RangeError: a code step may make at most ${MAX_INTL_OBJECTS} Intl objects`),
    );
  });

  // Before the fix, 100 segment() calls on a 4M-character text took a worker from 1.6 to 2.4 GB,
  // and adoptText in a loop to 5 GB.
  it('limits the text a step hands ICU to segment, and has no v8BreakIterator', async () => {
    const variants = {
      oneLongText:
        'export default () => { const s = "a".repeat(4e6); const g = new Intl.Segmenter(); const k = []; for (let i = 0; i < 100; i++) k.push(g.segment(s)); return k.length }',
      textThatConvertsLong:
        'export default () => { const t = { toString: () => "a".repeat(4e6) }; const g = new Intl.Segmenter(); const k = []; for (let i = 0; i < 100; i++) k.push(g.segment(t)); return k.length }',
      byPrototype:
        'export default () => { const s = "a".repeat(4e6); const { segment } = Intl.Segmenter.prototype; const g = new Intl.Segmenter(); const k = []; for (let i = 0; i < 100; i++) k.push(segment.call(g, s)); return k.length }',
    };
    await expectStopped(
      variants,
      refused(
        `RangeError: a code step may segment at most ${MAX_SEGMENTED_UNITS} characters of text`,
      ),
    );
    const breakIterator = await runThenRecover(
      hostile,
      'export default () => [typeof Intl.v8BreakIterator, "v8BreakIterator" in Intl]',
    );
    expect(breakIterator).toEqual({ ok: true, outputJson: '["undefined",false]' });
  });

  it('leaves Intl working as usual within the limit', async () => {
    const result = await runThenRecover(
      hostile,
      `export default () => {
        // The count is installed on the first read of Intl, whatever the step changed before.
        const iterator = Array.prototype[Symbol.iterator];
        Object.prototype.get = () => 1;
        Array.prototype[Symbol.iterator] = function* () {};
        const { NumberFormat } = Intl;
        Array.prototype[Symbol.iterator] = iterator;
        class Money extends NumberFormat {}
        return [
          new Money('de-DE', { style: 'currency', currency: 'EUR' }).format(1234.5),
          Intl.DateTimeFormat('en', { timeZone: 'UTC' }).format(0),
          new Intl.Collator() instanceof Intl.Collator,
          Object.getPrototypeOf(new Intl.PluralRules('en')).constructor === Intl.PluralRules,
          Intl.NumberFormat.supportedLocalesOf('en'),
          Array.from(new Intl.Segmenter('en', { granularity: 'word' }).segment('a b'), (s) => s.segment),
          (1234.5).toLocaleString('en', { maximumFractionDigits: 0 }),
        ];
      }`,
    );
    expect(result).toEqual({
      ok: true,
      outputJson: JSON.stringify([
        '1.234,50\u00a0€',
        '1/1/1970',
        true,
        true,
        ['en'],
        ['a', ' ', 'b'],
        '1,235',
      ]),
    });
  });

  it('stops a step that keeps catching refused allocations at the time cap', async () => {
    const result = await runThenRecover(
      hostile,
      'export default () => { const k = []; for (;;) { try { k.push(new ArrayBuffer(1 << 22)) } catch {} } }',
    );
    expect(result).toMatchObject({ ok: false, reason: 'timeout' });
  });

  it('makes resizable ArrayBuffers fixed-length, so their memory counts against the cap', async () => {
    await expectStoppedForMemory({
      resizable:
        'export default () => { const k = []; for (;;) k.push(new ArrayBuffer(1 << 22, { maxByteLength: 1 << 30 })) }',
      resizableByPrototype:
        'export default () => { const C = Object.getPrototypeOf(new Uint8Array(1).buffer).constructor; const k = []; for (;;) k.push(new C(1 << 22, { maxByteLength: 1 << 30 })) }',
      resizableSubclass:
        'class Big extends ArrayBuffer { constructor() { super(1 << 22, { maxByteLength: 1 << 30 }) } }\nexport default () => { const k = []; for (;;) k.push(new Big()) }',
    });
    const result = await runThenRecover(
      hostile,
      'export default () => { const b = new ArrayBuffer(8, { maxByteLength: 1 << 30 }); let grew = true; try { b.resize(1 << 29) } catch { grew = false } return [b.resizable, b.byteLength, grew] }',
    );
    expect(result).toEqual({ ok: true, outputJson: '[false,8,false]' });
  });
});

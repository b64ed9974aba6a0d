import { describe, expect, it } from 'vitest';
import { EmbeddedDatabaseError } from '../../../runtime/db/embedded-database-error';

describe('EmbeddedDatabaseError', () => {
  it("names a full disk from PGlite's Emscripten ErrnoError, which has no message", () => {
    // What PGlite.create threw on a 10 MB tmpfs: Emscripten's ENOSPC.
    const message = new EmbeddedDatabaseError('/data', { name: 'ErrnoError', errno: 51 }).message;
    expect(message).toContain('(ENOSPC, no space left on the device)');
    expect(message).not.toContain('[object Object]');
  });

  it('gives the innermost cause on one line', () => {
    const cause = new Error('could not read blocks 0..0 in file "base/5/2688"\nDETAIL: more');
    const message = new EmbeddedDatabaseError('/data', new Error('failed query', { cause }))
      .message;
    expect(message).toBe(
      'SLUICE_DATA_DIR "/data": the embedded database in its pg directory cannot be opened (could not read blocks 0..0 in file "base/5/2688"); if it is damaged, restore a copy or move pg aside to start empty',
    );
  });
});

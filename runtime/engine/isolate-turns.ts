/**
 * Lets one code step at a time use an isolate. A step holds its turn from taking a context to
 * its outcome, so the isolate is idle whenever a step starts: that is what makes isolated-vm's
 * synchronous calls (compile, link, set) safe, since they block this thread while the isolate
 * runs something else. Every holder's waits are bounded, so every turn ends.
 */
export class IsolateTurns {
  #last: Promise<void> = Promise.resolve();
  /** When the step holding the turn took it (performance.now()), or null while none does. */
  #heldSince: number | null = null;

  /** True while no step holds a turn: nothing of ours is running on the isolate. */
  isFree(): boolean {
    return this.#heldSince === null;
  }

  /** How long the current turn has been held: 0 while the isolate is free. */
  heldForMs(): number {
    return this.#heldSince === null ? 0 : performance.now() - this.#heldSince;
  }

  /**
   * Resolves with the function that ends the turn, or with null when `ms` passed or `signal`
   * aborted first; a step that gives up leaves its place to the next.
   */
  take(ms: number, signal?: AbortSignal): Promise<(() => void) | null> {
    const previous = this.#last;
    let end!: () => void;
    const mine = new Promise<void>((resolve) => {
      end = resolve;
    });
    this.#last = previous.then(() => mine);
    return new Promise((resolve) => {
      let decided = false;
      const decide = (turn: (() => void) | null) => {
        if (decided) return;
        decided = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', giveUp);
        if (turn === null) end();
        resolve(turn);
      };
      const giveUp = () => decide(null);
      const timer = setTimeout(giveUp, Math.max(0, ms));
      signal?.addEventListener('abort', giveUp, { once: true });
      if (signal?.aborted) giveUp();
      void previous.then(() => {
        if (decided) return;
        const since = performance.now();
        this.#heldSince = since;
        decide(() => {
          if (this.#heldSince === since) this.#heldSince = null;
          end();
        });
      });
    });
  }
}

import ivm from 'isolated-vm';

/** One isolate of the code sandbox, with a context made ahead of time for the next run that needs one. */
export class SandboxIsolate {
  readonly isolate: ivm.Isolate;
  /** Set when the sandbox disposes the isolate; a disposal it did not ask for is the memory limit. */
  disposedByOwner = false;
  #spare: Promise<ivm.Context> | null = null;
  #preparing = false;

  /**
   * `onCatastrophe` runs when V8 gives up on the isolate (a fatal out-of-memory): isolated-vm
   * then parks its thread for good instead of aborting the process.
   */
  constructor(memoryMb: number, onCatastrophe: (message: string) => void) {
    this.isolate = new ivm.Isolate({ memoryLimit: memoryMb, onCatastrophicError: onCatastrophe });
  }

  get isDisposed(): boolean {
    return this.isolate.isDisposed;
  }

  /** The spare context, or a new one. Settles once the isolate has made it. */
  takeContext(): Promise<ivm.Context> {
    const spare = this.#spare;
    this.#spare = null;
    return spare ?? this.isolate.createContext();
  }

  /**
   * Makes the next run's context after this turn of the event loop, once the host has sent what
   * the step's end led to (the run's record, its reply) and waits for the answers. It is made
   * on this thread when `isIdle` says nothing of ours runs on the isolate (a synchronous call
   * would wait for whatever did); an asynchronous call would cost two thread hand-offs more
   * (about 4 of a worker's 25 system calls per sync run). Otherwise it is made asynchronously.
   */
  prepareSpareContext(isIdle: () => boolean): void {
    if (this.#spare !== null || this.#preparing || this.isolate.isDisposed) return;
    this.#preparing = true;
    setImmediate(() => {
      this.#preparing = false;
      if (this.#spare !== null || this.isolate.isDisposed) return;
      if (isIdle()) {
        try {
          this.#spare = Promise.resolve(this.isolate.createContextSync());
        } catch {
          // The isolate is gone (disposed meanwhile, or its memory cap): the next run's step
          // finds it disposed and gets a new one.
        }
        return;
      }
      const spare = this.isolate.createContext();
      spare.catch(() => {
        // the isolate was disposed first; takeContext's caller sees the same rejection
      });
      this.#spare = spare;
    });
  }
}

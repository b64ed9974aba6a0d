import ivm from 'isolated-vm';

/** One isolate of the code sandbox, with a context made ahead of time for the next run that needs one. */
export class SandboxIsolate {
  readonly isolate: ivm.Isolate;
  /** Set when the sandbox disposes the isolate; a disposal it did not ask for is the memory limit. */
  disposedByOwner = false;
  #spare: Promise<ivm.Context> | null = null;

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

  /** Starts making the next context while the host does other work. */
  prepareSpareContext(): void {
    if (this.#spare !== null || this.isolate.isDisposed) return;
    const spare = this.isolate.createContext();
    spare.catch(() => {
      // the isolate was disposed first; takeContext's caller sees the same rejection
    });
    this.#spare = spare;
  }
}

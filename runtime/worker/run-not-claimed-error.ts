/** A flow started before its claim returned, and the claim found the run already ended. */
export class RunNotClaimedError extends Error {
  constructor(runId: string) {
    super(`run ${runId} was not claimed (it already ended); the flow stops before acting`);
    this.name = 'RunNotClaimedError';
  }
}

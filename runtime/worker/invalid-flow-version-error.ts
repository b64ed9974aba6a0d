/** A stored flow version that cannot run; retrying cannot fix it. */
export class InvalidFlowVersionError extends Error {
  constructor(versionId: string, reason: string) {
    super(`flow version ${versionId} cannot run: ${reason}`);
    this.name = 'InvalidFlowVersionError';
  }
}

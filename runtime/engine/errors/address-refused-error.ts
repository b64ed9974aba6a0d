/** An HTTP step tried to reach an address the address guard refuses. */
export class AddressRefusedError extends Error {
  override readonly name = 'AddressRefusedError' as const;

  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(
      host === address
        ? `refused to connect to ${address} (${reason})`
        : `refused to connect to ${host} at ${address} (${reason})`,
    );
  }
}

import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { refusalReason } from './address-guard';
import { AddressRefusedError } from './errors/address-refused-error';

/**
 * A `lookup` for sockets that checks every address DNS returns, so the check applies to the
 * address actually dialled and a rebinding DNS answer cannot slip past an earlier check.
 * One refused address refuses the host: the socket could otherwise pick it.
 */
export function createGuardedLookup(guard: { allowPrivateNetwork: boolean }): LookupFunction {
  return function guardedLookup(hostname, options: LookupOptions, callback) {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) {
        callback(error, '', 0);
        return;
      }
      for (const { address } of addresses) {
        const reason = refusalReason(address, guard);
        if (reason !== null) {
          callback(new AddressRefusedError(hostname, address, reason), '', 0);
          return;
        }
      }
      const [first] = addresses;
      if (options.all) {
        (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
      } else if (first) {
        callback(null, first.address, first.family);
      } else {
        callback(
          Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }),
          '',
          0,
        );
      }
    });
  };
}

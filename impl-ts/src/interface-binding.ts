/**
 * Binding a client socket to a network interface by name (wg0, eth0, lo).
 * @packageDocumentation
 */
import { networkInterfaces } from "node:os";
import { isIPv6 } from "node:net";
import { QWormholeError } from "./protocol/errors.js";

/**
 * The local address of interface `name`, preferring the family of `host`
 * (IPv6 for an IPv6 literal, else IPv4). Throws E_INTERFACE_NOT_FOUND.
 */
export function resolveInterfaceAddress(name: string, host?: string): string {
  const addresses = networkInterfaces()[name];
  if (!addresses || addresses.length === 0) {
    const known = Object.keys(networkInterfaces()).join(", ");
    throw new QWormholeError("E_INTERFACE_NOT_FOUND", `no network interface named ${JSON.stringify(name)} (known: ${known})`);
  }
  const family = host && isIPv6(host) ? "IPv6" : "IPv4";
  const match = addresses.find((a) => a.family === family) ?? addresses[0]!;
  return match.address;
}

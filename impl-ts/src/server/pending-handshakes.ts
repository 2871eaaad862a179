/**
 * The connections a server holds that have not finished their handshake,
 * counted in total (`maxPendingHandshakes`) and per remote address
 * (`maxPendingHandshakesPerAddress`), so that one address holding silent
 * connections cannot take every slot (slowloris).
 * @packageDocumentation
 */
import type { Link } from "../transport/link.js";

/** The address a limit counts under: an IPv4-mapped IPv6 address counts as its IPv4 address. */
export function addressKey(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return "";
  return remoteAddress.startsWith("::ffff:") && remoteAddress.includes(".") ? remoteAddress.slice(7) : remoteAddress;
}

/** Pending handshakes, with a count per remote address. */
export class PendingHandshakes {
  private readonly links = new Map<Link, string>();
  private readonly perAddress = new Map<string, number>();

  /** Connections in the handshake. */
  get size(): number {
    return this.links.size;
  }

  /** Connections in the handshake from `remoteAddress`. */
  countOf(remoteAddress: string | undefined): number {
    return this.perAddress.get(addressKey(remoteAddress)) ?? 0;
  }

  add(link: Link): void {
    if (this.links.has(link)) return;
    const key = addressKey(link.peer.remoteAddress);
    this.links.set(link, key);
    this.perAddress.set(key, (this.perAddress.get(key) ?? 0) + 1);
  }

  /** Forgets `link` (idempotent). */
  delete(link: Link): void {
    const key = this.links.get(link);
    if (key === undefined) return;
    this.links.delete(link);
    const n = this.perAddress.get(key)! - 1;
    if (n === 0) this.perAddress.delete(key);
    else this.perAddress.set(key, n);
  }

  /** Every pending link. */
  values(): IterableIterator<Link> {
    return this.links.keys();
  }
}

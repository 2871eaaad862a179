/**
 * Optional loading of the native bindings (`@qwormhole/native`). qwormhole
 * works without them: every failure becomes a reason the factory reports.
 *
 * Environment:
 * - `QWORMHOLE_DISABLE_NATIVE=1`: never load native code.
 * - `QWORMHOLE_NATIVE_PATH=dir`: load `<dir>/<addon>.node` (or `<dir>/build/Release/<addon>.node`) first.
 * - `NODE_DEBUG=qwormhole`: log what was tried, where it loaded from and why it failed.
 * - `QWORMHOLE_NATIVE_PREFERRED=lws|libsocket`, `QWORMHOLE_NATIVE_SERVER_PREFERRED`,
 *   `QWORMHOLE_NATIVE_CLIENT_PREFERRED`: the backend tried first (see runtime.ts).
 * @packageDocumentation
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { debuglog } from "node:util";

/** The factory's names of the two backends. */
export type NativeBackendName = "lws" | "libsocket";

/** What both addons export (see impl-native/addon/engine_api.cc). */
export interface NativeBinding {
  readonly backend: string;
  /** `table`: where the addon writes the entries of a batch that fits (see NativeRuntime.table). */
  setDispatch(fn: (type: number, id: number, a: unknown, b: unknown) => void, table?: Uint32Array): void;
  connect(host: string, port: number, options: object): number;
  listen(host: string, port: number, options: object): [number, number];
  closeListener(id: number): void;
  write(id: number, data: Buffer | Buffer[]): number;
  setLimits(id: number, maxFrameLength: number, control: boolean, handshake: boolean): void;
  refuseData(id: number): void;
  switchToRaw(id: number): void;
  switchToFrames(id: number): void;
  pause(id: number, paused: boolean): boolean;
  drainPending(id: number): void;
  setOutputLimit(id: number, bytes: number): void;
  end(id: number): void;
  destroy(id: number, silent?: boolean): void;
  info(id: number): [string, number, number, number, number, number] | undefined;
  tlsFacts(id: number): {
    protocol: string | null;
    cipher: string | null;
    alpn: string | null;
    authorized: boolean;
    peerFingerprint256: string | null;
    localFingerprint256: string | null;
  } | null;
  exportKeyingMaterial(id: number, length: number, label: string, context?: Buffer): Buffer;
  tlsContext(config: object): object;
  /** Live objects; lws also counts `rearms` (partial flushes re-armed from the next service turn). */
  stats(): { connections: number; listeners: number; handles: number; rearms?: number };
  /** lws only: stop the service thread now (process exit). */
  shutdown?(): void;
}

/** The outcome of a load attempt. */
export type LoadResult = { binding: NativeBinding; source: string } | { binding: null; reason: string };

const ADDON_FILE: Record<NativeBackendName, string> = { lws: "qwormhole_lws", libsocket: "qwormhole_posix" };
const PACKAGE_NAME: Record<NativeBackendName, string> = { lws: "lws", libsocket: "posix" };
const cache = new Map<NativeBackendName, LoadResult>();

/** The `qwormhole` section of NODE_DEBUG (util.debuglog): native loading and backend selection. */
export const debugNative = debuglog("qwormhole");

/** True when native code is switched off by the environment. */
export function nativeDisabled(): boolean {
  const v = process.env["QWORMHOLE_DISABLE_NATIVE"];
  return v === "1" || v === "true";
}

function attempt(backend: NativeBackendName): LoadResult {
  if (nativeDisabled()) return { binding: null, reason: "QWORMHOLE_DISABLE_NATIVE is set" };
  const require = createRequire(import.meta.url);
  const reasons: string[] = [];
  const dir = process.env["QWORMHOLE_NATIVE_PATH"];
  if (dir) {
    for (const file of [join(dir, `${ADDON_FILE[backend]}.node`), join(dir, "build", "Release", `${ADDON_FILE[backend]}.node`)]) {
      if (!existsSync(file)) continue;
      try {
        return { binding: require(file) as NativeBinding, source: `QWORMHOLE_NATIVE_PATH ${file}` };
      } catch (err) {
        reasons.push(`${file}: ${(err as Error).message.split("\n")[0]}`);
      }
    }
    if (reasons.length === 0) reasons.push(`QWORMHOLE_NATIVE_PATH=${dir} holds no ${ADDON_FILE[backend]}.node`);
  }
  let pkg: { load(name: string): { binding?: NativeBinding; source?: string; error?: string } };
  try {
    pkg = require("@qwormhole/native") as typeof pkg;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    reasons.push(
      e.code === "MODULE_NOT_FOUND" && e.message.includes("'@qwormhole/native'")
        ? "@qwormhole/native is not installed (npm install @qwormhole/native)"
        : `@qwormhole/native did not load (${e.message.split("\n")[0]})`,
    );
    return { binding: null, reason: reasons.join("; ") };
  }
  const r = pkg.load(PACKAGE_NAME[backend]);
  if (r.binding) return { binding: r.binding, source: r.source ?? "@qwormhole/native" };
  reasons.push(r.error ?? "not loadable");
  return { binding: null, reason: reasons.join("; ") };
}

/** Loads (once) the addon of `backend`; never throws. */
export function loadNative(backend: NativeBackendName): LoadResult {
  let r = cache.get(backend);
  if (!r) {
    r = attempt(backend);
    cache.set(backend, r);
    if (r.binding) debugNative("native %s: loaded from %s", backend, r.source);
    else debugNative("native %s: unavailable: %s", backend, r.reason);
  }
  return r;
}

/** Which backends load here (for diagnostics). */
export function nativeAvailability(): Record<NativeBackendName, LoadResult> {
  return { lws: loadNative("lws"), libsocket: loadNative("libsocket") };
}

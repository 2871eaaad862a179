// Helpers for tests that attack `qwh-native serve` from Node: start a server (own process group,
// deadline, optional open-file limit), read its event lines, count its descriptors and memory,
// open many raw sockets. Every wait is for an event, bounded by the test's own timeout.
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { spawnBounded } from "./deadline.mjs";

export const NATIVE = process.env.QWH_NATIVE ?? join(import.meta.dirname, "..", "build", "qwh-native");

/**
 * Starts `qwh-native --backend B serve`. `nofile`: the server's open-file limit. Resolves with
 * { port, proc, events, waitFor(pred), stop() } once it printed its ready line.
 */
export function startServer({ backend, config = {}, nofile, tls, deadlineMs = 240_000 }) {
  const args = [
    "--backend",
    backend,
    "serve",
    "--port",
    "0",
    "--config",
    JSON.stringify(config),
    ...(tls ? ["--tls-cert", tls.cert, "--tls-key", tls.key] : []),
  ];
  const proc = nofile
    ? spawnBounded(
        "sh",
        ["-c", `ulimit -n ${nofile} && exec "$0" "$@"`, NATIVE, ...args],
        { stdio: ["pipe", "pipe", "inherit"] },
        deadlineMs,
      )
    : spawnBounded(NATIVE, args, { stdio: ["pipe", "pipe", "inherit"] }, deadlineMs);
  const events = [];
  const waiters = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].pred(events)) {
        waiters[i].resolve();
        waiters.splice(i, 1);
      }
    }
  };
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).on("line", (line) => {
      const ev = JSON.parse(line);
      if (ev.ready) {
        resolve({
          port: ev.port,
          proc,
          events,
          /** Resolves once pred(events) holds. */
          waitFor: (pred) => new Promise((r) => (pred(events) ? r() : waiters.push({ pred, resolve: r }))),
          stop: () =>
            new Promise((r) => {
              if (proc.exitCode !== null || proc.signalCode !== null) return r(proc.exitCode);
              proc.once("exit", (code) => r(code));
              proc.stdin.end();
            }),
        });
        return;
      }
      events.push(ev);
      check();
    });
    proc.once("exit", (code, signal) => reject(new Error(`qwh-native serve exited (${code ?? signal}) before it was ready`)));
  });
}

/** Open descriptors of a process. */
export const fdCount = (pid) => readdirSync(`/proc/${pid}/fd`).length;
/** A line of /proc/PID/status in KiB (VmRSS, VmData). */
export function statusKiB(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

/** Waits until fn() is true, checking each time the event loop turns (bounded by the test's timeout). */
export async function until(fn) {
  while (!fn()) await new Promise((r) => setTimeout(r, 25));
}

/** A frame of the bare profile: a 4-byte big-endian length and the payload. */
export function frame(payload) {
  const b = Buffer.alloc(4 + payload.length);
  b.writeUInt32BE(payload.length, 0);
  payload.copy(b, 4);
  return b;
}

/**
 * Opens a TCP connection; resolves with { socket, ended, echoed(n) } once connected. `ended`
 * resolves when the server closes it (end, reset or error). `localAddress` binds the source.
 */
export function openSocket(port, localAddress) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, ...(localAddress ? { localAddress } : {}) });
    let received = 0;
    const readers = [];
    let endedResolve;
    const ended = new Promise((r) => (endedResolve = r));
    let isEnded = false;
    const done = () => {
      if (isEnded) return;
      isEnded = true;
      endedResolve();
      for (const r of readers.splice(0)) r.resolve(false);
    };
    socket.on("data", (d) => {
      received += d.length;
      for (let i = readers.length - 1; i >= 0; i--) if (received >= readers[i].n) readers.splice(i, 1)[0].resolve(true);
    });
    socket.on("end", done);
    socket.on("close", done);
    socket.on("error", done);
    socket.once("connect", () =>
      resolve({
        socket,
        ended,
        get isEnded() {
          return isEnded;
        },
        /** Resolves true once n bytes arrived, false if the connection ended first. */
        received: (n) => new Promise((r) => (received >= n ? r(true) : isEnded ? r(false) : readers.push({ n, resolve: r }))),
      }),
    );
    socket.once("error", reject);
  });
}

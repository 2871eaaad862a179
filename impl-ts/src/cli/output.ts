/**
 * Where the CLI writes. Text mode: received payloads on stdout (one line
 * each, bytes as they came), status on stderr. `--json`: one JSON object per
 * line on stdout for every event, so scripts read one stream; errors stay on
 * stderr in both modes.
 * @internal
 * @packageDocumentation
 */
import type { Writable } from "node:stream";

/** The streams a command runs with. */
export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: Writable;
  stderr: Writable;
}

/** A JSON-able event with its name. */
export type CliEvent = { event: string } & Record<string, unknown>;

export class Output {
  constructor(
    readonly io: Io,
    readonly json: boolean,
  ) {}

  /** A received payload: the bytes and a newline, or a `message` event. */
  message(data: Buffer, extra: Record<string, unknown> = {}): void {
    if (this.json) this.event({ event: "message", ...extra, data: data.toString("utf8"), bytes: data.length });
    else this.io.stdout.write(data.length > 0 && data[data.length - 1] === 0x0a ? data : Buffer.concat([data, NEWLINE]));
  }

  /** A status change: a JSON line, or `text` on stderr. */
  status(event: CliEvent, text: string): void {
    if (this.json) this.event(event);
    else this.io.stderr.write(`${text}\n`);
  }

  /** A result: a JSON line, or `text` on stdout. */
  result(event: CliEvent, text: string): void {
    if (this.json) this.event(event);
    else this.io.stdout.write(`${text}\n`);
  }

  /** A progress line: rewritten in place on a terminal, one line each otherwise; never in JSON mode. */
  progress(text: string): void {
    if (this.json) return;
    const tty = (this.io.stderr as { isTTY?: boolean }).isTTY === true;
    this.io.stderr.write(tty ? `\r${text}\u001b[K` : `${text}\n`);
  }

  /** Ends a progress line on a terminal. */
  endProgress(): void {
    if (!this.json && (this.io.stderr as { isTTY?: boolean }).isTTY === true) this.io.stderr.write("\n");
  }

  /** A coded error on stderr: `qwormhole: CODE: message`, or `{"error":{code,message}}` with --json. */
  error(code: string, message: string): void {
    this.io.stderr.write(this.json ? `${JSON.stringify({ error: { code, message } })}\n` : `qwormhole: ${code}: ${message}\n`);
  }

  private event(e: CliEvent): void {
    this.io.stdout.write(`${JSON.stringify(e)}\n`);
  }
}

const NEWLINE = Buffer.from("\n");

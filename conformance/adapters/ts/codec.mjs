// codec mode of the ts adapter: JSON requests on stdin, one answer line each on stdout (spec
// Appendix D.2), answered by qwormhole's own codec operations (qwormhole/testing).
import { createInterface } from "node:readline";

export async function runCodec() {
  const { codecOperations } = await import("qwormhole/testing");
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const out = [];
  let scheduled = false;
  const write = (obj) => {
    out.push(JSON.stringify(obj));
    if (!scheduled) {
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        process.stdout.write(out.join("\n") + "\n");
        out.length = 0;
      });
    }
  };
  for await (const line of lines) {
    if (line.trim() === "") continue;
    let req;
    try {
      req = JSON.parse(line);
    } catch (err) {
      write({ id: 0, ok: false, error: { code: "bad-request", message: `not JSON: ${err.message}` } });
      continue;
    }
    const op = codecOperations[req.op];
    if (!op || !Object.hasOwn(codecOperations, req.op)) {
      write({ id: req.id, ok: false, error: { code: "unsupported", message: `op ${req.op} is not supported` } });
      continue;
    }
    try {
      const input = req.chunks ? { ...req.input, chunks: req.chunks } : req.input;
      write({ id: req.id, ok: true, output: op(req.params ?? {}, input ?? {}) });
    } catch (err) {
      write({ id: req.id, ok: false, error: { code: "internal", message: String(err?.stack ?? err) } });
    }
  }
}

// The matrix's connection-cut scenario (feature "resume"): the numbered streams and their tally,
// the seeded cutting proxy, and the grades through the command line: a pass with its counts, the
// UNSUPPORTED of an agent that does not offer "resume" (not a failure), and the FAIL with its
// counts of an adapter that claims "resume" but does not resume.
import net from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NumberRuns, numberedMessage } from "../lib/messages.mjs";
import { cellSeed, startCuttingProxy } from "../src/cutting-proxy.mjs";
import { expandMessages, SCENARIOS, tallyRuns } from "../src/scenarios.mjs";
import { fixtureAdapter, readJson, runBin, schemaErrors, tempDir } from "./helpers.mjs";

const cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("numbered streams", () => {
  it("numbered messages carry their index in the first 4 bytes, the counting pattern after it", () => {
    const [a, b] = expandMessages(["00", { size: 6, count: 2, numbered: true }]).slice(1);
    expect(a.toString("hex")).toBe("000000010506");
    expect(b.toString("hex")).toBe("000000020607");
    expect(numberedMessage(0x01020304, 4).toString("hex")).toBe("01020304");
    expect(() => numberedMessage(0, 3)).toThrow(RangeError);
  });

  it("a receiver's runs: one run for a stream delivered once and in order", () => {
    const runs = new NumberRuns();
    for (const n of [0, 1, 2, 3, 1, 2, 7, 4, 5]) runs.take(numberedMessage(n, 8));
    runs.take(Buffer.from("ab"));
    expect(runs.runs).toEqual([
      [0, 3],
      [1, 2],
      [7, 7],
      [4, 5],
      [-1, -1],
    ]);
  });

  it("the tally counts lost, duplicated, out of order and unexpected numbers", () => {
    expect(tallyRuns([[0, 9]], 10)).toEqual({ expected: 10, received: 10, lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 });
    expect(
      tallyRuns(
        [
          [0, 3],
          [1, 2],
          [7, 7],
          [4, 5],
          [-1, -1],
        ],
        10,
      ),
    ).toEqual({ expected: 10, received: 10, lost: 3, duplicated: 2, outOfOrder: 2, unexpected: 1 });
    expect(tallyRuns([[0, 1e12]], 10)).toMatchObject({ truncated: true, lost: 0 });
    expect(tallyRuns("x", 10)).toBeNull();
    expect(tallyRuns([[3, 1]], 10)).toBeNull();
    expect(tallyRuns([[0.5, 1]], 10)).toBeNull();
  });
});

/** A server that counts what each connection delivers; resolves each connection's count when it closes. */
async function countingServer() {
  const counts = [];
  const waiters = [];
  const server = net.createServer((s) => {
    let n = 0;
    s.on("data", (d) => (n += d.length));
    s.on("error", () => undefined);
    s.on("close", () => {
      counts.push(n);
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const closedCount = async (k) => {
    while (counts.length < k) await new Promise((r) => waiters.push(r));
    return counts[k - 1];
  };
  return { port: server.address().port, closedCount };
}

/** Writes `bytes` through the proxy on a new connection; resolves once the connection is gone. */
function pour(port, bytes) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => s.end(Buffer.alloc(bytes, 7)));
    s.on("error", () => undefined);
    s.on("close", resolve);
  });
}

describe("the cutting proxy", () => {
  it("cuts connection k after a seeded number of bytes within the bounds, the same for the same seed, then stops cutting", async () => {
    const limits = [];
    for (const attempt of [0, 1]) {
      const up = await countingServer();
      const cut = [];
      const proxy = await startCuttingProxy({
        port: up.port,
        seed: cellSeed(42, "a/b/plain/resume-under-cuts"),
        cuts: 3,
        minBytes: 1000,
        maxBytes: 5000,
        note: (s) => cut.push(s),
      });
      cleanups.push(() => proxy.close());
      const got = [];
      for (let k = 1; k <= 4; k++) {
        await pour(proxy.port, 20000);
        got.push(await up.closedCount(k));
      }
      expect(proxy.cuts).toBe(3);
      expect(proxy.connections).toBe(4);
      // A cut connection delivers exactly its limit; the fourth, past the cuts, all 20,000 bytes.
      for (const n of got.slice(0, 3)) expect(n >= 1000 && n < 5000, `limit ${n}`).toBe(true);
      expect(got[3]).toBe(20000);
      expect(cut.filter((s) => s.startsWith("cut ")).length).toBe(3);
      limits[attempt] = got;
    }
    expect(limits[1]).toEqual(limits[0]);
    expect(cellSeed(42, "x")).not.toBe(cellSeed(43, "x"));
    expect(cellSeed(42, "x")).not.toBe(cellSeed(42, "y"));
  });
});

const resumeOff = (claim) => `${fixtureAdapter("resume-off.mjs")}${claim ? " --claim" : ""}`;

describe("qwh-conformance matrix --scenarios resume-under-cuts", { timeout: 200000 }, () => {
  it("is in the scenario list, needs the feature resume and cuts at least 20 times", () => {
    const s = SCENARIOS.find((x) => x.name === "resume-under-cuts");
    expect(s).toMatchObject({ feature: "resume", proxy: { minCuts: 20 } });
    expect(s.proxy.cuts).toBeGreaterThanOrEqual(s.proxy.minCuts);
  });

  it("ts x ts passes over plain TCP and TLS with its counts; an agent without resume is UNSUPPORTED and the run passes", async () => {
    const out = tempDir("resume-matrix");
    const r = await runBin(
      [
        "matrix",
        "--agent-cmd",
        `off=${resumeOff(false)}`,
        "--agents",
        "ts,off",
        "--scenarios",
        "resume-under-cuts",
        "--seed",
        "7",
        "--out",
        out,
      ],
      { timeoutMs: 190000 },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const matrix = readJson(join(out, "matrix.json"));
    expect(schemaErrors("conformance/matrix.schema.json", matrix)).toEqual([]);
    expect(matrix.seed).toBe(7);
    for (const t of ["plain", "tls"]) {
      const cell = matrix.results.ts.ts[t]["resume-under-cuts"];
      expect(cell.grade, cell.message).toBe("PASS");
      expect(cell.faults.cuts).toBeGreaterThanOrEqual(20);
      expect(cell.faults.toServer).toMatchObject({ expected: 20000, received: 20000, lost: 0, duplicated: 0, outOfOrder: 0 });
      expect(cell.faults.toClient).toMatchObject({ expected: 5001, received: 5001, lost: 0, duplicated: 0, outOfOrder: 0 });
      expect(cell.faults.seed).toBe(cellSeed(7, `ts/ts/${t}/resume-under-cuts`));
      for (const [c, s] of [
        ["ts", "off"],
        ["off", "ts"],
        ["off", "off"],
      ])
        expect(matrix.results[c][s][t]["resume-under-cuts"]).toMatchObject({
          grade: "UNSUPPORTED",
          message: 'off does not offer "resume" (info mode)',
        });
    }
    expect(r.stdout).toMatch(/PASS ts -> ts tls resume-under-cuts: to server 20000\/20000 \(lost 0, duplicated 0, out of order 0\)/);
    expect(r.stdout).toMatch(
      /^connection cuts: 2 cells, \d+ cuts, 50002 numbered messages delivered; lost 0, duplicated 0, out of order 0 \(seed 7\)$/m,
    );
    expect(r.stderr).toContain("cut seed 7");
  });

  it("an adapter that claims resume and does not resume FAILs with what was lost and duplicated", async () => {
    const out = tempDir("resume-liar");
    const r = await runBin(
      [
        "matrix",
        "--agent-cmd",
        `liar=${resumeOff(true)}`,
        "--agents",
        "liar",
        "--scenarios",
        "resume-under-cuts",
        "--transports",
        "plain",
        "--out",
        out,
        "--quiet",
      ],
      { timeoutMs: 190000 },
    );
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const cell = readJson(join(out, "matrix.json")).results.liar.liar.plain["resume-under-cuts"];
    expect(cell.grade).toBe("FAIL");
    expect(cell.message).toMatch(/^messages lost, duplicated or out of order: to server \d+\/20000 \(lost [1-9]/);
    expect(cell.faults.toServer.lost + cell.faults.toClient.lost + cell.faults.toClient.duplicated).toBeGreaterThan(0);
  });
});

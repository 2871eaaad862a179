// Checks the benchmark harness without timing anything: the smallest profile runs end to
// end and writes files that validate; the goal check, the report and the SVG writer are
// deterministic functions of a results object. (Run: npx vitest run --project bench.)
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluateGoals } from "../src/lib/goals.mjs";
import { markdown, plots } from "../src/lib/report.mjs";
import { quantileSorted, summarizeRtts } from "../src/lib/stats.mjs";
import { lineChart } from "../src/lib/svg.mjs";
import { validateResults } from "../src/lib/validate.mjs";
import { splitPairName } from "../src/registry.mjs";

const RUN = fileURLToPath(new URL("../src/run.mjs", import.meta.url));

function run(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [RUN, ...args], { timeout: 90_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const machine = { cpus: 2, model: "test cpu", node: "v20.0.0", os: "linux" };
const tp = (name, sizeBytes, msgsPerSec, extra = {}) => ({
  name,
  sizeBytes,
  msgsPerSec,
  mbPerSec: (msgsPerSec * sizeBytes) / 1e6,
  runs: 3,
  ...extra,
});
const lat = (name, medianUs, p99Us, extra = {}) => ({
  name,
  sizeBytes: 64,
  medianUs,
  p99Us,
  p999Us: p99Us * 2,
  samples: 100,
  cdfUs: [
    [0, medianUs / 2],
    [0.5, medianUs],
    [0.99, p99Us],
    [1, p99Us * 3],
  ],
  ...extra,
});

function synthetic() {
  return {
    machine,
    date: "2025-01-31T12:00:00Z",
    profile: "quick",
    throughput: [
      tp("ts-ts", 16, 6e6),
      tp("ts-ts-batch", 16, 7.6e6),
      tp("ws", 16, 2e5),
      tp("zeromq", 16, 4e5),
      tp("net-batched", 16, 1.9e7),
      tp("net-raw", 16, 2e8),
      tp("net-naive", 16, 3e5),
      tp("ts-ts", 256, 3e6),
      tp("ws", 256, 2e5),
      tp("zeromq", 256, 4e5),
      tp("net-batched", 256, 9e6),
      tp("ts-ts", 1024, 2.5e6),
      tp("ts-ts", 65536, 50_000),
      tp("net-raw", 65536, 55_000),
      tp("ts-ts", 239, 1e6, { codec: "buffer" }),
      tp("ts-ts", 239, 5e5, { codec: "json" }),
      tp("ts-ts", 1024, 1e5, { tls: true }),
    ],
    latency: [lat("ts-ts", 60, 100), lat("net-raw", 50, 90)],
    memory: [
      {
        name: "ts-server-idle",
        side: "server",
        connections: 100,
        rssBytes: 1e8,
        heapPerConnectionBytes: 3000,
        bytesPerConnection: 5000,
        rssPerConnectionBytes: 9000,
      },
    ],
    micro: [
      { group: "codec", name: "json encode (239 B)", opsPerSec: 1e6, meanNs: 1000, samples: 10 },
      { group: "codec", name: "json decode (239 B)", opsPerSec: 5e5, meanNs: 2000, samples: 10 },
    ],
    unavailable: [{ name: "native-lws-native-lws", kind: "throughput", reason: "not built" }],
  };
}

describe("goal check", () => {
  const goals = Object.fromEntries(evaluateGoals(synthetic()).map((g) => [g.id, g]));
  it("computes ratios from the same run", () => {
    expect(goals["ts-vs-ws-16"]).toMatchObject({ status: "met", measured: 30, target: 10 });
    expect(goals["ts-vs-zeromq-16"]).toMatchObject({ status: "met", measured: 15 });
    expect(goals["ts-vs-net-batched-16"]).toMatchObject({ status: "met", measured: 0.316 });
    expect(goals["ts-vs-net-batched-256"]).toMatchObject({ status: "not met", measured: 0.333, target: 0.5 });
    expect(goals["ts-batch-vs-net-batched-16"]).toMatchObject({ status: "met", measured: 0.4, target: 0.3 });
    expect(goals["ts-batch-vs-net-batched-256"].status).toBe("not measured");
    expect(goals["ts-vs-net-raw-65536"]).toMatchObject({ status: "met", measured: 0.909 });
    expect(goals["ts-vs-seed-1k"]).toMatchObject({ status: "met", measured: 11.468 });
    expect(goals["rtt-median"]).toMatchObject({ status: "not met", measured: 1.2 });
    expect(goals["rtt-p99"]).toMatchObject({ status: "met", measured: 1.111 });
    expect(goals["idle-heap"]).toMatchObject({ status: "met", measured: 3000 });
  });
  it("codec goal: codec row vs bytes row + the slower of encode and decode", () => {
    // 2000 ns/msg vs (1000 ns + 2000 ns) = 0.667
    expect(goals["codec-json"]).toMatchObject({ status: "met", measured: 0.667, target: 1.2 });
    expect(goals["codec-cbor"].status).toBe("not measured");
  });
  it("reports what it cannot measure, with the reason", () => {
    expect(goals["ts-vs-net-batched-4096"].status).toBe("not measured");
    expect(goals["native-vs-ts"]).toMatchObject({ status: "not measured", detail: "not built" });
    expect(goals["sustained"].status).toBe("not measured");
  });
  it("the synthetic result with its goals validates against the schema", () => {
    const r = synthetic();
    r.goals = evaluateGoals(r);
    expect(validateResults(r)).toBeNull();
    expect(validateResults({ ...r, goals: [{ id: "x", goal: "y", status: "maybe" }] })).not.toBeNull();
  });
});

describe("report", () => {
  it("prints ratios to the best framed peer per row and to net-raw", () => {
    const r = synthetic();
    r.goals = evaluateGoals(r);
    const md = markdown(r, { "throughput vs size (msg/s)": "x-throughput.svg" });
    const lines = md.split("\n");
    // Best framed peer at 16 B is net-batched (19M, in bold); ts-ts / best = 0.32, ts-ts / net-raw (MB/s) = 0.03.
    expect(lines).toContain("| net-batched | **19.0M (304 MB/s)** | **9.00M (2304 MB/s)** | - | - |");
    expect(lines).toContain("| ts-ts | 0.32x net-batched / 0.03x | 0.33x net-batched / - | - / - | - / 0.91x |");
    expect(md).toContain("One-way throughput, one connection, TLS");
    expect(md).toContain("| native-lws-native-lws | throughput | - | not built |");
    expect(md).toContain("](x-throughput.svg)");
  });
  it("draws the plots as SVG", () => {
    const svgs = plots(synthetic());
    expect(Object.keys(svgs).sort()).toEqual([
      "latency.svg",
      "throughput-mbps.svg",
      "throughput-tls-mbps.svg",
      "throughput-tls.svg",
      "throughput.svg",
    ]);
    for (const svg of Object.values(svgs)) {
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trim().endsWith("</svg>")).toBe(true);
      expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    }
    expect(svgs["throughput.svg"]).toContain("<title>ts-ts</title>");
  });
});

describe("helpers", () => {
  it("svg writer handles log axes and empty charts", () => {
    const svg = lineChart({
      title: "t <&>",
      x: { label: "x", log: true },
      y: { label: "y", log: true },
      series: [
        {
          name: "a",
          points: [
            [1, 10],
            [100, 1000],
          ],
        },
      ],
    });
    expect(svg).toContain("t &lt;&amp;&gt;");
    expect(svg).toContain("<polyline");
    expect(lineChart({ title: "e", x: { label: "x" }, y: { label: "y" }, series: [] })).toContain("no data");
  });
  it("quantiles and round-trip summaries", () => {
    const s = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(quantileSorted(s, 0.5)).toBe(500);
    expect(quantileSorted(s, 0.99)).toBe(990);
    const sum = summarizeRtts(Array.from({ length: 1000 }, (_, i) => (1000 - i) * 1000));
    expect(sum).toMatchObject({ medianUs: 500, p99Us: 990, p999Us: 999, minUs: 1, maxUs: 1000, samples: 1000 });
  });
  it("pair names split into client and server", () => {
    expect(splitPairName("ts-native-lws")).toEqual(["ts", "native-lws"]);
    expect(splitPairName("native-libsocket-native-lws")).toEqual(["native-libsocket", "native-lws"]);
    expect(splitPairName("net-raw")).toBeNull();
  });
});

describe("smoke profile", () => {
  it("runs end to end in separate processes and writes a results file that validates", async () => {
    const out = mkdtempSync(join(tmpdir(), "qwh-bench-test-"));
    try {
      const { code, stdout, stderr } = await run(["--profile", "smoke", "--out", out, "--no-latest"]);
      expect(code, stderr).toBe(0);
      expect(stdout).toContain("### Goals");
      const files = readdirSync(out);
      const json = files.find((f) => f.endsWith("-smoke.json"));
      expect(json).toBeDefined();
      expect(files.some((f) => f.endsWith("-smoke.md"))).toBe(true);
      expect(files.filter((f) => f.endsWith(".svg")).length).toBeGreaterThanOrEqual(2);
      expect(files).not.toContain("latest.json");
      const result = JSON.parse(readFileSync(join(out, json), "utf8"));
      expect(validateResults(result)).toBeNull();
      const names = (rows) => rows.map((r) => r.name);
      expect(names(result.throughput)).toEqual(expect.arrayContaining(["ts-ts", "ts-ts-batch", "net-batched", "net-raw"]));
      expect(result.throughput.every((r) => r.sizeBytes === 16 && r.msgsPerSec > 0)).toBe(true);
      expect(names(result.latency)).toEqual(["ts-ts", "net-raw"]);
      expect(names(result.memory)).toEqual(["ts-server-idle", "ts-client-idle"]);
      expect(result.micro.length).toBeGreaterThan(0);
      expect(result.goals.length).toBeGreaterThan(10);
      // A native row is either measured or reported as not measured with the factory's reason.
      const native = [...result.throughput, ...result.unavailable].filter((r) => r.name === "native-lws-native-lws");
      expect(native.length).toBeGreaterThan(0);
      for (const r of result.unavailable) expect(r.reason.length).toBeGreaterThan(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});

// The interop matrix over the TS reference and both native addons (built by `npm test`'s build
// step), every client x every server, plain and TLS, on a deterministic half of the scenarios
// (every other one, the server restart and the connection cuts): every cell passing, matrix.json
// valid against its schema, the HTML self-contained. CI runs every scenario over these and the standalone C CLI
// agents (.ci/run), outside vitest's workers.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { SCENARIOS } from "../src/scenarios.mjs";
import { readJson, runBin, schemaErrors, tempDir } from "./helpers.mjs";

const AGENTS = ["ts", "native-libsocket", "native-lws"];
const SAMPLE = SCENARIOS.filter((s, i) => i % 2 === 0 || s.restart || s.proxy).map((s) => s.name);

describe(`qwh-conformance matrix --agents ${AGENTS.join(",")}`, { timeout: 300000 }, () => {
  const out = tempDir("matrix");
  let run;
  let matrix;
  beforeAll(async () => {
    run = await runBin(["matrix", "--agents", AGENTS.join(","), "--scenarios", SAMPLE.join(","), "--out", out, "--quiet"], {
      timeoutMs: 295000,
    });
    matrix = readJson(join(out, "matrix.json"));
  }, 300000);

  it("has at least 20 scenarios, each pair runs the sample over plain TCP and TLS", () => {
    expect(SCENARIOS.length).toBeGreaterThanOrEqual(20);
    expect(matrix.scenarios).toEqual(SAMPLE);
    expect(matrix.transports).toEqual(["plain", "tls"]);
    for (const client of AGENTS)
      for (const server of AGENTS)
        for (const t of matrix.transports) {
          expect(Object.keys(matrix.results[client][server][t]).length).toBe(SAMPLE.length);
        }
  });

  it("every cell passes", () => {
    const bad = [];
    for (const client of AGENTS)
      for (const server of AGENTS)
        for (const t of matrix.transports) {
          for (const [sc, cell] of Object.entries(matrix.results[client][server][t])) {
            if (cell.grade !== "PASS") bad.push(`${client} -> ${server} ${t}/${sc}: ${cell.grade} ${cell.message ?? ""}`);
          }
        }
    expect(bad).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^\d+ scenarios per pair and transport, \d+ cells: \d+ PASS[^;]*; timeout scale [\d.]+; report: .*index.html$/m,
    );
  });

  it("matrix.json validates against its schema", () => {
    expect(schemaErrors("conformance/matrix.schema.json", matrix)).toEqual([]);
  });

  it("index.html shows the matrix and has no external URL", () => {
    const html = readFileSync(join(out, "index.html"), "utf8");
    expect(html).toContain("Interop matrix");
    expect(html).toContain("reconnect-after-restart");
    expect(html).not.toMatch(/:\/\//);
  });
});

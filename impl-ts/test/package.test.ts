/**
 * What the qwormhole package offers to plain Node (the built dist/, as an
 * installed package resolves it): `require()` and `import` of every entry
 * point give the same module instance, and the metadata a user's npm reads.
 * The installed-tarball checks are scripts/pack-smoke.sh.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const repo = new URL("../../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", new URL("impl-ts/", repo)), "utf8"));

function node(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: repo, timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

describe("the qwormhole package", () => {
  it(`require("qwormhole") works on this Node (${process.version}) and gives the instance import gives`, async () => {
    const script = `
      const q = require("qwormhole");
      const p = require("qwormhole/protocol");
      import("qwormhole").then((m) => {
        console.log(JSON.stringify({ same: m === q, client: typeof q.QWormholeClient, decoder: typeof p.FrameDecoder }));
      });`;
    const r = await node(["-e", script]);
    expect(r.stderr).toBe(""); // no ExperimentalWarning, no error
    expect(JSON.parse(r.stdout)).toEqual({ same: true, client: "function", decoder: "function" });
  });

  it("serves import, require and types for each entry point, and nothing unexported", () => {
    expect(pkg.exports["."]).toEqual({ types: "./dist/index.d.ts", import: "./dist/index.js", require: "./dist/require.cjs" });
    for (const sub of ["./protocol", "./testing"]) expect(Object.keys(pkg.exports[sub])).toEqual(["types", "default"]);
    expect(pkg.type).toBe("module");
  });

  it("ships its licence and has no required dependency; native and CBOR are optional peers", () => {
    expect(readFileSync(new URL("impl-ts/LICENSE", repo), "utf8")).toBe(readFileSync(new URL("LICENSE", repo), "utf8"));
    expect(pkg.license).toBe("BSD-3-Clause");
    expect(pkg.files).toEqual(expect.arrayContaining(["dist", "README.md", "LICENSE", "!dist/**/*.map"]));
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.optionalDependencies).toBeUndefined();
    expect(pkg.peerDependenciesMeta).toEqual({ "@qwormhole/native": { optional: true }, "cbor-x": { optional: true } });
    expect(pkg.repository?.url).toMatch(/^git\+https:/);
    expect(pkg.keywords.length).toBeGreaterThan(3);
  });

  it(
    "has an API reference: typedoc builds without a warning, the README is its front page, the main classes show examples",
    { timeout: 120_000 },
    async () => {
      const out = mkdtempSync(join(tmpdir(), "qwh-typedoc-"));
      try {
        const typedoc = new URL("node_modules/typedoc/bin/typedoc", repo).pathname;
        const r = await new Promise<{ err: Error | null; output: string }>((resolve) =>
          execFile(process.execPath, [typedoc, "--out", out], { cwd: new URL("impl-ts/", repo), timeout: 100_000 }, (err, stdout, stderr) =>
            resolve({ err, output: stdout + stderr }),
          ),
        );
        expect(r.err, r.output).toBeNull();
        const index = readFileSync(join(out, "index.html"), "utf8");
        expect(index).toContain("First program");
        expect(index).toContain("The command line");
        const modules = readFileSync(join(out, "modules.html"), "utf8");
        for (const m of ["qwormhole", "qwormhole/protocol", "qwormhole/testing"]) expect(modules).toContain(`>${m}<`);
        for (const cls of ["QWormholeClient", "QWormholeServer", "ServerConnection", "QWormholeRuntime"]) {
          expect(readFileSync(join(out, "classes", `qwormhole.${cls}.html`), "utf8"), cls).toMatch(/Example/);
        }
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    },
  );
});

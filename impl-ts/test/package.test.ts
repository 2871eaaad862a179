/**
 * What the qwormhole package offers to plain Node (the built dist/, as an
 * installed package resolves it): `require()` and `import` of every entry
 * point give the same module instance, and the metadata a user's npm reads.
 * The installed-tarball checks are scripts/pack-smoke.sh.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
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
});

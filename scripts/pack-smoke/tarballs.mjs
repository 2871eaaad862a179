// Checks what each tarball holds and prints its size and runtime dependencies.
// Usage: node tarballs.mjs PACK_JSON (the output of `npm pack --json`)
import { readFileSync } from "node:fs";

// Lifecycle scripts (prepack, postpack) print to the same stdout: the JSON starts at a line "[".
const out = readFileSync(process.argv[2], "utf8");
const packs = JSON.parse(out.slice(out.search(/^\[$/m)));
const problems = [];
for (const p of packs) {
  const files = new Set(p.files.map((f) => f.path));
  for (const must of ["package.json", "LICENSE", "README.md"]) if (!files.has(must)) problems.push(`${p.name}: no ${must}`);
  if (p.name === "qwormhole") {
    if ([...files].some((f) => f.endsWith(".map"))) problems.push("qwormhole: ships source maps (no sources are shipped)");
    for (const f of ["dist/index.js", "dist/require.cjs", "dist/index.d.ts"]) if (!files.has(f)) problems.push(`qwormhole: no ${f}`);
  }
  if (p.name === "@qwormhole/native") {
    for (const addon of ["posix", "lws"]) {
      const prebuild = `addons/${addon}/prebuilds/linux-x64/node.napi.glibc.node`;
      if (!files.has(prebuild)) problems.push(`@qwormhole/native: no ${prebuild}`);
    }
  }
}
for (const p of packs) {
  const pkg = JSON.parse(readFileSync(new URL(`../../${dirOf(p.name)}/package.json`, import.meta.url), "utf8"));
  const deps = Object.entries({ ...pkg.dependencies }).map(([n, v]) => `${n}@${v}`);
  const optional = Object.entries({ ...pkg.optionalDependencies, ...optionalPeers(pkg) }).map(([n, v]) => `${n}@${v}`);
  console.log(
    `pack smoke: ${p.filename}: ${(p.size / 1024).toFixed(1)} KiB packed, ${(p.unpackedSize / 1024).toFixed(1)} KiB unpacked, ${p.entryCount} files; ` +
      `dependencies: ${deps.join(", ") || "none"}${optional.length ? `; optional: ${optional.join(", ")}` : ""}`,
  );
}
if (problems.length) {
  for (const m of problems) console.error(`pack smoke: ${m}`);
  process.exit(1);
}

function dirOf(name) {
  return {
    qwormhole: "impl-ts",
    "@qwormhole/native": "impl-native",
    "@qwormhole/conformance": "conformance",
    "@qwormhole/schemas": "schemas",
    "@qwormhole/spec": "spec",
  }[name];
}
function optionalPeers(pkg) {
  return Object.fromEntries(Object.entries(pkg.peerDependencies ?? {}).filter(([n]) => pkg.peerDependenciesMeta?.[n]?.optional));
}

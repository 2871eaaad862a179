#!/usr/bin/env node
// The benchmark run: micro benchmarks, end-to-end throughput (TCP, TLS,
// 100 connections, codecs), round trips, memory; then the results file (validated
// against schemas/bench/results.schema.json), the Markdown table, SVG plots and the goal check.
//
//   node bench/src/run.mjs [--profile quick|full|smoke] [--out dir] [--only micro,throughput,tls,connections,codecs,latency,memory]
//                          [--rows ts-ts,net-batched,...] [--sizes 16,1024] [--runs n] [--target-sec s]
//                          [--docs] [--no-latest] [--cpu-prof dir]
//
// Every end-to-end measurement puts the two sides in separate processes on 127.0.0.1.
import os from "node:os";
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { measureLatency } from "./e2e/latency.mjs";
import { measureThroughput } from "./e2e/throughput.mjs";
import { CLI_ROWS, measureCli } from "./e2e/cli.mjs";
import { evaluateGoals } from "./lib/goals.mjs";
import { gitCommit, gitDirty, machineInfo } from "./lib/machine.mjs";
import { markdown, plots } from "./lib/report.mjs";
import { fmtRate, fmtSize } from "./lib/stats.mjs";
import { makeSelfSigned } from "../../conformance/lib/tls-certs.mjs";
import { validateResults } from "./lib/validate.mjs";
import { measureIdle, measureSustained } from "./memory/measure.mjs";
import { allTasks, printRow, runTasks } from "./micro/run.mjs";
import { sampleSizes } from "./micro/codecs.mjs";
import { profiles } from "./profiles.mjs";
import { BATCH_ROWS, PEER_NAMES, pairNames, splitPairName } from "./registry.mjs";

const benchDir = fileURLToPath(new URL("..", import.meta.url));
const repoDir = resolve(benchDir, "..");

const argv = process.argv.slice(2);
// The last occurrence wins, so `npm run bench -- --profile smoke` overrides the script's --profile.
const arg = (name, fallback) => {
  const i = argv.lastIndexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const flag = (name) => argv.includes(`--${name}`);

const profileName = arg("profile", "quick");
const profile = profiles[profileName];
if (!profile) {
  console.error(`unknown profile ${profileName}; one of ${Object.keys(profiles).join(", ")}`);
  process.exit(2);
}
const outDir = resolve(arg("out", join(benchDir, "results")));
const SECTIONS = ["micro", "throughput", "tls", "connections", "codecs", "latency", "memory", "cli"];
const only = new Set(arg("only", SECTIONS.join(",")).split(","));
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}; sections: ${SECTIONS.join(", ")}`);
const sizes = arg("sizes") ? arg("sizes").split(",").map(Number) : profile.sizes;
const cpuProf = arg("cpu-prof", process.env.QWH_BENCH_PROFILE);
const execArgv = cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${resolve(cpuProf)}`] : [];

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;
const say = (s) => console.error(`[${elapsed()}] ${s}`);

const result = {
  $schema: "https://qwormhole.dev/schemas/bench/results.schema.json",
  machine: machineInfo(),
  date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  profile: profileName,
  version: JSON.parse(readFileSync(join(repoDir, "impl-ts", "package.json"), "utf8")).version,
  throughput: [],
  latency: [],
  memory: [],
  micro: [],
  unavailable: [],
};
const commit = gitCommit(repoDir);
if (commit) result.commit = commit;
const notes = [];
if (commit && gitDirty(repoDir)) notes.push("working tree had uncommitted changes");
if (cpuProf) notes.push("children ran with --cpu-prof (slower)");
// Other jobs on the machine move every cell: the load average (1, 5, 15 min) goes with the results.
const loadNow = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" / ");
const loadAtStart = loadNow();

// Which rows: every implementation pair the factory can give, and the peers.
const { pairs } = await import("./rows/pairs.mjs");
let rows = arg("rows")
  ? arg("rows")
      .split(",")
      .filter((r) => !Object.hasOwn(CLI_ROWS, r))
  : (profile.rows ?? [...pairNames(), ...BATCH_ROWS, ...PEER_NAMES]);
const available = [];
for (const name of rows) {
  if (!splitPairName(name)) {
    available.push(name);
    continue;
  }
  const problems = pairs[name].probe();
  if (problems.length === 0) available.push(name);
  else for (const kind of ["throughput", "latency"]) result.unavailable.push({ name, kind, reason: problems.join("; ") });
}
say(`profile ${profileName}: ${profile.description}`);
say(
  `rows: ${available.join(", ")}${available.length < rows.length ? ` (unavailable: ${rows.filter((r) => !available.includes(r)).join(", ")})` : ""}`,
);
// Mixed pairs (a TS side with a native one) are measured where the profile says; rows given
// with --rows are measured everywhere.
const isMixed = (n) => {
  const p = splitPairName(n);
  return Boolean(p) && p[0] !== p[1];
};
const mixedIn = (section) =>
  Boolean(arg("rows")) || profile.mixedPairs === "all" || Boolean(profile.mixedPairs?.sections?.includes(section));
// Batch rows are one-way throughput rows over plain TCP only.
const rowsFor = (section) =>
  available.filter((r) => (!isMixed(r) || mixedIn(section)) && (section === "throughput" || !BATCH_ROWS.includes(r)));
rows = available;
const tlsCapable = async (name) => {
  const { loadRow } = await import("./registry.mjs");
  return !(await loadRow(name)).tlsUnsupported;
};

const logTp = (r) => {
  if (r.unavailable) return say(`  ${r.name.padEnd(28)} ${fmtSize(r.sizeBytes).padStart(7)}  unavailable: ${r.unavailable}`);
  const tags = [r.tls ? "TLS" : "", r.connections ? `${r.connections} conns` : "", r.codec ?? ""].filter(Boolean).join(" ");
  say(
    `  ${r.name.padEnd(28)} ${fmtSize(r.sizeBytes).padStart(7)}  ${fmtRate(r.msgsPerSec).padStart(7)} msg/s ${String(Math.round(r.mbPerSec)).padStart(6)} MB/s  [${r.msgsPerSecRuns.map(fmtRate).join(" ")}] ${tags}`,
  );
};
const add = ({ results, unavailable }, key) => {
  result[key].push(...results);
  result.unavailable.push(...unavailable);
};
const common = {
  runs: Number(arg("runs", profile.runs)),
  targetSec: Number(arg("target-sec", profile.targetSec)),
  warmSec: profile.warmSec,
  maxCount: profile.maxCount,
  execArgv,
  log: logTp,
};

// 1. Micro benchmarks first, while no other process of ours runs.
if (only.has("micro")) {
  say("micro benchmarks (tinybench)");
  let tasks = await allTasks({ full: profile.micro.full });
  if (profile.micro.filter) tasks = tasks.filter((t) => profile.micro.filter.some((f) => t.name.startsWith(f)));
  // The codec tasks feed the codec goal: give them more time.
  const codecTasks = tasks.filter((t) => t.group === "codec");
  const a = await runTasks(
    tasks.filter((t) => t.group !== "codec"),
    { time: profile.micro.time, log: printRow },
  );
  const b = await runTasks(codecTasks, { time: profile.micro.time * 4, warmupTime: profile.micro.time, log: printRow });
  const microRows = [...a.rows, ...b.rows];
  const failed = [...a.failed, ...b.failed];
  result.micro.push(...microRows);
  result.unavailable.push(...failed);
}

let tls;
if (only.has("tls") || only.has("latency")) {
  if (profile.tls || profile.latency?.tlsRows?.length) {
    try {
      tls = makeSelfSigned();
    } catch (err) {
      notes.push(`no TLS rows: openssl failed (${err.message.split("\n")[0]})`);
    }
  }
}

if (only.has("throughput")) {
  const mixed = rowsFor("throughput").filter(isMixed);
  const mixedSizes = (!arg("rows") && profile.mixedPairs?.sizes) || sizes;
  // Mixed pairs measured at the same sizes go in the same interleaved rounds as the other rows.
  const together = mixed.length > 0 && mixedSizes.join() === sizes.join();
  say(`one-way throughput, TCP, one connection${together ? " (with the mixed pairs)" : ""}`);
  const plainRows = rows.filter((r) => !isMixed(r));
  add(await measureThroughput({ ...common, rows: together ? [...plainRows, ...mixed] : plainRows, sizes }), "throughput");
  if (mixed.length && !together) {
    say(`one-way throughput, TCP, one connection, mixed pairs (${mixedSizes.map(fmtSize).join(", ")})`);
    add(await measureThroughput({ ...common, rows: mixed, sizes: mixedSizes }), "throughput");
  }
}
if (only.has("cli") && profile.cli) {
  // The C pair (qwh-native processes): measured unless --rows leaves it out.
  const cliRows = Object.keys(CLI_ROWS).filter((r) => !arg("rows") || arg("rows").split(",").includes(r));
  if (cliRows.length) {
    const cliSizes = arg("sizes") ? sizes : profile.cli.sizes;
    say(`one-way throughput, the C CLI pair (qwh-native serve pushes, qwh-native connect receives; ${cliSizes.map(fmtSize).join(", ")})`);
    add(await measureCli({ ...common, rows: cliRows, sizes: cliSizes, maxCount: profile.cli.maxCount }), "throughput");
  }
}
if (only.has("tls") && profile.tls && tls) {
  say("one-way throughput, TLS, one connection");
  const { loadRow } = await import("./registry.mjs");
  const tlsRows = [];
  for (const r of rowsFor("tls")) {
    const reason = (await loadRow(r)).tlsUnsupported;
    if (!reason) tlsRows.push(r);
    else result.unavailable.push({ name: r, kind: "throughput", tls: true, reason });
  }
  const tlsSizes = profile.tls.sizes.filter((s) => !arg("sizes") || sizes.includes(s));
  add(await measureThroughput({ ...common, rows: tlsRows, sizes: tlsSizes, tls }), "throughput");
}
if (only.has("connections") && profile.connections) {
  const c = profile.connections.count;
  say(`aggregate throughput, ${c} connections`);
  add(await measureThroughput({ ...common, rows: rowsFor("connections"), sizes: profile.connections.sizes, connections: c }), "throughput");
}
if (only.has("codecs") && profile.codecs?.length && rows.includes("ts-ts")) {
  const encoded = sampleSizes();
  for (const codec of profile.codecs) {
    if (!encoded[codec]) {
      result.unavailable.push({ name: "ts-ts", kind: "throughput", reason: `codec ${codec} unavailable (cbor-x missing?)` });
      continue;
    }
    say(`ts-ts with the ${codec} codec (${encoded[codec]} B), and Buffers of the same size`);
    // The baseline: the same number of bytes as Buffers (codec "buffer", kept out of the size tables).
    add(await measureThroughput({ ...common, rows: ["ts-ts"], sizes: [encoded[codec]], codec: "buffer" }), "throughput");
    add(await measureThroughput({ ...common, rows: ["ts-ts"], sizes: [encoded[codec]], codec }), "throughput");
  }
}

if (only.has("latency") && profile.latency) {
  const L = profile.latency;
  const logLat = (r) =>
    r.unavailable
      ? say(`  ${r.name.padEnd(28)} unavailable: ${r.unavailable}`)
      : say(`  ${r.name.padEnd(28)} ${r.tls ? "TLS" : "TCP"}  median ${r.medianUs} us  p99 ${r.p99Us} us  p99.9 ${r.p999Us} us`);
  say(`round trip, ${L.size} B, ${L.samples} samples`);
  const latRows = L.rows ? rows.filter((r) => L.rows.includes(r)) : rowsFor("latency");
  add(await measureLatency({ rows: latRows, size: L.size, samples: L.samples, warmup: L.warmup, execArgv, log: logLat }), "latency");
  if (tls && L.tlsRows?.length) {
    const wanted = L.tlsRows === "all" ? latRows : latRows.filter((r) => L.tlsRows.includes(r));
    const capable = [];
    for (const r of wanted) if (await tlsCapable(r)) capable.push(r);
    add(await measureLatency({ rows: capable, size: L.size, samples: L.samples, warmup: L.warmup, tls, execArgv, log: logLat }), "latency");
  }
}

if (only.has("memory")) {
  const logMem = (r) =>
    r.unavailable
      ? say(`  ${r.name.padEnd(28)} unavailable: ${r.unavailable}`)
      : say(
          `  ${r.name.padEnd(28)} ${r.side ?? ""} ${r.connections} conns  RSS ${(r.rssBytes / 1048576).toFixed(1)} MiB` +
            (r.heapPerConnectionBytes !== undefined
              ? `  heap/conn ${Math.round(r.heapPerConnectionBytes)} B  heap+ext/conn ${Math.round(r.bytesPerConnection)} B`
              : `  heap growth ${r.heapGrowthBytes} B`),
        );
  if (profile.idle) {
    say(`idle connections: ${profile.idle.connections}`);
    // Native servers only when their pair is measured here; the reason when the factory could not give them.
    const kinds = profile.idle.kinds.filter((k) => !k.startsWith("native") || rows.includes(`${k}-${k}`));
    for (const k of profile.idle.kinds.filter((k) => !kinds.includes(k))) {
      const u = result.unavailable.find((x) => x.name === `${k}-${k}`);
      if (u) result.unavailable.push({ name: `${k}-server-idle`, kind: "memory", reason: u.reason });
    }
    add(await measureIdle({ kinds, connections: profile.idle.connections, log: logMem }), "memory");
  }
  if (profile.sustained) {
    say(`sustained run: ${profile.sustained.seconds} s`);
    add(await measureSustained({ ...profile.sustained, log: logMem }), "memory");
  }
}

result.durationSec = Math.round((Date.now() - started) / 100) / 10;
notes.push(`load average (1 / 5 / 15 min) ${loadAtStart} at the start, ${loadNow()} at the end, on ${os.cpus().length} CPUs`);
if (notes.length) result.notes = notes.join("; ");
result.goals = evaluateGoals(result);

// Output files.
mkdirSync(outDir, { recursive: true });
const stem = `${result.date.slice(0, 10)}-${profileName}`;
const svgs = plots(result);
const files = {};
const titles = {
  "throughput.svg": "throughput vs size (msg/s)",
  "throughput-mbps.svg": "throughput vs size (MB/s)",
  "throughput-tls.svg": "TLS throughput vs size (msg/s)",
  "throughput-tls-mbps.svg": "TLS throughput vs size (MB/s)",
  "latency.svg": "round-trip distribution",
};
for (const [suffix, svg] of Object.entries(svgs)) {
  writeFileSync(join(outDir, `${stem}-${suffix}`), svg);
  files[titles[suffix] ?? suffix] = `${stem}-${suffix}`;
}
const md = markdown(result, files);
writeFileSync(join(outDir, `${stem}.json`), JSON.stringify(result, null, 2) + "\n");
writeFileSync(join(outDir, `${stem}.md`), md + "\n");
if (!flag("no-latest")) copyFileSync(join(outDir, `${stem}.json`), join(outDir, "latest.json"));

if (flag("docs")) updateDocs(md, stem, Object.values(files));

const errors = validateResults(result);
console.log("\n" + md);
say(
  `wrote ${relative(process.cwd(), join(outDir, stem))}.{json,md} and ${Object.keys(svgs).length} plots${flag("no-latest") ? "" : " (and latest.json)"}`,
);
console.log(goalsSummary(result.goals));
if (errors) {
  console.error(`results file does NOT validate against schemas/bench/results.schema.json:\n  ${errors.join("\n  ")}`);
  process.exit(1);
}
say("results file validates against schemas/bench/results.schema.json");

function goalsSummary(goals) {
  const n = (s) => goals.filter((g) => g.status === s).length;
  return `goals: ${n("met")} met, ${n("not met")} not met, ${n("not measured")} not measured`;
}

/** Replaces the generated part of docs/benchmarks.md (between the markers) with this run. */
function updateDocs(md, stem, svgFiles) {
  const path = join(repoDir, "docs", "benchmarks.md");
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return say("docs/benchmarks.md not found; not updated");
  }
  const start = "<!-- results:start -->";
  const end = "<!-- results:end -->";
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return say("docs/benchmarks.md has no results markers; not updated");
  const rel = relative(dirname(path), outDir).split("\\").join("/");
  const body = md
    .replace(/^# .*\n/, `Results of \`${stem}\` ([JSON](${rel}/${stem}.json), [Markdown](${rel}/${stem}.md)).\n`)
    .replace(/^### Plots[\s\S]*$/m, "")
    .replace(/^### /gm, "#### ");
  const imgs = svgFiles.map((f) => `![${f}](${rel}/${f})`).join("\n\n");
  writeFileSync(path, `${text.slice(0, a + start.length)}\n${body}\n${imgs}\n${text.slice(b)}`);
  say("docs/benchmarks.md updated");
}

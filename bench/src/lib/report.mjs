// The Markdown report of a run and its SVG plots.
import { PEER_NAMES } from "../registry.mjs";
import { finder } from "./goals.mjs";
import { fmtBytes, fmtRate, fmtSize, round } from "./stats.mjs";
import { lineChart } from "./svg.mjs";

/** Framed messaging peers (net-raw is the unframed ceiling, not a peer to beat). */
const FRAMED_PEERS = PEER_NAMES.filter((n) => n !== "net-raw");
const isPeer = (n) => PEER_NAMES.includes(n);

function namesOf(rows) {
  const names = [...new Set(rows.map((r) => r.name))];
  const impls = names.filter((n) => !isPeer(n));
  return [...impls, ...PEER_NAMES.filter((n) => names.includes(n))];
}

function throughputTable(rows, title) {
  if (rows.length === 0) return "";
  const names = namesOf(rows);
  const impls = names.filter((n) => !isPeer(n));
  const sizes = [...new Set(rows.map((r) => r.sizeBytes))].sort((a, b) => a - b);
  const cell = (n, s) => rows.find((r) => r.name === n && r.sizeBytes === s);
  const best = new Map(
    sizes.map((s) => [
      s,
      FRAMED_PEERS.map((n) => cell(n, s))
        .filter(Boolean)
        .sort((a, b) => b.msgsPerSec - a.msgsPerSec)[0],
    ]),
  );
  const head = ["row", ...sizes.map(fmtSize)];
  const sep = `|---|${sizes.map(() => "---:").join("|")}|`;
  const out = [
    `### ${title}`,
    "",
    "Messages/s (payload MB/s); in bold, the best framed peer of the size.",
    "",
    `| ${head.join(" | ")} |`,
    sep,
  ];
  for (const n of names) {
    const cells = sizes.map((s) => {
      const c = cell(n, s);
      if (!c) return "-";
      const text = `${fmtRate(c.msgsPerSec)} (${Math.round(c.mbPerSec)} MB/s)`;
      return best.get(s) === c ? `**${text}**` : text;
    });
    out.push(`| ${n} | ${cells.join(" | ")} |`);
  }
  if (impls.length) {
    out.push(
      "",
      "Ratios: messages/s to the best framed peer of the size / MB/s to net-raw (the unframed stream).",
      "",
      `| row | ${sizes.map(fmtSize).join(" | ")} |`,
      sep,
    );
    for (const i of impls) {
      const cells = sizes.map((s) => {
        const c = cell(i, s);
        const b = best.get(s);
        const raw = cell("net-raw", s);
        if (!c) return "-";
        return `${b ? `${(c.msgsPerSec / b.msgsPerSec).toFixed(2)}x ${b.name}` : "-"} / ${raw ? `${(c.mbPerSec / raw.mbPerSec).toFixed(2)}x` : "-"}`;
      });
      out.push(`| ${i} | ${cells.join(" | ")} |`);
    }
  }
  return out.join("\n") + "\n";
}

/** Each implementation pair's messages/s over ts-ts's at the same size, TCP and TLS (native goals). */
function vsTsTable(plain, tls) {
  const rows = [...new Set([...plain, ...tls].map((r) => r.name))].filter(
    (n) => n !== "ts-ts" && /^(ts|native-[a-z]+)-(ts|native-[a-z]+)$/.test(n),
  );
  if (rows.length === 0) return "";
  const sizes = [...new Set([...plain, ...tls].filter((r) => r.name === "ts-ts").map((r) => r.sizeBytes))].sort((a, b) => a - b);
  if (sizes.length === 0) return "";
  const cell = (set, name, size) => {
    const a = set.find((r) => r.name === name && r.sizeBytes === size);
    const b = set.find((r) => r.name === "ts-ts" && r.sizeBytes === size);
    if (!a || !b) return "-";
    const x = a.msgsPerSec / b.msgsPerSec;
    return x < 1 ? `**${x.toFixed(2)}x**` : `${x.toFixed(2)}x`;
  };
  const out = ["### Implementation pairs vs TS-to-TS (messages/s ratio, same run; in bold below 1.0x)", ""];
  out.push(`| row | ${sizes.map((s) => `${fmtSize(s)} TCP`).join(" | ")} | ${sizes.map((s) => `${fmtSize(s)} TLS`).join(" | ")} |`);
  out.push(`|---|${sizes.map(() => "---:").join("|")}|${sizes.map(() => "---:").join("|")}|`);
  for (const n of rows)
    out.push(`| ${n} | ${sizes.map((s) => cell(plain, n, s)).join(" | ")} | ${sizes.map((s) => cell(tls, n, s)).join(" | ")} |`);
  out.push("");
  return out.join("\n");
}

export function markdown(result, files = {}) {
  const m = result.machine;
  const out = [];
  out.push(`# QWormhole benchmarks: ${result.profile} profile, ${result.date.slice(0, 10)}`);
  out.push("");
  out.push(
    `Machine: ${m.cpus} x ${m.model}, ${fmtBytes(m.memoryBytes ?? 0)}, ${m.os}, Node ${m.node}. Commit ${result.commit ?? "unknown"}${result.notes ? `. ${result.notes}` : ""}. Run took ${Math.round(result.durationSec ?? 0)} s.`,
  );
  out.push("");
  out.push(
    "Cells: messages/s (payload MB/s), median of the runs; every message counted and checked at the receiver. Ratios are to the best framed peer of the row (net-naive, net-batched, ws, zeromq) and, in MB/s, to the unframed stream (net-raw). Row names are `<client>-<server>`; the client sends.",
  );
  out.push("");
  const plain = result.throughput.filter((r) => !r.tls && (r.connections ?? 1) === 1 && !r.codec);
  const tls = result.throughput.filter((r) => r.tls && (r.connections ?? 1) === 1 && !r.codec);
  const conns = [...new Set(result.throughput.filter((r) => (r.connections ?? 1) > 1).map((r) => r.connections))];
  out.push(throughputTable(plain, "One-way throughput, one connection, TCP"));
  if (tls.length) out.push(throughputTable(tls, "One-way throughput, one connection, TLS"));
  out.push(vsTsTable(plain, tls));
  for (const c of conns) {
    out.push(
      throughputTable(
        result.throughput.filter((r) => r.connections === c && !r.tls && !r.codec),
        `Aggregate throughput, ${c} concurrent connections, TCP`,
      ),
    );
  }
  const codecRows = result.throughput.filter((r) => r.codec && r.codec !== "buffer");
  if (codecRows.length) {
    const { tp, micro } = finder(result);
    out.push(
      "### Codecs (ts-ts)",
      "",
      "| codec | size | msg/s | same size as bytes | encode alone (median) | decode alone (median) |",
      "|---|---:|---:|---:|---:|---:|",
    );
    for (const r of codecRows) {
      const base = tp("ts-ts", r.sizeBytes, { codec: "buffer" }) ?? tp("ts-ts", r.sizeBytes);
      const enc = micro("codec", `${r.codec} encode`);
      const dec = micro("codec", `${r.codec} decode`);
      const ns = (m) => (m ? `${round(m.medianNs ?? m.meanNs)} ns` : "-");
      out.push(
        `| ${r.codec}${r.tls ? " (TLS)" : ""} | ${r.sizeBytes} B | ${fmtRate(r.msgsPerSec)} | ${base ? fmtRate(base.msgsPerSec) : "-"} | ${ns(enc)} | ${ns(dec)} |`,
      );
    }
    out.push("");
  }
  if (result.latency.length) {
    const raw = (tls) => result.latency.find((r) => r.name === "net-raw" && Boolean(r.tls) === tls);
    out.push(`### Round trip, ${result.latency[0].sizeBytes ?? 64} B ping-pong, one in flight (microseconds)`, "");
    out.push(
      "| row | TLS | median | p90 | p99 | p99.9 | max | samples | median / net-raw | p99 / net-raw |",
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const r of result.latency) {
      const b = raw(Boolean(r.tls));
      out.push(
        `| ${r.name} | ${r.tls ? "yes" : "no"} | ${r.medianUs} | ${r.p90Us ?? "-"} | ${r.p99Us} | ${r.p999Us} | ${r.maxUs ?? "-"} | ${r.samples} | ${b ? `${(r.medianUs / b.medianUs).toFixed(2)}x` : "-"} | ${b ? `${(r.p99Us / b.p99Us).toFixed(2)}x` : "-"} |`,
      );
    }
    out.push("");
  }
  if (result.memory?.length) {
    out.push(
      "### Memory",
      "",
      "| row | side | connections | RSS | peak RSS | heap / conn | heap+external / conn | RSS / conn | growth (heap, RSS) |",
      "|---|---|---:|---:|---:|---:|---:|---:|---|",
    );
    for (const r of result.memory) {
      const growth =
        r.heapGrowthBytes !== undefined
          ? `${fmtBytes(r.heapGrowthBytes)}, ${fmtBytes(r.rssGrowthBytes)} over ${r.durationSec} s (${fmtRate(r.messages)} msgs)`
          : "-";
      const pc = (v) => (v === undefined ? "-" : fmtBytes(v));
      out.push(
        `| ${r.name} | ${r.side ?? "-"} | ${r.connections} | ${fmtBytes(r.rssBytes)} | ${pc(r.peakRssBytes)} | ${pc(r.heapPerConnectionBytes)} | ${pc(r.bytesPerConnection)} | ${pc(r.rssPerConnectionBytes)} | ${growth} |`,
      );
    }
    out.push("");
    const noted = result.memory.filter((r) => r.notes);
    for (const r of noted) out.push(`- ${r.name}${r.side ? ` (${r.side})` : ""}: ${r.notes}`);
    if (noted.length) out.push("");
  }
  if (result.micro?.length) {
    out.push(
      "### Micro benchmarks (tinybench, one process)",
      "",
      "| group | task | mean / op | median / op | mean / message | messages/s (mean) | MB/s (mean) |",
      "|---|---|---:|---:|---:|---:|---:|",
    );
    for (const r of result.micro) {
      const ns = (v) =>
        v === undefined ? "-" : v >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : v >= 1e3 ? `${(v / 1e3).toFixed(2)} us` : `${v.toFixed(1)} ns`;
      out.push(
        `| ${r.group} | ${r.name} | ${ns(r.meanNs)} | ${ns(r.medianNs)} | ${r.messagesPerOp ? ns(r.meanNs / r.messagesPerOp) : "-"} | ${r.messagesPerOp ? fmtRate(r.opsPerSec * r.messagesPerOp) : fmtRate(r.opsPerSec)} | ${r.mbPerSec ?? "-"} |`,
      );
    }
    out.push("");
  }
  if (result.goals?.length) out.push(goalsTable(result.goals));
  if (result.unavailable?.length) {
    out.push("### Not measured", "", "| row | kind | detail | reason |", "|---|---|---|---|");
    for (const u of result.unavailable) {
      const detail =
        [u.sizeBytes !== undefined ? fmtSize(u.sizeBytes) : null, u.tls ? "TLS" : null, u.connections ? `${u.connections} conns` : null]
          .filter(Boolean)
          .join(", ") || "-";
      out.push(`| ${u.name} | ${u.kind} | ${detail} | ${u.reason.replace(/\|/g, "\\|")} |`);
    }
    out.push("");
  }
  if (Object.keys(files).length) {
    out.push("### Plots", "");
    for (const [title, file] of Object.entries(files)) out.push(`- [${title}](${file})`);
    out.push("");
  }
  return out.join("\n");
}

export function goalsTable(goals) {
  const out = ["### Goals", "", "| goal | status | measured | target | detail |", "|---|---|---:|---:|---|"];
  for (const g of goals) {
    const st = g.status === "met" ? "met" : g.status === "not met" ? "**not met**" : "not measured";
    out.push(
      `| ${g.goal} | ${st} | ${g.measured ?? "-"} | ${g.comparison ? `${g.comparison} ${g.target}` : "-"} | ${(g.detail ?? "").replace(/\|/g, "\\|")} |`,
    );
  }
  return out.join("\n") + "\n";
}

const sizeTicks = (rows) => [...new Set(rows.map((r) => r.sizeBytes))].sort((a, b) => a - b);

/** { fileSuffix: svgText } */
export function plots(result) {
  const out = {};
  const sub = `${result.machine.cpus} x ${result.machine.model}, Node ${result.machine.node}, ${result.date.slice(0, 10)}, ${result.profile} profile`;
  const groups = [
    ["throughput", "One-way throughput vs message size (TCP, one connection)", (r) => !r.tls && (r.connections ?? 1) === 1 && !r.codec],
    ["throughput-tls", "One-way throughput vs message size (TLS, one connection)", (r) => r.tls && (r.connections ?? 1) === 1 && !r.codec],
  ];
  for (const [key, title, pred] of groups) {
    const rows = result.throughput.filter(pred);
    if (rows.length === 0) continue;
    const names = namesOf(rows);
    const series = (field) =>
      names.map((n) => ({
        name: n,
        dashed: isPeer(n),
        points: rows
          .filter((r) => r.name === n)
          .sort((a, b) => a.sizeBytes - b.sizeBytes)
          .map((r) => [r.sizeBytes, r[field]]),
      }));
    out[`${key}.svg`] = lineChart({
      title,
      subtitle: `${sub}; dashed: peers`,
      x: { label: "message size (log)", log: true, ticks: sizeTicks(rows), format: fmtSize },
      y: { label: "messages per second (log)", log: true, format: fmtRate },
      series: series("msgsPerSec"),
    });
    out[`${key}-mbps.svg`] = lineChart({
      title: title.replace("throughput", "throughput (MB/s)"),
      subtitle: `${sub}; dashed: peers`,
      x: { label: "message size (log)", log: true, ticks: sizeTicks(rows), format: fmtSize },
      y: { label: "payload MB/s (log)", log: true, format: (v) => String(v) },
      series: series("mbPerSec"),
    });
  }
  if (result.latency.length) {
    const series = result.latency.map((r) => ({
      name: `${r.name}${r.tls ? " (TLS)" : ""}`,
      colorKey: r.name,
      dash: r.tls ? (isPeer(r.name) ? "6 2 2 2" : "2 3") : isPeer(r.name) ? "6 4" : null,
      noMarkers: true,
      points: r.cdfUs.filter(([f]) => f <= 0.999).map(([f, us]) => [us, f * 100]),
    }));
    out["latency.svg"] = lineChart({
      title: `Round-trip distribution, ${result.latency[0].sizeBytes ?? 64} B ping-pong (CDF up to p99.9)`,
      subtitle: `${sub}; dashed: peers; dotted: TLS`,
      x: { label: "round trip, microseconds (log)", log: true, format: (v) => String(v) },
      y: { label: "percent of round trips at or below", log: false, min: 0, max: 100, format: (v) => `${v}%` },
      series,
    });
  }
  return out;
}

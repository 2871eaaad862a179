// Checks spec/qwh-1.md with the extractor, that the generated files are current, that every
// requirement id fixed by the design brief (section 9) and every registry code (section 7) exists,
// and that the extractor's checks catch what they are meant to catch.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseSpec, checkMarkdown, generate, staleOutputs, findKeywords, levelOf } from "../tools/extract-requirements.mjs";

const specDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const markdown = readFileSync(path.join(specDir, "qwh-1.md"), "utf8");
const requirementsJson = JSON.parse(readFileSync(path.join(specDir, "requirements.json"), "utf8"));
const errorCodesJson = JSON.parse(readFileSync(path.join(specDir, "error-codes.json"), "utf8"));

const range = (area, n) => Array.from({ length: n }, (_, i) => `QWH-${area}-${String(i + 1).padStart(3, "0")}`);

// Brief section 9: ids that vectors and code already cite, with the role and level given there.
const FIXED = {
  ...Object.fromEntries(range("FRAME", 11).map((id) => [id, { role: "both" }])),
  ...Object.fromEntries(range("RAW", 5).map((id) => [id, {}])),
  ...Object.fromEntries(range("HELLO", 15).map((id) => [id, {}])),
  ...Object.fromEntries(range("ACCEPT", 9).map((id) => [id, {}])),
  ...Object.fromEntries(range("NEG", 8).map((id) => [id, { role: "server" }])),
  ...Object.fromEntries(range("STATE", 4).map((id) => [id, {}])),
  ...Object.fromEntries(range("TIME", 4).map((id) => [id, {}])),
  ...Object.fromEntries(range("LEGACY", 6).map((id) => [id, {}])),
  ...Object.fromEntries(range("BARE", 3).map((id) => [id, {}])),
  ...Object.fromEntries(range("CTRL", 7).map((id) => [id, { role: "both" }])),
  ...Object.fromEntries(range("PING", 3).map((id) => [id, { role: "both" }])),
  ...Object.fromEntries(range("CLOSE", 5).map((id) => [id, { role: "both" }])),
  ...Object.fromEntries(range("SIG", 9).map((id) => [id, {}])),
};
// Levels and roles the brief states explicitly (section 9); where it gives none, the item is free.
const BRIEF_LEVELS = {
  MUST: [
    ...["001", "002", "003", "004", "005", "006", "008", "009", "010", "011"].map((n) => `QWH-FRAME-${n}`),
    ...["001", "002", "003", "004", "005", "009", "010", "011", "012", "013", "014", "015"].map((n) => `QWH-HELLO-${n}`),
    ...["001", "002", "004", "005", "006", "007", "008", "009"].map((n) => `QWH-ACCEPT-${n}`),
    ...["001", "002", "003", "005", "007"].map((n) => `QWH-NEG-${n}`),
    "QWH-STATE-003",
    "QWH-STATE-004",
    "QWH-TIME-001",
    "QWH-TIME-002",
    "QWH-TIME-004",
    "QWH-LEGACY-001",
    "QWH-LEGACY-002",
    "QWH-LEGACY-004",
    "QWH-LEGACY-005",
    "QWH-BARE-002",
    "QWH-BARE-003",
    ...["001", "002", "003", "004", "005", "006", "007"].map((n) => `QWH-CTRL-${n}`),
    "QWH-PING-001",
    "QWH-PING-002",
    "QWH-CLOSE-001",
    "QWH-CLOSE-003",
    "QWH-CLOSE-004",
    "QWH-CLOSE-005",
    ...["001", "002", "003", "004", "005", "006", "007", "008", "009"].map((n) => `QWH-SIG-${n}`),
  ],
  "MUST NOT": [
    "QWH-FRAME-007",
    "QWH-ACCEPT-003",
    "QWH-NEG-004",
    "QWH-STATE-001",
    "QWH-STATE-002",
    "QWH-LEGACY-003",
    "QWH-LEGACY-006",
    "QWH-CLOSE-002",
  ],
  SHOULD: ["QWH-TIME-003"],
};
const BRIEF_ROLES = {
  client: [
    "QWH-HELLO-001",
    "QWH-ACCEPT-006",
    "QWH-ACCEPT-007",
    "QWH-ACCEPT-008",
    "QWH-ACCEPT-009",
    "QWH-STATE-001",
    "QWH-TIME-002",
    "QWH-LEGACY-005",
  ],
  server: [
    "QWH-HELLO-009",
    "QWH-HELLO-011",
    "QWH-HELLO-012",
    "QWH-ACCEPT-001",
    "QWH-ACCEPT-003",
    "QWH-ACCEPT-005",
    "QWH-STATE-002",
    "QWH-STATE-003",
    "QWH-TIME-001",
    "QWH-LEGACY-001",
    "QWH-LEGACY-002",
    "QWH-LEGACY-003",
    "QWH-LEGACY-004",
    "QWH-BARE-002",
    "QWH-BARE-003",
    "QWH-SIG-003",
    "QWH-SIG-004",
    "QWH-SIG-005",
    "QWH-SIG-006",
    "QWH-SIG-008",
  ],
  both: [
    ...["002", "003", "004", "005", "006", "007", "008", "010", "013", "014", "015"].map((n) => `QWH-HELLO-${n}`),
    "QWH-ACCEPT-002",
    "QWH-ACCEPT-004",
    "QWH-STATE-004",
    "QWH-TIME-003",
    "QWH-TIME-004",
    "QWH-LEGACY-006",
    "QWH-BARE-001",
    "QWH-SIG-001",
    "QWH-SIG-002",
    "QWH-SIG-007",
    "QWH-SIG-009",
  ],
};
for (const [level, ids] of Object.entries(BRIEF_LEVELS)) for (const id of ids) FIXED[id] = { ...FIXED[id], level };
for (const [role, ids] of Object.entries(BRIEF_ROLES)) for (const id of ids) FIXED[id] = { ...FIXED[id], role };

// Brief section 7: the error-code registry.
const WIRE = [
  "E_FRAME_TOO_LARGE",
  "E_HANDSHAKE_TOO_LARGE",
  "E_INVALID_HANDSHAKE",
  "E_UNSUPPORTED_VERSION",
  "E_VERSION_MISMATCH",
  "E_FRAMING_MISMATCH",
  "E_LEGACY_NOT_ALLOWED",
  "E_HANDSHAKE_TIMEOUT",
  "E_INVALID_HANDSHAKE_SIGNATURE",
  "E_HANDSHAKE_EXPIRED",
  "E_HANDSHAKE_REPLAY",
  "E_SIGNATURE_REQUIRED",
  "E_POLICY_REJECTED",
  "E_MAX_CLIENTS",
  "E_MAX_PENDING_HANDSHAKES",
  "E_TLS_PIN_MISMATCH",
  "E_PROTOCOL_ERROR",
  "E_INVALID_CONTROL_FRAME",
  "E_HEARTBEAT_TIMEOUT",
  "E_IDLE_TIMEOUT",
  "E_RATE_LIMITED",
  "E_BACKPRESSURE",
  "E_NORMAL_CLOSE",
  "E_GOING_AWAY",
  "E_INTERNAL",
];
const LOCAL = [
  "E_TRUNCATED_FRAME",
  "E_CONNECT_TIMEOUT",
  "E_NOT_CONNECTED",
  "E_CLOSED",
  "E_QUEUE_FULL",
  "E_DRAIN_TIMEOUT",
  "E_ABORTED",
  "E_INTERFACE_NOT_FOUND",
  "E_NATIVE_UNAVAILABLE",
  "E_CODEC",
  "E_CODEC_UNAVAILABLE",
  "E_INVALID_OPTION",
  "E_TLS_HANDSHAKE",
  "E_SOCKET",
  "E_ATTEMPTS_EXHAUSTED",
];
const TERMINAL = [
  "E_UNSUPPORTED_VERSION",
  "E_VERSION_MISMATCH",
  "E_FRAMING_MISMATCH",
  "E_LEGACY_NOT_ALLOWED",
  "E_INVALID_HANDSHAKE_SIGNATURE",
  "E_SIGNATURE_REQUIRED",
  "E_POLICY_REJECTED",
  "E_TLS_PIN_MISMATCH",
  "E_INVALID_HANDSHAKE",
];

const BOILERPLATE =
  'The key words "MUST", "MUST NOT", "REQUIRED", "SHALL", "SHALL NOT", "SHOULD", "SHOULD NOT", "RECOMMENDED", "NOT RECOMMENDED", "MAY", and "OPTIONAL" in this document are to be interpreted as described in BCP 14 [RFC2119] [RFC8174] when, and only when, they appear in all capitals, as shown here.';

const kinds = (md) => checkMarkdown(md).map((p) => p.kind);

describe("spec/qwh-1.md", () => {
  const parsed = parseSpec(markdown);

  it("passes every extractor check", () => {
    expect(parsed.problems.map((p) => `${p.kind}: ${p.message}`)).toEqual([]);
    expect(generate(specDir).problems).toEqual([]);
  });

  it("has requirements.json and error-codes.json up to date", () => {
    expect(staleOutputs(specDir).map((f) => path.basename(f))).toEqual([]);
  });

  it("has at least 100 requirements, with unique well-formed ids", () => {
    expect(requirementsJson.spec).toBe("QWH/1");
    expect(requirementsJson.version).toBe("1.1");
    expect(requirementsJson.revision).toBe(parsed.revision);
    expect(parsed.revision).toBeGreaterThanOrEqual(2);
    expect(requirementsJson.generatedFrom).toBe("spec/qwh-1.md");
    expect(requirementsJson.count).toBe(requirementsJson.requirements.length);
    expect(requirementsJson.count).toBeGreaterThanOrEqual(100);
    const ids = requirementsJson.requirements.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^QWH-[A-Z]+-\d{3}$/);
  });

  it("gives every requirement a level, role, section, text and version", () => {
    for (const r of requirementsJson.requirements) {
      expect(["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY"]).toContain(r.level);
      expect(["client", "server", "both"]).toContain(r.role);
      expect(r.section).toMatch(/^\d+(\.\d+)* \S/);
      expect(r.text.length).toBeGreaterThan(20);
      expect(r.text).not.toMatch(/\*|`/);
      expect(r.since).toMatch(/^\d+\.\d+$/);
      expect(r.revision >= 1 && r.revision <= requirementsJson.revision).toBe(true);
      // the text's strongest keyword is the level
      expect(levelOf(findKeywords(r.text))).toBe(r.level);
    }
  });

  it("contains every requirement id fixed by the design brief, with the brief's role and level", () => {
    const byId = new Map(requirementsJson.requirements.map((r) => [r.id, r]));
    const missing = Object.keys(FIXED).filter((id) => !byId.has(id));
    expect(missing).toEqual([]);
    for (const [id, want] of Object.entries(FIXED)) {
      const got = byId.get(id);
      if (want.role) expect(`${id} ${got.role}`).toBe(`${id} ${want.role}`);
      if (want.level) expect(`${id} ${got.level}`).toBe(`${id} ${want.level}`);
    }
  });

  it("references only requirement ids that exist", () => {
    const live = new Set(requirementsJson.requirements.map((r) => r.id));
    const referenced = [...markdown.matchAll(/QWH-[A-Z]+-\d{3}/g)].map((m) => m[0]);
    expect([...new Set(referenced.filter((id) => !live.has(id)))]).toEqual([]);
  });

  it("registers every error code of the brief with its scope and terminal flag", () => {
    const byCode = new Map(errorCodesJson.codes.map((c) => [c.code, c]));
    expect(errorCodesJson.codes.length).toBe(byCode.size);
    for (const code of WIRE) expect(`${code} ${byCode.get(code)?.scope}`).toBe(`${code} wire`);
    for (const code of LOCAL) expect(`${code} ${byCode.get(code)?.scope}`).toBe(`${code} local`);
    for (const c of errorCodesJson.codes) {
      expect(c.code).toMatch(/^E_[A-Z0-9_]{1,62}$/);
      expect(typeof c.terminal).toBe("boolean");
      expect(c.terminal).toBe(TERMINAL.includes(c.code));
      expect(c.description.length).toBeGreaterThan(10);
    }
  });

  it("mentions every registered code in at least one requirement or registry row", () => {
    for (const c of errorCodesJson.codes) expect(markdown.includes(c.code)).toBe(true);
  });

  it("has a retired-ids table that is empty in 1.0", () => {
    expect(parsed.retired).toEqual([]);
    expect(markdown).toMatch(/## Appendix B\. Retired requirement ids/);
  });
});

describe("extractor checks (synthetic documents)", () => {
  const doc = (...body) =>
    [
      "# T",
      "",
      "| | |",
      "|---|---|",
      "| Document revision | 3 (errata) |",
      "",
      "## 2 Conventions",
      "",
      BOILERPLATE,
      "",
      "## 4 Framing",
      "",
      ...body,
      "",
    ].join("\n");
  const ok1 = "- **[QWH-FRAME-001]** *(both)* A frame MUST start with a header.";
  const ok2 = "- **[QWH-FRAME-002]** *(server)* A server SHOULD NOT do that.";

  it("accepts a well-formed document and extracts level, role, section and text", () => {
    const md = doc(
      ok1,
      ok2,
      "- **[QWH-FRAME-003]** *(client)* A client MAY send `x` **now**. *(since 1.1, revision 3)*",
      "- **[QWH-FRAME-004]** *(server)* A server MUST do it. *(revision 2)*",
    );
    expect(kinds(md)).toEqual([]);
    const { requirements, revision } = parseSpec(md);
    expect(revision).toBe(3);
    expect(
      requirements.map(({ id, level, role, section, text, since, revision }) => ({ id, level, role, section, text, since, revision })),
    ).toEqual([
      {
        id: "QWH-FRAME-001",
        level: "MUST",
        role: "both",
        section: "4 Framing",
        text: "A frame MUST start with a header.",
        since: "1.0",
        revision: 1,
      },
      {
        id: "QWH-FRAME-002",
        level: "SHOULD NOT",
        role: "server",
        section: "4 Framing",
        text: "A server SHOULD NOT do that.",
        since: "1.0",
        revision: 1,
      },
      {
        id: "QWH-FRAME-003",
        level: "MAY",
        role: "client",
        section: "4 Framing",
        text: "A client MAY send x now.",
        since: "1.1",
        revision: 3,
      },
      { id: "QWH-FRAME-004", level: "MUST", role: "server", section: "4 Framing", text: "A server MUST do it.", since: "1.0", revision: 2 },
    ]);
  });

  it("detects a revision marker above the document's revision, and a later version without a revision", () => {
    expect(kinds(doc("- **[QWH-FRAME-001]** *(both)* A frame MUST start with a header. *(revision 4)*"))).toEqual(["bad-revision"]);
    expect(kinds(doc("- **[QWH-FRAME-001]** *(both)* A frame MUST start with a header. *(since 1.1)*"))).toEqual(["bad-revision"]);
    expect(kinds(doc(ok1).replace("| 3 (errata) |", "| three |"))).toEqual(["bad-revision"]);
    expect(parseSpec(doc(ok1).replace("| Document revision | 3 (errata) |", "| Other | x |")).revision).toBe(1);
    const versioned = parseSpec(
      doc(ok1).replace("| Document revision | 3 (errata) |", "| Protocol version | 1.1 (resume) |\n| Document revision | 3 (errata) |"),
    );
    expect([versioned.version, versioned.revision, versioned.requirements[0].since]).toEqual(["1.1", 3, "1.0"]);
    expect(parseSpec(doc(ok1)).version).toBe("1.0");
  });

  it("maps REQUIRED, SHALL, RECOMMENDED, OPTIONAL and picks the strongest keyword", () => {
    const md = doc(
      "- **[QWH-X-001]** *(both)* It is REQUIRED.",
      "- **[QWH-X-002]** *(both)* It SHALL NOT happen.",
      "- **[QWH-X-003]** *(both)* It is NOT RECOMMENDED.",
      "- **[QWH-X-004]** *(both)* It is RECOMMENDED.",
      "- **[QWH-X-005]** *(both)* It is OPTIONAL.",
      "- **[QWH-X-006]** *(both)* A side MAY do this and MUST NOT do that.",
      "- **[QWH-X-007]** *(both)* A side SHOULD do this and MUST do that.",
    );
    expect(kinds(md)).toEqual([]);
    expect(parseSpec(md).requirements.map((r) => r.level)).toEqual(["MUST", "MUST NOT", "SHOULD NOT", "SHOULD", "MAY", "MUST NOT", "MUST"]);
  });

  it("detects a duplicate id", () => {
    expect(kinds(doc(ok1, ok1))).toEqual(["duplicate-id"]);
  });

  it("detects a keyword sentence without an id", () => {
    expect(kinds(doc(ok1, "", "A receiver MUST drop the frame."))).toEqual(["keyword-outside-requirement"]);
    expect(kinds(doc("- A receiver SHOULD drop the frame."))).toEqual(["keyword-outside-requirement"]);
    expect(kinds(doc("### 4.1 What MAY happen"))).toEqual(["keyword-outside-requirement"]);
  });

  it("detects two sentences with keywords in one item", () => {
    expect(kinds(doc("- **[QWH-FRAME-001]** *(both)* A frame MUST start with a header. The header MUST be 4 bytes."))).toEqual([
      "multiple-keyword-sentences",
    ]);
  });

  it("allows a second sentence without a keyword", () => {
    expect(kinds(doc("- **[QWH-FRAME-001]** *(both)* A frame MUST start with a header. This keeps parsing simple."))).toEqual([]);
  });

  it("detects a requirement item without a keyword", () => {
    expect(kinds(doc("- **[QWH-FRAME-001]** *(both)* A frame starts with a header."))).toEqual(["no-keyword"]);
  });

  it("detects malformed requirement items", () => {
    expect(kinds(doc("- **[QWH-FRAME-1]** *(both)* A frame MUST start with a header."))).toEqual(["malformed-item"]);
    expect(kinds(doc("- **[QWH-FRAME-001]** *(peer)* A frame MUST start with a header."))).toEqual(["malformed-item"]);
    expect(kinds(doc("- **[QWH-FRAME-001]** A frame MUST start with a header."))).toEqual(["malformed-item"]);
    expect(kinds(doc("- [QWH-FRAME-001] *(both)* A frame MUST start with a header."))).toEqual(["malformed-item"]);
  });

  it("does not flag lower-case keywords, code, tables or the BCP 14 boilerplate", () => {
    const md = doc(
      ok1,
      "",
      "A receiver must not, should not and may not do this; it is required and optional in prose.",
      "Inline code such as `MUST` is not prose.",
      "",
      "| member | presence | note |",
      "|---|---|---|",
      "| type | REQUIRED | a table cell MAY use capitals |",
      "",
      "```",
      "a fenced block MUST NOT be checked",
      "```",
    );
    expect(kinds(md)).toEqual([]);
    expect(findKeywords("must should may required optional shall")).toEqual([]);
  });

  it("detects a retired id that is still live", () => {
    const md = doc(
      ok1,
      "",
      "## Appendix B. Retired requirement ids",
      "",
      "| Id | Retired in | Replaced by | Reason |",
      "|---|---|---|---|",
      "| QWH-FRAME-001 | 1.1 | - | merged |",
    );
    expect(kinds(md)).toEqual(["retired-live"]);
    const md2 = md.replace("| QWH-FRAME-001 |", "| QWH-FRAME-099 |");
    expect(kinds(md2)).toEqual([]);
    expect(parseSpec(md2).retired.map((r) => r.id)).toEqual(["QWH-FRAME-099"]);
  });

  it("parses the error-code registry table and rejects a malformed one", () => {
    const table = (rows) => doc("### 14.3 Error-code registry", "", "| Code | Scope | Terminal | Meaning |", "|---|---|---|---|", ...rows);
    const good = parseSpec(table(["| `E_A` | wire | yes | Something. |", "| `E_B` | local-only | no | Other. |"]));
    expect(good.problems).toEqual([]);
    expect(good.errorCodes.map(({ code, scope, terminal, description }) => ({ code, scope, terminal, description }))).toEqual([
      { code: "E_A", scope: "wire", terminal: true, description: "Something." },
      { code: "E_B", scope: "local", terminal: false, description: "Other." },
    ]);
    expect(kinds(table(["| `E_A` | remote | yes | x |"]))).toEqual(["bad-error-table"]);
    expect(kinds(table(["| `E_A` | wire | no | x |", "| `E_A` | wire | no | y |"]))).toEqual(["duplicate-error-code"]);
  });
});

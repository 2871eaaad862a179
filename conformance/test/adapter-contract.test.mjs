// The adapter contract's messages validate against their schemas: every request the runner sends
// for the golden vectors, the TS adapter's answers, and its serve/connect output lines.
import { describe, expect, it } from "vitest";
import { CodecSession, runClient, startServer } from "../src/adapter-process.mjs";
import { findAgent } from "../src/agents.mjs";
import { chunkingsFor, loadVectorCases } from "../src/vectors.mjs";
import { schemaErrors } from "./helpers.mjs";

describe("adapter contract", { timeout: 60000 }, () => {
  const ts = findAgent("ts");

  it("every codec request of the suite validates against adapter-request.schema.json", () => {
    let id = 1;
    for (const c of loadVectorCases()) {
      for (const { chunks } of chunkingsFor(c)) {
        const req = { id: id++, op: c.kind, params: c.params, input: c.input, ...(chunks ? { chunks } : {}) };
        const errors = schemaErrors("conformance/adapter-request.schema.json", req);
        if (errors.length) expect(errors, c.id).toEqual([]);
      }
    }
  });

  it("the ts adapter's codec answers validate against adapter-response.schema.json", async () => {
    const session = new CodecSession(ts);
    try {
      const cases = loadVectorCases().filter((_, i) => i % 25 === 0);
      for (const c of cases) {
        const res = await session.request(c.kind, c.params, c.input);
        expect(schemaErrors("conformance/adapter-response.schema.json", res), c.id).toEqual([]);
      }
      const bad = await session.request("no-such-op", {}, {});
      expect(bad.ok).toBe(false);
      expect(bad.error.code).toBe("unsupported");
    } finally {
      await session.close();
    }
  });

  it("serve and connect lines validate against adapter-lines.schema.json; an unknown scenario exits 127", async () => {
    const server = await startServer(ts, { config: {} });
    try {
      expect(schemaErrors("conformance/adapter-lines.schema.json", { ready: true, port: server.port })).toEqual([]);
      const r = await runClient(ts, { port: server.port, scenario: "echo", config: { messages: ["6869"] } });
      expect(r.result.ok).toBe(true);
      expect(schemaErrors("conformance/adapter-lines.schema.json", r.result)).toEqual([]);
      const closed = await server.waitFor((e) => e.event === "closed", 3000);
      expect(schemaErrors("conformance/adapter-lines.schema.json", closed)).toEqual([]);
      expect((await runClient(ts, { port: server.port, scenario: "no-such-scenario" })).unsupported).toBe(true);
    } finally {
      await server.stop();
    }
    expect((await startServer(ts, { config: { scenario: "no-such-scenario" } })).unsupported).toBe(true);
  });
});

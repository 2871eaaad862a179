#!/usr/bin/env node
// Handshake encode and validate (qwormhole/protocol): the client's hello, the server's
// decision, the accept, the client's check of the answer, and a signed hello (Ed25519).
import {
  acceptToJson,
  buildHello,
  createHelloSigner,
  decideHandshake,
  encodeHandshakeJson,
  parseHello,
  parseServerAnswer,
  signHello,
} from "qwormhole/protocol";
import { generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";

export function tasks() {
  const helloOptions = {
    features: ["control"],
    version: "1.4.0",
    tags: { service: "ingest", node: "alpha", shard: 7 },
    maxFrameLength: 4 << 20,
  };
  const helloBytes = encodeHandshakeJson(buildHello(helloOptions));
  const policy = { features: ["control"], version: "1.0.0", maxFrameLength: 4 << 20, tags: { region: "eu" } };
  const decision = decideHandshake(helloBytes, policy);
  if (decision.type !== "accept") throw new Error(`hello not accepted: ${JSON.stringify(decision)}`);
  const acceptBytes = encodeHandshakeJson(acceptToJson(decision.accept));
  const signer = createHelloSigner(generateKeyPairSync("ed25519").privateKey);
  const signedBytes = encodeHandshakeJson(signHello(buildHello(helloOptions), signer));
  const g = "handshake";
  return [
    { group: g, name: "client: build + encode hello", fn: () => encodeHandshakeJson(buildHello(helloOptions)) },
    { group: g, name: "server: parseHello", fn: () => parseHello(helloBytes, { legacyAllowed: false }) },
    {
      group: g,
      name: "server: decideHandshake (validate, negotiate)",
      fn: () => {
        if (decideHandshake(helloBytes, policy).type !== "accept") throw new Error("rejected");
      },
    },
    { group: g, name: "server: encode accept", fn: () => encodeHandshakeJson(acceptToJson(decision.accept)) },
    {
      group: g,
      name: "client: parseServerAnswer (validate accept)",
      fn: () => {
        if (parseServerAnswer(acceptBytes, { qwh: "1.0", features: ["control"] }).outcome !== "accept") throw new Error("not accept");
      },
    },
    { group: g, name: "client: sign + encode hello (Ed25519)", fn: () => encodeHandshakeJson(signHello(buildHello(helloOptions), signer)) },
    {
      group: g,
      name: "server: decideHandshake signed hello (Ed25519 verify)",
      fn: () => {
        if (decideHandshake(signedBytes, { ...policy, requireSignature: true }).type !== "accept") throw new Error("rejected");
      },
    },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await (await import("./run.mjs")).main(tasks);

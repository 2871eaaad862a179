#!/usr/bin/env node
// Echo demo over real TCP on 127.0.0.1 using only the QWH/1 wire codec
// (qwormhole/protocol, no client or server classes): what another
// implementation has to do, step by step: hello -> accept -> three messages
// echoed -> CLOSE. Prints the exchange; exits non-zero if anything differs.
import net from "node:net";
import {
  FrameDecoder,
  FrameEncoder,
  FrameReceiver,
  MAX_HANDSHAKE_LENGTH,
  buildHello,
  decideHandshake,
  encodeHandshakeJson,
  acceptToJson,
  rejectToJson,
  parseServerAnswer,
} from "qwormhole/protocol";

const features = ["control"];

function serve(socket) {
  const out = new FrameEncoder();
  const flush = () => socket.write(out.takeBuffer());
  const open = new FrameReceiver(
    {
      onMessage: (m) => {
        out.addData(m);
        flush();
      },
      onPing: (b) => (out.addPong(b), flush()),
      onPong: () => undefined,
      onClose: () => {
        out.addClose({ code: "E_NORMAL_CLOSE", reason: "bye" });
        socket.end(out.takeBuffer());
      },
    },
    { maxFrameLength: 1 << 20, features },
  );
  const hs = new FrameDecoder(
    {
      onMessage: (payload) => {
        const d = decideHandshake(payload, { features, maxFrameLength: 1 << 20 });
        if (d.type !== "accept") {
          socket.end(frameOf(encodeHandshakeJson(rejectToJson({ code: d.code, reason: d.reason }))));
          return;
        }
        socket.write(frameOf(encodeHandshakeJson(acceptToJson(d.accept))));
        hs.switchToRaw(); // the rest of this chunk belongs to the open-state receiver
      },
      onControl: () => undefined,
      onRaw: (chunk) => open.push(chunk),
    },
    { maxFrameLength: MAX_HANDSHAKE_LENGTH, control: false, oversizeCode: "E_HANDSHAKE_TOO_LARGE" },
  );
  socket.on("data", (chunk) => {
    try {
      hs.push(chunk);
    } catch (err) {
      console.error("server: closing connection:", err.code);
      socket.destroy();
    }
  });
}

function frameOf(payload) {
  const e = new FrameEncoder({ peerMaxFrameLength: MAX_HANDSHAKE_LENGTH });
  e.addData(payload);
  return e.takeBuffer();
}

const server = net.createServer(serve);
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const { port } = server.address();
console.log(`server listening on 127.0.0.1:${port}`);

const sent = ["hello", "framed", "world"];
const received = [];
await new Promise((resolve, reject) => {
  const socket = net.connect(port, "127.0.0.1");
  const out = new FrameEncoder();
  const hello = buildHello({ features, tags: { demo: "echo" } });
  let open = null;
  const first = new FrameDecoder(
    {
      onMessage: (payload) => {
        const answer = parseServerAnswer(payload, { qwh: hello.qwh, features });
        if (answer.outcome !== "accept") return reject(new Error(`rejected: ${answer.reject.code}`));
        console.log(`client: accepted, qwh ${answer.accept.qwh}, features [${answer.accept.features}]`);
        out.setPeerMaxFrameLength(answer.accept.maxFrameLength);
        open = new FrameReceiver(
          {
            onMessage: (m) => {
              received.push(m.toString());
              console.log(`client: echo ${JSON.stringify(m.toString())}`);
              if (received.length === sent.length) {
                out.addClose({ code: "E_NORMAL_CLOSE" });
                socket.write(out.takeBuffer());
              }
            },
            onPing: () => undefined,
            onPong: () => undefined,
            onClose: (c) => console.log(`client: server closed with ${c.code} (${c.reason ?? ""})`),
          },
          { maxFrameLength: 1 << 20, features: answer.accept.features },
        );
        first.switchToRaw();
        for (const m of sent) out.addText(m);
        socket.write(out.takeBuffer());
      },
      onControl: () => undefined,
      onRaw: (chunk) => open.push(chunk),
    },
    { maxFrameLength: MAX_HANDSHAKE_LENGTH, control: false, oversizeCode: "E_HANDSHAKE_TOO_LARGE" },
  );
  socket.on("connect", () => socket.write(frameOf(encodeHandshakeJson(hello))));
  socket.on("data", (chunk) => first.push(chunk));
  socket.on("end", resolve);
  socket.on("error", reject);
});
server.close();
const ok = JSON.stringify(received) === JSON.stringify(sent);
console.log(ok ? "echo demo: OK" : `echo demo: FAILED, got ${JSON.stringify(received)}`);
process.exit(ok ? 0 : 1);

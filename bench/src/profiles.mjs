// What each profile measures. `quick` (npm run bench) stays under 3 minutes on 2 cores;
// `full` (npm run bench:full) is the whole set; `smoke` is for the test.
const ALL_SIZES = [16, 256, 1024, 4096, 65536, 1 << 20];

export const profiles = {
  quick: {
    description:
      "every size, implementation and peer, 3 runs of ~0.2 s per cell (mixed TS/native pairs at 1 KiB only); TLS at 1 KiB and 64 KiB; 100 connections at 1 KiB; 2,000 idle connections",
    sizes: ALL_SIZES,
    runs: 3,
    targetSec: 0.2,
    warmSec: 0.06,
    mixedPairs: { sections: ["throughput"], sizes: [1024] },
    maxCount: 50_000_000,
    tls: { sizes: [1024, 65536] },
    connections: { count: 100, sizes: [1024] },
    codecs: ["json", "cbor"],
    cli: { sizes: [64], maxCount: 50_000_000 },
    latency: {
      size: 64,
      samples: 20_000,
      warmup: 1_000,
      tlsRows: ["ts-ts", "native-libsocket-native-libsocket", "native-lws-native-lws", "net-raw"],
    },
    idle: { connections: 2_000, kinds: ["ts", "native-libsocket", "native-lws"] },
    sustained: null,
    micro: { time: 30, full: false },
  },
  full: {
    description:
      "every size and every peer, 5 runs of ~1 s per cell; TLS at every size; 100 connections at 16 B, 1 KiB, 64 KiB; 10,000 idle connections; 60 s sustained run",
    sizes: ALL_SIZES,
    runs: 5,
    targetSec: 1,
    warmSec: 0.2,
    mixedPairs: "all",
    maxCount: 200_000_000,
    tls: { sizes: ALL_SIZES },
    connections: { count: 100, sizes: [16, 1024, 65536] },
    codecs: ["json", "cbor"],
    cli: { sizes: [64, 1024, 65536], maxCount: 200_000_000 },
    latency: { size: 64, samples: 20_000, warmup: 2_000, tlsRows: "all" },
    idle: { connections: 10_000, kinds: ["ts", "native-libsocket", "native-lws", "net", "ws"] },
    sustained: { seconds: 60, warmSec: 10, size: 1024 },
    micro: { time: 250, full: true },
  },
  smoke: {
    description: "the smallest configuration (for the test): 16 B, ts-ts and two peers, one short run each",
    sizes: [16],
    runs: 1,
    targetSec: 0.02,
    warmSec: 0.01,
    maxCount: 100_000,
    rows: ["ts-ts", "ts-ts-batch", "native-lws-native-lws", "net-batched", "net-raw"],
    tls: null,
    connections: null,
    codecs: [],
    latency: { size: 64, samples: 200, warmup: 20, tlsRows: [], rows: ["ts-ts", "net-raw"] },
    idle: { connections: 20, kinds: ["ts"] },
    sustained: null,
    micro: { time: 2, full: false, filter: ["encode 64 x 16 B", "decode 64 x 16 B, one chunk", "json encode", "json decode"] },
  },
};

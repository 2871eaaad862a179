// The value the codec rows and codec micro benchmarks carry: a small, typical JSON object.
export const sampleValue = Object.freeze({
  kind: "bench",
  id: 123456,
  ts: 1732600000000,
  user: "alice@example.com",
  tags: ["alpha", "beta", "gamma"],
  position: { x: 12.5, y: -3.25, z: 0.125 },
  flags: { active: true, admin: false },
  note: "the quick brown fox jumps over the lazy dog",
});

// Module hooks of the native adapter: "qwormhole" imported by anyone but our wrapper resolves to
// the wrapper, which re-exports qwormhole with native-forced client and server classes.
const wrapper = new URL("./qwormhole-native.mjs", import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === "qwormhole" && context.parentURL !== wrapper) return { url: wrapper, shortCircuit: true };
  return next(specifier, context);
}

/**
 * `require("qwormhole")`: the package is an ES module, which Node loads
 * through `require()` from 20.19 (and 22.12) on. This entry hands over the
 * same module instance `import` gets; on an older Node it throws an
 * ERR_REQUIRE_ESM error that says what to do instead.
 * @internal
 * @packageDocumentation
 */
function load(): unknown {
  try {
    return require("./index.js");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ERR_REQUIRE_ESM") throw err;
    const error = new Error(
      `qwormhole is an ES module: require("qwormhole") needs Node 20.19 or later (this is ${process.version}); ` +
        `use import { ... } from "qwormhole", or await import("qwormhole") from CommonJS`,
      { cause: err },
    ) as NodeJS.ErrnoException;
    error.code = "ERR_REQUIRE_ESM";
    throw error;
  }
}

module.exports = load();

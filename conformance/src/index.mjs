// @qwormhole/conformance as a library: the pieces the bin uses, for tools that embed the runner.
export { main } from "./cli.mjs";
export { AGENTS, findAgent, commandAgent } from "./agents.mjs";
export { loadVectorCases, compareOutput, chunkingsFor } from "./vectors.mjs";
export { loadWireCases, loadRequirements } from "./cases.mjs";
export { runWireCase } from "./wire-engine.mjs";
export { runAgent, runCommand, selectCases } from "./run.mjs";
export { runMatrix, formatMatrix } from "./matrix.mjs";
export { SCENARIOS, expandMessages, digestOf } from "./scenarios.mjs";
export { EXIT, GRADES, exitCodeFor } from "./grading.mjs";

// require() of the installed qwormhole (Node 20.19+ loads the ES module through require) gives
// the module instance that import gives.
const q = require("qwormhole");
const protocol = require("qwormhole/protocol");
import("qwormhole").then((m) => {
  if (m !== q || typeof q.QWormholeClient !== "function" || typeof protocol.FrameDecoder !== "function") {
    console.error('pack smoke: require("qwormhole") is not the module import gives');
    process.exit(1);
  }
  console.log(`pack smoke: require("qwormhole") OK on ${process.version}`);
});

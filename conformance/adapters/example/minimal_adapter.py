#!/usr/bin/env python3
"""A minimal QWH/1 conformance adapter: codec mode, data frames only (no control feature)."""
import json, sys

def decode(params, data, chunks, end):
    limit = 16384 if params["phase"] == "handshake" else params["maxFrameLength"]
    big = "E_HANDSHAKE_TOO_LARGE" if params["phase"] == "handshake" else "E_FRAME_TOO_LARGE"
    buf, events, at = b"", [], 0
    for size in chunks:                              # feed chunk by chunk, like a socket would
        buf, at = buf + data[at:at + size], at + size
        while len(buf) >= 4:
            n = int.from_bytes(buf[:4], "big")
            if n > limit:                            # judged on the header alone (QWH-FRAME-004)
                return {"events": events, "error": big}
            if len(buf) < 4 + n:
                break
            events.append({"type": "message", "hex": buf[4:4 + n].hex()})
            buf = buf[4 + n:]
    return {"events": events, "error": "E_TRUNCATED_FRAME" if end and buf else None}

def handle(req):
    p, inp = req.get("params", {}), req.get("input", {})
    if req["op"] != "frame-decode" or (p["phase"] == "open" and p["features"]):
        return {"id": req["id"], "ok": False, "error": {"code": "unsupported", "message": req["op"]}}
    data = bytes.fromhex(inp["hex"])
    chunks = req.get("chunks") or [len(data)]
    chunks = chunks + [len(data) - sum(chunks)]      # the rest in one piece
    return {"id": req["id"], "ok": True, "output": decode(p, data, chunks, inp["end"])}

if __name__ == "__main__":
    if sys.argv[1:2] != ["codec"]:
        sys.exit(127)                                # unsupported mode: serve, connect, info, ...
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(handle(json.loads(line))), flush=True)

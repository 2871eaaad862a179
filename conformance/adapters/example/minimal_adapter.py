#!/usr/bin/env python3
"""A minimal QWH/1 conformance adapter (spec Appendix D): codec mode for frame decoding, and serve
and connect over plain TCP with a v1 handshake and no optional feature. Everything else exits 127."""
import hashlib, json, socket, sys, threading

UNSUPPORTED = 127
HANDSHAKE_LIMIT, MAX_FRAME = 16384, 4194304

def decode(params, data, chunks, end):
    limit = HANDSHAKE_LIMIT if params["phase"] == "handshake" else params["maxFrameLength"]
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

def codec():
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(handle(json.loads(line))), flush=True)

# ---- serve and connect: frames on a socket --------------------------------------------------

def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None if not buf else b"!"        # end of stream: clean (None) or mid-frame
        buf += chunk
    return buf

def read_frame(sock, limit):
    """The next frame's payload; None at a clean end of stream. Raises ValueError(code)."""
    head = read_exact(sock, 4)
    if head is None:
        return None
    n = int.from_bytes(head, "big") if len(head) == 4 else -1
    if n > limit:                                    # also a control frame: "control" is not negotiated
        raise ValueError("E_FRAME_TOO_LARGE")
    body = read_exact(sock, n) if n > 0 else b""
    if n < 0 or body is None or len(body) != n:
        raise ValueError("E_TRUNCATED_FRAME")
    return body

def frame(payload):
    return len(payload).to_bytes(4, "big") + payload

def messages(config):                                # the contract's generated messages (D.3)
    out = []
    for item in config.get("messages", []):
        if isinstance(item, str):
            out.append(bytes.fromhex(item))
        else:
            for _ in range(item.get("count", 1)):
                out.append(bytes((len(out) + j) % 256 for j in range(item["size"])))
    return out

def options(argv, known):
    """--name value pairs; 127 for TLS, an unknown argument, or a config this adapter cannot honour."""
    opts = dict(zip(argv[0::2], argv[1::2]))
    config = json.loads(opts.pop("--config", "{}"))
    if set(opts) - {"--port", "--host", "--scenario"} or set(config) - known or config.get("features") != []:
        sys.exit(UNSUPPORTED)                        # features absent means ["control"]: not here
    return int(opts.get("--port", "0")), opts.get("--host", "127.0.0.1"), opts.get("--scenario", "echo"), config

out_lock = threading.Lock()
def line(obj):
    with out_lock:
        print(json.dumps(obj), flush=True)

def serve_one(conn, config):
    received, size, error = 0, 0, None
    try:
        hello = json.loads(read_frame(conn, HANDSHAKE_LIMIT) or b"null")
        if not isinstance(hello, dict) or hello.get("type") != "handshake" or "features" not in hello:
            code = "E_LEGACY_NOT_ALLOWED" if isinstance(hello, dict) and hello.get("type") == "handshake" else "E_INVALID_HANDSHAKE"
            conn.sendall(frame(json.dumps({"type": "reject", "code": code}).encode()))
            line({"event": "rejected", "code": code})
            return
        conn.sendall(frame(json.dumps({"type": "accept", "qwh": "1.0", "features": [], "maxFrameLength": MAX_FRAME}).encode()))
        conn.sendall(b"".join(frame(m) for m in messages(config)))
        while (m := read_frame(conn, MAX_FRAME)) is not None:
            received, size = received + 1, size + len(m)
            conn.sendall(frame(m))                   # echo
    except ValueError as e:
        error = str(e)
    except (OSError, json.JSONDecodeError):
        error = "E_INVALID_HANDSHAKE" if received == 0 else None
    finally:
        conn.close()
    line({"event": "closed", "messages": received, "bytes": size, "error": error})

def serve(argv):
    port, host, _, config = options(argv, {"features", "messages", "scenario"})
    if config.get("scenario", "echo") != "echo":
        sys.exit(UNSUPPORTED)
    listener = socket.create_server((host, port))
    line({"ready": True, "port": listener.getsockname()[1]})
    def accept_loop():
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve_one, args=(conn, config), daemon=True).start()
    threading.Thread(target=accept_loop, daemon=True).start()
    sys.stdin.read()                                 # serve until stdin ends

def connect(argv):
    port, host, scenario, config = options(argv, {"features", "messages", "timeoutMs"})
    if scenario != "echo":
        sys.exit(UNSUPPORTED)
    sent = messages(config)
    result = {"ok": False, "sent": len(sent), "received": 0, "receivedSha256": "", "receivedHex": [],
              "error": None, "closeCode": None, "closedByPeer": False, "accept": None}
    got = []
    try:
        sock = socket.create_connection((host, port), timeout=config.get("timeoutMs", 10000) / 1000)
        sock.sendall(frame(json.dumps({"type": "handshake", "qwh": "1.0", "features": []}).encode()))
        answer = json.loads(read_frame(sock, HANDSHAKE_LIMIT) or b"null")
        if not isinstance(answer, dict) or answer.get("type") != "accept":
            result["error"] = answer.get("code") if isinstance(answer, dict) else "E_PROTOCOL_ERROR"
        else:
            result["accept"] = answer
            sock.sendall(b"".join(frame(m) for m in sent))
            while len(got) < len(sent) and (m := read_frame(sock, MAX_FRAME)) is not None:
                got.append(m)
            sock.shutdown(socket.SHUT_WR)            # graceful close without "control": end the stream
            result["closedByPeer"] = len(got) < len(sent)
            while sock.recv(65536):
                pass
        sock.close()
    except ValueError as e:
        result["error"] = str(e)
    except OSError as e:
        result["error"] = "E_CONNECT_TIMEOUT" if isinstance(e, TimeoutError) else "E_SOCKET"
    digest = hashlib.sha256(b"".join(len(m).to_bytes(4, "big") + m for m in got))
    result.update(ok=result["error"] is None and got == sent, received=len(got),
                  receivedSha256=digest.hexdigest(), receivedHex=[m.hex() for m in got[:64]])
    line(result)

if __name__ == "__main__":
    modes = {"codec": codec, "serve": serve, "connect": connect}
    if sys.argv[1:2] == [] or sys.argv[1] not in modes:
        sys.exit(UNSUPPORTED)                        # unsupported mode: info, connect-many, ...
    modes[sys.argv[1]](*([sys.argv[2:]] if sys.argv[1] != "codec" else []))

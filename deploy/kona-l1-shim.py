#!/usr/bin/env python3
"""L1 JSON-RPC shim for the kona cross-check (deploy/kona-crosscheck.sh), out of CI.

The devnet L1 has no contract storage, but kona-node reads SystemConfig's unsafe block signer
with eth_getStorageAt(systemConfig, keccak256("systemconfig.unsafeblocksigner") - 1, blockHash)
before it starts. This shim answers eth_getStorageAt (the signer in that slot, zero elsewhere),
forwards every other call to the devnet L1 unchanged, and logs each method the L1 does not know.

usage: kona-l1-shim.py LISTEN_PORT UPSTREAM_URL SIGNER_ADDRESS
"""
import json
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UNSAFE_BLOCK_SIGNER_SLOT = "0x65a7ed542fb37fe237fdfbdd70b31598523fe5b32879e307bae27a0bd9581c08"

PORT, UPSTREAM, SIGNER = int(sys.argv[1]), sys.argv[2], sys.argv[3].lower()


def storage_word(slot):
    if int(slot, 16) == int(UNSAFE_BLOCK_SIGNER_SLOT, 16):
        return "0x" + SIGNER[2:].rjust(64, "0")
    return "0x" + "0" * 64


def forward(body):
    req = urllib.request.Request(UPSTREAM, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def handle(call):
    if call.get("method") == "eth_getStorageAt":
        params = call.get("params", [])
        return {"jsonrpc": "2.0", "id": call.get("id"), "result": storage_word(params[1])}
    answer = forward(call)
    err = answer.get("error") if isinstance(answer, dict) else None
    if err and err.get("code") == -32601:
        print(f"L1 lacks {call.get('method')}", file=sys.stderr, flush=True)
    return answer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        out = [handle(c) for c in body] if isinstance(body, list) else handle(body)
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()

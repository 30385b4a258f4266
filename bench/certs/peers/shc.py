"""SMART Health Card issue rate of the Python peer, on the payload vrs-cert-bench wrote.

    python shc.py DIR [N] [ROUNDS]      (default 1000 issues a round, 3 rounds: the best is printed)

DIR holds shc-payload.json (the card payload vrs signs: iss, nbf, vc with the same FHIR bundle)
and shc-key.pem (the same P-256 key, PKCS#8). Each issue is payload dict -> minified JSON -> raw
DEFLATE (zlib, level 9, as vrs) -> jwcrypto compact JWS (zip DEF, ES256, kid = RFC 7638
thumbprint) -> `shc:/` numeric text. Prints `peer.shc.jwcrypto ops/s` and writes the first card to
DIR/out-peer.shc.jwcrypto.txt.
"""

import json
import sys
import time
import zlib
from pathlib import Path

from jwcrypto import jwk, jws
from jwcrypto.common import json_encode

NAME = "peer.shc.jwcrypto"
folder = Path(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
payload = json.loads((folder / "shc-payload.json").read_text())
key = jwk.JWK.from_pem((folder / "shc-key.pem").read_bytes())
header = json_encode({"zip": "DEF", "alg": "ES256", "kid": key.thumbprint()})


def issue():
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    token = jws.JWS(deflate.compress(body) + deflate.flush())
    token.add_signature(key, None, header)
    compact = token.serialize(compact=True)
    return "shc:/" + "".join(f"{ord(c) - 45:02d}" for c in compact)


(folder / f"out-{NAME}.txt").write_text(issue())
for _ in range(max(20, n // 10)):
    issue()
best = 0.0
for _ in range(rounds):
    start = time.perf_counter()
    for _ in range(n):
        issue()
    best = max(best, n / (time.perf_counter() - start))
print(f"{NAME:<28} {best:>12.0f}")

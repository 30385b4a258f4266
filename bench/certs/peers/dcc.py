"""EU DCC issue rate of the Python peer, on the claims vrs-cert-bench wrote.

    python dcc.py DIR [N] [ROUNDS]      (default 1000 issues a round, 3 rounds: the best is printed)

DIR holds dcc-claims.json (iss, iat, exp and the same DCC JSON that vrs signs), dsc-key.pem and
dsc-cert.pem (the same document signer). Each issue is CWT dict -> cbor2 -> pycose COSE_Sign1
(ES256, kid = first 8 bytes of SHA-256 of the signer certificate, protected) -> zlib level 9 (as
vrs) -> base45 -> `HC1:` text. Prints `peer.dcc.pycose ops/s` and writes the first certificate to
DIR/out-peer.dcc.pycose.txt.
"""

import hashlib
import json
import sys
import time
import zlib
from pathlib import Path

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pycose.algorithms import Es256
from pycose.headers import KID, Algorithm
from pycose.keys import CoseKey
from pycose.messages import Sign1Message

NAME = "peer.dcc.pycose"
folder = Path(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
claims = json.loads((folder / "dcc-claims.json").read_text())
key = CoseKey.from_pem_private_key((folder / "dsc-key.pem").read_text())
cert = x509.load_pem_x509_certificate((folder / "dsc-cert.pem").read_bytes())
kid = hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()[:8]
# The CWT claims in vrs's order: iss (1), exp (4), iat (6), hcert (-260) -> {1: certificate}.
cwt = {1: claims["iss"], 4: claims["exp"], 6: claims["iat"], -260: {1: claims["dcc"]}}


def issue():
    message = Sign1Message(phdr={Algorithm: Es256, KID: kid}, payload=cbor2.dumps(cwt))
    message.key = key
    return "HC1:" + base45.b45encode(zlib.compress(message.encode(), 9)).decode()


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

// EU DCC issue rate of a Node.js peer, on the claims vrs-cert-bench wrote:
//   node dcc.js DIR [N] [ROUNDS]      (default 1000 issues a round, 3 rounds: the best is printed)
// DIR holds dcc-claims.json (iss, iat, exp and the same DCC JSON that vrs signs), dsc-key.pem and
// dsc-cert.pem (the same document signer). Each issue is CWT → CBOR → COSE_Sign1 (ES256, kid =
// first 8 bytes of SHA-256 of the signer certificate) → zlib → Base45 → `HC1:` text.
//   peer.dcc.pathcheck: @pathcheck/dcc-sdk `signAndPack` (cbor, WebCrypto, pako), as its README
//   peer.dcc.node:      hand-written with node:crypto, cbor, pako level 9 and base45 (the leanest
//                       JavaScript issuer we could write)
// Prints `name ops/s` and writes its first certificate to DIR/out-<name>.txt.
'use strict';
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
const n = Number(process.argv[3] || 1000);
const rounds = Number(process.argv[4] || 3);
const claims = JSON.parse(fs.readFileSync(path.join(dir, 'dcc-claims.json'), 'utf8'));
const keyPem = fs.readFileSync(path.join(dir, 'dsc-key.pem'), 'utf8');
const certPem = fs.readFileSync(path.join(dir, 'dsc-cert.pem'), 'utf8');
const crypto = require('crypto');

async function time(name, issue) {
  const first = await issue();
  fs.writeFileSync(path.join(dir, `out-${name}.txt`), first);
  for (let i = 0; i < Math.max(20, n / 10); i++) await issue();
  let best = 0;
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await issue();
    best = Math.max(best, n / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  console.log(`${name.padEnd(28)} ${best.toFixed(0).padStart(12)}`);
}

(async () => {
  const dcc = require('@pathcheck/dcc-sdk');
  // The CWT claims in vrs's order: iss (1), exp (4), iat (6), hcert (-260) → {1: certificate}.
  const cwt = new Map([
    [1, claims.iss],
    [4, claims.exp],
    [6, claims.iat],
    [-260, new Map([[1, claims.dcc]])],
  ]);
  await time('peer.dcc.pathcheck', () => dcc.signAndPack(cwt, certPem, keyPem));

  const cbor = require('cbor');
  const pako = require('pako');
  const base45 = require('base45');
  const key = crypto.createPrivateKey(keyPem);
  const kid = crypto.createHash('sha256').update(new crypto.X509Certificate(certPem).raw).digest().subarray(0, 8);
  const empty = Buffer.alloc(0);
  await time('peer.dcc.node', async () => {
    const protectedHeader = cbor.encode(new Map([[1, -7], [4, kid]]));
    const payload = cbor.encode(cwt);
    const tbs = cbor.encode(['Signature1', protectedHeader, empty, payload]);
    const signature = crypto.sign('sha256', tbs, { key, dsaEncoding: 'ieee-p1363' });
    const message = cbor.encode(new cbor.Tagged(18, [protectedHeader, new Map(), payload, signature]));
    return 'HC1:' + base45.encode(pako.deflate(message, { level: 9 }));
  });
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

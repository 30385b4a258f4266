// SMART Health Card issue rate of Node.js peers, on the payload vrs-cert-bench wrote:
//   node shc.js DIR [N] [ROUNDS]      (default 1000 issues a round, 3 rounds: the best is printed)
// DIR holds shc-payload.json (the card payload vrs signs: iss, nbf, vc with the same FHIR
// bundle) and shc-key.pem (the same P-256 key, PKCS#8). Each issue is payload object → minified
// JSON → raw DEFLATE → compact JWS (zip DEF, ES256, kid) → `shc:/` numeric text.
//   peer.shc.pathcheck: @pathcheck/shc-sdk `sign` (node-jose, pako) + `pack`, as its README uses them
//   peer.shc.jose:      jose `CompactSign` (node:crypto) + pako.deflateRaw level 9, hand-written
//                       `shc:/` encoding (the leanest JavaScript issuer we could write)
// Prints `name ops/s` per peer and writes its first card to DIR/out-<name>.txt.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const dir = process.argv[2];
const n = Number(process.argv[3] || 1000);
const rounds = Number(process.argv[4] || 3);
const payload = JSON.parse(fs.readFileSync(path.join(dir, 'shc-payload.json'), 'utf8'));
const keyPem = fs.readFileSync(path.join(dir, 'shc-key.pem'), 'utf8');
const privateKey = crypto.createPrivateKey(keyPem);
const jwk = privateKey.export({ format: 'jwk' });
// RFC 7638 thumbprint, as vrs names the key.
const kid = crypto
  .createHash('sha256')
  .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
  .digest('base64url');

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

function numeric(jws) {
  let out = 'shc:/';
  for (let i = 0; i < jws.length; i++) {
    const c = jws.charCodeAt(i) - 45;
    out += (c < 10 ? '0' : '') + c;
  }
  return out;
}

(async () => {
  const shc = require('@pathcheck/shc-sdk');
  const sdkKey = { ...jwk, kid, alg: 'ES256', use: 'sig' };
  await time('peer.shc.pathcheck', async () => shc.pack(await shc.sign(payload, sdkKey)));

  const jose = await import('jose');
  const pako = require('pako');
  const encoder = new TextEncoder();
  await time('peer.shc.jose', async () => {
    const body = pako.deflateRaw(encoder.encode(JSON.stringify(payload)), { level: 9 });
    const jws = await new jose.CompactSign(body)
      .setProtectedHeader({ zip: 'DEF', alg: 'ES256', kid })
      .sign(privateKey);
    return numeric(jws);
  });
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

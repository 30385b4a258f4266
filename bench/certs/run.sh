#!/usr/bin/env bash
# Certificate issue and verify rates on one core: the raw ES256 rate of ring, our SMART Health
# Card and EU DCC issue and verify (and their QR matrices), and peers issuing the same certificates
# in Node.js and Python, in one run, all pinned to the same core.
#
#   bench/certs/run.sh [SECONDS]        (default 1: seconds per vrs measure and round)
#
# Environment: CORE (default 0) the core everything is pinned to; ROUNDS (default 3) rounds of
# every measure, ours and the peers', each reporting its best round (on a shared machine a
# neighbour's work only ever slows a round down); PEER_N (default 1000) issues a peer times per
# round; STEPS=0 skips vrs's step-by-step breakdown.
#
# `vrs-cert-bench` (crates/vrs-bench) measures vrs and writes the SHC payload, the DCC claims and
# both keys to bench/certs/out/; the peers (bench/certs/peers/) read them, so every code carries the
# same payload under the same key, and `vrs-cert-bench --check` then verifies each peer's first code
# with our verifiers. Peers are installed on first use into bench/certs/node_modules and
# bench/certs/.venv (both git-ignored).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../.."
SECONDS_EACH=${1:-1}
ROUNDS=${ROUNDS:-3}
CORE=${CORE:-0}
PEER_N=${PEER_N:-1000}
OUT=$HERE/out
PIN=(taskset -c "$CORE")

# The peers, pinned. @pathcheck/dcc-sdk loads its ES modules through the `esm` loader (2019), which
# cannot parse the `?.` and `??=` of current @peculiar/webcrypto and webcrypto-core: the last
# versions it can parse are pinned below (it does not start on Node 20 otherwise).
NPM_PEERS=(@pathcheck/shc-sdk@0.0.8 @pathcheck/dcc-sdk@0.0.27 @peculiar/webcrypto@1.4.6
  webcrypto-core@1.7.9 jose@6.2.18 pako@2.1.0 cbor@8.1.0 base45@3.0.0)
PY_PEERS=(jwcrypto==1.6.1 pycose==1.1.0 cbor2==6.3.0 base45==0.4.4)

npm_ok() {
  (cd "$HERE" && node -e '
    for (const spec of process.argv.slice(1)) {
      const at = spec.lastIndexOf("@");
      const version = require(spec.slice(0, at) + "/package.json").version;
      if (version !== spec.slice(at + 1)) process.exit(1);
    }' "${NPM_PEERS[@]}") 2>/dev/null
}
if ! npm_ok; then
  echo "installing the Node.js peers into bench/certs/node_modules"
  (cd "$HERE" && npm install --no-save --no-audit --no-fund --loglevel=error "${NPM_PEERS[@]}" >/dev/null)
fi
if ! "$HERE/.venv/bin/python" -c 'import sys, importlib.metadata as m
sys.exit(any(m.version(p.split("==")[0]) != p.split("==")[1] for p in sys.argv[1:]))' "${PY_PEERS[@]}" 2>/dev/null; then
  echo "installing the Python peers into bench/certs/.venv"
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q --disable-pip-version-check "${PY_PEERS[@]}"
fi

cargo build --release -q -p vrs-bench --bin vrs-cert-bench
BENCH=$PWD/target/release/vrs-cert-bench
rm -rf "$OUT" && mkdir -p "$OUT"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); pinned to core $CORE"
echo "rustc $(rustc --version | cut -d' ' -f2), ring $(grep -A1 '^name = "ring"' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p'), node $(node --version), $("$HERE/.venv/bin/python" --version)"
echo "peers: ${NPM_PEERS[*]} ${PY_PEERS[*]}"
echo
echo "== vrs (${SECONDS_EACH} s a measure, best of $ROUNDS rounds)"
STEP_FLAG=()
if [ "${STEPS:-1}" = 0 ]; then STEP_FLAG=(--no-steps); fi
"${PIN[@]}" "$BENCH" --seconds "$SECONDS_EACH" --rounds "$ROUNDS" --payloads "$OUT" "${STEP_FLAG[@]}" | tee "$OUT/vrs.txt"
echo
echo "== peers ($PEER_N issues a round, best of $ROUNDS rounds)"
(cd "$HERE" && "${PIN[@]}" node peers/shc.js "$OUT" "$PEER_N" "$ROUNDS") | tee "$OUT/peers.txt"
(cd "$HERE" && "${PIN[@]}" node peers/dcc.js "$OUT" "$PEER_N" "$ROUNDS") | tee -a "$OUT/peers.txt"
"${PIN[@]}" "$HERE/.venv/bin/python" "$HERE/peers/shc.py" "$OUT" "$PEER_N" "$ROUNDS" | tee -a "$OUT/peers.txt"
"${PIN[@]}" "$HERE/.venv/bin/python" "$HERE/peers/dcc.py" "$OUT" "$PEER_N" "$ROUNDS" | tee -a "$OUT/peers.txt"
echo
echo "== the peers' codes, read by vrs"
"$BENCH" --check "$OUT"
echo

# The table: rates, ratios to the physical limit and to the fastest peer, and the goals.
awk '
  NF == 2 && $2 ~ /^[0-9.]+$/ { rate[$1] = $2 }
  function best(prefix,   k, b, who) {
    for (k in rate) if (index(k, prefix) == 1 && rate[k] > b) { b = rate[k]; who = k }
    fastest[prefix] = who
    return b
  }
  function row(what, ours, base, label) { printf "%-40s %10d %10d %8.2f  %s\n", what, rate[ours], rate[base], rate[ours] / rate[base], label }
  function goal(text, ok) { printf "%-60s %s\n", text, ok ? "met" : "NOT met" }
  END {
    printf "%-40s %10s %10s %8s\n", "measure (ops/s, one core)", "vrs", "reference", "ratio"
    row("SHC issue vs ring sign", "shc.issue", "ring.sign.shc", "")
    row("SHC verify vs ring verify", "shc.verify", "ring.verify.shc", "")
    row("DCC issue vs ring sign", "dcc.issue", "ring.sign.dcc", "")
    row("DCC verify vs ring verify", "dcc.verify", "ring.verify.dcc", "")
    shc_peer = best("peer.shc."); dcc_peer = best("peer.dcc.")
    row("SHC issue vs fastest peer", "shc.issue", fastest["peer.shc."], "(" fastest["peer.shc."] ")")
    row("DCC issue vs fastest peer", "dcc.issue", fastest["peer.dcc."], "(" fastest["peer.dcc."] ")")
    row("es256 sign (ours) vs ring sign", "es256.sign", "ring.sign.shc", "")
    row("es256 verify (ours) vs ring verify", "es256.verify", "ring.verify.shc", "")
    for (k in rate) if (k ~ /^peer\.shc\./) row("SHC issue vs " k, "shc.issue", k, "")
    for (k in rate) if (k ~ /^peer\.dcc\./) row("DCC issue vs " k, "dcc.issue", k, "")
    printf "%-40s %10d\n", "SHC QR matrix (shc::qr_code)", rate["shc.qr"]
    printf "%-40s %10d\n", "DCC QR matrix (dcc::qr_code)", rate["dcc.qr"]
    print ""
    goal("SHC issue >= 60 % of raw sign", rate["shc.issue"] >= 0.6 * rate["ring.sign.shc"])
    goal("SHC issue >= 8x the fastest peer", rate["shc.issue"] >= 8 * shc_peer)
    goal("SHC verify >= 60 % of raw verify", rate["shc.verify"] >= 0.6 * rate["ring.verify.shc"])
    goal("DCC issue >= 60 % of raw sign", rate["dcc.issue"] >= 0.6 * rate["ring.sign.dcc"])
    goal("DCC issue >= 8x the fastest peer", rate["dcc.issue"] >= 8 * dcc_peer)
    goal("DCC verify >= 60 % of raw verify", rate["dcc.verify"] >= 0.6 * rate["ring.verify.dcc"])
  }' "$OUT/vrs.txt" "$OUT/peers.txt" | tee "$OUT/table.txt"

#!/usr/bin/env bash
# Property-based tests of the JSON API against its own OpenAPI document, with schemathesis (PyPI,
# pinned by hash in .ci/schemathesis-requirements.txt): a demo deployment on a loopback port, then
# one run per signed-in role whose API the document lists (the vaccination site's tablet, municipal
# staff, the certificate service). Fails on any server error (5xx) or any answer that does not
# match the document's schema.
#
#   .ci/schemathesis.sh VRS_BINARY VENV_DIR
set -euo pipefail
vrs=$(realpath "$1")
venv=$(realpath -m "$2")
[ -x "$venv/bin/schemathesis" ] || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
    -r "$(dirname "$0")/schemathesis-requirements.txt"
}

work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
"$vrs" demo --listen "127.0.0.1:$port" --dir "$work/demo" --targets 50 >"$work/demo.log" 2>&1 &
demo=$!
trap 'kill "$demo" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do
  curl -sf "$base/healthz" >/dev/null && break
  kill -0 "$demo" 2>/dev/null || { cat "$work/demo.log"; exit 1; }
  sleep 1
done
curl -sf "$base/healthz" >/dev/null

csrf_of() { # the hidden CSRF field of a page, with the cookie jar $1
  curl -sf -c "$1" -b "$1" "$base$2" | grep -o 'name="csrf" value="[^"]*"' | head -n 1 |
    sed 's/.*value="//; s/"$//'
}

for user in saijo-tablet saijo-staff kiosk; do
  jar="$work/$user.jar"
  password=$(awk -v u="$user" '$1 == u { print $2 }' "$work/demo.log")
  [ -n "$password" ] || { echo "no demo password for $user" >&2; exit 1; }
  login_csrf=$(csrf_of "$jar" /login)
  status=$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" \
    --data-urlencode "user_id=$user" --data-urlencode "password=$password" \
    --data-urlencode "csrf=$login_csrf" "$base/login")
  [ "$status" = 303 ] || { echo "sign-in as $user answered $status" >&2; exit 1; }
  session=$(awk '$6 == "vrs_session" { print $7 }' "$jar")
  token=$(csrf_of "$jar" /)
  [ -n "$session" ] && [ -n "$token" ] || { echo "no session for $user" >&2; exit 1; }
  echo "== schemathesis as $user"
  # (in the scratch directory: schemathesis keeps a .schemathesis folder where it runs)
  (cd "$work" && "$venv/bin/schemathesis" --no-color run "$base/api/openapi.json" \
    -H "Cookie: vrs_session=$session" -H "X-CSRF-Token: $token" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples 50 --generation-deterministic --request-timeout 30)
done

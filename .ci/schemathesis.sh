#!/usr/bin/env bash
# Property-based tests of the JSON API against its own OpenAPI document, with schemathesis (PyPI,
# pinned by hash in .ci/schemathesis-requirements.txt): a demo deployment on a loopback port, then
# one run per role whose API the document lists (the vaccination site's tablet, municipal staff,
# the certificate service), each once with a signed-in session and once as a machine client with a
# bearer token. Every check runs (.ci/schemathesis.toml says which answers a request that fits the
# document may get): no server error, no answer outside the document's schemas or statuses, no
# request that fits the document refused as malformed, no undeclared method answered but 405.
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

st() { # schemathesis with every check, from the scratch directory (it keeps a .schemathesis folder)
  (cd "$work" && "$venv/bin/schemathesis" --config-file "$config" --no-color run \
    "$base/api/openapi.json" "$@" --checks all \
    --max-examples 50 --generation-deterministic --request-timeout 30)
}
config=$(realpath "$(dirname "$0")/schemathesis.toml")
db=(--database "sqlite://$work/demo/vrs.db" --key-file "$work/demo/master.key")

# Tokens first, for each account as a machine client (its key registered with every scope its role
# may use, a token for a signed assertion): the session runs below hammer /oauth/token too, past its
# per-address limit. A token lives five minutes, longer than the runs.
declare -A bearer scopes_of
scopes_of[saijo-tablet]="coupons.read doses.write"
scopes_of[saijo-staff]="statistics.read inquiries.send targets.import system/Immunization.write system/Patient.read"
scopes_of[kiosk]="certificates.issue"
token_url=$(curl -sf "$base/.well-known/smart-configuration" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token_endpoint"])')
for user in saijo-tablet saijo-staff kiosk; do
  "$vrs" "${db[@]}" clients key "$user" --out "$work" >/dev/null
  "$vrs" "${db[@]}" clients add "$user" --jwks "$work/$user.jwks.json" \
    --scopes "${scopes_of[$user]}" >/dev/null
  assertion=$("$vrs" clients assertion --key "$work/$user.key.pem" --client "$user" --aud "$token_url")
  bearer[$user]=$(curl -s "$base/oauth/token" --data-urlencode grant_type=client_credentials \
    --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
    --data-urlencode "client_assertion=$assertion" |
    tee "$work/token.json" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("access_token", ""))')
  [ -n "${bearer[$user]}" ] || { echo "no token for $user: $(cat "$work/token.json")" >&2; exit 1; }
done

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
  echo "== schemathesis as $user (session)"
  st -H "Cookie: vrs_session=$session" -H "X-CSRF-Token: $token"

  echo "== schemathesis as $user (bearer token: ${scopes_of[$user]})"
  st -H "Authorization: Bearer ${bearer[$user]}"
done

#!/usr/bin/env bash
# Fuzzes every parser of outside input with libFuzzer (cargo fuzz, nightly):
#
#   fuzz/run.sh SECONDS [TARGET…]      (default: every target, 60 seconds each)
#
# Each target starts from seeds the project makes itself (written to fuzz/corpus/TARGET, which
# also keeps what the fuzzer finds; not committed) and, where they exist, the public vectors in
# ../shared/testdata, read in place as extra corpus directories. A crash stops the run with the
# input saved under fuzz/artifacts/TARGET; each one found becomes a regression test. The last
# line of each target's output (executions, coverage) is printed as its figure.
set -euo pipefail
cd "$(dirname "$0")"
EACH=${1:-60}
shift || true
ALL=(targets_csv doses_csv dose_form identifiers mrz certificate_code hl7 fhir backup_file x509 oauth)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
SHARED=$(realpath -m ../../shared/testdata)

cargo +nightly fuzz build -O

seed() { # seed TARGET NAME CONTENT
  mkdir -p "corpus/$1"
  printf '%b' "$3" > "corpus/$1/$2"
}
seed identifiers wareki '令和3年5月18日'
seed identifiers western '2021-05-18'
seed identifiers coupon '382060-0000000123'
seed identifiers ocr '113820600000000123'
seed identifiers mynumber '123456789018'
seed identifiers cert 'URN:UVCI:01:JP:VRS/382060/ABCDEFGHJK#7'
seed mrz specimen 'P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10'
seed hl7 z34 '\x0bMSH|^~\\&|EHR|Clinic|VRS|382060|20210801||QBP^Q11^QBP_Q11|Q1|P|2.5.1\rQPD|Z34^Request Immunization History^CDCPHINVS|Q-Q1|100000^^^382060^PI|||19450503\rRCP|I|5^RD&Records&HL70126\r\x1c\r'
seed hl7 vxu 'MSH|^~\\&|EHR|Clinic|VRS|382060|20210801||VXU^V04^VXU_V04|V1|P|2.5.1\rPID|1||100000^^^382060^PI||真鍋^恵子||19450503|F\rORC|RE\rRXA|0|1|20210601|20210601|208^Comirnaty^CVX|999|||00^New^NIP001||||||FA4597\r'
seed fhir immunization '{"resourceType":"Immunization","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"208"}]},"patient":{"reference":"Patient/382060-100000"},"occurrenceDateTime":"2021-06-01","lotNumber":"FA4597","protocolApplied":[{"doseNumberPositiveInt":1}]}'
seed fhir patient_id '382060-100000'
seed certificate_code file '{"verifiableCredential":["e30.e30.e30"]}'
seed dose_form tablet '2\x1f令和3年6月1日\x1fcomirnaty\x1fFA4597\x1f\x1f西条市総合文化会館\x1f山田 太郎'
seed doses_csv header 'coupon,dose_number,administered_on,product,lot_number\n382060-0000000123,1,2021-06-01,comirnaty,FA4597\n'
seed backup_file empty 'VRSBACKUP'
seed oauth jwks '{"keys":[{"kty":"EC","crv":"P-256","x":"11XvRWy1I2S0EyJlyf_bWfw_TQ5CJJNLw78bHXNxcgw","y":"eZXwxvO1hvCY0KucrPfKo7yAyMT6Ajc3N7OkAB6VYy8","kid":"k1","alg":"ES256"}]}'
seed oauth assertion 'eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJlaHIiLCJzdWIiOiJlaHIiLCJhdWQiOiJodHRwczovL3Zycy5leGFtcGxlLmpwL29hdXRoL3Rva2VuIiwiZXhwIjoxODAwMDAwMTAwLCJqdGkiOiIxIn0.AAAA'
seed x509 pem '-----BEGIN X509 CRL-----\nMA==\n-----END X509 CRL-----\n'
# The project's own generator: synthetic targets files.
mkdir -p corpus/targets_csv
(cd .. && cargo run -q -p vrs -- gen targets --municipality 382060 --count 30 --seed 7 \
  --out fuzz/corpus/targets_csv/generated.csv) || true

# A real backup file of a small area, made by the project's own commands in a throwaway
# deployment (the backup reader's seed beyond the header).
if [ ! -s corpus/backup_file/area.vrsbak ]; then
  scratch=$(mktemp -d)
  (cd .. && export VRS_DATABASE_URL="sqlite://$scratch/vrs.db" VRS_KEY_FILE="$scratch/master.key" \
    && cargo run -q -p vrs -- init >/dev/null \
    && cargo run -q -p vrs -- gen targets --municipality 382060 --count 5 --seed 3 \
         --out "$scratch/targets.csv" >/dev/null \
    && cargo run -q -p vrs -- import targets "$scratch/targets.csv" --municipality 382060 >/dev/null \
    && cargo run -q -p vrs -- backup --municipality 382060 --out "$scratch/area.vrsbak" >/dev/null \
    && cp "$scratch/area.vrsbak" fuzz/corpus/backup_file/area.vrsbak) \
    || echo "(no backup seed: the vrs commands failed)"
  rm -rf "$scratch"
fi

# Pictures and texts of real EU DCC QR codes: the public test vectors' 2DCODE (PNG) and PREFIX
# (HC1:…), decoded into the corpus at run time (the corpus is not committed).
if [ -d "$SHARED/dcc" ]; then
  python3 - "$SHARED/dcc" corpus/certificate_code <<'PY'
import base64, json, pathlib, sys
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for i, f in enumerate(sorted(src.glob("*/*.json"))[:40]):
    try:
        v = json.loads(f.read_text())
    except (ValueError, UnicodeDecodeError):
        continue
    if isinstance(v.get("2DCODE"), str):
        (out / f"dcc-{i}.png").write_bytes(base64.b64decode(v["2DCODE"]))
    if isinstance(v.get("PREFIX"), str):
        (out / f"dcc-{i}.txt").write_text(v["PREFIX"])
PY
fi

extra() { # the shared vectors a target reads in place
  case "$1" in
    certificate_code) echo "$SHARED/shc/examples" ;;
    mrz) echo "$SHARED/mrz" ;;
    targets_csv) echo "$SHARED/targets" ;;
    *) ;;
  esac
}

for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  dirs=("corpus/$t")
  for d in $(extra "$t"); do [ -d "$d" ] && dirs+=("$d"); done
  echo "== $t (${EACH}s)"
  cargo +nightly fuzz run -O "$t" "${dirs[@]}" -- \
    -max_total_time="$EACH" -max_len=65536 -rss_limit_mb=2048 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 2>&1 \
    | grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|Done)' \
    || true
  if ls "artifacts/$t"/crash-* >/dev/null 2>&1; then
    echo "CRASH in $t: $(ls artifacts/$t/crash-*)"
    exit 1
  fi
done

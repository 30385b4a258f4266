"""Checks the HL7 v2.5.1 answers of VRS (ACK, RSP^K11) with hl7apy at validation level STRICT,
then with the rules of HL7 2.5.1 that hl7apy's definitions leave out.

Reads a JSON list of {"name": ..., "text": ...} on standard input (each text an ER7 message,
segments ended by CR) and writes a JSON list of {"name": ..., "problems": [...]} on standard
output; a message without problems has an empty list.

What hl7apy checks, at STRICT: the message structure named in MSH-9.3 (required segments, their
order and groups), the fields each segment may have and those it requires, every field's data
type and its components, value formats (TS/DTM, NM, SI), the base data types' lengths (IS 20,
ST 199, TX 65536) and, for ID fields, their HL7 tables. Its validation report gives every error
and warning; both count as problems here. hl7apy silently leaves out a segment its structure has
no place for, so every segment must also be placed.

HL7 2.5.1's RSP_K11 ends with the query's own segments, which the standard leaves to the query
profile. In the CDC profile Z32 these are a person and their doses laid out as in VXU_V04 (PID,
then per dose ORC, RXA, RXR, OBX), so they are checked by hl7apy as the VXU_V04 structure under
the same MSH. A Z33 answer (nobody found) has nothing after QPD.

Rules added here (HL7 2.5.1 field lengths and tables hl7apy does not apply): MSH-10 and MSA-2 at
most 20 characters; MSH-11 from table 0103, MSA-1 from table 0008; ERR-2 a location `SEG^n[^f]`
with a three-character segment id and positive numbers; ERR-3 from table 0357, coded HL70357;
ERR-4 from table 0516; ERR-8 at most 250 characters and without twelve digits in a row (a My
Number); QAK-1 and QPD-2 at most 32 characters; QAK-2 from table 0208; RXA-4 present and RXA-5
coded CVX; RXA-17, when present, an MVX code.
"""

import json
import os
import re
import sys
import tempfile

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

STRICT = VALIDATION_LEVEL.STRICT
TABLE_0008 = {"AA", "AE", "AR", "CA", "CE", "CR"}
TABLE_0103 = {"D", "P", "T"}
TABLE_0208 = {"OK", "NF", "AE", "AR"}
TABLE_0357 = {"0", "100", "101", "102", "103", "200", "201", "202", "203", "204", "205", "206", "207"}
TABLE_0516 = {"E", "I", "W"}


def segments(text):
    return [s for s in text.split("\r") if s]


def fields(segment):
    """Fields by HL7 number: fields[1] is MSH-1 for MSH, else the first field."""
    parts = segment.split("|")
    if parts[0] == "MSH":
        return ["MSH", "|"] + parts[1:]
    return parts


def field(segment, n):
    f = fields(segment)
    return f[n] if n < len(f) else ""


def component(value, n):
    c = value.split("~")[0].split("^")
    return c[n - 1] if n - 1 < len(c) else ""


def unescaped(value):
    """The text of an ER7 value: lengths count characters, not escape sequences."""
    for code, char in (("F", "|"), ("S", "^"), ("T", "&"), ("R", "~"), ("E", "\\")):
        value = value.replace(f"\\{code}\\", char)
    return value


def placed(element):
    if element.classname == "Segment":
        return 1
    return sum(placed(c) for c in element.children)


def strict(text):
    """hl7apy STRICT: parse errors, the validation report's errors and warnings, unplaced segments."""
    try:
        message = parse_message(text, validation_level=STRICT, find_groups=True)
    except Exception as e:  # any refusal of the parser is a finding
        return [f"hl7apy parse: {type(e).__name__}: {e}"]
    problems = []
    fd, report = tempfile.mkstemp(suffix=".txt")
    os.close(fd)
    try:
        try:
            message.validate(report_file=report)
        except Exception:
            pass  # validate raises the first error; the report holds them all
        with open(report, encoding="utf-8") as f:
            problems += [f"hl7apy: {line.strip()}" for line in f if line.strip()]
    finally:
        os.remove(report)
    missing = len(segments(text)) - placed(message)
    if missing:
        problems.append(f"hl7apy: {missing} segment(s) have no place in {message.name}")
    return problems


def check(text):
    segs = segments(text)
    if not segs or not segs[0].startswith("MSH|"):
        return ["the message does not start with MSH"]
    msh = segs[0]
    structure = component(field(msh, 9), 3)
    profile = component(field(msh, 21), 1)
    ids = [s[:3] for s in segs]
    problems = []

    if structure == "RSP_K11":
        head = [s for s in segs if s[:3] in ("MSH", "MSA", "ERR", "QAK", "QPD")]
        body = segs[len(head):]
        if [s[:3] for s in segs[: len(head)]] != [s[:3] for s in head]:
            problems.append(f"RSP_K11: MSH MSA [ERR] QAK QPD must come first: {' '.join(ids)}")
        problems += strict("\r".join(head) + "\r")
        if profile == "Z33" and body:
            problems.append("Z33: nothing may follow QPD")
        if body:
            as_vxu = msh.replace(field(msh, 9), "VXU^V04^VXU_V04", 1)
            problems += [f"Z32 body: {p}" for p in strict("\r".join([as_vxu] + body) + "\r")]
    else:
        problems += strict(text)

    def rule(ok, what):
        if not ok:
            problems.append(what)

    rule(len(field(msh, 10)) <= 20, f"MSH-10 longer than 20: {field(msh, 10)!r}")
    rule(component(field(msh, 11), 1) in TABLE_0103, "MSH-11 not in table 0103")
    for seg in segs:
        sid = seg[:3]
        if sid == "MSA":
            rule(field(seg, 1) in TABLE_0008, "MSA-1 not in table 0008")
            rule(len(field(seg, 2)) <= 20, "MSA-2 longer than 20")
        elif sid == "ERR":
            location = field(seg, 2)
            rule(
                re.fullmatch(r"[A-Za-z0-9?]{3}\^[1-9][0-9]*(\^[1-9][0-9]*)?", location) is not None,
                f"ERR-2 is not SEG^n[^f]: {location[:60]!r}",
            )
            rule(component(field(seg, 3), 1) in TABLE_0357, "ERR-3.1 not in table 0357")
            rule(component(field(seg, 3), 3) == "HL70357", "ERR-3.3 is not HL70357")
            rule(field(seg, 4) in TABLE_0516, "ERR-4 not in table 0516")
            message = unescaped(field(seg, 8))
            rule(len(message) <= 250, f"ERR-8 longer than 250: {len(message)} characters")
            rule(re.search(r"[0-9]{12}", message) is None, "ERR-8 holds twelve digits in a row")
        elif sid == "QAK":
            rule(len(field(seg, 1)) <= 32, "QAK-1 longer than 32")
            rule(field(seg, 2) in TABLE_0208, "QAK-2 not in table 0208")
        elif sid == "QPD":
            rule(len(field(seg, 2)) <= 32, "QPD-2 longer than 32")
        elif sid == "RXA":
            rule(field(seg, 4) != "", "RXA-4 is empty")
            rule(component(field(seg, 5), 3) == "CVX", "RXA-5 is not coded in CVX")
            maker = field(seg, 17)
            if maker:
                rule(
                    re.fullmatch(r"[A-Z]{2,3}", component(maker, 1)) is not None
                    and component(maker, 3) == "MVX",
                    f"RXA-17 is not an MVX code: {maker!r}",
                )
    return problems


def main():
    messages = json.load(sys.stdin)
    out = [{"name": m["name"], "problems": check(m["text"])} for m in messages]
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()

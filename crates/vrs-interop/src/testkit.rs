//! Test support (feature `testkit`): checks HL7 v2 answers with hl7apy, the Python HL7 library, at
//! validation level STRICT, plus the HL7 2.5.1 rules hl7apy's definitions leave out — the script
//! `testkit/hl7apy_check.py` says which. Used by the HL7 tests of this crate and of the server.
//!
//! The Python interpreter is `VRS_HL7APY_PYTHON` (CI installs a pinned hl7apy in a virtual
//! environment under the target directory and sets it), else `target/hl7apy-venv/bin/python` of
//! the workspace, else `python3`; the first that imports hl7apy is used. When none does, the checks
//! are skipped with a message, except under CI (`CI` set) or with `VRS_REQUIRE_HL7APY=1`, where
//! they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The checking script, run with `python -c`.
const SCRIPT: &str = include_str!("testkit/hl7apy_check.py");

/// The findings every answer of VRS has by design, each with why it stays.
pub const ACCEPTED: &[(&str, &str)] = &[
    (
        "Value HL70357 not in table HL70396 in element ERR_3.CWE_3",
        "HL7 2.5.1 table 0396 names an HL7 table `HL7nnnn`, nnnn its number; hl7apy compares \
         with the pattern `HL7nnnn` literally",
    ),
    (
        "Value CDCPHINVS not in table HL70396 in element QAK_3.CE_3",
        "the CDC immunization guide codes the query name Z34 in its own system CDCPHINVS",
    ),
    (
        "Value CDCPHINVS not in table HL70396 in element QPD_1.CE_3",
        "the CDC immunization guide codes the query name Z34 in its own system CDCPHINVS",
    ),
    (
        "Value NIP001 not in table HL70396 in element RXA_9.CE_3",
        "the CDC immunization guide codes the information source (RXA-9) in its system NIP001",
    ),
    (
        "Value VRS not in table HL70396 in element RXA_5.CE_6",
        "the VRS product code is the alternate identifier of RXA-5 with coding system `VRS`, \
         as VXU messages send it (docs/interop.md); 2.5.1 would name a local system `99zzz`",
    ),
];

/// What one message was found to have against the rules, beyond [`ACCEPTED`].
#[derive(Debug)]
pub struct Finding {
    pub name: String,
    pub problems: Vec<String>,
}

/// Whether a missing hl7apy fails the tests rather than skipping the checks.
pub fn hl7apy_required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var("VRS_REQUIRE_HL7APY").is_ok_and(|v| v == "1")
}

/// A Python interpreter that imports hl7apy, if there is one.
pub fn hl7apy_python() -> Option<PathBuf> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var_os("VRS_HL7APY_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            workspace.join("target/hl7apy-venv/bin/python"),
            PathBuf::from("python3"),
        ])
        .find(|python| {
            Command::new(python)
                .args(["-c", "import hl7apy"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// Checks `(name, ER7 text)` messages; one finding per message, its problems without those of
/// [`ACCEPTED`]. `None` when hl7apy is not installed and not required (a message says so); a
/// panic when it is required but missing.
pub fn check_with_hl7apy(messages: &[(String, String)]) -> Option<Vec<Finding>> {
    let Some(python) = hl7apy_python() else {
        assert!(
            !hl7apy_required(),
            "hl7apy is required (CI or VRS_REQUIRE_HL7APY=1) but no Python interpreter imports it; \
             set VRS_HL7APY_PYTHON or run .ci/run"
        );
        eprintln!(
            "skipped: the hl7apy checks need hl7apy (pip install hl7apy==1.3.5, or set \
             VRS_HL7APY_PYTHON)"
        );
        return None;
    };
    let input = serde_json::Value::Array(
        messages
            .iter()
            .map(|(name, text)| serde_json::json!({"name": name, "text": text}))
            .collect(),
    );
    let mut child = Command::new(&python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    let mut stdin = child.stdin.take().unwrap();
    let body = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(body.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "the hl7apy check failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    Some(
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|f| Finding {
                name: f["name"].as_str().unwrap().to_owned(),
                problems: f["problems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap().to_owned())
                    .filter(|p| !ACCEPTED.iter().any(|(a, _)| p.ends_with(a)))
                    .collect(),
            })
            .collect(),
    )
}

//! `vrs cert verify FILE|-`: checks any certificate code offline — a SMART Health Card (`shc:/…`
//! or its JWS), an EU DCC (`HC1:…`), an ICAO VDS-NC seal (JSON), or a PNG or JPEG picture of one
//! of their QR codes — against the issuers, document signers and CSCAs given as options or in a
//! cached verifier bundle (`--bundle`, which also carries the revocation lists), at `--at` or now;
//! prints the kind, the certificate's ID, issuer, holder and doses — for a `.smart-health-card`
//! file, every credential in it, a blank line between. Exit 0 valid, 1 invalid or revoked (with the
//! reason), 2 bad arguments (naming the argument, and for a bundle the entry at fault). The checks
//! themselves are `vrs_cert::verify`.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use vrs_cert::verify::{verify_all, Trust, Verified, VerifierBundle};
use vrs_crypto::x509::Certificate;

use crate::context::CliError;

#[derive(clap::Subcommand, Debug)]
pub enum Cert {
    /// Verify a certificate code: SMART Health Card, EU DCC or ICAO VDS-NC, as text or a QR image.
    ///
    /// Trust comes from --issuer/--jwks, --signer and --csca, and from cached verifier bundles
    /// (--bundle, the server's /.well-known/vrs-verifier-bundle.json), which also carry the
    /// revocation lists: a revoked code is refused like any invalid one. Exit 0 valid, 1 invalid
    /// or revoked, 2 bad arguments.
    Verify(VerifyArgs),
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The code: a file holding shc:/…, a JWS, a .smart-health-card file, HC1:…, VDS-NC JSON, or
    /// a PNG or JPEG image of its QR code; - for standard input
    code: String,
    /// A SMART Health Card issuer URL (`iss`) to trust; each --issuer pairs with a --jwks, in order
    #[arg(long)]
    issuer: Vec<String>,
    /// That issuer's key set (its /.well-known/jwks.json), as a file
    #[arg(long)]
    jwks: Vec<PathBuf>,
    /// An EU DCC document signer certificate to trust (PEM or DER file)
    #[arg(long)]
    signer: Vec<PathBuf>,
    /// A CSCA certificate whose VDS-NC barcode signers to trust (PEM or DER file)
    #[arg(long)]
    csca: Vec<PathBuf>,
    /// A cached verifier bundle (the server's /.well-known/vrs-verifier-bundle.json): issuers,
    /// signers, CSCAs and the revocation lists, trusted with the other options
    #[arg(long)]
    bundle: Vec<PathBuf>,
    /// The time to verify at, RFC 3339 (e.g. 2021-05-21T12:00:00Z); default now
    #[arg(long, value_parser = rfc3339)]
    at: Option<DateTime<Utc>>,
}

fn rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 time: {e}"))
}

pub fn run(cert: &Cert) -> Result<(), CliError> {
    let Cert::Verify(args) = cert;
    let trust = trust(args)?;
    let input = if args.code == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::Input(format!("standard input: {e}")))?;
        bytes
    } else {
        std::fs::read(&args.code).map_err(|e| CliError::Input(format!("{}: {e}", args.code)))?
    };
    let at = args.at.unwrap_or_else(Utc::now);
    let verified =
        verify_all(&input, &trust, at).map_err(|e| CliError::Failure(format!("invalid: {e}")))?;
    let blocks: Vec<String> = verified.iter().map(summary).collect();
    print!("{}", blocks.join("\n"));
    Ok(())
}

/// The trust the options name; a file that cannot be read or parsed is a bad argument.
fn trust(args: &VerifyArgs) -> Result<Trust, CliError> {
    if args.issuer.len() != args.jwks.len() {
        return Err(CliError::Input(format!(
            "--issuer and --jwks come in pairs: {} --issuer and {} --jwks given",
            args.issuer.len(),
            args.jwks.len()
        )));
    }
    let mut trust = Trust::new();
    for (url, path) in args.issuer.iter().zip(&args.jwks) {
        let bad = |e: String| CliError::Input(format!("--jwks {}: {e}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let jwks: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        trust.add_shc_issuer(url, &jwks);
    }
    for path in &args.signer {
        trust.add_document_signer(certificate("--signer", path)?);
    }
    for path in &args.csca {
        trust.add_csca(certificate("--csca", path)?);
    }
    for path in &args.bundle {
        let bad = |e: String| CliError::Input(format!("--bundle {}: {e}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let bundle = VerifierBundle::from_json(&text).map_err(|e| bad(e.to_string()))?;
        trust.add_bundle(&bundle).map_err(|e| bad(e.to_string()))?;
        eprintln!(
            "revocations as of {} (--bundle {})",
            bundle.generated_at.to_rfc3339(),
            path.display()
        );
    }
    for (issuer, kid, version) in trust.shc_crls_missing() {
        eprintln!(
            "warning: {issuer} publishes a revocation list (version {version}) for key {kid} that \
             was not given; revoked cards of that key are not recognised (give --bundle)"
        );
    }
    Ok(trust)
}

/// A certificate file: DER, or PEM / bare base64 of the DER.
fn certificate(flag: &str, path: &Path) -> Result<Certificate, CliError> {
    let bad = |e: String| CliError::Input(format!("{flag} {}: {e}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    // DER opens with a SEQUENCE tag (0x30); PEM and base64 text never start with the digit 0.
    if bytes.first() == Some(&0x30) {
        Certificate::from_der(&bytes)
    } else {
        Certificate::from_base64(&String::from_utf8_lossy(&bytes))
    }
    .map_err(|e| bad(e.to_string()))
}

/// One certificate's lines, each ended by a newline.
fn summary(v: &Verified) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!("valid: {}", v.kind));
    line(format!("id: {}", v.id.as_deref().unwrap_or("(none)")));
    line(format!("issuer: {}", v.issuer));
    line(format!("holder: {}", v.holder_name));
    line(format!("birth date: {}", v.birth_date));
    if let Some(expires) = v.expires {
        line(format!("expires: {}", expires.to_rfc3339()));
    }
    if v.doses.is_empty() {
        line("doses: none".into());
    }
    for dose in &v.doses {
        let number = dose
            .dose_number
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        let lot = dose
            .lot
            .as_deref()
            .map(|lot| format!(", lot {lot}"))
            .unwrap_or_default();
        line(format!("dose{number}: {} {}{lot}", dose.date, dose.product));
    }
    out
}

//! `vrs cert verify FILE|- --issuer URL --jwks FILE`: checks a SMART Health Card (`shc:/…` text or
//! a compact JWS) against a trusted issuer's published key set; prints the issuer, the holder and
//! the doses. Exit 0 valid, 1 invalid (with the reason), 2 bad arguments.

use std::io::Read;
use std::path::PathBuf;

use vrs_interop::shc::{decode_qr, verify_jws, Issuer};

use crate::context::CliError;

#[derive(clap::Subcommand, Debug)]
pub enum Cert {
    /// Verify a SMART Health Card.
    Verify(VerifyArgs),
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The card: a file holding `shc:/…` or a JWS, or - for standard input
    card: String,
    /// The issuer URL (`iss`) to trust
    #[arg(long)]
    issuer: String,
    /// The issuer's key set (its /.well-known/jwks.json), as a file
    #[arg(long)]
    jwks: PathBuf,
}

pub fn run(cert: &Cert) -> Result<(), CliError> {
    let Cert::Verify(args) = cert;
    let text = if args.card == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::Input(format!("standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(&args.card)
            .map_err(|e| CliError::Input(format!("{}: {e}", args.card)))?
    };
    let jwks: serde_json::Value = std::fs::read_to_string(&args.jwks)
        .map_err(|e| CliError::Input(format!("--jwks {}: {e}", args.jwks.display())))
        .and_then(|t| {
            serde_json::from_str(&t)
                .map_err(|e| CliError::Input(format!("--jwks {}: {e}", args.jwks.display())))
        })?;
    let trusted = [Issuer::from_jwks(&args.issuer, &jwks)];
    let text = text.trim();
    let jws = if text.starts_with("shc:/") {
        decode_qr(text).map_err(|e| CliError::Failure(format!("invalid: {e}")))?
    } else {
        text.to_owned()
    };
    let card =
        verify_jws(&jws, &trusted).map_err(|e| CliError::Failure(format!("invalid: {e}")))?;
    println!("valid: issued by {} (key {})", card.issuer, card.kid);
    for entry in card.bundle()["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let r = &entry["resource"];
        match r["resourceType"].as_str() {
            Some("Patient") => println!(
                "holder: {} {} (born {})",
                r["name"][0]["family"].as_str().unwrap_or_default(),
                r["name"][0]["given"][0].as_str().unwrap_or_default(),
                r["birthDate"].as_str().unwrap_or_default()
            ),
            Some("Immunization") => println!(
                "dose: {} CVX {} lot {}",
                r["occurrenceDateTime"].as_str().unwrap_or_default(),
                r["vaccineCode"]["coding"][0]["code"]
                    .as_str()
                    .unwrap_or_default(),
                r["lotNumber"].as_str().unwrap_or_default()
            ),
            _ => {}
        }
    }
    Ok(())
}

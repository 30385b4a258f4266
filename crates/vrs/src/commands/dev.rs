//! Tools for demonstrations and tests that stand in for what lives outside the system:
//! `vrs dev card` makes the data a resident's My Number card gives the certificate app — the four
//! items and the My Number, signed by a test card issuer — as the body of
//! `POST /api/v1/app/certificates`, and the test issuer's certificate for `card_trust_anchors`.
//! The test issuer is kept in the output folder and reused, so one anchor trusts every test card.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use vrs_core::certificates::app::CardData;
use vrs_crypto::es256::SigningKey;
use vrs_crypto::pki::{issue_document_signer, Csca};
use vrs_domain::{MunicipalityCode, MyNumber};

use crate::context::CliError;

#[derive(clap::Subcommand, Debug)]
pub enum Dev {
    /// Write test My Number card data signed by a test card issuer (application.json) and the
    /// issuer's certificate (card-issuer.der, for `card_trust_anchors`).
    Card(CardArgs),
}

#[derive(clap::Args, Debug)]
pub struct CardArgs {
    /// The folder to write into (created; the test issuer in it is reused)
    #[arg(long)]
    out: PathBuf,
    /// The municipality asked to issue (自治体コード)
    #[arg(long)]
    municipality: String,
    /// The card holder's My Number (12 digits)
    #[arg(long)]
    my_number: String,
    /// The name as on the card
    #[arg(long)]
    name: String,
    /// The birth date as on the card (YYYY-MM-DD)
    #[arg(long)]
    birth_date: String,
    #[arg(long, default_value = "東京都千代田区霞が関1-1")]
    address: String,
    /// 1 male, 2 female, 3 other
    #[arg(long, default_value_t = 1)]
    sex: u8,
    /// `domestic` or `overseas`
    #[arg(long, default_value = "domestic")]
    kind: String,
}

const ISSUER_CERT: &str = "card-issuer.der";
const ISSUER_KEY: &str = "card-issuer.key";
const SIGNER_CERT: &str = "card-signer.der";
const SIGNER_KEY: &str = "card-signer.key";

fn input(arg: &str, e: impl std::fmt::Display) -> CliError {
    CliError::Input(format!("--{arg}: {e}"))
}

/// Writes a file only its owner can read (0600): the private keys, and the application that
/// carries a My Number. An existing file is narrowed to 0600 too.
fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write as _;
    let failed = |e: std::io::Error| input("out", format!("{}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(failed)?;
        }
    }
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(failed)
}

/// The folder's test card signer (certificate and key), made with its issuer when absent.
fn signer(dir: &Path) -> Result<(Vec<u8>, SigningKey), CliError> {
    let (cert, key) = (dir.join(SIGNER_CERT), dir.join(SIGNER_KEY));
    if cert.exists() && key.exists() {
        let der = std::fs::read(&cert).map_err(|e| input("out", e))?;
        let pkcs8 = std::fs::read(&key).map_err(|e| input("out", e))?;
        let key = SigningKey::from_pkcs8(&pkcs8).map_err(|e| input("out", e))?;
        return Ok((der, key));
    }
    let now = chrono::Utc::now().timestamp() - 3600;
    let failure = |e: vrs_crypto::pki::PkiError| CliError::Failure(e.to_string());
    let issuer = Csca::create("VRS test card issuer", now).map_err(failure)?;
    let signer = issue_document_signer(
        &issuer.certificate_der,
        &issuer.private_key_pkcs8,
        "VRS test card signer",
        "JP",
        "My Number card data",
        now,
    )
    .map_err(failure)?;
    write(&dir.join(ISSUER_CERT), &issuer.certificate_der)?;
    write(&dir.join(ISSUER_KEY), &issuer.private_key_pkcs8)?;
    write(&cert, &signer.certificate_der)?;
    write(&key, &signer.private_key_pkcs8)?;
    let key = SigningKey::from_pkcs8(&signer.private_key_pkcs8)
        .map_err(|e| CliError::Failure(e.to_string()))?;
    Ok((signer.certificate_der, key))
}

pub fn run(dev: &Dev) -> Result<(), CliError> {
    let Dev::Card(args) = dev;
    let municipality =
        MunicipalityCode::parse(args.municipality.trim()).map_err(|e| input("municipality", e))?;
    let my_number = MyNumber::parse(args.my_number.trim()).map_err(|e| input("my-number", e))?;
    let birth_date = chrono::NaiveDate::parse_from_str(args.birth_date.trim(), "%Y-%m-%d")
        .map_err(|_| input("birth-date", "not a date YYYY-MM-DD"))?;
    if !["domestic", "overseas"].contains(&args.kind.as_str()) {
        return Err(input("kind", "domestic or overseas"));
    }
    let card = CardData {
        my_number,
        name: args.name.clone(),
        address: args.address.clone(),
        birth_date,
        sex: args.sex,
    };
    let signed = card
        .signed_bytes()
        .ok_or_else(|| input("name", "no line breaks in card items"))?;
    std::fs::create_dir_all(&args.out).map_err(|e| input("out", e))?;
    let (certificate, key) = signer(&args.out)?;
    let signature = key
        .sign(&signed)
        .map_err(|e| CliError::Failure(e.to_string()))?;
    let body = serde_json::json!({
        "municipality": municipality.as_str(),
        "card": {
            "my_number": card.my_number.expose(),
            "name": card.name,
            "address": card.address,
            "birth_date": card.birth_date.to_string(),
            "sex": card.sex,
        },
        "signature_algorithm": "ES256",
        "signature": B64.encode(signature),
        "card_certificate": B64.encode(certificate),
        "kind": args.kind,
    });
    let path = args.out.join("application.json");
    write(&path, body.to_string().as_bytes())?;
    println!(
        "wrote {} and the test card issuer {} (add it to card_trust_anchors)",
        path.display(),
        args.out.join(ISSUER_CERT).display()
    );
    Ok(())
}

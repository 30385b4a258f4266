//! The certificate issuers' keys, from the operator's command line:
//!
//! - `vrs keys export --out FILE` / `vrs keys import FILE`: the key escrow kept with the master key;
//! - `vrs keys rotate --issuer I --purpose shc|dsc`: a new signing key, the old one still published;
//! - a CSCA held offline (docs/certificates.md): `vrs keys csca` and `vrs keys sign-request` run on
//!   the offline machine and touch no database; `vrs keys import-csca`, `vrs keys request` and
//!   `vrs keys import-dsc` run beside the deployment.

use std::path::{Path, PathBuf};

use vrs_core::backup;
use vrs_core::certificates::signing::offline;
use vrs_core::certificates::signing::{IssuerMode, IssuerSettings, SigningError};
use vrs_core::Actor;
use vrs_crypto::pki::{self, PkiError};
use vrs_crypto::x509::{der_from_der_or_pem, pem};

use super::backup::{backup_error, municipality, read, write_new};
use crate::context::{CliError, Context};

#[derive(clap::Subcommand, Debug)]
pub enum Keys {
    /// Write the key escrow file (the key vault's backup keys, wrapped by the master key).
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Load a key escrow file into this deployment's key vault.
    Import { file: PathBuf },
    /// Replace a certificate issuer's signing key; the old key stays published for verification.
    Rotate {
        /// The issuer: a municipality code, or `national`
        #[arg(long)]
        issuer: String,
        /// `shc` (SMART Health Card key) or `dsc` (EU DCC / VDS-NC document signer)
        #[arg(long)]
        purpose: String,
        /// The deployment's name in its certificates (as `deployment_name` in the server's settings)
        #[arg(long, default_value = "VRS")]
        deployment_name: String,
    },
    /// On the offline machine: make a CSCA, writing its certificate and its private key (PEM; the
    /// key file readable by its owner only). Nothing is stored in a database.
    Csca {
        /// The deployment's name in the CSCA (its subject is C=JP, O=NAME, CN=NAME CSCA)
        #[arg(long)]
        name: String,
        #[arg(long)]
        certificate: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// Make a CSCA certificate made offline (by `vrs keys csca` or the country's PKI) this
    /// deployment's CSCA. Its key stays offline; the CSCA before it stays published, retired.
    ImportCsca { certificate: PathBuf },
    /// Make a new document signer key for an issuer and its certificate request for the offline
    /// CSCA: writes PREFIX.csr.pem (for the CSCA) and PREFIX.key.json (the key sealed under the
    /// master key; keep it until the certificate comes back).
    Request {
        /// The issuer: a municipality code, or `national`
        #[arg(long)]
        issuer: String,
        /// Where to write the two files, without extension
        #[arg(long)]
        out: PathBuf,
        /// The deployment's name in its certificates (as `deployment_name` in the server's settings)
        #[arg(long, default_value = "VRS")]
        deployment_name: String,
    },
    /// On the offline machine: sign a document signer request with the CSCA (`vrs keys csca`'s
    /// files), writing the signer's certificate (PEM).
    SignRequest {
        #[arg(long)]
        csca_certificate: PathBuf,
        #[arg(long)]
        csca_key: PathBuf,
        #[arg(long)]
        request: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Load the certificate the offline CSCA signed for a request: checked against the CSCA, the
    /// sealed key and the time, it then signs the issuer's EU DCC and VDS-NC codes.
    ImportDsc {
        /// The PREFIX.key.json `vrs keys request` wrote
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        certificate: PathBuf,
    },
}

pub async fn run_keys(context: &Context, keys: &Keys) -> Result<(), CliError> {
    match keys {
        Keys::Csca {
            name,
            certificate,
            key,
        } => return make_csca(name, certificate, key),
        Keys::SignRequest {
            csca_certificate,
            csca_key,
            request,
            out,
        } => return sign_request(csca_certificate, csca_key, request, out),
        _ => {}
    }
    let store = context.store().await?;
    let actor = Actor::command_line();
    let now = chrono::Utc::now();
    match keys {
        Keys::Csca { .. } | Keys::SignRequest { .. } => {}
        Keys::ImportCsca { certificate } => {
            let kid = offline::import_csca(store.as_ref(), &read(certificate)?, &actor, now)
                .await
                .map_err(signing_error)?;
            println!(
                "the CSCA is now {kid}, held offline; document signers come from \
                 `vrs keys request` and `vrs keys import-dsc`"
            );
        }
        Keys::Request {
            issuer,
            out,
            deployment_name,
        } => {
            let (master, _) = context.master_key(false)?;
            let (csr, pending) =
                offline::request_signer(&master, &issuer_settings(deployment_name), issuer, now)
                    .map_err(signing_error)?;
            let csr_path = with_suffix(out, ".csr.pem");
            let key_path = with_suffix(out, ".key.json");
            for path in [&csr_path, &key_path] {
                if path.exists() {
                    return Err(CliError::Input(format!(
                        "{}: the file exists",
                        path.display()
                    )));
                }
            }
            write_new(&key_path, &pending)?;
            write_new(&csr_path, pem("CERTIFICATE REQUEST", &csr).as_bytes())?;
            println!(
                "wrote {} for the CSCA and {} (the sealed key: keep it for `vrs keys import-dsc`)",
                csr_path.display(),
                key_path.display()
            );
        }
        Keys::ImportDsc { key, certificate } => {
            let (master, _) = context.master_key(false)?;
            let kid = offline::import_document_signer(
                store.as_ref(),
                &master,
                &read(key)?,
                &read(certificate)?,
                &actor,
                now,
            )
            .await
            .map_err(signing_error)?;
            println!("the document signer {kid} now signs; the one before it stays published");
        }
        Keys::Export { out } => {
            if out.exists() {
                return Err(CliError::Input(format!(
                    "--out {}: the file exists",
                    out.display()
                )));
            }
            let bytes = backup::export_escrow(store.as_ref(), &actor)
                .await
                .map_err(backup_error)?;
            write_new(out, &bytes)?;
            println!(
                "wrote the key escrow to {}; keep it with the master key, apart from backups",
                out.display()
            );
        }
        Keys::Import { file } => {
            let report = backup::import_escrow(store.as_ref(), &read(file)?, &actor)
                .await
                .map_err(backup_error)?;
            println!("{report}");
        }
        Keys::Rotate {
            issuer,
            purpose,
            deployment_name,
        } => {
            use vrs_core::certificates::signing::{self, NATIONAL};
            use vrs_store::KeyPurpose;
            if issuer != NATIONAL {
                municipality(issuer)?;
            }
            let purpose = match purpose.as_str() {
                "shc" => KeyPurpose::Shc,
                "dsc" => KeyPurpose::DocumentSigner,
                other => {
                    return Err(CliError::Input(format!(
                        "--purpose: {other:?} is not shc or dsc"
                    )))
                }
            };
            let kid = signing::rotate(
                store.as_ref(),
                &issuer_settings(deployment_name),
                issuer,
                purpose,
                &actor,
                now,
            )
            .await
            .map_err(signing_error)?;
            println!(
                "the new {} key of {issuer} is {kid}; the old one stays published",
                purpose.as_str()
            );
        }
    }
    Ok(())
}

/// Settings for making keys from the command line: nothing here signs a code with the issuer URL.
fn issuer_settings(deployment_name: &str) -> IssuerSettings {
    IssuerSettings {
        mode: IssuerMode::Municipality,
        base_url: String::new(),
        deployment_name: deployment_name.to_owned(),
        trial: false,
    }
}

fn signing_error(e: SigningError) -> CliError {
    match e {
        SigningError::Store(e) => CliError::from(e),
        SigningError::Refused(_) | SigningError::OfflineCsca(_) => CliError::Input(e.to_string()),
        SigningError::Key(_) => CliError::Failure(e.to_string()),
    }
}

fn pki_error(e: PkiError) -> CliError {
    CliError::Input(e.to_string())
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn make_csca(name: &str, certificate: &Path, key: &Path) -> Result<(), CliError> {
    for path in [certificate, key] {
        if path.exists() {
            return Err(CliError::Input(format!(
                "{}: the file exists",
                path.display()
            )));
        }
    }
    let made = pki::Csca::create(name, chrono::Utc::now().timestamp()).map_err(pki_error)?;
    write_new(key, pem("PRIVATE KEY", &made.private_key_pkcs8).as_bytes())?;
    write_new(
        certificate,
        pem("CERTIFICATE", &made.certificate_der).as_bytes(),
    )?;
    println!(
        "wrote the CSCA certificate to {} and its key to {}; the key stays on this machine",
        certificate.display(),
        key.display()
    );
    Ok(())
}

fn sign_request(
    csca_certificate: &Path,
    csca_key: &Path,
    request: &Path,
    out: &Path,
) -> Result<(), CliError> {
    if out.exists() {
        return Err(CliError::Input(format!(
            "--out {}: the file exists",
            out.display()
        )));
    }
    let decoded = |flag: &str, path: &Path| {
        der_from_der_or_pem(&read(path)?)
            .map_err(|e| CliError::Input(format!("{flag} {}: {e}", path.display())))
    };
    let csca = decoded("--csca-certificate", csca_certificate)?;
    let key = zeroize::Zeroizing::new(decoded("--csca-key", csca_key)?);
    let csr = decoded("--request", request)?;
    let signed = pki::request::sign_request(&csca, &key, &csr, chrono::Utc::now().timestamp())
        .map_err(pki_error)?;
    write_new(out, pem("CERTIFICATE", &signed).as_bytes())?;
    println!("wrote the document signer certificate to {}", out.display());
    Ok(())
}

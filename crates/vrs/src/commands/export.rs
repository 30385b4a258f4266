//! `vrs export doses --municipality CODE --format vrs-ledger|csv [--encoding utf-8|cp932]
//! [--out FILE]`: the municipality's doses in the VRS ledger layout or one row per dose. Never a My
//! Number, a name or a birth date. Without `--out` the file goes to standard output.

use std::io::Write;
use std::path::PathBuf;

use vrs_core::doses::export::{export_doses, DoseExport, ExportError, ExportFormat};
use vrs_core::Actor;
use vrs_interop::Encoding;

use crate::context::{municipality_arg, CliError, Context};

#[derive(clap::Subcommand, Debug)]
pub enum Export {
    /// The municipality's doses.
    Doses(DosesArgs),
}

#[derive(clap::Args, Debug)]
pub struct DosesArgs {
    /// The exporting municipality (6 digits)
    #[arg(long)]
    municipality: String,
    /// vrs-ledger (予防接種台帳向け出力, one row per person) or csv (one row per dose)
    #[arg(long, default_value = "vrs-ledger")]
    format: String,
    /// utf-8 or cp932
    #[arg(long, default_value = "cp932")]
    encoding: String,
    /// Write to this file instead of standard output
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn run(context: &Context, export: &Export) -> Result<(), CliError> {
    let Export::Doses(args) = export;
    let municipality = municipality_arg("--municipality", &args.municipality)?;
    let format: ExportFormat = args
        .format
        .parse()
        .map_err(|e| CliError::Input(format!("--format: {e}")))?;
    let encoding: Encoding = args
        .encoding
        .parse()
        .map_err(|e| CliError::Input(format!("--encoding: {e}")))?;
    let out: Box<dyn Write + Send> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| CliError::Input(format!("cannot create {}: {e}", path.display())))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let store = context.store().await?;
    let request = DoseExport {
        municipality,
        format,
        encoding,
    };
    let rows = export_doses(store, &Actor::command_line(), &request, out)
        .await
        .map_err(|e| match e {
            ExportError::Store(e) => CliError::from(e),
            other => CliError::Failure(other.to_string()),
        })?;
    let what = match format {
        ExportFormat::Ledger => "people",
        ExportFormat::Csv => "doses",
    };
    eprintln!(
        "{municipality}: {rows} {what} exported ({}, {})",
        format.name(),
        encoding.name()
    );
    Ok(())
}

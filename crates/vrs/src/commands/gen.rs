//! `vrs gen targets`: writes synthetic targets as a targets CSV (to a file or standard output).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use vrs_interop::{write_targets, Encoding, EncodingChoice, Synthetic};

use crate::context::{municipality_arg, CliError};

#[derive(clap::Subcommand, Debug)]
pub enum Gen {
    /// Synthetic targets (接種対象者) in the targets CSV format.
    Targets(TargetsArgs),
}

#[derive(clap::Args, Debug)]
pub struct TargetsArgs {
    /// Municipality code (6 digits)
    #[arg(long)]
    municipality: String,
    /// Number of people
    #[arg(long)]
    count: u64,
    /// utf-8 or cp932
    #[arg(long, default_value = "utf-8")]
    encoding: String,
    /// The same seed gives the same people
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file (standard output when absent)
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(gen: &Gen) -> Result<(), CliError> {
    let Gen::Targets(args) = gen;
    let municipality = municipality_arg("--municipality", &args.municipality)?;
    let encoding = match args.encoding.parse::<EncodingChoice>() {
        Ok(EncodingChoice::Known(e)) => e,
        Ok(EncodingChoice::Auto) => {
            return Err(CliError::Input(
                "--encoding: choose utf-8 or cp932 for output".into(),
            ))
        }
        Err(e) => return Err(CliError::Input(format!("--encoding: {e}"))),
    };
    let people = Synthetic::new(municipality, args.count, args.seed);
    // A file gets a summary line on standard error; standard output carries only the CSV.
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| CliError::Input(format!("cannot create {}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, &mut out);
    let n = write(&mut out, encoding, people)?;
    out.flush().map_err(io_failure)?;
    if let Some(path) = &args.out {
        eprintln!(
            "wrote {n} targets of {municipality} to {} ({})",
            path.display(),
            encoding.name()
        );
    }
    Ok(())
}

fn write(out: &mut impl Write, encoding: Encoding, people: Synthetic) -> Result<u64, CliError> {
    write_targets(out, encoding, people).map_err(io_failure)
}

fn io_failure(e: std::io::Error) -> CliError {
    CliError::Failure(format!("cannot write: {e}"))
}

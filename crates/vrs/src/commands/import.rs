//! `vrs import targets FILE --municipality CODE [--encoding auto] [--partial] [--errors OUT.csv]`
//! and `vrs import doses FILE --municipality CODE [--encoding auto] [--partial] [--errors OUT.csv]
//! [--as-of DATE]`.
//!
//! Exit 0 when the file was stored (with `--partial`, even if some rows were refused), 2 when it was
//! refused (nothing stored) or cannot be read.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use vrs_core::{import_targets, Actor, ImportError, ImportObserver, Problem, TargetImport};
use vrs_interop::EncodingChoice;

use crate::context::{municipality_arg, CliError, Context};

/// Problems printed to the terminal; the rest go only to `--errors`.
const SHOWN: u64 = 50;

#[derive(clap::Subcommand, Debug)]
pub enum Import {
    /// Targets (接種対象者) from a resident-registry CSV (UTF-8 or CP932).
    Targets(TargetsArgs),
    /// Doses (接種記録) from a CSV, e.g. OCR of 予診票 (UTF-8 or CP932).
    Doses(DosesArgs),
}

#[derive(clap::Args, Debug)]
pub struct DosesArgs {
    #[command(flatten)]
    common: TargetsArgs,
    /// The day the data-quality rules treat as today (default: today in Japan)
    #[arg(long)]
    as_of: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct TargetsArgs {
    /// The CSV file
    file: PathBuf,
    /// The importing municipality (6 digits); every row must carry it
    #[arg(long)]
    municipality: String,
    /// utf-8, cp932 or auto
    #[arg(long, default_value = "auto")]
    encoding: String,
    /// Store the good rows even if some rows are bad
    #[arg(long)]
    partial: bool,
    /// Write every refused row's line, column and reason to this CSV
    #[arg(long)]
    errors: Option<PathBuf>,
}

struct Observer {
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    shown: u64,
    errors: Option<csv::Writer<std::fs::File>>,
    write_failed: Option<String>,
}

impl ImportObserver for Observer {
    fn progress(&mut self, rows: u64, bytes: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(bytes);
                let secs = self.started.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!("{rows} rows, {:.0} rows/s", rows as f64 / secs));
            }
            None if self.last_line.elapsed().as_secs() >= 5 => {
                let secs = self.started.elapsed().as_secs_f64().max(0.001);
                eprintln!("{rows} rows read ({:.0} rows/s)", rows as f64 / secs);
                self.last_line = Instant::now();
            }
            None => {}
        }
    }

    fn problem(&mut self, p: &Problem) {
        if self.shown < SHOWN {
            let text = format!(
                "line {}: {}: {}",
                p.line,
                p.column.as_deref().unwrap_or("-"),
                p.reason
            );
            match &self.bar {
                Some(bar) => bar.println(text),
                None => eprintln!("{text}"),
            }
        }
        self.shown += 1;
        if let Some(w) = &mut self.errors {
            let line = p.line.to_string();
            if let Err(e) = w.write_record([
                line.as_str(),
                p.column.as_deref().unwrap_or(""),
                p.reason.ja.as_str(),
                p.reason.en.as_str(),
            ]) {
                self.write_failed = Some(e.to_string());
            }
        }
    }
}

/// What both imports open first: the municipality, the encoding, the file and its size, the
/// observer writing progress and problems.
fn prepare(
    args: &TargetsArgs,
) -> Result<
    (
        vrs_domain::MunicipalityCode,
        EncodingChoice,
        std::fs::File,
        Observer,
    ),
    CliError,
> {
    let municipality = municipality_arg("--municipality", &args.municipality)?;
    let encoding: EncodingChoice = args
        .encoding
        .parse()
        .map_err(|e| CliError::Input(format!("--encoding: {e}")))?;
    let file = std::fs::File::open(&args.file)
        .map_err(|e| CliError::Input(format!("cannot open {}: {e}", args.file.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let errors = match &args.errors {
        Some(path) => {
            let mut w = csv::Writer::from_path(path)
                .map_err(|e| CliError::Input(format!("cannot create {}: {e}", path.display())))?;
            w.write_record(["line", "column", "reason", "reason_en"])
                .map_err(|e| CliError::Failure(e.to_string()))?;
            Some(w)
        }
        None => None,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {msg} {per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let observer = Observer {
        bar,
        started: Instant::now(),
        last_line: Instant::now(),
        shown: 0,
        errors,
        write_failed: None,
    };
    Ok((municipality, encoding, file, observer))
}

fn source_name(args: &TargetsArgs) -> String {
    args.file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Closes the bar and the error report; tells how many problems were not printed.
fn finish(observer: &mut Observer) -> Result<(), CliError> {
    if let Some(bar) = &observer.bar {
        bar.finish_and_clear();
    }
    if let Some(mut w) = observer.errors.take() {
        w.flush()
            .map_err(|e| CliError::Failure(format!("cannot write the error report: {e}")))?;
    }
    if let Some(e) = observer.write_failed.take() {
        return Err(CliError::Failure(format!(
            "cannot write the error report: {e}"
        )));
    }
    if observer.shown > SHOWN {
        eprintln!("… and {} more problems", observer.shown - SHOWN);
    }
    Ok(())
}

fn import_error(file: &std::path::Path, e: ImportError) -> CliError {
    match e {
        ImportError::File(e) => CliError::Input(format!("{}: {e}", file.display())),
        ImportError::Store(e) => CliError::from(e),
        other => CliError::Failure(other.to_string()),
    }
}

pub async fn run(context: &Context, import: &Import) -> Result<(), CliError> {
    match import {
        Import::Targets(args) => targets(context, args).await,
        Import::Doses(args) => doses(context, args).await,
    }
}

async fn doses(context: &Context, args: &DosesArgs) -> Result<(), CliError> {
    let today = match &args.as_of {
        Some(d) => {
            vrs_domain::parse_date(d).map_err(|e| CliError::Input(format!("--as-of: {e}")))?
        }
        None => vrs_core::japan_today(),
    };
    let (municipality, encoding, file, mut observer) = prepare(&args.common)?;
    let store = context.store().await?;
    let request = vrs_core::doses::import::DoseImport {
        municipality,
        encoding,
        partial: args.common.partial,
        source_name: source_name(&args.common),
        today,
    };
    let started = Instant::now();
    let result = vrs_core::doses::import::import_doses(
        store.as_ref(),
        &Actor::command_line(),
        file,
        &request,
        &mut observer,
    )
    .await;
    finish(&mut observer)?;
    let report = result.map_err(|e| import_error(&args.common.file, e))?;
    let secs = started.elapsed().as_secs_f64();
    match report.added {
        Some(added) => {
            println!(
                "{municipality}: {} rows ({}) in {secs:.1} s: added {added}, unchanged {}, rejected {}{}",
                report.rows,
                report.encoding.name(),
                report.unchanged,
                report.rejected_rows,
                if added == 0 { " — nothing changed" } else { "" }
            );
            Ok(())
        }
        None => Err(CliError::Input(format!(
            "{} of {} rows are bad; nothing was stored (fix them, or use --partial to store the good rows)",
            report.rejected_rows, report.rows
        ))),
    }
}

async fn targets(context: &Context, args: &TargetsArgs) -> Result<(), CliError> {
    let (municipality, encoding, file, mut observer) = prepare(args)?;
    let store = context.store().await?;
    let request = TargetImport {
        municipality,
        encoding,
        partial: args.partial,
        source_name: source_name(args),
    };
    let started = Instant::now();
    let result = import_targets(
        store.as_ref(),
        &Actor::command_line(),
        file,
        &request,
        &mut observer,
    )
    .await;
    finish(&mut observer)?;
    let report = result.map_err(|e| import_error(&args.file, e))?;
    let secs = started.elapsed().as_secs_f64();
    match report.stored {
        Some(s) => {
            let nothing = s.added == 0 && s.updated == 0;
            println!(
                "{}: {} rows ({}) in {secs:.1} s: added {}, updated {}, unchanged {}, rejected {}{}",
                municipality,
                report.rows,
                report.encoding.name(),
                s.added,
                s.updated,
                s.unchanged,
                report.rejected_rows,
                if nothing { " — nothing changed" } else { "" }
            );
            Ok(())
        }
        None => Err(CliError::Input(format!(
            "{} of {} rows are bad; nothing was stored (fix them, or use --partial to store the good rows)",
            report.rejected_rows, report.rows
        ))),
    }
}

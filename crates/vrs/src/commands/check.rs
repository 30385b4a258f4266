//! `vrs check doses --municipality CODE [--as-of DATE]`: reports the area's stored doses that break
//! a data-quality rule, as CSV on standard output (宛名番号, dose number, date, rule, message); the
//! counts go to standard error. Exit 0 whether or not suspects were found: it is a report.

use std::io::Write;

use vrs_core::doses::check::check_area_doses;
use vrs_core::Actor;

use crate::context::{municipality_arg, CliError, Context};

#[derive(clap::Subcommand, Debug)]
pub enum Check {
    /// Stored doses that break a data-quality rule.
    Doses(DosesArgs),
}

#[derive(clap::Args, Debug)]
pub struct DosesArgs {
    /// Municipality code (6 digits)
    #[arg(long)]
    municipality: String,
    /// Judge future dates against this day instead of today (ISO or 和暦)
    #[arg(long)]
    as_of: Option<String>,
}

pub async fn run(context: &Context, check: &Check) -> Result<(), CliError> {
    let Check::Doses(args) = check;
    let municipality = municipality_arg("--municipality", &args.municipality)?;
    let today = match &args.as_of {
        Some(text) => vrs_domain::parse_date(text)
            .map_err(|e| CliError::Input(format!("--as-of {text:?}: {e}")))?,
        None => chrono::Local::now().date_naive(),
    };
    let store = context.store().await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = None;
    let _ = writeln!(out, "atena_number,dose_number,administered_on,rule,message");
    let summary = check_area_doses(
        store.as_ref(),
        &Actor::command_line(),
        municipality,
        today,
        1000,
        &mut |s| {
            for rule in &s.rules {
                if let Err(e) = writeln!(
                    out,
                    "{},{},{},{},{}",
                    s.atena,
                    s.dose_number,
                    s.administered_on,
                    rule.code(),
                    rule.message_ja()
                ) {
                    failed = Some(e);
                }
            }
        },
    )
    .await?;
    out.flush()
        .map_err(|e| CliError::Failure(format!("cannot write: {e}")))?;
    if let Some(e) = failed {
        return Err(CliError::Failure(format!("cannot write: {e}")));
    }
    eprintln!(
        "{municipality}: {} people, {} doses checked, {} suspect",
        summary.people, summary.doses, summary.suspects
    );
    Ok(())
}

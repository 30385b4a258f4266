//! `vrs municipalities [--prefecture 38]`: prints the embedded master list as CSV.

use vrs_domain::{master_list, MunicipalityKind, PrefectureCode};

use crate::context::CliError;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this prefecture (2 digits, e.g. 38 for 愛媛県)
    #[arg(long)]
    prefecture: Option<String>,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let prefecture = args
        .prefecture
        .as_deref()
        .map(|p| {
            PrefectureCode::parse(p)
                .map_err(|e| CliError::Input(format!("--prefecture {p:?}: {e}")))
        })
        .transpose()?;
    println!("code,kind,prefecture,name,kana,parent");
    for m in master_list()
        .iter()
        .filter(|m| prefecture.is_none_or(|p| m.prefecture == p))
    {
        let kind = match m.kind {
            MunicipalityKind::Prefecture => "prefecture",
            MunicipalityKind::Municipality => "municipality",
            MunicipalityKind::Ward => "ward",
        };
        let parent = m.parent.map(|p| p.to_string()).unwrap_or_default();
        println!(
            "{},{kind},{},{},{},{parent}",
            m.code, m.prefecture, m.name, m.kana
        );
    }
    Ok(())
}

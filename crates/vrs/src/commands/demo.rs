//! `vrs demo [--listen ADDR] [--dir DIR] [--targets N]`: a complete demonstration on embedded SQLite
//! in a fresh directory — three municipalities in three prefectures with generated targets, an
//! account for every role — then serves it. Every start makes a new directory content, new keys
//! and new passwords, printed once.

use std::path::PathBuf;
use vrs_store::Areas;

use vrs_core::{import_targets, Actor, ImportObserver, Problem, Role, TargetImport};
use vrs_crypto::{password, MasterKey};
use vrs_domain::{AuditAction, MunicipalityCode, PrefectureCode};
use vrs_interop::{write_targets, Encoding, EncodingChoice, Synthetic};
use vrs_server::{AppState, Settings};
use vrs_store::{Account, AuditEntry, AuditScope};

use crate::context::CliError;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Directory for the demo's database and key (emptied first)
    #[arg(long, default_value = "vrs-demo")]
    dir: PathBuf,
    /// Generated targets per municipality
    #[arg(long, default_value_t = 3000)]
    targets: u64,
}

/// 西条市 (Ehime), 千代田区 (Tokyo), 札幌市 (Hokkaido).
const MUNICIPALITIES: [&str; 3] = ["382060", "131016", "011002"];

/// User ID, role, municipality, prefecture, display name.
struct DemoAccount(
    &'static str,
    Role,
    Option<MunicipalityCode>,
    Option<PrefectureCode>,
    &'static str,
);

struct Quiet;

impl ImportObserver for Quiet {
    fn progress(&mut self, _rows: u64, _bytes: u64) {}
    fn problem(&mut self, _problem: &Problem) {}
}

/// Doses for the demo's people: about two in three had a first dose between May and August 2021,
/// most of them a second three weeks later, and about half of those a third in spring 2022.
fn demo_doses(municipality: MunicipalityCode, count: u64) -> Vec<vrs_domain::DoseRecord> {
    let Some(product) = vrs_domain::VaccineProduct::by_code("comirnaty") else {
        return Vec::new();
    };
    let lots = ["FA4597", "FC3661", "FF2018", "EY0779"];
    let start = chrono::NaiveDate::from_ymd_opt(2021, 5, 10).unwrap_or_default();
    let mut out = Vec::new();
    for (i, person) in Synthetic::new(municipality, count, 2021).enumerate() {
        if i % 3 == 2 {
            continue;
        }
        let first = start + chrono::Days::new((i % 110) as u64);
        let dates = [
            Some(first),
            (i % 10 != 0).then(|| first + chrono::Days::new(21)),
            (i % 2 == 0 && i % 10 != 0).then(|| first + chrono::Days::new(250)),
        ];
        for (n, day) in dates.into_iter().enumerate() {
            let (Some(day), Ok(lot), Ok(dose_number)) = (
                day,
                vrs_domain::LotNumber::parse(lots[(i + n) % 4]),
                vrs_domain::DoseNumber::from_int(n + 1),
            ) else {
                continue;
            };
            let dose = vrs_domain::Dose {
                municipality,
                atena: person.atena.clone(),
                dose_number,
                administered_on: day,
                product,
                lot_number: lot,
                site_municipality: municipality,
                coupon: person.coupon,
            };
            out.push(vrs_domain::DoseRecord::now(
                dose,
                vrs_domain::DoseSource::Csv,
            ));
        }
    }
    out
}

/// The first version of each terms document, as the national operator publishes it.
const DEMO_TERMS: [(vrs_domain::TermsKind, &str, &str); 4] = [
    (
        vrs_domain::TermsKind::Use,
        "新型コロナウイルスワクチン接種記録システムの利用にあたっての確認事項",
        "第1条 市区町村は、予防接種法に基づく接種記録の管理のためにVRSを利用する。\n\
         第2条 市区町村は、自らが管理する区域のデータについて、個人情報の保護に関する法律に従い適正に取り扱う。\n\
         第3条 個人番号は、番号法の定める事務の範囲でのみ利用し、LGWAN端末以外で表示・送信しない。\n\
         第4条 国及び都道府県は、統計情報のみを利用する。",
    ),
    (
        vrs_domain::TermsKind::NoConsentInquiry,
        "VRSによる他自治体への接種記録照会にあたって本人同意が不要となることに係る確認事項",
        "転出入時の市町村間の接種記録照会は、番号法第19条第16号（人の生命、身体又は財産の保護のために必要がある場合において、\
         本人の同意を得ることが困難であるとき）を根拠として実施する。照会元・照会先の双方が本確認事項に同意している場合、\
         照会にあたって本人の同意の確認を要しない。",
    ),
    (
        vrs_domain::TermsKind::AppIssuance,
        "接種証明書のアプリ発行に係る確認事項",
        "市区町村は、住民がマイナンバーカードを用いてアプリで申請した接種証明書を、自らの名義で電子的に発行することに同意する。\
         発行の記録には、氏名・生年月日・国籍・旅券番号のみを保存する。",
    ),
    (
        vrs_domain::TermsKind::KioskIssuance,
        "接種証明書のコンビニ交付に係る確認事項",
        "市区町村は、住民がコンビニエンスストアのキオスク端末又は証明書交付センターでマイナンバーカードを用いて申請した\
         接種証明書を、自らの名義で交付することに同意する。端末及びセンターは申請の内容を保存しない。",
    ),
];

/// Publishes the terms; 西条市 and 千代田区 agree to all of them, 札幌市 to the terms of use only.
/// One 千代田区 resident with doses has moved to 西条市 (same My Number, new 宛名番号), so an
/// inquiry can be tried; returns that My Number (synthetic).
async fn seed_governance(store: &dyn vrs_store::Store, targets: u64) -> Result<String, CliError> {
    let operator = Actor::command_line();
    for (kind, title, body) in DEMO_TERMS {
        vrs_core::governance::publish_terms(store, &operator, kind, title, body)
            .await
            .map_err(failure)?;
    }
    for (code, kinds) in [
        ("382060", vrs_domain::TermsKind::ALL),
        ("131016", vrs_domain::TermsKind::ALL),
        ("011002", &[vrs_domain::TermsKind::Use][..]),
    ] {
        let municipality = MunicipalityCode::parse(code).map_err(failure)?;
        for &kind in kinds {
            vrs_core::governance::agree(store, &operator, municipality, kind, 1)
                .await
                .map_err(failure)?;
        }
    }
    let chiyoda = MunicipalityCode::parse("131016").map_err(failure)?;
    let saijo = MunicipalityCode::parse("382060").map_err(failure)?;
    // The second generated 千代田区 person has two doses (see demo_doses).
    let mut mover = Synthetic::new(chiyoda, targets.max(2), 2021)
        .nth(1)
        .ok_or_else(|| failure("no demo person"))?;
    mover.municipality = saijo;
    mover.atena = vrs_domain::AtenaNumber::parse("990000000001").map_err(failure)?;
    mover.coupon = vrs_domain::CouponNumber::parse("9900000001").map_err(failure)?;
    let audit = operator.audit(AuditAction::TargetsImport, "demo-mover");
    store.area(saijo).put_resident(&mover, &audit).await?;
    Ok(mover.my_number.expose().to_owned())
}

fn failure(e: impl std::fmt::Display) -> CliError {
    CliError::Failure(e.to_string())
}

pub async fn run(args: &Args) -> Result<(), CliError> {
    if args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .map_err(|e| CliError::Input(format!("cannot empty {}: {e}", args.dir.display())))?;
    }
    let key = MasterKey::create_file(&args.dir.join("master.key")).map_err(failure)?;
    let url = format!("sqlite://{}", args.dir.join("vrs.db").display());
    let store = vrs_store::open(&url, key, true).await?;
    println!("VRS demo in {} (database {url})", args.dir.display());

    for code in MUNICIPALITIES {
        let municipality = MunicipalityCode::parse(code).map_err(failure)?;
        let mut csv = Vec::new();
        write_targets(
            &mut csv,
            Encoding::Utf8,
            Synthetic::new(municipality, args.targets, 2021),
        )
        .map_err(failure)?;
        let request = TargetImport {
            municipality,
            encoding: EncodingChoice::Known(Encoding::Utf8),
            partial: false,
            source_name: "demo-targets.csv".into(),
        };
        let report = import_targets(
            store.as_ref(),
            &Actor::command_line(),
            std::io::Cursor::new(csv),
            &request,
            &mut Quiet,
        )
        .await
        .map_err(failure)?;
        let added = report.stored.map(|s| s.added).unwrap_or(0);
        let doses = demo_doses(municipality, args.targets);
        let audit = Actor::command_line().audit(AuditAction::DosesImport, "demo-doses");
        store
            .area(municipality)
            .add_doses(&doses, "vrs demo", &audit)
            .await?;
        println!(
            "  {} {}: {added} targets, {} doses",
            municipality,
            municipality.info().full_name(),
            doses.len()
        );
    }

    let mover = seed_governance(store.as_ref(), args.targets).await?;
    vrs_core::statistics::refresh(store.as_ref(), vrs_core::japan_today()).await?;
    vrs_core::statistics::opendata::publish(
        store.as_ref(),
        &Settings::default().opendata(),
        chrono::Utc::now(),
    )
    .await?;

    let ehime = PrefectureCode::parse("38").map_err(failure)?;
    let saijo = MunicipalityCode::parse("382060").map_err(failure)?;
    let chiyoda = MunicipalityCode::parse("131016").map_err(failure)?;
    let sapporo = MunicipalityCode::parse("011002").map_err(failure)?;
    let accounts = [
        DemoAccount(
            "op-national",
            Role::NationalOperator,
            None,
            None,
            "デジタル庁 運用管理者",
        ),
        DemoAccount(
            "pref-ehime",
            Role::PrefectureViewer,
            None,
            Some(ehime),
            "愛媛県 担当者",
        ),
        DemoAccount(
            "saijo-admin",
            Role::MunicipalAdmin,
            Some(saijo),
            None,
            "西条市 管理者",
        ),
        DemoAccount(
            "saijo-staff",
            Role::MunicipalStaff,
            Some(saijo),
            None,
            "西条市 職員",
        ),
        DemoAccount(
            "saijo-tablet",
            Role::SiteTablet,
            Some(saijo),
            None,
            "西条市 接種会場",
        ),
        DemoAccount(
            "kiosk",
            Role::CertificateService,
            None,
            None,
            "証明書交付センター",
        ),
        DemoAccount(
            "chiyoda-staff",
            Role::MunicipalStaff,
            Some(chiyoda),
            None,
            "千代田区 職員",
        ),
        DemoAccount(
            "sapporo-staff",
            Role::MunicipalStaff,
            Some(sapporo),
            None,
            "札幌市 職員",
        ),
    ];
    println!("\nSign in as (passwords are new at every start):");
    for DemoAccount(user_id, role, municipality, prefecture, name) in accounts {
        let secret = format!("Demo-{}", password::initial_password());
        let account = Account {
            user_id: vrs_domain::UserId::parse(user_id).map_err(failure)?,
            role,
            municipality,
            prefecture,
            display_name: name.into(),
            password_hash: password::hash_password(&secret).map_err(failure)?,
            must_change_password: false,
            failed_logins: 0,
            locked_until: None,
            disabled: false,
            issued_by: "vrs demo".into(),
            created_at: chrono::Utc::now(),
        };
        let scope = match (municipality, prefecture) {
            (Some(m), _) => AuditScope::Area(m),
            (None, Some(p)) => AuditScope::Area(p.info().code),
            _ => AuditScope::National,
        };
        let audit = AuditEntry::now(
            "vrs demo",
            "operator_cli",
            "local",
            AuditAction::AccountIssue.as_str(),
            user_id,
        );
        store.create_account(&account, scope, &audit).await?;
        println!("  {user_id:<14} {secret:<22} {role}");
    }
    println!("\nThis machine (127.0.0.0/8) counts as an LG-WAN terminal in the demo.");
    println!(
        "To try an inquiry, sign in as saijo-staff: the synthetic person with My Number {mover} \
         moved to 西条市 (宛名番号 990000000001) from 千代田区 (131016)."
    );
    println!(
        "The public open data and its dashboard need no sign-in: http://{}/opendata/",
        args.listen
    );
    let settings = Settings {
        listen: args.listen,
        lgwan_networks: vec![
            "127.0.0.0/8".parse().map_err(failure)?,
            "::1/128".parse().map_err(failure)?,
        ],
        trial_certificates: true,
        ..Settings::default()
    };
    crate::commands::serve::serve(AppState::new(store, settings)).await
}

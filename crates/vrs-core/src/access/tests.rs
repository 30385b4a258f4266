//! One test per rule of who may do what (docs/server.md, "Access decisions"), named after the
//! behaviour, through [`decide`]: the fixtures, roles and terminals, missing scopes and the
//! governments here; municipal accounts in `tests/municipal.rs`; site tablets and the certificate
//! service in `tests/sites.rs`; the table-driven tests over every (role, action) pair in
//! `tests/table.rs`.

mod municipal;
mod sites;
mod table;

use super::*;
use vrs_domain::{MunicipalityCode, PrefectureCode};

use Action::*;
use DenyReason::*;

pub(super) fn code(s: &str) -> MunicipalityCode {
    MunicipalityCode::parse(s).unwrap()
}
/// 愛媛県西条市: the home of every principal below.
pub(super) fn saijo() -> MunicipalityCode {
    code("382060")
}
/// 愛媛県松山市: another municipality of the same prefecture.
pub(super) fn matsuyama() -> MunicipalityCode {
    code("382019")
}
/// 東京都千代田区: a municipality of another prefecture.
pub(super) fn chiyoda() -> MunicipalityCode {
    code("131016")
}
pub(super) fn ehime() -> PrefectureCode {
    PrefectureCode::parse("38").unwrap()
}
pub(super) fn tokyo() -> PrefectureCode {
    PrefectureCode::parse("13").unwrap()
}

pub(super) fn principal(role: Role, terminal: Terminal) -> Principal {
    Principal {
        user: format!("{}-1", role.as_str()),
        role,
        terminal,
        municipality: matches!(
            role,
            Role::MunicipalAdmin | Role::MunicipalStaff | Role::SiteTablet
        )
        .then(saijo),
        prefecture: (role == Role::PrefectureViewer).then(ehime),
        scopes: None,
    }
}
pub(super) fn staff(terminal: Terminal) -> Principal {
    principal(Role::MunicipalStaff, terminal)
}
pub(super) fn admin() -> Principal {
    principal(Role::MunicipalAdmin, Terminal::Lgwan)
}
pub(super) fn tablet() -> Principal {
    principal(Role::SiteTablet, Terminal::Internet)
}
pub(super) fn person(home: MunicipalityCode) -> Target {
    Target::Person { home }
}
pub(super) fn area(m: MunicipalityCode) -> Target {
    Target::Municipality(m)
}

pub(super) fn allowed(p: &Principal, action: Action, target: &Target) -> bool {
    decide(p, action, target).is_allowed()
}
pub(super) fn denied(p: &Principal, action: Action, target: &Target) -> DenyReason {
    match decide(p, action, target) {
        Decision::Deny(reason) => reason,
        Decision::Allow => panic!("{:?} {action:?} {target:?} was allowed", p.role),
    }
}

#[test]
fn role_codes_round_trip_and_are_those_stored() {
    let stored = [
        "national_operator",
        "prefecture_viewer",
        "municipal_admin",
        "municipal_staff",
        "site_tablet",
        "certificate_service",
    ];
    for (role, code) in Role::ALL.into_iter().zip(stored) {
        assert_eq!(role.as_str(), code);
        assert_eq!(Role::parse(code), Ok(role));
        assert!(!role.label_ja().is_empty() && !role.label_en().is_empty());
    }
    assert_eq!(Role::MunicipalStaff.label_ja(), "市区町村職員");
}

#[test]
fn unknown_or_misspelt_role_code_is_refused() {
    for code in [
        "",
        "admin",
        "Municipal_Staff",
        " municipal_staff",
        "operator_cli",
    ] {
        assert_eq!(Role::parse(code), Err(UnknownRole(code.to_owned())));
    }
}

#[test]
fn terminal_codes_are_stable_and_unknown_codes_are_the_internet() {
    assert_eq!(Terminal::Lgwan.as_str(), "lgwan");
    assert_eq!(Terminal::Internet.as_str(), "internet");
    assert_eq!(Terminal::from_code("lgwan"), Terminal::Lgwan);
    assert_eq!(Terminal::from_code("LGWAN"), Terminal::Internet);
    assert_eq!(Terminal::from_code(""), Terminal::Internet);
}

#[test]
fn municipal_account_without_municipality_is_denied() {
    for role in [Role::MunicipalStaff, Role::MunicipalAdmin] {
        let mut p = principal(role, Terminal::Lgwan);
        p.municipality = None;
        assert_eq!(denied(&p, ReadPerson, &person(saijo())), NoMunicipality);
        assert_eq!(denied(&p, ReadStatistics, &area(saijo())), NoMunicipality);
    }
}

#[test]
fn site_tablet_without_site_municipality_is_denied() {
    let mut p = tablet();
    p.municipality = None;
    assert_eq!(denied(&p, RegisterDose, &person(saijo())), NoMunicipality);
}

#[test]
fn prefecture_viewer_without_prefecture_is_denied() {
    let mut p = principal(Role::PrefectureViewer, Terminal::Internet);
    p.prefecture = None;
    assert_eq!(
        denied(&p, ReadStatistics, &Target::Prefecture(ehime())),
        NoPrefecture
    );
}

#[test]
fn an_action_on_the_wrong_kind_of_target_is_denied() {
    assert_eq!(
        denied(&tablet(), RegisterDose, &Target::Nation),
        TargetMismatch
    );
    assert_eq!(
        denied(&staff(Terminal::Lgwan), ReadPerson, &area(saijo())),
        TargetMismatch
    );
    let operator = principal(Role::NationalOperator, Terminal::Lgwan);
    assert_eq!(
        denied(&operator, PublishTerms, &area(saijo())),
        TargetMismatch
    );
}

#[test]
fn national_operator_never_reads_person_data() {
    let operator = principal(Role::NationalOperator, Terminal::Lgwan);
    for &action in Action::ALL.iter().filter(|a| a.touches_person_data()) {
        for &kind_target in action.target_kinds() {
            let target = table::sample_target(kind_target);
            assert_eq!(
                denied(&operator, action, &target),
                StatisticsOnly,
                "{action:?}"
            );
        }
    }
    let dose = Target::Dose {
        home: saijo(),
        registered_by: operator.user.clone(),
    };
    assert!(!allowed(&operator, ReadStatistics, &dose));
}

#[test]
fn national_operator_reads_statistics_of_every_area() {
    let operator = principal(Role::NationalOperator, Terminal::Internet);
    for target in [
        Target::Nation,
        Target::Prefecture(tokyo()),
        area(chiyoda()),
        area(saijo()),
    ] {
        assert!(allowed(&operator, ReadStatistics, &target), "{target:?}");
    }
}

#[test]
fn national_operator_approves_accounts_but_never_applies() {
    let operator = principal(Role::NationalOperator, Terminal::Internet);
    assert!(allowed(&operator, ApproveAccounts, &Target::Nation));
    assert!(allowed(&operator, ApproveAccounts, &area(saijo())));
    assert_eq!(
        denied(&operator, ApplyForAccounts, &area(saijo())),
        RoleNotPermitted
    );
}

#[test]
fn national_operator_publishes_terms_and_stops_functions() {
    let operator = principal(Role::NationalOperator, Terminal::Internet);
    assert!(allowed(&operator, PublishTerms, &Target::Nation));
    assert!(allowed(&operator, EmergencyStop, &Target::Nation));
    assert!(allowed(&operator, EmergencyStop, &area(chiyoda())));
    assert_eq!(
        denied(&operator, AgreeToTerms, &area(saijo())),
        RoleNotPermitted
    );
}

#[test]
fn only_the_national_operator_deletes_a_municipality_area() {
    let operator = principal(Role::NationalOperator, Terminal::Lgwan);
    assert!(allowed(&operator, DeleteArea, &area(saijo())));
    assert_eq!(
        denied(&admin(), DeleteArea, &area(saijo())),
        RoleNotPermitted
    );
    // A backup carries the area's people: the operator never takes one through the system.
    assert_eq!(
        denied(&operator, BackupArea, &area(saijo())),
        StatisticsOnly
    );
}

#[test]
fn prefecture_viewer_sees_statistics_of_its_own_prefecture_only() {
    let viewer = principal(Role::PrefectureViewer, Terminal::Internet);
    assert!(allowed(
        &viewer,
        ReadStatistics,
        &Target::Prefecture(ehime())
    ));
    assert!(allowed(&viewer, ReadStatistics, &area(saijo())));
    assert!(allowed(&viewer, ReadStatistics, &area(matsuyama())));
    let other = Target::Prefecture(tokyo());
    assert_eq!(denied(&viewer, ReadStatistics, &other), ForeignPrefecture);
    assert_eq!(
        denied(&viewer, ReadStatistics, &area(chiyoda())),
        ForeignPrefecture
    );
    assert_eq!(
        denied(&viewer, ReadStatistics, &Target::Nation),
        ForeignPrefecture
    );
}

#[test]
fn prefecture_viewer_never_reads_person_data() {
    let viewer = principal(Role::PrefectureViewer, Terminal::Lgwan);
    assert_eq!(
        denied(&viewer, ReadPerson, &person(saijo())),
        StatisticsOnly
    );
    assert_eq!(
        denied(&viewer, ExportRecords, &area(saijo())),
        StatisticsOnly
    );
    assert_eq!(
        denied(&viewer, ApproveAccounts, &Target::Nation),
        RoleNotPermitted
    );
}

#[test]
fn the_reason_given_is_that_of_the_first_rule_that_denies() {
    let p = staff(Terminal::Internet);
    assert_eq!(
        denied(&p, ShowMyNumber, &person(chiyoda())),
        MyNumberOffLgwan
    );
    assert_eq!(denied(&p, PublishTerms, &Target::Nation), RoleNotPermitted);
    assert_eq!(
        decide(&p, ReadPerson, &person(chiyoda())).into_result(),
        Err(ForeignMunicipality)
    );
}

#[test]
fn only_a_municipal_administrator_manages_its_own_accounts() {
    assert!(allowed(&admin(), ManageAccounts, &area(saijo())));
    assert!(!allowed(&admin(), ManageAccounts, &area(chiyoda())));
    for p in [
        staff(Terminal::Lgwan),
        tablet(),
        principal(Role::NationalOperator, Terminal::Lgwan),
        principal(Role::PrefectureViewer, Terminal::Lgwan),
    ] {
        assert!(!allowed(&p, ManageAccounts, &area(saijo())), "{:?}", p.role);
    }
}

#[test]
fn a_targets_file_holds_my_numbers_so_it_comes_from_lgwan_only() {
    assert!(allowed(
        &staff(Terminal::Lgwan),
        ImportTargets,
        &area(saijo())
    ));
    assert!(!allowed(
        &staff(Terminal::Internet),
        ImportTargets,
        &area(saijo())
    ));
}

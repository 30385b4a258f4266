#![allow(clippy::unwrap_used)]

use vrs_core::access::{Principal, Role};
use vrs_domain::{MunicipalityCode, PrefectureCode, Terminal};

use super::menu;

/// The menus as each role has had them: the records pages for the municipality, inquiries and
/// backup only from LG-WAN, the operator's pages for the operator.
#[test]
fn the_menu_derived_from_the_access_rules_is_each_roles_menu() {
    let records = [
        "/records",
        "/doses/import",
        "/doses/export",
        "/certificates",
        "/duplicates",
    ];
    let inquiries = ["/inquiries", "/inquiries/bulk"];
    let municipal = ["/provisions", "/terms", "/statistics", "/audit"];
    let operator = [
        "/statistics",
        "/operator/applications",
        "/operator/locks",
        "/operator/coupon-reads",
        "/operator/terms",
        "/operator/functions",
    ];
    let staff = |lgwan: bool| -> Vec<&str> {
        let mut v = records.to_vec();
        if lgwan {
            // The targets file holds My Numbers.
            v.insert(1, "/targets/import");
            v.extend(inquiries);
        }
        v.extend(municipal);
        v
    };
    for terminal in [Terminal::Lgwan, Terminal::Internet] {
        let lgwan = terminal == Terminal::Lgwan;
        for role in Role::ALL {
            let municipal_account = matches!(
                role,
                Role::MunicipalAdmin | Role::MunicipalStaff | Role::SiteTablet
            );
            let principal = Principal {
                user: "someone".into(),
                role,
                terminal,
                municipality: municipal_account.then(|| MunicipalityCode::parse("382060").unwrap()),
                prefecture: (role == Role::PrefectureViewer)
                    .then(|| PrefectureCode::parse("38").unwrap()),
                scopes: None,
            };
            let mut expected: Vec<&str> = match role {
                Role::NationalOperator => operator.to_vec(),
                Role::PrefectureViewer => vec!["/statistics"],
                Role::MunicipalAdmin => {
                    let mut v = vec!["/admin/applications", "/admin/accounts"];
                    v.extend(staff(lgwan));
                    if lgwan {
                        v.push("/admin/backup");
                    }
                    v
                }
                Role::MunicipalStaff => staff(lgwan),
                Role::SiteTablet => vec!["/tablet"],
                Role::CertificateService => vec![],
            };
            expected.push("/password");
            let got: Vec<&str> = menu(&principal).iter().map(|i| i.href).collect();
            assert_eq!(got, expected, "{role:?} on {terminal:?}");
        }
    }
}

//! Site tablets (any municipality's coupon and dose, nothing else, never a My Number) and the
//! certificate service (certificates on a resident's application, nothing else).

use super::*;

#[test]
fn tablet_registers_a_dose_for_a_person_of_any_municipality() {
    for home in [saijo(), matsuyama(), chiyoda()] {
        assert!(allowed(&tablet(), RegisterDose, &person(home)), "{home}");
    }
}

#[test]
fn tablet_reads_a_coupon_of_any_municipality() {
    for municipality in [saijo(), chiyoda()] {
        assert!(allowed(
            &tablet(),
            ReadCoupon,
            &Target::Coupon { municipality }
        ));
    }
}

#[test]
fn tablet_undoes_only_its_own_dose() {
    let own = Target::Dose {
        home: chiyoda(),
        registered_by: tablet().user,
    };
    assert!(allowed(&tablet(), UndoOwnDose, &own));
    let other = Target::Dose {
        home: chiyoda(),
        registered_by: "another-tablet".into(),
    };
    assert_eq!(denied(&tablet(), UndoOwnDose, &other), NotOwnDose);
    let mut nameless = tablet();
    nameless.user = String::new();
    let empty = Target::Dose {
        home: saijo(),
        registered_by: String::new(),
    };
    assert_eq!(denied(&nameless, UndoOwnDose, &empty), NotOwnDose);
}

#[test]
fn tablet_cannot_browse_people() {
    let p = tablet();
    assert_eq!(
        denied(&p, ReadPerson, &person(saijo())),
        SiteTabletCannotBrowse
    );
    assert_eq!(
        denied(&p, SearchPeople, &area(saijo())),
        SiteTabletCannotBrowse
    );
    assert_eq!(
        denied(&p, ExportRecords, &area(saijo())),
        SiteTabletCannotBrowse
    );
    assert_eq!(
        denied(&p, ReadAuditLog, &area(saijo())),
        SiteTabletCannotBrowse
    );
}

#[test]
fn tablet_never_reaches_a_my_number_even_from_lgwan() {
    let p = principal(Role::SiteTablet, Terminal::Lgwan);
    assert_eq!(
        denied(&p, ShowMyNumber, &person(saijo())),
        MyNumberOnSiteTablet
    );
    assert_eq!(
        denied(&p, SearchPersonByMyNumber, &area(saijo())),
        MyNumberOnSiteTablet
    );
    let inquiry = Target::Inquiry {
        requester: saijo(),
        holder: chiyoda(),
    };
    assert_eq!(denied(&p, SendInquiry, &inquiry), MyNumberOnSiteTablet);
}

#[test]
fn tablet_sees_no_statistics_and_changes_no_record() {
    let p = tablet();
    assert_eq!(denied(&p, ReadStatistics, &area(saijo())), RoleNotPermitted);
    assert_eq!(denied(&p, CorrectDose, &person(saijo())), RoleNotPermitted);
    assert_eq!(denied(&p, DeletePerson, &person(saijo())), RoleNotPermitted);
}

#[test]
fn certificate_service_only_applies_for_certificates() {
    let service = principal(Role::CertificateService, Terminal::Internet);
    for home in [saijo(), chiyoda()] {
        assert!(allowed(&service, IssueCertificateApp, &person(home)));
        assert!(allowed(&service, IssueCertificateKiosk, &person(home)));
    }
    for &action in Action::ALL {
        if !matches!(action, IssueCertificateApp | IssueCertificateKiosk) {
            for &kind in action.target_kinds() {
                let target = table::sample_target(kind);
                assert!(!allowed(&service, action, &target), "{action:?}");
            }
        }
    }
}

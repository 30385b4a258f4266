//! Municipal staff and administrators: their own municipality's data, My Number only from LG-WAN,
//! and what only the administrator does.

use super::*;

#[test]
fn staff_reads_and_changes_people_of_its_own_municipality_from_any_terminal() {
    for terminal in [Terminal::Lgwan, Terminal::Internet] {
        let p = staff(terminal);
        for action in [
            ReadPerson,
            AddDose,
            CorrectPerson,
            CorrectDose,
            DeleteDose,
            DeletePerson,
        ] {
            assert!(
                allowed(&p, action, &person(saijo())),
                "{action:?} {terminal:?}"
            );
        }
        for action in [SearchPeople, ImportDoses, ExportRecords, ReadStatistics] {
            assert!(
                allowed(&p, action, &area(saijo())),
                "{action:?} {terminal:?}"
            );
        }
        for action in [ReadAuditLog, ExportAuditLog, ReadProvisionRecords] {
            assert!(
                allowed(&p, action, &area(saijo())),
                "{action:?} {terminal:?}"
            );
        }
        assert!(allowed(&p, FlagPerson, &person(saijo())));
    }
}

#[test]
fn staff_cannot_read_a_person_of_another_municipality() {
    let p = staff(Terminal::Lgwan);
    for home in [matsuyama(), chiyoda()] {
        assert_eq!(denied(&p, ReadPerson, &person(home)), ForeignMunicipality);
        assert_eq!(denied(&p, DeletePerson, &person(home)), ForeignMunicipality);
        let dose = Target::Dose {
            home,
            registered_by: p.user.clone(),
        };
        assert_eq!(denied(&p, CorrectDose, &dose), ForeignMunicipality);
    }
}

#[test]
fn staff_cannot_act_on_another_municipality_area() {
    let p = staff(Terminal::Lgwan);
    for action in [
        SearchPeople,
        ImportTargets,
        ExportRecords,
        ReadAuditLog,
        ReadStatistics,
    ] {
        assert_eq!(
            denied(&p, action, &area(matsuyama())),
            ForeignMunicipality,
            "{action:?}"
        );
    }
}

#[test]
fn staff_sees_only_its_own_municipality_statistics() {
    let p = staff(Terminal::Internet);
    assert!(allowed(&p, ReadStatistics, &area(saijo())));
    let pref = Target::Prefecture(ehime());
    assert_eq!(denied(&p, ReadStatistics, &pref), ForeignMunicipality);
    assert_eq!(
        denied(&p, ReadStatistics, &Target::Nation),
        ForeignMunicipality
    );
}

#[test]
fn my_number_is_never_shown_off_lgwan() {
    for role in [Role::MunicipalStaff, Role::MunicipalAdmin] {
        let p = principal(role, Terminal::Internet);
        assert_eq!(denied(&p, ShowMyNumber, &person(saijo())), MyNumberOffLgwan);
        let p = principal(role, Terminal::Lgwan);
        assert!(allowed(&p, ShowMyNumber, &person(saijo())));
    }
}

#[test]
fn my_number_is_searched_only_from_lgwan() {
    let search = |t| decide(&staff(t), SearchPersonByMyNumber, &area(saijo()));
    assert_eq!(search(Terminal::Lgwan), Decision::Allow);
    assert_eq!(search(Terminal::Internet), Decision::Deny(MyNumberOffLgwan));
}

#[test]
fn inquiries_are_sent_and_answered_only_from_lgwan() {
    let to_former = Target::Inquiry {
        requester: saijo(),
        holder: chiyoda(),
    };
    let from_new = Target::Inquiry {
        requester: chiyoda(),
        holder: saijo(),
    };
    assert!(allowed(&staff(Terminal::Lgwan), SendInquiry, &to_former));
    assert!(allowed(&staff(Terminal::Lgwan), AnswerInquiry, &from_new));
    let internet = staff(Terminal::Internet);
    assert_eq!(denied(&internet, SendInquiry, &to_former), MyNumberOffLgwan);
    assert_eq!(
        denied(&internet, AnswerInquiry, &from_new),
        MyNumberOffLgwan
    );
}

#[test]
fn inquiry_is_sent_from_and_answered_for_own_municipality_only() {
    let p = staff(Terminal::Lgwan);
    let others = Target::Inquiry {
        requester: chiyoda(),
        holder: matsuyama(),
    };
    assert_eq!(denied(&p, SendInquiry, &others), ForeignMunicipality);
    assert_eq!(denied(&p, AnswerInquiry, &others), ForeignMunicipality);
    let sent_by_us = Target::Inquiry {
        requester: saijo(),
        holder: chiyoda(),
    };
    assert_eq!(denied(&p, AnswerInquiry, &sent_by_us), ForeignMunicipality);
    let asked_of_us = Target::Inquiry {
        requester: chiyoda(),
        holder: saijo(),
    };
    assert_eq!(denied(&p, SendInquiry, &asked_of_us), ForeignMunicipality);
}

#[test]
fn staff_issues_certificates_at_the_counter_for_its_own_residents_only() {
    let p = staff(Terminal::Internet);
    assert!(allowed(&p, IssueCertificateCounter, &person(saijo())));
    assert_eq!(
        denied(&p, IssueCertificateCounter, &person(chiyoda())),
        ForeignMunicipality
    );
    assert_eq!(
        denied(&p, IssueCertificateKiosk, &person(saijo())),
        RoleNotPermitted
    );
}

#[test]
fn staff_cannot_apply_for_accounts_agree_to_terms_or_back_up() {
    let p = staff(Terminal::Lgwan);
    for action in [ApplyForAccounts, AgreeToTerms, BackupArea, RestoreArea] {
        assert_eq!(
            denied(&p, action, &area(saijo())),
            RoleNotPermitted,
            "{action:?}"
        );
    }
}

#[test]
fn admin_may_do_everything_staff_may() {
    let staff_actions = allowed_actions(Role::MunicipalStaff);
    let admin_actions = allowed_actions(Role::MunicipalAdmin);
    for action in staff_actions {
        assert!(admin_actions.contains(action), "{action:?}");
    }
    assert!(allowed(&admin(), ShowMyNumber, &person(saijo())));
    assert!(allowed(&admin(), ImportTargets, &area(saijo())));
}

#[test]
fn admin_applies_for_accounts_agrees_to_terms_and_backs_up_its_own_area() {
    for action in [ApplyForAccounts, AgreeToTerms, BackupArea, RestoreArea] {
        assert!(allowed(&admin(), action, &area(saijo())), "{action:?}");
    }
}

#[test]
fn admin_never_touches_another_municipality() {
    for action in [
        ApplyForAccounts,
        AgreeToTerms,
        BackupArea,
        RestoreArea,
        ExportRecords,
    ] {
        assert_eq!(
            denied(&admin(), action, &area(chiyoda())),
            ForeignMunicipality
        );
    }
    assert_eq!(
        denied(&admin(), ReadPerson, &person(matsuyama())),
        ForeignMunicipality
    );
}

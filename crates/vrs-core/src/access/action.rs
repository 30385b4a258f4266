//! Every kind of thing the system does, as far as access is concerned, with the stable code the
//! audit log records and the facts the rules ask of it: does it use a My Number, does it touch a
//! person's data, does it browse people, and which targets it can act on.

use vrs_domain::AuditAction;

use super::Target;

/// Declares [`Action`] together with its code and [`Action::ALL`], so the list of all actions can
/// never miss one and the table test really covers every pair. An action whose success the audit
/// log records names that [`AuditAction`] (`=> audited(…)`), and its code is the log's own name for
/// it, so the access vocabulary and the log cannot drift apart; an action the log records under
/// another entry, or not at all (reads of counts and of the terms), has a code of its own
/// (`=> code("…")`).
macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident => $kind:ident($what:tt),)*) => {
        /// One kind of operation, as far as access is concerned.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($(#[$doc])* $name,)*
        }

        impl Action {
            /// Every action, in declaration order.
            pub const ALL: &'static [Action] = &[$(Action::$name,)*];

            /// The stable code of the action: the audit log's name for it where the log records it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$name => actions!(@code $kind($what)),)*
                }
            }

            /// The entry the audit log writes when this action succeeds, if it writes one of its own.
            pub fn audited_as(self) -> Option<AuditAction> {
                match self {
                    $(Action::$name => actions!(@audit $kind($what)),)*
                }
            }
        }
    };
    (@code audited($audit:ident)) => { AuditAction::$audit.as_str() };
    (@code code($code:literal)) => { $code };
    (@audit audited($audit:ident)) => { Some(AuditAction::$audit) };
    (@audit code($code:literal)) => { None };
}

actions! {
    /// Open one person's record (name, dates, coupons, doses); the My Number stays masked.
    ReadPerson => audited(PersonRead),
    /// List or search people by name, birth date, 宛名番号 or coupon number.
    SearchPeople => audited(PersonSearch),
    /// Find a person by My Number.
    SearchPersonByMyNumber => audited(PersonSearchByMyNumber),
    /// Show a person's My Number unmasked.
    ShowMyNumber => code("my_number.show"),
    /// Upload the CSV of targets and coupons from the resident registry.
    ImportTargets => audited(TargetsImport),
    /// Stop or let in again an account of the own municipality, or give it a new initial
    /// password (each written as its own entry: account.disable, account.enable,
    /// account.password_reset).
    ManageAccounts => code("account.manage"),
    /// Upload doses in bulk (CSV, FHIR, HL7 v2).
    ImportDoses => audited(DosesImport),
    /// Add a dose to a person's record by hand.
    AddDose => audited(DoseAdd),
    /// Correct a person's details.
    CorrectPerson => code("person.correct"),
    /// Correct a recorded dose.
    CorrectDose => audited(DoseCorrect),
    /// Delete a recorded dose (a real deletion, audited).
    DeleteDose => audited(DoseDelete),
    /// Delete a person's record (a real deletion, audited).
    DeletePerson => audited(PersonDelete),
    /// Flag a person moved out, moved in or deceased.
    FlagPerson => audited(PersonFlags),
    /// Download records as CSV (never with a My Number).
    ExportRecords => audited(RecordsExport),
    /// Search and read the municipality's audit log.
    ReadAuditLog => code("audit.read"),
    /// Download the municipality's audit log.
    ExportAuditLog => audited(AuditExport),
    /// Read the provision records (情報提供等の記録).
    ReadProvisionRecords => audited(ProvisionRead),
    /// Send an inquiry (照会) with a mover's My Number to the former municipality.
    SendInquiry => audited(InquirySend),
    /// Answer an inquiry (提供) from the municipality a person moved to.
    AnswerInquiry => audited(InquiryAnswer),
    /// Issue a certificate at the municipality's counter.
    IssueCertificateCounter => audited(CertificateIssueCounter),
    /// Issue a certificate to the smartphone app on the resident's application.
    IssueCertificateApp => audited(CertificateIssueApp),
    /// Issue a certificate at a kiosk or certificate centre on the resident's application.
    IssueCertificateKiosk => audited(CertificateIssueKiosk),
    /// Read a coupon at a site to confirm it before a dose.
    ReadCoupon => audited(CouponRead),
    /// Register a dose given at a site.
    RegisterDose => audited(DoseRegister),
    /// Take back a dose this principal registered itself.
    UndoOwnDose => audited(DoseUndo),
    /// Read statistics (counts only; small counts suppressed).
    ReadStatistics => code("statistics.read"),
    /// Apply to the national operator for user IDs for the municipality.
    ApplyForAccounts => audited(AccountApply),
    /// Approve or reject applications for user IDs, and review locked accounts.
    ApproveAccounts => audited(AccountApprove),
    /// Publish a new version of the terms (確認事項).
    PublishTerms => audited(TermsPublish),
    /// Read the published terms and the municipality's agreements.
    ReadTerms => code("terms.read"),
    /// Agree to a version of the terms for the municipality.
    AgreeToTerms => audited(TermsAgree),
    /// Stop (or resume) a function at once, saying why.
    EmergencyStop => audited(FunctionStop),
    /// Back up a municipality's area to the separate backup area.
    BackupArea => audited(BackupTake),
    /// Restore a municipality's area from its backup.
    RestoreArea => audited(BackupRestore),
    /// Destroy a municipality's whole area (crypto-shredding), on its recorded consent.
    DeleteArea => audited(AreaDelete),
}

/// The kinds of target an action is defined on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TargetKind {
    Nation,
    Prefecture,
    Municipality,
    Person,
    Coupon,
    Dose,
    Inquiry,
}

impl TargetKind {
    pub(crate) fn of(target: &Target) -> Self {
        match target {
            Target::Nation => TargetKind::Nation,
            Target::Prefecture(_) => TargetKind::Prefecture,
            Target::Municipality(_) => TargetKind::Municipality,
            Target::Person { .. } => TargetKind::Person,
            Target::Coupon { .. } => TargetKind::Coupon,
            Target::Dose { .. } => TargetKind::Dose,
            Target::Inquiry { .. } => TargetKind::Inquiry,
        }
    }
}

impl Action {
    /// Actions that see, search, send or bring in a My Number (a targets file holds one per
    /// person), or carry the area's (sealed) My Numbers out in a backup file. Only from LG-WAN, never on a site tablet (promises 3, 4, 13 of
    /// docs/pia.md). The app and kiosk flows are not among them: the card's data goes to the
    /// server, which finds the person itself, and nobody is shown the number.
    pub fn uses_my_number(self) -> bool {
        matches!(
            self,
            Action::SearchPersonByMyNumber
                | Action::ShowMyNumber
                | Action::ImportTargets
                | Action::SendInquiry
                | Action::AnswerInquiry
                | Action::BackupArea
                | Action::RestoreArea
        )
    }

    /// Actions that read or change a person's data, or a log of who did so. The national operator
    /// and the prefectures never perform one (promise 16 of docs/pia.md).
    pub fn touches_person_data(self) -> bool {
        use Action::*;
        matches!(
            self,
            ReadPerson
                | SearchPeople
                | SearchPersonByMyNumber
                | ShowMyNumber
                | ImportTargets
                | ImportDoses
                | AddDose
                | CorrectPerson
                | CorrectDose
                | DeleteDose
                | DeletePerson
                | FlagPerson
                | ExportRecords
                | ReadAuditLog
                | ExportAuditLog
                | ReadProvisionRecords
                | BackupArea
                | RestoreArea
                | SendInquiry
                | AnswerInquiry
                | IssueCertificateCounter
                | IssueCertificateApp
                | IssueCertificateKiosk
                | ReadCoupon
                | RegisterDose
                | UndoOwnDose
        )
    }

    /// Actions that look through people rather than at the one coupon in hand. A site tablet never
    /// performs one.
    pub fn browses_people(self) -> bool {
        matches!(
            self,
            Action::ReadPerson
                | Action::SearchPeople
                | Action::SearchPersonByMyNumber
                | Action::ShowMyNumber
                | Action::ExportRecords
                | Action::ReadAuditLog
                | Action::ExportAuditLog
                | Action::ReadProvisionRecords
        )
    }

    /// The kinds of target this action is defined on; any other target is refused.
    pub(crate) fn target_kinds(self) -> &'static [TargetKind] {
        use Action::*;
        use TargetKind as K;
        match self {
            ReadPerson
            | ShowMyNumber
            | AddDose
            | CorrectPerson
            | DeletePerson
            | FlagPerson
            | RegisterDose
            | IssueCertificateCounter
            | IssueCertificateApp
            | IssueCertificateKiosk => &[K::Person],
            CorrectDose | DeleteDose => &[K::Person, K::Dose],
            UndoOwnDose => &[K::Dose],
            ReadCoupon => &[K::Coupon],
            SendInquiry | AnswerInquiry => &[K::Inquiry],
            SearchPeople
            | SearchPersonByMyNumber
            | ImportTargets
            | ImportDoses
            | ExportRecords
            | ReadAuditLog
            | ExportAuditLog
            | ReadProvisionRecords
            | ApplyForAccounts
            | ManageAccounts
            | AgreeToTerms
            | BackupArea
            | RestoreArea
            | DeleteArea => &[K::Municipality],
            ReadStatistics => &[K::Nation, K::Prefecture, K::Municipality],
            ReadTerms => &[K::Nation, K::Municipality],
            ApproveAccounts | EmergencyStop => &[K::Nation, K::Municipality],
            PublishTerms => &[K::Nation],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn action_codes_are_unique() {
        let codes: HashSet<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(codes.len(), Action::ALL.len());
    }

    #[test]
    fn an_audited_action_is_named_as_the_log_names_it() {
        for &action in Action::ALL {
            if let Some(audited) = action.audited_as() {
                assert_eq!(action.as_str(), audited.as_str(), "{action:?}");
            }
        }
        // No two actions claim one log entry, so the log's name says which action it was.
        let audited: HashSet<_> = Action::ALL.iter().filter_map(|a| a.audited_as()).collect();
        assert_eq!(
            audited.len(),
            Action::ALL
                .iter()
                .filter(|a| a.audited_as().is_some())
                .count()
        );
    }

    #[test]
    fn every_my_number_action_touches_person_data() {
        for &action in Action::ALL.iter().filter(|a| a.uses_my_number()) {
            assert!(action.touches_person_data(), "{action:?}");
        }
    }

    #[test]
    fn browsing_is_person_data() {
        for &action in Action::ALL.iter().filter(|a| a.browses_people()) {
            assert!(action.touches_person_data(), "{action:?}");
        }
    }

    #[test]
    fn every_action_has_a_target() {
        for &action in Action::ALL {
            assert!(!action.target_kinds().is_empty(), "{action:?}");
        }
    }
}

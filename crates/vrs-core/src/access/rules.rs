//! The rules of [`decide`](super::decide), each a small function that may only deny, and the allow
//! table. A request is allowed when no rule denies; the first that does gives the reason. The order
//! only chooses which reason is reported when several apply: the [`PROHIBITIONS`] that docs/pia.md
//! names come before the allow table, so the operator asking for a person hears "statistics only"
//! rather than a bare "not permitted", and the [`SCOPES`] come after it, so a staff member asking for
//! the operator's function hears "not permitted" rather than "another municipality".

use super::action::TargetKind;
use super::{Action, Area, DenyReason, Principal, Role, Target, Terminal};

/// One rule: `Some(reason)` denies, `None` has no objection.
pub(crate) type Rule = fn(&Principal, Action, &Target) -> Option<DenyReason>;

/// What holds whatever the allow table says; checked before it.
pub(crate) const PROHIBITIONS: &[Rule] = &[
    has_its_scope,
    target_fits_action,
    governments_see_statistics_only,
    site_tablet_never_reaches_my_number,
    my_number_only_from_lgwan,
    site_tablet_never_browses,
    token_has_the_scope,
];

/// Whose data a permitted action may touch; checked after the allow table.
pub(crate) const SCOPES: &[Rule] = &[
    municipal_roles_stay_in_own_municipality,
    prefecture_viewer_stays_in_own_prefecture,
    only_own_dose_is_undone,
];

/// The reason of the first rule that denies, if any: prohibitions, then the table, then scopes.
pub(crate) fn first_denial(p: &Principal, action: Action, target: &Target) -> Option<DenyReason> {
    let table: &[Rule] = &[in_allow_table];
    PROHIBITIONS
        .iter()
        .chain(table)
        .chain(SCOPES)
        .find_map(|rule| rule(p, action, target))
}

const NATIONAL_OPERATOR: &[Action] = &[
    Action::ReadStatistics,
    Action::ApproveAccounts,
    Action::PublishTerms,
    Action::ReadTerms,
    Action::EmergencyStop,
    // Only on the municipality's recorded consent, which the area service checks.
    Action::DeleteArea,
];

const PREFECTURE_VIEWER: &[Action] = &[Action::ReadStatistics];

/// What municipal staff may do, followed by `extra` actions: the administrator's list is built from
/// the staff's, so the two cannot drift apart.
macro_rules! municipal {
    ($($extra:expr),* $(,)?) => {
        &[
            Action::ReadPerson,
            Action::SearchPeople,
            Action::SearchPersonByMyNumber,
            Action::ShowMyNumber,
            Action::ImportTargets,
            Action::ImportDoses,
            Action::AddDose,
            Action::CorrectPerson,
            Action::CorrectDose,
            Action::DeleteDose,
            Action::DeletePerson,
            Action::FlagPerson,
            Action::ExportRecords,
            Action::ReadAuditLog,
            Action::ExportAuditLog,
            Action::ReadProvisionRecords,
            Action::SendInquiry,
            Action::AnswerInquiry,
            Action::IssueCertificateCounter,
            Action::ReadStatistics,
            Action::ReadTerms,
            $($extra,)*
        ]
    };
}

const MUNICIPAL_STAFF: &[Action] = municipal!();

/// Everything the staff may do, then what only the administrator does.
const MUNICIPAL_ADMIN: &[Action] = municipal!(
    Action::ApplyForAccounts,
    Action::ManageAccounts,
    Action::AgreeToTerms,
    Action::BackupArea,
    Action::RestoreArea,
);

const SITE_TABLET: &[Action] = &[
    Action::ReadCoupon,
    Action::RegisterDose,
    Action::UndoOwnDose,
];

const CERTIFICATE_SERVICE: &[Action] =
    &[Action::IssueCertificateApp, Action::IssueCertificateKiosk];

const ALLOW: &[(Role, &[Action])] = &[
    (Role::NationalOperator, NATIONAL_OPERATOR),
    (Role::PrefectureViewer, PREFECTURE_VIEWER),
    (Role::MunicipalAdmin, MUNICIPAL_ADMIN),
    (Role::MunicipalStaff, MUNICIPAL_STAFF),
    (Role::SiteTablet, SITE_TABLET),
    (Role::CertificateService, CERTIFICATE_SERVICE),
];

/// The allow table: for each role, the only actions it may ever perform (subject to every other
/// rule). For menus and documentation; decisions go through [`decide`](super::decide).
pub fn allow_table() -> &'static [(Role, &'static [Action])] {
    ALLOW
}

/// The actions of `role` in the allow table.
pub fn allowed_actions(role: Role) -> &'static [Action] {
    ALLOW
        .iter()
        .find(|(r, _)| *r == role)
        .map_or(&[], |(_, actions)| actions)
}

/// A role bound to a municipality or a prefecture must carry it; without it nothing is scoped.
pub(crate) fn has_its_scope(p: &Principal, _: Action, _: &Target) -> Option<DenyReason> {
    match p.role {
        Role::MunicipalAdmin | Role::MunicipalStaff | Role::SiteTablet
            if p.municipality.is_none() =>
        {
            Some(DenyReason::NoMunicipality)
        }
        Role::PrefectureViewer if p.prefecture.is_none() => Some(DenyReason::NoPrefecture),
        _ => None,
    }
}

/// A machine client's token does only what one of its scopes grants.
pub(crate) fn token_has_the_scope(p: &Principal, action: Action, _: &Target) -> Option<DenyReason> {
    match &p.scopes {
        Some(scopes) if !scopes.grants(action) => Some(DenyReason::OutOfScope),
        _ => None,
    }
}

/// An action is defined only on its kinds of target (a dose is registered for a person, not for
/// a prefecture).
pub(crate) fn target_fits_action(_: &Principal, action: Action, t: &Target) -> Option<DenyReason> {
    (!action.target_kinds().contains(&TargetKind::of(t))).then_some(DenyReason::TargetMismatch)
}

/// The nation and the prefectures see statistics, never a person (promise 16 of docs/pia.md).
pub(crate) fn governments_see_statistics_only(
    p: &Principal,
    action: Action,
    target: &Target,
) -> Option<DenyReason> {
    (p.role.is_government() && (action.touches_person_data() || target.is_person_level()))
        .then_some(DenyReason::StatisticsOnly)
}

/// A site tablet, on the internet, can never reach a My Number, whatever network it claims
/// (promise 3 of docs/pia.md).
pub(crate) fn site_tablet_never_reaches_my_number(
    p: &Principal,
    action: Action,
    _: &Target,
) -> Option<DenyReason> {
    (p.role == Role::SiteTablet && action.uses_my_number())
        .then_some(DenyReason::MyNumberOnSiteTablet)
}

/// A My Number is seen, searched or sent only from an LG-WAN terminal (promises 4, 13, 15 of
/// docs/pia.md).
pub(crate) fn my_number_only_from_lgwan(
    p: &Principal,
    action: Action,
    _: &Target,
) -> Option<DenyReason> {
    (action.uses_my_number() && p.terminal != Terminal::Lgwan)
        .then_some(DenyReason::MyNumberOffLgwan)
}

/// A site tablet sees the coupon it has just read and nothing more: it never browses people.
pub(crate) fn site_tablet_never_browses(
    p: &Principal,
    action: Action,
    _: &Target,
) -> Option<DenyReason> {
    (p.role == Role::SiteTablet && action.browses_people())
        .then_some(DenyReason::SiteTabletCannotBrowse)
}

/// Anything not in the allow table is denied.
pub(crate) fn in_allow_table(p: &Principal, action: Action, _: &Target) -> Option<DenyReason> {
    (!allowed_actions(p.role).contains(&action)).then_some(DenyReason::RoleNotPermitted)
}

/// Municipal accounts act only in their own municipality's area, whatever the action
/// (docs/server.md, "Access decisions"; promises 2, 22 of docs/pia.md). An inquiry is sent from
/// one's own area and answered from it.
pub(crate) fn municipal_roles_stay_in_own_municipality(
    p: &Principal,
    action: Action,
    target: &Target,
) -> Option<DenyReason> {
    if !p.role.is_municipal() {
        return None;
    }
    let Some(own) = p.municipality else {
        return Some(DenyReason::NoMunicipality);
    };
    match target.area(action) {
        Area::Municipality(m) if m == own => None,
        _ => Some(DenyReason::ForeignMunicipality),
    }
}

/// A prefecture sees its own prefecture and its own municipalities, not another's, nor the nation.
pub(crate) fn prefecture_viewer_stays_in_own_prefecture(
    p: &Principal,
    action: Action,
    target: &Target,
) -> Option<DenyReason> {
    if p.role != Role::PrefectureViewer {
        return None;
    }
    let Some(own) = p.prefecture else {
        return Some(DenyReason::NoPrefecture);
    };
    let inside = match target.area(action) {
        Area::Prefecture(pref) => pref == own,
        Area::Municipality(m) => m.prefecture() == own,
        Area::Nation => false,
    };
    (!inside).then_some(DenyReason::ForeignPrefecture)
}

/// "Undo own dose" takes back only a dose this principal registered itself.
pub(crate) fn only_own_dose_is_undone(
    p: &Principal,
    action: Action,
    target: &Target,
) -> Option<DenyReason> {
    if action != Action::UndoOwnDose {
        return None;
    }
    match target {
        Target::Dose { registered_by, .. } if !p.user.is_empty() && *registered_by == p.user => {
            None
        }
        _ => Some(DenyReason::NotOwnDose),
    }
}

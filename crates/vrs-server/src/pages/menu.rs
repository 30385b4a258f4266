//! The menu: every page the system offers, and for a signed-in viewer the pages the access rules
//! let it open from the terminal in use.

use vrs_core::access::{decide, Action, Principal, Target};

use crate::i18n::Text;

/// A menu entry: its label, where it goes, and what its page needs — the action, on which target —
/// so the menu shows exactly the pages the access rules let the viewer open from the terminal in
/// use.
pub struct MenuItem {
    pub label: Text,
    pub href: &'static str,
    /// `None` for a page every account has.
    needs: Option<(Action, On)>,
}

/// The target a menu page acts on, from the viewer's own account.
#[derive(Clone, Copy)]
enum On {
    /// The viewer's area: its municipality, prefecture or the nation.
    Area,
    /// The viewer's own municipality (a page of municipal accounts only).
    OwnMunicipality,
    /// A person of the viewer's municipality.
    OwnPerson,
    /// An inquiry sent from the viewer's municipality.
    OwnInquiry,
}

const fn item(label: Text, href: &'static str, needs: Action, on: On) -> MenuItem {
    MenuItem {
        label,
        href,
        needs: Some((needs, on)),
    }
}

/// Every page a menu may offer, in the order menus show them.
const MENU: [MenuItem; 21] = [
    item(
        Text::ApplyForAccounts,
        "/admin/applications",
        Action::ApplyForAccounts,
        On::OwnMunicipality,
    ),
    item(
        Text::ManageAccounts,
        "/admin/accounts",
        Action::ManageAccounts,
        On::OwnMunicipality,
    ),
    item(
        Text::VaccinationRecords,
        "/records",
        Action::SearchPeople,
        On::OwnMunicipality,
    ),
    item(
        Text::ImportTargets,
        "/targets/import",
        Action::ImportTargets,
        On::OwnMunicipality,
    ),
    item(
        Text::ImportDoses,
        "/doses/import",
        Action::ImportDoses,
        On::OwnMunicipality,
    ),
    item(
        Text::DownloadDoses,
        "/doses/export",
        Action::ExportRecords,
        On::OwnMunicipality,
    ),
    item(
        Text::MenuCertificatesIssued,
        "/certificates",
        Action::SearchPeople,
        On::OwnMunicipality,
    ),
    item(
        Text::DuplicatePeople,
        "/duplicates",
        Action::CorrectPerson,
        On::OwnPerson,
    ),
    item(
        Text::InquiryToAnotherMunicipality,
        "/inquiries",
        Action::SendInquiry,
        On::OwnInquiry,
    ),
    item(
        Text::BulkInquiry,
        "/inquiries/bulk",
        Action::SendInquiry,
        On::OwnInquiry,
    ),
    item(
        Text::ProvisionRecords,
        "/provisions",
        Action::ReadProvisionRecords,
        On::OwnMunicipality,
    ),
    item(
        Text::Terms,
        "/terms",
        Action::ReadTerms,
        On::OwnMunicipality,
    ),
    item(
        Text::MenuStatistics,
        "/statistics",
        Action::ReadStatistics,
        On::Area,
    ),
    item(
        Text::SearchTheAuditLog,
        "/audit",
        Action::ReadAuditLog,
        On::OwnMunicipality,
    ),
    item(
        Text::Backup,
        "/admin/backup",
        Action::BackupArea,
        On::OwnMunicipality,
    ),
    item(
        Text::AccountApplications,
        "/operator/applications",
        Action::ApproveAccounts,
        On::Area,
    ),
    item(
        Text::MenuLockedAccounts,
        "/operator/locks",
        Action::ApproveAccounts,
        On::Area,
    ),
    item(
        Text::MenuUnusualCouponReads,
        "/operator/coupon-reads",
        Action::ApproveAccounts,
        On::Area,
    ),
    item(
        Text::PublishTerms,
        "/operator/terms",
        Action::PublishTerms,
        On::Area,
    ),
    item(
        Text::EmergencyStop,
        "/operator/functions",
        Action::EmergencyStop,
        On::Area,
    ),
    item(
        Text::RegisterADoseTablet,
        "/tablet",
        Action::RegisterDose,
        On::OwnPerson,
    ),
];

const PASSWORD_ITEM: MenuItem = MenuItem {
    label: Text::ChangePassword,
    href: "/password",
    needs: None,
};

/// The menu of a signed-in viewer: the pages its role may open from its terminal, then the
/// password change every account has.
pub fn menu(principal: &Principal) -> Vec<&'static MenuItem> {
    let target = |on: On| -> Option<Target> {
        let own = principal.municipality;
        Some(match on {
            On::Area => match (own, principal.prefecture) {
                (Some(m), _) => Target::Municipality(m),
                (None, Some(p)) => Target::Prefecture(p),
                (None, None) => Target::Nation,
            },
            On::OwnMunicipality => Target::Municipality(own?),
            On::OwnPerson => Target::Person { home: own? },
            On::OwnInquiry => Target::Inquiry {
                requester: own?,
                holder: own?,
            },
        })
    };
    MENU.iter()
        .chain([&PASSWORD_ITEM])
        .filter(|item| match item.needs {
            None => true,
            Some((action, on)) => {
                target(on).is_some_and(|t| decide(principal, action, &t).is_allowed())
            }
        })
        .collect()
}

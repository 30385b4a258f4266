//! The roles a user ID is issued with: who acts in the system. Their codes are stored with each
//! account and written to the audit log; they never change.

use std::fmt;
use std::str::FromStr;

/// What a principal is, as issued with its user ID. The codes of [`Role::as_str`] are stored in the
/// database and written to the audit log; they never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The Digital Agency's operator (デジタル庁): accounts, terms, switches, national statistics.
    NationalOperator,
    /// A prefecture (都道府県): statistics of its own municipalities.
    PrefectureViewer,
    /// A municipality's administrator: its staff's work plus accounts, terms and backup.
    MunicipalAdmin,
    /// A municipality's staff: its own residents' records.
    MunicipalStaff,
    /// A vaccination site's tablet: reads coupons and registers doses.
    SiteTablet,
    /// The certificate app's back end, a convenience-store kiosk or a certificate centre.
    CertificateService,
}

/// A role code that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}")]
pub struct UnknownRole(pub String);

impl Role {
    pub const ALL: [Role; 6] = [
        Role::NationalOperator,
        Role::PrefectureViewer,
        Role::MunicipalAdmin,
        Role::MunicipalStaff,
        Role::SiteTablet,
        Role::CertificateService,
    ];

    /// The stable code used in the database and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::NationalOperator => "national_operator",
            Role::PrefectureViewer => "prefecture_viewer",
            Role::MunicipalAdmin => "municipal_admin",
            Role::MunicipalStaff => "municipal_staff",
            Role::SiteTablet => "site_tablet",
            Role::CertificateService => "certificate_service",
        }
    }

    /// The role of a stored code; exact match only.
    pub fn parse(s: &str) -> Result<Self, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Role::NationalOperator => "国（運用管理者）",
            Role::PrefectureViewer => "都道府県",
            Role::MunicipalAdmin => "市区町村管理者",
            Role::MunicipalStaff => "市区町村職員",
            Role::SiteTablet => "接種会場タブレット",
            Role::CertificateService => "コンビニ交付・証明書センター",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Role::NationalOperator => "National operator",
            Role::PrefectureViewer => "Prefecture",
            Role::MunicipalAdmin => "Municipal administrator",
            Role::MunicipalStaff => "Municipal staff",
            Role::SiteTablet => "Vaccination-site tablet",
            Role::CertificateService => "Kiosk / certificate centre",
        }
    }

    /// A municipal administrator or staff member: bound to one municipality's data.
    pub fn is_municipal(self) -> bool {
        matches!(self, Role::MunicipalAdmin | Role::MunicipalStaff)
    }

    /// The national operator or a prefecture: statistics, never a person.
    pub fn is_government(self) -> bool {
        matches!(self, Role::NationalOperator | Role::PrefectureViewer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

//! Who may do what, from which terminal, to whose data: the access decision of the whole system.
//!
//! [`decide`] is a pure function of the acting [`Principal`] (taken from the session, never from
//! the request), the [`Action`] and the [`Target`] it acts on. It does no IO, so every rule of who
//! may do what (docs/server.md, "Access decisions") is proven by a unit test here, and every
//! service and HTTP handler asks the same question the same way.
//!
//! The decision is made by a fixed list of small rules (`access/rules.rs`), each of which may only
//! deny. One of them is the allow table: a (role, action) pair that is not in it is denied. The
//! answer is [`Decision::Allow`] only when no rule denies, so deny always wins and adding an allow
//! row can never lift a prohibition such as "a site tablet never reaches a My Number" or "the nation
//! sees statistics only" (promises 3, 4, 16 of docs/pia.md).
//!
//! What is decided elsewhere, because it needs data: whether the municipality has agreed to the terms
//! a function depends on, whether a function is stopped, whether the operator holds a record of the
//! municipality's consent before deleting its area, and whether the person named really exists.

mod action;
mod reason;
mod rules;
mod scope;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use vrs_domain::{MunicipalityCode, PrefectureCode};

pub use action::Action;
pub use reason::DenyReason;
pub use rules::{allow_table, allowed_actions};
pub use scope::{Scope, Scopes, UnknownScope};

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

/// Where the principal acts from. LG-WAN is whatever network the deployment names as trusted;
/// everything else is the internet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Terminal {
    Lgwan,
    Internet,
}

impl Terminal {
    /// The stable code used in the database and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Terminal::Lgwan => "lgwan",
            Terminal::Internet => "internet",
        }
    }

    /// `"lgwan"` is LG-WAN; any other code is the internet, so an unknown value never gains trust.
    pub fn from_code(s: &str) -> Self {
        if s == "lgwan" {
            Terminal::Lgwan
        } else {
            Terminal::Internet
        }
    }
}

impl fmt::Display for Terminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who acts: built from the session (account and terminal class), never from the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    pub terminal: Terminal,
    /// The municipality of a municipal account, or the site municipality of a site tablet.
    pub municipality: Option<MunicipalityCode>,
    /// The prefecture of a prefecture viewer.
    pub prefecture: Option<PrefectureCode>,
    /// The scopes of the bearer token a machine client acts with; `None` for a session, whose
    /// role alone decides.
    pub scopes: Option<Scopes>,
}

/// What an action acts on. Person-level targets name the municipality whose area holds the data,
/// so scoping never depends on a code the caller chose for itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The whole country: national statistics, terms, account decisions, a nationwide stop.
    Nation,
    /// A prefecture as a whole (its statistics).
    Prefecture(PrefectureCode),
    /// A municipality's area as a whole: its imports, exports, logs, statistics, terms, backup.
    Municipality(MunicipalityCode),
    /// One person's records, kept in their home municipality's area.
    Person { home: MunicipalityCode },
    /// A coupon as read at a site: the municipality is the one in its OCR line.
    Coupon { municipality: MunicipalityCode },
    /// One recorded dose, in the person's home municipality's area, with who registered it.
    Dose {
        home: MunicipalityCode,
        registered_by: String,
    },
    /// An inquiry (照会) from the municipality a person moved to, to the one they moved from.
    Inquiry {
        requester: MunicipalityCode,
        holder: MunicipalityCode,
    },
}

/// The area a decision is scoped by: whose data the action touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Area {
    Nation,
    Prefecture(PrefectureCode),
    Municipality(MunicipalityCode),
}

impl Target {
    /// True for targets that are one person's data (or a coupon, a dose, an inquiry about one).
    pub fn is_person_level(&self) -> bool {
        matches!(
            self,
            Target::Person { .. }
                | Target::Coupon { .. }
                | Target::Dose { .. }
                | Target::Inquiry { .. }
        )
    }

    /// The area the action acts in: an inquiry is sent from the requester's area and answered from
    /// the holder's.
    pub(crate) fn area(&self, action: Action) -> Area {
        match self {
            Target::Nation => Area::Nation,
            Target::Prefecture(p) => Area::Prefecture(*p),
            Target::Municipality(m)
            | Target::Person { home: m }
            | Target::Coupon { municipality: m }
            | Target::Dose { home: m, .. } => Area::Municipality(*m),
            Target::Inquiry { requester, holder } => match action {
                Action::AnswerInquiry => Area::Municipality(*holder),
                _ => Area::Municipality(*requester),
            },
        }
    }
}

/// The answer: allowed, or denied with a reason that has a stable code and a message in Japanese
/// and English.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Decision {
    Allow,
    Deny(DenyReason),
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }

    /// `Ok(())` or the reason, for `?` in services.
    pub fn into_result(self) -> Result<(), DenyReason> {
        match self {
            Decision::Allow => Ok(()),
            Decision::Deny(reason) => Err(reason),
        }
    }
}

/// Decides whether `principal` may perform `action` on `target`. Allowed only if no rule denies;
/// the reason given is that of the first rule that denies.
pub fn decide(principal: &Principal, action: Action, target: &Target) -> Decision {
    match rules::first_denial(principal, action, target) {
        Some(reason) => Decision::Deny(reason),
        None => Decision::Allow,
    }
}

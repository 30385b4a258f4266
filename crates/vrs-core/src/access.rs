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

use vrs_domain::{MunicipalityCode, PrefectureCode};

pub use action::Action;
pub use reason::DenyReason;
pub use rules::{allow_table, allowed_actions};
pub use scope::{Scope, Scopes, UnknownScope};
pub use vrs_domain::{Role, Terminal, UnknownRole};

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

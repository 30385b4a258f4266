//! Who a route is for, in the access table's words: the actions its handlers check, and from the
//! allow table the roles that may perform them.

use vrs_core::access::{allowed_actions, Action, Role};

/// Who a route is for. A route of the access table names the actions its handlers check before they
/// act; the roles it is for are read from the allow table, so the route table and the access rules
/// cannot disagree about them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Anyone, signed in or not (health, metrics, sign-in, language, what verifiers fetch).
    Public,
    /// Any signed-in account (menu, password, sign-out).
    SignedIn,
    /// Whoever the allow table lets perform one of these actions: the action the route's handlers
    /// check before they act, one per method where the methods differ (the FHIR `Immunization`
    /// search reads records, its create adds doses), or each the route accepts (HL7 v2 admits
    /// whoever may add doses or read records). A handler may check another action too (the own
    /// municipality's search before one person's record); a role the allow table gives none of
    /// these is refused.
    Acts(&'static [Action]),
    /// As [`Audience::Acts`], on the account's own municipality: of the roles the allow table gives
    /// one of these actions, the municipal accounts. The national operator reads the terms too,
    /// but on its own page, not on the municipality's.
    InOwnMunicipality(&'static [Action]),
}

impl Audience {
    /// Whether a signed-in account of `role` is among the route's audience (every role is for a
    /// public route or one of every signed-in account).
    pub fn admits(self, role: Role) -> bool {
        let acts = |actions: &[Action]| actions.iter().any(|a| allowed_actions(role).contains(a));
        match self {
            Audience::Public | Audience::SignedIn => true,
            Audience::Acts(actions) => acts(actions),
            Audience::InOwnMunicipality(actions) => role.is_municipal() && acts(actions),
        }
    }

    /// The actions the route's handlers check; none for a route outside the access table.
    pub fn actions(self) -> &'static [Action] {
        match self {
            Audience::Public | Audience::SignedIn => &[],
            Audience::Acts(actions) | Audience::InOwnMunicipality(actions) => actions,
        }
    }
}

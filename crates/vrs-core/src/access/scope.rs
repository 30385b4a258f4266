//! What a machine client's bearer token may do: OAuth scopes, each granting a fixed set of
//! [`Action`]s. A token never widens what its account's role may do — the allow table still decides
//! — it only narrows it: a principal acting with a token is denied every action none of its scopes
//! grants (`DenyReason::OutOfScope`).

use super::Action;

macro_rules! scopes {
    ($($(#[$doc:meta])* $name:ident => $code:literal: [$($action:ident),* $(,)?]),* $(,)?) => {
        /// One scope a machine client may be registered for and ask for.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Scope {
            $($(#[$doc])* $name,)*
        }

        impl Scope {
            pub const ALL: &'static [Scope] = &[$(Scope::$name,)*];

            /// The code a client asks for and the token answer lists.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Scope::$name => $code,)*
                }
            }

            /// The actions this scope grants.
            pub fn actions(self) -> &'static [Action] {
                match self {
                    $(Scope::$name => &[$(Action::$action,)*],)*
                }
            }
        }
    };
}

scopes! {
    /// Read a coupon at a vaccination site.
    CouponsRead => "coupons.read": [ReadCoupon],
    /// Register a dose at a site and take back one registered by the same client.
    DosesWrite => "doses.write": [RegisterDose, UndoOwnDose],
    /// Issue certificates (the app's back end, a kiosk).
    CertificatesIssue => "certificates.issue": [IssueCertificateApp, IssueCertificateKiosk],
    /// Read statistics.
    StatisticsRead => "statistics.read": [ReadStatistics],
    /// Upload the targets and coupons file of the resident registry (`POST /api/v1/targets`).
    TargetsImport => "targets.import": [ImportTargets],
    /// Send inquiries about movers and keep the doses they return.
    InquiriesSend => "inquiries.send": [SendInquiry, AddDose, ReadProvisionRecords],
    /// FHIR: create Immunizations (single or in a transaction Bundle).
    FhirImmunizationWrite => "system/Immunization.write": [ImportDoses],
    /// FHIR: read and search Immunizations.
    FhirImmunizationRead => "system/Immunization.read": [ReadPerson, SearchPeople],
    /// FHIR: read and search Patients (never by My Number).
    FhirPatientRead => "system/Patient.read": [ReadPerson, SearchPeople],
}

impl Scope {
    pub fn parse(code: &str) -> Option<Scope> {
        Self::ALL.iter().copied().find(|s| s.as_str() == code)
    }

    /// The scopes that grant `action`.
    pub fn granting(action: Action) -> Vec<Scope> {
        Self::ALL
            .iter()
            .copied()
            .filter(|s| s.actions().contains(&action))
            .collect()
    }
}

/// A set of scopes, in the order of [`Scope::ALL`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scopes(Vec<Scope>);

/// A scope code this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}")]
pub struct UnknownScope(pub String);

impl Scopes {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        let mut v: Vec<Scope> = scopes.into_iter().collect();
        v.sort();
        v.dedup();
        Scopes(v)
    }

    /// Scopes from their space-separated codes (RFC 6749 §3.3); an unknown code is an error.
    pub fn parse(text: &str) -> Result<Self, UnknownScope> {
        text.split_ascii_whitespace()
            .map(|code| Scope::parse(code).ok_or_else(|| UnknownScope(code.to_owned())))
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether some scope of the set grants `action`.
    pub fn grants(&self, action: Action) -> bool {
        self.0.iter().any(|s| s.actions().contains(&action))
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.contains(*s))
    }
}

impl std::fmt::Display for Scopes {
    /// The space-separated codes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let codes: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&codes.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(*s));
            assert!(!s.actions().is_empty());
        }
        let all = Scopes::new(Scope::ALL.iter().copied());
        assert_eq!(Scopes::parse(&all.to_string()).unwrap(), all);
        assert_eq!(
            Scopes::parse("doses.write bogus"),
            Err(UnknownScope("bogus".into()))
        );
    }

    #[test]
    fn no_scope_reaches_a_my_number_or_the_operators_functions() {
        for action in [
            Action::SearchPersonByMyNumber,
            Action::ShowMyNumber,
            Action::DeletePerson,
            Action::DeleteDose,
            Action::ApproveAccounts,
            Action::EmergencyStop,
            Action::ExportRecords,
            Action::ReadAuditLog,
        ] {
            assert!(Scope::granting(action).is_empty(), "{action:?}");
        }
    }

    #[test]
    fn a_set_grants_what_its_scopes_grant_and_nothing_else() {
        let s = Scopes::parse("coupons.read doses.write").unwrap();
        assert!(s.grants(Action::ReadCoupon));
        assert!(s.grants(Action::RegisterDose));
        assert!(!s.grants(Action::IssueCertificateApp));
        assert!(Scopes::parse("coupons.read").unwrap().is_subset(&s));
        assert!(!s.is_subset(&Scopes::parse("coupons.read").unwrap()));
    }
}

//! Why an action was denied: a stable code for logs, the API and tests, and a message for the person
//! at the screen in Japanese and English. Messages say what the rule is, never anything about the
//! data the principal was refused.

use std::fmt;

/// The reason of a [`Decision::Deny`](super::Decision::Deny).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DenyReason {
    /// A municipal account or site tablet without its municipality.
    NoMunicipality,
    /// A prefecture viewer without its prefecture.
    NoPrefecture,
    /// The action is not defined on this kind of target.
    TargetMismatch,
    /// The national operator or a prefecture asked for a person's data.
    StatisticsOnly,
    /// A site tablet asked for something that uses a My Number.
    MyNumberOnSiteTablet,
    /// A My Number action from a terminal outside LG-WAN.
    MyNumberOffLgwan,
    /// A site tablet asked to look through people.
    SiteTabletCannotBrowse,
    /// The role may not perform this action at all.
    RoleNotPermitted,
    /// A municipal account acting outside its own municipality's area.
    ForeignMunicipality,
    /// A prefecture viewer asking about another prefecture or the nation.
    ForeignPrefecture,
    /// Undoing a dose someone else registered.
    NotOwnDose,
    /// A machine client's token has no scope that grants the action.
    OutOfScope,
}

impl DenyReason {
    pub const ALL: [DenyReason; 12] = [
        DenyReason::NoMunicipality,
        DenyReason::NoPrefecture,
        DenyReason::TargetMismatch,
        DenyReason::StatisticsOnly,
        DenyReason::MyNumberOnSiteTablet,
        DenyReason::MyNumberOffLgwan,
        DenyReason::SiteTabletCannotBrowse,
        DenyReason::RoleNotPermitted,
        DenyReason::ForeignMunicipality,
        DenyReason::ForeignPrefecture,
        DenyReason::NotOwnDose,
        DenyReason::OutOfScope,
    ];

    /// The stable code, for the audit log's outcome, API errors and tests.
    pub fn code(self) -> &'static str {
        match self {
            DenyReason::NoMunicipality => "no_municipality",
            DenyReason::NoPrefecture => "no_prefecture",
            DenyReason::TargetMismatch => "target_mismatch",
            DenyReason::StatisticsOnly => "statistics_only",
            DenyReason::MyNumberOnSiteTablet => "my_number_on_site_tablet",
            DenyReason::MyNumberOffLgwan => "my_number_off_lgwan",
            DenyReason::SiteTabletCannotBrowse => "site_tablet_cannot_browse",
            DenyReason::RoleNotPermitted => "role_not_permitted",
            DenyReason::ForeignMunicipality => "foreign_municipality",
            DenyReason::ForeignPrefecture => "foreign_prefecture",
            DenyReason::NotOwnDose => "not_own_dose",
            DenyReason::OutOfScope => "out_of_scope",
        }
    }

    pub fn message_ja(self) -> &'static str {
        match self {
            DenyReason::NoMunicipality => {
                "このアカウントには市区町村が設定されていないため、操作できません。"
            }
            DenyReason::NoPrefecture => {
                "このアカウントには都道府県が設定されていないため、操作できません。"
            }
            DenyReason::TargetMismatch => "この操作は、指定された対象には行えません。",
            DenyReason::StatisticsOnly => {
                "国・都道府県は統計情報のみを閲覧でき、個人のデータは扱えません。"
            }
            DenyReason::MyNumberOnSiteTablet => "接種会場のタブレットでは個人番号を扱えません。",
            DenyReason::MyNumberOffLgwan => "個人番号はLG-WAN端末からのみ扱えます。",
            DenyReason::SiteTabletCannotBrowse => {
                "接種会場のタブレットでは、読み取った接種券以外の情報は閲覧できません。"
            }
            DenyReason::RoleNotPermitted => "この役割では、この操作は行えません。",
            DenyReason::ForeignMunicipality => "他の市区町村のデータは扱えません。",
            DenyReason::ForeignPrefecture => "他の都道府県の統計は閲覧できません。",
            DenyReason::NotOwnDose => "取り消せるのは、この端末で登録した接種記録のみです。",
            DenyReason::OutOfScope => "このアクセストークンのスコープでは、この操作は行えません。",
        }
    }

    pub fn message_en(self) -> &'static str {
        match self {
            DenyReason::NoMunicipality => "This account has no municipality, so it cannot act.",
            DenyReason::NoPrefecture => "This account has no prefecture, so it cannot act.",
            DenyReason::TargetMismatch => "This operation cannot be performed on that target.",
            DenyReason::StatisticsOnly => {
                "The national and prefectural governments see statistics only, never a person's data."
            }
            DenyReason::MyNumberOnSiteTablet => {
                "A vaccination-site tablet never handles a My Number."
            }
            DenyReason::MyNumberOffLgwan => "A My Number is handled only from an LG-WAN terminal.",
            DenyReason::SiteTabletCannotBrowse => {
                "A vaccination-site tablet sees only the coupon it has just read."
            }
            DenyReason::RoleNotPermitted => "Your role does not permit this operation.",
            DenyReason::ForeignMunicipality => {
                "You may act only on your own municipality's data."
            }
            DenyReason::ForeignPrefecture => {
                "You may see only the statistics of your own prefecture."
            }
            DenyReason::NotOwnDose => "Only a dose registered by this terminal can be undone.",
            DenyReason::OutOfScope => "The access token's scopes do not permit this operation.",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for DenyReason {}

/// An access refusal: 403 with the reason's own code.
impl vrs_domain::UserFacing for DenyReason {
    fn code(&self) -> &'static str {
        DenyReason::code(*self)
    }
    fn status(&self) -> u16 {
        403
    }
    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        DenyReason::message_ja(*self).into()
    }
    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        DenyReason::message_en(*self).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn deny_codes_are_unique_snake_case() {
        let codes: HashSet<_> = DenyReason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), DenyReason::ALL.len());
        for code in codes {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
    }

    #[test]
    fn every_deny_reason_has_both_messages() {
        for reason in DenyReason::ALL {
            assert!(!reason.message_ja().is_empty(), "{reason:?}");
            assert!(reason.message_en().ends_with('.'), "{reason:?}");
            assert!(reason.message_ja().ends_with('。'), "{reason:?}");
        }
    }
}

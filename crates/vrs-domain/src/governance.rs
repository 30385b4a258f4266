//! What the national operator governs beside accounts: the versioned terms (確認事項) a
//! municipality agrees to, the functions the operator can stop in an emergency (緊急時の措置), and
//! the legal basis on which one municipality gives another a person's records (照会・提供).

use std::fmt;

/// Declares a closed set of stored codes with Japanese and English labels, `ALL`, `as_str` and
/// `parse` (exact match only, so an unknown stored value is never taken for a known one).
macro_rules! coded {
    ($(#[$doc:meta])* $ty:ident { $($(#[$vdoc:meta])* $name:ident => $code:literal, $ja:literal, $en:literal;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $ty {
            $($(#[$vdoc])* $name,)*
        }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$name,)*];

            /// The stable code stored in the database and written to the audit log.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$name => $code,)* }
            }

            pub fn label_ja(self) -> &'static str {
                match self { $($ty::$name => $ja,)* }
            }

            pub fn label_en(self) -> &'static str {
                match self { $($ty::$name => $en,)* }
            }

            /// The value of a stored code; exact match only.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|x| x.as_str() == s)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

coded! {
    /// A document of terms the national operator publishes in versions and each municipality
    /// agrees to. Functions that depend on one check that the municipality has agreed to its
    /// newest version.
    TermsKind {
        /// 新型コロナウイルスワクチン接種記録システムの利用にあたっての確認事項 (seed 別紙1).
        Use => "use", "VRSの利用にあたっての確認事項", "Terms of use of the system";
        /// 他自治体への接種記録照会にあたって本人同意が不要となることに係る確認事項 (seed 別紙2):
        /// when both municipalities agreed, an inquiry needs no consent assertion.
        NoConsentInquiry => "no_consent_inquiry", "本人同意を要しない接種記録照会に係る確認事項",
            "Inquiry without the person's consent";
        /// Issuing certificates to the smartphone app on the resident's application.
        AppIssuance => "app_issuance", "接種証明書のアプリ発行に係る確認事項",
            "Certificate issuance to the app";
        /// Issuing certificates at convenience-store kiosks and certificate centres (コンビニ交付):
        /// only for municipalities that offer it.
        KioskIssuance => "kiosk_issuance", "接種証明書のコンビニ交付に係る確認事項",
            "Certificate issuance at kiosks";
    }
}

coded! {
    /// A function the national operator can stop at once in an emergency (緊急時の措置).
    Function {
        /// Inquiries between municipalities (single and bulk).
        Inquiry => "inquiry", "他自治体への接種記録照会", "Inquiries between municipalities";
        /// Certificate issuance to the smartphone app.
        AppIssuance => "app_issuance", "接種証明書のアプリ発行", "Certificate issuance to the app";
        /// Certificate issuance at convenience-store kiosks and certificate centres.
        KioskIssuance => "kiosk_issuance", "接種証明書のコンビニ交付", "Certificate issuance at kiosks";
        /// Dose registration from vaccination-site tablets.
        TabletRegistration => "tablet_registration", "タブレットからの接種記録登録",
            "Dose registration from site tablets";
        /// Uploads of targets and doses (CSV).
        Import => "import", "対象者・接種記録の取込", "Imports of targets and doses";
    }
}

coded! {
    /// On what basis a municipality gave another a person's records (番号法第19条第16号).
    ConsentBasis {
        /// The asking municipality's staff asserted that the person consented.
        Consent => "consent", "本人同意あり", "The person consented";
        /// Both municipalities agreed to the no-consent terms (別紙2): consent was hard to obtain.
        NoConsentTerms => "no_consent_terms", "本人同意不要（別紙2の確認事項に双方同意）",
            "No consent needed (both agreed to the no-consent terms)";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_refused() {
        for &k in TermsKind::ALL {
            assert_eq!(TermsKind::parse(k.as_str()), Some(k));
        }
        for &f in Function::ALL {
            assert_eq!(Function::parse(f.as_str()), Some(f));
        }
        for &c in ConsentBasis::ALL {
            assert_eq!(ConsentBasis::parse(c.as_str()), Some(c));
        }
        assert_eq!(Function::parse("Inquiry"), None);
        assert_eq!(TermsKind::parse(""), None);
    }
}

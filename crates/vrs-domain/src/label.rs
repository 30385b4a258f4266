//! Values that people read under a name in Japanese and in English — a sex, a role, a kind of
//! certificate, a vaccine product, the heading of a statistics table — and the one way to name them
//! in the reader's language, [`Labelled::label`].

/// A value with a name in Japanese and a name in English. `'a` is how long the names live:
/// `'static` for the closed sets of the domain, whose names are written in the code.
pub trait Labelled<'a> {
    /// The name in Japanese.
    fn label_ja(&self) -> &'a str;

    /// The name in English.
    fn label_en(&self) -> &'a str;

    /// The name in Japanese when `ja`, else in English.
    fn label(&self, ja: bool) -> &'a str {
        if ja {
            self.label_ja()
        } else {
            self.label_en()
        }
    }
}

/// A name written in both languages, Japanese first, as the statistics tables carry their headings
/// and rows.
impl<'a> Labelled<'a> for (&'a str, &'a str) {
    fn label_ja(&self) -> &'a str {
        self.0
    }

    fn label_en(&self) -> &'a str {
        self.1
    }
}

impl<'a> Labelled<'a> for &'a (String, String) {
    fn label_ja(&self) -> &'a str {
        &self.0
    }

    fn label_en(&self) -> &'a str {
        &self.1
    }
}

/// The closed sets of the domain, named by their own `label_ja` and `label_en`.
macro_rules! labelled {
    ($($ty:ty),*) => {$(
        impl Labelled<'static> for $ty {
            fn label_ja(&self) -> &'static str {
                <$ty>::label_ja(*self)
            }

            fn label_en(&self) -> &'static str {
                <$ty>::label_en(*self)
            }
        }
    )*};
}

labelled!(
    crate::Sex,
    crate::Role,
    crate::CertificateKind,
    crate::AuditAction,
    crate::TermsKind,
    crate::Function,
    crate::ConsentBasis
);

/// Where a certificate was issued; English readers see the stored code (`counter`, `app`, `kiosk`).
impl Labelled<'static> for crate::IssueChannel {
    fn label_ja(&self) -> &'static str {
        crate::IssueChannel::label_ja(*self)
    }

    fn label_en(&self) -> &'static str {
        self.as_str()
    }
}

/// A product by its 販売名 in Japanese and its English name.
impl Labelled<'static> for crate::VaccineProduct {
    fn label_ja(&self) -> &'static str {
        self.name_ja
    }

    fn label_en(&self) -> &'static str {
        self.name
    }
}

/// A maker as the ledger writes it in Japanese (ファイザー, 武田/モデルナ, …) and by its English
/// name.
impl Labelled<'static> for crate::Manufacturer {
    fn label_ja(&self) -> &'static str {
        self.ledger_name()
    }

    fn label_en(&self) -> &'static str {
        self.name_en()
    }
}

#[cfg(test)]
mod tests {
    use super::Labelled;
    use crate::{CertificateKind, Sex};

    #[test]
    fn a_label_is_the_japanese_or_the_english_name() {
        assert_eq!(Sex::Female.label(true), "女");
        assert_eq!(Sex::Female.label(false), "Female");
        assert_eq!(CertificateKind::Overseas.label(true), "海外用");
        let heading = ("計", "Total");
        assert_eq!((heading.label(true), heading.label(false)), heading);
        let row = ("1回目".to_owned(), "dose 1".to_owned());
        assert_eq!((&row).label(false), "dose 1");
    }
}

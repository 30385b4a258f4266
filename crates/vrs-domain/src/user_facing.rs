//! What a person or a client is told when the system refuses something: a stable code a program
//! can match, the HTTP status it answers with, and the reason in Japanese and in English. Every
//! refusal that reaches a page, the JSON API or a FHIR client implements [`UserFacing`], so the
//! edge renders each the same way — JSON under `/api/`, an OperationOutcome under `/fhir/`, a page
//! elsewhere — without knowing the service it came from.

use std::borrow::Cow;

pub trait UserFacing {
    /// The stable code (`not_own_resident`, `function_stopped`, …).
    fn code(&self) -> &'static str;
    /// The HTTP status of the answer (403, 404, 422, 503, …).
    fn status(&self) -> u16;
    /// The reason as a Japanese sentence.
    fn message_ja(&self) -> Cow<'_, str>;
    /// The reason as an English sentence.
    fn message_en(&self) -> Cow<'_, str>;
}

/// A refusal's words kept for later — a row's problem in an import report, a form field's error —
/// with its stable code and both sentences, so whoever shows it picks the reader's language.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reason {
    pub code: &'static str,
    pub ja: String,
    pub en: String,
}

impl Reason {
    pub fn new(code: &'static str, ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            code,
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// The words of a refusal that speaks for itself.
    pub fn of(refusal: &(impl UserFacing + ?Sized)) -> Self {
        Self::new(refusal.code(), refusal.message_ja(), refusal.message_en())
    }

    /// The sentence in Japanese (`ja`) or English.
    pub fn text(&self, ja: bool) -> &str {
        if ja {
            &self.ja
        } else {
            &self.en
        }
    }
}

/// In English, as logs and the command line have always said it.
impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en)
    }
}

impl UserFacing for Reason {
    fn code(&self) -> &'static str {
        self.code
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_ja(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.ja)
    }

    fn message_en(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.en)
    }
}

/// Declares the refusals of a value that did not parse: for each variant its code and its
/// Japanese sentence; the English is the error's own `Display`. Every such refusal answers 422.
macro_rules! parse_refusals {
    ($($ty:ty { $($pat:pat => $code:literal, $ja:expr;)* })*) => {$(
        impl UserFacing for $ty {
            fn code(&self) -> &'static str {
                #[allow(unused_variables)]
                match self {
                    $($pat => $code,)*
                }
            }

            fn status(&self) -> u16 {
                422
            }

            fn message_ja(&self) -> Cow<'_, str> {
                match self {
                    $($pat => Cow::from($ja),)*
                }
            }

            fn message_en(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
        }
    )*};
}

use crate::mrz::{CheckedField, MrzError, MrzField};
use crate::municipality::MunicipalityNameError;
use crate::{
    AtenaNumberError, CertificateIdError, CouponNumberError, DateError, DoseNumber,
    DoseNumberError, LabelError, LotNumberError, MunicipalityCodeError, MyNumberError, NameError,
    OcrLineError, SexError,
};

parse_refusals! {
    MrzError {
        MrzError::LineLength { line, found } => "mrz_line_length",
            format!("旅券のMRZの{line}行目が{found}文字です（1行は44文字です）。");
        MrzError::Character { line, position, found } => "mrz_character",
            format!("旅券のMRZの{line}行目{position}文字目の {found:?} は使えません（英大文字・数字・「<」だけです）。");
        MrzError::Field { field, reason } => "mrz_field",
            format!("旅券のMRZの{}が正しくありません（{}）。", mrz_field_ja(*field), mrz_reason_ja(reason));
        MrzError::CheckDigit { field, found, expected } => "mrz_check_digit",
            format!(
                "旅券のMRZの{}の検査数字（2行目{}文字目）が {found} です。読み取りの誤りの可能性があります（計算上は {expected}）。",
                checked_field_ja(*field),
                field.position()
            );
    }
    DateError {
        DateError::Empty => "date_empty", "日付が入力されていません。";
        DateError::Format => "date_format",
            "日付の形式が正しくありません（例: 2021-05-27、20210527、令和3年5月27日、R03.05.27）。";
        DateError::Impossible => "date_impossible", "暦にない日付です。";
        DateError::OutsideEra => "date_outside_era", "元号の期間外の日付です。";
        DateError::BeforeMeiji => "date_before_meiji", "明治（1868年10月23日）より前の日付です。";
    }
    DoseNumberError {
        DoseNumberError::Empty => "dose_number_empty", "接種回が入力されていません。";
        DoseNumberError::OutOfRange => "dose_number_out_of_range", format!(
            "接種回は{}から{}の間で指定してください。",
            DoseNumber::RANGE.start(),
            DoseNumber::RANGE.end()
        );
    }
    MyNumberError {
        MyNumberError::Empty => "my_number_empty", "個人番号が入力されていません。";
        MyNumberError::NotTwelveDigits => "my_number_digits", "個人番号は12桁の数字です。";
        MyNumberError::CheckDigit => "my_number_check_digit",
            "個人番号の検査用数字が合いません（入力の誤りの可能性があります）。";
    }
    MunicipalityCodeError {
        MunicipalityCodeError::Empty => "municipality_code_empty",
            "自治体コードが入力されていません。";
        MunicipalityCodeError::NotSixDigits => "municipality_code_digits",
            "自治体コードは6桁の数字です。";
        MunicipalityCodeError::CheckDigit => "municipality_code_check_digit",
            "自治体コードの検査数字が合いません。";
        MunicipalityCodeError::Unknown => "municipality_code_unknown",
            "全国地方公共団体コードの一覧にない自治体コードです。";
    }
    CouponNumberError {
        CouponNumberError::Empty => "coupon_number_empty", "接種券番号が入力されていません。";
        CouponNumberError::NotTenDigits => "coupon_number_digits", "接種券番号は10桁の数字です。";
    }
    AtenaNumberError {
        AtenaNumberError::Empty => "atena_number_empty", "宛名番号が入力されていません。";
        AtenaNumberError::NotDigits => "atena_number_digits", "宛名番号は数字だけで入力してください。";
        AtenaNumberError::TooLong => "atena_number_too_long", "宛名番号は15桁以内です。";
    }
    NameError {
        NameError::Empty => "name_empty", "氏名が入力されていません。";
        NameError::TooLong => "name_too_long", "氏名は100文字以内です。";
        NameError::InvalidCharacter { ch } => "name_character",
            format!("氏名に使えない文字が含まれています: {ch:?}");
    }
    SexError {
        SexError::Empty => "sex_empty", "性別が入力されていません。";
        SexError::Unknown => "sex_unknown", "性別は 1（男）または 2（女）で指定してください。";
    }
    LotNumberError {
        LotNumberError::Empty => "lot_number_empty", "ロット番号が入力されていません。";
        LotNumberError::TooLong => "lot_number_too_long", "ロット番号は20文字以内です。";
        LotNumberError::InvalidCharacter { ch } => "lot_number_character",
            format!("ロット番号に使えるのは英字・数字・「-」だけです（{ch:?} は使えません）。");
    }
    LabelError {
        LabelError::TooLong { max } => "label_too_long", format!("{max}文字以内で入力してください。");
        LabelError::Control => "label_control", "制御文字が含まれています。";
    }
    OcrLineError {
        OcrLineError::NotEighteenDigits { len } => "ocr_line_digits",
            format!("OCR行は18桁の数字です（{len}文字あります）。");
        OcrLineError::Municipality(e) => "ocr_line_municipality",
            format!("OCR行の自治体コードが正しくありません: {}", e.message_ja());
    }
    CertificateIdError {
        CertificateIdError::Length(n) => "certificate_id_length",
            format!("証明書IDは 123456-XXXXXXXXXXXXC の形（20文字）です（{n}文字あります）。");
        CertificateIdError::Municipality(e) => "certificate_id_municipality",
            format!("証明書IDは交付した自治体のコードで始まります: {e}");
        CertificateIdError::Character { position } => "certificate_id_character",
            format!("証明書IDの{position}文字目が 0–9・A–Z ではありません。");
        CertificateIdError::Check => "certificate_id_check",
            "証明書IDの検査文字が合いません（入力の誤りの可能性があります）。";
    }
}

/// An MRZ field in Japanese, with where it is.
fn mrz_field_ja(field: MrzField) -> String {
    let name = match field {
        MrzField::DocumentType => "旅券の種類",
        MrzField::IssuingState => "発行国",
        MrzField::Name => "氏名",
        MrzField::DocumentNumber => "旅券番号",
        MrzField::Nationality => "国籍",
        MrzField::BirthDate => "生年月日",
        MrzField::Sex => "性別",
        MrzField::ExpiryDate => "有効期限",
        MrzField::OptionalData => "任意記載欄",
    };
    let (line, from, to) = field.span();
    format!("{name}（{line}行目{from}–{to}文字目）")
}

fn checked_field_ja(field: CheckedField) -> &'static str {
    match field {
        CheckedField::DocumentNumber => "旅券番号",
        CheckedField::BirthDate => "生年月日",
        CheckedField::ExpiryDate => "有効期限",
        CheckedField::OptionalData => "任意記載欄",
        CheckedField::Composite => "全体",
    }
}

/// The reasons the MRZ reader gives for a field, in Japanese.
fn mrz_reason_ja(reason: &str) -> &'static str {
    match reason {
        "must start with P: only passports have this layout" => "旅券は「P」で始まります",
        "must be P followed by a letter or <" => "「P」の次は英字か「<」です",
        "must be M, F, X or <" => "M・F・X・< のいずれかです",
        "must be letters, padded with < at the end" => "英字で、後ろを「<」で埋めます",
        "has a filler < before its end" => "途中に「<」があります",
        "is empty" => "空です",
        "contains a digit" => "数字が含まれています",
        "must start with the surname" => "姓から始まります",
        "must be six digits YYMMDD" => "YYMMDDの6桁の数字です",
        "is not a calendar date" => "暦にない日付です",
        _ => "形式が違います",
    }
}

impl UserFacing for MunicipalityNameError {
    fn code(&self) -> &'static str {
        match self {
            MunicipalityNameError::Empty => "municipality_empty",
            MunicipalityNameError::Code(e) => e.code(),
            MunicipalityNameError::Unknown => "municipality_unknown_name",
            MunicipalityNameError::Ambiguous(_) => "municipality_ambiguous",
        }
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_ja(&self) -> Cow<'_, str> {
        match self {
            MunicipalityNameError::Empty => "自治体が入力されていません。".into(),
            MunicipalityNameError::Code(e) => e.message_ja(),
            MunicipalityNameError::Unknown => {
                "その名前の自治体はありません（一覧から選ぶか、6桁の団体コードを入力してください）。"
                    .into()
            }
            MunicipalityNameError::Ambiguous(_) => format!(
                "同じ名前の自治体が複数あります。都道府県名から入力するか、一覧から選んでください: {}",
                self.candidates()
            )
            .into(),
        }
    }

    fn message_en(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{parse_date, AtenaNumber, LotNumber, MunicipalityCode, MyNumber};

    #[test]
    fn a_value_that_does_not_parse_is_refused_in_both_languages() {
        let date = parse_date("2021-02-30").unwrap_err();
        assert_eq!(date.code(), "date_impossible");
        assert_eq!(date.message_ja(), "暦にない日付です。");
        assert_eq!(date.message_en(), "there is no such day in the calendar");
        let reasons = [
            Reason::of(&MyNumber::parse("123").unwrap_err()),
            Reason::of(&AtenaNumber::parse("12a").unwrap_err()),
            Reason::of(&MunicipalityCode::parse("999999").unwrap_err()),
            Reason::of(&LotNumber::parse("AB#1").unwrap_err()),
            Reason::of(&DoseNumber::parse("11").unwrap_err()),
        ];
        for r in &reasons {
            assert_eq!(r.status(), 422);
            assert!(!r.ja.is_ascii() && r.en.is_ascii(), "{r:?}");
            assert_eq!(r.text(true), r.ja);
            assert_eq!(r.to_string(), r.en);
        }
    }
}

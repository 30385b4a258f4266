//! Why the offline verifier refuses a code, in English for the issuer's support and in
//! Japanese as the verification page says it.

use chrono::{DateTime, Utc};

use super::{CodeKind, MAX_IMAGE_PIXELS};
use crate::dcc::DccError;
use crate::shc::ShcError;
use crate::vds_nc::VdsNcError;

/// Why a code is refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "not a certificate code: {0} (expected shc:/…, a compact JWS, HC1:…, VDS-NC JSON, \
         or a PNG or JPEG image of a QR code)"
    )]
    Unrecognised(&'static str),
    #[error("the image cannot be read: {0}")]
    Image(String),
    #[error(
        "the image cannot be read: the picture has {width} × {height} pixels; at most {} megapixels are read",
        MAX_IMAGE_PIXELS / 1_000_000
    )]
    ImageTooLarge { width: u32, height: u32 },
    #[error("no QR code found in the image")]
    NoQrCode,
    #[error("the QR code in the image cannot be read: {0}")]
    QrUnreadable(String),
    #[error("SMART Health Card: {0}")]
    Shc(#[from] ShcError),
    #[error("SMART Health Card: expired on {0}")]
    ShcExpired(DateTime<Utc>),
    #[error("EU DCC: {0}")]
    Dcc(#[from] DccError),
    #[error("ICAO VDS-NC: {0}")]
    VdsNc(#[from] VdsNcError),
    #[error("{kind}: {reason}")]
    Content {
        kind: CodeKind,
        reason: &'static str,
    },
    /// A credential of a `.smart-health-card` file (numbered from 1) was refused.
    #[error("credential {index} of {count}: {source}")]
    InFile {
        index: usize,
        count: usize,
        source: Box<VerifyError>,
    },
    /// The code is genuine (its signature verified) but its issuer has revoked it.
    #[error("{kind}: revoked (the issuer has revoked this certificate)")]
    Revoked { kind: CodeKind },
}

/// A refusal as the verification page says it: the Japanese names what failed (the format's own
/// detail stays in the English, for the issuer's support).
impl vrs_domain::UserFacing for VerifyError {
    fn code(&self) -> &'static str {
        match self {
            VerifyError::Unrecognised(_) => "not_a_certificate",
            VerifyError::Image(_) => "image_unreadable",
            VerifyError::ImageTooLarge { .. } => "image_too_large",
            VerifyError::NoQrCode => "no_qr_code",
            VerifyError::QrUnreadable(_) => "qr_unreadable",
            VerifyError::Shc(_) | VerifyError::Dcc(_) | VerifyError::VdsNc(_) => "not_verified",
            VerifyError::ShcExpired(_) => "expired",
            VerifyError::Content { .. } => "content_invalid",
            VerifyError::InFile { source, .. } => source.code(),
            VerifyError::Revoked { .. } => "revoked",
        }
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_ja(&self) -> std::borrow::Cow<'_, str> {
        match self {
            VerifyError::Unrecognised(_) => "証明書のコードではありません（shc:/…、HC1:…、VDS-NC、\
                またはQRコードのPNG・JPEG画像を読み取れます）。"
                .into(),
            VerifyError::Image(_) => "画像を読み取れません。".into(),
            VerifyError::ImageTooLarge { width, height } => format!(
                "画像が大きすぎます（{width} × {height} 画素。読み取るのは{}万画素までです）。",
                MAX_IMAGE_PIXELS / 10_000
            )
            .into(),
            VerifyError::NoQrCode => "画像にQRコードが見つかりません。".into(),
            VerifyError::QrUnreadable(_) => "画像のQRコードを読み取れません。".into(),
            VerifyError::Shc(_) | VerifyError::Dcc(_) | VerifyError::VdsNc(_) => format!(
                "{}: 署名または形式を確認できませんでした。発行元の証明書ではないか、\
                 内容が書き換えられています。",
                self.kind().map_or("", CodeKind::name)
            )
            .into(),
            VerifyError::ShcExpired(at) => format!(
                "SMART Health Card: 有効期限（{}）が過ぎています。",
                at.format("%Y-%m-%d")
            )
            .into(),
            VerifyError::Content { kind, .. } => {
                format!("{}: 証明書の内容が正しくありません。", kind.name()).into()
            }
            VerifyError::InFile {
                index,
                count,
                source,
            } => format!("{count}件中{index}件目: {}", source.message_ja()).into(),
            VerifyError::Revoked { kind } => format!(
                "{}: 発行元により失効しています。この証明書は使えません。",
                kind.name()
            )
            .into(),
        }
    }

    fn message_en(&self) -> std::borrow::Cow<'_, str> {
        self.to_string().into()
    }
}

impl VerifyError {
    /// The kind of code refused, when it was recognised.
    pub fn kind(&self) -> Option<CodeKind> {
        match self {
            VerifyError::Unrecognised(_)
            | VerifyError::Image(_)
            | VerifyError::ImageTooLarge { .. }
            | VerifyError::NoQrCode
            | VerifyError::QrUnreadable(_) => None,
            VerifyError::Shc(_) | VerifyError::ShcExpired(_) => Some(CodeKind::Shc),
            VerifyError::Dcc(_) => Some(CodeKind::EuDcc),
            VerifyError::VdsNc(_) => Some(CodeKind::VdsNc),
            VerifyError::Content { kind, .. } | VerifyError::Revoked { kind } => Some(*kind),
            VerifyError::InFile { .. } => Some(CodeKind::Shc),
        }
    }
}

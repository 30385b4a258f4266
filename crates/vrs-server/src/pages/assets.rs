//! What `/static/` serves — the stylesheet, the tablet's QR decoder and the upload script — each
//! under a name that carries a hash of its content.

/// The stylesheet (style.css), one file for every page.
pub(crate) const STYLE: &str = include_str!("../style.css");

/// The QR decoder the tablet's camera uses (jsQR 1.4.0, Apache-2.0, `vendor/jsQR-LICENSE`),
/// served from this server like everything the pages load: a site's tablet reaches no CDN.
pub(crate) const QR_DECODER: &str = include_str!("../vendor/jsQR-1.4.0.js");

/// The script that shows an upload's progress (`uploads::progress`).
pub(crate) const UPLOAD_JS: &str = include_str!("../upload.js");

/// What `/static/` serves: the stylesheet, the QR decoder and the upload script.
#[derive(Clone, Copy)]
pub enum Asset {
    Style,
    QrDecoder,
    UploadProgress,
}

impl Asset {
    const ALL: [Asset; 3] = [Asset::Style, Asset::QrDecoder, Asset::UploadProgress];

    fn parts(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Asset::Style => ("vrs", "css", "text/css; charset=utf-8", STYLE),
            Asset::QrDecoder => ("jsqr", "js", "text/javascript; charset=utf-8", QR_DECODER),
            Asset::UploadProgress => ("upload", "js", "text/javascript; charset=utf-8", UPLOAD_JS),
        }
    }

    /// Where the asset is served: its name carries a hash of its content, so it may be cached for
    /// good and a new version is fetched at once.
    pub fn path(self) -> &'static str {
        static PATHS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let paths = PATHS.get_or_init(|| {
            Asset::ALL
                .iter()
                .map(|a| {
                    let (name, ext, _, content) = a.parts();
                    // Two groups of six hex digits: never a run of twelve digits, which looks
                    // like a My Number to whatever scans URLs and logs for one (the tests do).
                    let digest = vrs_crypto::sha256(content.as_bytes());
                    let (x, y) = (hex::encode(&digest[..3]), hex::encode(&digest[3..6]));
                    format!("/static/{name}.{x}-{y}.{ext}")
                })
                .collect()
        });
        &paths[self as usize]
    }
}

/// Where the stylesheet is served.
pub fn stylesheet_path() -> &'static str {
    Asset::Style.path()
}

/// `GET /static/{name}`: an asset under its current name; any other name is not found.
pub async fn stylesheet(
    axum::extract::Path(name): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let asked = format!("/static/{name}");
    let Some(asset) = Asset::ALL.into_iter().find(|a| a.path() == asked) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (_, _, content_type, content) = asset.parts();
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        content,
    )
        .into_response()
}

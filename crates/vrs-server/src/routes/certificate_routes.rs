//! The routes of certificates: the key sets, revocation lists, trust list and verifier bundle
//! published for verifiers, issuing at a counter and to the app and kiosks, and reissuing and
//! revoking.

use axum::routing::{get, post};

use super::{r, Handlers, RouteInfo};
use crate::certificates;

/// The certificate routes, in the order of the table.
pub(super) fn table() -> Vec<(RouteInfo, Handlers)> {
    use super::Audience::*;
    use vrs_core::access::Action::*;
    vec![
        r(
            "/.well-known/jwks.json",
            &["GET"],
            Public,
            get(certificates::jwks_all),
        ),
        r(
            "/issuer/.well-known/jwks.json",
            &["GET"],
            Public,
            get(certificates::jwks_national),
        ),
        r(
            "/issuer/{code}/.well-known/jwks.json",
            &["GET"],
            Public,
            get(certificates::jwks_of),
        ),
        r(
            "/issuer/.well-known/crl/{file}",
            &["GET"],
            Public,
            get(crate::lifecycle::crl_national),
        ),
        r(
            "/issuer/{code}/.well-known/crl/{file}",
            &["GET"],
            Public,
            get(crate::lifecycle::crl_of),
        ),
        r(
            "/.well-known/dcc-revocation/{file}",
            &["GET"],
            Public,
            get(crate::lifecycle::signer_lists),
        ),
        r(
            "/.well-known/vrs-verifier-bundle.json",
            &["GET"],
            Public,
            get(crate::lifecycle::verifier_bundle),
        ),
        r(
            "/records/{atena}/certificates/{id}/reissue",
            &["POST"],
            Acts(&[IssueCertificateCounter]),
            post(crate::lifecycle::reissue),
        ),
        r(
            "/records/{atena}/certificates/{id}/revoke",
            &["POST"],
            Acts(&[IssueCertificateCounter]),
            post(crate::lifecycle::revoke),
        ),
        r(
            "/.well-known/vrs-trust-list.json",
            &["GET"],
            Public,
            get(certificates::trust_list),
        ),
        r(
            "/records/{atena}/certificate",
            &["POST"],
            Acts(&[IssueCertificateCounter]),
            post(certificates::issue_counter),
        ),
        r(
            "/certificates",
            &["GET"],
            Acts(&[IssueCertificateCounter]),
            get(certificates::history),
        ),
        r(
            "/api/v1/app/certificates",
            &["POST"],
            Acts(&[IssueCertificateApp]),
            post(certificates::api_app),
        ),
        r(
            "/api/v1/kiosk/certificates",
            &["POST"],
            Acts(&[IssueCertificateKiosk]),
            post(certificates::api_kiosk),
        ),
    ]
}

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

//! What the service tests share: one `#[tokio::test]` per case and backend.

#[allow(unused_imports)]
pub use vrs_testkit::shared_testdata;

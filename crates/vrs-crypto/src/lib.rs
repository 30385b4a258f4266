//! Cryptography of the Vaccination Record System.
//!
//! The deployment holds one master key outside the database ([`MasterKey`]). Each municipality has
//! its own data key ([`DataKey`]), created on first use and stored in the database only wrapped by the
//! master key. From a data key come the two things storage needs: AES-256-GCM field encryption with
//! the municipality, column and row bound in as associated data, and a keyed blind index (HMAC-SHA-256)
//! so a person can be found by My Number without storing it in the clear ([`FieldCipher`]).
//! Destroying a municipality's wrapped data key makes every copy of its rows unreadable.
//!
//! The audit log's hash chain ([`chain`]) lives here too, so every hash the system relies on is
//! computed in one place.

pub mod chain;
mod error;
mod field;
mod master;
pub mod password;

pub use error::CryptoError;
pub use field::{DataKey, FieldCipher};
pub use master::MasterKey;

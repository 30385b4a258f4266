//! Serde as plain strings for the crate's parsed types: serialise `as_str()` (or `Display`),
//! deserialise through `parse`, so a value read from JSON or a database is as checked as one
//! typed by a user. One macro keeps the impls identical across types.

/// Implements `Serialize` (via `Display`) and `Deserialize` (via `parse`) for `$ty`.
macro_rules! serde_via_parse {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw =
                    <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                <$ty>::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use serde_via_parse;

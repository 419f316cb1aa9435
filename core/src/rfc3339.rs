//! WeChat Pay's RFC 3339 date-times (`2026-11-24T10:34:56+08:00`) as
//! [`time::OffsetDateTime`], for serde's `with`, in this crate's types and in operations written
//! outside it.
//!
//! ```
//! use wechatpay_core::rfc3339::OffsetDateTime;
//!
//! #[derive(serde::Deserialize)]
//! struct Answer {
//!     #[serde(default, with = "wechatpay_core::rfc3339::option")]
//!     finish_time: Option<OffsetDateTime>,
//! }
//! let a: Answer = serde_json::from_str(r#"{"finish_time":"2026-11-24T10:34:56+08:00"}"#)?;
//! assert_eq!(a.finish_time.map(|t| t.unix_timestamp()), Some(1_795_487_696));
//! let none: Answer = serde_json::from_str(r#"{"finish_time":""}"#)?;
//! assert!(none.finish_time.is_none());
//! # Ok::<(), serde_json::Error>(())
//! ```

pub use time::OffsetDateTime;

/// An optional RFC 3339 date-time: absent, `null` and `""` all mean none; written back in
/// RFC 3339 with its offset.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// Writes `Some` as RFC 3339, `None` as null.
    ///
    /// # Errors
    /// When the date-time cannot be written in RFC 3339 (a year outside 0..=9999).
    #[allow(clippy::ref_option, reason = "serde's `with` passes a reference")]
    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => {
                let text = t.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
                s.serialize_str(&text)
            }
            None => s.serialize_none(),
        }
    }

    /// Reads RFC 3339; absent, `null` and `""` are `None`.
    ///
    /// # Errors
    /// When the text is not RFC 3339.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<std::borrow::Cow<'de, str>>::deserialize(d)? {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => OffsetDateTime::parse(&s, &Rfc3339)
                .map(Some)
                .map_err(|e| D::Error::custom(format!("{s:?} is not RFC 3339: {e}"))),
        }
    }
}

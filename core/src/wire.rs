//! The forward-compatible enumeration of WeChat Pay values, for this crate's types and for
//! operations written outside it.

/// Declares an enumeration of WeChat Pay string values that is forward compatible: a value not
/// listed parses into `Other(String)` and is written back unchanged; `as_str`, `is_known`,
/// `From<&str>`, `FromStr`, `Display` and serde come with it. Validate one before sending with
/// [`crate::validate::enum_value`].
///
/// ```
/// wechatpay_core::wire_enum! {
///     /// Where a return order stands (`result`).
///     ReturnResult {
///         /// Being processed.
///         Processing = "PROCESSING",
///         /// Returned.
///         Success = "SUCCESS",
///     }
/// }
/// assert_eq!(ReturnResult::from("SUCCESS"), ReturnResult::Success);
/// let later: ReturnResult = serde_json::from_str(r#""CLOSED""#)?;
/// assert_eq!(later, ReturnResult::Other("CLOSED".into()));
/// assert_eq!(serde_json::to_string(&later)?, r#""CLOSED""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[macro_export]
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this SDK does not know yet, kept exactly as sent.
            Other(String),
        }

        impl $name {
            /// The value as WeChat Pay writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(s) => s,
                }
            }

            /// Whether this SDK knows the value (it is not `Other`).
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($wire => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($wire => Self::$variant,)+
                    _ => Self::Other(s),
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(s))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as $crate::__private::serde::Deserialize>::deserialize(d)?;
                Ok(Self::from(s.into_owned()))
            }
        }
    };
}

//! Checks on request fields, so that a value WeChat Pay would reject is refused before anything
//! is signed or sent, with an error naming the field. Public, for [`crate::Operation::validate`]
//! of endpoints written outside this crate.
//!
//! ```
//! use wechatpay_core::validate;
//! assert!(validate::digits("sub_mchid", "1900000109", 32).is_ok());
//! assert_eq!(validate::amount("amount", 0).unwrap_err().field(), Some("amount"));
//! assert!(validate::text("description", "售后服务费", 80).is_ok());
//! assert!(validate::text("description", "a😀", 80).is_err());
//! ```

use crate::Error;

/// ASCII digits only, 1 to `max` of them (merchant ids).
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] naming `field`.
pub fn digits(field: &'static str, value: &str, max: usize) -> Result<(), Error> {
    not_empty(field, value)?;
    max_len(field, value, max)?;
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_input(field, "must contain digits only"));
    }
    Ok(())
}

/// A string WeChat Pay accepts: 1 to `max` bytes of UTF-8 characters of 1 to 3 bytes each
/// (no emoji or other characters outside the Basic Multilingual Plane), no control characters.
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] naming `field`.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<(), Error> {
    not_empty(field, value)?;
    max_len(field, value, max)?;
    if let Some(c) = value.chars().find(|c| c.len_utf8() > 3) {
        return Err(Error::invalid_input(
            field,
            format!(
                "U+{:04X} is outside the 1-3 byte UTF-8 range WeChat Pay accepts",
                u32::from(c)
            ),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid_input(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// An enumeration value: known ones pass; an `Other` must look like WeChat's values
/// (1 to 64 of `A-Z`, `0-9`, `_`).
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] naming `field`.
pub fn enum_value(field: &'static str, value: &str, known: bool) -> Result<(), Error> {
    if known {
        return Ok(());
    }
    not_empty(field, value)?;
    max_len(field, value, 64)?;
    if !value
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(Error::invalid_input(
            field,
            "must be an uppercase WeChat Pay value such as REFUND_TICKET",
        ));
    }
    Ok(())
}

/// An amount in fen: strictly positive.
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] naming `field`.
pub fn amount(field: &'static str, fen: i64) -> Result<(), Error> {
    if fen <= 0 {
        return Err(Error::invalid_input(
            field,
            format!("must be a positive number of fen, got {fen}"),
        ));
    }
    Ok(())
}

fn not_empty(field: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid_input(field, "must not be empty"));
    }
    Ok(())
}

fn max_len(field: &'static str, value: &str, max: usize) -> Result<(), Error> {
    if value.len() > max {
        return Err(Error::invalid_input(
            field,
            format!("is {} bytes long; at most {max} are allowed", value.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert!(text("f", "售后服务费", 32).is_ok());
        let e = text("f", "a😀", 32).expect_err("emoji");
        assert_eq!(e.field(), Some("f"));
        assert!(e.to_string().contains("U+1F600"), "{e}");
        assert!(text("f", "", 32).is_err());
        assert!(text("f", "a\nb", 32).is_err());
        assert!(text("f", &"1".repeat(33), 32).is_err());
        assert!(text("f", &"1".repeat(32), 32).is_ok());
    }

    #[test]
    fn digits_and_amount() {
        assert!(digits("sub_mchid", "1900000109", 32).is_ok());
        assert!(digits("sub_mchid", "19000001O9", 32).is_err());
        assert!(amount("amount", 1).is_ok());
        assert!(amount("amount", 0).is_err());
        assert!(amount("amount", -5).is_err());
    }

    #[test]
    fn enum_rules() {
        assert!(enum_value("scene", "NEW_SCENE", false).is_ok());
        assert!(enum_value("scene", "new scene", false).is_err());
        assert!(enum_value("scene", "", false).is_err());
    }
}

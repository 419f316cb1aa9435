//! `GET /v3/certificates`, as WeChat Pay serves it.

use serde_json::json;
use time::format_description::well_known::Rfc3339;
use wechatpay_core::certificates::{CertificateEntry, CertificateList, EncryptedResource};

use crate::reply::{Reply, Signer};
use crate::state::State;

/// The published certificates, each encrypted with the merchant's APIv3 key, and the signer of
/// the answer: the certificate that signs answers now if it is a published one, else the last
/// one published (the download is always signed by a certificate it carries).
pub(crate) fn download(state: &State, mchid: &str) -> Result<(Reply, Option<Signer>), Reply> {
    let not_found = || {
        Reply::error(
            404,
            "RESOURCE_NOT_EXISTS",
            "无可用的平台证书: this merchant verifies with the WeChat Pay public key",
        )
    };
    let key = state
        .merchant(mchid)
        .filter(|m| m.certificate_mode)
        .map(|m| m.apiv3.key)
        .ok_or_else(not_found)?;
    let platforms = state.platforms();
    if platforms.is_empty() {
        return Err(not_found());
    }
    let beijing = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let mut data = Vec::with_capacity(platforms.len());
    for p in &platforms {
        let nonce = state.rng().alnum(12);
        let encrypted = EncryptedResource::encrypt(&key, &nonce, "certificate", p.pem.as_bytes())
            .map_err(|e| Reply::error(500, "SYSTEM_ERROR", e.to_string()))?;
        let at =
            |t: time::OffsetDateTime| t.to_offset(beijing).format(&Rfc3339).unwrap_or_default();
        data.push(CertificateEntry {
            serial_no: p.cert.serial().to_owned(),
            effective_time: at(p.cert.not_before()),
            expire_time: at(p.cert.not_after()),
            encrypt_certificate: encrypted,
        });
    }
    let current = state.signer();
    let signer = platforms
        .iter()
        .find(|p| p.signer.serial == current.serial)
        .or(platforms.last())
        .map(|p| p.signer.clone());
    Ok((Reply::json(200, &json!(CertificateList { data })), signer))
}

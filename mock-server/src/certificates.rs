//! `GET /v3/certificates`, as WeChat Pay serves it.

use serde_json::json;
use wechatpay_core::certificates::EncryptedResource;

use crate::reply::{Reply, Signer};
use crate::state::State;
use crate::wire::{CertificateEntry, CertificateList, Sealed, beijing};

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
    let mut data = Vec::with_capacity(platforms.len());
    for p in &platforms {
        let nonce = state.rng().alnum(12);
        let encrypted = EncryptedResource::encrypt(&key, &nonce, "certificate", p.pem.as_bytes())
            .map_err(|e| Reply::error(500, "SYSTEM_ERROR", e.to_string()))?;
        data.push(CertificateEntry {
            serial_no: p.cert.serial().to_owned(),
            effective_time: beijing(p.cert.not_before().unix_timestamp()),
            expire_time: beijing(p.cert.not_after().unix_timestamp()),
            encrypt_certificate: Sealed {
                algorithm: encrypted.algorithm,
                nonce: encrypted.nonce,
                associated_data: encrypted.associated_data,
                ciphertext: encrypted.ciphertext,
            },
        });
    }
    let current = state.signer_for(mchid);
    let signer = platforms
        .iter()
        .find(|p| p.signer.serial == current.serial)
        .or(platforms.last())
        .map(|p| p.signer.clone());
    Ok((Reply::json(200, &json!(CertificateList { data })), signer))
}

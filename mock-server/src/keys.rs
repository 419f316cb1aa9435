//! The mock's key material: embedded test keys, and generation of fresh ones.

use std::sync::OnceLock;

use wechatpay_core::certificates::ApiV3Key;
use wechatpay_core::{Error, PrivateKey, PublicKey};

use crate::rng::Rng;

/// The default merchant's id (the shared test vectors' merchant).
pub const TEST_MCHID: &str = "1900000100";
/// The default merchant's API certificate serial.
pub const TEST_MERCHANT_SERIAL: &str = "3775B6A45ACD588826D15E583A95F5DD00000001";
/// The default merchant's private key (PKCS#8 PEM). Test-only.
pub const TEST_MERCHANT_PRIVATE_KEY: &str = include_str!("../keys/merchant_private_key.pem");
/// The default merchant's public key (SPKI PEM).
pub const TEST_MERCHANT_PUBLIC_KEY: &str = include_str!("../keys/merchant_public_key.pem");
/// The default WeChat Pay public key id.
pub const TEST_WECHATPAY_PUBLIC_KEY_ID: &str = "PUB_KEY_ID_0119000001002026112400000000000001";
/// The default WeChat Pay private key (PKCS#8 PEM). Test-only.
pub const TEST_WECHATPAY_PRIVATE_KEY: &str = include_str!("../keys/wechatpay_private_key.pem");
/// The default WeChat Pay public key (SPKI PEM).
pub const TEST_WECHATPAY_PUBLIC_KEY: &str = include_str!("../keys/wechatpay_public_key.pem");
/// A test platform certificate (PEM).
pub const TEST_PLATFORM_CERTIFICATE: &str = include_str!("../keys/platform_certificate.pem");
/// The test platform certificate's private key (PKCS#8 PEM). Test-only.
pub const TEST_PLATFORM_PRIVATE_KEY: &str = include_str!("../keys/platform_private_key.pem");
/// The serial of [`TEST_PLATFORM_CERTIFICATE`].
pub const TEST_PLATFORM_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
/// A second test platform certificate, for rotations.
pub const TEST_PLATFORM_CERTIFICATE_2: &str = include_str!("../keys/platform_certificate_2.pem");
/// The second test platform certificate's private key. Test-only.
pub const TEST_PLATFORM_PRIVATE_KEY_2: &str = include_str!("../keys/platform_private_key_2.pem");
/// The test merchant's APIv3 key (the shared vectors'). Test-only.
pub const TEST_APIV3_KEY: &str = "a3B7c9D1e5F7g9H1i3J5k7L9m1N3o5P7";

/// A core client builder for the test merchant, trusting the test WeChat Pay public key, aimed
/// at `base_url` (a running mock, or a proxy in front of one).
///
/// # Errors
/// As [`wechatpay_core::MerchantCredentials::from_pem`] (it does not fail for the embedded keys).
pub fn test_client_builder(base_url: &str) -> Result<wechatpay_core::ClientBuilder, Error> {
    let merchant = wechatpay_core::MerchantCredentials::from_pem(
        TEST_MCHID,
        TEST_MERCHANT_SERIAL,
        TEST_MERCHANT_PRIVATE_KEY,
    )?;
    let ring = wechatpay_core::KeyRing::new()
        .with_wechatpay_public_key_pem(TEST_WECHATPAY_PUBLIC_KEY_ID, TEST_WECHATPAY_PUBLIC_KEY)?;
    Ok(wechatpay_core::Client::builder(merchant, ring).base_url(base_url))
}

/// [`TEST_APIV3_KEY`] as an [`ApiV3Key`].
pub fn test_apiv3_key() -> ApiV3Key {
    match ApiV3Key::new(TEST_APIV3_KEY) {
        Ok(k) => k,
        // A 32-byte constant of this crate: failing here is a bug, not input.
        Err(e) => unreachable!("the test APIv3 key must be 32 bytes: {e}"),
    }
}

/// A freshly generated RSA-2048 key pair, as PEM.
pub struct GeneratedKeyPair {
    /// PKCS#8 PEM private key.
    pub private_pem: String,
    /// SPKI PEM public key.
    pub public_pem: String,
}

impl std::fmt::Debug for GeneratedKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKeyPair").finish_non_exhaustive()
    }
}

/// Generates an RSA-2048 key pair from the system random generator (with aws-lc-rs when it is
/// compiled in, else with the `rsa` crate).
///
/// # Errors
/// When the random generator or the encoder fails.
pub fn generate_key_pair() -> Result<GeneratedKeyPair, Error> {
    let private_pem = generate_private_pem()?;
    let public_pem = PrivateKey::from_pem(&private_pem)?.public_key_pem()?;
    Ok(GeneratedKeyPair {
        private_pem,
        public_pem,
    })
}

#[cfg(feature = "aws-lc-rs")]
fn generate_private_pem() -> Result<String, Error> {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    let failed = |_| Error::config("RSA key generation failed");
    let pkcs8 = KeyPair::generate(KeySize::Rsa2048)
        .map_err(failed)?
        .as_der()
        .map_err(failed)?;
    pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, pkcs8.as_ref())
        .map_err(|_| Error::config("cannot encode the generated private key"))
}

#[cfg(not(feature = "aws-lc-rs"))]
fn generate_private_pem() -> Result<String, Error> {
    use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)
        .map_err(|_| Error::config("RSA key generation failed"))?;
    key.to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|_| Error::config("cannot encode the generated private key"))
}

/// `n` random decimal digits (from the operating system's generator).
pub fn random_digits(n: usize) -> String {
    Rng::new(Rng::os_seed()).digits(n)
}

/// `n` random uppercase hex digits (from the operating system's generator).
pub fn random_hex(n: usize) -> String {
    Rng::new(Rng::os_seed()).hex(n)
}

/// The embedded test merchant's private key.
pub(crate) fn test_merchant_key() -> Result<PrivateKey, Error> {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    once(&KEY, || PrivateKey::from_pem(TEST_MERCHANT_PRIVATE_KEY))
}

/// `parse`d once per process, then cloned (clones share the parsed key): the embedded keys
/// are constants, and every mock or simulator built starts from them.
pub(crate) fn once<T: Clone>(
    cell: &OnceLock<T>,
    parse: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    if let Some(v) = cell.get() {
        return Ok(v.clone());
    }
    let v = parse()?;
    Ok(cell.get_or_init(|| v).clone())
}

/// A private key for the mock's own signing ([`fastest_backend`]), the embedded ones parsed
/// once per process.
pub(crate) fn signing_key(pem: &str) -> Result<PrivateKey, Error> {
    static WECHATPAY: OnceLock<PrivateKey> = OnceLock::new();
    static PLATFORM: OnceLock<PrivateKey> = OnceLock::new();
    let parse = || PrivateKey::from_pem_with(pem, fastest_backend());
    match pem {
        TEST_WECHATPAY_PRIVATE_KEY => once(&WECHATPAY, parse),
        TEST_PLATFORM_PRIVATE_KEY => once(&PLATFORM, parse),
        _ => parse(),
    }
}

/// The embedded test merchant's public key.
pub(crate) fn test_merchant_public_key() -> Result<PublicKey, Error> {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    once(&KEY, || PublicKey::from_pem(TEST_MERCHANT_PUBLIC_KEY))
}

/// The fastest RSA backend compiled in: the mock is test infrastructure, not the code under
/// test, so it should not be the bottleneck of a load test.
pub(crate) fn fastest_backend() -> wechatpay_core::Backend {
    wechatpay_core::Backend::all()
        .last()
        .copied()
        .unwrap_or_default()
}

//! The simulator's randomness, as state: nonces, `Request-ID`s, order numbers and generated
//! APIv3 keys come from one seeded generator, so the same seed and the same requests at the
//! same times give the same answers, byte for byte. The seed is an input
//! ([`crate::MockBuilder::seed`]); without one it comes from the operating system once, at
//! start.
//!
//! xoshiro256** seeded through SplitMix64: not for secrets that protect anything outside a
//! test, which the sandbox has none of.

/// A deterministic generator of ids and nonces.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
}

const DIGITS: &[u8] = b"0123456789";
const HEX: &[u8] = b"0123456789ABCDEF";
const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

impl Default for Rng {
    /// The generator for seed 0.
    fn default() -> Self {
        Self::new(0)
    }
}

/// The streams drawn from one seed: each its own sequence, so that how much one draws never
/// shifts another.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// Answers' `Request-ID`s and nonces.
    Answers,
    /// Order, detail and return numbers.
    Ledger,
    /// Notification ids and nonces.
    Notifications,
    /// The builder's generated APIv3 keys.
    Keys,
}

impl Rng {
    /// The generator of `stream` for `seed`.
    pub(crate) fn stream(seed: u64, stream: Stream) -> Self {
        Self::new(
            seed ^ match stream {
                Stream::Answers => 0,
                Stream::Ledger => 0x4C45_4447_4552,
                Stream::Notifications => 0x4E4F_5449_4659,
                Stream::Keys => 0x4B45_5953,
            },
        )
    }

    /// The generator for `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
        }
    }

    /// A seed from the operating system (zero if it has none to give).
    pub(crate) fn os_seed() -> u64 {
        let mut b = [0u8; 8];
        let _ = getrandom::fill(&mut b);
        u64::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    fn from(&mut self, alphabet: &[u8], n: usize) -> String {
        let len = alphabet.len() as u64;
        (0..n)
            .map(|_| {
                // `% len` of a 64-bit value: a bias below 2^-57, irrelevant for ids.
                let i = usize::try_from(self.next_u64() % len).unwrap_or(0);
                char::from(alphabet[i])
            })
            .collect()
    }

    /// `n` decimal digits.
    pub(crate) fn digits(&mut self, n: usize) -> String {
        self.from(DIGITS, n)
    }

    /// `n` uppercase hex digits.
    pub(crate) fn hex(&mut self, n: usize) -> String {
        self.from(HEX, n)
    }

    /// `n` letters and digits.
    pub(crate) fn alnum(&mut self, n: usize) -> String {
        self.from(ALNUM, n)
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn the_same_seed_gives_the_same_ids_and_another_seed_others() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let ids = |r: &mut Rng| (r.digits(26), r.hex(32), r.alnum(12));
        let first = ids(&mut a);
        assert_eq!(first, ids(&mut b));
        assert_ne!(first, ids(&mut c));
        assert_ne!(first, ids(&mut a), "a generator does not repeat itself");
        assert!(first.0.bytes().all(|c| c.is_ascii_digit()) && first.0.len() == 26);
        assert!(
            first
                .1
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
        assert!(first.2.bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn digits_are_spread_over_the_alphabet() {
        let mut r = Rng::new(1);
        let s = r.digits(10_000);
        for d in b'0'..=b'9' {
            let n = s.bytes().filter(|c| *c == d).count();
            assert!(
                (800..1200).contains(&n),
                "{} appears {n} times",
                char::from(d)
            );
        }
    }
}

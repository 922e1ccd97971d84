//! A tiny xorshift generator for error serials, MAC jitter and fault rates.
//!
//! Not cryptographic and not meant to be: the simulator only needs cheap, seedable randomness so
//! that tests can make fault injection deterministic.

/// xorshift64* state; never zero.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// Seed the generator; a zero seed is replaced because xorshift would stay at zero forever.
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// Seed from the host clock, for runs that do not ask for determinism.
    pub fn from_time() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(1);
        Self::new((nanos as u64) ^ ((nanos >> 64) as u64) ^ 0xA076_1D64_78BD_642F)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// 32 lowercase hex digits, the shape of the real API's error `serial`.
    pub fn hex32(&mut self) -> String {
        format!("{:016x}{:016x}", self.next_u64(), self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex32_is_32_hex_digits_and_varies() {
        let mut r = XorShift::new(7);
        let a = r.hex32();
        let b = r.hex32();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn same_seed_same_sequence_and_unit_interval() {
        let (mut a, mut b) = (XorShift::new(42), XorShift::new(42));
        for _ in 0..100 {
            let x = a.next_f64();
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x.to_bits(), b.next_f64().to_bits());
        }
        assert_ne!(XorShift::new(0).next_u64(), 0);
    }
}

//! The hasher of the model's and the engine's maps, whose keys are small
//! integers (class ids, ports) and short label values.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with the [`Multiply`] hasher.
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Multiply>>;
/// A `HashSet` with the [`Multiply`] hasher.
pub type FastSet<T> = HashSet<T, BuildHasherDefault<Multiply>>;

/// A hasher for small integer keys (class ids, ports): a multiply and a
/// rotate per word, as rustc's FxHasher; SipHash's resistance to chosen
/// keys buys nothing here and cost a tenth of `reach`.
#[derive(Default)]
pub struct Multiply(u64);

impl Hasher for Multiply {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut whole = [0u8; 8];
            whole.copy_from_slice(word);
            self.write_u64(u64::from_le_bytes(whole));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            // The tail, one byte at a time: a short copy into a word was a
            // call to memcpy per key.
            let tail = rest.iter().rev().fold(0u64, |word, &b| (word << 8) | u64::from(b));
            self.write_u64(tail);
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        // The low bits of a product depend only on the low bits of its
        // factors, and hash maps pick a bucket by the low bits: without the
        // rotation, keys that differ only in their later characters
        // (`ns-0001`, `ns-0002`) fell in the same bucket (rustc-hash 2
        // rotates the same way).
        self.0.rotate_left(26)
    }
}

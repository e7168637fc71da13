//! Synthetic image pairs: a random base of `len` bytes (incompressible, so the patch body
//! cannot lean on the base's redundancy) and a new image with scattered overwrites, inserts,
//! deletions and block moves, roughly one edit per 256 KiB.

use std::io::Write;
use std::path::Path;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> usize {
        (self.next() % n.max(1)) as usize
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Write `dir/old` and `dir/new` unless both exist already with the expected base length.
pub fn make_pair(dir: &Path, len: u64, seed: u64) -> std::io::Result<()> {
    let (old_p, new_p) = (dir.join("old"), dir.join("new"));
    if std::fs::metadata(&old_p)
        .map(|m| m.len() == len)
        .unwrap_or(false)
        && new_p.is_file()
    {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d ^ seed);
    let mut old = vec![0u8; len as usize];
    rng.fill(&mut old);
    let mut new = Vec::with_capacity(old.len() + old.len() / 50);
    let mut pos = 0usize;
    while pos < old.len() {
        let step = 128 * 1024 + rng.below(256 * 1024);
        let end = (pos + step).min(old.len());
        new.extend_from_slice(&old[pos..end]);
        pos = end;
        match rng.below(4) {
            0 => {
                // overwrite a few bytes of what was just copied
                let n = 1 + rng.below(200);
                let at = new.len().saturating_sub(n + rng.below(1000));
                for b in new.iter_mut().skip(at).take(n) {
                    *b = rng.next() as u8;
                }
            }
            1 => {
                // insert fresh bytes
                let mut ins = vec![0u8; 1 + rng.below(4096)];
                rng.fill(&mut ins);
                new.extend_from_slice(&ins);
            }
            2 => {
                // delete
                pos = (pos + 1 + rng.below(4096)).min(old.len());
            }
            _ => {
                // copy a block from elsewhere in the base
                let n = 1 + rng.below(64 * 1024);
                let from = rng.below(old.len() as u64);
                let to = (from + n).min(old.len());
                new.extend_from_slice(&old[from..to]);
            }
        }
    }
    std::fs::File::create(&old_p)?.write_all(&old)?;
    std::fs::File::create(&new_p)?.write_all(&new)?;
    Ok(())
}

//! Any bytes as a patch against a fixed base: the applier must refuse or produce output,
//! never panic, and never write more than the result length its header declares.
//!
//! Two bases: 4 KiB (fast; the record decoder and the block cache) and 5 MiB, taken when a
//! patch's header declares that length, so that mutations also reach the sliding base window
//! and the helper threads' reads, which only a base larger than the 3 MiB window uses.
#![no_main]

use std::io::{self, Cursor, Write};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// Counts what the applier writes, so the bound can be checked.
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len() as u64);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The same generator as `make-seeds.sh`, so its seed patches match these bases.
fn base_of(len: u32) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

const LARGE_BASE: u64 = 5 << 20;

fuzz_target!(|data: &[u8]| {
    static SMALL: OnceLock<Vec<u8>> = OnceLock::new();
    static LARGE: OnceLock<Vec<u8>> = OnceLock::new();
    let header = tufota_delta::read_header(&mut Cursor::new(data));
    let large = matches!(&header, Ok(h) if h.base_len == LARGE_BASE);
    let declared = header.map(|h| h.result_len);
    let mut out = CountingSink(0);
    // The large base through `apply_image` (positioned reads of a slice), the small one
    // through `apply` (Read + Seek behind a lock): both ways in are fuzzed.
    let _ = if large {
        let base = LARGE.get_or_init(|| base_of(LARGE_BASE as u32));
        tufota_delta::apply_image(base.as_slice(), Cursor::new(data), &mut out)
    } else {
        let base = SMALL.get_or_init(|| base_of(4096));
        tufota_delta::apply(
            &mut Cursor::new(base.as_slice()),
            Cursor::new(data),
            &mut out,
        )
    };
    match declared {
        Ok(limit) => assert!(out.0 <= limit, "wrote {} bytes, header says {limit}", out.0),
        Err(_) => assert_eq!(out.0, 0, "wrote output for a patch without a valid header"),
    }
});

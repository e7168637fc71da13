//! Any bytes as a patch against a fixed base: the applier must refuse or produce output,
//! never panic, and never write more than the result length its header declares.
#![no_main]

use std::io::{self, Cursor, Write};

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

fuzz_target!(|data: &[u8]| {
    let base: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let declared = tufota_delta::read_header(&mut Cursor::new(data)).map(|h| h.result_len);
    let mut out = CountingSink(0);
    let _ = tufota_delta::apply(&mut Cursor::new(&base), Cursor::new(data), &mut out);
    match declared {
        Ok(limit) => assert!(out.0 <= limit, "wrote {} bytes, header says {limit}", out.0),
        Err(_) => assert_eq!(out.0, 0, "wrote output for a patch without a valid header"),
    }
});

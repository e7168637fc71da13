//! Feeding a patch to [`crate::apply`] in chunks as they arrive (an HTTP body, a radio
//! link): [`patch_pipe`] gives a `Write` end for the downloader and a `Read` end for the
//! applier running on another thread. The channel is bounded, so a fast network cannot make
//! the device buffer more than `max_chunks * PIPE_CHUNK` bytes.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::io::Write;
//! let (mut tx, rx) = tufota_delta::patch_pipe(4);
//! let applier = std::thread::spawn(move || {
//!     let mut base = std::io::Cursor::new(Vec::<u8>::new());
//!     let mut out = Vec::new();
//!     tufota_delta::apply(&mut base, rx, &mut out).map(|_| out)
//! });
//! // In the client: for each chunk of the HTTP body, `tx.write_all(chunk)?`.
//! tx.write_all(b"not a patch")?;
//! tx.finish();
//! assert!(applier.join().map_err(|_| "applier thread panicked")?.is_err());
//! # Ok(()) }
//! ```

use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Largest chunk carried through the pipe; bigger writes are split.
pub const PIPE_CHUNK: usize = 64 * 1024;

enum Msg {
    Data(Vec<u8>),
    Abort(String),
}

/// The downloader's end: a `Write`. Dropping it or calling [`PatchSender::finish`] ends the
/// stream; [`PatchSender::abort`] makes the applier fail with the given reason instead of
/// seeing a (possibly valid-looking) end of stream.
pub struct PatchSender {
    tx: Option<SyncSender<Msg>>,
}

/// The applier's end: a `Read` to pass to [`crate::apply`].
pub struct PatchReceiver {
    rx: Receiver<Msg>,
    cur: Vec<u8>,
    off: usize,
    done: bool,
}

/// A bounded pipe holding at most `max_chunks` chunks of at most [`PIPE_CHUNK`] bytes in flight
/// (`max_chunks` 0 is taken as 1).
pub fn patch_pipe(max_chunks: usize) -> (PatchSender, PatchReceiver) {
    let (tx, rx) = sync_channel(max_chunks.max(1));
    (
        PatchSender { tx: Some(tx) },
        PatchReceiver {
            rx,
            cur: Vec::new(),
            off: 0,
            done: false,
        },
    )
}

impl PatchSender {
    /// End the stream normally.
    pub fn finish(mut self) {
        self.tx = None;
    }

    /// End the stream with an error the applier will see (download failed, connection reset).
    pub fn abort(mut self, reason: &str) {
        if let Some(tx) = self.tx.take() {
            // If the applier is gone, there is nobody left to tell.
            let _ = tx.send(Msg::Abort(reason.to_owned()));
        }
    }
}

impl Write for PatchSender {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(PIPE_CHUNK);
        if n == 0 {
            return Ok(0);
        }
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "patch pipe finished"))?;
        tx.send(Msg::Data(buf[..n].to_vec())).map_err(|_| {
            io::Error::new(io::ErrorKind::BrokenPipe, "patch applier stopped reading")
        })?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for PatchReceiver {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.off >= self.cur.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Msg::Data(d)) => {
                    self.cur = d;
                    self.off = 0;
                }
                Ok(Msg::Abort(reason)) => {
                    self.done = true;
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        format!("patch download aborted: {reason}"),
                    ));
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let src = self.cur.get(self.off..).unwrap_or_default();
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        self.off += n;
        Ok(n)
    }
}

//! The patch body's decoder (LZMA2 or zstd) on a helper thread, so decoding (the largest single cost of
//! applying an executable's patch) overlaps with applying records. The patch reader stays on
//! the calling thread (`apply` does not require it to be `Send`): this side reads compressed
//! chunks and hands them over; the helper hands back decoded chunks. Both channels are bounded,
//! so memory stays fixed: at most 3 compressed and 3 decoded chunks of [`PIPE`] bytes in flight.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::mpsc::{
    sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError,
};
use std::thread::{Builder, Scope};
use std::time::Duration;

use crate::apply::Lzma2Reader;
use crate::error::DeltaError;
use crate::header::Algorithm;
use crate::ZSTD_WINDOW_LOG;

/// Chunk size on both channels.
const PIPE: usize = 64 * 1024;
/// Chunks each channel holds.
const DEPTH: usize = 2;

enum Decoded {
    Data(Vec<u8>),
    /// The LZMA2 end marker was reached; `trailing` if compressed bytes followed it.
    End {
        trailing: bool,
    },
    Fail(io::Error),
}

/// `Read` of the decoded body; see the module doc.
pub(crate) struct ThreadedDecoder<'p, P> {
    patch: &'p mut P,
    to_worker: Option<SyncSender<Vec<u8>>>,
    from_worker: Receiver<Decoded>,
    pending: Option<Vec<u8>>,
    input_done: bool,
    /// Decoded chunks going back to the helper for reuse.
    recycle: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    off: usize,
    ended: bool,
    trailing: bool,
}

impl<'p, P: Read> ThreadedDecoder<'p, P> {
    pub(crate) fn start<'scope>(
        scope: &'scope Scope<'scope, '_>,
        patch: &'p mut P,
        algorithm: Algorithm,
    ) -> Result<Self, DeltaError> {
        let (to_worker, worker_in) = sync_channel::<Vec<u8>>(DEPTH);
        let (worker_out, from_worker) = sync_channel::<Decoded>(DEPTH);
        let (recycle, spare) = sync_channel::<Vec<u8>>(DEPTH + 1);
        Builder::new()
            .name("tufota-delta-decode".into())
            .spawn_scoped(scope, move || {
                decode(algorithm, worker_in, worker_out, spare)
            })
            .map_err(DeltaError::io("starting the decoder thread"))?;
        Ok(ThreadedDecoder {
            patch,
            to_worker: Some(to_worker),
            from_worker,
            pending: None,
            input_done: false,
            recycle,
            cur: Vec::new(),
            off: 0,
            ended: false,
            trailing: false,
        })
    }

    /// Hand the helper as much compressed input as its channel takes, without blocking.
    fn top_up(&mut self) -> io::Result<()> {
        for _ in 0..=DEPTH {
            if self.pending.is_none() && !self.input_done {
                let mut chunk = vec![0u8; PIPE];
                let n = loop {
                    match self.patch.read(&mut chunk) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                };
                if n == 0 {
                    self.input_done = true;
                } else {
                    chunk.truncate(n);
                    self.pending = Some(chunk);
                }
            }
            let Some(tx) = &self.to_worker else {
                return Ok(());
            };
            match self.pending.take() {
                Some(chunk) => match tx.try_send(chunk) {
                    Ok(()) => {}
                    Err(TrySendError::Full(chunk)) => {
                        self.pending = Some(chunk);
                        return Ok(());
                    }
                    // The helper stopped (end of stream or failure); it says which.
                    Err(TrySendError::Disconnected(chunk)) => {
                        self.pending = Some(chunk);
                        return Ok(());
                    }
                },
                None => {
                    if self.input_done {
                        // End of input for the helper.
                        self.to_worker = None;
                    }
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// After the decoded stream ended: whether any patch byte follows the LZMA2 stream.
    pub(crate) fn input_trailing(&mut self) -> io::Result<bool> {
        if self.trailing || self.pending.as_ref().is_some_and(|c| !c.is_empty()) {
            return Ok(true);
        }
        if self.input_done {
            return Ok(false);
        }
        let mut probe = [0u8; 1];
        loop {
            match self.patch.read(&mut probe) {
                Ok(n) => return Ok(n > 0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl<P: Read> BufRead for ThreadedDecoder<'_, P> {
    /// The decoded chunk in hand, not copied again: the record loop adds and copies straight
    /// from it.
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.off >= self.cur.len() && !self.ended {
            self.top_up()?;
            let msg = match self.from_worker.try_recv() {
                Ok(m) => m,
                Err(TryRecvError::Empty) => {
                    // Nothing decoded yet: wait briefly, then feed again. The helper either has
                    // input queued (and will produce) or waits for the input we feed next loop.
                    match self.from_worker.recv_timeout(Duration::from_millis(1)) {
                        Ok(m) => m,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => return Err(gone()),
                    }
                }
                Err(TryRecvError::Disconnected) => return Err(gone()),
            };
            match msg {
                Decoded::Data(v) => {
                    let spent = std::mem::replace(&mut self.cur, v);
                    self.off = 0;
                    // Back to the helper for its next chunk; if it has gone, drop it.
                    let _ = self.recycle.try_send(spent);
                }
                Decoded::End { trailing } => {
                    self.ended = true;
                    self.trailing = trailing;
                    self.to_worker = None;
                }
                Decoded::Fail(e) => {
                    self.ended = true;
                    self.to_worker = None;
                    return Err(e);
                }
            }
        }
        Ok(self.cur.get(self.off..).unwrap_or_default())
    }

    fn consume(&mut self, amt: usize) {
        self.off = self.off.saturating_add(amt).min(self.cur.len());
    }
}

impl<P: Read> Read for ThreadedDecoder<'_, P> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let src = self.fill_buf()?;
        let n = src.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), src.get(..n)) {
            to.copy_from_slice(from);
        }
        self.consume(n);
        Ok(n)
    }
}

fn gone() -> io::Error {
    io::Error::other("patch decoder thread stopped")
}

/// A body decoder that can hand back the compressed reader under it, to look for bytes after
/// the body's end.
trait BodyDecoder: Read {
    fn input(&mut self) -> &mut BufReader<ChanReader>;
}

impl BodyDecoder for Lzma2Reader<BufReader<ChanReader>> {
    fn input(&mut self) -> &mut BufReader<ChanReader> {
        self.inner_mut()
    }
}

impl BodyDecoder for zstd::stream::read::Decoder<'static, BufReader<ChanReader>> {
    fn input(&mut self) -> &mut BufReader<ChanReader> {
        self.get_mut()
    }
}

fn body_decoder(
    algorithm: Algorithm,
    input: BufReader<ChanReader>,
) -> io::Result<Box<dyn BodyDecoder>> {
    Ok(match algorithm {
        Algorithm::BsdiffLzma2 => {
            Box::new(Lzma2Reader::new(input).map_err(|e| io::Error::other(e.to_string()))?)
        }
        Algorithm::BsdiffZstd => {
            let mut d = zstd::stream::read::Decoder::with_buffer(input)?.single_frame();
            d.window_log_max(ZSTD_WINDOW_LOG)?;
            Box::new(d)
        }
    })
}

/// The helper: decode until the body's end (LZMA2 end marker, end of the zstd frame), an
/// error, or this side hanging up.
fn decode(
    algorithm: Algorithm,
    input: Receiver<Vec<u8>>,
    out: SyncSender<Decoded>,
    spare: Receiver<Vec<u8>>,
) {
    let reader = ChanReader {
        rx: input,
        cur: Vec::new(),
        off: 0,
    };
    let mut dec = match body_decoder(algorithm, BufReader::with_capacity(PIPE, reader)) {
        Ok(d) => d,
        Err(e) => {
            let _ = out.send(Decoded::Fail(e));
            return;
        }
    };
    loop {
        // A chunk the applier is done with (full length already, so not zeroed again), or a
        // new one.
        let mut chunk = spare.try_recv().unwrap_or_default();
        chunk.resize(PIPE, 0);
        let msg = match dec.read(&mut chunk) {
            Ok(0) => {
                let trailing = match dec.input().fill_buf() {
                    Ok(rest) => !rest.is_empty(),
                    Err(_) => false,
                };
                Decoded::End { trailing }
            }
            Ok(n) => {
                chunk.truncate(n);
                Decoded::Data(chunk)
            }
            Err(e) => Decoded::Fail(e),
        };
        let last = !matches!(msg, Decoded::Data(_));
        // A send error means the applier has gone (it failed or finished): stop.
        if out.send(msg).is_err() || last {
            return;
        }
    }
}

/// `Read` over the compressed chunks this side sends; end of input when it hangs up.
struct ChanReader {
    rx: Receiver<Vec<u8>>,
    cur: Vec<u8>,
    off: usize,
}

impl Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.off >= self.cur.len() {
            match self.rx.recv() {
                Ok(v) => {
                    self.cur = v;
                    self.off = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let src = self.cur.get(self.off..).unwrap_or_default();
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        self.off += n;
        Ok(n)
    }
}

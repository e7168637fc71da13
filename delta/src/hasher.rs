//! SHA-256 of the result on a helper thread, since the calling thread, which applies the
//! records and writes the result (`out` need not be `Send`), is an executable's patch's
//! bottleneck; the base's hash has its own thread in `base.rs`. Filled buffers are
//! handed over, not copied, and come back for reuse; at most [`DEPTH`] + 1 exist.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::thread::{Builder, Scope, ScopedJoinHandle};

use ring::digest;

use crate::error::DeltaError;

/// Buffers queued for hashing at most.
const DEPTH: usize = 2;

pub(crate) struct BackgroundSha256<'scope> {
    to_worker: Option<SyncSender<Vec<u8>>>,
    returned: Receiver<Vec<u8>>,
    worker: ScopedJoinHandle<'scope, [u8; 32]>,
    buffers: usize,
    capacity: usize,
}

impl<'scope> BackgroundSha256<'scope> {
    /// Starts the helper; buffers handed out hold `capacity` bytes.
    pub(crate) fn start(
        scope: &'scope Scope<'scope, '_>,
        capacity: usize,
    ) -> Result<Self, DeltaError> {
        let (to_worker, input) = sync_channel::<Vec<u8>>(DEPTH);
        let (give_back, returned) = sync_channel::<Vec<u8>>(DEPTH + 1);
        let worker = Builder::new()
            .name("tufota-delta-sha256".into())
            .spawn_scoped(scope, move || {
                let mut ctx = digest::Context::new(&digest::SHA256);
                for buf in input {
                    ctx.update(&buf);
                    // The caller may have stopped taking buffers back: that is fine.
                    let _ = give_back.try_send(buf);
                }
                digest_bytes(ctx.finish())
            })
            .map_err(DeltaError::io("starting the hashing thread"))?;
        Ok(BackgroundSha256 {
            to_worker: Some(to_worker),
            returned,
            worker,
            buffers: 0,
            capacity,
        })
    }

    /// A buffer of the start capacity: a returned one (still holding what was hashed, so that
    /// a caller refilling it to the same length does not zero it again), or a new empty one
    /// while fewer than `DEPTH + 1` exist.
    pub(crate) fn spare_buffer(&mut self) -> Result<Vec<u8>, DeltaError> {
        match self.returned.try_recv() {
            Ok(buf) => return Ok(buf),
            Err(TryRecvError::Disconnected) => return Err(gone()),
            Err(TryRecvError::Empty) => {}
        }
        if self.buffers <= DEPTH {
            self.buffers += 1;
            return Ok(Vec::with_capacity(self.capacity));
        }
        self.returned.recv().map_err(|_| gone())
    }

    /// Hashes `buf` (in order with every earlier one) and takes it for reuse.
    pub(crate) fn update(&mut self, buf: Vec<u8>) -> Result<(), DeltaError> {
        let tx = self.to_worker.as_ref().ok_or_else(gone)?;
        tx.send(buf).map_err(|_| gone())
    }

    /// The sha256 of everything handed over.
    pub(crate) fn finish(mut self) -> Result<[u8; 32], DeltaError> {
        self.to_worker = None;
        self.worker.join().map_err(|_| gone())
    }
}

fn gone() -> DeltaError {
    DeltaError::Io {
        what: "hashing",
        source: std::io::Error::other("hashing thread stopped"),
    }
}

pub(crate) fn digest_bytes(d: digest::Digest) -> [u8; 32] {
    let mut out = [0u8; 32];
    let bytes = d.as_ref();
    let n = bytes.len().min(32);
    if let (Some(to), Some(from)) = (out.get_mut(..n), bytes.get(..n)) {
        to.copy_from_slice(from);
    }
    out
}

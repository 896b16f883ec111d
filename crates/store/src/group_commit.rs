//! Group commit for token records: concurrent issuances share one transaction, so durability
//! costs one fsync per batch instead of one per token.
//!
//! Each caller hands its record to a single writer task and waits for the batch it joined to
//! commit. The writer takes whatever is queued (up to [`MAX_BATCH`]) the moment the previous
//! commit finishes, so a lone request is written at once and a burst is written together.

use portcullis_core::store::{StoreError, StoreResult, TokenRecord, TokenStore};
use tokio::sync::{mpsc, oneshot};

use crate::SqlStore;

/// Most records written in one transaction (8 bound values each, far below both engines' limits).
pub const MAX_BATCH: usize = 256;
const QUEUE_DEPTH: usize = 8192;

type Pending = (TokenRecord, oneshot::Sender<StoreResult<()>>);

/// Handle to the writer task. Cloning shares the same writer.
#[derive(Clone, Debug)]
pub struct GroupCommit {
    queue: mpsc::Sender<Pending>,
}

impl GroupCommit {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(store: SqlStore) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(write_batches(store, receiver));
        Self { queue }
    }

    /// Records one token and returns once the batch holding it is committed.
    pub async fn record(&self, record: TokenRecord) -> StoreResult<()> {
        let (done, wait) = oneshot::channel();
        let stopped = || StoreError::Unavailable("token writer stopped".into());
        self.queue.send((record, done)).await.map_err(|_| stopped())?;
        wait.await.map_err(|_| stopped())?
    }
}

async fn write_batches(store: SqlStore, mut receiver: mpsc::Receiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let records: Vec<TokenRecord> = batch.iter().map(|(r, _)| r.clone()).collect();
        let result = store.record_tokens(&records).await;
        if let Err(err) = &result {
            tracing::error!(batch = records.len(), error = %err, "token batch failed to commit");
        }
        for (_, done) in batch.drain(..) {
            let outcome = match &result {
                Ok(()) => Ok(()),
                Err(err) => Err(StoreError::Unavailable(err.to_string())),
            };
            // The requester may have gone away (client disconnected); nothing to tell then.
            let _ = done.send(outcome);
        }
    }
}

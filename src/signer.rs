//! Token signing off the async executor, on dedicated threads.
//!
//! `spawn_blocking` per token costs a thread hand-off per signature; on a busy single core that
//! context switching cost more than the ECDSA itself (measured: 30% of CPU in task switches).
//! Here each signing thread drains its whole queue per wake-up, so a burst of concurrent token
//! requests costs one hand-off, not one each. There is one thread per core the process may use.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use portcullis_core::keys::{KeyError, SigningKey};
use portcullis_core::token::{AccessTokenClaims, ACCESS_TOKEN_TYP};
use tokio::sync::oneshot;

struct Job {
    key: Arc<SigningKey>,
    typ: &'static str,
    payload: Vec<u8>,
    reply: oneshot::Sender<Result<String, KeyError>>,
}

/// Handle to the signing threads. Cheap to clone.
#[derive(Clone)]
pub struct Signer {
    queues: Arc<[mpsc::Sender<Job>]>,
    next: Arc<AtomicUsize>,
}

impl Signer {
    /// Starts one signing thread per available core.
    pub fn start() -> std::io::Result<Self> {
        let threads = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
        let mut queues = Vec::with_capacity(threads);
        for index in 0..threads {
            let (sender, receiver) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name(format!("portcullis-signer-{index}"))
                .spawn(move || sign_until_closed(receiver))?;
            queues.push(sender);
        }
        Ok(Self { queues: queues.into(), next: Arc::new(AtomicUsize::new(0)) })
    }

    /// Signs access-token claims with `key` and returns the compact JWS.
    pub async fn sign(
        &self,
        key: Arc<SigningKey>,
        claims: AccessTokenClaims,
    ) -> Result<String, KeyError> {
        let payload =
            serde_json::to_vec(&claims).map_err(|_| KeyError::Corrupt("claims encoding"))?;
        self.sign_payload(key, ACCESS_TOKEN_TYP, payload).await
    }

    /// Signs any JSON payload (ID tokens: `typ` JWT) with `key`.
    pub async fn sign_payload(
        &self,
        key: Arc<SigningKey>,
        typ: &'static str,
        payload: Vec<u8>,
    ) -> Result<String, KeyError> {
        let (reply, answer) = oneshot::channel();
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.queues.len();
        let stopped = || KeyError::Corrupt("signing thread stopped");
        self.queues[index].send(Job { key, typ, payload, reply }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn sign_until_closed(receiver: mpsc::Receiver<Job>) {
    // `recv` parks the thread until work arrives; everything queued meanwhile is then signed
    // in one go by the `try_iter` drain on the next turns of the loop.
    while let Ok(job) = receiver.recv() {
        for job in std::iter::once(job).chain(receiver.try_iter()) {
            let signed = job.key.sign_jws(job.typ, &job.payload);
            // The request may have been cancelled; its token is then simply not delivered.
            let _ = job.reply.send(signed);
        }
    }
}

//! HTTP/2 where a TLS server offers it, without a connection wasted finding out.
//!
//! hyper-util's pool opens one connection per authority only when it knows the
//! authority speaks HTTP/2 (an `http2_only` client); otherwise requests in
//! flight together each open their own, TLS handshake and all. So the first
//! request to a TLS authority connects once, offering HTTP/2 and HTTP/1.1
//! (ALPN), while every request that arrives meanwhile waits for the answer;
//! that connection is then handed to the pool that speaks what was chosen (see
//! [`Protocols::take_first`]). The HTTP gate and the Kubernetes clients use it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

/// What each TLS authority speaks, learnt from the first connection to it
/// (`S`), kept until a pool asks for one; `E`: why a connection failed.
pub(crate) struct Protocols<S, E> {
    learnt: Mutex<HashMap<String, Learning<E>>>,
    first: Mutex<HashMap<String, S>>,
}

impl<S, E> Default for Protocols<S, E> {
    fn default() -> Self {
        Protocols {
            learnt: Mutex::default(),
            first: Mutex::default(),
        }
    }
}

/// Whether an authority speaks HTTP/2, or the first connection that will tell
/// (shared by every request that waits for it; an error is not remembered).
enum Learning<E> {
    Known(bool),
    Connecting(Shared<BoxFuture<'static, Result<bool, Arc<E>>>>),
}

impl<S: Send + 'static, E: Send + Sync + 'static> Protocols<S, E> {
    /// Whether the TLS server at `authority` speaks HTTP/2: known, or learnt
    /// from the connection `connect` makes (once, however many requests ask
    /// meanwhile), which returns the stream and whether it chose HTTP/2.
    pub(crate) async fn speaks_h2<F>(
        self: &Arc<Self>,
        authority: &str,
        connect: impl FnOnce() -> F,
    ) -> Result<bool, Arc<E>>
    where
        F: Future<Output = Result<(S, bool), E>> + Send + 'static,
    {
        let connecting = {
            let mut learnt = lock(&self.learnt);
            match learnt.get(authority) {
                Some(Learning::Known(h2)) => return Ok(*h2),
                Some(Learning::Connecting(c)) => c.clone(),
                None => {
                    let (protocols, to, connected) =
                        (Arc::downgrade(self), authority.to_owned(), connect());
                    let c = async move {
                        let (stream, h2) = connected.await.map_err(Arc::new)?;
                        if let Some(p) = protocols.upgrade() {
                            lock(&p.first).insert(to, stream);
                        }
                        Ok(h2)
                    }
                    .boxed()
                    .shared();
                    learnt.insert(authority.to_owned(), Learning::Connecting(c.clone()));
                    c
                }
            }
        };
        let h2 = connecting.clone().await;
        let mut learnt = lock(&self.learnt);
        if matches!(learnt.get(authority), Some(Learning::Connecting(c)) if c.ptr_eq(&connecting)) {
            match h2 {
                Ok(h2) => {
                    let protocol = if h2 { "HTTP/2" } else { "HTTP/1.1" };
                    tracing::debug!("{authority} speaks {protocol}");
                    learnt.insert(authority.to_owned(), Learning::Known(h2));
                }
                // The next request tries again.
                Err(_) => {
                    learnt.remove(authority);
                }
            }
        }
        h2
    }

    /// The first connection to `authority`, if no pool has taken it yet.
    pub(crate) fn take_first(&self, authority: &str) -> Option<S> {
        lock(&self.first).remove(authority)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn requests_at_once_share_one_connection_and_a_failure_is_not_remembered() {
        let protocols: Arc<Protocols<u32, std::io::Error>> = Arc::default();
        let connects = Arc::new(AtomicUsize::new(0));
        let connect = |answer: Result<(u32, bool), &'static str>| {
            let connects = connects.clone();
            move || async move {
                connects.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                answer.map_err(std::io::Error::other)
            }
        };
        // Two requests at once while the server refuses: one connection, both told.
        let (a, b) = tokio::join!(
            protocols.speaks_h2("member:2379", connect(Err("refused"))),
            protocols.speaks_h2("member:2379", connect(Err("refused"))),
        );
        assert_eq!(a.unwrap_err().to_string(), "refused");
        assert_eq!(b.unwrap_err().to_string(), "refused");
        assert_eq!(connects.load(Ordering::SeqCst), 1);
        // The next requests try again; the connection is kept for the pool.
        let (a, b) = tokio::join!(
            protocols.speaks_h2("member:2379", connect(Ok((7, true)))),
            protocols.speaks_h2("member:2379", connect(Ok((8, true)))),
        );
        assert!(a.unwrap() && b.unwrap());
        assert_eq!(connects.load(Ordering::SeqCst), 2);
        assert_eq!(protocols.take_first("member:2379"), Some(7));
        assert_eq!(protocols.take_first("member:2379"), None);
        // Known from then on, per authority.
        assert!(
            protocols
                .speaks_h2("member:2379", connect(Err("unused")))
                .await
                .unwrap()
        );
        assert!(
            !protocols
                .speaks_h2("other:2379", connect(Ok((9, false))))
                .await
                .unwrap()
        );
        assert_eq!(connects.load(Ordering::SeqCst), 3);
    }
}

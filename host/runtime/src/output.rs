//! Captured plugin output (stdout/stderr): kept up to a cap, the rest counted and
//! dropped. A chatty plugin is never failed for printing too much.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// A size-capped in-memory sink shared between the store and the host.
#[derive(Clone)]
pub struct CappedOutput {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    cap: usize,
    buf: Vec<u8>,
    dropped: usize,
}

impl CappedOutput {
    /// A sink that keeps at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        CappedOutput {
            inner: Arc::new(Mutex::new(Inner {
                cap,
                buf: Vec::new(),
                dropped: 0,
            })),
        }
    }

    fn push(&self, bytes: &[u8]) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let room = g.cap.saturating_sub(g.buf.len()).min(bytes.len());
        g.buf.extend_from_slice(&bytes[..room]);
        g.dropped += bytes.len() - room;
    }

    /// What was kept, lossily decoded, with a note of what was dropped.
    pub fn contents(&self) -> String {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut s = String::from_utf8_lossy(&g.buf).into_owned();
        if g.dropped > 0 {
            s.push_str(&format!(
                "\n[{} more bytes dropped: output limit]\n",
                g.dropped
            ));
        }
        s
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_the_cap_and_counts_the_rest() {
        let out = CappedOutput::new(5);
        out.push(b"abc");
        out.push(b"defgh");
        let s = out.contents();
        assert!(s.starts_with("abcde"), "{s}");
        assert!(s.contains("[3 more bytes dropped"), "{s}");
    }
}

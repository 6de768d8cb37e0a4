//! `/metrics` as served: rendered once per change of what it shows (a result, a
//! reload), not once per scrape, in each format and encoding asked for, and kept
//! in memory until the next change. Scrapers that arrive together while it is
//! stale wait for one rendering rather than each doing its own.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::render::prometheus::Exposition;

/// The rendered expositions, and the version of what they show.
#[derive(Default)]
pub struct Cache {
    version: AtomicU64,
    rendered: Mutex<HashMap<(Exposition, bool), (u64, Bytes)>>,
}

impl Cache {
    /// What `/metrics` shows has changed: the next scrape renders it again.
    pub fn changed(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// The exposition in `format`, gzip-compressed when `gzip`: as rendered
    /// since the last change, or rendered now by `render`.
    pub fn get(&self, format: Exposition, gzip: bool, render: impl FnOnce() -> String) -> Bytes {
        let version = self.version.load(Ordering::Acquire);
        let mut rendered = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, body)) = rendered.get(&(format, gzip))
            && *at == version
        {
            return body.clone();
        }
        let text = render();
        let body = if gzip {
            Bytes::from(compress(text.as_bytes()))
        } else {
            Bytes::from(text)
        };
        rendered.insert((format, gzip), (version, body.clone()));
        body
    }
}

fn compress(text: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::with_capacity(text.len() / 8), Compression::fast());
    gz.write_all(text).expect("writing to a Vec cannot fail");
    gz.finish().expect("writing to a Vec cannot fail")
}

/// Whether an `Accept-Encoding` header value accepts gzip (`gzip` or `*`, with
/// no `q=0`).
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn renders_once_per_change_and_per_format() {
        let cache = Cache::default();
        let renders = AtomicUsize::new(0);
        let render = || {
            renders.fetch_add(1, Ordering::Relaxed);
            "a 1\n".to_string()
        };
        assert_eq!(cache.get(Exposition::Text, false, render), "a 1\n");
        assert_eq!(cache.get(Exposition::Text, false, render), "a 1\n");
        assert_eq!(renders.load(Ordering::Relaxed), 1);
        cache.get(Exposition::OpenMetrics, false, render);
        assert_eq!(renders.load(Ordering::Relaxed), 2, "another format");
        cache.changed();
        cache.get(Exposition::Text, false, render);
        assert_eq!(renders.load(Ordering::Relaxed), 3, "after a change");

        let gz = cache.get(Exposition::Text, true, render);
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "a 1\n");
    }

    #[test]
    fn gzip_is_accepted_as_http_says() {
        for yes in ["gzip", "GZip", "deflate, gzip;q=0.5", "*", "br, gzip ; q=1"] {
            assert!(accepts_gzip(yes), "{yes}");
        }
        for no in [
            "",
            "identity",
            "deflate, br",
            "gzip;q=0",
            "gzip; q=0.000",
            "x-gzip2",
        ] {
            assert!(!accepts_gzip(no), "{no}");
        }
    }
}

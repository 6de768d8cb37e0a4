//! Secrets read from credential references (`*_env`, `*_file`). They stay in the
//! host: `Debug` never shows them and nothing passes them to a plugin.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A secret value; its `Debug` output is redacted.
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    /// The secret itself, for the host's own use when it talks to an endpoint.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Read a secret from an environment variable of the host process.
pub fn from_env(var: &str) -> Result<Secret, String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Secret(v.into())),
        Ok(_) => Err(format!("environment variable {var} is empty")),
        Err(_) => Err(format!("environment variable {var} is not set")),
    }
}

/// Longest secret file read: a credential is short; `/dev/zero` is not one.
const MAX_SECRET_FILE: u64 = 64 << 10;

/// Read a secret from a file (surrounding whitespace trimmed).
pub fn from_file(path: &Path) -> Result<Secret, String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SECRET_FILE + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.len() as u64 > MAX_SECRET_FILE {
        return Err(format!(
            "{} is larger than {} KiB: not a credential",
            path.display(),
            MAX_SECRET_FILE >> 10
        ));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret(text.into()))
}

/// What replaces a secret wherever the host finds one.
pub const REDACTED: &str = "<redacted>";

/// Secrets shorter than this are redacted only where they are a whole value (a
/// JSON string, a label value, a header): anywhere, they would mangle ordinary text.
pub const MIN_ANYWHERE: usize = 4;

/// Replaces every secret the host knows, in the forms it travels in (as written,
/// JSON-escaped, percent-encoded, base64 alone and as a basic-auth `user:password`
/// pair), with [`REDACTED`]: in what capabilities hand to a plugin and in what a
/// plugin reports. Cloning shares it; the default redacts nothing.
#[derive(Clone, Default)]
pub struct Redactor(Option<Arc<Patterns>>);

struct Patterns {
    finder: aho_corasick::AhoCorasick,
    /// Length of the longest form, in bytes.
    longest: usize,
    /// Short secrets, redacted where they are a whole value.
    whole: Vec<String>,
    /// Length of the longest of them, in bytes.
    whole_longest: usize,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.as_ref().map_or(0, |p| p.finder.patterns_len());
        write!(f, "Redactor({n} forms)")
    }
}

/// Collects secrets for a [`Redactor`].
#[derive(Clone, Default)]
pub struct RedactorBuilder {
    anywhere: std::collections::BTreeSet<String>,
    whole: std::collections::BTreeSet<String>,
}

fn base64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(s)
}

impl RedactorBuilder {
    /// A secret value (token, password), with its encoded forms.
    pub fn secret(&mut self, s: &str) -> &mut Self {
        if s.is_empty() {
            return self;
        }
        if s.len() < MIN_ANYWHERE {
            self.whole.insert(s.to_string());
            return self;
        }
        let json = serde_json::to_string(s).expect("a string serialises");
        let percent: String = form_urlencoded::byte_serialize(s.as_bytes()).collect();
        for form in [
            s.to_string(),
            json[1..json.len() - 1].to_string(),
            percent,
            base64(s),
        ] {
            self.anywhere.insert(form);
        }
        self
    }

    /// A basic-auth pair: the password, and the pair as an `Authorization` header carries it.
    pub fn basic(&mut self, username: &str, password: &str) -> &mut Self {
        self.secret(password);
        if !password.is_empty() {
            self.anywhere
                .insert(base64(&format!("{username}:{password}")));
        }
        self
    }

    pub fn build(&self) -> Redactor {
        if self.anywhere.is_empty() && self.whole.is_empty() {
            return Redactor(None);
        }
        let finder = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&self.anywhere)
            .expect("literal patterns always build");
        Redactor(Some(Arc::new(Patterns {
            finder,
            longest: self.anywhere.iter().map(String::len).max().unwrap_or(0),
            whole: self.whole.iter().cloned().collect(),
            whole_longest: self.whole.iter().map(String::len).max().unwrap_or(0),
        })))
    }
}

impl Redactor {
    /// Whether it redacts nothing (no secret is configured).
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// `s` with every secret redacted.
    pub fn text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let Some(p) = &self.0 else {
            return Cow::Borrowed(s);
        };
        if p.whole.iter().any(|w| w == s) {
            return Cow::Owned(REDACTED.to_string());
        }
        if !p.finder.is_match(s) {
            return Cow::Borrowed(s);
        }
        let mut out = String::with_capacity(s.len());
        p.finder.replace_all_with(s, &mut out, |_, _, out| {
            out.push_str(REDACTED);
            true
        });
        Cow::Owned(out)
    }

    /// Redact `s` in place; whether it held a secret.
    pub fn string(&self, s: &mut String) -> bool {
        match self.text(s) {
            Cow::Owned(r) => {
                *s = r;
                true
            }
            Cow::Borrowed(_) => false,
        }
    }

    /// `b` with every secret redacted.
    pub fn bytes<'a>(&self, b: &'a [u8]) -> Cow<'a, [u8]> {
        let Some(p) = &self.0 else {
            return Cow::Borrowed(b);
        };
        if p.whole.iter().any(|w| w.as_bytes() == b) {
            return Cow::Owned(REDACTED.as_bytes().to_vec());
        }
        if !p.finder.is_match(b) {
            return Cow::Borrowed(b);
        }
        let mut out = Vec::with_capacity(b.len());
        p.finder.replace_all_with_bytes(b, &mut out, |_, _, out| {
            out.extend_from_slice(REDACTED.as_bytes());
            true
        });
        Cow::Owned(out)
    }

    /// Redact every string and key of a JSON value in place; whether any was.
    pub fn json(&self, v: &mut serde_json::Value) -> bool {
        if self.is_empty() {
            return false;
        }
        match v {
            serde_json::Value::String(s) => self.string(s),
            serde_json::Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, i| self.json(i) | changed),
            serde_json::Value::Object(map) => {
                let mut changed = false;
                for (mut k, mut v) in std::mem::take(map) {
                    changed |= self.string(&mut k);
                    changed |= self.json(&mut v);
                    map.insert(k, v);
                }
                changed
            }
            _ => false,
        }
    }

    /// A redactor for a body that arrives in chunks.
    pub fn stream(&self) -> StreamRedactor {
        StreamRedactor {
            redactor: self.clone(),
            carry: Vec::new(),
            emitted: false,
        }
    }
}

/// Redacts a stream chunk by chunk, as if it were redacted whole: it holds back
/// the last bytes of what it has seen (fewer than the longest secret) until the
/// next chunk shows whether a secret starts there.
pub struct StreamRedactor {
    redactor: Redactor,
    carry: Vec<u8>,
    /// Whether any of the stream was let through: then the end is not a whole value.
    emitted: bool,
}

impl StreamRedactor {
    /// Take a chunk; returns what is final of the stream so far.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let Some(p) = self.redactor.0.clone() else {
            return chunk.to_vec();
        };
        self.carry.extend_from_slice(chunk);
        // Held back: what could be the start of a secret, or the whole stream
        // while it could still be a short secret entire.
        let keep = p.longest.saturating_sub(1).max(p.whole_longest);
        if self.carry.len() <= keep {
            return Vec::new();
        }
        let mut cut = self.carry.len() - keep;
        let mut out = Vec::with_capacity(cut);
        let mut done = 0;
        for m in p.finder.find_iter(&self.carry) {
            if m.start() >= cut {
                break;
            }
            out.extend_from_slice(&self.carry[done..m.start()]);
            out.extend_from_slice(REDACTED.as_bytes());
            done = m.end();
            cut = cut.max(m.end());
        }
        out.extend_from_slice(&self.carry[done..cut]);
        self.carry.drain(..cut);
        self.emitted = true;
        out
    }

    /// The end of the stream: what was held back, redacted (a short secret only
    /// when it is the whole stream).
    pub fn finish(&mut self) -> Vec<u8> {
        let rest = std::mem::take(&mut self.carry);
        if self.emitted
            && let Some(p) = &self.redactor.0
        {
            let mut out = Vec::with_capacity(rest.len());
            p.finder
                .replace_all_with_bytes(&rest, &mut out, |_, _, out| {
                    out.extend_from_slice(REDACTED.as_bytes());
                    true
                });
            return out;
        }
        self.redactor.bytes(&rest).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        RedactorBuilder::default()
            .secret("s3cr\"et/42")
            .basic("admin", "hunter22")
            .secret("pw")
            .build()
    }

    #[test]
    fn every_form_of_a_secret_is_redacted() {
        let r = redactor();
        for (text, want) in [
            ("token s3cr\"et/42 end", "token <redacted> end"),
            (r#"{"t": "s3cr\"et/42"}"#, r#"{"t": "<redacted>"}"#),
            ("q=s3cr%22et%2F42", "q=<redacted>"),
            ("data: czNjciJldC80Mg==", "data: <redacted>=="),
            (
                "Authorization: Basic YWRtaW46aHVudGVyMjI=",
                "Authorization: Basic <redacted>=",
            ),
            ("hunter22hunter22", "<redacted><redacted>"),
            // A short secret only as a whole value.
            ("pw", "<redacted>"),
            ("pwned", "pwned"),
            ("nothing here", "nothing here"),
        ] {
            assert_eq!(r.text(text), want, "{text}");
            assert_eq!(r.bytes(text.as_bytes()), want.as_bytes(), "{text}");
        }
        assert!(Redactor::default().is_empty());
        assert_eq!(Redactor::default().text("hunter22"), "hunter22");
    }

    #[test]
    fn json_strings_and_keys_are_redacted() {
        let mut v = serde_json::json!({"hunter22": ["x hunter22", 1, {"k": "pw"}]});
        assert!(redactor().json(&mut v));
        assert!(!redactor().json(&mut v), "nothing left to redact");
        assert_eq!(
            v,
            serde_json::json!({"<redacted>": ["x <redacted>", 1, {"k": "<redacted>"}]})
        );
    }

    #[test]
    fn a_stream_is_redacted_as_if_whole_wherever_it_is_cut() {
        let r = redactor();
        let body =
            b"a hunter22 b s3cr\"et/42s3cr\"et/42 c YWRtaW46aHVudGVyMjI= hunter2 pw".to_vec();
        let whole = r.bytes(&body).into_owned();
        for size in 1..body.len() {
            let mut s = r.stream();
            let mut out = Vec::new();
            for chunk in body.chunks(size) {
                out.extend(s.push(chunk));
            }
            out.extend(s.finish());
            assert_eq!(out, whole, "chunks of {size}");
        }
    }
}

//! One configuration file being validated: its path and text, and the settings
//! every file reads the same way (durations, sizes, retries), with errors located
//! at the offending value.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, MAX_DURATION, MAX_RETRIES};

/// A file's path and text.
pub(super) struct Source {
    pub(super) path: PathBuf,
    pub(super) text: String,
}

impl Source {
    /// Read `path`; a failure is reported as `{cannot}: {error}`.
    pub(super) fn read(path: &Path, cannot: &str) -> Result<Source, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::file(path, format!("{cannot}: {e}")))?;
        Ok(Source {
            path: path.to_owned(),
            text,
        })
    }

    /// An error at `span`, its message followed by the source line.
    pub(super) fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: self.path.clone(),
            line: Some(self.line(span.start)),
            message: self.with_source_line(message.into(), span.start),
        }
    }

    /// An error on `line`, without the source line.
    pub(super) fn error_on_line(&self, line: usize, message: String) -> ConfigError {
        ConfigError {
            path: self.path.clone(),
            line: Some(line),
            message,
        }
    }

    /// The line (from 1) holding byte `offset`.
    pub(super) fn line(&self, offset: usize) -> usize {
        let src = &self.text;
        src[..offset.min(src.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count()
            + 1
    }

    /// Append the source line at `offset`, so the message shows the key as written.
    fn with_source_line(&self, message: String, offset: usize) -> String {
        let src = &self.text;
        let offset = offset.min(src.len());
        let start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
        let end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
        let line = src[start..end].trim();
        if line.is_empty() {
            message
        } else {
            format!("{message}\n    {} | {line}", self.line(offset))
        }
    }

    /// Parse the TOML into `T`, turning syntax and schema errors into a [`ConfigError`].
    pub(super) fn parse<T: for<'de> Deserialize<'de>>(&self) -> Result<T, ConfigError> {
        toml::from_str(&self.text).map_err(|e| {
            let message = e.message().trim().to_string();
            match e.span() {
                Some(span) => self.error(span, message),
                None => ConfigError::file(&self.path, message),
            }
        })
    }

    /// A duration setting (at most [`MAX_DURATION`]), or `default` when absent.
    pub(super) fn duration(
        &self,
        key: &str,
        v: &Option<Spanned<String>>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(v) = v else { return Ok(default) };
        let d = humantime::parse_duration(v.get_ref()).map_err(|e| {
            self.error(
                v.span(),
                format!(
                    "`{key}`: invalid duration {:?}: {e} (e.g. \"10s\", \"1m30s\")",
                    v.get_ref()
                ),
            )
        })?;
        if d.is_zero() || d > MAX_DURATION {
            return Err(self.error(
                v.span(),
                format!(
                    "`{key}`: {:?} must be more than 0 and at most 7 days",
                    v.get_ref()
                ),
            ));
        }
        Ok(d)
    }

    /// A size setting within `range`, or `default` when absent.
    pub(super) fn size(
        &self,
        key: &str,
        v: &Option<Spanned<ByteSize>>,
        default: u64,
        range: (u64, u64),
    ) -> Result<u64, ConfigError> {
        let Some(v) = v else { return Ok(default) };
        let n = v.get_ref().as_u64();
        if n < range.0 || n > range.1 {
            return Err(self.error(
                v.span(),
                format!(
                    "`{key}`: {} is out of range ({} to {})",
                    v.get_ref(),
                    ByteSize(range.0),
                    ByteSize(range.1)
                ),
            ));
        }
        Ok(n)
    }

    /// A `retries` setting (at most [`MAX_RETRIES`]), or `default` when absent.
    pub(super) fn retries(
        &self,
        key: &str,
        v: &Option<Spanned<u32>>,
        default: u32,
    ) -> Result<u32, ConfigError> {
        match v {
            None => Ok(default),
            Some(n) if *n.get_ref() > MAX_RETRIES => Err(self.error(
                n.span(),
                format!("`{key}`: {} is more than {MAX_RETRIES}", n.get_ref()),
            )),
            Some(n) => Ok(*n.get_ref()),
        }
    }
}

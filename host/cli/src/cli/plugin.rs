//! `vitals plugin new`.

use std::path::PathBuf;

use vitals_core::exit::Exit;

use super::{Outcome, error};
use crate::scaffold::{self, Lang, ScaffoldError};

/// Write a new plugin project named `name` in `lang` into `dir` (default: `./name`).
pub(super) fn new(name: &str, lang: Lang, dir: Option<PathBuf>) -> Outcome {
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    match scaffold::new_plugin(name, lang, &dir) {
        Ok(files) => {
            println!("created {} ({} files):", dir.display(), files.len());
            for f in files.iter().filter(|f| {
                !f.starts_with("wit") && !f.starts_with("vitals-plugin") && !f.starts_with("sdk")
            }) {
                println!("  {}", f.display());
            }
            println!(
                "  wit/ (the contract), and the SDK\n\nnext: cd {} && ./test.sh",
                dir.display()
            );
            Ok(0)
        }
        Err(e @ ScaffoldError::Write { .. }) => error(Exit::CantCreat, e),
        Err(e) => error(Exit::Usage, e),
    }
}

//! `vitals test`: replay cassettes and compare with their recorded outcomes.

use vitals_core::exit::Exit;

use super::args::TestArgs;
use super::{Outcome, error};
use crate::render;

/// `vitals test`: replay a cassette through a plugin and compare.
pub(super) async fn test(args: TestArgs) -> Outcome {
    use vitals_runtime::replay::{self, TestError, TestSpec};
    let spec = TestSpec {
        plugin: args.plugin,
        cassette: args.cassette,
        params: args.params,
        expect: args.expect,
        expect_findings: args.expect_findings,
        same_findings: args.same_findings,
        timeout: args.timeout,
        memory_limit: args.memory_limit.as_u64(),
        cache_dir: args.cache_dir,
    };
    let outcome = match replay::run(&spec).await {
        Ok(o) => o,
        Err(e) => {
            let code = match &e {
                TestError::Cassette(_) => Exit::NoInput,
                TestError::Params(_) => Exit::Config,
                TestError::Plugin(_) => Exit::Plugin,
                TestError::Engine(_) => Exit::Software,
                TestError::Usage(_) => Exit::Usage,
            };
            return error(code, e);
        }
    };
    let mut out = render::human::render(std::slice::from_ref(&outcome.result), args.verbose);
    let what = format!(
        "{} with {} ({} recorded calls)",
        spec.plugin.display(),
        spec.cassette.display(),
        outcome.calls
    );
    for note in &outcome.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    if !outcome.unused.is_empty() {
        out.push_str(&format!(
            "note: {} recorded calls were not asked for: {}\n",
            outcome.unused.len(),
            outcome.unused.join(", ")
        ));
    }
    let code = if outcome.mismatches.is_empty() {
        out.push_str(&format!("PASS {what}: {}\n", outcome.result.status));
        Ok(0)
    } else {
        out.push_str(&format!("FAIL {what}\n"));
        for m in &outcome.mismatches {
            out.push_str(&format!("  - {m}\n"));
        }
        Ok(1)
    };
    use std::io::Write;
    let mut stdout = anstream::stdout();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    code
}

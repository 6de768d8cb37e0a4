//! Test-only plugin whose `describe` panics: the host refuses it at load (the
//! failure named, within the describe deadline), and every other check runs.

use vitals_plugin::{Plugin, PluginInfo, Report, ReportBuilder, RunInput};

struct Describe;

impl Plugin for Describe {
    fn describe() -> PluginInfo {
        panic!("describe panicked on purpose")
    }

    fn run(_input: RunInput) -> Report {
        ReportBuilder::unknown("never run: describe fails")
    }
}

vitals_plugin::export_plugin!(Describe);

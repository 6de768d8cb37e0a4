//! Test-only plugin built against an incompatible contract version
//! (`vitals:check@9.0.0`), to prove the host refuses it with a clear error.

wit_bindgen::generate!({
    inline: "
        package vitals:check@9.0.0;
        interface plugin {
            describe: func() -> string;
        }
        world check {
            export plugin;
        }
    ",
    world: "check",
});

struct Future;

impl exports::vitals::check::plugin::Guest for Future {
    fn describe() -> String {
        "from the future".into()
    }
}

export!(Future);

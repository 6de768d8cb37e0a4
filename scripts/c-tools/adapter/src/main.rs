//! `vitals-adapter-dump OUT`: write the preview1 reactor adapter to OUT.
fn main() {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: vitals-adapter-dump OUT.wasm");
        std::process::exit(64);
    };
    let adapter = wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER;
    if let Err(e) = std::fs::write(&out, adapter) {
        eprintln!("cannot write {out}: {e}");
        std::process::exit(73);
    }
}

/// jemalloc, not glibc's malloc: at fleet scale the runs' many small
/// allocations, freed on other worker threads than made them, contended for
/// glibc's arenas (`benches/fleet-scale`: the host's CPU -13 %, 1,000 pairs
/// 1.23 -> 1.10 s), for about 0.5 ms more at start-up (docs/testing.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    vitals::cli::main()
}

//! vitals' outputs, from results to text: a human table ([`human`]), one JSON
//! document ([`json`]), JUnit XML ([`junit`]) and the Prometheus exposition
//! ([`prometheus`], with the runner's own [`metrics`]). No runtime: the fuzz
//! targets build it with their instrumentation.

pub mod human;
pub mod json;
pub mod junit;
pub mod metrics;
pub mod prometheus;
#[cfg(test)]
mod proptests;
#[cfg(any(test, feature = "validity"))]
pub mod validity;

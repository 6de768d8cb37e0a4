#![allow(dead_code)]
//! Shared test support: real servers and a driver for the `vitals` binary.

pub mod dns;
pub mod etcd;
pub mod galera;
pub mod http_fixture;
pub mod kubernetes;
pub mod maintenance;
pub mod monitoring;
pub mod netns;
pub mod pki;
pub mod process;
pub mod prometheus;
pub mod redis;
pub mod tls_server;
pub mod tools;
pub mod vitals;

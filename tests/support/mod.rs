#![allow(dead_code)]
pub mod etcd;

//! The WIT contract this host speaks (`wit/check.wit`), by name and version; the
//! bindings themselves live in the runtime.

/// The contract package this host implements.
pub const PACKAGE: &str = "vitals:check";
/// The version of the contract this host was built with.
pub const VERSION: &str = "0.4.4";
/// The exported interface every plugin must provide, without version.
pub const PLUGIN_INTERFACE: &str = "vitals:check/plugin";

/// Whether a plugin built against contract `version` can be loaded (semver-compatible).
pub fn is_compatible(version: &semver::Version) -> bool {
    let host = semver::Version::parse(VERSION).expect("valid contract version");
    if host.major == 0 {
        version.major == 0 && version.minor == host.minor
    } else {
        version.major == host.major
    }
}

/// The versions this host supports, for error messages.
pub fn supported() -> String {
    let host = semver::Version::parse(VERSION).expect("valid contract version");
    format!("{PACKAGE}@{}.{}.x", host.major, host.minor)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_is_the_one_of_the_wit_file() {
        let wit = include_str!("../../../wit/check.wit");
        let package = format!("package {}@{};", super::PACKAGE, super::VERSION);
        assert!(
            wit.lines().any(|l| l.trim() == package),
            "wit/check.wit lacks {package}"
        );
    }
}

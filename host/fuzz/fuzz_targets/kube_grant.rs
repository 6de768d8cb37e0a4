//! The Kubernetes grant matcher against an independent reading of the path: a
//! path the matcher lets a check read is a plain API path (no `..`, no query, no
//! escape), never a Secret, and a resource some grant names (or a `group/*`
//! grant covers), in the grant's namespace when it has one.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vitals_core::allow;
use vitals_core::grants::ResourceGrant;

const GRANTS: &[&str] = &[
    "nodes",
    "pods@kube-system",
    "configmaps",
    "coordination.k8s.io/leases@kube-node-lease",
    "cilium.io/*",
    "apps/deployments",
    "namespaces",
];

#[derive(Arbitrary, Debug)]
struct Input {
    grants: u8,
    path: String,
    list: bool,
}

fuzz_target!(|input: Input| {
    let grants: Vec<ResourceGrant> = GRANTS
        .iter()
        .enumerate()
        .filter(|(i, _)| input.grants & (1 << i) != 0)
        .map(|(_, g)| ResourceGrant::parse(g).expect("a valid grant"))
        .collect();
    let verb = if input.list { "list" } else { "get" };
    if allow::kube_read(&grants, &input.path, verb).is_err() {
        return;
    }
    let path = &input.path;
    assert!(path.starts_with('/'), "{path}");
    assert!(!path.contains(['?', '#', '%', '\\']), "{path}");
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    assert!(
        !segs.iter().any(|s| s.is_empty() || *s == "." || *s == ".."),
        "{path}"
    );
    let (group, rest) = match segs.as_slice() {
        ["version"] => return,
        ["api"] | ["api", _] | ["apis"] | ["apis", _] | ["apis", _, _] => {
            assert_eq!(verb, "get", "{path}");
            return;
        }
        ["api", _, rest @ ..] => ("", rest),
        ["apis", group, _, rest @ ..] => (*group, rest),
        _ => panic!("allowed a path outside /api and /apis: {path}"),
    };
    let (namespace, resource) = match rest {
        ["namespaces", ns, resource, ..] => (Some(*ns), *resource),
        [resource, ..] => (None, *resource),
        [] => panic!("allowed a path without a resource: {path}"),
    };
    assert!(
        !(group.is_empty() && resource == "secrets"),
        "allowed a Secret: {path}"
    );
    let after_namespace = if namespace.is_some() {
        rest.len() - 2
    } else {
        rest.len()
    };
    assert!(after_namespace <= 2, "allowed a subresource: {path}");
    let granted = GRANTS.iter().enumerate().any(|(i, g)| {
        if input.grants & (1 << i) == 0 {
            return false;
        }
        let (what, ns) = g.split_once('@').map_or((*g, None), |(w, n)| (w, Some(n)));
        let (g_group, g_resource) = what.split_once('/').unwrap_or(("", what));
        g_group == group
            && (g_resource == resource || g_resource == "*")
            && (ns.is_none() || ns == namespace)
    });
    assert!(
        granted,
        "allowed {verb} {path} with grants {:#010b}",
        input.grants
    );
});

//! `vitals rbac`: the least-privilege Kubernetes RBAC that a configuration needs.
//!
//! Derived from the checks' `[grants] kubernetes` alone: `get` and `list` on exactly
//! the granted resources, cluster-wide in a ClusterRole, and `resource@namespace`
//! grants in a Role of that namespace. Never a write verb, never a `*` verb, never
//! Secrets (grants cannot name them).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use vitals_core::config::Check;
use vitals_core::grants::ResourceGrant;

/// The only verbs vitals ever needs: the Kubernetes capability is read-only.
pub const VERBS: [&str; 2] = ["get", "list"];

/// Who the rules are for.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Name of the roles and bindings.
    pub name: String,
    /// Namespace of the service account.
    pub namespace: String,
    pub service_account: String,
}

/// Resources by API group (`""` for the core group); `*` stands for the whole group.
type ByGroup = BTreeMap<String, BTreeSet<String>>;

/// The rules for a set of grants: cluster-wide ones, and per namespace those that
/// the cluster-wide ones do not already cover.
#[derive(Debug, Default, PartialEq)]
pub struct Rules {
    pub cluster: Vec<PolicyRule>,
    pub namespaced: BTreeMap<String, Vec<PolicyRule>>,
}

impl Rules {
    /// The rules for these grants.
    pub fn of<'a>(grants: impl IntoIterator<Item = &'a ResourceGrant>) -> Rules {
        let mut cluster = ByGroup::new();
        let mut namespaced: BTreeMap<String, ByGroup> = BTreeMap::new();
        for g in grants {
            let into = match &g.namespace {
                None => &mut cluster,
                Some(ns) => namespaced.entry(ns.clone()).or_default(),
            };
            into.entry(g.group.clone())
                .or_default()
                .insert(g.resource.clone());
        }
        let covered = |group: &str, resource: &str| {
            cluster
                .get(group)
                .is_some_and(|r| r.contains("*") || r.contains(resource))
        };
        let namespaced = namespaced
            .into_iter()
            .map(|(ns, groups)| {
                let groups: ByGroup = groups
                    .into_iter()
                    .map(|(group, resources)| {
                        let left = resources
                            .into_iter()
                            .filter(|r| !covered(&group, r))
                            .collect::<BTreeSet<_>>();
                        (group, left)
                    })
                    .filter(|(_, r)| !r.is_empty())
                    .collect();
                (ns, rules(groups))
            })
            .filter(|(_, rules)| !rules.is_empty())
            .collect();
        Rules {
            cluster: rules(cluster),
            namespaced,
        }
    }

    /// The rules the checks' grants call for.
    pub fn of_checks<'a>(checks: impl IntoIterator<Item = &'a Check>) -> Rules {
        Rules::of(checks.into_iter().flat_map(|c| c.kube_grants.iter()))
    }

    pub fn is_empty(&self) -> bool {
        self.cluster.is_empty() && self.namespaced.is_empty()
    }

    /// The Kubernetes objects: a ClusterRole and its binding when there are
    /// cluster-wide rules, a Role and its binding per namespace.
    pub fn manifests(&self, who: &Identity) -> Vec<serde_json::Value> {
        let meta = |namespace: Option<&str>| ObjectMeta {
            name: Some(who.name.clone()),
            namespace: namespace.map(str::to_owned),
            labels: Some(BTreeMap::from([
                ("app.kubernetes.io/name".to_string(), "vitals".to_string()),
                (
                    "app.kubernetes.io/managed-by".to_string(),
                    "vitals-rbac".to_string(),
                ),
            ])),
            ..Default::default()
        };
        let subjects = Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: who.service_account.clone(),
            namespace: Some(who.namespace.clone()),
            ..Default::default()
        }]);
        let role_ref = |kind: &str| RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: kind.into(),
            name: who.name.clone(),
        };
        let value = |v: Result<serde_json::Value, serde_json::Error>| {
            v.expect("RBAC objects serialise to JSON")
        };
        let mut out = Vec::new();
        if !self.cluster.is_empty() {
            out.push(value(serde_json::to_value(ClusterRole {
                metadata: meta(None),
                rules: Some(self.cluster.clone()),
                ..Default::default()
            })));
            out.push(value(serde_json::to_value(ClusterRoleBinding {
                metadata: meta(None),
                role_ref: role_ref("ClusterRole"),
                subjects: subjects.clone(),
            })));
        }
        for (ns, rules) in &self.namespaced {
            out.push(value(serde_json::to_value(Role {
                metadata: meta(Some(ns)),
                rules: Some(rules.clone()),
            })));
            out.push(value(serde_json::to_value(RoleBinding {
                metadata: meta(Some(ns)),
                role_ref: role_ref("Role"),
                subjects: subjects.clone(),
            })));
        }
        out
    }
}

/// One rule per API group, resources sorted.
fn rules(groups: ByGroup) -> Vec<PolicyRule> {
    groups
        .into_iter()
        .map(|(group, resources)| PolicyRule {
            api_groups: Some(vec![group]),
            resources: Some(if resources.contains("*") {
                vec!["*".to_string()]
            } else {
                resources.into_iter().collect()
            }),
            verbs: VERBS.iter().map(|v| v.to_string()).collect(),
            ..Default::default()
        })
        .collect()
}

/// The YAML stream for `kubectl apply -f -`, with a header saying what it is for.
pub fn render(checks: &[&Check], who: &Identity) -> Result<String, String> {
    let rules = Rules::of_checks(checks.iter().copied());
    let mut out = String::from(
        "# Least-privilege RBAC for vitals (generated by `vitals rbac`): get and list\n\
         # on exactly the resources the checks are granted, no write verbs, no Secrets.\n",
    );
    for c in checks.iter().filter(|c| !c.kube_grants.is_empty()) {
        let grants: Vec<String> = c.kube_grants.iter().map(|g| g.to_string()).collect();
        out.push_str(&format!("#   check {}: {}\n", c.name, grants.join(", ")));
    }
    if rules.is_empty() {
        out.push_str("# No check is granted Kubernetes resources: nothing to bind.\n");
        return Ok(out);
    }
    out.push_str(&format!(
        "# For the service account {}/{} (kubectl -n {} create serviceaccount {}).\n",
        who.namespace, who.service_account, who.namespace, who.service_account
    ));
    let yaml = serde_saphyr::to_string_multiple(&rules.manifests(who))
        .map_err(|e| format!("cannot write the RBAC as YAML: {e}"))?;
    out.push_str("---\n");
    out.push_str(&yaml);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(list: &[&str]) -> Vec<ResourceGrant> {
        list.iter()
            .map(|g| ResourceGrant::parse(g).unwrap())
            .collect()
    }

    fn rule(group: &str, resources: &[&str]) -> PolicyRule {
        PolicyRule {
            api_groups: Some(vec![group.into()]),
            resources: Some(resources.iter().map(|r| r.to_string()).collect()),
            verbs: vec!["get".into(), "list".into()],
            ..Default::default()
        }
    }

    #[test]
    fn one_rule_per_group_and_a_role_per_namespace_not_already_covered() {
        let r = Rules::of(&grants(&[
            "nodes",
            "pods",
            "nodes",
            "coordination.k8s.io/leases@kube-node-lease",
            "cilium.io/ciliuml2announcementpolicies",
            "cilium.io/*",
            "configmaps@kube-system",
            "pods@kube-system",
            "cilium.io/ciliumnodes@kube-system",
        ]));
        assert_eq!(
            r.cluster,
            vec![rule("", &["nodes", "pods"]), rule("cilium.io", &["*"])]
        );
        assert_eq!(
            r.namespaced,
            BTreeMap::from([
                (
                    "kube-node-lease".to_string(),
                    vec![rule("coordination.k8s.io", &["leases"])]
                ),
                ("kube-system".to_string(), vec![rule("", &["configmaps"])]),
            ])
        );
    }

    #[test]
    fn manifests_bind_the_service_account_and_use_only_read_verbs() {
        let who = Identity {
            name: "vitals-reader".into(),
            namespace: "monitoring".into(),
            service_account: "vitals".into(),
        };
        let r = Rules::of(&grants(&[
            "nodes",
            "coordination.k8s.io/leases@kube-node-lease",
        ]));
        let docs = r.manifests(&who);
        let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]
        );
        assert_eq!(docs[2]["metadata"]["namespace"], "kube-node-lease");
        for binding in [&docs[1], &docs[3]] {
            assert_eq!(binding["subjects"][0]["name"], "vitals");
            assert_eq!(binding["subjects"][0]["namespace"], "monitoring");
            assert_eq!(binding["roleRef"]["name"], "vitals-reader");
        }
        for role in [&docs[0], &docs[2]] {
            for rule in role["rules"].as_array().unwrap() {
                assert_eq!(rule["verbs"], serde_json::json!(["get", "list"]));
            }
        }
        assert!(Rules::of(&grants(&[])).manifests(&who).is_empty());
    }
}

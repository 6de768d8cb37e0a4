//! The configuration loaded in-process from a table of files: each row is a
//! `vitals.toml`, its check files, and the outcome (a check of the result, or
//! an error's `file:line` and a fragment of its message).

use std::time::Duration;

use super::*;

/// What loading a row's files gives.
enum Expect {
    /// A configuration, checked by the function.
    Loads(fn(&Config)),
    /// An error at `file:line` (`file` alone for a whole-file error) whose
    /// message contains the fragment.
    Fails(&'static str, &'static str),
}

use Expect::{Fails, Loads};

/// What the row is about, `vitals.toml`, the check files (name, text), and
/// the outcome. In `vitals.toml`, `{http}` stands for [`HTTP`], `{e}` for the
/// header of endpoint `e` of cluster `c` (so `kind` is on line 2), and
/// `{token}`, `{password}` and `{kubeconfig}` for the absolute paths of [`Files`].
type Row = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Expect,
);

/// Cluster `local` with the http endpoint `etcd`, on lines 1 to 3.
const HTTP: &str =
    "[clusters.local.endpoints.etcd]\nkind = \"http\"\nurls = [\"http://127.0.0.1:9\"]\n";

/// A check granted `etcd`.
const CHECK: &str = "plugin = \"etcd\"\n[grants]\nendpoints = [\"etcd\"]\n";

const ROWS: &[Row] = &[
    // vitals.toml as a whole, and [defaults]
    (
        "TOML syntax error",
        "{http}concurrency = = 3\n",
        &[],
        Fails("vitals.toml:4", "extra `=`, expected nothing"),
    ),
    (
        "unknown key in an endpoint",
        "{http}ca_flie = \"x\"\n",
        &[],
        Fails("vitals.toml:4", "unknown field `ca_flie`"),
    ),
    (
        "unknown top-level key",
        "plugins_dir = \"p\"\n",
        &[],
        Fails("vitals.toml:1", "unknown field `plugins_dir`"),
    ),
    (
        "concurrency 0",
        "concurrency = 0\n",
        &[],
        Fails("vitals.toml:1", "`concurrency` must be between 1 and 1024"),
    ),
    (
        "a top-level key after a table belongs to the table",
        "{http}\n[clusters.b]\n\nconcurrency = 4000000000000000000\n",
        &[],
        Fails("vitals.toml:7", "unknown field `concurrency`"),
    ),
    (
        "concurrency above the maximum",
        "concurrency = 4000000000000000000\n{http}",
        &[],
        Fails("vitals.toml:1", "`concurrency` must be between 1 and 1024"),
    ),
    (
        "defaults.timeout not a duration",
        "[defaults]\ntimeout = \"soon\"\n",
        &[],
        Fails(
            "vitals.toml:2",
            "`defaults.timeout`: invalid duration \"soon\"",
        ),
    ),
    (
        "defaults.interval zero",
        "[defaults]\ninterval = \"0s\"\n",
        &[],
        Fails(
            "vitals.toml:2",
            "`defaults.interval`: \"0s\" must be more than 0",
        ),
    ),
    (
        "defaults.retries too large",
        "[defaults]\nretries = 11\n",
        &[],
        Fails("vitals.toml:2", "`defaults.retries`: 11 is more than 10"),
    ),
    (
        "defaults.memory_limit too small",
        "[defaults]\nmemory_limit = \"512KiB\"\n",
        &[],
        Fails(
            "vitals.toml:2",
            "`defaults.memory_limit`: 512.0 KiB is out of range",
        ),
    ),
    (
        "defaults.output_limit too large",
        "[defaults]\n\noutput_limit = \"32MiB\"\n",
        &[],
        Fails(
            "vitals.toml:3",
            "`defaults.output_limit`: 32.0 MiB is out of range (0 B to 16.0 MiB)",
        ),
    ),
    // endpoints, shared rules
    (
        "unknown kind",
        "{e}kind = \"ftp\"\nurls = [\"ftp://h:21\"]\n",
        &[],
        Fails(
            "vitals.toml:2",
            "`clusters.c.endpoints.e.kind`: unknown endpoint kind \"ftp\" (supported: http, redis, mysql, kubernetes, dns)",
        ),
    ),
    (
        "no urls",
        "{e}kind = \"http\"\n",
        &[],
        Fails(
            "vitals.toml:2",
            "`clusters.c.endpoints.e.urls`: at least one URL is required",
        ),
    ),
    (
        "empty urls",
        "{e}kind = \"mysql\"\nurls = []\n",
        &[],
        Fails(
            "vitals.toml:3",
            "`clusters.c.endpoints.e.urls`: at least one URL is required",
        ),
    ),
    (
        "invalid URL",
        "{e}kind = \"http\"\nurls = [\"http://exa mple\"]\n",
        &[],
        Fails(
            "vitals.toml:3",
            "`clusters.c.endpoints.e.urls`: invalid URL \"http://exa mple\"",
        ),
    ),
    (
        "wrong scheme for http",
        "{e}kind = \"http\"\nurls = [\"ftp://h:21\"]\n",
        &[],
        Fails(
            "vitals.toml:3",
            "`clusters.c.endpoints.e.urls`: \"ftp://h:21\" must be an absolute http:// or https:// URL",
        ),
    ),
    (
        "relative URL",
        "{e}kind = \"http\"\nurls = [\n  \"https://h:1\",\n  \"/metrics\",\n]\n",
        &[],
        Fails(
            "vitals.toml:5",
            "\"/metrics\" must be an absolute http:// or https:// URL",
        ),
    ),
    (
        "credentials in an http URL",
        "{e}kind = \"http\"\nurls = [\"https://root:hunter2@127.0.0.1:2379\"]\n",
        &[],
        Fails(
            "vitals.toml:3",
            "`clusters.c.endpoints.e.urls`: credentials do not belong in a URL (use username and password_env/password_file)",
        ),
    ),
    (
        "query in a URL",
        "{e}kind = \"http\"\nurls = [\"http://h:1/?a=b\"]\n",
        &[],
        Fails(
            "vitals.toml:3",
            "\"http://h:1/?a=b\": a base URL takes no query",
        ),
    ),
    (
        "cert_file without key_file",
        "{e}kind = \"http\"\nurls = [\"https://h:1\"]\ncert_file = \"c.pem\"\n",
        &[],
        Fails(
            "vitals.toml:4",
            "`clusters.c.endpoints.e`: `cert_file` and `key_file` go together",
        ),
    ),
    (
        "key_file without cert_file",
        "{e}kind = \"http\"\nurls = [\"https://h:1\"]\n\nkey_file = \"k.pem\"\n",
        &[],
        Fails("vitals.toml:5", "`cert_file` and `key_file` go together"),
    ),
    (
        "missing ca_file",
        "{e}kind = \"http\"\nurls = [\"https://h:1\"]\nca_file = \"/nonexistent/ca.pem\"\n",
        &[],
        Fails("vitals.toml:4", "/nonexistent/ca.pem"),
    ),
    (
        "bearer token and password",
        "{e}kind = \"http\"\nurls = [\"https://h:1\"]\nbearer_token_file = {token}\nusername = \"u\"\npassword_file = {password}\n",
        &[],
        Fails(
            "vitals.toml:2",
            "`clusters.c.endpoints.e`: use either a bearer token or username and password",
        ),
    ),
    (
        "bearer_token_env and bearer_token_file",
        "{e}kind = \"http\"\nurls = [\"https://h:1\"]\nbearer_token_env = \"X\"\nbearer_token_file = {token}\n",
        &[],
        Fails(
            "vitals.toml:4",
            "`clusters.c.endpoints.e`: give `bearer_token_env` or `bearer_token_file`, not both",
        ),
    ),
    (
        "password_env naming an unset variable",
        "{e}kind = \"http\"\nurls = [\"https://h:1\"]\nusername = \"u\"\npassword_env = \"VITALS_TEST_UNSET\"\n",
        &[],
        Fails(
            "vitals.toml:5",
            "`clusters.c.endpoints.e.password_env`: environment variable VITALS_TEST_UNSET is not set",
        ),
    ),
    (
        "missing password_file",
        "{e}kind = \"http\"\nurls = [\"https://h:1\"]\nusername = \"u\"\npassword_file = \"/nonexistent/pw\"\n",
        &[],
        Fails(
            "vitals.toml:5",
            "`clusters.c.endpoints.e.password_file`: cannot read /nonexistent/pw",
        ),
    ),
    (
        "username without a password",
        "{e}kind = \"http\"\nurls = [\"https://h:1\"]\nusername = \"u\"\n",
        &[],
        Fails(
            "vitals.toml:2",
            "`clusters.c.endpoints.e`: `username` needs `password_env` or `password_file`",
        ),
    ),
    (
        "connect_timeout zero",
        "{e}kind = \"mysql\"\nurls = [\"mysql://h:3306\"]\nconnect_timeout = \"0s\"\n",
        &[],
        Fails(
            "vitals.toml:4",
            "`clusters.c.endpoints.e.connect_timeout`: \"0s\" must be more than 0 and at most 7 days",
        ),
    ),
    // http
    (
        "query_timeout on http",
        "{e}kind = \"http\"\nurls = [\"https://h:1\"]\nquery_timeout = \"1s\"\n",
        &[],
        Fails(
            "vitals.toml:4",
            "`clusters.c.endpoints.e.query_timeout` applies to redis, mysql, kubernetes and dns endpoints",
        ),
    ),
    (
        "kubeconfig on http",
        "{e}kind = \"http\"\nurls = [\"https://h:1\"]\nkubeconfig = \"k\"\n",
        &[],
        Fails(
            "vitals.toml:4",
            "`clusters.c.endpoints.e.kubeconfig` applies to kubernetes endpoints",
        ),
    ),
    // redis
    (
        "redis without a port",
        "{e}kind = \"redis\"\nurls = [\"redis://127.0.0.1\"]\n",
        &[],
        Fails(
            "vitals.toml:3",
            "`clusters.c.endpoints.e.urls`: \"redis://127.0.0.1\" needs a port (redis://host:6379, a sentinel redis://host:26379)",
        ),
    ),
    (
        "redis TLS files with redis://",
        "{e}kind = \"redis\"\nurls = [\"rediss://h:6379\", \"redis://h:6379\"]\nca_file = \"/etc/hostname\"\n",
        &[],
        Fails(
            "vitals.toml:2",
            "`clusters.c.endpoints.e`: TLS files are given but redis://h:6379/ is not a rediss:// URL",
        ),
    ),
    (
        "redis with an http URL",
        "{e}kind = \"redis\"\nurls = [\"http://127.0.0.1:6379\"]\n",
        &[],
        Fails(
            "vitals.toml:3",
            "\"http://127.0.0.1:6379\" must be an absolute redis:// or rediss:// URL",
        ),
    ),
    (
        "credentials in a redis URL",
        "{e}kind = \"redis\"\nurls = [\"redis://:pw@127.0.0.1:6379\"]\n",
        &[],
        Fails("vitals.toml:3", "credentials do not belong in a URL"),
    ),
    (
        "redis with a bearer token",
        "{e}kind = \"redis\"\nurls = [\"redis://h:6379\"]\nbearer_token_file = {token}\n",
        &[],
        Fails(
            "vitals.toml:2",
            "`clusters.c.endpoints.e`: a redis endpoint takes `password_env`/`password_file` (and `username` for an ACL user), not a bearer token",
        ),
    ),
    (
        "redis password_env naming an unset variable",
        "{e}kind = \"redis\"\nurls = [\"redis://h:6379\"]\npassword_env = \"VITALS_TEST_UNSET\"\n",
        &[],
        Fails(
            "vitals.toml:4",
            "environment variable VITALS_TEST_UNSET is not set",
        ),
    ),
    (
        "redis query_timeout not a duration",
        "{e}kind = \"redis\"\nurls = [\"redis://h:6379\"]\nquery_timeout = \"forever\"\n",
        &[],
        Fails(
            "vitals.toml:4",
            "`clusters.c.endpoints.e.query_timeout`: invalid duration \"forever\"",
        ),
    ),
    (
        "context on redis",
        "{e}kind = \"redis\"\nurls = [\"redis://h:6379\"]\ncontext = \"a\"\n",
        &[],
        Fails(
            "vitals.toml:4",
            "`clusters.c.endpoints.e.context` applies to kubernetes endpoints",
        ),
    ),
    // mysql
    (
        "mysql without username",
        "{e}kind = \"mysql\"\nurls = [\"mysql://h:3306\"]\npassword_file = {password}\n",
        &[],
        Fails(
            "vitals.toml:2",
            "`clusters.c.endpoints.e`: a mysql endpoint takes `username` and `password_env`/`password_file`",
        ),
    ),
    (
        "mysql with a bearer token",
        "{e}kind = \"mysql\"\nurls = [\"mysql://h:3306\"]\nusername = \"u\"\nbearer_token_file = {token}\n",
        &[],
        Fails(
            "vitals.toml:2",
            "a mysql endpoint takes `username` and `password_env`/`password_file`",
        ),
    ),
    (
        "mysql with an https URL",
        "{e}kind = \"mysql\"\nurls = [\"https://h:3306\"]\n",
        &[],
        Fails("vitals.toml:3", "must be an absolute mysql:// URL"),
    ),
    (
        "in_cluster on mysql",
        "{e}kind = \"mysql\"\nurls = [\"mysql://h:3306\"]\nin_cluster = false\n",
        &[],
        Fails(
            "vitals.toml:4",
            "`clusters.c.endpoints.e.in_cluster` applies to kubernetes endpoints",
        ),
    ),
    // dns
    (
        "dns resolver by name",
        "{e}kind = \"dns\"\nurls = [\"dns://kube-dns.kube-system:53\"]\n",
        &[],
        Fails(
            "vitals.toml:3",
            "a resolver is named by its IP address (dns://10.43.0.10, dns://[fd00::a]:53)",
        ),
    ),
    (
        "dns with a udp URL",
        "{e}kind = \"dns\"\nurls = [\"udp://10.43.0.10:53\"]\n",
        &[],
        Fails("vitals.toml:3", "must be an absolute dns:// URL"),
    ),
    (
        "dns with a password",
        "{e}kind = \"dns\"\nurls = [\"dns://10.43.0.10\"]\npassword_file = {password}\n",
        &[],
        Fails("vitals.toml:2", "a dns endpoint takes no credentials"),
    ),
    (
        "dns with TLS files",
        "{e}kind = \"dns\"\nurls = [\"dns://10.43.0.10\"]\nca_file = \"/etc/hostname\"\n",
        &[],
        Fails("vitals.toml:2", "a dns endpoint takes no TLS files"),
    ),
    // kubernetes
    (
        "kubernetes with urls",
        "{e}kind = \"kubernetes\"\nkubeconfig = {kubeconfig}\nurls = [\"https://h:6443\"]\n",
        &[],
        Fails(
            "vitals.toml:4",
            "`clusters.c.endpoints.e.urls`: a kubernetes endpoint takes its server, CA and credentials from `kubeconfig` (and `context`) or `in_cluster = true`",
        ),
    ),
    (
        "kubernetes with a password",
        "{e}kind = \"kubernetes\"\npassword_env = \"HOME\"\n",
        &[],
        Fails(
            "vitals.toml:3",
            "`clusters.c.endpoints.e.password_env`: a kubernetes endpoint takes",
        ),
    ),
    (
        "kubernetes with a username",
        "{e}kind = \"kubernetes\"\nkubeconfig = {kubeconfig}\nusername = \"u\"\n",
        &[],
        Fails(
            "vitals.toml:2",
            "`clusters.c.endpoints.e.username`: a kubernetes endpoint takes its user from the kubeconfig context",
        ),
    ),
    (
        "kubernetes with kubeconfig and in_cluster",
        "{e}kind = \"kubernetes\"\nkubeconfig = {kubeconfig}\nin_cluster = true\n",
        &[],
        Fails(
            "vitals.toml:3",
            "`clusters.c.endpoints.e`: give `kubeconfig` or `in_cluster = true`, not both",
        ),
    ),
    (
        "kubeconfig without the context",
        "{e}kind = \"kubernetes\"\nkubeconfig = {kubeconfig}\ncontext = \"nope\"\n",
        &[],
        Fails("vitals.toml:3", "no context \"nope\" (contexts: a, b)"),
    ),
    (
        "kubeconfig context whose cluster has no server",
        "{e}kind = \"kubernetes\"\ncontext = \"b\"\nkubeconfig = {kubeconfig}\n",
        &[],
        Fails(
            "vitals.toml:4",
            "context \"b\" names cluster \"two\", which has no server",
        ),
    ),
    (
        "missing kubeconfig",
        "{e}kind = \"kubernetes\"\nkubeconfig = \"/nonexistent/kubeconfig\"\n",
        &[],
        Fails(
            "vitals.toml:3",
            "`clusters.c.endpoints.e`: kubeconfig /nonexistent/kubeconfig",
        ),
    ),
    // check files
    (
        "unknown key in a check",
        "{http}",
        &[("c", "plugin = \"etcd\"\n\ntiemout = \"5s\"\n")],
        Fails("checks.d/c.toml:3", "unknown field `tiemout`"),
    ),
    (
        "check without plugin",
        "{http}",
        &[("c", "[grants]\nendpoints = [\"etcd\"]\n")],
        Fails("checks.d/c.toml:1", "missing field `plugin`"),
    ),
    (
        "check key of the wrong type",
        "{http}",
        &[("c", "plugin = \"etcd\"\nenabled = \"yes\"\n")],
        Fails(
            "checks.d/c.toml:2",
            "invalid type: string \"yes\", expected a boolean",
        ),
    ),
    (
        "bad check name",
        "{http}",
        &[("c", "name = \"a b\"\nplugin = \"etcd\"\n")],
        Fails(
            "checks.d/c.toml:1",
            "`name`: \"a b\" must be non-empty and use only letters, digits, '-', '_' and '.'",
        ),
    ),
    (
        "bad check file name",
        "{http}",
        &[("bad name", "\nplugin = \"etcd\"\n")],
        Fails(
            "checks.d/bad name.toml:1",
            "`name`: \"bad name\" must be non-empty",
        ),
    ),
    (
        "grant of an unknown endpoint",
        "{http}",
        &[(
            "c",
            "plugin = \"etcd\"\n[grants]\nendpoints = [\"redis\"]\n",
        )],
        Fails(
            "checks.d/c.toml:3",
            "`grants.endpoints`: no cluster defines an endpoint named \"redis\"",
        ),
    ),
    (
        "kubernetes grant without a kubernetes endpoint",
        "{http}",
        &[(
            "c",
            "plugin = \"k\"\n[grants]\nendpoints = [\"etcd\"]\nkubernetes = [\"nodes\"]\n",
        )],
        Fails(
            "checks.d/c.toml:4",
            "`grants.kubernetes`: grant a kubernetes endpoint in `grants.endpoints` too",
        ),
    ),
    (
        "bad kubernetes grant",
        "{http}",
        &[(
            "c",
            "plugin = \"k\"\n[grants]\nkubernetes = [\"nodes\", \"Pods\"]\n",
        )],
        Fails(
            "checks.d/c.toml:3",
            "`grants.kubernetes`: \"Pods\": expected `resource`, `group/resource` or `group/*`",
        ),
    ),
    (
        "secrets grant",
        "{http}",
        &[(
            "c",
            "plugin = \"k\"\n[grants]\nkubernetes = [\n  \"secrets@default\",\n]\n",
        )],
        Fails(
            "checks.d/c.toml:4",
            "`grants.kubernetes`: \"secrets@default\": plugins never read Secrets",
        ),
    ),
    (
        "every core resource",
        "{http}",
        &[("c", "plugin = \"k\"\n[grants]\nkubernetes = [\"*\"]\n")],
        Fails("checks.d/c.toml:3", "name the core resources one by one"),
    ),
    (
        "bad net CIDR",
        "{http}",
        &[(
            "c",
            "plugin = \"n\"\n[grants.net]\ntcp = [\"10.0.0.0/33\"]\n",
        )],
        Fails(
            "checks.d/c.toml:3",
            "`grants.net.tcp`: \"10.0.0.0/33\": expected an address or a CIDR such as 10.20.0.0/24",
        ),
    ),
    (
        "IPv6 ARP network",
        "{http}",
        &[(
            "c",
            "plugin = \"n\"\n[grants.net]\narp = [\"10.0.0.0/24\",\n  \"fd00::/64\"]\n",
        )],
        Fails(
            "checks.d/c.toml:4",
            "`grants.net.arp`: ARP is for IPv4 networks",
        ),
    ),
    (
        "net timeout not a duration",
        "{http}",
        &[(
            "c",
            "plugin = \"n\"\n[grants.net]\ntimeout = \"1 parsec\"\n",
        )],
        Fails(
            "checks.d/c.toml:3",
            "`grants.net.timeout`: invalid duration \"1 parsec\"",
        ),
    ),
    (
        "unknown cluster",
        "{http}",
        &[("c", "plugin = \"etcd\"\nclusters = [\"prod\"]\n")],
        Fails(
            "checks.d/c.toml:2",
            "`clusters`: unknown cluster \"prod\" (defined: local)",
        ),
    ),
    (
        "cluster lacking a granted endpoint",
        "{http}[clusters.bare]\n",
        &[(
            "c",
            "plugin = \"etcd\"\nclusters = [\"local\", \"bare\"]\n[grants]\nendpoints = [\"etcd\"]\n",
        )],
        Fails(
            "checks.d/c.toml:2",
            "`clusters`: cluster \"bare\" has no endpoint \"etcd\" granted to this check",
        ),
    ),
    (
        "timeout not a duration",
        "{http}",
        &[("c", "plugin = \"etcd\"\ntimeout = \"soon\"\n")],
        Fails(
            "checks.d/c.toml:2",
            "`timeout`: invalid duration \"soon\": ",
        ),
    ),
    (
        "timeout of 300000000000 years",
        "{http}",
        &[("c", "plugin = \"etcd\"\ntimeout = \"300000000000y\"\n")],
        Fails("checks.d/c.toml:2", "at most 7 days"),
    ),
    (
        "interval of 8 days",
        "{http}",
        &[("c", "plugin = \"etcd\"\n\ninterval = \"8d\"\n")],
        Fails(
            "checks.d/c.toml:3",
            "`interval`: \"8d\" must be more than 0 and at most 7 days",
        ),
    ),
    (
        "retries too large",
        "{http}",
        &[("c", "plugin = \"etcd\"\nretries = 50\n")],
        Fails("checks.d/c.toml:2", "`retries`: 50 is more than 10"),
    ),
    (
        "retry_delay zero",
        "{http}",
        &[("c", "plugin = \"etcd\"\nretry_delay = \"0s\"\n")],
        Fails(
            "checks.d/c.toml:2",
            "`retry_delay`: \"0s\" must be more than 0",
        ),
    ),
    (
        "memory_limit out of range",
        "{http}",
        &[("c", "plugin = \"etcd\"\nmemory_limit = \"64TiB\"\n")],
        Fails(
            "checks.d/c.toml:2",
            "`memory_limit`: 64.0 TiB is out of range (1.0 MiB to 4.0 GiB)",
        ),
    ),
    (
        "a sha256 that is not a digest",
        "{http}",
        &[("c", "plugin = \"etcd\"\n\nsha256 = \"abc\"\n")],
        Fails(
            "checks.d/c.toml:3",
            "`sha256`: \"abc\" is not a SHA-256 digest (64 hexadecimal digits",
        ),
    ),
    (
        "one plugin pinned to two digests",
        "{http}",
        &[
            (
                "a",
                "plugin = \"etcd\"\nsha256 = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n",
            ),
            (
                "b",
                "plugin = \"etcd\"\nsha256 = \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n",
            ),
        ],
        Fails(
            "checks.d/b.toml",
            "is pinned to aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa by ",
        ),
    ),
    (
        "duplicate check name",
        "{http}",
        &[
            ("a", "name = \"x\"\nplugin = \"etcd\"\n"),
            ("b", "name = \"x\"\nplugin = \"etcd\"\n"),
        ],
        Fails("checks.d/b.toml", "check name \"x\" is already used by "),
    ),
    // configurations that load
    ("nothing", "", &[], Loads(nothing)),
    (
        "an http check with the defaults",
        "plugin_dir = \"p\"\n{http}",
        &[("etcd-health", CHECK)],
        Loads(http_check_with_the_defaults),
    ),
    (
        "defaults, and a check's own settings",
        "concurrency = 4\ncache_dir = \"\"\n[defaults]\ntimeout = \"10s\"\nretries = 2\noutput_limit = \"1MiB\"\n{http}",
        &[
            (
                "a",
                "name = \"renamed\"\nplugin = \"../x.wasm\"\nsha256 = \"ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB\"\nretries = 3\nmemory_limit = \"128MiB\"\nenabled = false\nclusters = []\n",
            ),
            (
                "b",
                "plugin = \"etcd\"\n[params]\nwhere = \"here\"\n\nn = 3\n",
            ),
        ],
        Loads(defaults_and_overrides),
    ),
    (
        "credentials of each kind",
        "cache_dir = \"cache\"\n[clusters.c.endpoints.web]\nkind = \"http\"\nurls = [\"https://h:1\"]\nbearer_token_file = {token}\n[clusters.c.endpoints.cache]\nkind = \"redis\"\nurls = [\"redis://h:26379\", \"redis://h2:26379\"]\npassword_file = {password}\nquery_timeout = \"2s\"\n[clusters.c.endpoints.acl]\nkind = \"redis\"\nurls = [\"rediss://h:6379\"]\nusername = \"u\"\npassword_file = {password}\n[clusters.c.endpoints.db]\nkind = \"mysql\"\nurls = [\"mysql://h:3306\"]\nusername = \"monitor\"\n[clusters.c.endpoints.coredns]\nkind = \"dns\"\nurls = [\"dns://10.43.0.10\", \"dns://[fd00::a]:5353\"]\nquery_timeout = \"500ms\"\n",
        &[],
        Loads(credentials_of_each_kind),
    ),
    (
        "a kubernetes endpoint and grants",
        "{http}[clusters.k8s.endpoints.api]\nkind = \"kubernetes\"\nkubeconfig = {kubeconfig}\ncontext = \"a\"\nquery_timeout = \"3s\"\n",
        &[(
            "k",
            "plugin = \"k\"\n[grants]\nendpoints = [\"api\"]\nkubernetes = [\"nodes\", \"coordination.k8s.io/leases@kube-system\"]\n[grants.net]\ntcp = [\"10.0.0.0/24\", \"fd00::1\"]\narp = [\"192.168.1.0/24\"]\ninterface = \"eth0\"\ntimeout = \"250ms\"\n",
        )],
        Loads(kubernetes_endpoint_and_grants),
    ),
    (
        "the clusters a check names, and a plugin by path",
        "{http}[clusters.b]\ndescription = \"second\"\n[clusters.b.endpoints.etcd]\nkind = \"http\"\nurls = [\"https://h:2\"]\n",
        &[
            (
                "c",
                "plugin = \"dir/x\"\nclusters = [\"b\"]\n[grants]\nendpoints = [\"etcd\"]\n",
            ),
            ("d", CHECK),
        ],
        Loads(named_clusters_and_plugin_path),
    ),
];

fn nothing(cfg: &Config) {
    assert_eq!(cfg.concurrency, 128);
    assert!(cfg.clusters.is_empty() && cfg.checks.is_empty());
}

fn http_check_with_the_defaults(cfg: &Config) {
    let c = &cfg.checks[0];
    assert_eq!(c.name, "etcd-health");
    assert_eq!(c.plugin, cfg.dir.join("p/etcd.wasm"));
    assert_eq!(
        (&c.clusters[..], &c.grants[..]),
        (&["local".to_string()][..], &["etcd".to_string()][..])
    );
    assert_eq!(
        (c.timeout, c.interval, c.retries, c.retry_delay),
        (DEFAULT_TIMEOUT, DEFAULT_INTERVAL, 0, DEFAULT_RETRY_DELAY)
    );
    assert_eq!(
        (c.memory_limit, c.output_limit),
        (DEFAULT_MEMORY_LIMIT, DEFAULT_OUTPUT_LIMIT)
    );
    assert!(c.enabled && c.params.is_empty() && c.kube_grants.is_empty());
    let e = &cfg.clusters["local"].endpoints["etcd"];
    assert_eq!((e.name.as_str(), e.kind), ("etcd", EndpointKind::Http));
    assert_eq!(e.urls[0].to_string(), "http://127.0.0.1:9/");
    assert!(e.tls.is_none() && e.auth.is_none() && e.kube.is_none());
    assert_eq!(
        (e.connect_timeout, e.query_timeout),
        (DEFAULT_CONNECT_TIMEOUT, DEFAULT_QUERY_TIMEOUT)
    );
}

fn defaults_and_overrides(cfg: &Config) {
    assert_eq!((cfg.concurrency, &cfg.cache_dir), (4, &None));
    let [a, b] = &cfg.checks[..] else {
        panic!("two checks")
    };
    assert_eq!(a.name, "renamed");
    assert_eq!(a.plugin, cfg.dir.join("checks.d/../x.wasm"));
    assert_eq!((a.timeout, a.retries), (Duration::from_secs(10), 3));
    assert_eq!((a.memory_limit, a.output_limit), (128 << 20, 1 << 20));
    assert!(!a.enabled && a.clusters.is_empty());
    let pin = a.pin.as_ref().expect("pinned");
    assert_eq!(
        pin.sha256, "abababababababababababababababababababababababababababababababab",
        "lowercased"
    );
    assert_eq!(pin.file, cfg.dir.join("checks.d/a.toml"));
    assert_eq!(b.pin, None);
    assert_eq!((b.name.as_str(), b.retries), ("b", 2));
    assert_eq!(b.clusters, ["local"], "no grants: every cluster");
    assert_eq!(b.params["where"], "here");
    assert_eq!(b.param_lines["n"], 5);
}

fn named_clusters_and_plugin_path(cfg: &Config) {
    assert_eq!(cfg.clusters["b"].description.as_deref(), Some("second"));
    let [c, d] = &cfg.checks[..] else {
        panic!("two checks")
    };
    assert_eq!(c.clusters, ["b"]);
    assert_eq!(c.plugin, cfg.dir.join("checks.d/dir/x"));
    assert_eq!(
        d.clusters,
        ["b", "local"],
        "every cluster with the endpoint"
    );
}

fn credentials_of_each_kind(cfg: &Config) {
    assert_eq!(cfg.cache_dir, Some(cfg.dir.join("cache")));
    let e = &cfg.clusters["c"].endpoints;
    assert!(matches!(e["web"].auth, Some(Auth::Bearer(_))));
    assert_eq!(e["web"].secrets(), ["t0ken"]);
    assert!(matches!(e["cache"].auth, Some(Auth::Password(_))));
    assert_eq!(e["cache"].urls.len(), 2);
    assert_eq!(e["cache"].query_timeout, Duration::from_secs(2));
    assert!(matches!(&e["acl"].auth, Some(Auth::Basic { username, .. }) if username == "u"));
    assert_eq!(e["acl"].secrets(), ["hunter2"]);
    assert!(matches!(&e["db"].auth, Some(Auth::User(u)) if u == "monitor"));
    assert!(e["db"].secrets().is_empty());
    assert_eq!(e["coredns"].kind, EndpointKind::Dns);
    assert!(e["coredns"].auth.is_none());
    assert_eq!(e["coredns"].urls[1].port_u16(), Some(5353));
    assert_eq!(e["coredns"].query_timeout, Duration::from_millis(500));
}

fn kubernetes_endpoint_and_grants(cfg: &Config) {
    let api = &cfg.clusters["k8s"].endpoints["api"];
    assert_eq!(api.kind, EndpointKind::Kubernetes);
    assert_eq!(api.urls[0].to_string(), "https://127.0.0.1:6443/");
    assert_eq!(api.query_timeout, Duration::from_secs(3));
    assert!(matches!(
        &api.kube,
        Some(KubeSource::Kubeconfig { path, context: Some(c) })
            if path.ends_with("kubeconfig") && c == "a"
    ));
    let k = &cfg.checks[0];
    assert_eq!(k.clusters, ["k8s"], "only k8s has the granted endpoint");
    let grants: Vec<String> = k.kube_grants.iter().map(|g| g.to_string()).collect();
    assert_eq!(grants, ["nodes", "coordination.k8s.io/leases@kube-system"]);
    assert_eq!(k.net_grants.tcp.len(), 2);
    assert_eq!(k.net_grants.arp[0].to_string(), "192.168.1.0/24");
    assert_eq!(k.net_grants.interface.as_deref(), Some("eth0"));
    assert_eq!(k.net_grants.timeout, Duration::from_millis(250));
}

/// Files rows name by absolute path, as TOML strings.
struct Files {
    dir: tempfile::TempDir,
}

const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: one, user: u}\n- name: b\n  context: {cluster: two, user: u}\nclusters:\n- name: one\n  cluster: {server: 'https://127.0.0.1:6443'}\n- name: two\n  cluster: {insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: t}\n";

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("token", "t0ken\n"),
            ("password", "hunter2\n"),
            ("kubeconfig", KUBECONFIG),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Files { dir }
    }

    /// `text` with its placeholders replaced.
    fn expand(&self, text: &str) -> String {
        let quoted = |name: &str| format!("{:?}", self.dir.path().join(name).display().to_string());
        text.replace("{http}", HTTP)
            .replace("{e}", "[clusters.c.endpoints.e]\n")
            .replace("{token}", &quoted("token"))
            .replace("{password}", &quoted("password"))
            .replace("{kubeconfig}", &quoted("kubeconfig"))
    }
}

#[test]
fn the_table_of_configurations() {
    let files = Files::new();
    let mut failures = Vec::new();
    for (what, main, checks, expect) in ROWS {
        let (_dir, loaded) = fixture::load(&files.expand(main), checks);
        match (expect, loaded) {
            (Loads(check), Ok(cfg)) => {
                eprintln!("checking {what:?}");
                check(&cfg);
            }
            (Fails(location, fragment), Err(e)) => {
                let shown = e.to_string();
                if !shown.contains(&format!("{location}: ")) || !shown.contains(fragment) {
                    failures.push(format!(
                        "{what}: expected {location}: ...{fragment}..., got\n{shown}"
                    ));
                }
            }
            (Loads(_), Err(e)) => failures.push(format!("{what}: {e}")),
            (Fails(..), Ok(_)) => failures.push(format!("{what}: loaded")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn an_error_shows_the_line_as_written() {
    let (_dir, loaded) = fixture::load(HTTP, &[("c", "plugin = \"etcd\"\n  retries = 50 \n")]);
    let e = loaded.unwrap_err();
    assert_eq!(e.line, Some(2));
    assert_eq!(
        e.message,
        "`retries`: 50 is more than 10\n    2 | retries = 50"
    );
}

#[test]
fn params_files_are_json_objects_or_toml() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let (params, lines) = load_params(&write("p.json", "{\"a\": 1}")).unwrap();
    assert_eq!((params["a"].as_i64(), lines.len()), (Some(1), 0));
    let e = load_params(&write("q.json", "[1]")).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: expected a JSON object of parameters",
            dir.path().join("q.json").display()
        )
    );
    let e = load_params(&write("r.json", "{\n\"a\": }")).unwrap_err();
    assert_eq!(e.line, Some(2));
    let (params, lines) =
        load_params(&write("c.toml", "plugin = \"x\"\n[params]\nn = 3\n")).unwrap();
    assert_eq!((params["n"].as_i64(), lines["n"]), (Some(3), 3));
    let (params, lines) = load_params(&write("top.toml", "\nn = 3\n")).unwrap();
    assert_eq!((params.len(), lines["n"]), (1, 2));
    let e = load_params(&write("bad.toml", "n = = 3\n")).unwrap_err();
    assert_eq!(e.line, Some(1));
    let e = load_params(&dir.path().join("missing.toml")).unwrap_err();
    assert!(e.message.starts_with("cannot read: "), "{e}");
}

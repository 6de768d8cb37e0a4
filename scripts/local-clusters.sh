# Sourced by scripts/demo and benches/: small real clusters on loopback.
#   start_local_clusters DIR   starts a 3-member etcd cluster, Redis (a master, two
#                              replicas, three sentinels) and a 3-node MariaDB Galera
#                              cluster, files under DIR, on the first free block of
#                              ports from 22379 on; appends their process ids to the
#                              caller's `pids` (etcd 0-2, Redis 3-5, sentinels 6-8,
#                              Galera 9-11) and sets `base`, `etcd_endpoints` and the
#                              quoted URL lists `etcd_urls`, `redis_urls`,
#                              `sentinel_urls`, `galera_urls`.
#   start_local_prometheus DIR a Prometheus evaluating an always-firing Watchdog
#                              alert (after start_local_clusters: port base + 50),
#                              sets `prometheus_url` once it fires
#   start_local_dns DIR        dnsmasq answering for cluster.local as an RKE2
#                              cluster's CoreDNS does for checks.d/dns.toml's names
#                              (port base + 53), sets `dns_url`
#   start_fixture_apis DIR BIN the fixture Kubernetes API (recorded RKE2 + Cilium
#                              objects and workloads; DIR/kubeconfig) and three
#                              recorded Vault servers, from the fixture-apiserver BIN
#   write_every_check_config DIR PLUGIN_DIR WHO
#                              DIR/vitals.toml with cluster `demo` (every endpoint
#                              above) and every shipped check in DIR/checks.d
#   cluster_endpoints NAME     prints the [clusters.NAME.endpoints.*] tables for them
#                              (Galera's user `vitals`, password in DIR/galera/password)
# Needs etcd, redis-server, redis-sentinel, mariadb-server, galera-4 and dnsmasq
# (scripts/install-deps --demo).

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_local_clusters() {
    local dir="$1" i port client peer initial="" members="" d g user_line m
    local_clusters_dir="$dir"
    base=22379  # below the ephemeral port range (32768+), where client sockets cannot take them
    # Offsets from base: etcd 0-21, serve 40, Prometheus 50, DNS 53, Redis 60-62 and 70-72,
    # Galera 80-94.
    local_block_free() {
        local off
        for off in 0 1 10 11 20 21 40 50 53 60 61 62 70 71 72 $(seq 80 94); do
            port_free $((base + off)) || return 1
        done
    }
    while ! local_block_free; do
        base=$((base + 100))
    done

    # etcd: three members.
    mkdir -p "$dir/etcd"
    for i in 1 2 3; do
        initial+="${initial:+,}m$i=http://127.0.0.1:$((base + (i - 1) * 10 + 1))"
    done
    etcd_urls=()
    for i in 1 2 3; do
        client=$((base + (i - 1) * 10)); peer=$((client + 1))
        etcd_urls+=("\"http://127.0.0.1:$client\"")
        etcd --name "m$i" --data-dir "$dir/etcd/m$i" \
            --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
            --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
            --initial-cluster "$initial" --initial-cluster-token "vitals-local-$$-$base" \
            --heartbeat-interval 50 --election-timeout 500 >"$dir/etcd/m$i.log" 2>&1 &
        pids+=($!)
    done
    etcd_endpoints="$(IFS=,; echo "${etcd_urls[*]}" | tr -d '"')"

    # Redis: a master and two replicas, then three sentinels.
    mkdir -p "$dir/redis"
    redis_urls=(); sentinel_urls=()
    for i in 0 1 2; do
        port=$((base + 60 + i))
        redis_urls+=("\"redis://127.0.0.1:$port\"")
        local replicaof=()
        [ "$i" -eq 0 ] || replicaof=(--replicaof 127.0.0.1 $((base + 60)))
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir/redis" \
            "${replicaof[@]}" >"$dir/redis/node$i.log" 2>&1 &
        pids+=($!)
    done
    for i in 0 1 2; do
        port=$((base + 70 + i))
        sentinel_urls+=("\"redis://127.0.0.1:$port\"")
        cat >"$dir/redis/sentinel$i.conf" <<CONF
port $port
bind 127.0.0.1
dir $dir/redis
sentinel monitor mymaster 127.0.0.1 $((base + 60)) 2
sentinel down-after-milliseconds mymaster 2000
sentinel failover-timeout mymaster 10000
CONF
        redis-sentinel "$dir/redis/sentinel$i.conf" >"$dir/redis/sentinel$i.log" 2>&1 &
        pids+=($!)
    done

    # Galera: three nodes, the first bootstrapping, the others joining once it is
    # Synced. They run as mysql, which must reach their files.
    mkdir -p "$dir/galera"
    chmod 755 "$dir" "$dir/galera"
    galera_urls=()
    for i in 0 1 2; do members+="${members:+,}127.0.0.1:$((base + 81 + i * 5))"; done
    for i in 0 1 2; do
        d="$dir/galera/n$((i + 1))"; port=$((base + 80 + i * 5)); g=$((port + 1))
        mkdir -p "$d"
        user_line=""; [ "$(id -u)" -eq 0 ] && user_line="user=mysql"
        cat >"$d/my.cnf" <<CNF
[mysqld]
datadir=$d/data
socket=$d/sock
port=$port
bind-address=127.0.0.1
pid-file=$d/pid
log-error=$d/err.log
tmpdir=$d
$user_line
binlog_format=ROW
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=32M
skip-name-resolve
wsrep_on=ON
wsrep_provider=/usr/lib/galera/libgalera_smm.so
wsrep_cluster_name=vitals-local
wsrep_cluster_address=gcomm://$members
wsrep_node_address=127.0.0.1:$g
wsrep_node_name=n$((i + 1))
wsrep_node_incoming_address=127.0.0.1:$port
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$g;ist.recv_addr=127.0.0.1:$((g + 1))"
wsrep_sst_receive_address=127.0.0.1:$((g + 2))
wsrep_sst_method=rsync
CNF
        [ "$(id -u)" -eq 0 ] && chown -R mysql:mysql "$d"
        local_as_mysql mariadb-install-db --defaults-file="$d/my.cnf" --auth-root-authentication-method=normal >"$d/install.log" 2>&1
        galera_urls+=("\"mysql://127.0.0.1:$port\"")
    done

    echo "==> waiting for etcd ($etcd_endpoints)"
    for _ in $(seq 1 100); do
        ETCDCTL_API=3 etcdctl --endpoints "$etcd_endpoints" endpoint health >/dev/null 2>&1 && break
        sleep 0.2
    done
    echo "==> waiting for the sentinels to discover the replicas and each other"
    for _ in $(seq 1 150); do
        m="$(redis-cli -p $((base + 70)) SENTINEL MASTER mymaster 2>/dev/null | tr '\n' ' ' || true)"
        [[ "$m" == *"num-slaves 2 "* && "$m" == *"num-other-sentinels 2 "* ]] && break
        sleep 0.2
    done
    for i in 1 2 3; do
        echo "==> starting Galera node n$i"
        local extra=(); [ "$i" -eq 1 ] && extra=(--wsrep-new-cluster)
        mariadbd --defaults-file="$dir/galera/n$i/my.cnf" "${extra[@]}" >/dev/null 2>&1 &
        pids+=($!)
        for _ in $(seq 1 240); do
            [[ "$(local_galera_sql $i "SHOW STATUS LIKE 'wsrep_local_state_comment'")" == *Synced* ]] && break
            sleep 0.5
        done
    done
    local_galera_sql 1 "CREATE USER IF NOT EXISTS 'vitals'@'%' IDENTIFIED BY 'local-password'; GRANT USAGE ON *.* TO 'vitals'@'%'"
    echo "local-password" >"$dir/galera/password"
}

start_local_prometheus() {
    local dir="$1/prometheus" port=$((base + 50))
    mkdir -p "$dir"
    cat >"$dir/rules.yml" <<'RULES'
groups:
  - name: demo
    rules:
      - alert: Watchdog
        expr: vector(1)
        labels: {severity: none}
        annotations: {summary: "always firing, to show the alerting pipeline works"}
RULES
    printf 'global:\n  evaluation_interval: 1s\nrule_files: ["%s"]\n' "$dir/rules.yml" >"$dir/prometheus.yml"
    prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
        --web.listen-address="127.0.0.1:$port" >"$dir/log" 2>&1 &
    pids+=($!)
    echo "==> waiting for Prometheus to fire its Watchdog"
    for _ in $(seq 1 100); do
        curl -s "http://127.0.0.1:$port/api/v1/alerts" | grep -q '"state":"firing"' && break
        sleep 0.2
    done
    prometheus_url="http://127.0.0.1:$port"
}

start_local_dns() {
    local dir="$1/dns" port=$((base + 53))
    mkdir -p "$dir"
    dnsmasq --keep-in-foreground --conf-file=/dev/null --pid-file= --user= \
        --listen-address=127.0.0.1 --bind-interfaces --port="$port" \
        --no-resolv --no-hosts --local=/cluster.local/ \
        --host-record=kubernetes.default.svc.cluster.local,10.43.0.1 \
        --srv-host=_https._tcp.kubernetes.default.svc.cluster.local,kubernetes.default.svc.cluster.local,443,0,100 \
        --host-record=rke2-coredns-rke2-coredns.kube-system.svc.cluster.local,10.43.0.10 \
        >"$dir/log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do ! port_free "$port" && break; sleep 0.1; done
    if port_free "$port" || ! kill -0 "${pids[-1]}" 2>/dev/null; then
        cat "$dir/log" >&2
        echo "local-clusters: dnsmasq did not start on port $port (above)" >&2
        return 1
    fi
    dns_url="dns://127.0.0.1:$port"
}

start_fixture_apis() {
    local dir="$1" bin="$2"
    "$bin" "$dir/kubeconfig" "$dir/vault.urls" >"$dir/apiserver.url" 2>"$dir/apiserver.log" &
    pids+=($!)
    for _ in $(seq 1 100); do [ -s "$dir/apiserver.url" ] && [ -s "$dir/vault.urls" ] && break; sleep 0.1; done
    if ! [ -s "$dir/apiserver.url" ] || ! [ -s "$dir/vault.urls" ] || ! kill -0 "${pids[-1]}" 2>/dev/null; then
        cat "$dir/apiserver.log" >&2
        echo "local-clusters: the fixture APIs did not start ($bin, above)" >&2
        return 1
    fi
}

write_every_check_config() {
    local dir="$1" plugin_dir="$2" who="$3"
    cat >"$dir/vitals.toml" <<TOML
# Generated by $who.
plugin_dir = "$plugin_dir"
[clusters.demo]
description = "local etcd, Redis Sentinel, Galera, DNS and a fixture Kubernetes API started by $who"
$(cluster_endpoints demo)
[clusters.demo.endpoints.kubernetes]
kind = "kubernetes"
kubeconfig = "kubeconfig"
[clusters.demo.endpoints.vault]
kind = "http"
urls = $(cat "$dir/vault.urls")
TOML
    # Every shipped example, the conditions check's too (the fixture cluster runs
    # Flux, CloudNativePG, a Gateway, Velero and metrics-server, and has recent etcd
    # snapshots, all healthy).
    mkdir -p "$dir/checks.d"
    local repo
    repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    cp "$repo"/checks.d/*.toml "$repo"/checks.d/conditions/*.toml "$dir/checks.d/"
}

local_as_mysql() { if [ "$(id -u)" -eq 0 ]; then runuser -u mysql -- "$@"; else "$@"; fi; }
local_galera_sql() { # NODE STATEMENT: as root over the node's socket
    mariadb --defaults-file=/dev/null -uroot -N -B -S "$local_clusters_dir/galera/n$1/sock" -e "$2" 2>/dev/null
}

cluster_endpoints() { # NAME
    cat <<TOML
[clusters.$1.endpoints.etcd]
kind = "http"
urls = [$(IFS=,; echo "${etcd_urls[*]}")]
[clusters.$1.endpoints.sentinels]
kind = "redis"
urls = [$(IFS=,; echo "${sentinel_urls[*]}")]
[clusters.$1.endpoints.redis]
kind = "redis"
urls = [$(IFS=,; echo "${redis_urls[*]}")]
[clusters.$1.endpoints.galera]
kind = "mysql"
urls = [$(IFS=,; echo "${galera_urls[*]}")]
username = "vitals"
password_file = "$local_clusters_dir/galera/password"
TOML
    [ -z "${prometheus_url:-}" ] || printf '[clusters.%s.endpoints.prometheus]\nkind = "http"\nurls = ["%s"]\n' "$1" "$prometheus_url"
    [ -z "${dns_url:-}" ] || printf '[clusters.%s.endpoints.dns]\nkind = "dns"\nurls = ["%s"]\n' "$1" "$dns_url"
}

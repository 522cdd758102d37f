/**
 * Redis Cluster over TLS. The cluster bus (TLS port + 10000) takes TLS only (`tls-cluster yes`) and,
 * whatever `tls-auth-clients` says, demands a client certificate from the CA in `tls-ca-cert-file`.
 * That certificate is all the bus checks: a message names its sender by node ID, which is public, and
 * carries no signature. Whoever holds a certificate of that CA can open a bus connection and speak for
 * any member (mark one failed, claim slots). So a cluster's CA is the cluster's alone, and only members
 * hold its certificates: applications log in with their ACL password over TLS that verifies the node,
 * and present no certificate (`tls-auth-clients optional`: one presented must still be the CA's).
 */
import { shellLib, shellQuote } from "../host/shell";
import { checkIpAddress } from "../validation/fields";

/** Redis Cluster's slot count. */
export const CLUSTER_SLOTS = 16384;

/** The bus port Redis derives from the TLS port when the plaintext port is 0. */
export const BUS_PORT_OFFSET = 10000;

/** The slot range of primary `index` of `primaries`: contiguous ranges, as even as 16384 allows. */
export function slotRange(index: number, primaries: number): [number, number] {
    return [Math.floor((CLUSTER_SLOTS * index) / primaries), Math.floor((CLUSTER_SLOTS * (index + 1)) / primaries) - 1];
}

/**
 * The drop-in lines of a cluster member: cluster mode, the bus port said out loud, and the address it
 * announces (checked again here, since it is written unquoted). With `tls-cluster yes` a node
 * announces its TLS port for clients and the bus port for peers by itself.
 */
export function renderClusterConf(tlsPort: number, announceIp?: string): string[] {
    if (announceIp !== undefined) {
        const problem = checkIpAddress("connection.host", announceIp);
        if (problem !== undefined) throw new Error(problem);
    }
    return ["cluster-enabled yes", `cluster-port ${tlsPort + BUS_PORT_OFFSET}`, ...(announceIp === undefined ? [] : [`cluster-announce-ip ${announceIp}`])];
}

export interface ClusterJoinScriptArgs {
    tlsDir: string;
    /** The member's root-only socket, its CLI and the admin identity the script uses there. */
    socket: string;
    cli: string;
    adminUser: string;
}

/**
 * One member's part in forming the cluster, as root over its own root-only socket (no credential
 * leaves the host). Reads from stdin (sections): `seed` ("IP PORT" of the member every other one
 * meets, empty on that member itself), `slots` ("FIRST LAST" for a primary), `primary` ("IP PORT" a
 * replica follows) and `members` (how many nodes the seed waits for). Idempotent: a known node is not
 * met again, slots are taken only when no node serves them, a replica already following its primary
 * is left alone. The seed runs last and waits for `cluster_state:ok` with every member known.
 */
export function renderClusterJoinScript(a: ClusterJoinScriptArgs): string {
    return `set -euo pipefail
umask 077
${shellLib("read_sections")}tls=${shellQuote(a.tlsDir)} sock=${shellQuote(a.socket)} cli=${shellQuote(a.cli)} user=${shellQuote(a.adminUser)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read_sections "$work"
for f in seed slots primary members; do touch "$work/$f"; done
seed=$(cat "$work/seed") slots=$(cat "$work/slots") primary=$(cat "$work/primary") members=$(cat "$work/members")
# Values arrive as data; each is checked for its shape before any command carries it.
addr='^[0-9A-Fa-f.:]+ [1-9][0-9]{0,4}$'
for v in "$seed" "$primary"; do
  if [ -n "$v" ] && [[ ! $v =~ $addr ]]; then echo "not an address and port: $(printf '%q' "$v")" >&2; exit 1; fi
done
if [ -n "$slots" ] && [[ ! $slots =~ ^[0-9]{1,5}\\ [0-9]{1,5}$ ]]; then echo "not a slot range: $(printf '%q' "$slots")" >&2; exit 1; fi
if [ -n "$members" ] && [[ ! $members =~ ^[0-9]{1,4}$ ]]; then echo "not a member count: $(printf '%q' "$members")" >&2; exit 1; fi
if [ -L "$sock" ] || [ ! -S "$sock" ]; then echo "no server socket at $sock" >&2; exit 1; fi
run() { REDISCLI_AUTH=$(cat "$tls/admin.pass") "$cli" -s "$sock" --user "$user" "$@"; }
ok() { local out; out=$(run "$@"); if [ "$out" != OK ]; then echo "$* answered: $out" >&2; return 1; fi; }
# CLUSTER NODES: "id ip:port@bus[,hostname] flags master ping pong epoch link [slots...]".
# A node is found by address and bus port: over this plaintext socket Valkey shows the plaintext
# port (0) where Redis shows the TLS port. One still in its handshake has a temporary ID: not counted.
# A failed node left at the same address (a rebuilt host) is not it either.
node_at() {
  run CLUSTER NODES | awk -v ip="$1" -v bus="$(($2 + ${BUS_PORT_OFFSET}))" '$3 !~ /handshake|fail|noaddr/ {
    split($2, a, "@"); split(a[2], b, ","); n = split(a[1], c, ":")
    if (substr(a[1], 1, length(a[1]) - length(c[n]) - 1) == ip && b[1] == bus) print $1 }' | head -n 1
}
wait_for() { local _; for _ in $(seq 1 150); do if "$@"; then return 0; fi; sleep 0.2; done; return 1; }
if [ -n "$seed" ]; then
  read -r ip port <<< "$seed"
  if [ -z "$(node_at "$ip" "$port")" ]; then
    ok CLUSTER MEET "$ip" "$port" "$((port + ${BUS_PORT_OFFSET}))"
    echo "met $ip:$port"
  fi
fi
if [ -n "$slots" ]; then
  read -r first last <<< "$slots"
  myself=$(run CLUSTER NODES | awk '$3 ~ /myself/')
  served=$(run CLUSTER NODES | awk -v s="$first" '$3 !~ /fail|noaddr/ { for (i = 9; i <= NF; i++) { split($i, r, "-"); if (r[2] == "") r[2] = r[1]; if (s + 0 >= r[1] + 0 && s + 0 <= r[2] + 0) print $1 } }')
  if [ -n "$(awk '{ print $9 }' <<< "$myself")" ]; then
    echo "serves slots already"
  elif [ -n "$served" ]; then
    echo "slot $first is served by $served; not taken (rebalance by hand if this primary is new)"
  else
    ok CLUSTER ADDSLOTSRANGE "$first" "$last"
    echo "took slots $first-$last"
  fi
fi
if [ -n "$primary" ]; then
  read -r ip port <<< "$primary"
  known() { [ -n "$(node_at "$ip" "$port")" ]; }
  if ! wait_for known; then echo "the primary $ip:$port did not become known to this node within 30 s; it knows: $(run CLUSTER NODES | cut -d' ' -f2,3 | tr '\n' ' ')" >&2; exit 1; fi
  id=$(node_at "$ip" "$port")
  myself=$(run CLUSTER NODES | awk '$3 ~ /myself/')
  if [ "$(awk '{ print $4 }' <<< "$myself")" = "$id" ]; then
    echo "replicates $ip:$port already"
  elif [[ $(awk '{ print $3 }' <<< "$myself") == *slave* ]] || [ -n "$(awk '{ print $9 }' <<< "$myself")" ]; then
    # After a failover this node may follow another primary, or serve slots itself: left as the cluster made it.
    echo "follows another primary or serves slots since a failover; left as it is (CLUSTER REPLICATE by hand to change it)"
  else
    ok CLUSTER REPLICATE "$id"
    echo "replicates $ip:$port"
  fi
fi
if [ -n "$members" ]; then
  ready() { run CLUSTER INFO | tr -d '\\r' > "$work/info"; grep -qx 'cluster_state:ok' "$work/info" && grep -qx "cluster_known_nodes:$members" "$work/info"; }
  if ! wait_for ready; then echo "the cluster is not ok with $members nodes within 30 s: $(grep -e state -e known "$work/info" | tr '\\n' ' ')" >&2; exit 1; fi
  echo "cluster_state:ok with $members nodes"
fi
`;
}

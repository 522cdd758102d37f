set -euo pipefail
umask 077
# read_sections DIR: stdin holds lines "NAME BASE64"; each value lands, as data, in DIR/NAME.
read_sections() {
  local name data
  while IFS=' ' read -r name data || [ -n "$name" ]; do
    if [[ ! $name =~ ^[a-z][a-z0-9-]*$ ]]; then
      echo "unexpected input on stdin" >&2
      exit 1
    fi
    printf '%s' "$data" | base64 -d > "$1/$name" || exit 1
  done
}
tls='/etc/redis-tls' sock='/run/redis/redis-server.sock' cli='redis-cli' user='redis-tls-admin'
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
if [ -n "$slots" ] && [[ ! $slots =~ ^[0-9]{1,5}\ [0-9]{1,5}$ ]]; then echo "not a slot range: $(printf '%q' "$slots")" >&2; exit 1; fi
if [ -n "$members" ] && [[ ! $members =~ ^[0-9]{1,4}$ ]]; then echo "not a member count: $(printf '%q' "$members")" >&2; exit 1; fi
if [ -L "$sock" ] || [ ! -S "$sock" ]; then echo "no server socket at $sock" >&2; exit 1; fi
run() { REDISCLI_AUTH=$(cat "$tls/admin.pass") "$cli" -s "$sock" --user "$user" "$@"; }
ok() { local out; out=$(run "$@"); if [ "$out" != OK ]; then echo "$* answered: $out" >&2; return 1; fi; }
# CLUSTER NODES: "id ip:port@bus[,hostname] flags master ping pong epoch link [slots...]".
# A node is found by address and bus port: over this plaintext socket Valkey shows the plaintext
# port (0) where Redis shows the TLS port. One still in its handshake has a temporary ID: not counted.
# A failed node left at the same address (a rebuilt host) is not it either.
node_at() {
  run CLUSTER NODES | awk -v ip="$1" -v bus="$(($2 + 10000))" '$3 !~ /handshake|fail|noaddr/ {
    split($2, a, "@"); split(a[2], b, ","); n = split(a[1], c, ":")
    if (substr(a[1], 1, length(a[1]) - length(c[n]) - 1) == ip && b[1] == bus) print $1 }' | head -n 1
}
wait_for() { local _; for _ in $(seq 1 150); do if "$@"; then return 0; fi; sleep 0.2; done; return 1; }
if [ -n "$seed" ]; then
  read -r ip port <<< "$seed"
  if [ -z "$(node_at "$ip" "$port")" ]; then
    ok CLUSTER MEET "$ip" "$port" "$((port + 10000))"
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
  if ! wait_for known; then echo "the primary $ip:$port did not become known to this node within 30 s; it knows: $(run CLUSTER NODES | cut -d' ' -f2,3 | tr '
' ' ')" >&2; exit 1; fi
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
  ready() { run CLUSTER INFO | tr -d '\r' > "$work/info"; grep -qx 'cluster_state:ok' "$work/info" && grep -qx "cluster_known_nodes:$members" "$work/info"; }
  if ! wait_for ready; then echo "the cluster is not ok with $members nodes within 30 s: $(grep -e state -e known "$work/info" | tr '\n' ' ')" >&2; exit 1; fi
  echo "cluster_state:ok with $members nodes"
fi

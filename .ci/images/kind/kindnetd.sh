#!/bin/sh
# kindnetd stand-in (single-node clusters). Real kindnetd (github.com/aojea/kindnet, not on the
# Go module proxy) writes the CNI config, routes other nodes' pod CIDRs via their node IPs and
# masquerades pod traffic leaving the pod network. Here, for one node:
#  1. write /etc/cni/net.d/10-kindnet.conflist as kindnetd does: ptp + host-local IPAM over the
#     pod subnet(s) in $POD_SUBNET (dataDir /run/cni-ipam-state, default route(s)), MTU of
#     eth0, then portmap. (kindnetd uses the node's spec.podCIDR; on a single node the whole
#     cluster pod subnet is equivalent.)
#  2. masquerade like kindnetd's ip-masq-agent: nat POSTROUTING -> KIND-MASQ-AGENT, RETURN for
#     the pod subnet, MASQUERADE the rest (so pods, e.g. CoreDNS forwarding, reach the outside).
#  3. sleep until terminated, re-writing the config if it disappears.
# No node routes, no network policy, no NRI: multi-node clusters need the real kindnetd.
set -eu
: "${POD_SUBNET:?POD_SUBNET must be set (the kindnet manifest sets it)}"
CNI_CONF=/etc/cni/net.d/10-kindnet.conflist

mtu=$(cat /sys/class/net/eth0/mtu 2>/dev/null || echo 1500)
ranges='' routes='' v4='' v6=''
for s in $(echo "$POD_SUBNET" | tr ',' ' '); do
  ranges="$ranges${ranges:+,}
          [ { \"subnet\": \"$s\" } ]"
  case $s in
    *:*) v6="$v6 $s"; routes="$routes${routes:+,} { \"dst\": \"::/0\" }" ;;
    *) v4="$v4 $s"; routes="$routes${routes:+,} { \"dst\": \"0.0.0.0/0\" }" ;;
  esac
done

write_conf() {
  mkdir -p "$(dirname "$CNI_CONF")"
  cat >"$CNI_CONF.tmp" <<CONF
{
  "cniVersion": "0.4.0",
  "name": "kindnet",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "routes": [ $routes ],
        "ranges": [ $ranges
        ]
      },
      "mtu": $mtu
    },
    {
      "type": "portmap",
      "capabilities": { "portMappings": true }
    }
  ]
}
CONF
  mv "$CNI_CONF.tmp" "$CNI_CONF"
  echo "kindnetd(stand-in): wrote $CNI_CONF (subnets:$v4$v6, mtu $mtu)"
}

masq() { # IPTABLES SUBNETS
  ipt=$1; shift
  $ipt -t nat -N KIND-MASQ-AGENT 2>/dev/null || $ipt -t nat -F KIND-MASQ-AGENT
  for s in "$@"; do
    $ipt -t nat -A KIND-MASQ-AGENT -d "$s" -m comment --comment "kind-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN
  done
  $ipt -t nat -A KIND-MASQ-AGENT -m comment --comment "kind-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE
  rule="-m addrtype ! --dst-type LOCAL -m comment --comment kind-masq-agent:-ensure-nat-POSTROUTING-directs-all-non-LOCAL-destination-traffic-to-our-custom-KIND-MASQ-AGENT-chain -j KIND-MASQ-AGENT"
  # shellcheck disable=SC2086
  $ipt -t nat -C POSTROUTING $rule 2>/dev/null || $ipt -t nat -A POSTROUTING $rule
}

write_conf
# shellcheck disable=SC2086
[ -z "$v4" ] || masq iptables $v4
# shellcheck disable=SC2086
[ -z "$v6" ] || masq ip6tables $v6
echo "kindnetd(stand-in): masquerading traffic from the pod network to outside it"

trap 'exit 0' TERM INT
while :; do
  sleep 30 &
  wait $! || true
  [ -f "$CNI_CONF" ] || write_conf
done

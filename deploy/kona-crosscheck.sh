#!/usr/bin/env bash
# Cross-check of the devnet with an independent consensus client (kona-node), out of CI.
#
#   opfleet-devnet (L1 RPC + beacon, sequencer + SimEl, batcher) ── rollup-<id>.json, jwt-<id>.hex
#   opfleet-sim-el (a second SimEl for the chain, same genesis, EL-syncing from the sequencer's
#                  EL with --sync-from) ◀── Engine API ── kona-node
#   kona-node derives the chain from the devnet's L1 and beacon API (P2P discovery off, no peers)
#   every POLL s: kona optimism_syncStatus.safe_l2 == sequencer EL eth_getBlockByNumber(same n)?
#
# Usage: deploy/kona-crosscheck.sh            (see the variables below; all can be overridden)
# Exit 0 when kona's safe head reached MIN_SAFE and every safe head seen matched the sequencer's
# block at that height; 1 otherwise. Logs and files stay in $WORK.
set -euo pipefail

KONA=${KONA:-/work/kona/bin/kona-node}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release}
WORK=${WORK:-$(mktemp -d /tmp/kona-crosscheck.XXXXXX)}
FORK=${FORK:-isthmus}
DA=${DA:-blobs}
CHAIN=${CHAIN:-901}
DURATION=${DURATION:-300}   # seconds to watch at most
MIN_SAFE=${MIN_SAFE:-40}    # kona safe head number that counts as "reached"
POLL=${POLL:-5}
KONA_RPC_PORT=${KONA_RPC_PORT:-19545}
SIMEL_ENGINE_PORT=${SIMEL_ENGINE_PORT:-19551}
SIMEL_RPC_PORT=${SIMEL_RPC_PORT:-19552}

mkdir -p "$WORK"
echo "work dir: $WORK"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

rpc() { # url method params-json
  curl -s -m 5 -H 'content-type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "$1"
}

"$BIN/opfleet-devnet" --fork "$FORK" --da "$DA" --chain-ids "$CHAIN" --no-interop \
  --supernodes 0 --followers 0 \
  --ephemeral-ports --out-dir "$WORK/devnet" --endpoints-file "$WORK/devnet/endpoints.json" \
  --progress-interval 10 >"$WORK/devnet.out" 2>"$WORK/devnet.log" &
pids+=($!)
for _ in $(seq 1 120); do [ -s "$WORK/devnet/endpoints.json" ] && break; sleep 0.5; done
[ -s "$WORK/devnet/endpoints.json" ] || { echo "devnet did not start"; tail -20 "$WORK/devnet.log"; exit 1; }

E="$WORK/devnet/endpoints.json"
L1=$(jq -r .l1 "$E")
BEACON=$(jq -r .beacon "$E")
SEQ_EL=$(jq -r ".chains[] | select(.chain_id == \"$CHAIN\" or .chain_id == $CHAIN) | .el_rpc" "$E")
ROLLUP=$(jq -r ".chains[] | select(.chain_id == \"$CHAIN\" or .chain_id == $CHAIN) | .rollup_config" "$E")
JWT=$(jq -r ".chains[] | select(.chain_id == \"$CHAIN\" or .chain_id == $CHAIN) | .jwt_secret_file" "$E")
SIGNER=$(jq -r ".chains[] | select(.chain_id == \"$CHAIN\" or .chain_id == $CHAIN) | .unsafe_block_signer" "$E")
echo "L1 $L1  beacon $BEACON  sequencer EL $SEQ_EL  rollup $ROLLUP"

# kona reads SystemConfig.unsafeBlockSigner from the L1 (eth_getStorageAt): the devnet L1 serves
# each chain's SystemConfig storage. kona joins gossip late, so its SimEl EL-syncs the blocks it
# missed from the sequencer's EL, as op-geth would from its devp2p peers.
"$BIN/opfleet-sim-el" --rollup "$ROLLUP" --jwt-secret "$JWT" --sync-from "$SEQ_EL" \
  --engine-port "$SIMEL_ENGINE_PORT" --rpc-port "$SIMEL_RPC_PORT" >"$WORK/simel.out" 2>"$WORK/simel.log" &
pids+=($!)
sleep 1

"$KONA" ${KONA_VERBOSITY:--vvv} --chain "$CHAIN" node \
  --l1-eth-rpc "$L1" --l1-beacon "$BEACON" \
  --l2-engine-rpc "http://127.0.0.1:$SIMEL_ENGINE_PORT" --l2-engine-jwt-secret "$JWT" \
  --l2-config-file "$ROLLUP" \
  --p2p.no-discovery --p2p.listen.tcp 0 --p2p.listen.udp 0 \
  --p2p.unsafe.block.signer "$SIGNER" \
  --rpc.addr 127.0.0.1 --port "$KONA_RPC_PORT" \
  >"$WORK/kona.log" 2>&1 &
pids+=($!)

KONA_URL="http://127.0.0.1:$KONA_RPC_PORT"
# kona has no static-peer flag and the devnet runs no discv5: dial the sequencer over kona's
# op-node-compatible p2p RPC. kona starts derivation only after its engine has seen a VALID
# forkchoice, which follows the first unsafe block from gossip.
SEQ_P2P=$(jq -r ".chains[] | select(.chain_id == \"$CHAIN\" or .chain_id == $CHAIN) | .sequencer_p2p" "$E")
for _ in $(seq 1 30); do
  sleep 1
  answer=$(rpc "$KONA_URL" opp2p_connectPeer "[\"$SEQ_P2P\"]" || true)
  if [ -n "$answer" ]; then echo "opp2p_connectPeer $SEQ_P2P: $answer"; break; fi
done
mismatches=0
reached=0
start=$(date +%s)
while [ $(( $(date +%s) - start )) -lt "$DURATION" ]; do
  sleep "$POLL"
  status=$(rpc "$KONA_URL" optimism_syncStatus '[]' || true)
  safe_n=$(echo "$status" | jq -r '.result.safe_l2.number // empty' 2>/dev/null || true)
  safe_h=$(echo "$status" | jq -r '.result.safe_l2.hash // empty' 2>/dev/null || true)
  unsafe_n=$(echo "$status" | jq -r '.result.unsafe_l2.number // empty' 2>/dev/null || true)
  l1_n=$(echo "$status" | jq -r '.result.current_l1.number // empty' 2>/dev/null || true)
  seq_head=$(rpc "$SEQ_EL" eth_blockNumber '[]' | jq -r .result)
  if [ -z "$safe_n" ]; then
    echo "$(date -u +%T) kona: no sync status yet (sequencer head $((seq_head)))"
    continue
  fi
  seq_h=$(rpc "$SEQ_EL" eth_getBlockByNumber "[\"$(printf '0x%x' "$safe_n")\", false]" | jq -r .result.hash)
  verdict=match
  if [ "$safe_h" != "$seq_h" ]; then verdict=MISMATCH; mismatches=$((mismatches + 1)); fi
  echo "$(date -u +%T) kona current_l1 $l1_n unsafe $unsafe_n safe $safe_n $safe_h | sequencer head $((seq_head)) block $safe_n $seq_h | $verdict"
  if [ "$safe_n" -ge "$MIN_SAFE" ] && [ "$verdict" = match ]; then reached=1; break; fi
done

if [ "$reached" = 1 ] && [ "$mismatches" = 0 ]; then
  echo "OK: kona's safe head reached $safe_n and equals the sequencer's block"
  exit 0
fi
echo "FAILED: reached=$reached mismatches=$mismatches (logs in $WORK)"
exit 1

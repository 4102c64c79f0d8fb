use super::*;
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;

const BASE_MAINNET: &str = include_str!("../testdata/base-mainnet-rollup.json");
const BASE_SEPOLIA: &str = include_str!("../testdata/base-sepolia-rollup.json");

/// A rollup.json with every field op-node writes, spelled as op-node spells it.
const FULL: &str = r#"{
  "genesis": {
    "l1": {"hash": "0x48f520cf4ddaf34c8336e6e490632ea3cf1e5e93b0b2bc6e917557e31845371b", "number": 4071408},
    "l2": {"hash": "0x102de6ffb001480cc9b8b548fd05c34cd4f46ae4aa91759393db90ea0409887d", "number": 0},
    "l2_time": 1691802540,
    "system_config": {
      "batcherAddr": "0x8f23bb38f531600e5d8fddaaec41f13fab46e98c",
      "overhead": "0x00000000000000000000000000000000000000000000000000000000000000bc",
      "scalar": "0x00000000000000000000000000000000000000000000000000000000000a6fe0",
      "gasLimit": 30000000,
      "eip1559Params": "0x000000fa00000006",
      "operatorFeeParams": "0x000000000000000000000000000000000000000000000017000000000000002a",
      "minBaseFee": 1000000,
      "daFootprintGasScalar": 400
    }
  },
  "block_time": 2,
  "max_sequencer_drift": 600,
  "seq_window_size": 3600,
  "channel_timeout": 300,
  "l1_chain_id": 11155111,
  "l2_chain_id": 11155420,
  "regolith_time": 0,
  "canyon_time": 1699981200,
  "delta_time": 1703203200,
  "ecotone_time": 1708534800,
  "fjord_time": 1716998400,
  "granite_time": 1723478400,
  "holocene_time": 1732633200,
  "pectra_blob_schedule_time": 1742486400,
  "isthmus_time": 1744905600,
  "jovian_time": 1763568001,
  "karst_time": 1781712001,
  "lagoon_time": 1785000000,
  "interop_time": 1790000000,
  "keep_karst_upgrade_gas": true,
  "batch_inbox_address": "0xff00000000000000000000000000000011155420",
  "deposit_contract_address": "0x16fc5058f25648194471939df75cf27a2fdc48bc",
  "l1_system_config_address": "0x034edd2a225f7f429a63e0f1d2084b9e0a93b538",
  "protocol_versions_address": "0x79add5713b383daa0a138d3c4780c7a1804a8090",
  "alt_da": {
    "da_challenge_contract_address": "0x97a2da87d3439b172e6dd027220e01c9cb565b80",
    "da_commitment_type": "KeccakCommitment",
    "da_challenge_window": 3600,
    "da_resolve_window": 3600
  },
  "chain_op_config": {"eip1559Elasticity": 6, "eip1559Denominator": 50, "eip1559DenominatorCanyon": 250}
}"#;

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn full_rollup_json_round_trips_with_op_node_field_names() {
    let cfg = RollupConfig::from_rollup_json(FULL).unwrap();
    let out: Value = serde_json::from_str(&cfg.to_rollup_json().unwrap()).unwrap();
    assert_eq!(
        keys(&out),
        set(&[
            "genesis",
            "block_time",
            "max_sequencer_drift",
            "seq_window_size",
            "channel_timeout",
            "l1_chain_id",
            "l2_chain_id",
            "regolith_time",
            "canyon_time",
            "delta_time",
            "ecotone_time",
            "fjord_time",
            "granite_time",
            "holocene_time",
            "pectra_blob_schedule_time",
            "isthmus_time",
            "jovian_time",
            "karst_time",
            "lagoon_time",
            "interop_time",
            "keep_karst_upgrade_gas",
            "batch_inbox_address",
            "deposit_contract_address",
            "l1_system_config_address",
            "protocol_versions_address",
            "alt_da",
            "chain_op_config",
        ])
    );
    assert_eq!(
        keys(&out["genesis"]),
        set(&["l1", "l2", "l2_time", "system_config"])
    );
    assert_eq!(keys(&out["genesis"]["l1"]), set(&["hash", "number"]));
    assert_eq!(
        keys(&out["genesis"]["system_config"]),
        set(&[
            "batcherAddr",
            "overhead",
            "scalar",
            "gasLimit",
            "eip1559Params",
            "operatorFeeParams",
            "minBaseFee",
            "daFootprintGasScalar",
        ])
    );
    assert_eq!(
        keys(&out["alt_da"]),
        set(&[
            "da_challenge_contract_address",
            "da_commitment_type",
            "da_challenge_window",
            "da_resolve_window",
        ])
    );
    assert_eq!(
        keys(&out["chain_op_config"]),
        set(&[
            "eip1559Elasticity",
            "eip1559Denominator",
            "eip1559DenominatorCanyon"
        ])
    );
    // Chain ids stay JSON numbers in rollup.json.
    assert_eq!(out["l2_chain_id"], Value::from(11_155_420u64));
    assert_eq!(out["l1_chain_id"], Value::from(11_155_111u64));
    // Every input value survives: same JSON modulo address checksum case.
    let input: Value = serde_json::from_str(FULL).unwrap();
    assert_eq!(
        lower(&out),
        lower(&input),
        "serialized config differs from its input"
    );
    assert_eq!(
        RollupConfig::from_rollup_json(&cfg.to_rollup_json().unwrap()).unwrap(),
        cfg
    );

    let sc = &cfg.genesis.system_config;
    assert_eq!(
        sc.eip1559_params,
        Some(B64::from([0, 0, 0, 0xfa, 0, 0, 0, 6]))
    );
    assert_eq!(sc.min_base_fee, Some(1_000_000));
    assert_eq!(sc.da_footprint_gas_scalar, Some(400));
    assert!(cfg.keep_karst_upgrade_gas);
    assert_eq!(
        cfg.chain_op_config.unwrap().eip1559_denominator_canyon,
        Some(250)
    );
}

fn lower(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.to_ascii_lowercase()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), lower(v))).collect()),
        other => other.clone(),
    }
}

#[test]
fn real_op_node_rollup_json_loads() {
    let cfg = RollupConfig::from_rollup_json(BASE_MAINNET).unwrap();
    assert_eq!(cfg.l2_chain_id, ChainId(8453));
    assert_eq!(cfg.l1_chain_id, ChainId(1));
    assert_eq!(cfg.block_time, 2);
    assert_eq!(cfg.channel_timeout_bedrock, 300);
    assert_eq!(cfg.max_sequencer_drift_bedrock, 600);
    assert_eq!(cfg.hardforks.regolith_time, Some(0));
    assert_eq!(cfg.hardforks.canyon_time, None);
    assert_eq!(cfg.protocol_versions_address, Address::ZERO);
    assert_eq!(cfg.genesis.l2.number, 0);
    assert_eq!(cfg.genesis.system_config.gas_limit, 30_000_000);
    assert_eq!(cfg.genesis.system_config.eip1559_params, None);
    assert_eq!(cfg.alt_da, None);
    assert_eq!(cfg.chain_op_config, None);
    // Written back, the old shape stays the old shape: no new fields appear.
    let out: Value = serde_json::from_str(&cfg.to_rollup_json().unwrap()).unwrap();
    let input: Value = serde_json::from_str(BASE_MAINNET).unwrap();
    let mut expected = keys(&input);
    expected.insert("protocol_versions_address".into());
    assert_eq!(keys(&out), expected);
    assert_eq!(
        keys(&out["genesis"]["system_config"]),
        keys(&input["genesis"]["system_config"])
    );

    let cfg = RollupConfig::from_rollup_json(BASE_SEPOLIA).unwrap();
    assert_eq!(cfg.l2_chain_id, ChainId(84532));
    assert_eq!(cfg.l1_chain_id, ChainId(11_155_111));
    assert_eq!(cfg.genesis.system_config.gas_limit, 25_000_000);
}

#[test]
fn unknown_fields_are_ignored() {
    let mut v: Value = serde_json::from_str(BASE_MAINNET).unwrap();
    v["sunset_time"] = Value::from(5u64);
    v["interop_message_expiry_window"] = Value::from(3600u64);
    v["genesis"]["system_config"]["somethingNew"] = Value::from("x");
    v["genesis"]["l1"]["extra"] = Value::Null;
    let with_extra = RollupConfig::from_rollup_json(&v.to_string()).unwrap();
    assert_eq!(
        with_extra,
        RollupConfig::from_rollup_json(BASE_MAINNET).unwrap()
    );
}

#[test]
fn chain_ids_may_be_strings() {
    let mut v: Value = serde_json::from_str(BASE_MAINNET).unwrap();
    v["l2_chain_id"] = Value::from("8453");
    let cfg = RollupConfig::from_rollup_json(&v.to_string()).unwrap();
    assert_eq!(cfg.l2_chain_id, ChainId(8453));
}

#[test]
fn legacy_alt_da_fields_fold_into_alt_da() {
    let mut v: Value = serde_json::from_str(BASE_MAINNET).unwrap();
    v["use_plasma"] = Value::from(true);
    v["da_challenge_contract_address"] = Value::from("0x97a2da87d3439b172e6dd027220e01c9cb565b80");
    v["da_challenge_window"] = Value::from(16u64);
    v["da_resolve_window"] = Value::from(17u64);
    let cfg = RollupConfig::from_rollup_json(&v.to_string()).unwrap();
    let alt = cfg.alt_da.unwrap();
    assert_eq!(alt.da_commitment_type, DaCommitmentType::KeccakCommitment);
    assert_eq!(alt.da_challenge_window, 16);
    assert_eq!(alt.da_resolve_window, 17);
    assert!(cfg.is_alt_da());

    let mut p: Value = serde_json::from_str(BASE_MAINNET).unwrap();
    p["plasma_config"] = serde_json::json!({
        "da_challenge_contract_address": "0x0000000000000000000000000000000000000000",
        "da_commitment_type": "GenericCommitment",
        "da_challenge_window": 1,
        "da_resolve_window": 1
    });
    let cfg = RollupConfig::from_rollup_json(&p.to_string()).unwrap();
    assert_eq!(
        cfg.alt_da.unwrap().da_commitment_type,
        DaCommitmentType::GenericCommitment
    );

    // Both forms present and disagreeing.
    v["alt_da"] = serde_json::json!({
        "da_challenge_contract_address": "0x97a2da87d3439b172e6dd027220e01c9cb565b80",
        "da_commitment_type": "KeccakCommitment",
        "da_challenge_window": 99,
        "da_resolve_window": 17
    });
    let err = RollupConfig::from_rollup_json(&v.to_string()).unwrap_err();
    assert!(err.to_string().contains("disagree"), "{err}");
}

fn with(base: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(base).unwrap();
    edit(&mut v);
    v.to_string()
}

#[test]
fn corrupt_rollup_json_says_what_is_wrong() {
    let msg = |json: &str| {
        RollupConfig::from_rollup_json(json)
            .unwrap_err()
            .to_string()
    };

    let m = msg(&with(BASE_MAINNET, |v| {
        v.as_object_mut().unwrap().remove("block_time");
    }));
    assert!(m.contains("missing field `block_time`"), "{m}");

    let m = msg(&with(BASE_MAINNET, |v| {
        v["seq_window_size"] = Value::from("many")
    }));
    assert!(m.contains("invalid type"), "{m}");

    let m = msg(&with(BASE_MAINNET, |v| {
        v["genesis"]["l1"]["hash"] = Value::from("0x1234")
    }));
    assert!(m.contains("does not parse"), "{m}");

    let m = msg(&BASE_MAINNET[..200]);
    assert!(m.contains("EOF") && m.contains("line"), "{m}");

    let m = msg(&with(BASE_MAINNET, |v| v["block_time"] = Value::from(0u64)));
    assert!(m.contains("block_time must not be 0"), "{m}");

    let m = msg(&with(BASE_MAINNET, |v| {
        v["seq_window_size"] = Value::from(1u64)
    }));
    assert!(m.contains("seq_window_size is 1"), "{m}");

    let m = msg(&with(BASE_MAINNET, |v| {
        v["l2_chain_id"] = Value::from(1u64)
    }));
    assert!(m.contains("l1_chain_id and l2_chain_id are both 1"), "{m}");

    let m = msg(&with(BASE_MAINNET, |v| {
        v["deposit_contract_address"] = Value::from("0x0000000000000000000000000000000000000000")
    }));
    assert!(m.contains("deposit_contract_address"), "{m}");

    let m = msg(&with(BASE_MAINNET, |v| {
        v["fjord_time"] = Value::from(10u64);
    }));
    assert!(
        m.contains("fork fjord is set (to 10) but the prior fork"),
        "{m}"
    );

    let m = msg(&with(BASE_MAINNET, |v| {
        v["alt_da"] = serde_json::json!({
            "da_commitment_type": "KeccakCommitment",
            "da_challenge_window": 1,
            "da_resolve_window": 1
        })
    }));
    assert!(m.contains("da_challenge_contract_address"), "{m}");

    let m = msg(&with(BASE_MAINNET, |v| {
        v["alt_da"] = serde_json::json!({
            "da_commitment_type": "Blake",
            "da_challenge_window": 1,
            "da_resolve_window": 1
        })
    }));
    assert!(m.contains("unknown variant `Blake`"), "{m}");
}

/// One of the generated `is_<fork>_*` methods.
type ForkQuery = fn(&RollupConfig, u64) -> bool;

/// OP Sepolia's schedule (registry `sepolia/op.toml`): genesis at an even second, 2 s blocks.
fn op_sepolia() -> RollupConfig {
    RollupConfig::from_rollup_json(FULL).unwrap()
}

#[test]
fn fork_activation_boundaries() {
    let c = op_sepolia();
    let cases: [(Hardfork, u64, ForkQuery); 12] = [
        (Hardfork::Regolith, 0, RollupConfig::is_regolith_active),
        (
            Hardfork::Canyon,
            1_699_981_200,
            RollupConfig::is_canyon_active,
        ),
        (
            Hardfork::Delta,
            1_703_203_200,
            RollupConfig::is_delta_active,
        ),
        (
            Hardfork::Ecotone,
            1_708_534_800,
            RollupConfig::is_ecotone_active,
        ),
        (
            Hardfork::Fjord,
            1_716_998_400,
            RollupConfig::is_fjord_active,
        ),
        (
            Hardfork::Granite,
            1_723_478_400,
            RollupConfig::is_granite_active,
        ),
        (
            Hardfork::Holocene,
            1_732_633_200,
            RollupConfig::is_holocene_active,
        ),
        (
            Hardfork::Isthmus,
            1_744_905_600,
            RollupConfig::is_isthmus_active,
        ),
        (
            Hardfork::Jovian,
            1_763_568_001,
            RollupConfig::is_jovian_active,
        ),
        (
            Hardfork::Karst,
            1_781_712_001,
            RollupConfig::is_karst_active,
        ),
        (
            Hardfork::Lagoon,
            1_785_000_000,
            RollupConfig::is_lagoon_active,
        ),
        (
            Hardfork::Interop,
            1_790_000_000,
            RollupConfig::is_interop_active,
        ),
    ];
    for (fork, t, is_active) in cases {
        assert!(is_active(&c, t), "{fork} at {t}");
        assert!(is_active(&c, t + 1), "{fork} after {t}");
        assert_eq!(c.active_fork(t), fork, "newest fork at {t}");
        assert!(c.is_active(fork, t));
        if t > 0 {
            assert!(!is_active(&c, t - 1), "{fork} before {t}");
            assert!(!c.is_active(fork, t - 1));
            assert!(c.active_fork(t - 1) < fork);
        }
    }
    assert_eq!(c.active_fork(1_699_981_199), Hardfork::Regolith);
    assert!(!c.is_pectra_blob_schedule_active(1_742_486_399));
    assert!(c.is_pectra_blob_schedule_active(1_742_486_400));
}

#[test]
fn activation_blocks_on_the_block_grid() {
    let c = op_sepolia();
    // Holocene at an even second: that block is the first.
    let h = 1_732_633_200;
    assert!(c.is_holocene_activation_block(h));
    assert!(!c.is_holocene_activation_block(h + 2));
    assert!(!c.is_holocene_activation_block(h - 2));
    // Jovian at an odd second: the next even block is the first.
    let j = 1_763_568_001;
    assert!(!c.is_jovian_activation_block(j - 1));
    assert!(c.is_jovian_activation_block(j + 1));
    assert!(!c.is_jovian_activation_block(j + 3));
    assert!(c.is_activation_block(Hardfork::Jovian, j + 1));
    // Named helpers agree with the generic one.
    let named: [(Hardfork, ForkQuery); 11] = [
        (Hardfork::Canyon, RollupConfig::is_canyon_activation_block),
        (Hardfork::Delta, RollupConfig::is_delta_activation_block),
        (Hardfork::Ecotone, RollupConfig::is_ecotone_activation_block),
        (Hardfork::Fjord, RollupConfig::is_fjord_activation_block),
        (Hardfork::Granite, RollupConfig::is_granite_activation_block),
        (
            Hardfork::Holocene,
            RollupConfig::is_holocene_activation_block,
        ),
        (Hardfork::Isthmus, RollupConfig::is_isthmus_activation_block),
        (Hardfork::Jovian, RollupConfig::is_jovian_activation_block),
        (Hardfork::Karst, RollupConfig::is_karst_activation_block),
        (Hardfork::Lagoon, RollupConfig::is_lagoon_activation_block),
        (Hardfork::Interop, RollupConfig::is_interop_activation_block),
    ];
    for (fork, f) in named {
        let t = c.hardforks.activation_time(fork).unwrap();
        let first = t + (t % 2);
        assert!(f(&c, first), "{fork}");
        assert!(!f(&c, first + 2), "{fork}");
        assert_eq!(f(&c, first), c.is_activation_block(fork, first));
    }
    // Regolith at genesis has no activation block.
    assert!(!c.is_regolith_activation_block(c.genesis.l2_time));
}

#[test]
fn per_fork_derivation_parameters() {
    let c = op_sepolia();
    let granite = 1_723_478_400;
    assert_eq!(c.channel_timeout(granite - 1), 300);
    assert_eq!(c.channel_timeout(granite), 50);
    let fjord = 1_716_998_400;
    assert_eq!(c.max_sequencer_drift(fjord - 1), 600);
    assert_eq!(c.max_sequencer_drift(fjord), 1800);
    assert_eq!(c.max_rlp_bytes_per_channel(fjord - 1), 10_000_000);
    assert_eq!(c.max_rlp_bytes_per_channel(fjord), 100_000_000);
    assert_eq!(c.max_channel_bank_size(fjord - 1), 100_000_000);
    assert_eq!(c.max_channel_bank_size(fjord), 1_000_000_000);
    // Without Granite/Fjord scheduled, the configured values hold forever.
    let base = RollupConfig::from_rollup_json(BASE_MAINNET).unwrap();
    assert_eq!(base.channel_timeout(u64::MAX), 300);
    assert_eq!(base.max_sequencer_drift(u64::MAX), 600);
    assert_eq!(base.max_rlp_bytes_per_channel(u64::MAX), 10_000_000);
}

#[test]
fn block_timestamps_follow_genesis() {
    let c = op_sepolia();
    assert_eq!(c.timestamp_for_block(0), Some(1_691_802_540));
    assert_eq!(c.timestamp_for_block(10), Some(1_691_802_560));
    let base = RollupConfig::from_rollup_json(BASE_MAINNET).unwrap();
    let mut shifted = base.clone();
    shifted.genesis.l2.number = 100;
    assert_eq!(shifted.timestamp_for_block(99), None);
    assert_eq!(shifted.timestamp_for_block(100), Some(1_686_789_347));
    assert_eq!(shifted.timestamp_for_block(u64::MAX), None);
}

fn arb_b256() -> impl Strategy<Value = B256> {
    any::<[u8; 32]>().prop_map(B256::from)
}

fn arb_address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(Address::from)
}

fn arb_times() -> impl Strategy<Value = HardForkTimes> {
    proptest::collection::vec(proptest::option::of(any::<u64>()), 13).prop_map(|t| HardForkTimes {
        regolith_time: t[0],
        canyon_time: t[1],
        delta_time: t[2],
        ecotone_time: t[3],
        fjord_time: t[4],
        granite_time: t[5],
        holocene_time: t[6],
        pectra_blob_schedule_time: t[7],
        isthmus_time: t[8],
        jovian_time: t[9],
        karst_time: t[10],
        lagoon_time: t[11],
        interop_time: t[12],
    })
}

fn arb_system_config() -> impl Strategy<Value = SystemConfig> {
    (
        arb_address(),
        arb_b256(),
        arb_b256(),
        any::<u64>(),
        proptest::option::of(any::<[u8; 8]>().prop_map(B64::from)),
        proptest::option::of(arb_b256()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u16>()),
    )
        .prop_map(|(b, o, s, g, e, op, m, d)| SystemConfig {
            batcher_address: b,
            overhead: o,
            scalar: s,
            gas_limit: g,
            eip1559_params: e,
            operator_fee_params: op,
            min_base_fee: m,
            da_footprint_gas_scalar: d,
        })
}

fn arb_config() -> impl Strategy<Value = RollupConfig> {
    let genesis = (
        arb_b256(),
        any::<u64>(),
        arb_b256(),
        any::<u64>(),
        any::<u64>(),
        arb_system_config(),
    )
        .prop_map(|(h1, n1, h2, n2, t, sc)| Genesis {
            l1: BlockId {
                hash: h1,
                number: n1,
            },
            l2: BlockId {
                hash: h2,
                number: n2,
            },
            l2_time: t,
            system_config: sc,
        });
    let alt_da = proptest::option::of(
        (arb_address(), any::<bool>(), any::<u64>(), any::<u64>()).prop_map(|(a, g, w, r)| {
            AltDaConfig {
                da_challenge_address: a,
                da_commitment_type: if g {
                    DaCommitmentType::GenericCommitment
                } else {
                    DaCommitmentType::KeccakCommitment
                },
                da_challenge_window: w,
                da_resolve_window: r,
            }
        }),
    );
    let op = proptest::option::of(
        (
            any::<u64>(),
            any::<u64>(),
            proptest::option::of(any::<u64>()),
        )
            .prop_map(|(e, d, c)| ChainOpConfig {
                eip1559_elasticity: e,
                eip1559_denominator: d,
                eip1559_denominator_canyon: c,
            }),
    );
    (
        genesis,
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
        (any::<u64>(), any::<u64>()),
        arb_times(),
        any::<bool>(),
        (arb_address(), arb_address(), arb_address(), arb_address()),
        alt_da,
        op,
    )
        .prop_map(
            |(
                genesis,
                (bt, drift, sw, ct),
                (l1, l2),
                hardforks,
                keep,
                (bi, dc, sc, pv),
                alt_da,
                op,
            )| {
                RollupConfig {
                    genesis,
                    block_time: bt,
                    max_sequencer_drift_bedrock: drift,
                    seq_window_size: sw,
                    channel_timeout_bedrock: ct,
                    l1_chain_id: ChainId(l1),
                    l2_chain_id: ChainId(l2),
                    hardforks,
                    keep_karst_upgrade_gas: keep,
                    batch_inbox_address: bi,
                    deposit_contract_address: dc,
                    l1_system_config_address: sc,
                    protocol_versions_address: pv,
                    alt_da,
                    chain_op_config: op,
                }
            },
        )
}

proptest! {
    #[test]
    fn serde_round_trip(cfg in arb_config()) {
        let json = cfg.to_rollup_json().unwrap();
        let back: RollupConfig = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, cfg);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC*") {
        let _ = RollupConfig::from_rollup_json(&s);
    }

    #[test]
    fn damaged_rollup_json_never_panics(pos in 0usize..1000, byte in any::<u8>(), cut in 0usize..1000) {
        let mut bytes = BASE_SEPOLIA.as_bytes().to_vec();
        let len = bytes.len();
        if let Some(b) = bytes.get_mut(pos % len) {
            *b = byte;
        }
        bytes.truncate(len - cut % len);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = RollupConfig::from_rollup_json(s);
        }
    }
}

use super::*;
use crate::config::registry_json::RegistryJson;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/registry")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(vectors().join(name)).unwrap()
}

fn registry_json() -> RegistryJson {
    RegistryJson::from_json(&read("kona-rollup-configs.json")).unwrap()
}

/// Every field of a rollup config, named, so two configs can be compared field by field.
fn fields(c: &RollupConfig) -> Vec<(&'static str, String)> {
    let g = &c.genesis;
    let s = &g.system_config;
    let h = &c.hardforks;
    vec![
        ("genesis.l1", format!("{:?}", g.l1)),
        ("genesis.l2", format!("{:?}", g.l2)),
        ("genesis.l2_time", format!("{:?}", g.l2_time)),
        (
            "genesis.system_config.batcherAddr",
            format!("{:?}", s.batcher_address),
        ),
        (
            "genesis.system_config.overhead",
            format!("{:?}", s.overhead),
        ),
        ("genesis.system_config.scalar", format!("{:?}", s.scalar)),
        (
            "genesis.system_config.gasLimit",
            format!("{:?}", s.gas_limit),
        ),
        (
            "genesis.system_config.eip1559Params",
            format!("{:?}", s.eip1559_params),
        ),
        (
            "genesis.system_config.operatorFeeParams",
            format!("{:?}", s.operator_fee_params),
        ),
        (
            "genesis.system_config.minBaseFee",
            format!("{:?}", s.min_base_fee),
        ),
        (
            "genesis.system_config.daFootprintGasScalar",
            format!("{:?}", s.da_footprint_gas_scalar),
        ),
        ("block_time", format!("{:?}", c.block_time)),
        (
            "max_sequencer_drift",
            format!("{:?}", c.max_sequencer_drift_bedrock),
        ),
        ("seq_window_size", format!("{:?}", c.seq_window_size)),
        (
            "channel_timeout",
            format!("{:?}", c.channel_timeout_bedrock),
        ),
        ("l1_chain_id", format!("{:?}", c.l1_chain_id)),
        ("l2_chain_id", format!("{:?}", c.l2_chain_id)),
        ("regolith_time", format!("{:?}", h.regolith_time)),
        ("canyon_time", format!("{:?}", h.canyon_time)),
        ("delta_time", format!("{:?}", h.delta_time)),
        ("ecotone_time", format!("{:?}", h.ecotone_time)),
        ("fjord_time", format!("{:?}", h.fjord_time)),
        ("granite_time", format!("{:?}", h.granite_time)),
        ("holocene_time", format!("{:?}", h.holocene_time)),
        (
            "pectra_blob_schedule_time",
            format!("{:?}", h.pectra_blob_schedule_time),
        ),
        ("isthmus_time", format!("{:?}", h.isthmus_time)),
        ("jovian_time", format!("{:?}", h.jovian_time)),
        ("karst_time", format!("{:?}", h.karst_time)),
        ("lagoon_time", format!("{:?}", h.lagoon_time)),
        ("interop_time", format!("{:?}", h.interop_time)),
        (
            "keep_karst_upgrade_gas",
            format!("{:?}", c.keep_karst_upgrade_gas),
        ),
        (
            "batch_inbox_address",
            format!("{:?}", c.batch_inbox_address),
        ),
        (
            "deposit_contract_address",
            format!("{:?}", c.deposit_contract_address),
        ),
        (
            "l1_system_config_address",
            format!("{:?}", c.l1_system_config_address),
        ),
        (
            "protocol_versions_address",
            format!("{:?}", c.protocol_versions_address),
        ),
        ("alt_da", format!("{:?}", c.alt_da)),
        ("chain_op_config", format!("{:?}", c.chain_op_config)),
    ]
}

/// Asserts `a` and `b` agree on every field except those only one side carries.
fn assert_agree(what: &str, a: &RollupConfig, b: &RollupConfig, carried_by_one_side: &[&str]) {
    let (fa, fb) = (fields(a), fields(b));
    for name in carried_by_one_side {
        assert!(fa.iter().any(|(n, _)| n == name), "no field {name}");
    }
    let mut compared = 0;
    for ((name, va), (_, vb)) in fa.iter().zip(&fb) {
        if carried_by_one_side.contains(name) {
            continue;
        }
        assert_eq!(va, vb, "{what}: field {name} differs");
        compared += 1;
    }
    assert_eq!(compared + carried_by_one_side.len(), fa.len());
}

/// kona's registry JSON predates Karst, so Karst fields exist in the chain TOML only.
const KARST_FIELDS: [&str; 2] = ["karst_time", "keep_karst_upgrade_gas"];

const CHAINS: [(&str, u64, &str); 5] = [
    ("mainnet-op.toml", 10, "mainnet"),
    ("sepolia-op.toml", 11_155_420, "sepolia"),
    ("mainnet-base.toml", 8453, "mainnet"),
    ("sepolia-base.toml", 84532, "sepolia"),
    ("sepolia-unichain.toml", 1301, "sepolia"),
];

#[test]
fn toml_and_registry_json_agree_field_by_field() {
    let json = registry_json();
    for (file, id, superchain_name) in CHAINS {
        let entry = json.get(ChainId(id)).unwrap();
        assert_eq!(entry.superchain, superchain_name, "{file}");
        let superchain = json.superchain(superchain_name).unwrap();
        let from_toml = RollupConfig::from_registry_toml(&read(file), superchain).unwrap();
        assert_eq!(from_toml.l2_chain_id, ChainId(id), "{file}");
        assert_agree(file, &from_toml, &entry.config, &KARST_FIELDS);
    }
}

#[test]
fn toml_agrees_with_op_node_rollup_json_of_base() {
    let base_mainnet = include_str!("../testdata/base-mainnet-rollup.json");
    let base_sepolia = include_str!("../testdata/base-sepolia-rollup.json");
    // These rollup.json files were cut before Canyon and before the registry knew the
    // ProtocolVersions contract and the EIP-1559 parameters, so only the TOML carries those.
    let toml_only = [
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
        "keep_karst_upgrade_gas",
        "protocol_versions_address",
        "chain_op_config",
    ];
    for (file, rollup_json, superchain) in [
        ("mainnet-base.toml", base_mainnet, "mainnet"),
        ("sepolia-base.toml", base_sepolia, "sepolia"),
    ] {
        let from_toml = RollupConfig::from_registry_toml(
            &read(file),
            &Superchain::by_name(superchain).unwrap(),
        )
        .unwrap();
        let from_json = RollupConfig::from_rollup_json(rollup_json).unwrap();
        assert_agree(file, &from_toml, &from_json, &toml_only);
    }
}

#[test]
fn op_sepolia_known_values() {
    let c = RollupConfig::from_registry_toml(
        &read("sepolia-op.toml"),
        &Superchain::by_name("sepolia").unwrap(),
    )
    .unwrap();
    assert_eq!(c.l2_chain_id, ChainId(11_155_420));
    assert_eq!(c.l1_chain_id, ChainId(11_155_111));
    assert_eq!(
        c.batch_inbox_address,
        "0xff00000000000000000000000000000011155420"
            .parse::<Address>()
            .unwrap()
    );
    assert_eq!(c.block_time, 2);
    assert_eq!(c.seq_window_size, 3600);
    assert_eq!(c.max_sequencer_drift_bedrock, 600);
    assert_eq!(c.channel_timeout_bedrock, 300);
    assert_eq!(
        c.genesis.l1,
        BlockId {
            hash: "0x48f520cf4ddaf34c8336e6e490632ea3cf1e5e93b0b2bc6e917557e31845371b"
                .parse()
                .unwrap(),
            number: 4_071_408,
        }
    );
    assert_eq!(
        c.genesis.l2,
        BlockId {
            hash: "0x102de6ffb001480cc9b8b548fd05c34cd4f46ae4aa91759393db90ea0409887d"
                .parse()
                .unwrap(),
            number: 0,
        }
    );
    assert_eq!(c.genesis.l2_time, 1_691_802_540);
    assert_eq!(
        c.genesis.system_config.batcher_address,
        "0x8F23BB38F531600e5d8FDDaAEC41F13FaB46E98c"
            .parse::<Address>()
            .unwrap()
    );
    assert_eq!(c.genesis.system_config.gas_limit, 30_000_000);
    assert_eq!(
        c.deposit_contract_address,
        "0x16Fc5058F25648194471939df75CF27A2fdC48BC"
            .parse::<Address>()
            .unwrap()
    );
    assert_eq!(
        c.l1_system_config_address,
        "0x034edD2A225f7f429A63E0f1D2084B9E0A93b538"
            .parse::<Address>()
            .unwrap()
    );
    assert_eq!(c.hardforks.regolith_time, Some(0));
    assert_eq!(c.hardforks.canyon_time, Some(1_699_981_200));
    assert_eq!(c.hardforks.jovian_time, Some(1_763_568_001));
    assert_eq!(c.hardforks.karst_time, Some(1_781_712_001));
    assert_eq!(c.hardforks.interop_time, None);
    assert!(c.keep_karst_upgrade_gas);
    assert_eq!(
        c.chain_op_config,
        Some(ChainOpConfig {
            eip1559_elasticity: 6,
            eip1559_denominator: 50,
            eip1559_denominator_canyon: Some(250),
        })
    );
    assert_eq!(c.protocol_versions_address, Address::ZERO);
    assert_eq!(
        c.active_fork(1_763_568_001),
        crate::config::Hardfork::Jovian
    );
}

#[test]
fn unichain_sepolia_has_one_second_blocks_and_forks_from_genesis() {
    let c = RollupConfig::from_registry_toml(
        &read("sepolia-unichain.toml"),
        &Superchain::by_name("sepolia").unwrap(),
    )
    .unwrap();
    assert_eq!(c.block_time, 1);
    assert_eq!(c.hardforks.granite_time, Some(0));
    assert!(c.is_granite_active(c.genesis.l2_time));
    assert_eq!(c.channel_timeout(c.genesis.l2_time), 50);
    assert!(!c.is_holocene_active(1_734_559_199));
    assert!(c.is_holocene_activation_block(1_734_559_200));
}

#[test]
fn every_registry_json_entry_loads_and_round_trips_through_rollup_json() {
    let json = registry_json();
    assert_eq!(json.len(), 65);
    for chain in json.chains() {
        let c = &chain.config;
        let text = c.to_rollup_json().unwrap();
        let back = RollupConfig::from_rollup_json(&text)
            .unwrap_or_else(|e| panic!("{} ({}): {e}", chain.name, c.l2_chain_id));
        assert_eq!(&back, c, "{}", chain.name);
        assert_eq!(c.hardforks.regolith_time, Some(0));
        assert_eq!(c.channel_timeout_bedrock, 300);
        assert_eq!(
            c.protocol_versions_address,
            json.superchain(&chain.superchain)
                .unwrap()
                .protocol_versions_address
                .unwrap()
        );
    }
    // Alt-DA chains keep their challenge contract; Redstone (690) is one.
    let redstone = &json.get(ChainId(690)).unwrap().config;
    let alt = redstone.alt_da.unwrap();
    assert_eq!(
        alt.da_challenge_address,
        "0x97a2da87d3439b172e6dd027220e01c9cb565b80"
            .parse::<Address>()
            .unwrap()
    );
    assert_eq!(alt.da_challenge_window, 3600);
    assert_eq!(alt.da_commitment_type, DaCommitmentType::KeccakCommitment);
    assert_eq!(json.get(ChainId(1)), None);
}

#[test]
fn superchain_toml_and_names() {
    let s = Superchain::from_toml(
        r#"
name = "Sepolia"
protocol_versions_addr = "0x79ADD5713B383DAa0a138d3C4780C7A1804a8090"
superchain_config_addr = "0xC2Be75506d5724086DEB7245bd260Cc9753911Be"

[hardforks]
  canyon_time = 1699981200

[l1]
  chain_id = 11155111
  public_rpc = "https://ethereum-sepolia-rpc.publicnode.com"
"#,
    )
    .unwrap();
    assert_eq!(s.l1_chain_id, ChainId(11_155_111));
    assert_eq!(
        s.protocol_versions_address,
        Some(
            "0x79add5713b383daa0a138d3c4780c7a1804a8090"
                .parse()
                .unwrap()
        )
    );
    assert_eq!(
        Superchain::by_name("mainnet").unwrap().l1_chain_id,
        ChainId(1)
    );
    assert_eq!(
        Superchain::by_name("sepolia-dev-0").unwrap().l1_chain_id,
        ChainId(11_155_111)
    );
    let err = Superchain::by_name("holesky").unwrap_err();
    assert!(err.to_string().contains("\"holesky\""), "{err}");
    let err = Superchain::from_toml("name = \"x\"\n").unwrap_err();
    assert!(err.to_string().contains("missing field `l1`"), "{err}");
}

#[test]
fn absent_registry_fields_take_op_node_defaults() {
    let toml = read("sepolia-op.toml")
        .lines()
        .filter(|l| !l.starts_with("seq_window_size") && !l.starts_with("max_sequencer_drift"))
        .collect::<Vec<_>>()
        .join("\n");
    let c =
        RollupConfig::from_registry_toml(&toml, &Superchain::by_name("sepolia").unwrap()).unwrap();
    assert_eq!(c.seq_window_size, 3600);
    assert_eq!(c.max_sequencer_drift_bedrock, 600);
    assert_eq!(c.channel_timeout_bedrock, 300);
    assert_eq!(c.alt_da, None);
}

fn edited(file: &str, from: &str, to: &str) -> String {
    let text = read(file);
    assert!(text.contains(from), "{from:?} not in {file}");
    text.replacen(from, to, 1)
}

#[test]
fn corrupt_toml_says_what_is_wrong() {
    let sepolia = Superchain::by_name("sepolia").unwrap();
    let msg = |toml: &str| {
        RollupConfig::from_registry_toml(toml, &sepolia)
            .unwrap_err()
            .to_string()
    };

    let m = msg(&edited("sepolia-op.toml", "block_time = 2\n", ""));
    assert!(m.contains("missing field `block_time`"), "{m}");

    let m = msg(&edited(
        "sepolia-op.toml",
        "chain_id = 11155420",
        "chain_id = \"op\"",
    ));
    assert!(m.contains("chain_id") && m.contains("line"), "{m}");

    let m = msg(&edited("sepolia-op.toml", "[genesis.l1]", "[genesis.l1"));
    assert!(m.contains("line"), "{m}");

    let m = msg(&edited(
        "sepolia-op.toml",
        "OptimismPortalProxy = \"0x16Fc5058F25648194471939df75CF27A2fdC48BC\"\n",
        "",
    ));
    assert!(
        m.contains("chain 11155420: [addresses].OptimismPortalProxy is missing"),
        "{m}"
    );

    let m = msg(&edited(
        "sepolia-op.toml",
        "block_time = 2",
        "block_time = 0",
    ));
    assert!(
        m.contains("chain 11155420: block_time must not be 0"),
        "{m}"
    );

    let m = msg(&edited(
        "sepolia-op.toml",
        "delta_time = 1703203200",
        "delta_time = 1799999999",
    ));
    assert!(m.contains("fork ecotone"), "{m}");

    let m = msg(&edited(
        "sepolia-op.toml",
        "batcherAddress = \"0x8F23BB38F531600e5d8FDDaAEC41F13FaB46E98c\"",
        "batcherAddress = \"0x8F23\"",
    ));
    assert!(m.contains("batcherAddress"), "{m}");
}

#[test]
fn corrupt_registry_json_says_what_is_wrong() {
    let text = read("kona-rollup-configs.json");
    let err = RegistryJson::from_json(&text[..5000]).unwrap_err();
    assert!(err.to_string().contains("EOF while parsing"), "{err}");

    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["superchains"][0]["chains"][1]["Addresses"] = serde_json::Value::Null;
    let err = RegistryJson::from_json(&v.to_string()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "superchain \"mainnet\", chain #1 (\"Unichain\"): chain 130: [addresses].OptimismPortalProxy is missing"
    );

    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["superchains"][0]["chains"][0]["genesis"]["system_config"]["daFootprintGasScalar"] =
        serde_json::Value::from(70_000u64);
    let err = RegistryJson::from_json(&v.to_string()).unwrap_err();
    assert!(
        err.to_string()
            .contains("daFootprintGasScalar = 70000 does not fit in 16 bits"),
        "{err}"
    );

    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dup = v["superchains"][0]["chains"][0].clone();
    v["superchains"][2]["chains"]
        .as_array_mut()
        .unwrap()
        .push(dup);
    let err = RegistryJson::from_json(&v.to_string()).unwrap_err();
    assert!(
        err.to_string().contains("chain id 10 appears twice"),
        "{err}"
    );
}

proptest! {
    #[test]
    fn arbitrary_toml_never_panics(s in "\\PC*") {
        let sepolia = Superchain::by_name("sepolia").unwrap();
        let _ = RollupConfig::from_registry_toml(&s, &sepolia);
        let _ = Superchain::from_toml(&s);
    }

    #[test]
    fn damaged_chain_toml_never_panics(pos in 0usize..2100, byte in 0x20u8..0x7f, cut in 0usize..2100) {
        let mut bytes = read("sepolia-unichain.toml").into_bytes();
        let len = bytes.len();
        if let Some(b) = bytes.get_mut(pos % len) {
            *b = byte;
        }
        bytes.truncate(len - cut % len);
        let sepolia = Superchain::by_name("sepolia").unwrap();
        if let Ok(s) = String::from_utf8(bytes) {
            let _ = RollupConfig::from_registry_toml(&s, &sepolia);
        }
    }

    #[test]
    fn arbitrary_registry_json_never_panics(s in "\\PC*") {
        let _ = RegistryJson::from_json(&s);
    }
}

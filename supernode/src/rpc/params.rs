//! Parameter parsing and JSON-RPC errors shared by the root and per-chain endpoints.
//!
//! Chain ids arrive as decimal strings (numbers and `0x` hex are accepted too); block numbers
//! and timestamps as `0x` hex quantities (`hexutil.Uint64`), plain numbers accepted.

use jsonrpsee::types::{ErrorObjectOwned, Params};
use opfleet_protocol::ChainId;
use serde_json::Value;

/// JSON-RPC "invalid params".
pub const INVALID_PARAMS: i32 = -32602;
/// Server error: the data is not there (not yet derived, not stored, not in the EL).
pub const NOT_FOUND: i32 = -32000;
/// Server error: a backend (execution client, database) failed.
pub const BACKEND: i32 = -32001;
/// Server error: the method exists but this node cannot serve it in its configuration.
pub const UNSUPPORTED: i32 = -32002;

/// An error object with no data.
pub fn err(code: i32, msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, msg.into(), None::<()>)
}

/// "invalid params" naming the parameter.
pub fn invalid(what: impl std::fmt::Display) -> ErrorObjectOwned {
    err(INVALID_PARAMS, format!("invalid params: {what}"))
}

/// The positional parameters as JSON values (an absent list is empty).
pub fn positional(params: &Params<'_>) -> Result<Vec<Value>, ErrorObjectOwned> {
    if params.as_str().is_none() {
        return Ok(Vec::new());
    }
    match params.parse::<Value>() {
        Ok(Value::Array(v)) => Ok(v),
        Ok(Value::Null) => Ok(Vec::new()),
        Ok(other) => Err(invalid(format!(
            "expected a positional parameter list, got {other}"
        ))),
        Err(e) => Err(invalid(e.message())),
    }
}

/// Parameter `index` (named `name` in errors), required.
pub fn required<'a>(
    args: &'a [Value],
    index: usize,
    name: &str,
) -> Result<&'a Value, ErrorObjectOwned> {
    args.get(index)
        .ok_or_else(|| invalid(format!("missing parameter {index} ({name})")))
}

/// A chain id value.
pub fn chain_id(v: &Value, name: &str) -> Result<ChainId, ErrorObjectOwned> {
    serde_json::from_value::<ChainId>(v.clone()).map_err(|e| invalid(format!("{name}: {e}")))
}

/// A `hexutil.Uint64` (or plain number) value.
pub fn quantity(v: &Value, name: &str) -> Result<u64, ErrorObjectOwned> {
    let bad = || {
        invalid(format!(
            "{name}: expected a 0x-prefixed hex quantity, got {v}"
        ))
    };
    match v {
        Value::String(s) => {
            let hex = s
                .strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .ok_or_else(bad)?;
            if hex.is_empty() || hex.len() > 16 {
                return Err(bad());
            }
            u64::from_str_radix(hex, 16).map_err(|_| bad())
        }
        Value::Number(n) => n.as_u64().ok_or_else(bad),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities() {
        assert_eq!(quantity(&json!("0x10"), "n").unwrap(), 16);
        assert_eq!(quantity(&json!(16), "n").unwrap(), 16);
        for bad in [
            json!("10"),
            json!("0x"),
            json!("0xzz"),
            json!(-1),
            json!(null),
        ] {
            let e = quantity(&bad, "blockNumber").unwrap_err();
            assert_eq!(e.code(), INVALID_PARAMS);
            assert!(e.message().contains("blockNumber"), "{}", e.message());
        }
        assert!(quantity(&json!("0x10000000000000000"), "n").is_err());
    }

    #[test]
    fn chain_ids() {
        assert_eq!(chain_id(&json!("10"), "c").unwrap(), ChainId(10));
        assert_eq!(chain_id(&json!(10), "c").unwrap(), ChainId(10));
        assert!(chain_id(&json!("ten"), "chainId").is_err());
    }
}

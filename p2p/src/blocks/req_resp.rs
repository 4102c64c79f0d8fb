//! `payload_by_number` over libp2p request-response: the stream codec and the serving side.
//!
//! ```text
//!   client ── u64 LE block number ──────────────────────────────► server
//!   client ◄── result(1) [| version u32 LE | snappy frames(...)] ─ server, then EOF
//! ```
//!
//! The codec moves raw bytes: decoding a response needs the block's topic version, which only
//! the requester knows, so [`crate::blocks::BlockGossipNode::request_payload`] decodes it.

use std::future::Future;
use std::io;
use std::pin::Pin;

use libp2p::StreamProtocol;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response::{self, ProtocolSupport};
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_protocol::ChainId;
use opfleet_protocol::p2p::ResultCode;
use opfleet_protocol::p2p::req_resp::{
    MAX_RESPONSE_SIZE, decode_request, encode_failure, encode_request, encode_success,
    payload_by_number_protocol_id, payload_by_number_protocol_id_spec,
};

/// op-node's result code for a failure that is neither "not found" nor "invalid request".
pub const RESULT_UNKNOWN_ERROR: u8 = 3;

/// A second-tier payload lookup, run off the node's event loop.
pub type PayloadLookup =
    Pin<Box<dyn Future<Output = Option<OpExecutionPayloadEnvelope>> + Send + 'static>>;

/// Where a serving node finds the payloads it answers `payload_by_number` with.
///
/// ```text
///   request n ─> payload_by_number(n)   memory, on the event loop ─> answer
///                  └ None ─> lookup_payload(n)   e.g. an execution client, spawned,
///                                                bounded in count and time ─> answer
/// ```
pub trait PayloadStore: Send + Sync + 'static {
    /// The canonical payload at `number` from memory. Called on the node's event loop: it
    /// must not block.
    fn payload_by_number(&self, number: u64) -> Option<OpExecutionPayloadEnvelope>;

    /// A slower lookup for what [`Self::payload_by_number`] does not hold; the node runs it off
    /// its event loop. `None` (the default) answers "not found" at once.
    fn lookup_payload(&self, _number: u64) -> Option<PayloadLookup> {
        None
    }
}

/// A store that has nothing (a node that only requests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPayloads;

impl PayloadStore for NoPayloads {
    fn payload_by_number(&self, _number: u64) -> Option<OpExecutionPayloadEnvelope> {
        None
    }
}

/// A complete, still encoded `payload_by_number` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse(pub Vec<u8>);

/// The protocols to register: op-node's id both ways, the spec's trailing-slash id inbound only.
pub fn protocols(chain_id: ChainId) -> Result<[(StreamProtocol, ProtocolSupport); 2], String> {
    let op_node = StreamProtocol::try_from_owned(payload_by_number_protocol_id(chain_id))
        .map_err(|e| e.to_string())?;
    let spec = StreamProtocol::try_from_owned(payload_by_number_protocol_id_spec(chain_id))
        .map_err(|e| e.to_string())?;
    Ok([
        (op_node, ProtocolSupport::Full),
        (spec, ProtocolSupport::Inbound),
    ])
}

fn failure(code: ResultCode) -> RawResponse {
    RawResponse(encode_failure(code).map_or_else(|| vec![RESULT_UNKNOWN_ERROR], Vec::from))
}

/// The answer to a request refused by the rate limits: op-node's "unknown error" code, which it
/// writes when its rate-limit wait gives up.
pub fn refused() -> RawResponse {
    failure(ResultCode::Other(RESULT_UNKNOWN_ERROR))
}

/// The response to send for `number` from the store's memory tier: the encoded payload, or
/// the failure code.
pub fn serve(store: &dyn PayloadStore, number: u64) -> RawResponse {
    answer(number, store.payload_by_number(number))
}

/// The response to a request for `number` answered with `found`.
pub fn answer(number: u64, found: Option<OpExecutionPayloadEnvelope>) -> RawResponse {
    match found {
        None => failure(ResultCode::NotFound),
        Some(envelope) if envelope.execution_payload.block_number() != number => {
            tracing::warn!(
                number,
                "payload store answered with another block; not serving it"
            );
            failure(ResultCode::Other(RESULT_UNKNOWN_ERROR))
        }
        Some(envelope) => match encode_success(&envelope) {
            Ok(bytes) => RawResponse(bytes),
            Err(e) => {
                tracing::warn!(number, error = %e, "cannot encode payload for payload_by_number");
                failure(ResultCode::Other(RESULT_UNKNOWN_ERROR))
            }
        },
    }
}

/// The request-response codec of `payload_by_number`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PayloadByNumberCodec;

fn invalid_data(e: impl ToString) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl request_response::Codec for PayloadByNumberCodec {
    type Protocol = StreamProtocol;
    type Request = u64;
    type Response = RawResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<u64>
    where
        T: AsyncRead + Unpin + Send,
    {
        // Exactly 8 bytes: a requester that keeps its write side open must not stall us.
        let mut buf = [0u8; 8];
        io.read_exact(&mut buf).await?;
        decode_request(&buf).map_err(invalid_data)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<RawResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut buf = Vec::new();
        io.take(MAX_RESPONSE_SIZE as u64 + 1)
            .read_to_end(&mut buf)
            .await?;
        if buf.len() > MAX_RESPONSE_SIZE {
            return Err(invalid_data(format!(
                "payload_by_number response above {MAX_RESPONSE_SIZE} bytes"
            )));
        }
        Ok(RawResponse(buf))
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, req: u64) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&encode_request(req)).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: RawResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&res.0).await?;
        io.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::futures::executor::block_on;
    use libp2p::futures::io::Cursor;
    use libp2p::request_response::Codec;

    fn protocol() -> StreamProtocol {
        StreamProtocol::new("/opstack/req/payload_by_number/10/0")
    }

    #[test]
    fn protocol_ids_are_op_node_first() {
        let [(op_node, full), (spec, inbound)] = protocols(ChainId::from(10u64)).unwrap();
        assert_eq!(op_node.as_ref(), "/opstack/req/payload_by_number/10/0");
        assert!(matches!(full, ProtocolSupport::Full));
        assert_eq!(spec.as_ref(), "/opstack/req/payload_by_number/10/0/");
        assert!(matches!(inbound, ProtocolSupport::Inbound));
    }

    #[test]
    fn request_round_trips_and_short_requests_fail() {
        block_on(async {
            let mut codec = PayloadByNumberCodec;
            let mut wire = Cursor::new(Vec::new());
            codec
                .write_request(&protocol(), &mut wire, 0x0102_0304)
                .await
                .unwrap();
            assert_eq!(wire.get_ref(), &[4, 3, 2, 1, 0, 0, 0, 0]);
            let mut read = Cursor::new(wire.into_inner());
            assert_eq!(
                codec.read_request(&protocol(), &mut read).await.unwrap(),
                0x0102_0304
            );
            let mut short = Cursor::new(vec![1u8, 2, 3]);
            assert!(codec.read_request(&protocol(), &mut short).await.is_err());
        });
    }

    #[test]
    fn response_is_read_to_the_end_and_capped() {
        block_on(async {
            let mut codec = PayloadByNumberCodec;
            let mut read = Cursor::new(vec![1u8]);
            assert_eq!(
                codec.read_response(&protocol(), &mut read).await.unwrap(),
                RawResponse(vec![1])
            );
            let mut huge = Cursor::new(vec![0u8; MAX_RESPONSE_SIZE + 1]);
            assert!(codec.read_response(&protocol(), &mut huge).await.is_err());
        });
    }

    #[test]
    fn missing_block_is_not_found() {
        assert_eq!(serve(&NoPayloads, 5), RawResponse(vec![1]));
    }
}

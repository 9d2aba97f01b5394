//! DNS queries this server sends as a client — to the parent's servers,
//! to children's servers and to the configured resolver: one question over
//! UDP, again over TCP when the answer is truncated, each step bounded in
//! time. Answers are parsed with hickory-proto.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// How long one server has for each step of an answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// How a query asks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    /// RD: ask a resolver to recurse.
    pub recursion_desired: bool,
    /// DO (EDNS0, RFC 3225): ask for signatures.
    pub dnssec_ok: bool,
}

/// One query for `name` (wire form) and `rtype`, class IN, at `server`.
pub async fn query(server: SocketAddr, name: &[u8], rtype: u16, flags: Flags) -> std::io::Result<Message> {
    let id = super::notify::random_id();
    let header_flags: u16 = if flags.recursion_desired { 0x0100 } else { 0 };
    let additional: u16 = if flags.dnssec_ok { 1 } else { 0 };
    let mut bytes = [id.to_be_bytes().as_slice(), &header_flags.to_be_bytes(), &[0, 1, 0, 0, 0, 0], &additional.to_be_bytes()].concat();
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(&rtype.to_be_bytes());
    bytes.extend_from_slice(&[0, 1]);
    if flags.dnssec_ok {
        // OPT: root owner, a 4096-octet UDP payload, DO set, no options.
        bytes.extend_from_slice(&[0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 0]);
    }
    let socket = UdpSocket::bind(SocketAddr::new(unspecified(server), 0)).await?;
    socket.send_to(&bytes, server).await?;
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    let answer = loop {
        let (len, from) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await??;
        if from != server {
            continue;
        }
        match Message::from_vec(&buf[..len]) {
            Ok(m) if m.metadata.id == id && m.metadata.message_type == MessageType::Response => break m,
            _ => continue,
        }
    };
    if !answer.metadata.truncation {
        return Ok(answer);
    }
    let mut stream = tokio::time::timeout(ANSWER_TIMEOUT, TcpStream::connect(server)).await??;
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    stream.write_all(&framed).await?;
    let mut len = [0u8; 2];
    tokio::time::timeout(ANSWER_TIMEOUT, stream.read_exact(&mut len)).await??;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    tokio::time::timeout(ANSWER_TIMEOUT, stream.read_exact(&mut body)).await??;
    Message::from_vec(&body).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}

/// The RDATA (wire form) of the answer records of type `rtype`.
pub fn answer_rdatas(message: &Message, rtype: u16) -> Vec<Vec<u8>> {
    message
        .answers
        .iter()
        .filter(|r| u16::from(r.record_type()) == rtype)
        .filter_map(|r| {
            let mut rdata = Vec::new();
            r.data.emit(&mut BinEncoder::new(&mut rdata)).ok().map(|_| rdata)
        })
        .collect()
}

fn unspecified(server: SocketAddr) -> std::net::IpAddr {
    if server.is_ipv4() { std::net::Ipv4Addr::UNSPECIFIED.into() } else { std::net::Ipv6Addr::UNSPECIFIED.into() }
}

//! RFC 5734 framing: each EPP data unit is a 4-byte length that counts
//! itself, then the XML; reads are bounded in size and time (a frame, once
//! started, must arrive within its deadline), writes in time.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub(super) enum Frame {
    Data(Vec<u8>),
    /// Larger than allowed: answered with 2500 and the connection closed.
    TooLarge(u32),
    Closed,
}

/// Reads one RFC 5734 data unit: a 4-byte length that counts itself, then the XML.
pub(super) async fn read_frame<S: AsyncRead + Unpin>(
    stream: &mut S,
    max: usize,
    wait: Duration,
    complete_within: Duration,
) -> std::io::Result<Frame> {
    let len = match tokio::time::timeout(wait, stream.read_u32()).await {
        Ok(Ok(len)) => len,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(Frame::Closed),
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(Frame::Closed),
    };
    if len < 5 || len as usize - 4 > max {
        return Ok(Frame::TooLarge(len));
    }
    let mut payload = vec![0u8; len as usize - 4];
    match tokio::time::timeout(complete_within, stream.read_exact(&mut payload)).await {
        Ok(Ok(_)) => Ok(Frame::Data(payload)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(Frame::Closed),
        Ok(Err(e)) => Err(e),
        // A length prefix that promises more than ever arrives, or a slowloris peer.
        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "frame not completed in time")),
    }
}

pub(super) async fn write_frame<S: AsyncWrite + Unpin>(stream: &mut S, xml: &str, limit: Duration) -> std::io::Result<()> {
    let mut framed = Vec::with_capacity(xml.len() + 4);
    framed.extend_from_slice(&((xml.len() + 4) as u32).to_be_bytes());
    framed.extend_from_slice(xml.as_bytes());
    tokio::time::timeout(limit, async {
        stream.write_all(&framed).await?;
        stream.flush().await
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "peer not reading"))?
}

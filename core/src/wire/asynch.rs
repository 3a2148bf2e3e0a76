//! The codec over `embedded_io_async` streams (Embassy's sockets, a TLS
//! session over one, tokio's through `embedded-io-adapters`): the loops of
//! `blocking.rs` with `.await`. Every byte they write and every limit and
//! error of what they read comes from the same sans-IO code.

use embedded_io_async::{Read, Write};
use httparse::Header;

use super::WireError;
use super::body::{Next, Reader};
use super::read::{HeadReader, WireResponse};
use super::write::{EncodedRequest, WireRequest, unwritten};
use crate::transmit::Headers;

/// [`read_response`](super::read_response) over an async stream: the same
/// response, or the same error, for the same bytes.
///
/// ```
/// use authsession_core::wire::{httparse, read_response_async};
/// use authsession_core::Response;
/// # use core::pin::pin;
/// # use core::task::{Context, Poll, Waker};
///
/// async fn status(mut answer: &[u8]) -> u16 {
///     let mut buf = [0u8; 128];
///     let mut headers = [httparse::EMPTY_HEADER; 8];
///     match read_response_async(&mut answer, &mut buf, &mut headers).await {
///         Ok(response) => response.status(),
///         Err(_) => 0,
///     }
/// }
///
/// // A byte slice is always ready: one poll runs it to the end.
/// let answer = b"HTTP/1.1 204 No Content\r\n\r\n";
/// let mut future = pin!(status(answer));
/// let polled = future.as_mut().poll(&mut Context::from_waker(Waker::noop()));
/// assert_eq!(polled, Poll::Ready(204));
/// ```
pub async fn read_response_async<'h, 'b: 'h, S: Read + ?Sized>(
    stream: &mut S,
    buf: &'b mut [u8],
    headers: &'h mut [Header<'b>],
) -> Result<WireResponse<'h>, WireError> {
    let head_end = pump(stream, buf, HeadReader::default()).await?;
    let (head, region, body) = head_end.parse(buf, headers)?;
    let body_len = pump(stream, region, body).await?;
    head.with_body(region, body_len)
}

/// Feeds `reader` from `stream` until it is done.
async fn pump<S: Read + ?Sized, R: Reader>(
    stream: &mut S,
    buf: &mut [u8],
    mut reader: R,
) -> Result<R::Output, WireError> {
    loop {
        match reader.next(buf)? {
            Next::Read(space) => {
                let read = stream
                    .read(space)
                    .await
                    .map_err(|error| WireError::io(&error))?;
                reader.advance(read)?;
            }
            Next::Done(output) => return Ok(output),
        }
    }
}

/// [`write_request`](super::write_request) over an async stream: the same
/// bytes, in the same writes, and the same refusals before the first byte.
pub async fn write_request_async<W: Write + ?Sized>(
    stream: &mut W,
    request: &WireRequest<'_>,
    headers: &Headers<'_>,
) -> Result<(), WireError> {
    let request = EncodedRequest::new(request, headers)?;
    for mut part in request.parts() {
        while !part.is_empty() {
            let written = stream
                .write(part)
                .await
                .map_err(|error| WireError::io(&error))?;
            part = unwritten(part, written)?;
        }
    }
    stream.flush().await.map_err(|error| WireError::io(&error))
}

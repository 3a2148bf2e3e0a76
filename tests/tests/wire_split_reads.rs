//! The HTTP/1.1 reader's answer is a function of the bytes alone, not of
//! how the stream hands them out: every response of the `http_response`
//! fuzz corpus, read whole and read one, two and three bytes at a time,
//! gives the same status, reason, headers and body, or the same error. So
//! does a chunked response whose trailers span several reads (a fuzz
//! finding: it used to be `Ok` whole and `BodyTooLarge` in 3-byte reads).
// Test helpers may fail loudly: their panics are the tests' failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use authsession_core::Response;
use authsession_core::wire::embedded_io::{ErrorType, Read};
use authsession_core::wire::httparse::EMPTY_HEADER;
use authsession_core::wire::{WireError, read_response};

/// A stream that hands out at most `step` bytes a read, then ends.
struct Pieces<'a> {
    bytes: &'a [u8],
    step: usize,
}

impl ErrorType for Pieces<'_> {
    type Error = core::convert::Infallible;
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let (piece, rest) = self
            .bytes
            .split_at(self.step.min(buf.len()).min(self.bytes.len()));
        buf[..piece.len()].copy_from_slice(piece);
        self.bytes = rest;
        Ok(piece.len())
    }
}

/// What a read gave, owned, so that two reads can be compared.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Response {
        status: u16,
        reason: String,
        headers: Vec<(String, Vec<u8>)>,
        body: Vec<u8>,
    },
    Error(WireError),
}

/// Reads `bytes`, `step` bytes at a time, into a buffer of `capacity`
/// bytes and 16 headers (as the fuzz target does).
fn read(bytes: &[u8], step: usize, capacity: usize) -> Outcome {
    let mut buf = vec![0u8; capacity];
    let mut headers = [EMPTY_HEADER; 16];
    match read_response(&mut Pieces { bytes, step }, &mut buf, &mut headers) {
        Ok(response) => Outcome::Response {
            status: response.status(),
            reason: response.reason().to_owned(),
            headers: (response.headers().iter())
                .map(|header| (header.name.to_owned(), header.value.to_vec()))
                .collect(),
            body: response.body().to_vec(),
        },
        Err(error) => Outcome::Error(error),
    }
}

/// How the reads of one, two and three bytes at a time differ from the
/// read of `bytes` whole, if they do: one line for each that does.
fn splits_that_differ(bytes: &[u8], capacity: usize) -> Vec<String> {
    let whole = read(bytes, usize::MAX, capacity);
    [1, 2, 3]
        .into_iter()
        .map(|step| (step, read(bytes, step, capacity)))
        .filter(|(_, split)| *split != whole)
        .map(|(step, split)| format!("whole: {whole:?}; {step} bytes a read: {split:?}"))
        .collect()
}

#[test]
fn every_corpus_response_reads_alike_whole_and_in_small_pieces() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/http_response");
    let mut files: Vec<_> = fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("no corpus in {folder:?}: {error}"))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the corpus in {folder:?} is empty");
    let mut failures = Vec::new();
    for file in &files {
        let data = fs::read(file).unwrap();
        // As `fuzz/src/wire.rs` reads a corpus file: its first byte picks
        // the buffer's size, the rest is the stream.
        let Some((&size, bytes)) = data.split_first() else {
            continue;
        };
        for difference in splits_that_differ(bytes, 32 << (size % 8)) {
            failures.push(format!("{}: {difference}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{} corpus files read alike in every split", files.len());
}

#[test]
fn trailers_spanning_several_reads_read_alike() {
    // A 47-byte head, a 5-byte body, then 107 bytes of trailers: longer
    // than the 81 bytes the head leaves of a 128-byte buffer, so refused
    // however they arrive, and read when the buffer is large enough.
    let mut answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    answer.extend_from_slice(b"5\r\nhello\r\n0\r\n");
    for n in 0..5 {
        answer.extend_from_slice(format!("X-Trailer-{n}: 123456\r\n").as_bytes());
    }
    answer.extend_from_slice(b"\r\n");
    assert_eq!(splits_that_differ(&answer, 128), Vec::<String>::new());
    assert_eq!(
        read(&answer, 3, 128),
        Outcome::Error(WireError::BodyTooLarge { capacity: 81 })
    );
    assert_eq!(splits_that_differ(&answer, 256), Vec::<String>::new());
    assert!(matches!(
        read(&answer, 3, 256),
        Outcome::Response { status: 200, body, .. } if body == b"hello"
    ));
}

//! The model name of a gRPC V2 request, read from the first protobuf field
//! of the first message without decoding the rest (the tensors), and the
//! same bytes with the name replaced (model aliases).
//!
//! A gRPC message is framed as 1 byte "compressed", 4 bytes big-endian
//! length, then the protobuf. `ModelInferRequest`, `ModelReadyRequest` and
//! `ModelMetadataRequest` all carry `string name/model_name = 1`, which
//! encoders write first (tag 0x0a).

use bytes::{BufMut, Bytes, BytesMut};

/// What the bytes read so far say about the model name.
#[derive(Debug, PartialEq, Eq)]
pub enum Peek {
    /// More bytes are needed to reach the end of field 1.
    NeedMore,
    /// The name sits at this byte range of the buffer.
    Name { start: usize, end: usize },
    /// No readable name: compressed message, another first field, or malformed.
    Absent,
}

const HEADER: usize = 5;
const TAG_FIELD1_LEN: u8 = 0x0a;

/// Reads a varint at `buf[at..]`: (value, bytes used), or None if cut short.
fn varint(buf: &[u8], at: usize) -> Option<Result<(u64, usize), ()>> {
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *buf.get(at + i)?;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(Ok((value, i + 1)));
        }
    }
    Some(Err(()))
}

pub fn peek(buf: &[u8]) -> Peek {
    if buf.len() < HEADER + 1 {
        return Peek::NeedMore;
    }
    if buf[0] != 0 || buf[HEADER] != TAG_FIELD1_LEN {
        return Peek::Absent;
    }
    let msg_len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    let (len, used) = match varint(buf, HEADER + 1) {
        None => return Peek::NeedMore,
        Some(Err(())) => return Peek::Absent,
        Some(Ok(v)) => v,
    };
    let start = HEADER + 1 + used;
    let Some(end) = usize::try_from(len).ok().and_then(|l| start.checked_add(l)) else {
        return Peek::Absent;
    };
    if end > HEADER + msg_len {
        return Peek::Absent;
    }
    if buf.len() < end {
        return Peek::NeedMore;
    }
    if std::str::from_utf8(&buf[start..end]).is_err() {
        return Peek::Absent;
    }
    Peek::Name { start, end }
}

/// `buf` (starting with the first message, holding its whole field 1) with
/// the name replaced by `to` and the message length adjusted.
pub fn rewrite(buf: &[u8], to: &str) -> Option<Bytes> {
    let Peek::Name { end, .. } = peek(buf) else {
        return None;
    };
    let msg_len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    let old_field = end - HEADER;
    let mut field = BytesMut::with_capacity(to.len() + 11);
    field.put_u8(TAG_FIELD1_LEN);
    put_varint(&mut field, to.len() as u64);
    field.put_slice(to.as_bytes());
    let new_len = u32::try_from(msg_len - old_field + field.len()).ok()?;
    let mut out = BytesMut::with_capacity(buf.len() + to.len());
    out.put_u8(0);
    out.put_u32(new_len);
    out.put_slice(&field);
    out.put_slice(&buf[end..]);
    Some(out.freeze())
}

fn put_varint(out: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        out.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut out = vec![0];
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn request(name: &str, rest: &[u8]) -> Vec<u8> {
        let mut body = vec![0x0a, name.len() as u8];
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(rest);
        frame(&body)
    }

    #[test]
    fn reads_the_name_and_waits_for_more() {
        let buf = request("iris", &[0x12, 0x01, b'1']);
        let Peek::Name { start, end } = peek(&buf) else {
            panic!("no name")
        };
        assert_eq!(&buf[start..end], b"iris");
        for cut in 0..9 {
            assert_eq!(peek(&buf[..cut]), Peek::NeedMore, "cut at {cut}");
        }
    }

    #[test]
    fn absent_when_compressed_or_other_field_first() {
        let mut buf = request("iris", &[]);
        buf[0] = 1;
        assert_eq!(peek(&buf), Peek::Absent);
        assert_eq!(peek(&frame(&[0x12, 0x01, b'1'])), Peek::Absent);
        // a length past the message's end
        assert_eq!(peek(&frame(&[0x0a, 0x09, b'a'])), Peek::Absent);
    }

    #[test]
    fn rewrite_keeps_the_rest_and_fixes_the_length() {
        let rest = [0x12, 0x01, b'1', 0x1a, 0x02, b'i', b'd'];
        let buf = request("iris", &rest);
        let out = rewrite(&buf, "iris-v2-long-name").expect("rewritten");
        assert_eq!(out.as_ref(), request("iris-v2-long-name", &rest).as_slice());
        // a name of 200 bytes needs a two-byte varint length
        let long = "m".repeat(200);
        let out = rewrite(&buf, &long).expect("rewritten");
        let Peek::Name { start, end } = peek(&out) else {
            panic!("no name")
        };
        assert_eq!(&out[start..end], long.as_bytes());
        assert_eq!(&out[end..], &rest);
        let len = u32::from_be_bytes([out[1], out[2], out[3], out[4]]) as usize;
        assert_eq!(len, out.len() - 5);
    }
}

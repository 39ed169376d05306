//! How values are stored: JSON, LZ4-compressed from [`COMPRESS_FROM`] bytes on (schema 4),
//! deflated or plain values of older schemas still read, and a bounded inflate, since what is
//! read back from disk may be damaged.

use super::*;

/// Values at least this long (as JSON) are stored compressed: article bodies are most of an
/// archive's bytes, while sled's overhead per byte stays the same (bench/run, disk: 3.06x the
/// raw JSON before, see README "Performance").
pub(super) const COMPRESS_FROM: usize = 256;

/// First byte of a deflated value (schema 2 and 3); JSON never starts with it.
pub(super) const DEFLATED: u8 = 0x01;

/// First byte of an LZ4 value (schema 4): then the JSON's length (u32, little-endian) and one
/// LZ4 block. LZ4 rather than deflate: deflate at its fastest level was 17% of a cold ingest's
/// CPU, all of it under the archive's write lock (perf, 500-feed poll); LZ4 compresses the same
/// JSON at a fraction of that for a somewhat lower ratio.
pub(super) const LZ4: u8 = 0x02;

/// A stored value never inflates past this (a damaged value must not exhaust memory).
pub(super) const MAX_VALUE: u64 = 64 * 1024 * 1024;

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ArchiveError> {
    let json = serde_json::to_vec(value).map_err(|e| ArchiveError::Corrupt {
        key: "(encoding)".into(),
        reason: e.to_string(),
    })?;
    if json.len() < COMPRESS_FROM {
        return Ok(json);
    }
    let Ok(len) = u32::try_from(json.len()) else {
        // past 4 GiB: not a value gazette writes; stored as it is rather than refused
        return Ok(json);
    };
    let head = 1 + 4;
    let mut out = vec![0; head + lz4_flex::block::get_maximum_output_size(json.len())];
    out[0] = LZ4;
    out[1..head].copy_from_slice(&len.to_le_bytes());
    let n = lz4_flex::block::compress_into(&json, &mut out[head..]).map_err(|e| {
        ArchiveError::Corrupt {
            key: "(compressing)".into(),
            reason: e.to_string(),
        }
    })?;
    out.truncate(head + n);
    Ok(out)
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    key: &str,
    bytes: &[u8],
) -> Result<T, ArchiveError> {
    let corrupt = |reason: String| ArchiveError::Corrupt {
        key: key.to_string(),
        reason,
    };
    match bytes.split_first() {
        Some((&DEFLATED, deflated)) => {
            use std::io::Read;
            let mut json = Vec::with_capacity(deflated.len() * 4);
            flate2::read::DeflateDecoder::new(deflated)
                .take(MAX_VALUE)
                .read_to_end(&mut json)
                .map_err(|e| corrupt(format!("cannot inflate: {e}")))?;
            serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))
        }
        Some((&LZ4, block)) => {
            let (len, block) = block
                .split_at_checked(4)
                .ok_or_else(|| corrupt("LZ4 value is shorter than its length header".into()))?;
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            if len as u64 > MAX_VALUE {
                return Err(corrupt(format!(
                    "LZ4 value claims {len} bytes, more than {MAX_VALUE}"
                )));
            }
            let mut json = vec![0; len];
            match lz4_flex::block::decompress_into(block, &mut json) {
                Ok(n) if n == len => {}
                Ok(n) => return Err(corrupt(format!("LZ4 value held {n} of {len} bytes"))),
                Err(e) => return Err(corrupt(format!("cannot decompress: {e}"))),
            }
            serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))
        }
        _ => serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string())),
    }
}

/// A count record of `meta`: a big-endian u64 (`None` when malformed).
pub(super) fn be_u64(bytes: &[u8]) -> Option<u64> {
    bytes.try_into().ok().map(u64::from_be_bytes)
}

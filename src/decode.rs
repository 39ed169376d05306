//! Bytes → UTF-8 text. The one place that decides a document's character encoding, in the order
//! the standards give: byte-order mark, then the HTTP `charset` (RFC 7303 §3 / RFC 9110 §8.3.1),
//! then the document's own declaration (`<?xml encoding?>`, `<meta charset>`), then a statistical
//! guess (chardetng). It never fails: undecodable bytes become U+FFFD, and parsers downstream only
//! ever see UTF-8 (feed-rs would otherwise re-decode by the XML declaration and garble the text).

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// A decoded document.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The text, UTF-8, without BOM; an XML declaration's `encoding` now says UTF-8.
    pub text: String,
    /// The encoding used, by its WHATWG name (e.g. "GBK", "windows-1251", "UTF-16BE").
    pub encoding: &'static str,
    /// Where the decision came from, for `inspect`.
    pub decided_by: &'static str,
}

/// Largest document a gzip-inside-the-body (see [`decode`]) may inflate to.
pub const MAX_INFLATED: u64 = 32 * 1024 * 1024;

/// Decodes `bytes`, given the HTTP `Content-Type` header if there was one.
///
/// A body that is itself gzip data (a `.xml.gz` file, or a server that compresses twice) is
/// inflated first, up to [`MAX_INFLATED`] bytes.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> Decoded {
    let inflated;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        inflated = inflate(bytes);
        inflated.as_deref().unwrap_or(bytes)
    } else {
        bytes
    };
    if let Some((big_endian, bom, decided_by)) = utf32(bytes) {
        let text = decode_utf32(&bytes[bom..], big_endian);
        return Decoded {
            text: rewrite_xml_declaration(text),
            encoding: if big_endian { "UTF-32BE" } else { "UTF-32LE" },
            decided_by,
        };
    }
    let (encoding, decided_by) = sniff(bytes, content_type);
    let (text, _, _) = encoding.decode(bytes); // strips a BOM of the same encoding
    let mut text = text.into_owned();
    if text.starts_with('\u{feff}') {
        text.remove(0);
    }
    Decoded {
        text: rewrite_xml_declaration(text),
        encoding: encoding.name(),
        decided_by,
    }
}

/// UTF-32, which the WHATWG Encoding Standard (and so encoding_rs) leaves out but XML allows
/// (XML 1.0 Appendix F.1): by its byte-order mark, else by the four bytes of a leading `<`.
/// Returns (big-endian, BOM length, how it was decided).
fn utf32(bytes: &[u8]) -> Option<(bool, usize, &'static str)> {
    match bytes {
        [0, 0, 0xfe, 0xff, ..] => Some((true, 4, "byte-order mark")),
        [0xff, 0xfe, 0, 0, ..] => Some((false, 4, "byte-order mark")),
        [0, 0, 0, b'<', ..] => Some((true, 0, "UTF-32 byte pattern")),
        [b'<', 0, 0, 0, ..] => Some((false, 0, "UTF-32 byte pattern")),
        _ => None,
    }
}

fn decode_utf32(bytes: &[u8], big_endian: bool) -> String {
    bytes
        .chunks(4)
        .map(|c| {
            let quad = [
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
                c.get(2).copied().unwrap_or(0),
                c.get(3).copied().unwrap_or(0),
            ];
            let n = if big_endian {
                u32::from_be_bytes(quad)
            } else {
                u32::from_le_bytes(quad)
            };
            if c.len() < 4 {
                '\u{fffd}'
            } else {
                char::from_u32(n).unwrap_or('\u{fffd}')
            }
        })
        .collect()
}

/// A body whose gzip layers inflate past a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the body is gzip data that inflates to more than {limit} bytes (max_body); raise the source's `max_body` if the document is really that big"
)]
pub struct TooBig {
    pub limit: u64,
}

/// Strips the gzip layers of a body that is itself gzip data (a `.xml.gz` file served without
/// `Content-Encoding`, or a server that compresses twice), each inflated to at most `limit`
/// bytes: `max_body` bounds what a document becomes, not only what crosses the network (a
/// 1 MiB cap once let a gzip body inflate to 32 MiB). `Ok(None)`: not gzip data.
pub fn inflate_within(bytes: &[u8], limit: u64) -> Result<Option<Vec<u8>>, TooBig> {
    use std::io::Read;
    let mut current: Option<Vec<u8>> = None;
    // a few layers at most: a document is not gzip data four times over
    for _ in 0..4 {
        let input = current.as_deref().unwrap_or(bytes);
        if !input.starts_with(&[0x1f, 0x8b]) {
            break;
        }
        let mut out = Vec::new();
        let decoder = flate2::read::MultiGzDecoder::new(input);
        if decoder
            .take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .is_err()
        {
            // not gzip after all (or damaged): read as it is, as `decode` does
            break;
        }
        if out.len() as u64 > limit {
            return Err(TooBig { limit });
        }
        current = Some(out);
    }
    Ok(current)
}

fn inflate(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let decoder = flate2::read::MultiGzDecoder::new(bytes);
    decoder.take(MAX_INFLATED).read_to_end(&mut out).ok()?;
    Some(out)
}

fn sniff(bytes: &[u8], content_type: Option<&str>) -> (&'static Encoding, &'static str) {
    if let Some((enc, _)) = Encoding::for_bom(bytes) {
        return (enc, "byte-order mark");
    }
    if let Some(enc) = content_type
        .and_then(charset_param)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
    {
        // A UTF-16 label on bytes that are plainly ASCII-compatible is a lie (HTML §13.2.3.2).
        if !(is_utf16(enc) && looks_ascii_compatible(bytes)) {
            return (enc, "HTTP charset");
        }
    }
    // UTF-16 without a BOM: "<" followed by a NUL, or the other way round.
    match bytes {
        [b'<', 0, b'?' | b'r' | b'f' | b'R' | b'!', 0, ..] => {
            return (UTF_16LE, "UTF-16 byte pattern");
        }
        [0, b'<', 0, b'?' | b'r' | b'f' | b'R' | b'!', ..] => {
            return (UTF_16BE, "UTF-16 byte pattern");
        }
        _ => {}
    }
    let head = &bytes[..bytes.len().min(4096)];
    if let Some(enc) = declared_encoding(head)
        && !is_utf16(enc)
    {
        return (enc, "document declaration");
    }
    if std::str::from_utf8(bytes).is_ok() {
        return (UTF_8, "valid UTF-8");
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(
        &bytes[..bytes.len().min(256 * 1024)],
        bytes.len() <= 256 * 1024,
    );
    (
        detector.guess(None, chardetng::Utf8Detection::Allow),
        "statistical guess (chardetng)",
    )
}

fn is_utf16(enc: &'static Encoding) -> bool {
    enc == UTF_16BE || enc == UTF_16LE
}

fn looks_ascii_compatible(bytes: &[u8]) -> bool {
    !bytes.iter().take(512).any(|b| *b == 0)
}

/// The `charset` parameter of a media type (RFC 9110 §8.3.2), quotes removed.
pub fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']).to_string())
            .filter(|v| !v.is_empty())
    })
}

/// Finds `encoding="..."` in an XML declaration or a `<meta charset>` / `http-equiv` declaration
/// in the first bytes of an ASCII-compatible document.
fn declared_encoding(head: &[u8]) -> Option<&'static Encoding> {
    let head = String::from_utf8_lossy(head);
    let lower = head.to_ascii_lowercase();
    if lower.trim_start().starts_with("<?xml") {
        let decl_end = lower.find("?>")?;
        let decl = &lower[..decl_end];
        let at = decl.find("encoding")?;
        let value = attr_value_after(&decl[at + "encoding".len()..])?;
        return Encoding::for_label(value.as_bytes());
    }
    let mut from = 0;
    while let Some(pos) = lower[from..].find("<meta") {
        let start = from + pos;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(at) = tag.find("charset") {
            let rest = &tag[at + "charset".len()..];
            let value = attr_value_after(rest).or_else(|| {
                // inside content="text/html; charset=gbk"
                let rest = rest.trim_start().strip_prefix('=')?;
                Some(
                    rest.trim_start()
                        .split(|c: char| c == '"' || c == '\'' || c == ';' || c.is_whitespace())
                        .next()?
                        .to_string(),
                )
            });
            if let Some(enc) = value.and_then(|v| Encoding::for_label(v.as_bytes())) {
                return Some(enc);
            }
        }
        from = end;
    }
    None
}

/// Reads `= "value"` (or single quotes, or unquoted) at the start of `rest`.
fn attr_value_after(rest: &str) -> Option<String> {
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    if quote == '"' || quote == '\'' {
        let inner = &rest[1..];
        let end = inner.find(quote)?;
        Some(inner[..end].trim().to_string())
    } else {
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/' || c == ';')
            .unwrap_or(rest.len());
        Some(rest[..end].to_string()).filter(|v| !v.is_empty())
    }
}

/// Once decoded, the XML declaration must not send an XML parser back to the old encoding.
fn rewrite_xml_declaration(text: String) -> String {
    let trimmed = text.trim_start();
    if !trimmed.starts_with("<?xml") {
        return text;
    }
    let offset = text.len() - trimmed.len();
    let Some(end) = trimmed.find("?>") else {
        return text;
    };
    let decl = &trimmed[..end];
    if !decl.contains("encoding") {
        return text;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"{}",
        &text[offset + end..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf32_bytes(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let chars = bom.then_some('\u{feff}').into_iter().chain(text.chars());
        for c in chars {
            let n = c as u32;
            out.extend(if big_endian {
                n.to_be_bytes()
            } else {
                n.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn utf32_by_bom_and_by_declaration_pattern() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-32\"?><rss><channel><title>Caf\u{e9} \u{77e5}\u{8bc6} \u{1f4f0}</title></channel></rss>";
        for (big_endian, bom, name) in [
            (true, true, "UTF-32BE"),
            (false, true, "UTF-32LE"),
            (true, false, "UTF-32BE"),
            (false, false, "UTF-32LE"),
        ] {
            let d = decode(&utf32_bytes(doc, big_endian, bom), None);
            assert_eq!(d.encoding, name, "bom {bom}");
            assert!(
                d.text.contains("Caf\u{e9} \u{77e5}\u{8bc6} \u{1f4f0}"),
                "{}",
                d.text
            );
            assert!(
                d.text
                    .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
                "{}",
                d.text
            );
        }
    }

    #[test]
    fn utf16_without_bom_by_byte_pattern() {
        let doc = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss><channel><title>\u{c548}\u{b155}</title></channel></rss>";
        let le: Vec<u8> = doc.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = doc.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert!(decode(&le, None).text.contains("\u{c548}\u{b155}"));
        assert!(decode(&be, None).text.contains("\u{c548}\u{b155}"));
    }

    #[test]
    fn legacy_charsets_decode_inside_attributes_too() {
        let doc = "<?xml version=\"1.0\" encoding=\"euc-kr\"?><rss><channel><item><category domain=\"\u{d55c}\u{ad6d}\">\u{c2e0}\u{bb38}</category></item></channel></rss>";
        let bytes = encoding_rs::EUC_KR.encode(doc).0.into_owned();
        let d = decode(&bytes, None);
        assert_eq!(d.encoding, "EUC-KR");
        assert!(d.text.contains("domain=\"\u{d55c}\u{ad6d}\""), "{}", d.text);
    }

    fn enc(name: &str) -> &'static Encoding {
        Encoding::for_label(name.as_bytes()).expect("known label")
    }

    #[test]
    fn decodes_in_standard_order() {
        let title = "知识产权 服务";
        let gbk = enc("gbk").encode(title).0.into_owned();
        let xml_gb2312 = [
            b"<?xml version=\"1.0\" encoding=\"gb2312\"?><rss><t>".as_slice(),
            &gbk,
            b"</t></rss>",
        ]
        .concat();
        let cyr = "Новости науки";
        let win1251 = [
            b"<rss><t>".as_slice(),
            &enc("windows-1251").encode(cyr).0,
            b"</t></rss>",
        ]
        .concat();
        let sjis = [
            b"<html><head><meta charset=\"shift_jis\"></head><body>".as_slice(),
            &enc("shift_jis").encode("特許のニュース").0,
            b"</body></html>",
        ]
        .concat();
        let mut utf16be = vec![0xFE, 0xFF];
        for u in "<rss>Zürich</rss>".encode_utf16() {
            utf16be.extend_from_slice(&u.to_be_bytes());
        }
        let latin1 = b"<rss><t>caf\xe9</t></rss>".to_vec();
        let big5 = [b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=big5\"></head>".as_slice(), &enc("big5").encode("智慧財產權").0].concat();
        let euc_kr = [
            b"<html><head><meta charset='euc-kr'></head>".as_slice(),
            &enc("euc-kr").encode("지식재산권 뉴스").0,
        ]
        .concat();
        // (bytes, content-type, expected encoding, expected substring)
        let cases: Vec<(Vec<u8>, Option<&str>, &str, &str)> = vec![
            (xml_gb2312.clone(), None, "GBK", title),
            (xml_gb2312, Some("text/xml"), "GBK", title),
            (
                win1251,
                Some("application/rss+xml; charset=\"windows-1251\""),
                "windows-1251",
                cyr,
            ),
            (sjis, Some("text/html"), "Shift_JIS", "特許のニュース"),
            (utf16be, None, "UTF-16BE", "Zürich"),
            (
                latin1,
                Some("text/xml; charset=iso-8859-1"),
                "windows-1252",
                "café",
            ),
            (big5, None, "Big5", "智慧財產權"),
            (euc_kr, Some("text/html"), "EUC-KR", "지식재산권 뉴스"),
            (
                "<rss>ünïcödé</rss>".as_bytes().to_vec(),
                None,
                "UTF-8",
                "ünïcödé",
            ),
            (
                b"\xEF\xBB\xBF<rss>x</rss>".to_vec(),
                Some("text/xml; charset=gbk"),
                "UTF-8",
                "<rss>x",
            ),
        ];
        for (bytes, ct, want_enc, want_text) in cases {
            let d = decode(&bytes, ct);
            assert_eq!(d.encoding, want_enc, "content-type {ct:?}");
            assert!(
                d.text.contains(want_text),
                "{want_text} not in {:?}",
                d.text
            );
            assert!(!d.text.starts_with('\u{feff}'));
        }
    }

    #[test]
    fn gzip_inside_the_body_inflates_within_the_limit_only() {
        use std::io::Write;
        let doc = format!("<rss>{}</rss>", "x".repeat(100_000));
        let gz = |b: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(b).expect("gzip");
            e.finish().expect("gzip")
        };
        let once = gz(doc.as_bytes());
        let twice = gz(&once);
        // (body, limit, expected length)
        type Case<'a> = (&'a [u8], u64, Result<Option<usize>, TooBig>);
        let cases: [Case<'_>; 5] = [
            (doc.as_bytes(), 10, Ok(None)),
            (&once, 200_000, Ok(Some(doc.len()))),
            (&twice, 200_000, Ok(Some(doc.len()))),
            (&once, 50_000, Err(TooBig { limit: 50_000 })),
            (&twice, 50_000, Err(TooBig { limit: 50_000 })),
        ];
        for (body, limit, want) in cases {
            let got = inflate_within(body, limit).map(|o| o.map(|v| v.len()));
            assert_eq!(got, want, "limit {limit}");
        }
    }

    #[test]
    fn gzip_inside_the_body_is_inflated() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all("<rss>Grüße</rss>".as_bytes()).expect("gzip");
        let d = decode(&gz.finish().expect("gzip"), None);
        assert_eq!(d.text, "<rss>Grüße</rss>");
        // a truncated stream is decoded as the raw bytes rather than lost
        let d = decode(&[0x1f, 0x8b, 0x08], None);
        assert_eq!(d.text.len(), "\u{1f}\u{fffd}\u{8}".len());
    }

    #[test]
    fn declaration_is_rewritten_to_utf8() {
        let d = decode(b"<?xml version='1.0' encoding='ISO-8859-1'?>\n<rss/>", None);
        assert!(
            d.text
                .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss/>"),
            "{}",
            d.text
        );
    }

    #[test]
    fn undeclared_legacy_text_is_guessed() {
        let text = "海淀区举办知识产权服务业集聚发展示范区推进会，国家知识产权局批准中关村成为首批国家知识产权服务业集聚发展示范区。";
        let bytes = enc("gb18030").encode(text).0.into_owned();
        let d = decode(&bytes, Some("text/html"));
        assert_eq!(d.text, text);
    }

    #[test]
    fn charset_param_variants() {
        let cases = [
            ("text/xml; charset=UTF-8", Some("UTF-8")),
            ("text/xml;charset=\"gbk\"", Some("gbk")),
            ("text/xml; Charset='big5'", Some("big5")),
            ("text/xml", None),
            ("text/xml; charset=", None),
        ];
        for (ct, want) in cases {
            assert_eq!(charset_param(ct).as_deref(), want, "{ct}");
        }
    }
}

//! Picking the decompressor from the first bytes of the file, not its name.

use std::io::{BufRead, BufReader, Read};

/// Compression formats lxnest unpacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// No compression.
    Plain,
    /// gzip (`.tar.gz`, `.tgz`).
    Gzip,
    /// xz (`.tar.xz`).
    Xz,
    /// zstd (`.tar.zst`).
    Zstd,
    /// bzip2 (`.tar.bz2`).
    Bzip2,
}

/// The format a stream starts with.
pub fn sniff(head: &[u8]) -> Format {
    match head {
        [0x1f, 0x8b, ..] => Format::Gzip,
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Format::Xz,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Format::Zstd,
        [b'B', b'Z', b'h', ..] => Format::Bzip2,
        _ => Format::Plain,
    }
}

/// A reader of the decompressed tar stream.
pub fn open<R: Read + Send + 'static>(inner: R) -> std::io::Result<(Format, Box<dyn Read>)> {
    let mut buf = BufReader::with_capacity(1 << 16, inner);
    let format = sniff(buf.fill_buf()?);
    let reader: Box<dyn Read> = match format {
        Format::Plain => Box::new(buf),
        Format::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buf)),
        Format::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(buf)),
        Format::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(buf)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?,
        ),
        // lzma-rs decodes whole streams into a writer; a pipe thread turns that into a reader.
        Format::Xz => Box::new(xz_reader(buf)?),
    };
    Ok((format, reader))
}

fn xz_reader<R: BufRead + Send + 'static>(mut input: R) -> std::io::Result<impl Read> {
    let (rx, mut tx) = std::io::pipe()?;
    std::thread::spawn(move || {
        // An error ends the stream early; the tar reader then reports a truncated archive.
        let _ = lzma_rs::xz_decompress(&mut input, &mut tx);
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(sniff(&[0x1f, 0x8b, 8]), Format::Gzip);
        assert_eq!(sniff(b"\xfd7zXZ\x00\x00"), Format::Xz);
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Format::Zstd);
        assert_eq!(sniff(b"BZh91AY"), Format::Bzip2);
        assert_eq!(sniff(b"etc/\0\0\0"), Format::Plain);
    }
}
